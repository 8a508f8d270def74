//! The duty diary (工作勤务日志): `write` is the one command the online endpoint and sync
//! push share; supervisors read, comment and sign off.

use chrono::{Duration, TimeZone, Utc};
use diesel::prelude::*;
use patrol_domain::DomainError;
use patrol_domain::diary::{self, EditMode, EntryState};
use patrol_domain::role::{Role, Scope};
use patrol_sync::protocol::DiaryWriteArgs;
use serde::Serialize;
use serde_json::Value;

use crate::commands::context::{Applied, CommandResult, Ctx};
use crate::db::changes;
use crate::db::ids::{new_id, now_ms, rfc3339};
use crate::db::schema::{assignments, diary_comments, diary_entries};
use crate::db::{DbConn, StoreError};

/// How long after writing an entry its author may still change it in place.
pub const EDIT_WINDOW_HOURS: i64 = 48;

/// One version of an entry.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = diary_entries)]
pub struct DiaryRow {
    pub id: String,
    pub entry_id: String,
    pub version: i32,
    pub author_id: String,
    pub entry_date: String,
    pub shift: String,
    pub body: String,
    pub links: String,
    pub current: bool,
    pub signed_off_by: Option<String>,
    pub signed_off_at: Option<i64>,
    pub observed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A version as clients see it.
#[derive(Debug, Clone, Serialize)]
pub struct DiaryEntryView {
    pub entry_id: String,
    pub version: i32,
    pub current: bool,
    pub author_id: String,
    pub entry_date: String,
    pub shift: String,
    pub body: String,
    pub links: Value,
    pub signed_off_by: Option<String>,
    pub signed_off_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl DiaryEntryView {
    pub fn from_row(r: &DiaryRow) -> Self {
        Self {
            entry_id: r.entry_id.clone(),
            version: r.version,
            current: r.current,
            author_id: r.author_id.clone(),
            entry_date: r.entry_date.clone(),
            shift: r.shift.clone(),
            body: r.body.clone(),
            links: serde_json::from_str(&r.links).unwrap_or(Value::Null),
            signed_off_by: r.signed_off_by.clone(),
            signed_off_at: r.signed_off_at.map(rfc3339),
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DiaryComment {
    pub id: String,
    pub author_id: String,
    pub text: String,
    pub created_at: String,
}

/// An entry's whole history with the supervisors' comments.
#[derive(Debug, Clone, Serialize)]
pub struct DiaryHistory {
    pub versions: Vec<DiaryEntryView>,
    pub comments: Vec<DiaryComment>,
}

fn changed(conn: &mut DbConn, r: &DiaryRow) -> Result<(), StoreError> {
    changes::person_record_changed(
        conn,
        "diary_entry",
        &r.entry_id,
        &r.author_id,
        serde_json::to_value(DiaryEntryView::from_row(r)).unwrap_or(Value::Null),
    )
}

fn current(conn: &mut DbConn, entry_id: &str) -> Result<Option<DiaryRow>, StoreError> {
    Ok(diary_entries::table
        .filter(diary_entries::entry_id.eq(entry_id))
        .filter(diary_entries::current.eq(true))
        .select(DiaryRow::as_select())
        .first(conn)
        .optional()?)
}

/// `diary.write`: creates the entry, edits it in place, or adds a version.
pub fn write(conn: &mut DbConn, ctx: &Ctx, args: &DiaryWriteArgs) -> CommandResult<DiaryRow> {
    if !diary::keeps_diary(ctx.actor.role) {
        return Ok(Err(DomainError::forbidden(
            "only officers and party members keep a duty diary",
        )));
    }
    if uuid::Uuid::parse_str(&args.entry_id).is_err() {
        return Ok(Err(DomainError::invalid(
            "entry_id",
            "must be a UUID made on the device",
        )));
    }
    let today = Utc::now().date_naive();
    if let Err(e) = diary::check_entry(args.entry_date, &args.shift, &args.body, today) {
        return Ok(Err(e));
    }
    let links =
        serde_json::to_string(&args.links).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let now = now_ms();
    let observed = ctx.observed_at.map(|t| t.timestamp_millis());
    let row = match current(conn, &args.entry_id)? {
        None => {
            let row = DiaryRow {
                id: new_id(),
                entry_id: args.entry_id.clone(),
                version: 1,
                author_id: ctx.actor.user_id.clone(),
                entry_date: args.entry_date.to_string(),
                shift: args.shift.clone(),
                body: args.body.trim().to_owned(),
                links,
                current: true,
                signed_off_by: None,
                signed_off_at: None,
                observed_at: observed,
                created_at: now,
                updated_at: now,
            };
            diesel::insert_into(diary_entries::table)
                .values(&row)
                .execute(conn)?;
            let tz = crate::db::store::district_tz(conn)?;
            if diary::on_time(args.entry_date, Utc::now().with_timezone(&tz).date_naive())
                && !day_awarded_per_entry(conn, &row.author_id, &row.entry_date)?
            {
                crate::commands::points::award(
                    conn,
                    &crate::commands::points::Award {
                        officer_id: &row.author_id,
                        rule_code: "diary_on_time",
                        // One award per officer-day, however many entries the day holds.
                        source_kind: "diary_day",
                        source_id: &diary::award_key(&row.author_id, args.entry_date),
                        actor_id: None,
                        note: "",
                        points: None,
                    },
                )?;
            }
            row
        }
        Some(mut cur) => {
            let state = EntryState {
                author_id: cur.author_id.clone(),
                created_at: Utc
                    .timestamp_millis_opt(cur.created_at)
                    .single()
                    .unwrap_or_default(),
                signed_off: cur.signed_off_by.is_some(),
            };
            let mode = match diary::edit_mode(
                &state,
                &ctx.actor.user_id,
                Utc::now(),
                Duration::hours(EDIT_WINDOW_HOURS),
            ) {
                Ok(m) => m,
                Err(e) => return Ok(Err(e)),
            };
            if cur.body == args.body.trim()
                && cur.shift == args.shift
                && cur.links == links
                && cur.entry_date == args.entry_date.to_string()
            {
                // The same text again (a replay from another install): nothing changes.
                return Ok(Ok(Applied {
                    record: cur,
                    conflict: None,
                }));
            }
            match mode {
                EditMode::InPlace => {
                    cur.entry_date = args.entry_date.to_string();
                    cur.shift = args.shift.clone();
                    cur.body = args.body.trim().to_owned();
                    cur.links = links;
                    cur.updated_at = now;
                    cur.observed_at = observed;
                    diesel::update(diary_entries::table.find(&cur.id))
                        .set((
                            diary_entries::entry_date.eq(&cur.entry_date),
                            diary_entries::shift.eq(&cur.shift),
                            diary_entries::body.eq(&cur.body),
                            diary_entries::links.eq(&cur.links),
                            diary_entries::updated_at.eq(now),
                            diary_entries::observed_at.eq(observed),
                        ))
                        .execute(conn)?;
                    cur
                }
                EditMode::NewVersion => {
                    diesel::update(diary_entries::table.find(&cur.id))
                        .set(diary_entries::current.eq(false))
                        .execute(conn)?;
                    let row = DiaryRow {
                        id: new_id(),
                        entry_id: cur.entry_id.clone(),
                        version: cur.version + 1,
                        author_id: cur.author_id.clone(),
                        entry_date: args.entry_date.to_string(),
                        shift: args.shift.clone(),
                        body: args.body.trim().to_owned(),
                        links,
                        current: true,
                        signed_off_by: None,
                        signed_off_at: None,
                        observed_at: observed,
                        created_at: now,
                        updated_at: now,
                    };
                    diesel::insert_into(diary_entries::table)
                        .values(&row)
                        .execute(conn)?;
                    row
                }
            }
        }
    };
    changed(conn, &row)?;
    Ok(Ok(Applied {
        record: row,
        conflict: None,
    }))
}

/// Did the day already earn under the key used before awards were per officer-day
/// (`diary` × entry id)? Such a ledger entry cannot be rewritten, so the day's award is
/// not made a second time under the new key.
fn day_awarded_per_entry(
    conn: &mut DbConn,
    author_id: &str,
    entry_date: &str,
) -> Result<bool, StoreError> {
    use crate::db::schema::points_entries;
    let entry_ids: Vec<String> = diary_entries::table
        .filter(diary_entries::author_id.eq(author_id))
        .filter(diary_entries::entry_date.eq(entry_date))
        .select(diary_entries::entry_id)
        .distinct()
        .load(conn)?;
    let n: i64 = points_entries::table
        .filter(points_entries::source_kind.eq("diary"))
        .filter(points_entries::rule_code.eq("diary_on_time"))
        .filter(points_entries::source_id.eq_any(&entry_ids))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// May `ctx.actor` read (and, for supervisors, sign off) `author_id`'s diary? The author
/// always; admins always; supervisors when the author covers a community in their scope.
fn may_read(conn: &mut DbConn, ctx: &Ctx, author_id: &str) -> Result<bool, StoreError> {
    Ok(match (ctx.actor.role, &ctx.scope) {
        _ if ctx.actor.user_id == author_id => true,
        (Role::Admin, _) => true,
        (Role::Supervisor, Scope::Communities(ids)) => {
            let n: i64 = assignments::table
                .filter(assignments::user_id.eq(author_id))
                .filter(assignments::ended_at.is_null())
                .filter(assignments::target_id.eq_any(ids))
                .count()
                .get_result(conn)?;
            n > 0
        }
        _ => false,
    })
}

/// An entry's history, for its author and their supervisors; `None` otherwise.
pub fn history(
    conn: &mut DbConn,
    ctx: &Ctx,
    entry_id: &str,
) -> Result<Option<DiaryHistory>, StoreError> {
    let Some(cur) = current(conn, entry_id)? else {
        return Ok(None);
    };
    if !may_read(conn, ctx, &cur.author_id)? {
        return Ok(None);
    }
    let versions = diary_entries::table
        .filter(diary_entries::entry_id.eq(entry_id))
        .order(diary_entries::version)
        .select(DiaryRow::as_select())
        .load(conn)?
        .iter()
        .map(DiaryEntryView::from_row)
        .collect();
    let comments = diary_comments::table
        .filter(diary_comments::entry_id.eq(entry_id))
        .order(diary_comments::id)
        .select((
            diary_comments::id,
            diary_comments::author_id,
            diary_comments::text,
            diary_comments::created_at,
        ))
        .load::<(String, String, String, i64)>(conn)?
        .into_iter()
        .map(|(id, author_id, text, at)| DiaryComment {
            id,
            author_id,
            text,
            created_at: rfc3339(at),
        })
        .collect();
    Ok(Some(DiaryHistory { versions, comments }))
}

/// A supervisor signs off the current version; nobody signs off their own.
pub fn sign_off(conn: &mut DbConn, ctx: &Ctx, entry_id: &str) -> CommandResult<DiaryRow> {
    let Some(mut cur) = current(conn, entry_id)? else {
        return Ok(Err(DomainError::not_found(format!(
            "diary entry {entry_id}"
        ))));
    };
    if let Err(e) = diary::may_sign_off(ctx.actor.role, &ctx.actor.user_id, &cur.author_id) {
        return Ok(Err(e));
    }
    if !may_read(conn, ctx, &cur.author_id)? {
        return Ok(Err(DomainError::not_found(format!(
            "diary entry {entry_id}"
        ))));
    }
    if cur.signed_off_by.is_some() {
        return Ok(Err(DomainError::conflict(
            "this version is already signed off",
        )));
    }
    let now = now_ms();
    cur.signed_off_by = Some(ctx.actor.user_id.clone());
    cur.signed_off_at = Some(now);
    diesel::update(diary_entries::table.find(&cur.id))
        .set((
            diary_entries::signed_off_by.eq(&cur.signed_off_by),
            diary_entries::signed_off_at.eq(now),
        ))
        .execute(conn)?;
    changed(conn, &cur)?;
    Ok(Ok(Applied {
        record: cur,
        conflict: None,
    }))
}

/// A supervisor's comment on an entry.
pub fn comment(
    conn: &mut DbConn,
    ctx: &Ctx,
    entry_id: &str,
    text: &str,
) -> CommandResult<DiaryComment> {
    let Some(cur) = current(conn, entry_id)? else {
        return Ok(Err(DomainError::not_found(format!(
            "diary entry {entry_id}"
        ))));
    };
    if !matches!(ctx.actor.role, Role::Supervisor | Role::Admin) {
        return Ok(Err(DomainError::forbidden(
            "only supervisors comment on diaries",
        )));
    }
    if !may_read(conn, ctx, &cur.author_id)? {
        return Ok(Err(DomainError::not_found(format!(
            "diary entry {entry_id}"
        ))));
    }
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 2000 {
        return Ok(Err(DomainError::invalid(
            "text",
            "must be 1-2000 characters",
        )));
    }
    let now = now_ms();
    let id = new_id();
    diesel::insert_into(diary_comments::table)
        .values((
            diary_comments::id.eq(&id),
            diary_comments::entry_id.eq(entry_id),
            diary_comments::author_id.eq(&ctx.actor.user_id),
            diary_comments::text.eq(text),
            diary_comments::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(Ok(Applied {
        record: DiaryComment {
            id,
            author_id: ctx.actor.user_id.clone(),
            text: text.to_owned(),
            created_at: rfc3339(now),
        },
        conflict: None,
    }))
}
