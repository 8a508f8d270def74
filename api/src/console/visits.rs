//! Visits and compliance (进社区考勤): the officer × community × ISO-week grid of the
//! twice-weekly duty, and the visits that did not pass verification with their reason
//! codes. The grid is `commands::visits::compliance_in_scope`, week by week.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{Duration, Utc};
use maud::html;
use patrol_domain::visit::{IsoWeek, LocationFix, week_of};
use serde::Deserialize;

use super::error::PageError;
use super::local;
use super::page::{self, Section, words};
use super::session::Viewer;
use crate::commands::audit::{self, PageStart, VisitFilter};
use crate::commands::context::Ctx;
use crate::commands::visits::{ComplianceRow, VisitRow, compliance_in_scope};
use crate::db::store;
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

/// Weeks the grid shows: the chosen one and the ones before it.
const WEEKS: usize = 5;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridQuery {
    /// The newest week shown, `2026-W49`; the current one when absent.
    pub week: Option<String>,
}

struct Grid {
    weeks: Vec<IsoWeek>,
    /// (officer name, community code) → one row per week shown, `None` where the duty
    /// did not apply that week.
    rows: BTreeMap<(String, String), Vec<Option<ComplianceRow>>>,
    unverified: Vec<VisitRow>,
    names: BTreeMap<String, String>,
    tz: chrono_tz::Tz,
}

fn read(
    conn: &mut crate::db::DbConn,
    st: &AppState,
    viewer: &Viewer,
    week: Option<&str>,
) -> ApiResult<Grid> {
    let ctx = Ctx::for_user(conn, st, &viewer.user)?;
    let newest = match week {
        Some(w) => w
            .parse::<IsoWeek>()
            .map_err(|_| ApiError::bad_field("week", "must be an ISO week like 2026-W48"))?,
        None => week_of(Utc::now(), ctx.tz),
    };
    let mut weeks = vec![newest];
    for _ in 1..WEEKS {
        let before = weeks[weeks.len() - 1].start_utc(ctx.tz) - Duration::days(1);
        weeks.push(week_of(before, ctx.tz));
    }
    weeks.reverse();
    let mut rows: BTreeMap<(String, String), Vec<Option<ComplianceRow>>> = BTreeMap::new();
    for (i, w) in weeks.iter().enumerate() {
        for r in compliance_in_scope(conn, &st.cfg.compliance, &viewer.user, *w, None, None)? {
            let key = (r.officer_name.clone(), r.community_code.clone());
            rows.entry(key).or_insert_with(|| vec![None; WEEKS])[i] = Some(r);
        }
    }
    let flagged = VisitFilter {
        status: Some("flagged".into()),
        ..VisitFilter::default()
    };
    let start = PageStart {
        after: None,
        limit: 50,
    };
    let unverified = audit::visits(conn, &ctx, &flagged, &start)??.items;
    let mut names = BTreeMap::new();
    for c in store::all_communities(conn)? {
        names.insert(c.id, c.name.clone());
        names.insert(c.code, c.name);
    }
    let people: Vec<String> = unverified.iter().map(|v| v.officer_id.clone()).collect();
    for u in store::users_by_ids(conn, &people)? {
        names.insert(u.id, u.display_name);
    }
    Ok(Grid {
        weeks,
        rows,
        unverified,
        names,
        tz: ctx.tz,
    })
}

/// `GET /console/visits`.
pub async fn compliance(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<GridQuery>,
) -> Result<HttpResponse, PageError> {
    let w = words();
    let week = query.into_inner().week;
    let (st, v) = (state.clone(), viewer.clone());
    let g = state
        .run_db(move |conn| read(conn, &st, &v, week.as_deref()))
        .await?;
    let name = |k: &str| g.names.get(k).cloned().unwrap_or_else(|| k.to_owned());
    let body = html! {
        h1 { (w.visits.title) }
        h2 { (w.visits.grid) }
        @if g.rows.is_empty() {
            p.muted { (w.common.none) }
        } @else {
            div.scroll { table.grid {
                thead { tr {
                    th scope="col" { (w.visits.officer) }
                    th scope="col" { (w.visits.community) }
                    @for wk in &g.weeks { th scope="col" { (wk.to_string()) } }
                } }
                tbody {
                    @for ((officer, community), cells) in &g.rows {
                        tr {
                            th scope="row" { (officer) }
                            td { a href={ "/console/communities/" (community) } { (name(community)) } }
                            @for cell in cells {
                                @match cell {
                                    Some(r) if r.compliant => td.ok data-week=(r.week) {
                                        (r.counted.len()) "/" (r.required) " " (w.visits.compliant)
                                    },
                                    Some(r) => td.late data-week=(r.week) {
                                        (r.counted.len()) "/" (r.required) " " (w.visits.short)
                                        @for e in &r.excluded { br; span.muted { (w.visit_reason(&e.reason)) } }
                                    },
                                    None => td.muted { "—" },
                                }
                            }
                        }
                    }
                }
            } }
        }
        h2 { (w.visits.unverified) }
        @if g.unverified.is_empty() {
            p.muted { (w.visits.none_unverified) }
        } @else {
            div.scroll { table {
                thead { tr {
                    th scope="col" { (w.visits.started_at) }
                    th scope="col" { (w.visits.officer) }
                    th scope="col" { (w.visits.community) }
                    th scope="col" { (w.visits.purpose) }
                    th scope="col" { (w.visits.reasons) }
                } }
                tbody {
                    @for v in &g.unverified {
                        tr {
                            td { a href={ "/console/visits/" (v.id) } { (local(v.started_at, g.tz)) } }
                            td { (name(&v.officer_id)) }
                            td { (name(&v.community_id)) }
                            td { (v.purpose) }
                            td { @for f in super::community::flags_of(v) { code { (f) } " " } }
                        }
                    }
                }
            } }
        }
    };
    Ok(page::page(
        viewer.chrome(),
        w.visits.title,
        Section::Visits,
        body,
    ))
}

/// `GET /console/visits/{id}`: one visit, its fixes drawn against the community's
/// boundary, its verification result and reason codes. Read through the audit query,
/// so the scope is the visit list's.
pub async fn visit_page(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let w = words();
    let id = path.into_inner();
    let (st, user) = (state.clone(), viewer.user.clone());
    let (v, community, officer, accepted_by, tz) = state
        .run_db(move |conn| -> ApiResult<_> {
            let ctx = Ctx::for_user(conn, &st, &user)?;
            let f = VisitFilter {
                id: Some(id.clone()),
                ..VisitFilter::default()
            };
            let start = PageStart {
                after: None,
                limit: 1,
            };
            let v = audit::visits(conn, &ctx, &f, &start)??
                .items
                .into_iter()
                .next()
                .ok_or_else(|| ApiError::NotFound(format!("visit {id}")))?;
            let community = store::communities_by_ids(conn, std::slice::from_ref(&v.community_id))?
                .into_iter()
                .next()
                .ok_or_else(|| ApiError::NotFound(format!("community {}", v.community_id)))?;
            let name = |conn: &mut crate::db::DbConn, id: &str| -> ApiResult<String> {
                Ok(store::user_by_id(conn, id)?
                    .map(|u| u.display_name)
                    .unwrap_or_else(|| id.to_owned()))
            };
            let officer = name(conn, &v.officer_id)?;
            let accepted_by = v
                .accepted_by
                .as_deref()
                .map(|a| name(conn, a))
                .transpose()?;
            Ok((v, community, officer, accepted_by, ctx.tz))
        })
        .await?;
    let boundary = super::community::boundary_of(&community)?;
    let fixes: Vec<LocationFix> = serde_json::from_str(&v.fixes).unwrap_or_default();
    let dots: Vec<(f64, f64, &str, String)> = fixes
        .iter()
        .map(|f| {
            let inside = if boundary.contains(&f.point) {
                w.community.fix_inside
            } else {
                w.community.fix_outside
            };
            (
                f.point.lon,
                f.point.lat,
                super::community::fix_class(&v.status),
                format!(
                    "{} · ±{:.0} m · {inside}",
                    local(f.at.timestamp_millis(), tz),
                    f.accuracy_m
                ),
            )
        })
        .collect();
    let photos: Vec<String> = serde_json::from_str(&v.photo_hashes).unwrap_or_default();
    let title = format!("{} · {}", w.community.visit, community.name);
    let body = html! {
        h1 { (title) }
        dl.facts {
            dt { (w.visits.officer) } dd { (officer) }
            dt { (w.visits.community) } dd { a href={ "/console/communities/" (community.code) } { (community.name) } }
            dt { (w.visits.started_at) } dd { (local(v.started_at, tz)) }
            dt { (w.community.ended_at) } dd { (local(v.ended_at, tz)) }
            dt { (w.visits.purpose) } dd { (v.purpose) }
            dt { (w.community.met) } dd { (serde_json::from_str::<Vec<String>>(&v.met).unwrap_or_default().join("、")) }
            dt { (w.community.notes) } dd { (v.notes) }
            dt { (w.community.photos) } dd { (photos.len()) }
            dt { (w.community.visit_status) } dd id="visit-status" class=(super::community::fix_class(&v.status)) { (w.visit_status(&v.status)) }
            dt { (w.visits.reasons) } dd { @for f in super::community::flags_of(&v) { (w.visit_reason(&f)) " (" code { (f) } ") " } }
            @if let Some(by) = &accepted_by {
                dt { (w.community.accepted) } dd { (by) " · " (v.accepted_reason.clone().unwrap_or_default()) }
            }
        }
        h2 { (w.community.fix) }
        @if dots.is_empty() {
            p.muted { (w.community.no_fix) }
        } @else {
            (super::map::small_map(w.community.boundary, &boundary, &dots))
        }
    };
    Ok(page::page(viewer.chrome(), &title, Section::Visits, body))
}
