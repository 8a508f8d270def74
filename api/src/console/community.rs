//! A community's page (社区): its studio and the people paired with it, the four lists,
//! this week's visits with their verification signals (on the boundary and in a
//! table), and its open cases. Each part reads through the API's queries and scopes.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use chrono::Utc;
use maud::{Markup, html};
use patrol_domain::geometry::{Boundary, Crs};
use patrol_domain::role::AssignmentKind;
use patrol_domain::visit::week_of;

use super::cases::case_table;
use super::error::PageError;
use super::local;
use super::map::small_map;
use super::page::{self, Section, words};
use super::session::Viewer;
use crate::commands::audit::{self, PageStart, Period, VisitFilter};
use crate::commands::cases::{self, CaseQuery};
use crate::commands::context::Ctx;
use crate::commands::scope::visible_community;
use crate::commands::visits::VisitRow;
use crate::db::DbConn;
use crate::db::store::{self, CaseRow, CategoryRow, CommunityRow, DutyRow};
use crate::http::handlers::people::UserView;
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

/// Open cases listed on the page; the board has the rest.
const OPEN_SHOWN: i64 = 20;
const VISITS_SHOWN: i64 = 100;

struct CommunityPage {
    community: CommunityRow,
    boundary: Boundary,
    street: String,
    hotline: String,
    /// People paired with the community, by assignment kind; empty when the viewer's
    /// role may not read the organisation's people.
    people: Vec<(String, UserView)>,
    duties: Vec<DutyRow>,
    categories: Vec<CategoryRow>,
    visits: Vec<VisitRow>,
    officers: HashMap<String, String>,
    open: Vec<CaseRow>,
    more_open: bool,
    tz: chrono_tz::Tz,
}

/// The boundary stored for a community, as a shape.
pub(super) fn boundary_of(c: &CommunityRow) -> ApiResult<Boundary> {
    let json: serde_json::Value = serde_json::from_str(&c.boundary).map_err(ApiError::internal)?;
    Ok(Boundary::from_geojson(&json, Crs::Wgs84, "boundary")?)
}

fn read(conn: &mut DbConn, st: &AppState, viewer: &Viewer, code: &str) -> ApiResult<CommunityPage> {
    let ctx = Ctx::for_user(conn, st, &viewer.user)?;
    let community = visible_community(conn, &viewer.user, code)?;
    let boundary = boundary_of(&community)?;
    let street = store::street_by_id(conn, &community.street_id)?
        .map(|s| s.name)
        .unwrap_or_default();
    let hotline = store::district(conn)?
        .map(|d| d.hotline)
        .unwrap_or_default();
    let mut people = Vec::new();
    if viewer.user.role.can_read_organisation() {
        let show = viewer.user.role.sees_full_phone_numbers();
        let assignments = store::current_assignments_to(conn, std::slice::from_ref(&community.id))?;
        let ids: Vec<String> = assignments.iter().map(|a| a.user_id.clone()).collect();
        let users: HashMap<String, _> = store::users_by_ids(conn, &ids)?
            .into_iter()
            .filter(|u| u.active)
            .map(|u| (u.id.clone(), u))
            .collect();
        for a in assignments {
            if let Some(u) = users.get(&a.user_id) {
                people.push((a.kind, UserView::from_row(u.clone(), show)));
            }
        }
    }
    let week = week_of(Utc::now(), ctx.tz);
    let f = VisitFilter {
        community_id: Some(community.id.clone()),
        started: Period {
            from: Some(week.start_utc(ctx.tz).timestamp_millis()),
            to: None,
        },
        ..VisitFilter::default()
    };
    let start = PageStart {
        after: None,
        limit: VISITS_SHOWN,
    };
    // A role that may not audit visits sees the page without them.
    let visits = audit::visits(conn, &ctx, &f, &start)?
        .map(|p| p.items)
        .unwrap_or_default();
    let officer_ids: Vec<String> = visits.iter().map(|v| v.officer_id.clone()).collect();
    let officers = store::users_by_ids(conn, &officer_ids)?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    let query = CaseQuery {
        community: Some(community.code.clone()),
        open: true,
        limit: OPEN_SHOWN,
        ..CaseQuery::default()
    };
    let (open, next) = cases::list(conn, &ctx, &query, Utc::now())?;
    Ok(CommunityPage {
        boundary,
        street,
        hotline,
        people,
        duties: store::duties(conn)?
            .into_iter()
            .filter(|d| d.active)
            .collect(),
        categories: store::categories(conn, None)?
            .into_iter()
            .filter(|c| c.active)
            .collect(),
        visits,
        officers,
        more_open: next.is_some(),
        open,
        community,
        tz: ctx.tz,
    })
}

fn people_list(p: &CommunityPage, kind: &str) -> Markup {
    let w = words();
    let shown: Vec<&UserView> = p
        .people
        .iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, u)| u)
        .collect();
    html! {
        @if shown.is_empty() {
            span.muted { (w.common.none) }
        } @else {
            ul.people {
                @for u in shown {
                    li {
                        (u.display_name)
                        @if let Some(phone) = &u.phone { " · " (w.community.phone) " " (phone) }
                    }
                }
            }
        }
    }
}

/// The reason codes a visit's checks left (stored as a JSON list).
pub(super) fn flags_of(v: &VisitRow) -> Vec<String> {
    serde_json::from_str(&v.flags).unwrap_or_default()
}

/// A visit's dot class on the boundary, by its verification status.
pub(super) fn fix_class(status: &str) -> &'static str {
    match status {
        "verified" => "fix-verified",
        "accepted" => "fix-accepted",
        "flagged" => "fix-flagged",
        _ => "fix-other",
    }
}

/// `GET /console/communities/{code}`.
pub async fn community(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let w = words();
    let code = path.into_inner();
    let (st, v) = (state.clone(), viewer.clone());
    let p = state.run_db(move |conn| read(conn, &st, &v, &code)).await?;
    let c = &p.community;
    let names: HashMap<&str, &str> = HashMap::from([(c.id.as_str(), c.name.as_str())]);
    let categories: HashMap<&str, &str> = p
        .categories
        .iter()
        .map(|k| (k.id.as_str(), k.name_zh.as_str()))
        .collect();
    let dots: Vec<(f64, f64, &str, String)> = p
        .visits
        .iter()
        .filter_map(|v| {
            let (lat, lon) = (v.lat?, v.lon?);
            let who = p.officers.get(&v.officer_id).cloned().unwrap_or_default();
            Some((
                lon,
                lat,
                fix_class(&v.status),
                format!(
                    "{} {} · {}",
                    local(v.started_at, p.tz),
                    who,
                    w.visit_status(&v.status)
                ),
            ))
        })
        .collect();
    let kind_items = |kind: &str| -> Vec<&CategoryRow> {
        p.categories.iter().filter(|k| k.kind == kind).collect()
    };
    let body = html! {
        h1 { (c.name) }
        p.muted { (w.community.street) ": " (p.street) " · " (c.code) }
        section aria-labelledby="studio" {
            h2 id="studio" { (w.community.studio) }
            dl.facts {
                dt { (w.community.hotline) } dd { (p.hotline) }
                @if viewer.user.role.can_read_organisation() {
                    dt { (w.community.officers) } dd { (people_list(&p, AssignmentKind::OfficerCommunity.as_str())) }
                    dt { (w.community.party_members) } dd { (people_list(&p, AssignmentKind::PartyMemberCommunity.as_str())) }
                    dt { (w.community.staff) } dd { (people_list(&p, AssignmentKind::StaffCommunity.as_str())) }
                }
            }
        }
        section aria-labelledby="lists" {
            h2 id="lists" { (w.community.lists) }
            details open {
                summary { "1. " (w.community.duties) " (" (p.duties.len()) ")" }
                ol { @for d in &p.duties { li { (d.title_zh) } } }
            }
            @for (n, kind, label) in [(2, "key_item", w.community.key_items), (3, "assist", w.community.assist_items)] {
                @let items = kind_items(kind);
                details {
                    summary { (n) ". " (label) " (" (items.len()) ")" }
                    ul { @for k in items { li { (k.group_zh) " · " (k.name_zh) } } }
                }
            }
            details {
                summary { "4. " (w.community.personnel) }
                p { a href="#studio" { (w.community.studio) } }
            }
        }
        section aria-labelledby="week-visits" {
            h2 id="week-visits" { (w.community.week_visits) " (" (p.visits.len()) ")" }
            (small_map(w.community.boundary, &p.boundary, &dots))
            @if p.visits.is_empty() {
                p.muted { (w.common.none) }
            } @else {
                div.scroll { table.visits {
                    thead { tr {
                        th scope="col" { (w.visits.started_at) }
                        th scope="col" { (w.visits.officer) }
                        th scope="col" { (w.visits.purpose) }
                        th scope="col" { (w.community.visit_status) }
                        th scope="col" { (w.visits.reasons) }
                    } }
                    tbody {
                        @for v in &p.visits {
                            tr data-visit-id=(v.id) {
                                td { a href={ "/console/visits/" (v.id) } { (local(v.started_at, p.tz)) } }
                                td { (p.officers.get(&v.officer_id).map(String::as_str).unwrap_or("")) }
                                td { (v.purpose) }
                                td class=(fix_class(&v.status)) { (w.visit_status(&v.status)) }
                                td { @for f in flags_of(v) { code { (f) } " " } }
                            }
                        }
                    }
                } }
            }
        }
        section aria-labelledby="open-cases" {
            h2 id="open-cases" { (w.community.open_cases) }
            @if p.open.is_empty() {
                p.muted { (w.common.none) }
            } @else {
                (case_table(&p.open, &names, &categories, p.tz, Utc::now()))
            }
            @if p.more_open || !p.open.is_empty() {
                p { a href={ "/console/cases?open=true&community=" (c.code) } { (w.community.all_cases) } }
            }
        }
    };
    Ok(page::page(viewer.chrome(), &c.name, Section::Map, body))
}
