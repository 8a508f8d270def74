//! The whistle board (吹哨看板): whistles in the viewer's scope with their take-up
//! deadlines and the community's rating, filtered by status. The list is
//! `commands::whistles::list`, as for the API.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use chrono::Utc;
use maud::html;
use patrol_domain::whistle::WhistleStatus;
use serde::Deserialize;

use super::error::PageError;
use super::page::{self, Section, words};
use super::session::Viewer;
use super::{local, minutes_until};
use crate::commands::context::Ctx;
use crate::commands::whistles::{self, ListFilter};
use crate::db::store;
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

const SHOWN: i64 = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardQuery {
    /// A whistle status; empty for all.
    pub status: Option<String>,
}

/// `GET /console/whistles`.
pub async fn board(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<BoardQuery>,
) -> Result<HttpResponse, PageError> {
    let w = words();
    let status = query
        .into_inner()
        .status
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<WhistleStatus>())
        .transpose()?;
    let (st, user) = (state.clone(), viewer.user.clone());
    let (rows, names, tz) = state
        .run_db(move |conn| -> ApiResult<_> {
            let ctx = Ctx::for_user(conn, &st, &user)?;
            if !whistles::may_read(ctx.actor.role) {
                return Err(ApiError::Forbidden(format!(
                    "the {} role does not read whistles",
                    ctx.actor.role
                )));
            }
            let f = ListFilter {
                status,
                limit: SHOWN,
                ..ListFilter::default()
            };
            let mut rows = whistles::list(conn, &ctx, &f)?;
            rows.sort_by_key(|w| std::cmp::Reverse(w.created_at));
            let names: HashMap<String, String> = store::all_communities(conn)?
                .into_iter()
                .map(|c| (c.id, c.name))
                .collect();
            Ok((rows, names, ctx.tz))
        })
        .await?;
    let now = Utc::now();
    let body = html! {
        h1 { (w.whistles.title) }
        form.filters method="get" action="/console/whistles" {
            label {
                (w.whistles.status)
                select name="status" {
                    option value="" { (w.common.all) }
                    @for s in WhistleStatus::ALL {
                        option value=(s.as_str()) selected[status == Some(s)] { (w.whistle_status(s)) }
                    }
                }
            }
            button type="submit" { (w.common.filter) }
        }
        @if rows.is_empty() {
            p.muted { (w.whistles.none) }
        } @else {
            div.scroll { table.whistles {
                thead { tr {
                    th scope="col" { (w.whistles.whistle) }
                    th scope="col" { (w.whistles.community) }
                    th scope="col" { (w.whistles.status) }
                    th scope="col" { (w.whistles.raised_at) }
                    th scope="col" { (w.whistles.take_due) }
                    th scope="col" { (w.whistles.taken_at) }
                    th scope="col" { (w.whistles.rating) }
                } }
                tbody {
                    @for r in &rows {
                        tr data-whistle-id=(r.id) {
                            td { (r.title) }
                            td { (names.get(&r.community_id).map(String::as_str).unwrap_or("")) }
                            td { (r.status.parse::<WhistleStatus>().map(|s| w.whistle_status(s)).unwrap_or(&r.status)) }
                            td { (r.raised_at.map(|t| local(t, tz)).unwrap_or_default()) }
                            @match (r.take_due_at, r.taken_at) {
                                (Some(due), None) if minutes_until(due, now) < 0 => td.late {
                                    (local(due, tz)) " · " (w.today.late_by) " " (-minutes_until(due, now)) " " (w.today.minutes)
                                },
                                (Some(due), None) => td {
                                    (local(due, tz)) " · " (w.today.time_left) " " (minutes_until(due, now)) " " (w.today.minutes)
                                },
                                (Some(due), Some(_)) => td { (local(due, tz)) },
                                (None, _) => td { "—" },
                            }
                            @match (r.taken_at, r.taken_late) {
                                (Some(t), Some(true)) => td.late { (local(t, tz)) " · " (w.whistles.taken_late) },
                                (Some(t), _) => td { (local(t, tz)) },
                                (None, _) => td { "—" },
                            }
                            td.num { (r.rating.map(|x| x.to_string()).unwrap_or_else(|| "—".into())) }
                        }
                    }
                }
            } }
        }
    };
    Ok(page::page(
        viewer.chrome(),
        w.whistles.title,
        Section::Whistles,
        body,
    ))
}
