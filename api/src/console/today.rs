//! Today (今日概况): what needs the viewer now, in their scope: open and overdue cases,
//! whistles waiting to be taken, this week's visit compliance, claims to audit. And the
//! month's printable report.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::{Datelike, Duration, Utc};
use maud::{Markup, html};
use patrol_domain::case::{CaseStatus, deadline};
use patrol_domain::visit::week_of;
use patrol_domain::whistle::WhistleStatus;
use serde::Deserialize;

use super::error::PageError;
use super::page::{self, Section, words};
use super::session::Viewer;
use super::{local, minutes_until};
use crate::commands::audit::{self, ClaimFilter, PageStart};
use crate::commands::cases::{self, CaseQuery};
use crate::commands::context::Ctx;
use crate::commands::points::ClaimRow;
use crate::commands::visits::{ComplianceRow, compliance_in_scope};
use crate::commands::whistles::{self, WhistleRow};
use crate::db::store;
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

/// Open cases counted at most; a district with more shows "at least".
const OPEN_CASES_READ: i64 = 5000;

struct TodayData {
    open: usize,
    overdue: usize,
    by_status: BTreeMap<usize, (CaseStatus, usize)>,
    whistles: Vec<WhistleRow>,
    compliance: Vec<ComplianceRow>,
    /// `None`: the viewer audits no claims.
    claims: Option<Vec<ClaimRow>>,
    names: HashMap<String, String>,
    tz: chrono_tz::Tz,
}

fn read(conn: &mut crate::db::DbConn, st: &AppState, viewer: &Viewer) -> ApiResult<TodayData> {
    let ctx = Ctx::for_user(conn, st, &viewer.user)?;
    let now = Utc::now();
    let query = CaseQuery {
        open: true,
        limit: OPEN_CASES_READ,
        ..CaseQuery::default()
    };
    let (open, _) = cases::list(conn, &ctx, &query, now)?;
    let mut by_status = BTreeMap::new();
    let mut overdue = 0;
    for c in &open {
        if deadline::lateness(&cases::progress_of(c), now).any() {
            overdue += 1;
        }
        if let Ok(s) = c.status.parse::<CaseStatus>() {
            let order = CaseStatus::ALL.iter().position(|x| *x == s).unwrap_or(0);
            by_status.entry(order).or_insert((s, 0)).1 += 1;
        }
    }
    let whistles = if whistles::may_read(ctx.actor.role) {
        let f = whistles::ListFilter {
            status: Some(WhistleStatus::Raised),
            limit: 50,
            ..whistles::ListFilter::default()
        };
        let mut w = whistles::list(conn, &ctx, &f)?;
        w.sort_by_key(|w| w.take_due_at.unwrap_or(i64::MAX));
        w
    } else {
        Vec::new()
    };
    let compliance = match compliance_in_scope(
        conn,
        &st.cfg.compliance,
        &viewer.user,
        week_of(now, ctx.tz),
        None,
        None,
    ) {
        Ok(rows) => rows,
        Err(ApiError::Forbidden(_)) => Vec::new(),
        Err(e) => return Err(e),
    };
    let pending = ClaimFilter {
        status: Some("pending".into()),
        ..ClaimFilter::default()
    };
    let start = PageStart {
        after: None,
        limit: 20,
    };
    let claims = audit::claims(conn, &ctx, &pending, &start)?
        .ok()
        .map(|p| p.items);
    let mut names = HashMap::new();
    for c in store::all_communities(conn)? {
        names.insert(c.id, c.name.clone());
        names.insert(c.code, c.name);
    }
    let people: Vec<String> = claims
        .iter()
        .flatten()
        .map(|c| c.officer_id.clone())
        .collect();
    for u in store::users_by_ids(conn, &people)? {
        names.insert(u.id, u.display_name);
    }
    Ok(TodayData {
        open: open.len(),
        overdue,
        by_status,
        whistles,
        compliance,
        claims,
        names,
        tz: ctx.tz,
    })
}

fn card(figure: String, label: &str, href: &str, bad: bool) -> Markup {
    html! {
        a.card.bad[bad] href=(href) {
            div.figure { (figure) }
            div.label { (label) }
        }
    }
}

/// `GET /console/today`.
pub async fn today(state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse, PageError> {
    let w = words();
    let (st, v) = (state.clone(), viewer.clone());
    let d = state.run_db(move |conn| read(conn, &st, &v)).await?;
    let now = Utc::now();
    let at_least = |n: usize| {
        if i64::try_from(n).unwrap_or(i64::MAX) >= OPEN_CASES_READ {
            format!("≥{n}")
        } else {
            n.to_string()
        }
    };
    let compliant = d.compliance.iter().filter(|r| r.compliant).count();
    let name = |key: &str| d.names.get(key).cloned().unwrap_or_else(|| key.to_owned());
    let body = html! {
        h1 { (w.today.title) }
        div.cards {
            (card(at_least(d.open), w.today.open_cases, "/console/cases?open=true", false))
            (card(at_least(d.overdue), w.today.overdue_cases,
                  "/console/cases?open=true&overdue=true", d.overdue > 0))
            (card(d.whistles.len().to_string(), w.today.whistles_waiting, "#whistles", false))
            @if let Some(claims) = &d.claims {
                (card(claims.len().to_string(), w.today.claims_waiting, "/console/points",
                      !claims.is_empty()))
            }
            @if !d.compliance.is_empty() {
                (card(format!("{compliant}/{}", d.compliance.len()), w.today.compliance,
                      "#compliance", compliant < d.compliance.len()))
            }
        }
        h2 { (w.today.by_status) }
        @if d.by_status.is_empty() {
            p.muted { (w.common.none) }
        } @else {
            div.scroll { table {
                thead { tr { th scope="col" { (w.cases.status) } th scope="col" { (w.today.open_cases) } } }
                tbody {
                    @for (s, n) in d.by_status.values() {
                        tr {
                            td { a href={ "/console/cases?status=" (s.as_str()) } { (w.case_status(*s)) } }
                            td.num { (n) }
                        }
                    }
                }
            } }
        }
        h2 id="whistles" { (w.today.whistles_waiting) }
        @if d.whistles.is_empty() {
            p.muted { (w.common.none) }
        } @else {
            div.scroll { table {
                thead { tr {
                    th scope="col" { (w.today.whistle) }
                    th scope="col" { (w.today.community) }
                    th scope="col" { (w.today.time_left) }
                } }
                tbody {
                    @for wh in &d.whistles {
                        tr {
                            td { (wh.title) }
                            td { (name(&wh.community_id)) }
                            @match wh.take_due_at.map(|t| minutes_until(t, now)) {
                                Some(m) if m < 0 => td.late { (w.today.late_by) " " (-m) " " (w.today.minutes) },
                                Some(m) => td { (m) " " (w.today.minutes) },
                                None => td { "—" },
                            }
                        }
                    }
                }
            } }
        }
        h2 id="compliance" { (w.today.compliance) }
        @let at_risk: Vec<&ComplianceRow> = d.compliance.iter().filter(|r| !r.compliant).collect();
        @if d.compliance.is_empty() {
            p.muted { (w.common.none) }
        } @else {
            p { (w.today.compliant) " " (compliant) " / " (d.compliance.len()) }
            h3 { (w.today.at_risk) }
            @if at_risk.is_empty() { p.ok { (w.common.none) } } @else {
                div.scroll { table {
                    thead { tr {
                        th scope="col" { (w.today.officer) }
                        th scope="col" { (w.today.community) }
                        th scope="col" { (w.today.visits_counted) }
                        th scope="col" { (w.today.visits_remaining) }
                    } }
                    tbody {
                        @for r in at_risk {
                            tr {
                                td { a href={ "/console/points/officers/" (r.officer_id) } { (r.officer_name) } }
                                td { (name(&r.community_code)) }
                                td.num { (r.counted.len()) " / " (r.required) }
                                td.num.late { (r.remaining) }
                            }
                        }
                    }
                } }
            }
        }
        @if let Some(claims) = &d.claims {
            h2 { (w.today.claims_waiting) }
            @if claims.is_empty() { p.muted { (w.points.queue_empty) } } @else {
                ul {
                    @for c in claims.iter().take(5) {
                        li { (name(&c.officer_id)) " · " (c.rule_code) " · " (c.points) " · " (local(c.created_at, d.tz)) }
                    }
                }
                p { a href="/console/points" { (w.today.to_audit) } }
            }
        }
    };
    Ok(page::page(
        viewer.chrome(),
        w.today.title,
        Section::Today,
        body,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `2026-11`; last month when absent.
    pub month: Option<String>,
    pub street: Option<String>,
}

/// `GET /console/report`: the monthly report, as the API prints it.
pub async fn monthly_report(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, PageError> {
    let q = query.into_inner();
    let month = match q.month {
        Some(m) => m,
        None => {
            let tz = state.run_db(store::district_tz).await?;
            let first = Utc::now().with_timezone(&tz).date_naive().with_day(1);
            first
                .map(|d| (d - Duration::days(1)).format("%Y-%m").to_string())
                .unwrap_or_default()
        }
    };
    let ask = crate::http::handlers::indicators::MonthlyQuery {
        month,
        street: q.street,
    };
    let (report, district) =
        crate::http::handlers::indicators::monthly_report(&state, viewer.user, ask).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            crate::http::report_page::content_security_policy(),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(crate::http::report_page::render(&report, &district)))
}
