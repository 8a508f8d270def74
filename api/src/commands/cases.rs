//! Case commands: report, transition, edit fields, comment. Each is one domain command
//! that both the online endpoints and sync push call, inside the caller's write
//! transaction. A command either applies (possibly with a recorded conflict) or refuses
//! with a [`DomainError`] having written nothing; the caller decides what a refusal
//! leaves behind (sync keeps the evidence, online answers 4xx).

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use patrol_domain::DomainError;
use patrol_domain::case::{
    self, CaseCommand, CaseSource, CaseState, CaseStatus, Handler, deadline,
};
use patrol_domain::geometry::{Crs, LatLon};
use patrol_domain::role::{Role, Scope};
use patrol_sync::merge::{FieldMerge, far_future, may_set_supervisor_fields, merge_descriptive};
use patrol_sync::protocol::{
    CaseCommentArgs, CaseHandOverArgs, CaseReportArgs, CaseTransitionArgs, CaseUpdateFieldsArgs,
    FieldEdit,
};
use serde_json::{Value, json};

use crate::commands::context::{
    Applied, CommandResult, Ctx, MAX_PHOTOS, at_ms, check_photo_hashes, record_conflict,
};
use crate::db::changes;
use crate::db::ids::{new_id, now_ms};
use crate::db::store::{self, ActivityRow, CaseRow, PhotoRow};
use crate::db::workflow::{self, FollowerRow};
use crate::db::{DbConn, StoreError};

/// When each step of a stored case was due and done, for its lateness.
pub fn progress_of(c: &CaseRow) -> deadline::Progress {
    let at = |ms: Option<i64>| ms.map(at_ms);
    let open = c
        .status
        .parse::<CaseStatus>()
        .is_ok_and(CaseStatus::is_open);
    deadline::Progress {
        accept_due: at(c.accept_due_at),
        accepted_at: at(c.accepted_at),
        handle_due: at(c.handle_due_at),
        resolved_at: at(c.resolved_at),
        close_due: at(c.close_due_at),
        closed_at: at(c.closed_at),
        finished_at: (!open).then(|| at_ms(c.updated_at)),
    }
}

const MAX_DESCRIPTION: usize = 2000;
const MAX_NOTES: usize = 4000;

/// The same refusal about another field (a shared check used under another name).
fn rename_field(e: DomainError, from: &str, to: &str) -> DomainError {
    match e {
        DomainError::Invalid { field, reason } => DomainError::Invalid {
            field: field.replacen(from, to, 1),
            reason,
        },
        other => other,
    }
}

/// Evidence entries: photo hashes or short notes, none blank.
pub fn check_evidence(evidence: &[String]) -> Result<(), DomainError> {
    if evidence.len() > MAX_PHOTOS {
        return Err(DomainError::invalid(
            "evidence",
            format!("at most {MAX_PHOTOS} entries"),
        ));
    }
    for (i, e) in evidence.iter().enumerate() {
        patrol_domain::text::bounded(&format!("evidence[{i}]"), e, MAX_DESCRIPTION, true)?;
    }
    Ok(())
}

/// What an actor wants to do with a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read it, and give workflow commands (the state machine checks each one's role).
    Read,
    /// Change its descriptive fields or comment on it.
    Edit,
}

/// May the actor read (or edit) this case? Outsiders get "not found", never a hint.
/// Readers: residents what they reported or follow; departments what they handle or
/// have a task on; the joint-meeting office what was escalated to it; staff their scope.
/// Editors: the reporter and staff in scope only (followers and departments read).
fn may_touch(
    conn: &mut DbConn,
    ctx: &Ctx,
    c: &CaseRow,
    access: Access,
) -> Result<bool, StoreError> {
    let a = &ctx.actor;
    // What a person reported stays theirs: staff who filed a case outside their scope (or
    // lost its community since) still read and follow it.
    let own = changes::person_of(c) == Some(a.user_id.as_str());
    let edit = access == Access::Edit;
    Ok(match a.role {
        Role::Admin => true,
        Role::Resident => own || (!edit && workflow::follows(conn, &c.id, &a.user_id)?),
        Role::Department => {
            !edit
                && (c.handler_id.as_deref() == Some(a.user_id.as_str())
                    || workflow::has_task_on(conn, &c.id, &a.user_id)?
                    || (ctx.joint_office
                        && !workflow::escalations_of_case(conn, &c.id)?.is_empty()))
        }
        // The first-contact owner and the handler follow the case they answer for even
        // when its community is not (or no longer) theirs.
        _ => {
            ctx.scope.includes_community(&c.community_id)
                || own
                || (!edit
                    && [&c.first_contact_id, &c.handler_id]
                        .iter()
                        .any(|p| p.as_deref() == Some(a.user_id.as_str())))
        }
    })
}

/// Open cases of the same category within the category's duplicate radius of `c` and in
/// `scope`, nearest first, with their distance in metres.
pub fn duplicate_suggestions(
    conn: &mut DbConn,
    scope: &Scope,
    c: &CaseRow,
) -> Result<Vec<(CaseRow, f64)>, StoreError> {
    let category = store::category_by_id(conn, &c.category_id)?
        .ok_or_else(|| StoreError::Corrupt(format!("case {} has no category", c.id)))?;
    let radius = f64::from(category.duplicate_radius_m);
    let here = LatLon {
        lat: c.lat,
        lon: c.lon,
    };
    let (sw, ne) = here.bbox_around(radius);
    let candidates = workflow::open_cases_in_box(
        conn,
        &c.category_id,
        (sw.lat, sw.lon),
        (ne.lat, ne.lon),
        &c.id,
    )?;
    Ok(here.nearest_within(
        radius,
        candidates
            .into_iter()
            .filter(|d| scope.includes_community(&d.community_id))
            .map(|d| {
                let at = LatLon {
                    lat: d.lat,
                    lon: d.lon,
                };
                (d, at)
            }),
    ))
}

/// A case the actor may read, or `None` (also when it exists out of scope).
pub fn visible(conn: &mut DbConn, ctx: &Ctx, case_id: &str) -> Result<Option<CaseRow>, StoreError> {
    match store::case_by_id(conn, case_id)? {
        Some(c) if may_touch(conn, ctx, &c, Access::Read)? => Ok(Some(c)),
        _ => Ok(None),
    }
}

/// What a list of cases asks: the API's query and the console's filters alike.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    pub status: Option<String>,
    /// Community code.
    pub community: Option<String>,
    /// Category code.
    pub category: Option<String>,
    pub source: Option<String>,
    /// Only cases still being worked on.
    pub open: bool,
    /// Only cases past a deadline now (or finished late), or only those that are not.
    pub overdue: Option<bool>,
    /// After the `(created_at, id)` of the previous page.
    pub after: Option<(i64, String)>,
    pub limit: i64,
}

/// The cases the actor may see, newest first: staff their scope, residents what they
/// reported or follow, departments what they have a task on. The cursor of the next
/// page is `Some` when the page is full.
pub fn list(
    conn: &mut DbConn,
    ctx: &Ctx,
    q: &CaseQuery,
    now: DateTime<Utc>,
) -> crate::infra::error::ApiResult<(Vec<CaseRow>, Option<String>)> {
    use crate::infra::error::ApiError;
    let mut f = workflow::CaseFilter {
        status: q.status.clone(),
        source: q.source.clone(),
        open_only: q.open,
        ..workflow::CaseFilter::default()
    };
    match (&ctx.actor.role, &ctx.scope) {
        (Role::Resident, _) => f.involving = Some(ctx.actor.user_id.clone()),
        (Role::Department, _) => f.department = Some(ctx.actor.user_id.clone()),
        (_, Scope::All) => {}
        (_, Scope::Communities(ids)) => {
            f.communities = Some(ids.clone());
            f.or_person = Some(ctx.actor.user_id.clone());
        }
        (_, Scope::Own) => f.involving = Some(ctx.actor.user_id.clone()),
    }
    if let Some(code) = &q.community {
        let c = store::community_by_code(conn, code)?
            .ok_or_else(|| ApiError::bad_field("community", format!("no community {code:?}")))?;
        if !ctx.scope.includes_community(&c.id) && f.communities.is_some() {
            return Err(ApiError::Forbidden(format!(
                "community {code} is not in your scope"
            )));
        }
        f.communities = Some(vec![c.id]);
        f.or_person = None;
    }
    if let Some(code) = &q.category {
        let c = store::category_by_code(conn, code)?
            .ok_or_else(|| ApiError::bad_field("category", format!("no category {code:?}")))?;
        f.category_id = Some(c.id);
    }
    let rows = workflow::list_cases(conn, &f, q.after.clone(), q.limit)?;
    let next = (i64::try_from(rows.len()).unwrap_or(0) == q.limit)
        .then(|| rows.last().map(|r| format!("{}_{}", r.created_at, r.id)))
        .flatten();
    let rows = rows
        .into_iter()
        .filter(|c| {
            q.overdue
                .is_none_or(|want| deadline::lateness(&progress_of(c), now).any() == want)
        })
        .collect();
    Ok((rows, next))
}

/// The workflow commands the actor may issue on a stored case now (wire names).
pub fn offered_commands(
    conn: &mut DbConn,
    ctx: &Ctx,
    c: &CaseRow,
) -> Result<Vec<&'static str>, StoreError> {
    Ok(case::offered(&state_of(conn, ctx, c)?, &ctx.actor))
}

/// Loads a case for a command, locked for the rest of the write transaction.
pub fn load_for(
    conn: &mut DbConn,
    ctx: &Ctx,
    case_id: &str,
    access: Access,
) -> Result<Result<CaseRow, DomainError>, StoreError> {
    store::lock_row(conn, store::LockTable::Cases, case_id)?;
    Ok(match store::case_by_id(conn, case_id)? {
        Some(c) if may_touch(conn, ctx, &c, access)? => Ok(c),
        Some(_) if ctx.actor.role.is_community_scoped() || ctx.actor.role == Role::Supervisor => {
            Err(DomainError::forbidden(
                "this case's community is not (or no longer) in your scope",
            ))
        }
        _ => Err(DomainError::not_found(format!("case {case_id}"))),
    })
}

/// The workflow state of a stored case, with its open department tasks and whether the
/// reporter's follow-up window is open now.
fn state_of(conn: &mut DbConn, ctx: &Ctx, c: &CaseRow) -> Result<CaseState, StoreError> {
    let open_tasks = workflow::open_task_count(conn, &c.id)?;
    let mut state = stored_state(c)?;
    state.open_department_tasks = u32::try_from(open_tasks).unwrap_or(u32::MAX);
    state.escalation_pending = workflow::escalations_of_case(conn, &c.id)?
        .iter()
        .any(|e| e.status == patrol_domain::escalation::EscalationStatus::Pending.as_str());
    state.community_staff =
        store::current_assignments_to(conn, std::slice::from_ref(&c.community_id))?
            .into_iter()
            .map(|a| a.user_id)
            .collect();
    state.follow_up_open = c.closed_at.is_some_and(|closed| {
        deadline::follow_up_open(at_ms(closed), ctx.policy.follow_up_days, Utc::now())
    });
    Ok(state)
}

fn stored_state(c: &CaseRow) -> Result<CaseState, StoreError> {
    let status: CaseStatus = c
        .status
        .parse()
        .map_err(|e: DomainError| StoreError::Corrupt(e.to_string()))?;
    let deferred_from = c
        .deferred_from
        .as_deref()
        .map(str::parse::<CaseStatus>)
        .transpose()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(CaseState {
        status,
        reporter_id: c.reporter_id.clone(),
        first_contact_id: c.first_contact_id.clone(),
        handler: c.handler_id.clone().map(Handler::Officer),
        rework_count: u32::try_from(c.rework_count).unwrap_or(0),
        resolved_by: c.resolved_by.clone(),
        deferred_from,
        open_department_tasks: 0,
        escalation_pending: false,
        self_handled: c.self_handled,
        community_staff: Vec::new(),
        follow_up_open: false,
    })
}

/// The status changes recorded on a case, oldest first, for its deadlines.
fn steps_of(activities: &[ActivityRow]) -> Vec<deadline::Step> {
    activities
        .iter()
        .filter(|a| a.kind == "transition")
        .filter_map(|a| {
            let from = a.from_status.as_deref()?.parse().ok()?;
            let to = a.to_status.as_deref()?.parse().ok()?;
            Some((from, to, at_ms(a.recorded_at)))
        })
        .collect()
}

/// Recomputes the case's deadlines from its category, its first dispatch and its
/// recorded status changes plus `next` (the change being applied).
fn refresh_dues(
    conn: &mut DbConn,
    c: &mut CaseRow,
    next: Option<deadline::Step>,
) -> Result<(), StoreError> {
    let category = store::category_by_id(conn, &c.category_id)?
        .ok_or_else(|| StoreError::Corrupt(format!("case {} has no category", c.id)))?;
    let mut steps = steps_of(&store::activities_of(conn, &c.id)?);
    steps.extend(next);
    let dues = deadline::dues(
        category.hours(),
        at_ms(c.created_at),
        c.dispatched_at.map(at_ms),
        &steps,
    );
    c.accept_due_at = Some(dues.accept.timestamp_millis());
    c.handle_due_at = dues.handle.map(|t| t.timestamp_millis());
    c.close_due_at = dues.close.map(|t| t.timestamp_millis());
    Ok(())
}

/// Seconds from `now` to the next midnight in `tz`.
fn secs_to_midnight(now: DateTime<Utc>, tz: Tz) -> (i64, u64) {
    let local = now.with_timezone(&tz).date_naive();
    let start = local
        .and_hms_opt(0, 0, 0)
        .and_then(|m| tz.from_local_datetime(&m).earliest())
        .map_or(now, |t| t.with_timezone(&Utc));
    let next = local
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|m| tz.from_local_datetime(&m).earliest())
        .map_or(now, |t| t.with_timezone(&Utc));
    (
        start.timestamp_millis(),
        u64::try_from((next - now).num_seconds()).unwrap_or(0),
    )
}

fn activity(c: &CaseRow, ctx: &Ctx, kind: &str, note: &str, evidence: Value) -> ActivityRow {
    ActivityRow {
        id: new_id(),
        case_id: c.id.clone(),
        actor_id: Some(ctx.actor.user_id.clone()),
        actor_role: ctx.actor.role.as_str().into(),
        kind: kind.into(),
        from_status: None,
        to_status: None,
        note: note.into(),
        evidence: evidence.to_string(),
        class_721: None,
        observed_at: ctx.observed_at.map(|t| t.timestamp_millis()),
        recorded_at: now_ms(),
    }
}

fn add_activity(conn: &mut DbConn, c: &CaseRow, a: &ActivityRow) -> Result<(), StoreError> {
    store::insert_activity(conn, a)?;
    changes::activity_added(conn, a, &c.community_id, changes::person_of(c))
}

/// Appends an entry that is not a status change (an escalation, a department's answer)
/// to the case's activity, with its change.
pub fn add_note(
    conn: &mut DbConn,
    ctx: &Ctx,
    c: &CaseRow,
    kind: &str,
    note: &str,
    evidence: Value,
) -> Result<(), StoreError> {
    let a = activity(c, ctx, kind, note, evidence);
    add_activity(conn, c, &a)
}

fn add_photos(
    conn: &mut DbConn,
    c: &CaseRow,
    ctx: &Ctx,
    hashes: &[String],
) -> Result<(), StoreError> {
    for h in hashes {
        let p = PhotoRow {
            id: new_id(),
            sha256: h.clone(),
            owner_kind: "case".into(),
            owner_id: c.id.clone(),
            community_id: Some(c.community_id.clone()),
            added_by: Some(ctx.actor.user_id.clone()),
            created_at: now_ms(),
        };
        if store::insert_photo_once(conn, &p)? {
            let available = store::touch_blob(conn, h, now_ms())?;
            changes::photo_changed(conn, &p, available)?;
        }
    }
    Ok(())
}

/// Bumps the version, writes the case and its change.
fn save(conn: &mut DbConn, c: &mut CaseRow) -> Result<(), StoreError> {
    c.version += 1;
    c.updated_at = now_ms();
    store::update_case(conn, c)?;
    changes::case_changed(conn, c)
}

/// `case.report`: a new case from a resident, an officer's patrol find, a whistle or a
/// hotline call entered by staff. Reports are never lost: a report located in a
/// community outside the reporter's scope is kept and reaches whoever covers it.
pub fn report(conn: &mut DbConn, ctx: &Ctx, args: &CaseReportArgs) -> CommandResult {
    file(conn, ctx, args, false)
}

/// A hotline ticket's case, filed by `commands::hotline` (the hotline's integration
/// account may file nothing else).
pub fn report_hotline_ticket(conn: &mut DbConn, ctx: &Ctx, args: &CaseReportArgs) -> CommandResult {
    file(conn, ctx, args, true)
}

fn file(conn: &mut DbConn, ctx: &Ctx, args: &CaseReportArgs, ticket: bool) -> CommandResult {
    let by_hotline = ticket && ctx.hotline_intake;
    let checked = (|| -> Result<_, DomainError> {
        uuid::Uuid::parse_str(&args.case_id)
            .map_err(|_| DomainError::invalid("case_id", "must be a UUID made on the device"))?;
        let description =
            patrol_domain::text::bounded("description", &args.description, MAX_DESCRIPTION, true)?;
        let crs: Crs = args
            .crs
            .as_deref()
            .map(str::parse)
            .transpose()?
            .unwrap_or_default();
        let at = LatLon::parse(args.lat, args.lon, crs, "")?;
        check_photo_hashes("photos", &args.photos)?;
        let source = match args.source.as_deref() {
            Some(s) => s.parse::<CaseSource>()?,
            None if ctx.actor.role == Role::Resident => CaseSource::ResidentApp,
            None => CaseSource::PatrolFind,
        };
        if ctx.actor.role == Role::Resident
            && !matches!(source, CaseSource::ResidentApp | CaseSource::Suggestion)
        {
            return Err(DomainError::invalid(
                "source",
                "residents report through the app or as a suggestion",
            ));
        }
        if matches!(ctx.actor.role, Role::Department) && !by_hotline {
            return Err(DomainError::forbidden(
                "departments do not report cases; they handle dispatched tasks",
            ));
        }
        let (community, cell) = ctx.locator.locate(&at);
        let community = community
            .ok_or_else(|| DomainError::invalid("lat", "the location is outside the district"))?;
        // 就地处置: fixed on the spot, so it starts resolved and still needs verifying.
        let on_spot = if args.resolved_on_spot.is_empty() {
            None
        } else {
            check_evidence(&args.resolved_on_spot)
                .map_err(|e| rename_field(e, "evidence", "resolved_on_spot"))?;
            Some(case::self_handled(&ctx.actor, &args.resolved_on_spot)?)
        };
        Ok((description, at, source, community, cell, on_spot))
    })();
    let (description, at, source, community, cell, on_spot) = match checked {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    if let Some(existing) = store::case_by_id(conn, &args.case_id)? {
        // The same report arriving again from another install of the same person is the
        // same report; anyone else reusing the id is refused.
        return Ok(
            if existing.created_by.as_deref() == Some(ctx.actor.user_id.as_str()) {
                Ok(Applied {
                    record: existing,
                    conflict: None,
                })
            } else {
                Err(DomainError::conflict("this case id is already taken"))
            },
        );
    }
    let Some(category) = store::category_by_code(conn, &args.category_code)?.filter(|c| c.active)
    else {
        return Ok(Err(DomainError::invalid(
            "category_code",
            format!("no active category {:?}", args.category_code),
        )));
    };
    // One quota for a resident however the report arrives (online, sync push): a second
    // way in would be a way round it. Staff reports are never limited.
    if ctx.actor.role == Role::Resident {
        let (midnight, secs) = secs_to_midnight(Utc::now(), ctx.tz);
        let today = workflow::reports_by_since(conn, &ctx.actor.user_id, midnight)?;
        if let Err(e) = ctx
            .policy
            .check_daily_quota(u64::try_from(today).unwrap_or(u64::MAX), secs)
        {
            return Ok(Err(e));
        }
    }
    let now = now_ms();
    let staff = ctx.actor.role.is_staff();
    let status = on_spot.as_ref().map_or(CaseStatus::Reported, |s| s.status);
    let mut row = CaseRow {
        id: args.case_id.clone(),
        community_id: community.id,
        grid_cell_id: cell.map(|c| c.id),
        category_id: category.id,
        source: source.as_str().into(),
        status: status.as_str().into(),
        close_outcome: None,
        description,
        description_rev: 1,
        notes: String::new(),
        notes_rev: 0,
        lat: at.lat,
        lon: at.lon,
        reporter_id: (!staff).then(|| ctx.actor.user_id.clone()),
        reporter_anonymous: args.anonymous,
        // A hotline ticket's first contact is whoever takes it up, not the hotline's account.
        first_contact_id: (staff && !by_hotline).then(|| ctx.actor.user_id.clone()),
        handler_id: on_spot.as_ref().map(|_| ctx.actor.user_id.clone()),
        priority: "normal".into(),
        handle_due_at: None,
        resolved_by: on_spot.as_ref().and_then(|s| s.resolved_by.clone()),
        rework_count: 0,
        deferred_from: None,
        duplicate_of: None,
        self_handled: on_spot.is_some(),
        class_721: category.default_class_721,
        observed_at: ctx.observed_at.map(|t| t.timestamp_millis()),
        observed_at_suspect: ctx.observed_at.is_some_and(|t| far_future(t, Utc::now())),
        created_by: Some(ctx.actor.user_id.clone()),
        created_at: now,
        updated_at: now,
        version: 1,
        accept_due_at: None,
        close_due_at: None,
        accepted_at: on_spot.as_ref().map(|_| now),
        dispatched_at: on_spot.as_ref().map(|_| now),
        resolved_at: on_spot.as_ref().map(|_| now),
        closed_at: None,
        rating: None,
        follow_up_of: None,
    };
    refresh_dues(conn, &mut row, None)?;
    store::insert_case(conn, &row)?;
    changes::case_changed(conn, &row)?;
    let mut a = activity(
        &row,
        ctx,
        "reported",
        "",
        json!({ "photos": args.photos, "resolved_on_spot": args.resolved_on_spot }),
    );
    a.to_status = Some(row.status.clone());
    add_activity(conn, &row, &a)?;
    add_photos(conn, &row, ctx, &args.photos)?;
    add_photos(conn, &row, ctx, &hashes_in(&args.resolved_on_spot))?;
    Ok(Ok(Applied {
        record: row,
        conflict: None,
    }))
}

/// A "not fixed" after the follow-up window: the reporter's comment becomes a new case at
/// the same place and category, linked to the old one, which keeps its outcome.
fn follow_up_case(conn: &mut DbConn, ctx: &Ctx, old: &CaseRow, comment: &str) -> CommandResult {
    let Some(category) = store::category_by_id(conn, &old.category_id)? else {
        return Err(StoreError::Corrupt(format!(
            "case {} has no category",
            old.id
        )));
    };
    let args = CaseReportArgs {
        case_id: new_id(),
        category_code: category.code,
        description: comment.to_owned(),
        lat: old.lat,
        lon: old.lon,
        crs: None,
        photos: Vec::new(),
        source: None,
        anonymous: old.reporter_anonymous,
        resolved_on_spot: Vec::new(),
    };
    let mut applied = match report(conn, ctx, &args)? {
        Ok(a) => a,
        Err(e) => return Ok(Err(e)),
    };
    applied.record.follow_up_of = Some(old.id.clone());
    save(conn, &mut applied.record)?;
    add_note(
        conn,
        ctx,
        old,
        "follow_up_reported",
        comment,
        json!({ "new_case_id": applied.record.id }),
    )?;
    Ok(Ok(applied))
}

/// `case.transition`: a workflow command validated by the domain state machine. A
/// command whose effect is already the case's state (two officers resolving the same
/// case offline) succeeds without a second transition; its evidence is still added.
pub fn transition(conn: &mut DbConn, ctx: &Ctx, args: &CaseTransitionArgs) -> CommandResult {
    let mut c = match load_for(conn, ctx, &args.case_id, Access::Read)? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let state = state_of(conn, ctx, &c)?;
    // "Not fixed" after the follow-up window: a new case linked to this one.
    if let CaseCommand::NotFixed { comment } = &args.command
        && state.not_fixed_files_new_case(&ctx.actor)
    {
        return follow_up_case(conn, ctx, &c, comment);
    }
    if let CaseCommand::Dispatch {
        to: Handler::Officer(id),
    } = &args.command
    {
        let ok = store::user_by_id(conn, id)?
            .is_some_and(|u| u.active && u.role == Role::Officer.as_str());
        if !ok {
            return Ok(Err(DomainError::invalid(
                "command.to",
                "no such active officer",
            )));
        }
    }
    if let CaseCommand::Dispatch {
        to: Handler::Departments(_),
    } = &args.command
    {
        return Ok(Err(DomainError::invalid(
            "command.to",
            "dispatch to departments goes through escalation",
        )));
    }
    let photos: Vec<String> = match &args.command {
        CaseCommand::Resolve { evidence, .. } => hashes_in(evidence),
        _ => Vec::new(),
    };
    let t = match case::apply(&state, &args.command, &ctx.actor) {
        Ok(t) => t,
        Err(DomainError::Conflict { .. }) if case::is_repeat(&state, &args.command, &ctx.actor) => {
            let a = activity(
                &c,
                ctx,
                "duplicate_command",
                "the case was already in this state",
                serde_json::to_value(&args.command).unwrap_or(Value::Null),
            );
            add_activity(conn, &c, &a)?;
            add_photos(conn, &c, ctx, &photos)?;
            return Ok(Ok(Applied {
                record: c,
                conflict: None,
            }));
        }
        Err(e) => return Ok(Err(e)),
    };
    let next = case::next_state(&state, &t);
    let now = now_ms();
    c.status = next.status.as_str().into();
    c.handler_id = match &next.handler {
        Some(Handler::Officer(id)) => Some(id.clone()),
        _ => None,
    };
    c.rework_count = i32::try_from(next.rework_count).unwrap_or(i32::MAX);
    c.resolved_by = next.resolved_by;
    c.deferred_from = next.deferred_from.map(|s| s.as_str().to_owned());
    if let Some(outcome) = t.outcome {
        c.close_outcome = Some(outcome.as_str().into());
    }
    if t.rework {
        // Back to work: it is neither resolved nor closed any more.
        c.resolved_at = None;
        c.closed_at = None;
        c.close_outcome = None;
        c.rating = None;
    }
    match t.to {
        CaseStatus::Accepted => {
            c.accepted_at.get_or_insert(now);
        }
        CaseStatus::Dispatched => {
            c.dispatched_at.get_or_insert(now);
        }
        CaseStatus::Resolved => c.resolved_at = Some(now),
        CaseStatus::Closed => c.closed_at = Some(now),
        CaseStatus::Evaluated => c.rating = t.rating.map(i32::from),
        _ => {}
    }
    let mut merged_into = None;
    if let Some(original) = &t.original_id {
        if *original == c.id {
            return Ok(Err(DomainError::invalid(
                "command.original_id",
                "a case cannot be a duplicate of itself; name the case it repeats",
            )));
        }
        let Some(o) = visible(conn, ctx, original)? else {
            return Ok(Err(DomainError::invalid(
                "command.original_id",
                "no such case",
            )));
        };
        if o.duplicate_of.is_some() {
            return Ok(Err(DomainError::invalid(
                "command.original_id",
                "that case is itself a duplicate; name its original",
            )));
        }
        c.duplicate_of = Some(original.clone());
        // The duplicate's reporter follows the original from now on.
        if let Some(reporter) = &c.reporter_id {
            workflow::follow(
                conn,
                &FollowerRow {
                    case_id: o.id.clone(),
                    user_id: reporter.clone(),
                    via_case_id: Some(c.id.clone()),
                    created_at: now,
                },
            )?;
        }
        merged_into = Some(o);
    }
    if c.first_contact_id.is_none() && ctx.actor.role.is_staff() {
        c.first_contact_id = Some(ctx.actor.user_id.clone());
    }
    if t.cancel_department_tasks {
        cancel_open_escalations(conn, &c.id, now)?;
    }
    refresh_dues(conn, &mut c, Some((t.from, t.to, at_ms(now))))?;
    save(conn, &mut c)?;
    let mut a = activity(
        &c,
        ctx,
        "transition",
        t.note.as_deref().unwrap_or(""),
        json!({ "evidence": t.evidence, "rating": t.rating }),
    );
    a.from_status = Some(t.from.as_str().into());
    a.to_status = Some(t.to.as_str().into());
    a.class_721 = Some(t.class_721.as_str().into());
    a.recorded_at = now;
    add_activity(conn, &c, &a)?;
    add_photos(conn, &c, ctx, &photos)?;
    if let Some(o) = &merged_into {
        // The original's history says what was merged into it, and by whom.
        let mut m = activity(
            o,
            ctx,
            "duplicate_merged",
            t.note.as_deref().unwrap_or(""),
            json!({ "duplicate_id": c.id }),
        );
        m.recorded_at = now;
        add_activity(conn, o, &m)?;
    }
    // The officer handling the case earns (or loses) points for how it went.
    let handled_late = deadline::lateness(&progress_of(&c), at_ms(now)).handle;
    if let (Some(Handler::Officer(officer)), Some(rule)) =
        (&next.handler, case::points_rule(&t, handled_late))
    {
        // Each rework is its own event; the rest happen once per case.
        let source = if t.rework {
            format!("{}:{}", c.id, c.rework_count)
        } else {
            c.id.clone()
        };
        crate::commands::points::award(
            conn,
            &crate::commands::points::Award {
                officer_id: officer,
                rule_code: rule,
                source_kind: "case",
                source_id: &source,
                actor_id: None,
                note: "",
                points: None,
            },
        )?;
    }
    Ok(Ok(Applied {
        record: c,
        conflict: None,
    }))
}

/// The photo hashes among evidence entries (the rest are notes).
fn hashes_in(evidence: &[String]) -> Vec<String> {
    evidence
        .iter()
        .filter(|e| check_photo_hashes("evidence", std::slice::from_ref(*e)).is_ok())
        .cloned()
        .collect()
}

/// Statuses after which edits lose: the case was withdrawn or dismissed.
fn is_gone(status: &str) -> bool {
    matches!(status, "withdrawn" | "voided" | "duplicate")
}

/// `case.update_fields`: descriptive fields merge per field (a concurrent edit applies
/// and is recorded with both values); priority is the supervisor's.
pub fn update_fields(conn: &mut DbConn, ctx: &Ctx, args: &CaseUpdateFieldsArgs) -> CommandResult {
    let mut c = match load_for(conn, ctx, &args.case_id, Access::Edit)? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    if is_gone(&c.status) {
        return Ok(Err(DomainError::conflict(format!(
            "the case was {}; the edit is not applied (current status: {})",
            c.status, c.status
        ))));
    }
    if args.priority.is_some() && !may_set_supervisor_fields(ctx.actor.role) {
        return Ok(Err(DomainError::forbidden(
            "only supervisors set a case's priority",
        )));
    }
    if let Some(p) = &args.priority
        && !matches!(p.as_str(), "low" | "normal" | "urgent")
    {
        return Ok(Err(DomainError::invalid(
            "priority",
            "must be low, normal or urgent",
        )));
    }
    let check = |field: &str,
                 e: &Option<FieldEdit>,
                 max: usize|
     -> Result<Option<FieldEdit>, DomainError> {
        e.as_ref()
            .map(|e| {
                patrol_domain::text::bounded(field, &e.value, max, field == "description").map(
                    |value| FieldEdit {
                        value,
                        base_rev: e.base_rev,
                    },
                )
            })
            .transpose()
    };
    let (description, notes) = match (
        check("description", &args.description, MAX_DESCRIPTION),
        check("notes", &args.notes, MAX_NOTES),
    ) {
        (Ok(d), Ok(n)) => (d, n),
        (Err(e), _) | (_, Err(e)) => return Ok(Err(e)),
    };
    let mut concurrent = serde_json::Map::new();
    let mut changed = Vec::new();
    for (name, edit) in [("description", description), ("notes", notes)] {
        let Some(edit) = edit else { continue };
        let (current, rev) = if name == "description" {
            (&c.description, c.description_rev)
        } else {
            (&c.notes, c.notes_rev)
        };
        let merged = merge_descriptive(current, rev, &edit);
        let (value, new_rev) = match merged {
            FieldMerge::Unchanged => continue,
            FieldMerge::Clean { value, rev } => (value, rev),
            FieldMerge::Concurrent {
                value,
                rev,
                overwritten,
                overwritten_rev,
            } => {
                concurrent.insert(
                    name.into(),
                    json!({ "applied": value, "overwritten": overwritten, "overwritten_rev": overwritten_rev, "base_rev": edit.base_rev }),
                );
                (value, rev)
            }
        };
        if name == "description" {
            c.description = value;
            c.description_rev = new_rev;
        } else {
            c.notes = value;
            c.notes_rev = new_rev;
        }
        changed.push(name);
    }
    if let Some(p) = &args.priority
        && *p != c.priority
    {
        c.priority = p.clone();
        changed.push("priority");
    }
    if changed.is_empty() {
        return Ok(Ok(Applied {
            record: c,
            conflict: None,
        }));
    }
    save(conn, &mut c)?;
    let a = activity(&c, ctx, "edit", "", json!({ "fields": changed }));
    add_activity(conn, &c, &a)?;
    let conflict = if concurrent.is_empty() {
        None
    } else {
        Some(record_conflict(
            conn,
            ctx,
            "concurrent_edit",
            "case",
            &c.id,
            Some(&c.community_id),
            Value::Object(concurrent),
        )?)
    };
    Ok(Ok(Applied {
        record: c,
        conflict,
    }))
}

/// `case.hand_over`: the first-contact owner (首接负责) changes, recorded with from, to and
/// reason.
pub fn hand_over(conn: &mut DbConn, ctx: &Ctx, args: &CaseHandOverArgs) -> CommandResult {
    let mut c = match load_for(conn, ctx, &args.case_id, Access::Read)? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let state = stored_state(&c)?;
    let Some(to_role) = store::user_by_id(conn, &args.to_user_id)?
        .filter(|u| u.active)
        .and_then(|u| u.role.parse::<Role>().ok())
    else {
        return Ok(Err(DomainError::invalid(
            "to_user_id",
            "no such active account",
        )));
    };
    let to = crate::auth::AuthUser {
        id: args.to_user_id.clone(),
        role: to_role,
    };
    let covers = crate::commands::scope::scope_of(conn, &to)?.includes_community(&c.community_id);
    let recipient = (args.to_user_id.as_str(), to_role, covers);
    let reason = match case::check_handover(&state, &ctx.actor, recipient, &args.reason) {
        Ok(r) => r.to_owned(),
        Err(e) => return Ok(Err(e)),
    };
    let from = c.first_contact_id.replace(args.to_user_id.clone());
    save(conn, &mut c)?;
    add_note(
        conn,
        ctx,
        &c,
        "handover",
        &reason,
        json!({ "from": from, "to": args.to_user_id }),
    )?;
    Ok(Ok(Applied {
        record: c,
        conflict: None,
    }))
}

/// `case.comment`: append-only; never conflicts, except with a case that is gone.
pub fn comment(conn: &mut DbConn, ctx: &Ctx, args: &CaseCommentArgs) -> CommandResult {
    let c = match load_for(conn, ctx, &args.case_id, Access::Edit)? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let text =
        match patrol_domain::text::bounded("text", &args.text, MAX_NOTES, args.photos.is_empty())
            .and_then(|t| check_photo_hashes("photos", &args.photos).map(|()| t))
        {
            Ok(t) => t,
            Err(e) => return Ok(Err(e)),
        };
    let a = activity(&c, ctx, "comment", &text, json!({ "photos": args.photos }));
    add_activity(conn, &c, &a)?;
    add_photos(conn, &c, ctx, &args.photos)?;
    Ok(Ok(Applied {
        record: c,
        conflict: None,
    }))
}

/// Keeps what a refused command carried (notes, photos) on the case's activity, so a
/// rejected status change loses no evidence. Only for cases the actor may still touch.
pub fn keep_evidence(
    conn: &mut DbConn,
    ctx: &Ctx,
    case_id: &str,
    command: &Value,
    photos: &[String],
) -> Result<(), StoreError> {
    if let Some(c) = store::case_by_id(conn, case_id)?
        && may_touch(conn, ctx, &c, Access::Read)?
    {
        let a = activity(&c, ctx, "rejected_attempt", "", command.clone());
        add_activity(conn, &c, &a)?;
        if check_photo_hashes("photos", photos).is_ok() {
            add_photos(conn, &c, ctx, photos)?;
        }
    }
    Ok(())
}

/// A case that is withdrawn or dismissed takes its open escalation and tasks with it.
fn cancel_open_escalations(conn: &mut DbConn, case_id: &str, now: i64) -> Result<(), StoreError> {
    for mut e in workflow::escalations_of_case(conn, case_id)? {
        if !e.status()?.is_open() {
            continue;
        }
        for mut t in workflow::tasks_of_escalation(conn, &e.id)? {
            if t.status == "open" {
                t.status = "cancelled".into();
                workflow::update_task(conn, &t)?;
                changes::task_changed(conn, &t, &e.community_id)?;
            }
        }
        e.status = patrol_domain::escalation::EscalationStatus::Cancelled
            .as_str()
            .into();
        e.updated_at = now;
        workflow::update_escalation(conn, &e)?;
        changes::escalation_changed(conn, &e)?;
    }
    Ok(())
}
