//! Community whistles (社区吹哨、部门报到): `raise` and `command` are the domain commands
//! the online endpoints and sync push share, inside the caller's write transaction; reads
//! (one whistle, a scoped list) and the monthly figures are here too. The rules are in
//! `patrol_domain::whistle`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeZone, Utc};
use diesel::prelude::*;
use patrol_domain::DomainError;
use patrol_domain::role::{Role, Scope};
use patrol_domain::whistle::{
    self, CommunityRules, Effect, WhistleFacts, WhistleState, WhistleStats, WhistleStatus,
};
use patrol_sync::protocol::{WhistleCommandArgs, WhistleRaiseArgs};
use serde::Serialize;
use serde_json::Value;

use crate::commands::context::{Applied, CommandResult, Ctx};
use crate::db::changes;
use crate::db::ids::{now_ms, rfc3339};
use crate::db::schema::{cases, communities, whistle_cases, whistles};
use crate::db::store::{self, CommunityRow};
use crate::db::{DbConn, StoreError};

/// A whistle as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = whistles, treat_none_as_null = true)]
pub struct WhistleRow {
    pub id: String,
    pub community_id: String,
    pub raised_by: String,
    pub title: String,
    pub description: String,
    pub status: String,
    pub signed_off_by: Option<String>,
    pub signed_off_at: Option<i64>,
    pub decline_reason: Option<String>,
    pub raised_at: Option<i64>,
    pub take_due_at: Option<i64>,
    pub taken_by: Option<String>,
    pub taken_at: Option<i64>,
    pub taken_late: Option<bool>,
    pub response_note: Option<String>,
    pub rating: Option<i32>,
    pub rating_comment: Option<String>,
    pub rated_by: Option<String>,
    pub rated_at: Option<i64>,
    pub observed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

/// A whistle as clients see it.
#[derive(Debug, Clone, Serialize)]
pub struct WhistleView {
    pub id: String,
    pub community_id: String,
    pub community_code: String,
    pub raised_by: String,
    pub title: String,
    pub description: String,
    pub status: String,
    pub case_ids: Vec<String>,
    pub signed_off_by: Option<String>,
    pub signed_off_at: Option<String>,
    pub decline_reason: Option<String>,
    pub raised_at: Option<String>,
    pub take_due_at: Option<String>,
    pub taken_by: Option<String>,
    pub taken_at: Option<String>,
    pub taken_late: Option<bool>,
    /// Out to city management, untaken and past its deadline at read time. Not in sync
    /// payloads: a replica computes it from `take_due_at` when it shows the whistle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdue: Option<bool>,
    pub response_note: Option<String>,
    pub rating: Option<i32>,
    pub rating_comment: Option<String>,
    pub rated_by: Option<String>,
    pub rated_at: Option<String>,
    pub observed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub version: i64,
}

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn status_of(w: &WhistleRow) -> Result<WhistleStatus, StoreError> {
    w.status
        .parse()
        .map_err(|e: DomainError| StoreError::Corrupt(e.to_string()))
}

impl WhistleView {
    /// The view of a row; `now` decides `overdue` (`None` leaves it out).
    pub fn from_row(
        w: &WhistleRow,
        community_code: &str,
        case_ids: Vec<String>,
        now: Option<DateTime<Utc>>,
    ) -> Self {
        let overdue = now.map(|now| {
            w.status
                .parse::<WhistleStatus>()
                .is_ok_and(|s| whistle::is_overdue(s, w.take_due_at.map(at), now))
        });
        Self {
            id: w.id.clone(),
            community_id: w.community_id.clone(),
            community_code: community_code.to_owned(),
            raised_by: w.raised_by.clone(),
            title: w.title.clone(),
            description: w.description.clone(),
            status: w.status.clone(),
            case_ids,
            signed_off_by: w.signed_off_by.clone(),
            signed_off_at: w.signed_off_at.map(rfc3339),
            decline_reason: w.decline_reason.clone(),
            raised_at: w.raised_at.map(rfc3339),
            take_due_at: w.take_due_at.map(rfc3339),
            taken_by: w.taken_by.clone(),
            taken_at: w.taken_at.map(rfc3339),
            taken_late: w.taken_late,
            overdue,
            response_note: w.response_note.clone(),
            rating: w.rating,
            rating_comment: w.rating_comment.clone(),
            rated_by: w.rated_by.clone(),
            rated_at: w.rated_at.map(rfc3339),
            observed_at: w.observed_at.map(rfc3339),
            created_at: rfc3339(w.created_at),
            updated_at: rfc3339(w.updated_at),
            version: w.version,
        }
    }
}

/// A whistle's settings of a community.
pub fn rules_of(c: &CommunityRow) -> CommunityRules {
    CommunityRules {
        lead_id: c.lead_user_id.clone(),
        sign_off_required: c.whistle_sign_off,
        take_minutes: c.whistle_take_minutes,
    }
}

fn case_ids_of(
    conn: &mut DbConn,
    ids: &[String],
) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let rows: Vec<(String, String)> = whistle_cases::table
        .filter(whistle_cases::whistle_id.eq_any(ids))
        .order((whistle_cases::whistle_id, whistle_cases::case_id))
        .select((whistle_cases::whistle_id, whistle_cases::case_id))
        .load(conn)?;
    for (w, c) in rows {
        map.entry(w).or_default().push(c);
    }
    Ok(map)
}

fn community_codes(
    conn: &mut DbConn,
    ids: &[String],
) -> Result<BTreeMap<String, String>, StoreError> {
    Ok(communities::table
        .filter(communities::id.eq_any(ids))
        .select((communities::id, communities::code))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// Views of rows, with their community codes and linked cases, as of `now`.
pub fn views(
    conn: &mut DbConn,
    rows: &[WhistleRow],
    now: Option<DateTime<Utc>>,
) -> Result<Vec<WhistleView>, StoreError> {
    let ids: Vec<String> = rows.iter().map(|w| w.id.clone()).collect();
    let community_ids: Vec<String> = rows
        .iter()
        .map(|w| w.community_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut linked = case_ids_of(conn, &ids)?;
    let codes = community_codes(conn, &community_ids)?;
    Ok(rows
        .iter()
        .map(|w| {
            WhistleView::from_row(
                w,
                codes.get(&w.community_id).map_or("", String::as_str),
                linked.remove(&w.id).unwrap_or_default(),
                now,
            )
        })
        .collect())
}

/// One whistle's view as of now.
pub fn view(conn: &mut DbConn, w: &WhistleRow) -> Result<WhistleView, StoreError> {
    views(conn, std::slice::from_ref(w), Some(Utc::now()))?
        .pop()
        .ok_or(StoreError::NotFound)
}

/// The state devices replicate: the view without the read-time `overdue`.
pub fn payload(conn: &mut DbConn, w: &WhistleRow) -> Result<Value, StoreError> {
    let v = views(conn, std::slice::from_ref(w), None)?
        .pop()
        .ok_or(StoreError::NotFound)?;
    serde_json::to_value(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Records a whistle's new state for the pulls of its community (and its raiser).
fn changed(conn: &mut DbConn, w: &WhistleRow) -> Result<(), StoreError> {
    let data = payload(conn, w)?;
    changes::record(
        conn,
        changes::NewChange {
            entity: "whistle",
            entity_id: &w.id,
            community_id: Some(&w.community_id),
            user_id: Some(&w.raised_by),
            op: "upsert",
            payload: data,
        },
    )
}

fn by_id(conn: &mut DbConn, id: &str) -> Result<Option<WhistleRow>, StoreError> {
    Ok(whistles::table
        .find(id)
        .select(WhistleRow::as_select())
        .first(conn)
        .optional()?)
}

/// May the actor see this whistle? Its community's people (by scope), its raiser, admins.
fn may_touch(ctx: &Ctx, w: &WhistleRow) -> bool {
    match ctx.actor.role {
        Role::Admin => true,
        Role::Resident | Role::Department => false,
        _ => ctx.scope.includes_community(&w.community_id) || w.raised_by == ctx.actor.user_id,
    }
}

/// May this role read whistles at all?
pub fn may_read(role: Role) -> bool {
    !matches!(role, Role::Resident | Role::Department)
}

/// A whistle the actor may read, or `None` (also when it exists out of scope).
pub fn visible(conn: &mut DbConn, ctx: &Ctx, id: &str) -> Result<Option<WhistleRow>, StoreError> {
    Ok(by_id(conn, id)?.filter(|w| may_touch(ctx, w)))
}

/// As for cases: people of the organisation learn that a whistle is outside their scope
/// (403); anyone else gets "not found".
fn load_for(
    conn: &mut DbConn,
    ctx: &Ctx,
    id: &str,
) -> Result<Result<WhistleRow, DomainError>, StoreError> {
    Ok(match by_id(conn, id)? {
        Some(w) if may_touch(ctx, &w) => Ok(w),
        Some(_) if ctx.actor.role.is_community_scoped() || ctx.actor.role == Role::Supervisor => {
            Err(DomainError::forbidden(
                "this whistle's community is not (or no longer) in your scope",
            ))
        }
        _ => Err(DomainError::not_found(format!("whistle {id}"))),
    })
}

/// Checks the cases a whistle links: they exist and are in its community.
fn check_cases(
    conn: &mut DbConn,
    community_id: &str,
    case_ids: &[String],
) -> Result<Result<(), DomainError>, StoreError> {
    if case_ids.len() > whistle::MAX_LINKED_CASES {
        return Ok(Err(DomainError::invalid(
            "case_ids",
            format!("at most {} cases", whistle::MAX_LINKED_CASES),
        )));
    }
    for (i, id) in case_ids.iter().enumerate() {
        if case_ids[..i].contains(id) {
            return Ok(Err(DomainError::invalid(
                format!("case_ids[{i}]"),
                format!("case {id} is listed twice"),
            )));
        }
        let community: Option<String> = cases::table
            .find(id)
            .select(cases::community_id)
            .first(conn)
            .optional()?;
        if community.as_deref() != Some(community_id) {
            return Ok(Err(DomainError::invalid(
                format!("case_ids[{i}]"),
                format!("no case {id} in the whistle's community"),
            )));
        }
    }
    Ok(Ok(()))
}

/// `whistle.raise`: community staff raise a whistle for a community in their scope. It
/// waits for the lead's sign-off or goes straight out, as the community is configured.
/// The same whistle arriving again from its raiser is the same whistle.
pub fn raise(conn: &mut DbConn, ctx: &Ctx, args: &WhistleRaiseArgs) -> CommandResult<WhistleRow> {
    if let Err(e) = whistle::may_raise(ctx.actor.role) {
        return Ok(Err(e));
    }
    if uuid::Uuid::parse_str(&args.whistle_id).is_err() {
        return Ok(Err(DomainError::invalid(
            "whistle_id",
            "must be a UUID made on the device",
        )));
    }
    let Some(community) = store::community_by_code(conn, &args.community_code)? else {
        return Ok(Err(DomainError::invalid(
            "community_code",
            format!("no community with code {:?}", args.community_code),
        )));
    };
    if !ctx.scope.includes_community(&community.id) {
        return Ok(Err(DomainError::forbidden(format!(
            "community {} is not in your scope",
            community.code
        ))));
    }
    let now = Utc::now();
    let raised = match whistle::raise(
        &ctx.actor,
        &rules_of(&community),
        &args.title,
        &args.description,
        now,
    ) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    if let Some(existing) = by_id(conn, &args.whistle_id)? {
        return Ok(if existing.raised_by == ctx.actor.user_id {
            Ok(Applied {
                record: existing,
                conflict: None,
            })
        } else {
            Err(DomainError::conflict("this whistle id is already taken"))
        });
    }
    if let Err(e) = check_cases(conn, &community.id, &args.case_ids)? {
        return Ok(Err(e));
    }
    let now_ms = now.timestamp_millis();
    let row = WhistleRow {
        id: args.whistle_id.clone(),
        community_id: community.id.clone(),
        raised_by: ctx.actor.user_id.clone(),
        title: raised.title,
        description: raised.description,
        status: raised.status.as_str().into(),
        signed_off_at: raised.signed_off_by.as_ref().map(|_| now_ms),
        signed_off_by: raised.signed_off_by,
        decline_reason: None,
        raised_at: raised.raised_at.map(|t| t.timestamp_millis()),
        take_due_at: raised.take_due_at.map(|t| t.timestamp_millis()),
        taken_by: None,
        taken_at: None,
        taken_late: None,
        response_note: None,
        rating: None,
        rating_comment: None,
        rated_by: None,
        rated_at: None,
        observed_at: ctx.observed_at.map(|t| t.timestamp_millis()),
        created_at: now_ms,
        updated_at: now_ms,
        version: 1,
    };
    diesel::insert_into(whistles::table)
        .values(&row)
        .execute(conn)?;
    for case_id in &args.case_ids {
        diesel::insert_into(whistle_cases::table)
            .values((
                whistle_cases::whistle_id.eq(&row.id),
                whistle_cases::case_id.eq(case_id),
            ))
            .execute(conn)?;
    }
    changed(conn, &row)?;
    Ok(Ok(Applied {
        record: row,
        conflict: None,
    }))
}

/// `whistle.sign_off`, `whistle.take`, `whistle.rate`, `whistle.withdraw`: a command
/// checked by the domain state machine against the whistle and its community now.
pub fn command(
    conn: &mut DbConn,
    ctx: &Ctx,
    args: &WhistleCommandArgs,
) -> CommandResult<WhistleRow> {
    store::lock_row(conn, store::LockTable::Whistles, &args.whistle_id)?;
    let mut w = match load_for(conn, ctx, &args.whistle_id)? {
        Ok(w) => w,
        Err(e) => return Ok(Err(e)),
    };
    let community = store::community_by_id(conn, &w.community_id)?.ok_or(StoreError::NotFound)?;
    let state = WhistleState {
        status: status_of(&w)?,
        raised_by: w.raised_by.clone(),
        lead_id: community.lead_user_id.clone(),
        take_minutes: community.whistle_take_minutes,
        take_due_at: w.take_due_at.map(at),
    };
    let now = Utc::now();
    let t = match whistle::apply(&state, &args.command, &ctx.actor, now) {
        Ok(t) => t,
        Err(e) => return Ok(Err(e)),
    };
    let now_ms = now.timestamp_millis();
    let me = Some(ctx.actor.user_id.clone());
    match t.effect {
        Effect::Approved {
            raised_at,
            take_due_at,
        } => {
            w.signed_off_by = me;
            w.signed_off_at = Some(now_ms);
            w.raised_at = Some(raised_at.timestamp_millis());
            w.take_due_at = Some(take_due_at.timestamp_millis());
        }
        Effect::Declined { reason } => {
            w.signed_off_by = me;
            w.signed_off_at = Some(now_ms);
            w.decline_reason = Some(reason);
        }
        Effect::Taken { late, note } => {
            w.taken_by = me;
            w.taken_at = Some(now_ms);
            w.taken_late = Some(late);
            w.response_note = note;
        }
        Effect::Rated { rating, comment } => {
            w.rating = Some(rating);
            w.rating_comment = comment;
            w.rated_by = me;
            w.rated_at = Some(now_ms);
        }
        Effect::Withdrawn => {}
    }
    w.status = t.to.as_str().into();
    w.version += 1;
    w.updated_at = now_ms;
    diesel::update(whistles::table.find(&w.id))
        .set(&w)
        .execute(conn)?;
    changed(conn, &w)?;
    if w.taken_late == Some(false)
        && t.to == WhistleStatus::Taken
        && ctx.actor.role == Role::Officer
    {
        crate::commands::points::award(
            conn,
            &crate::commands::points::Award {
                officer_id: &ctx.actor.user_id,
                rule_code: "whistle_answered_on_time",
                source_kind: "whistle",
                source_id: &w.id,
                actor_id: None,
                note: "",
                points: None,
            },
        )?;
    }
    Ok(Ok(Applied {
        record: w,
        conflict: None,
    }))
}

/// The current state of a whistle for a sync rejection, when the actor may see it.
pub fn current_payload(
    conn: &mut DbConn,
    ctx: &Ctx,
    id: &str,
) -> Result<Option<(Value, String)>, StoreError> {
    match visible(conn, ctx, id)? {
        Some(w) => Ok(Some((payload(conn, &w)?, w.community_id))),
        None => Ok(None),
    }
}

/// Filters of a whistle list.
#[derive(Debug, Default)]
pub struct ListFilter {
    pub status: Option<WhistleStatus>,
    pub community_id: Option<String>,
    /// Continue after this id.
    pub after: Option<String>,
    pub limit: i64,
}

/// Whistles the actor may see, by id, `limit` rows at most.
pub fn list(conn: &mut DbConn, ctx: &Ctx, f: &ListFilter) -> Result<Vec<WhistleRow>, StoreError> {
    let mut q = whistles::table
        .select(WhistleRow::as_select())
        .order(whistles::id)
        .limit(f.limit)
        .into_boxed();
    match &ctx.scope {
        Scope::All => {}
        Scope::Communities(ids) => {
            q = q.filter(
                whistles::community_id
                    .eq_any(ids.clone())
                    .or(whistles::raised_by.eq(ctx.actor.user_id.clone())),
            );
        }
        Scope::Own => q = q.filter(whistles::raised_by.eq(ctx.actor.user_id.clone())),
    }
    if let Some(s) = f.status {
        q = q.filter(whistles::status.eq(s.as_str()));
    }
    if let Some(c) = &f.community_id {
        q = q.filter(whistles::community_id.eq(c.clone()));
    }
    if let Some(a) = &f.after {
        q = q.filter(whistles::id.gt(a.clone()));
    }
    Ok(q.load(conn)?)
}

/// One community's whistle figures in a month.
#[derive(Debug, Clone, Serialize)]
pub struct CommunityStats {
    pub community_code: String,
    pub community_name: String,
    #[serde(flatten)]
    pub stats: WhistleStats,
}

/// The whistle figures of a month: per community and in total.
#[derive(Debug, Clone, Serialize)]
pub struct WhistleReport {
    pub month: String,
    pub time_zone: String,
    pub communities: Vec<CommunityStats>,
    pub total: WhistleStats,
}

/// (community id, status, raised at, taken late, rating): what the figures read.
type FactsRow = (String, String, Option<i64>, Option<bool>, Option<i32>);

/// Figures of the whistles raised (sent out to city management) in `[from, until)`, for
/// the listed communities (every one when `only` is `None`).
pub fn report(
    conn: &mut DbConn,
    (from, until): (i64, i64),
    only: Option<&[String]>,
) -> Result<(Vec<CommunityStats>, WhistleStats), StoreError> {
    let mut cq = communities::table
        .select((communities::id, communities::code, communities::name))
        .order(communities::code)
        .into_boxed();
    if let Some(ids) = only {
        cq = cq.filter(communities::id.eq_any(ids.to_vec()));
    }
    let list: Vec<(String, String, String)> = cq.load(conn)?;
    let ids: Vec<String> = list.iter().map(|(id, _, _)| id.clone()).collect();
    // Only what the figures need: a month of a busy district stays a small read.
    let rows: Vec<FactsRow> = whistles::table
        .filter(whistles::raised_at.ge(from))
        .filter(whistles::raised_at.lt(until))
        .filter(whistles::community_id.eq_any(&ids))
        .select((
            whistles::community_id,
            whistles::status,
            whistles::raised_at,
            whistles::taken_late,
            whistles::rating,
        ))
        .load(conn)?;
    let mut facts: BTreeMap<String, Vec<WhistleFacts>> = BTreeMap::new();
    for (community_id, status, raised_at, taken_late, rating) in rows {
        facts.entry(community_id).or_default().push(WhistleFacts {
            status: status
                .parse()
                .map_err(|e: DomainError| StoreError::Corrupt(e.to_string()))?,
            raised_at: raised_at.map(at),
            taken_late,
            rating,
        });
    }
    let per = list
        .into_iter()
        .map(|(id, code, name)| CommunityStats {
            community_code: code,
            community_name: name,
            stats: whistle::stats(facts.get(&id).into_iter().flatten()),
        })
        .collect();
    let total = whistle::stats(facts.values().flatten());
    Ok((per, total))
}

/// A community's whistle settings as clients see them.
#[derive(Debug, Clone, Serialize)]
pub struct SettingsView {
    pub community_code: String,
    pub lead_user_id: Option<String>,
    pub sign_off_required: bool,
    pub take_minutes: i32,
    pub updated_at: String,
}

/// Sets a community's lead, sign-off switch and take deadline. The lead must be an
/// active community staff account currently assigned to the community.
pub fn configure(
    conn: &mut DbConn,
    actor_id: &str,
    code: &str,
    lead_user_id: Option<&str>,
    sign_off_required: bool,
    take_minutes: i64,
) -> Result<Result<SettingsView, DomainError>, StoreError> {
    let Some(community) = store::community_by_code(conn, code)? else {
        return Ok(Err(DomainError::not_found(format!("community {code}"))));
    };
    let minutes = match whistle::check_take_minutes(take_minutes) {
        Ok(m) => m,
        Err(e) => return Ok(Err(e)),
    };
    if let Some(lead) = lead_user_id {
        let staff = store::user_by_id(conn, lead)?
            .is_some_and(|u| u.active && u.role == Role::CommunityStaff.as_str());
        let assigned = store::current_assignments_of_user(conn, lead)?
            .iter()
            .any(|a| a.target_id == community.id);
        if !staff || !assigned {
            return Ok(Err(DomainError::invalid(
                "lead_user_id",
                format!("must be an active community staff account assigned to {code}"),
            )));
        }
    }
    let now = now_ms();
    diesel::update(communities::table.find(&community.id))
        .set((
            communities::lead_user_id.eq(lead_user_id),
            communities::whistle_sign_off.eq(sign_off_required),
            communities::whistle_take_minutes.eq(minutes),
            communities::updated_at.eq(now),
        ))
        .execute(conn)?;
    store::audit(
        conn,
        Some(actor_id),
        "community.whistle_settings",
        "community",
        &community.id,
        serde_json::json!({
            "code": code,
            "lead_user_id": lead_user_id,
            "sign_off_required": sign_off_required,
            "take_minutes": minutes,
        }),
    )?;
    Ok(Ok(SettingsView {
        community_code: community.code,
        lead_user_id: lead_user_id.map(str::to_owned),
        sign_off_required,
        take_minutes: minutes,
        updated_at: rfc3339(now),
    }))
}
