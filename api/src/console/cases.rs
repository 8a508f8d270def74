//! Cases (案件): a filterable board and a case page with its deadlines, timeline and the
//! workflow steps the viewer may take. Lists, visibility and steps are the API's
//! commands; the offer of steps is the domain's (`case::offered`).

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use chrono::{NaiveDate, Utc};
use maud::{Markup, html};
use patrol_domain::case::{CaseCommand, CaseSource, CaseStatus, CloseOutcome, Handler, deadline};
use patrol_domain::role::Role;
use patrol_sync::protocol::CaseTransitionArgs;
use serde::Deserialize;

use super::error::PageError;
use super::local;
use super::page::{self, Section, csrf_field, see_other, words};
use super::session::Viewer;
use crate::commands::cases::{self, CaseQuery};
use crate::commands::context::Ctx;
use crate::db::DbConn;
use crate::db::store::{self, ActivityRow, CaseRow, CategoryRow, CommunityRow};
use crate::http::handlers::cases::run;
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

const PAGE: i64 = 50;

/// The board's filters, as the form sends them (empty fields mean "any").
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardQuery {
    pub status: Option<String>,
    pub community: Option<String>,
    pub category: Option<String>,
    pub source: Option<String>,
    pub open: Option<bool>,
    pub overdue: Option<bool>,
    pub after: Option<String>,
}

fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

struct Board {
    rows: Vec<CaseRow>,
    next: Option<String>,
    communities: Vec<CommunityRow>,
    categories: Vec<CategoryRow>,
    tz: chrono_tz::Tz,
}

fn read_board(
    conn: &mut DbConn,
    st: &AppState,
    viewer: &Viewer,
    q: &BoardQuery,
) -> ApiResult<Board> {
    let ctx = Ctx::for_user(conn, st, &viewer.user)?;
    if let Some(s) = given(&q.status) {
        s.parse::<CaseStatus>()?;
    }
    if let Some(s) = given(&q.source) {
        s.parse::<CaseSource>()?;
    }
    let after = given(&q.after)
        .map(|a| {
            a.split_once('_')
                .and_then(|(t, id)| Some((t.parse::<i64>().ok()?, id.to_owned())))
                .ok_or_else(|| ApiError::bad_field("after", "follow the board's own next link"))
        })
        .transpose()?;
    let query = CaseQuery {
        status: given(&q.status),
        community: given(&q.community),
        category: given(&q.category),
        source: given(&q.source),
        open: q.open.unwrap_or(false),
        overdue: q.overdue.filter(|o| *o),
        after,
        limit: PAGE,
    };
    let (rows, next) = cases::list(conn, &ctx, &query, Utc::now())?;
    let communities = match &ctx.scope {
        patrol_domain::role::Scope::Communities(ids) => store::communities_by_ids(conn, ids)?,
        _ => store::all_communities(conn)?,
    };
    Ok(Board {
        rows,
        next,
        communities,
        categories: store::categories(conn, None)?,
        tz: ctx.tz,
    })
}

/// A `<select>` of (value, label) with an "any" entry.
fn select(name: &str, label: &str, chosen: Option<&str>, options: &[(String, String)]) -> Markup {
    let w = words();
    html! {
        label {
            (label)
            select name=(name) {
                option value="" { (w.common.all) }
                @for (value, text) in options {
                    option value=(value) selected[chosen == Some(value.as_str())] { (text) }
                }
            }
        }
    }
}

/// `GET /console/cases`.
pub async fn board(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<BoardQuery>,
) -> Result<HttpResponse, PageError> {
    let w = words();
    let q = query.into_inner();
    let (st, v) = (state.clone(), viewer.clone());
    let (b, q) = state
        .run_db(move |conn| read_board(conn, &st, &v, &q).map(|b| (b, q)))
        .await?;
    let now = Utc::now();
    let names: HashMap<&str, &str> = b
        .communities
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    let categories: HashMap<&str, &str> = b
        .categories
        .iter()
        .map(|c| (c.id.as_str(), c.name_zh.as_str()))
        .collect();
    let statuses: Vec<(String, String)> = CaseStatus::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), w.case_status(*s).to_owned()))
        .collect();
    let sources: Vec<(String, String)> = CaseSource::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), w.case_source(*s).to_owned()))
        .collect();
    let community_options: Vec<(String, String)> = b
        .communities
        .iter()
        .map(|c| (c.code.clone(), c.name.clone()))
        .collect();
    let category_options: Vec<(String, String)> = b
        .categories
        .iter()
        .map(|c| (c.code.clone(), format!("{} · {}", c.group_zh, c.name_zh)))
        .collect();
    let next_link = b.next.as_ref().map(|n| {
        let mut pairs = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("status", given(&q.status)),
            ("community", given(&q.community)),
            ("category", given(&q.category)),
            ("source", given(&q.source)),
            ("open", q.open.map(|o| o.to_string())),
            ("overdue", q.overdue.map(|o| o.to_string())),
        ] {
            if let Some(v) = v {
                pairs.append_pair(k, &v);
            }
        }
        pairs.append_pair("after", n);
        format!("/console/cases?{}", pairs.finish())
    });
    let body = html! {
        h1 { (w.cases.title) }
        form.filters method="get" action="/console/cases" {
            (select("status", w.cases.status, given(&q.status).as_deref(), &statuses))
            (select("community", w.cases.community, given(&q.community).as_deref(), &community_options))
            (select("category", w.cases.category, given(&q.category).as_deref(), &category_options))
            (select("source", w.cases.source, given(&q.source).as_deref(), &sources))
            label { input type="checkbox" name="open" value="true" checked[q.open == Some(true)]; (w.cases.only_open) }
            label { input type="checkbox" name="overdue" value="true" checked[q.overdue == Some(true)]; (w.cases.only_overdue) }
            button type="submit" { (w.common.filter) }
        }
        @if b.rows.is_empty() {
            p.muted { (w.cases.none_found) }
        } @else {
            (case_table(&b.rows, &names, &categories, b.tz, now))
        }
        @if let Some(href) = next_link { p { a href=(href) { (w.common.next_page) } } }
    };
    Ok(page::page(
        viewer.chrome(),
        w.cases.title,
        Section::Cases,
        body,
    ))
}

/// Cases as the board lists them: a row each, linked to its page.
pub(super) fn case_table(
    rows: &[CaseRow],
    names: &HashMap<&str, &str>,
    categories: &HashMap<&str, &str>,
    tz: chrono_tz::Tz,
    now: chrono::DateTime<Utc>,
) -> Markup {
    let w = words();
    html! {
    div.scroll { table.cases {
        thead { tr {
            th scope="col" { (w.cases.reported_at) }
            th scope="col" { (w.cases.status) }
            th scope="col" { (w.cases.community) }
            th scope="col" { (w.cases.category) }
            th scope="col" { (w.cases.description) }
            th scope="col" { (w.common.overdue) }
        } }
        tbody {
            @for c in rows {
                @let late = deadline::lateness(&cases::progress_of(c), now).any();
                tr data-case-id=(c.id) {
                    td { a href={ "/console/cases/" (c.id) } { (local(c.created_at, tz)) } }
                    td.status { (status_words(&c.status)) }
                    td { (names.get(c.community_id.as_str()).copied().unwrap_or("")) }
                    td { (categories.get(c.category_id.as_str()).copied().unwrap_or("")) }
                    td { (short(&c.description)) }
                    @if late { td.late { (w.common.overdue) } } @else { td { } }
                }
            }
        }
    } }
    }
}

fn status_words(s: &str) -> &str {
    s.parse::<CaseStatus>()
        .map(|s| words().case_status(s))
        .unwrap_or(s)
}

fn short(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

struct CasePage {
    case: CaseRow,
    offered: Vec<&'static str>,
    activities: Vec<ActivityRow>,
    community: Option<CommunityRow>,
    category: Option<CategoryRow>,
    officers: Vec<(String, String)>,
    departments: Vec<(String, String)>,
    people: HashMap<String, String>,
    duplicates: Vec<(CaseRow, f64)>,
    tz: chrono_tz::Tz,
}

fn read_case(conn: &mut DbConn, st: &AppState, viewer: &Viewer, id: &str) -> ApiResult<CasePage> {
    let ctx = Ctx::for_user(conn, st, &viewer.user)?;
    let Some(case) = cases::visible(conn, &ctx, id)? else {
        // Staff bound to communities learn that it is out of their scope (as the commands
        // tell them); others do not learn that it exists.
        let scoped = ctx.actor.role.is_community_scoped() || ctx.actor.role == Role::Supervisor;
        if scoped && store::case_by_id(conn, id)?.is_some() {
            return Err(ApiError::Forbidden(
                "this case's community is not in your scope".into(),
            ));
        }
        return Err(ApiError::NotFound(format!("case {id}")));
    };
    let offered = cases::offered_commands(conn, &ctx, &case)?;
    let activities = store::activities_of(conn, &case.id)?;
    let staff: Vec<String> =
        store::current_assignments_to(conn, std::slice::from_ref(&case.community_id))?
            .into_iter()
            .map(|a| a.user_id)
            .collect();
    let mut ids: Vec<String> = activities
        .iter()
        .filter_map(|a| a.actor_id.clone())
        .collect();
    ids.extend(staff.iter().cloned());
    ids.extend(case.handler_id.clone());
    let users = store::users_by_ids(conn, &ids)?;
    let officers = users
        .iter()
        .filter(|u| u.role == Role::Officer.as_str() && staff.contains(&u.id))
        .map(|u| (u.id.clone(), u.display_name.clone()))
        .collect();
    let departments = if offered.contains(&"dispatch") {
        store::list_users(conn, Some(Role::Department.as_str()), None, 200)?
            .into_iter()
            .filter(|u| u.active && !u.joint_office && !u.hotline_intake)
            .map(|u| (u.id, u.display_name))
            .collect()
    } else {
        Vec::new()
    };
    let duplicates = if offered.contains(&"mark_duplicate") {
        cases::duplicate_suggestions(conn, &ctx.scope, &case)?
    } else {
        Vec::new()
    };
    Ok(CasePage {
        community: store::community_by_id(conn, &case.community_id)?,
        category: store::category_by_id(conn, &case.category_id)?,
        people: users.into_iter().map(|u| (u.id, u.display_name)).collect(),
        case,
        offered,
        activities,
        officers,
        departments,
        duplicates,
        tz: ctx.tz,
    })
}

/// `GET /console/cases/{id}`.
pub async fn case_page(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let w = words();
    let id = path.into_inner();
    let (st, v) = (state.clone(), viewer.clone());
    let p = state
        .run_db(move |conn| read_case(conn, &st, &v, &id))
        .await?;
    let c = &p.case;
    let late = deadline::lateness(&cases::progress_of(c), Utc::now());
    let due = |at: Option<i64>, is_late: bool| -> Markup {
        html! {
            @match at {
                Some(t) => { span.late[is_late] { (local(t, p.tz)) @if is_late { " · " (w.common.overdue) } } },
                None => { "—" },
            }
        }
    };
    let person = |id: &Option<String>| {
        id.as_ref()
            .map(|i| p.people.get(i).cloned().unwrap_or_else(|| i.clone()))
            .unwrap_or_else(|| "—".into())
    };
    let title = format!("{} · {}", w.cases.case, short(&c.description));
    let body = html! {
        h1 { (title) }
        dl.facts {
            dt { (w.cases.status) } dd #case-status data-status=(c.status) { (status_words(&c.status)) }
            dt { (w.cases.community) } dd { (p.community.as_ref().map(|x| x.name.as_str()).unwrap_or("")) }
            dt { (w.cases.category) } dd { (p.category.as_ref().map(|x| x.name_zh.as_str()).unwrap_or("")) }
            dt { (w.cases.source) } dd { (c.source.parse::<CaseSource>().map(|s| w.case_source(s)).unwrap_or(&c.source)) }
            dt { (w.cases.reported_at) } dd { (local(c.created_at, p.tz)) }
            dt { (w.cases.description) } dd { (c.description) }
            dt { (w.cases.location) } dd { (format!("{:.5}, {:.5}", c.lat, c.lon)) }
            dt { (w.cases.handler) } dd { (person(&c.handler_id)) }
        }
        h2 { (w.cases.deadlines) }
        @if c.status == CaseStatus::Deferred.as_str() { p.muted { (w.cases.paused) } }
        dl.facts {
            dt { (w.cases.accept_due) } dd { (due(c.accept_due_at, late.accept)) }
            dt { (w.cases.handle_due) } dd { (due(c.handle_due_at, late.handle)) }
            dt { (w.cases.close_due) } dd { (due(c.close_due_at, late.close)) }
        }
        h2 { (w.cases.actions) }
        @if p.offered.is_empty() {
            p.muted { (w.cases.no_actions) }
        } @else {
            div.actions {
                @for name in &p.offered { (action_form(&viewer, c, name, &p)) }
            }
        }
        h2 { (w.cases.timeline) }
        ol.timeline {
            @for a in &p.activities {
                li {
                    (local(a.recorded_at, p.tz)) " · "
                    @if let Some(to) = &a.to_status { strong { (status_words(to)) } " · " }
                    (person(&a.actor_id))
                    @if !a.note.is_empty() { " · " (a.note) }
                }
            }
        }
    };
    Ok(page::page(viewer.chrome(), &title, Section::Cases, body))
}

/// The form of one workflow step, with the fields the step needs.
fn action_form(viewer: &Viewer, c: &CaseRow, name: &str, p: &CasePage) -> Markup {
    let w = words();
    let cw = &w.cases;
    let danger = matches!(name, "void" | "withdraw");
    html! {
        form.action method="post" action={ "/console/cases/" (c.id) "/transitions" } data-command=(name) hx-push-url="false" {
            (csrf_field(viewer.csrf()))
            input type="hidden" name="command" value=(name);
            @match name {
                "void" | "defer" => {
                    label { (cw.reason) textarea name="reason" required rows="2" {} }
                    @if name == "defer" {
                        label { (cw.resume_on) input type="date" name="resume_on" required; }
                    }
                },
                "dispatch" => {
                    label {
                        (cw.dispatch_to)
                        select name="to" required {
                            @for (id, n) in &p.officers { option value={ "officer:" (id) } { (n) } }
                            @for (id, n) in &p.departments { option value={ "department:" (id) } { (n) } }
                        }
                    }
                },
                "resolve" => {
                    label { (cw.note) textarea name="note" required rows="2" {} }
                },
                "verify" => {
                    label { (cw.passed)
                        select name="passed" {
                            option value="true" { (w.common.yes) }
                            option value="false" { (w.common.no) }
                        }
                    }
                    label { (cw.outcome)
                        select name="outcome" {
                            option value="fixed" { (cw.outcome_fixed) }
                            option value="not_our_responsibility" { (cw.outcome_not_ours) }
                            option value="cannot_be_fixed" { (cw.outcome_cannot) }
                        }
                    }
                    label { (cw.note) textarea name="note" rows="2" {} }
                },
                "mark_duplicate" => {
                    label {
                        (cw.original)
                        @if p.duplicates.is_empty() {
                            input name="original_id" required;
                        } @else {
                            select name="original_id" required {
                                @for (d, metres) in &p.duplicates {
                                    option value=(d.id) { (short(&d.description)) " · " (format!("{metres:.0} m")) }
                                }
                            }
                        }
                    }
                },
                "not_fixed" => {
                    label { (cw.note) textarea name="comment" required rows="2" {} }
                },
                "evaluate" => {
                    label { (cw.note) input type="number" name="rating" min="1" max="5" required; }
                },
                _ => {},
            }
            button.danger[danger] type="submit" { (w.command(name)) }
        }
    }
}

/// A step as the form sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepForm {
    pub csrf: Option<String>,
    pub command: String,
    pub reason: Option<String>,
    pub resume_on: Option<String>,
    /// `officer:<id>` or `department:<id>`.
    pub to: Option<String>,
    pub note: Option<String>,
    pub passed: Option<bool>,
    pub outcome: Option<CloseOutcome>,
    pub original_id: Option<String>,
    pub comment: Option<String>,
    pub rating: Option<u8>,
}

fn text(v: Option<String>) -> String {
    v.unwrap_or_default()
}

/// The domain command a form asks for; a malformed one is a 400 naming the field.
fn command_of(f: StepForm) -> Result<CaseCommand, ApiError> {
    Ok(match f.command.as_str() {
        "accept" => CaseCommand::Accept,
        "start" => CaseCommand::Start,
        "resume" => CaseCommand::Resume,
        "withdraw" => CaseCommand::Withdraw,
        "void" => CaseCommand::Void {
            reason: text(f.reason),
        },
        "defer" => CaseCommand::Defer {
            reason: text(f.reason),
            resume_on: f
                .resume_on
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .ok_or_else(|| ApiError::bad_field("resume_on", "give a date like 2026-12-31"))?,
        },
        "dispatch" => {
            let to = f.to.unwrap_or_default();
            CaseCommand::Dispatch {
                to: match to.split_once(':') {
                    Some(("officer", id)) => Handler::Officer(id.to_owned()),
                    Some(("department", id)) => Handler::Departments(vec![id.to_owned()]),
                    _ => return Err(ApiError::bad_field("to", "choose whom to dispatch to")),
                },
            }
        }
        "resolve" => {
            let note = text(f.note);
            CaseCommand::Resolve {
                evidence: vec![note.clone()],
                note,
            }
        }
        "verify" => CaseCommand::Verify {
            passed: f.passed.unwrap_or(true),
            outcome: f.outcome.unwrap_or(CloseOutcome::Fixed),
            note: text(f.note),
        },
        "mark_duplicate" => CaseCommand::MarkDuplicate {
            original_id: text(f.original_id),
        },
        "evaluate" => CaseCommand::Evaluate {
            rating: f
                .rating
                .ok_or_else(|| ApiError::bad_field("rating", "give 1 to 5 stars"))?,
            comment: f.comment,
        },
        "not_fixed" => CaseCommand::NotFixed {
            comment: text(f.comment),
        },
        other => {
            return Err(ApiError::bad_field(
                "command",
                format!("no workflow step is called {other:?}"),
            ));
        }
    })
}

/// `POST /console/cases/{id}/transitions`: the API's transition command.
pub async fn transition(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let f: StepForm = page::form(&body)?;
    viewer.check_csrf(&state.cfg.jwt_secret, f.csrf.as_deref())?;
    let args = CaseTransitionArgs {
        case_id: path.into_inner(),
        command: command_of(f)?,
    };
    let (st, user) = (state.clone(), viewer.user.clone());
    let landed = state
        .run_db(move |conn| -> ApiResult<String> {
            let ctx = Ctx::for_user(conn, &st, &user)?;
            Ok(run(conn, |conn| cases::transition(conn, &ctx, &args))?
                .record
                .id)
        })
        .await?;
    // "Not fixed" after the window files a new case: show that one.
    Ok(see_other(&format!("/console/cases/{landed}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(command: &str) -> StepForm {
        StepForm {
            csrf: None,
            command: command.into(),
            reason: None,
            resume_on: None,
            to: None,
            note: None,
            passed: None,
            outcome: None,
            original_id: None,
            comment: None,
            rating: None,
        }
    }

    #[test]
    fn forms_become_the_domain_commands() {
        let mut f = form("dispatch");
        f.to = Some("department:d1".into());
        assert_eq!(
            command_of(f).expect("dispatch"),
            CaseCommand::Dispatch {
                to: Handler::Departments(vec!["d1".into()])
            }
        );
        assert!(command_of(form("dispatch")).is_err(), "no handler chosen");
        let mut f = form("defer");
        f.resume_on = Some("31/12/2026".into());
        assert!(command_of(f).is_err(), "a date the form cannot send");
        assert!(command_of(form("fly")).is_err());
        let mut f = form("verify");
        f.passed = Some(false);
        f.note = Some("still there".into());
        assert!(matches!(
            command_of(f),
            Ok(CaseCommand::Verify { passed: false, .. })
        ));
    }
}
