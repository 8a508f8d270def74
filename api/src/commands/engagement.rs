//! Working with the community: `meeting.record`, `event.record`, `suggestion.record` and
//! `suggestion.answer`, each one command that the online endpoints and sync push share,
//! and the scoped lists the bureau and supervisors read. Rules are in
//! [`patrol_domain::engagement`].
//!
//! A record keeps the id its device made: the same id again from its author edits it (a
//! replay with the same content changes nothing); anyone else reusing the id is refused.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use patrol_domain::DomainError;
use patrol_domain::case::CaseSource;
use patrol_domain::engagement::{self, Answering, MeetingDraft, Settlement};
use patrol_domain::org::{mask_phone, parse_phone};
use patrol_domain::role::Scope;
use patrol_sync::protocol::{
    EventRecordArgs, MeetingRecordArgs, SuggestionAnswerArgs, SuggestionRecordArgs,
};
use serde::Serialize;
use serde_json::Value;

use crate::commands::context::{Applied, CommandResult, Ctx, check_photo_hashes};
use crate::db::changes::{self, NewChange};
use crate::db::ids::{new_id, now_ms, rfc3339};
use crate::db::schema::{communities, meetings, public_events, suggestions};
use crate::db::store::{self, CommunityRow, PhotoRow};
use crate::db::{DbConn, StoreError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = meetings)]
pub struct MeetingRow {
    pub id: String,
    pub community_id: String,
    pub author_id: String,
    pub kind: String,
    pub held_on: String,
    pub attendee_count: i32,
    pub participants: String,
    pub topics: String,
    pub settled: String,
    pub settled_count: i32,
    pub observed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = public_events)]
pub struct EventRow {
    pub id: String,
    pub community_id: String,
    pub author_id: String,
    pub kind: String,
    pub held_on: String,
    pub place: String,
    pub attendance: i32,
    pub description: String,
    pub photo_hashes: String,
    pub observed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = suggestions)]
#[diesel(treat_none_as_null = true)]
pub struct SuggestionRow {
    pub id: String,
    pub community_id: String,
    pub author_id: String,
    pub from_kind: String,
    pub from_name: String,
    pub from_phone: Option<String>,
    pub body: String,
    pub received_on: String,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<i64>,
    pub observed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

fn list(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or(Value::Array(Vec::new()))
}

/// A meeting as clients see it.
#[derive(Debug, Clone, Serialize)]
pub struct MeetingView {
    pub meeting_id: String,
    pub community_code: String,
    pub author_id: String,
    pub kind: String,
    pub held_on: String,
    pub attendee_count: i32,
    pub participants: Value,
    pub topics: Value,
    pub settled: Value,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl MeetingView {
    pub fn of(r: &MeetingRow, community_code: &str) -> Self {
        Self {
            meeting_id: r.id.clone(),
            community_code: community_code.to_owned(),
            author_id: r.author_id.clone(),
            kind: r.kind.clone(),
            held_on: r.held_on.clone(),
            attendee_count: r.attendee_count,
            participants: list(&r.participants),
            topics: list(&r.topics),
            settled: list(&r.settled),
            version: r.version,
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub event_id: String,
    pub community_code: String,
    pub author_id: String,
    pub kind: String,
    pub held_on: String,
    pub place: String,
    pub attendance: i32,
    pub description: String,
    pub photos: Value,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl EventView {
    pub fn of(r: &EventRow, community_code: &str) -> Self {
        Self {
            event_id: r.id.clone(),
            community_code: community_code.to_owned(),
            author_id: r.author_id.clone(),
            kind: r.kind.clone(),
            held_on: r.held_on.clone(),
            place: r.place.clone(),
            attendance: r.attendance,
            description: r.description.clone(),
            photos: list(&r.photo_hashes),
            version: r.version,
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SuggestionView {
    pub suggestion_id: String,
    pub community_code: String,
    pub author_id: String,
    pub from: String,
    pub from_name: String,
    /// Masked unless the reader may see phone numbers.
    pub from_phone: Option<String>,
    pub body: String,
    pub received_on: String,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl SuggestionView {
    /// The suggestion for a reader; `full_phone` when their role sees phone numbers.
    pub fn of(r: &SuggestionRow, community_code: &str, full_phone: bool) -> Self {
        Self {
            suggestion_id: r.id.clone(),
            community_code: community_code.to_owned(),
            author_id: r.author_id.clone(),
            from: r.from_kind.clone(),
            from_name: r.from_name.clone(),
            from_phone: r.from_phone.as_deref().map(|p| {
                if full_phone {
                    p.to_owned()
                } else {
                    mask_phone(p)
                }
            }),
            body: r.body.clone(),
            received_on: r.received_on.clone(),
            answer: r.answer.clone(),
            answered_by: r.answered_by.clone(),
            answered_at: r.answered_at.map(rfc3339),
            version: r.version,
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

/// The district's today, for checking the day a record is for.
fn today(ctx: &Ctx) -> NaiveDate {
    Utc::now().with_timezone(&ctx.tz).date_naive()
}

fn uuid(field: &str, id: &str) -> Result<(), DomainError> {
    uuid::Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| DomainError::invalid(field, "must be a UUID made on the device"))
}

/// The community a record is for, which must be in the caller's scope.
fn community_in_scope(
    conn: &mut DbConn,
    ctx: &Ctx,
    code: &str,
) -> Result<Result<CommunityRow, DomainError>, StoreError> {
    let Some(c) = store::community_by_code(conn, code)? else {
        return Ok(Err(DomainError::invalid(
            "community_code",
            format!("no community with code {code:?}"),
        )));
    };
    if !ctx.scope.includes_community(&c.id) {
        return Ok(Err(DomainError::forbidden(format!(
            "community {} is not in your scope",
            c.code
        ))));
    }
    Ok(Ok(c))
}

/// A record's state reaches its community's devices and its author's.
fn changed(
    conn: &mut DbConn,
    entity: &str,
    id: &str,
    community_id: &str,
    author_id: &str,
    payload: Value,
) -> Result<(), StoreError> {
    changes::record(
        conn,
        NewChange {
            entity,
            entity_id: id,
            community_id: Some(community_id),
            user_id: Some(author_id),
            op: "upsert",
            payload,
        },
    )
}

/// What a write of a record with a device-made id does, given the stored one.
enum Write<T> {
    Insert(T),
    Update(T),
    Unchanged(T),
}

/// Decides between insert, in-place edit by the author and a replay. `same` compares
/// the stored record with the new one without the fields the server stamps.
fn decide<T: Clone>(
    stored: Option<T>,
    new: T,
    author: impl Fn(&T) -> &str,
    me: &str,
    same: impl Fn(&T, &T) -> bool,
) -> Result<Write<T>, DomainError> {
    match stored {
        None => Ok(Write::Insert(new)),
        Some(s) if author(&s) != me => Err(DomainError::conflict(
            "this id is already taken by another person's record",
        )),
        Some(s) if same(&s, &new) => Ok(Write::Unchanged(s)),
        Some(_) => Ok(Write::Update(new)),
    }
}

fn json_text<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Each linked case exists in the meeting's community and was recorded as settled at a
/// meeting (source `community_meeting`): that is what 未诉先办 counts.
fn check_linked_cases(
    conn: &mut DbConn,
    community_id: &str,
    settled: &[Settlement],
) -> Result<Result<(), DomainError>, StoreError> {
    for (i, s) in settled.iter().enumerate() {
        let Some(id) = s.case_id.as_deref() else {
            continue;
        };
        let field = format!("settled[{i}].case_id");
        let Some(c) = store::case_by_id(conn, id)? else {
            return Ok(Err(DomainError::invalid(field, format!("no case {id}"))));
        };
        if c.community_id != community_id {
            return Ok(Err(DomainError::invalid(
                field,
                "the case is in another community",
            )));
        }
        if c.source != CaseSource::CommunityMeeting.as_str() {
            return Ok(Err(DomainError::invalid(
                field,
                "link the case reported from the meeting (source community_meeting)",
            )));
        }
    }
    Ok(Ok(()))
}

/// `meeting.record`.
pub fn record_meeting(
    conn: &mut DbConn,
    ctx: &Ctx,
    args: &MeetingRecordArgs,
) -> CommandResult<MeetingRow> {
    let checked = engagement::may_record(ctx.actor.role)
        .and_then(|()| uuid("meeting_id", &args.meeting_id))
        .and_then(|()| {
            engagement::check_meeting(
                &MeetingDraft {
                    kind: &args.kind,
                    held_on: args.held_on,
                    attendee_count: args.attendee_count,
                    participants: &args.participants,
                    topics: &args.topics,
                    settled: &args.settled,
                },
                today(ctx),
            )
        });
    let m = match checked {
        Ok(m) => m,
        Err(e) => return Ok(Err(e)),
    };
    let community = match community_in_scope(conn, ctx, &args.community_code)? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    if let Err(e) = check_linked_cases(conn, &community.id, &m.settled)? {
        return Ok(Err(e));
    }
    let now = now_ms();
    let new = MeetingRow {
        id: args.meeting_id.clone(),
        community_id: community.id.clone(),
        author_id: ctx.actor.user_id.clone(),
        kind: m.kind.as_str().into(),
        held_on: m.held_on.to_string(),
        attendee_count: i32::try_from(m.attendee_count).unwrap_or(i32::MAX),
        participants: json_text(&m.participants)?,
        topics: json_text(&m.topics)?,
        settled: json_text(&m.settled)?,
        settled_count: i32::try_from(m.settled.len()).unwrap_or(i32::MAX),
        observed_at: ctx.observed_at.map(|t| t.timestamp_millis()),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let stored = meetings::table
        .find(&args.meeting_id)
        .select(MeetingRow::as_select())
        .first(conn)
        .optional()?;
    let same = |a: &MeetingRow, b: &MeetingRow| {
        (
            &a.community_id,
            &a.kind,
            &a.held_on,
            a.attendee_count,
            &a.participants,
            &a.topics,
            &a.settled,
        ) == (
            &b.community_id,
            &b.kind,
            &b.held_on,
            b.attendee_count,
            &b.participants,
            &b.topics,
            &b.settled,
        )
    };
    let row = match decide(
        stored.clone(),
        new,
        |r| r.author_id.as_str(),
        &ctx.actor.user_id,
        same,
    ) {
        Err(e) => return Ok(Err(e)),
        Ok(Write::Unchanged(r)) => return Ok(Ok(applied(r))),
        Ok(Write::Insert(r)) => {
            diesel::insert_into(meetings::table)
                .values(&r)
                .execute(conn)?;
            r
        }
        Ok(Write::Update(mut r)) => {
            let old = stored.ok_or_else(|| StoreError::Corrupt("meeting vanished".into()))?;
            r.created_at = old.created_at;
            r.version = old.version + 1;
            diesel::update(meetings::table.find(&r.id))
                .set(&r)
                .execute(conn)?;
            r
        }
    };
    let payload = serde_json::to_value(MeetingView::of(&row, &community.code))
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    changed(
        conn,
        "meeting",
        &row.id,
        &row.community_id,
        &row.author_id,
        payload,
    )?;
    Ok(Ok(applied(row)))
}

fn applied<T>(record: T) -> Applied<T> {
    Applied {
        record,
        conflict: None,
    }
}

/// `event.record`.
pub fn record_event(
    conn: &mut DbConn,
    ctx: &Ctx,
    args: &EventRecordArgs,
) -> CommandResult<EventRow> {
    let checked = engagement::may_record(ctx.actor.role)
        .and_then(|()| uuid("event_id", &args.event_id))
        .and_then(|()| check_photo_hashes("photos", &args.photos))
        .and_then(|()| {
            let description = patrol_domain::text::bounded(
                "description",
                &args.description,
                engagement::MAX_TEXT_CHARS,
                false,
            )?;
            engagement::check_event(
                &args.kind,
                args.held_on,
                &args.place,
                args.attendance,
                today(ctx),
            )
            .map(|e| (e, description))
        });
    let (e, description) = match checked {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    let community = match community_in_scope(conn, ctx, &args.community_code)? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let now = now_ms();
    let new = EventRow {
        id: args.event_id.clone(),
        community_id: community.id.clone(),
        author_id: ctx.actor.user_id.clone(),
        kind: e.kind.as_str().into(),
        held_on: e.held_on.to_string(),
        place: e.place,
        attendance: i32::try_from(e.attendance).unwrap_or(i32::MAX),
        description,
        photo_hashes: json_text(&args.photos)?,
        observed_at: ctx.observed_at.map(|t| t.timestamp_millis()),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let stored = public_events::table
        .find(&args.event_id)
        .select(EventRow::as_select())
        .first(conn)
        .optional()?;
    let same = |a: &EventRow, b: &EventRow| {
        (
            &a.community_id,
            &a.kind,
            &a.held_on,
            &a.place,
            a.attendance,
            &a.description,
            &a.photo_hashes,
        ) == (
            &b.community_id,
            &b.kind,
            &b.held_on,
            &b.place,
            b.attendance,
            &b.description,
            &b.photo_hashes,
        )
    };
    let row = match decide(
        stored.clone(),
        new,
        |r| r.author_id.as_str(),
        &ctx.actor.user_id,
        same,
    ) {
        Err(e) => return Ok(Err(e)),
        Ok(Write::Unchanged(r)) => return Ok(Ok(applied(r))),
        Ok(Write::Insert(r)) => {
            diesel::insert_into(public_events::table)
                .values(&r)
                .execute(conn)?;
            r
        }
        Ok(Write::Update(mut r)) => {
            let old = stored.ok_or_else(|| StoreError::Corrupt("event vanished".into()))?;
            r.created_at = old.created_at;
            r.version = old.version + 1;
            diesel::update(public_events::table.find(&r.id))
                .set(&r)
                .execute(conn)?;
            r
        }
    };
    for h in &args.photos {
        let p = PhotoRow {
            id: new_id(),
            sha256: h.clone(),
            owner_kind: "public_event".into(),
            owner_id: row.id.clone(),
            community_id: Some(row.community_id.clone()),
            added_by: Some(ctx.actor.user_id.clone()),
            created_at: now,
        };
        if store::insert_photo_once(conn, &p)? {
            let available = store::touch_blob(conn, h, now)?;
            changes::photo_changed(conn, &p, available)?;
        }
    }
    let payload = serde_json::to_value(EventView::of(&row, &community.code))
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    changed(
        conn,
        "public_event",
        &row.id,
        &row.community_id,
        &row.author_id,
        payload,
    )?;
    Ok(Ok(applied(row)))
}

fn suggestion_changed(
    conn: &mut DbConn,
    row: &SuggestionRow,
    community_code: &str,
) -> Result<(), StoreError> {
    // Devices never carry the full phone number: the change log is shared by everyone
    // in the community.
    let payload = serde_json::to_value(SuggestionView::of(row, community_code, false))
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    changed(
        conn,
        "suggestion",
        &row.id,
        &row.community_id,
        &row.author_id,
        payload,
    )
}

/// `suggestion.record`: staff write down a suggestion they received.
pub fn record_suggestion(
    conn: &mut DbConn,
    ctx: &Ctx,
    args: &SuggestionRecordArgs,
) -> CommandResult<SuggestionRow> {
    let checked = engagement::may_record(ctx.actor.role)
        .and_then(|()| uuid("suggestion_id", &args.suggestion_id))
        .and_then(|()| {
            let phone = args
                .from_phone
                .as_deref()
                .filter(|p| !p.trim().is_empty())
                .map(|p| parse_phone("from_phone", p))
                .transpose()?;
            engagement::check_suggestion(
                &args.from,
                &args.from_name,
                &args.body,
                args.received_on,
                today(ctx),
            )
            .map(|s| (s, phone))
        });
    let (s, phone) = match checked {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    let community = match community_in_scope(conn, ctx, &args.community_code)? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let now = now_ms();
    let stored = suggestion_by_id(conn, &args.suggestion_id)?;
    let new = SuggestionRow {
        id: args.suggestion_id.clone(),
        community_id: community.id.clone(),
        author_id: ctx.actor.user_id.clone(),
        from_kind: s.from.as_str().into(),
        from_name: s.from_name,
        from_phone: phone,
        body: s.body,
        received_on: s.received_on.to_string(),
        // An edit keeps the answer it has.
        answer: stored.as_ref().and_then(|r| r.answer.clone()),
        answered_by: stored.as_ref().and_then(|r| r.answered_by.clone()),
        answered_at: stored.as_ref().and_then(|r| r.answered_at),
        observed_at: ctx.observed_at.map(|t| t.timestamp_millis()),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let same = |a: &SuggestionRow, b: &SuggestionRow| {
        (
            &a.community_id,
            &a.from_kind,
            &a.from_name,
            &a.from_phone,
            &a.body,
            &a.received_on,
        ) == (
            &b.community_id,
            &b.from_kind,
            &b.from_name,
            &b.from_phone,
            &b.body,
            &b.received_on,
        )
    };
    let row = match decide(
        stored.clone(),
        new,
        |r| r.author_id.as_str(),
        &ctx.actor.user_id,
        same,
    ) {
        Err(e) => return Ok(Err(e)),
        Ok(Write::Unchanged(r)) => return Ok(Ok(applied(r))),
        Ok(Write::Insert(r)) => {
            diesel::insert_into(suggestions::table)
                .values(&r)
                .execute(conn)?;
            r
        }
        Ok(Write::Update(mut r)) => {
            let old = stored.ok_or_else(|| StoreError::Corrupt("suggestion vanished".into()))?;
            r.created_at = old.created_at;
            r.version = old.version + 1;
            diesel::update(suggestions::table.find(&r.id))
                .set(&r)
                .execute(conn)?;
            r
        }
    };
    suggestion_changed(conn, &row, &community.code)?;
    Ok(Ok(applied(row)))
}

pub fn suggestion_by_id(conn: &mut DbConn, id: &str) -> Result<Option<SuggestionRow>, StoreError> {
    Ok(suggestions::table
        .find(id)
        .select(SuggestionRow::as_select())
        .first(conn)
        .optional()?)
}

/// `suggestion.answer`: staff of the suggestion's community answer it; the first answer
/// stands.
pub fn answer_suggestion(
    conn: &mut DbConn,
    ctx: &Ctx,
    args: &SuggestionAnswerArgs,
) -> CommandResult<SuggestionRow> {
    let Some(mut row) = suggestion_by_id(conn, &args.suggestion_id)? else {
        return Ok(Err(DomainError::not_found(format!(
            "suggestion {}",
            args.suggestion_id
        ))));
    };
    if !ctx.scope.includes_community(&row.community_id) {
        // Not in scope reads as absent: nothing about it is told.
        return Ok(Err(DomainError::not_found(format!(
            "suggestion {}",
            args.suggestion_id
        ))));
    }
    match engagement::answer(ctx.actor.role, row.answer.as_deref(), &args.answer) {
        Err(e) => Ok(Err(e)),
        Ok(Answering::Unchanged) => Ok(Ok(applied(row))),
        Ok(Answering::Answer(text)) => {
            let now = now_ms();
            row.answer = Some(text);
            row.answered_by = Some(ctx.actor.user_id.clone());
            row.answered_at = Some(now);
            row.updated_at = now;
            row.version += 1;
            diesel::update(suggestions::table.find(&row.id))
                .set(&row)
                .execute(conn)?;
            let code = community_code(conn, &row.community_id)?;
            suggestion_changed(conn, &row, &code)?;
            Ok(Ok(applied(row)))
        }
    }
}

pub fn community_code(conn: &mut DbConn, id: &str) -> Result<String, StoreError> {
    Ok(communities::table
        .find(id)
        .select(communities::code)
        .first(conn)?)
}

/// Which records a list shows.
#[derive(Debug, Clone, Default)]
pub struct EngagementFilter {
    pub community_id: Option<String>,
    /// Inclusive days, `YYYY-MM-DD`.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Suggestions only: answered or not.
    pub answered: Option<bool>,
    pub limit: i64,
    /// The id of the previous page's last record (newest first by day, then id).
    pub after: Option<(String, String)>,
}

impl EngagementFilter {
    /// Reads `after` (the `next` of the previous page: `{day}_{id}`) and `limit` as a
    /// client sends them (default 50 rows).
    pub fn page(after: Option<&str>, limit: Option<i64>) -> Result<Self, DomainError> {
        let limit = limit.unwrap_or(50);
        if !(1..=crate::commands::audit::MAX_PAGE).contains(&limit) {
            return Err(DomainError::invalid(
                "limit",
                format!("must be between 1 and {}", crate::commands::audit::MAX_PAGE),
            ));
        }
        let after = after
            .map(|a| {
                a.split_once('_')
                    .filter(|(day, id)| day.parse::<NaiveDate>().is_ok() && !id.is_empty())
                    .map(|(day, id)| (day.to_owned(), id.to_owned()))
                    .ok_or_else(|| {
                        DomainError::invalid("after", "pass the `next` of the previous page")
                    })
            })
            .transpose()?;
        Ok(Self {
            limit,
            after,
            ..Self::default()
        })
    }

    /// The `next` of a page whose last row is for `day` with `id`, when the page is full.
    pub fn next(&self, rows: usize, last: Option<(&str, &str)>) -> Option<String> {
        (i64::try_from(rows).unwrap_or(i64::MAX) >= self.limit)
            .then_some(last)
            .flatten()
            .map(|(day, id)| format!("{day}_{id}"))
    }
}

/// The communities a caller's lists cover: `None` for everything. Residents and
/// departments list nothing.
fn visible_communities(ctx: &Ctx) -> Result<Option<Vec<String>>, DomainError> {
    engagement::may_record(ctx.actor.role)?;
    Ok(match &ctx.scope {
        Scope::All => None,
        Scope::Communities(ids) => Some(ids.clone()),
        Scope::Own => Some(Vec::new()),
    })
}

/// A scoped page of one kind of record, newest day first; suggestions also filter on
/// whether they are answered.
macro_rules! engagement_list {
    ($name:ident, $table:ident, $row:ty, $day:ident $(, $answered:ident)?) => {
        pub fn $name(
            conn: &mut DbConn,
            ctx: &Ctx,
            f: &EngagementFilter,
        ) -> Result<Result<Vec<($row, String)>, DomainError>, StoreError> {
            let visible = match visible_communities(ctx) {
                Ok(v) => v,
                Err(e) => return Ok(Err(e)),
            };
            let mut q = $table::table
                .inner_join(communities::table)
                .select((<$row>::as_select(), communities::code))
                .order(($table::$day.desc(), $table::id.desc()))
                .limit(f.limit)
                .into_boxed();
            if let Some(ids) = visible {
                q = q.filter($table::community_id.eq_any(ids));
            }
            if let Some(c) = &f.community_id {
                q = q.filter($table::community_id.eq(c.clone()));
            }
            if let Some(d) = f.from {
                q = q.filter($table::$day.ge(d.to_string()));
            }
            if let Some(d) = f.to {
                q = q.filter($table::$day.le(d.to_string()));
            }
            $(
                match f.answered {
                    Some(true) => q = q.filter($table::$answered.is_not_null()),
                    Some(false) => q = q.filter($table::$answered.is_null()),
                    None => {}
                }
            )?
            if let Some((day, id)) = &f.after {
                q = q.filter(
                    $table::$day
                        .lt(day.clone())
                        .or($table::$day.eq(day.clone()).and($table::id.lt(id.clone()))),
                );
            }
            Ok(Ok(q.load(conn)?))
        }
    };
}

engagement_list!(meetings_page, meetings, MeetingRow, held_on);
engagement_list!(events_page, public_events, EventRow, held_on);
engagement_list!(
    suggestions_page,
    suggestions,
    SuggestionRow,
    received_on,
    answered_at
);
