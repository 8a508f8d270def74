//! Duty diaries (工作勤务日志): entries in the viewer's scope, newest first, and an
//! entry's page with every version, each later one shown as a diff against the one
//! before (so an edit after sign-off is plain to see), its comments and the sign-off.
//! Reads are the API's `audit::diary` and `diary::history`; sign-off is its command.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use similar::{ChangeTag, TextDiff};

use super::error::PageError;
use super::page::{self, Section, csrf_field, see_other, words};
use super::session::Viewer;
use crate::commands::audit::{self, DiaryFilter, PageStart};
use crate::commands::context::Ctx;
use crate::commands::diary::{self, DiaryHistory};
use crate::db::store;
use crate::http::handlers::cases::run;
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

const SHOWN: i64 = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiaryQuery {
    /// An officer's user id; everyone in scope when absent.
    pub author: Option<String>,
    /// `false`: only entries awaiting sign-off.
    pub signed_off: Option<bool>,
}

/// User ids to display names, for the people a page mentions.
fn names_of(
    conn: &mut crate::db::DbConn,
    ids: impl Iterator<Item = String>,
) -> ApiResult<HashMap<String, String>> {
    let ids: Vec<String> = ids.collect();
    Ok(store::users_by_ids(conn, &ids)?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect())
}

/// `GET /console/diary`.
pub async fn list(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<DiaryQuery>,
) -> Result<HttpResponse, PageError> {
    let w = words();
    let q = query.into_inner();
    let (st, user) = (state.clone(), viewer.user.clone());
    let signed_off = q.signed_off;
    let (rows, names) = state
        .run_db(move |conn| -> ApiResult<_> {
            let ctx = Ctx::for_user(conn, &st, &user)?;
            let f = DiaryFilter {
                author_id: q.author.filter(|a| !a.is_empty()),
                signed_off: q.signed_off,
                ..DiaryFilter::default()
            };
            let start = PageStart {
                after: None,
                limit: SHOWN,
            };
            let rows = audit::diary(conn, &ctx, &f, &start)??.items;
            let names = names_of(conn, rows.iter().map(|r| r.author_id.clone()))?;
            Ok((rows, names))
        })
        .await?;
    let body = html! {
        h1 { (w.diary.title) }
        form.filters method="get" action="/console/diary" {
            label {
                input type="checkbox" name="signed_off" value="false" checked[signed_off == Some(false)];
                (w.diary.only_unsigned)
            }
            button type="submit" { (w.common.filter) }
        }
        @if rows.is_empty() {
            p.muted { (w.common.none) }
        } @else {
            div.scroll { table.diary {
                thead { tr {
                    th scope="col" { (w.diary.date) }
                    th scope="col" { (w.diary.shift) }
                    th scope="col" { (w.diary.author) }
                    th scope="col" { (w.diary.body) }
                    th scope="col" { (w.diary.version) }
                    th scope="col" { (w.diary.signed_off) }
                } }
                tbody {
                    @for r in &rows {
                        tr data-entry-id=(r.entry_id) {
                            td { a href={ "/console/diary/" (r.entry_id) } { (r.entry_date) } }
                            td { (w.diary_shift(&r.shift)) }
                            td { (names.get(&r.author_id).map(String::as_str).unwrap_or("")) }
                            td { (excerpt(&r.body)) }
                            td.num { (r.version) }
                            td { @if r.signed_off_by.is_some() { (w.common.yes) } @else { span.late { (w.diary.awaiting) } } }
                        }
                    }
                }
            } }
        }
    };
    Ok(page::page(
        viewer.chrome(),
        w.diary.title,
        Section::Diary,
        body,
    ))
}

fn excerpt(s: &str) -> String {
    const CHARS: usize = 40;
    let mut out: String = s.chars().take(CHARS).collect();
    if s.chars().nth(CHARS).is_some() {
        out.push('…');
    }
    out
}

/// What changed from `old` to `new`, character by character (diary text is Chinese,
/// where words are not space-separated): runs of removed text in `del`, added in `ins`.
pub(super) fn diff(old: &str, new: &str) -> Markup {
    let d = TextDiff::from_chars(old, new);
    let mut runs: Vec<(ChangeTag, String)> = Vec::new();
    for change in d.iter_all_changes() {
        match runs.last_mut() {
            Some((tag, text)) if *tag == change.tag() => text.push_str(change.value()),
            _ => runs.push((change.tag(), change.value().to_owned())),
        }
    }
    html! {
        p.diff {
            @for (tag, text) in &runs {
                @match tag {
                    ChangeTag::Equal => (text),
                    ChangeTag::Delete => del { (text) },
                    ChangeTag::Insert => ins { (text) },
                }
            }
        }
    }
}

/// `GET /console/diary/{entry_id}`.
pub async fn entry(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let w = words();
    let entry_id = path.into_inner();
    let (st, user) = (state.clone(), viewer.user.clone());
    let id = entry_id.clone();
    let (h, names, may_sign) = state
        .run_db(
            move |conn| -> ApiResult<(DiaryHistory, HashMap<String, String>, bool)> {
                let ctx = Ctx::for_user(conn, &st, &user)?;
                let h = diary::history(conn, &ctx, &id)?
                    .ok_or_else(|| ApiError::NotFound(format!("diary entry {id}")))?;
                let people = h
                    .versions
                    .iter()
                    .flat_map(|v| [Some(v.author_id.clone()), v.signed_off_by.clone()])
                    .flatten()
                    .chain(h.comments.iter().map(|c| c.author_id.clone()));
                let names = names_of(conn, people)?;
                let current = h.versions.iter().find(|v| v.current);
                let may_sign = current.is_some_and(|v| {
                    v.signed_off_by.is_none()
                        && patrol_domain::diary::may_sign_off(user.role, &user.id, &v.author_id)
                            .is_ok()
                });
                Ok((h, names, may_sign))
            },
        )
        .await?;
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_owned());
    let Some(first) = h.versions.first() else {
        return Err(ApiError::NotFound(format!("diary entry {entry_id}")).into());
    };
    let title = format!(
        "{} · {} · {}",
        w.diary.title,
        first.entry_date,
        name(&first.author_id)
    );
    let body = html! {
        h1 { (title) }
        @for (i, v) in h.versions.iter().enumerate() {
            @let before = i.checked_sub(1).map(|j| &h.versions[j]);
            section.version data-version=(v.version) aria-labelledby={ "v" (v.version) } {
                h2 id={ "v" (v.version) } {
                    (w.diary.version) " " (v.version)
                    @if v.current { " · " (w.diary.current) }
                    @if before.is_some_and(|b| b.signed_off_by.is_some()) {
                        " · " span.late.after-sign-off { (w.diary.changed_after_sign_off) }
                    }
                }
                p.muted { (w.diary.shift) ": " (w.diary_shift(&v.shift)) " · " (v.updated_at) }
                @match before {
                    Some(b) => (diff(&b.body, &v.body)),
                    None => p { (v.body) },
                }
                @if let Some(by) = &v.signed_off_by {
                    p.ok { (w.diary.signed_off) ": " (name(by)) " · " (v.signed_off_at.clone().unwrap_or_default()) }
                }
            }
        }
        h2 { (w.diary.comments) }
        @if h.comments.is_empty() {
            p.muted { (w.common.none) }
        } @else {
            ul { @for c in &h.comments { li { (name(&c.author_id)) ": " (c.text) " · " span.muted { (c.created_at) } } } }
        }
        @if may_sign {
            form method="post" action={ "/console/diary/" (entry_id) "/sign-off" } {
                (csrf_field(viewer.csrf()))
                button type="submit" { (w.diary.sign_off) }
            }
        }
    };
    Ok(page::page(viewer.chrome(), &title, Section::Diary, body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignOffForm {
    pub csrf: Option<String>,
}

/// `POST /console/diary/{entry_id}/sign-off`: the API's sign-off command.
pub async fn sign_off(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let f: SignOffForm = page::form(&body)?;
    viewer.check_csrf(&state.cfg.jwt_secret, f.csrf.as_deref())?;
    let entry_id = path.into_inner();
    let (st, user, id) = (state.clone(), viewer.user.clone(), entry_id.clone());
    state
        .run_db(move |conn| -> ApiResult<()> {
            let ctx = Ctx::for_user(conn, &st, &user)?;
            run(conn, |conn| diary::sign_off(conn, &ctx, &id))?;
            Ok(())
        })
        .await?;
    Ok(see_other(&format!("/console/diary/{entry_id}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_marks_removed_and_added_text() {
        let html = diff(
            "巡查东关大街社区，发现占道经营",
            "巡查东关大街社区，未发现问题",
        )
        .into_string();
        assert!(html.contains("<del>"), "{html}");
        assert!(html.contains("<ins>"), "{html}");
        assert!(
            html.starts_with("<p class=\"diff\">巡查东关大街社区，"),
            "{html}"
        );
        assert_eq!(
            diff("同样", "同样").into_string(),
            "<p class=\"diff\">同样</p>"
        );
    }
}
