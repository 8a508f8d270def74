//! Points audit (积分审核): the queue of claims with approve / reject, and an officer's
//! ledger with running totals, the chain's verification and its signed head. Scopes
//! and rules are `commands::audit` and `commands::points`, as for the API.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use maud::html;
use patrol_domain::role::Role;
use serde::Deserialize;

use super::error::PageError;
use super::local;
use super::page::{self, Section, csrf_field, see_other, words};
use super::session::Viewer;
use crate::commands::audit::{self, ClaimFilter, LedgerFilter, PageStart};
use crate::commands::context::Ctx;
use crate::commands::points::{self, ClaimRow, PointsRow, SignedHead, Verification};
use crate::db::{DbConn, store};
use crate::http::handlers::cases::run;
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

/// Entries of one officer's ledger shown at most (newest first).
const LEDGER_ROWS: i64 = 500;

fn rule_names(conn: &mut DbConn) -> ApiResult<HashMap<String, String>> {
    Ok(points::rules(conn)?
        .into_iter()
        .map(|r| (r.code, r.description))
        .collect())
}

fn names_of(conn: &mut DbConn, ids: Vec<String>) -> ApiResult<HashMap<String, String>> {
    Ok(store::users_by_ids(conn, &ids)?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    pub after: Option<String>,
}

/// `GET /console/points`: claims waiting for a decision, oldest last.
pub async fn queue(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, PageError> {
    let w = words();
    let after = query.into_inner().after;
    let (st, user) = (state.clone(), viewer.user.clone());
    let (page_of, names, rules, tz) = state
        .run_db(move |conn| -> ApiResult<_> {
            let ctx = Ctx::for_user(conn, &st, &user)?;
            let start = PageStart::parse(after.as_deref(), Some(50))?;
            let f = ClaimFilter {
                status: Some("pending".into()),
                ..ClaimFilter::default()
            };
            let page_of = audit::claims(conn, &ctx, &f, &start)??;
            let ids = page_of.items.iter().map(|c| c.officer_id.clone()).collect();
            Ok((page_of, names_of(conn, ids)?, rule_names(conn)?, ctx.tz))
        })
        .await?;
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_owned());
    let body = html! {
        h1 { (w.points.title) }
        h2 { (w.points.queue) }
        p.muted { (w.points.reason_needed) }
        @if page_of.items.is_empty() {
            p.muted { (w.points.queue_empty) }
        } @else {
            div.scroll { table.claims {
                thead { tr {
                    th scope="col" { (w.points.officer) }
                    th scope="col" { (w.points.rule) }
                    th scope="col" { (w.points.points) }
                    th scope="col" { (w.points.note) }
                    th scope="col" { (w.points.filed_at) }
                    th scope="col" { (w.cases.actions) }
                } }
                tbody {
                    @for c in &page_of.items {
                        tr data-claim-id=(c.id) {
                            td { a href={ "/console/points/officers/" (c.officer_id) } { (name(&c.officer_id)) } }
                            td { (rules.get(&c.rule_code).cloned().unwrap_or_else(|| c.rule_code.clone())) }
                            td.num { (c.points) }
                            td { (c.note) }
                            td { (local(c.created_at, tz)) }
                            td { (decide_form(&viewer, c)) }
                        }
                    }
                }
            } }
        }
        @if let Some(n) = &page_of.next {
            p { a href={ "/console/points?after=" (n) } { (w.common.next_page) } }
        }
    };
    Ok(page::page(
        viewer.chrome(),
        w.points.title,
        Section::Points,
        body,
    ))
}

fn decide_form(viewer: &Viewer, c: &ClaimRow) -> maud::Markup {
    let w = words();
    html! {
        form.inline method="post" action={ "/console/points/claims/" (c.id) "/decide" } hx-push-url="false" {
            (csrf_field(viewer.csrf()))
            label { span.muted { (w.points.reason) } input name="reason" required aria-label=(w.points.reason); }
            button type="submit" name="decision" value="approve" { (w.points.approve) }
            button.danger type="submit" name="decision" value="reject" { (w.points.reject) }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideForm {
    pub csrf: Option<String>,
    /// `approve` or `reject`.
    pub decision: String,
    pub reason: Option<String>,
}

/// `POST /console/points/claims/{id}/decide`: the API's decision command.
pub async fn decide(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let f: DecideForm = page::form(&body)?;
    viewer.check_csrf(&state.cfg.jwt_secret, f.csrf.as_deref())?;
    let approve = match f.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => {
            return Err(ApiError::bad_field("decision", "choose approve or reject").into());
        }
    };
    let reason = f.reason.unwrap_or_default();
    let id = path.into_inner();
    let (st, user) = (state.clone(), viewer.user.clone());
    state
        .run_db(move |conn| -> ApiResult<()> {
            let ctx = Ctx::for_user(conn, &st, &user)?;
            run(conn, |conn| {
                points::decide(conn, &ctx, &id, approve, &reason)
            })?;
            Ok(())
        })
        .await?;
    Ok(see_other("/console/points"))
}

struct Ledger {
    officer: String,
    /// Newest first, each with the officer's total after it.
    rows: Vec<(PointsRow, i64)>,
    verification: Option<Verification>,
    head: Option<SignedHead>,
    rules: HashMap<String, String>,
    tz: chrono_tz::Tz,
}

/// `GET /console/points/officers/{id}`: one officer's ledger.
pub async fn ledger(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let w = words();
    let officer_id = path.into_inner();
    let (st, user) = (state.clone(), viewer.user.clone());
    let l = state
        .run_db(move |conn| -> ApiResult<Ledger> {
            let ctx = Ctx::for_user(conn, &st, &user)?;
            let officer = store::user_by_id(conn, &officer_id)?
                .ok_or_else(|| ApiError::NotFound(format!("officer {officer_id}")))?
                .display_name;
            let f = LedgerFilter {
                officer_id: Some(officer_id.clone()),
                ..LedgerFilter::default()
            };
            let start = PageStart {
                after: None,
                limit: LEDGER_ROWS,
            };
            let entries = audit::ledger(conn, &ctx, &f, &start)??.items;
            // Totals run from the oldest entry shown; a longer ledger's older part is
            // summed first so the totals stay the officer's real balance.
            let shown: i64 = entries.iter().map(|e| i64::from(e.points)).sum();
            let total = points::total_of(conn, &officer_id)?;
            let mut running = total - shown;
            let mut rows: Vec<(PointsRow, i64)> = entries
                .into_iter()
                .rev()
                .map(|e| {
                    running += i64::from(e.points);
                    (e, running)
                })
                .collect();
            rows.reverse();
            let desk = matches!(user.role, Role::Supervisor | Role::Admin);
            let verification = desk.then(|| points::verify(conn, None)).transpose()?;
            let head = match (&st.cfg.ledger_key, desk) {
                (Some(key), true) => Some(points::signed_head(conn, key)?),
                _ => None,
            };
            Ok(Ledger {
                officer,
                rows,
                verification,
                head,
                rules: rule_names(conn)?,
                tz: ctx.tz,
            })
        })
        .await?;
    let title = format!("{} · {}", w.points.ledger, l.officer);
    let body = html! {
        h1 { (title) }
        @if let Some(v) = &l.verification {
            h2 { (w.points.chain) }
            @if v.valid {
                p.ok #chain-valid { (w.points.chain_intact) " (" (v.entries) ")" }
            } @else {
                p.late #chain-valid { (w.points.chain_broken) ": " (v.reason.clone().unwrap_or_default()) }
            }
            p.muted { (w.points.head) ": " (v.head_seq) " · " code { (v.head_hash) } }
            @match &l.head {
                Some(h) => p.muted { (w.points.head_signed) " · " (h.signed_at) " · " code { (h.signature) } },
                None => p.muted { (w.points.head_unsigned) },
            }
        }
        h2 { (w.points.ledger) }
        @if l.rows.is_empty() {
            p.muted { (w.common.none) }
        } @else {
            div.scroll { table.ledger {
                thead { tr {
                    th scope="col" { (w.points.seq) }
                    th scope="col" { (w.points.recorded_at) }
                    th scope="col" { (w.points.rule) }
                    th scope="col" { (w.points.points) }
                    th scope="col" { (w.points.running_total) }
                    th scope="col" { (w.points.note) }
                } }
                tbody {
                    @for (e, total) in &l.rows {
                        tr data-rule=(e.rule_code) data-source=(e.source_id) {
                            td.num { (e.seq) }
                            td { (local(e.recorded_at, l.tz)) }
                            td { (l.rules.get(&e.rule_code).cloned().unwrap_or_else(|| e.rule_code.clone())) }
                            td.num { (e.points) }
                            td.num.total { (total) }
                            td { (e.note) }
                        }
                    }
                }
            } }
        }
    };
    Ok(page::page(viewer.chrome(), &title, Section::Points, body))
}
