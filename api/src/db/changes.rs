//! The change log: every write path appends the new state of each record it changed, in
//! the same transaction, so pulls deliver supervisors' web edits, residents' reports and
//! background jobs alike (SYNC.md, item 11).

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::db::ids::{now_ms, rfc3339};
use crate::db::schema::{cases, change_log, visits};
use crate::db::store::{ActivityRow, CaseRow, ConflictRow, PhotoRow};
use crate::db::workflow::{EscalationRow, TaskRow};
use crate::db::{DbConn, StoreError, StoreResult};

/// One change to append.
pub struct NewChange<'a> {
    pub entity: &'a str,
    pub entity_id: &'a str,
    /// The community whose members may see it.
    pub community_id: Option<&'a str>,
    /// A person who may see it whatever their scope (the reporter, the conflict's owner).
    pub user_id: Option<&'a str>,
    pub op: &'a str,
    pub payload: Value,
}

/// Appends a record's new state. `seq` and (on PostgreSQL) the writing transaction's id
/// are filled in by the database.
pub fn record(conn: &mut DbConn, c: NewChange<'_>) -> StoreResult<()> {
    // The new state supersedes the record's earlier ones for the same readers: a device
    // back after days offline pulls each record once, not every state it went through.
    // Rows with other readers stay (a scope that saw only those must still get them).
    // The writer holds the record's own row, so no one else is replacing these rows.
    let mut older = diesel::delete(change_log::table)
        .filter(change_log::entity.eq(c.entity))
        .filter(change_log::entity_id.eq(c.entity_id))
        .into_boxed();
    older = match c.community_id {
        Some(id) => older.filter(change_log::community_id.eq(id)),
        None => older.filter(change_log::community_id.is_null()),
    };
    older = match c.user_id {
        Some(id) => older.filter(change_log::user_id.eq(id)),
        None => older.filter(change_log::user_id.is_null()),
    };
    older.execute(conn)?;
    append(conn, c)
}

/// Records whose community copies only auditors (supervisors, admins) pull: another
/// officer or community staff member sees an officer's diary and claims only if they are
/// theirs. See `sync::pull`.
pub const AUDITED_ENTITIES: [&str; 2] = ["diary_entry", "points_claim"];

/// Records a person's own record (a diary entry, a points claim): it reaches the person
/// on every device, and the supervisors who audit them through each community they work
/// in now.
pub fn person_record_changed(
    conn: &mut DbConn,
    entity: &str,
    entity_id: &str,
    person: &str,
    payload: Value,
) -> StoreResult<()> {
    let communities: Vec<String> = crate::db::store::current_assignments_of_user(conn, person)?
        .into_iter()
        .filter(|a| a.kind != patrol_domain::role::AssignmentKind::LeaderStreet.as_str())
        .map(|a| a.target_id)
        .collect();
    record(
        conn,
        NewChange {
            entity,
            entity_id,
            community_id: None,
            user_id: Some(person),
            op: "upsert",
            payload: payload.clone(),
        },
    )?;
    for c in &communities {
        record(
            conn,
            NewChange {
                entity,
                entity_id,
                community_id: Some(c),
                user_id: None,
                op: "upsert",
                payload: payload.clone(),
            },
        )?;
    }
    Ok(())
}

/// Appends the only state of a record written once and never changed (an activity entry,
/// a conflict): there is nothing older to supersede, so no delete is spent looking.
fn append(conn: &mut DbConn, c: NewChange<'_>) -> StoreResult<()> {
    diesel::insert_into(change_log::table)
        .values((
            change_log::community_id.eq(c.community_id),
            change_log::user_id.eq(c.user_id),
            change_log::entity.eq(c.entity),
            change_log::entity_id.eq(c.entity_id),
            change_log::op.eq(c.op),
            change_log::payload.eq(c.payload.to_string()),
            change_log::changed_at.eq(now_ms()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A case as devices replicate it. Reporter identity stays on the server.
pub fn case_payload(c: &CaseRow) -> Value {
    json!({
        "id": c.id,
        "community_id": c.community_id,
        "grid_cell_id": c.grid_cell_id,
        "category_id": c.category_id,
        "source": c.source,
        "status": c.status,
        "close_outcome": c.close_outcome,
        "description": c.description,
        "description_rev": c.description_rev,
        "notes": c.notes,
        "notes_rev": c.notes_rev,
        "lat": c.lat,
        "lon": c.lon,
        "handler_id": c.handler_id,
        "first_contact_id": c.first_contact_id,
        "priority": c.priority,
        "accept_due_at": c.accept_due_at.map(rfc3339),
        "handle_due_at": c.handle_due_at.map(rfc3339),
        "close_due_at": c.close_due_at.map(rfc3339),
        "accepted_at": c.accepted_at.map(rfc3339),
        "dispatched_at": c.dispatched_at.map(rfc3339),
        "resolved_at": c.resolved_at.map(rfc3339),
        "closed_at": c.closed_at.map(rfc3339),
        "rating": c.rating,
        "duplicate_of": c.duplicate_of,
        "follow_up_of": c.follow_up_of,
        "rework_count": c.rework_count,
        "self_handled": c.self_handled,
        "class_721": c.class_721,
        "observed_at": c.observed_at.map(rfc3339),
        "observed_at_suspect": c.observed_at_suspect,
        "created_at": rfc3339(c.created_at),
        "updated_at": rfc3339(c.updated_at),
        "version": c.version,
    })
}

/// The person a case and its history reach whatever their scope: its reporter, or the
/// staff member who filed it (an officer's patrol find stays theirs after a transfer).
pub fn person_of(c: &CaseRow) -> Option<&str> {
    c.reporter_id.as_deref().or(c.created_by.as_deref())
}

/// Records a case's new state.
pub fn case_changed(conn: &mut DbConn, c: &CaseRow) -> StoreResult<()> {
    record(
        conn,
        NewChange {
            entity: "case",
            entity_id: &c.id,
            community_id: Some(&c.community_id),
            user_id: person_of(c),
            op: "upsert",
            payload: case_payload(c),
        },
    )
}

pub fn activity_payload(a: &ActivityRow) -> Value {
    json!({
        "id": a.id,
        "case_id": a.case_id,
        "actor_id": a.actor_id,
        "actor_role": a.actor_role,
        "kind": a.kind,
        "from_status": a.from_status,
        "to_status": a.to_status,
        "note": a.note,
        "evidence": serde_json::from_str::<Value>(&a.evidence).unwrap_or(Value::Null),
        "class_721": a.class_721,
        "observed_at": a.observed_at.map(rfc3339),
        "recorded_at": rfc3339(a.recorded_at),
    })
}

/// Records a new activity entry of a case in `community_id`.
pub fn activity_added(
    conn: &mut DbConn,
    a: &ActivityRow,
    community_id: &str,
    reporter: Option<&str>,
) -> StoreResult<()> {
    append(
        conn,
        NewChange {
            entity: "case_activity",
            entity_id: &a.id,
            community_id: Some(community_id),
            user_id: reporter,
            op: "upsert",
            payload: activity_payload(a),
        },
    )
}

/// A photo reference; `available` says whether its bytes have arrived.
pub fn photo_payload(p: &PhotoRow, available: bool) -> Value {
    json!({
        "id": p.id,
        "sha256": p.sha256,
        "owner_kind": p.owner_kind,
        "owner_id": p.owner_id,
        "community_id": p.community_id,
        "status": if available { "available" } else { "awaiting_upload" },
        "created_at": rfc3339(p.created_at),
    })
}

/// Records a photo reference's state. Every change of one photo reaches the same person
/// besides its community (see `Change::personal`): a case photo its case's reporter (see
/// [`person_of`]), a
/// visit photo the visit's officer, so a device that keeps the photo after losing the
/// community also gets the photo's later changes (its bytes arriving).
pub fn photo_changed(conn: &mut DbConn, p: &PhotoRow, available: bool) -> StoreResult<()> {
    let person: Option<String> = match p.owner_kind.as_str() {
        "case" => cases::table
            .find(&p.owner_id)
            .select((cases::reporter_id, cases::created_by))
            .first::<(Option<String>, Option<String>)>(conn)
            .optional()?
            .and_then(|(reporter, creator)| reporter.or(creator)),
        "visit" => visits::table
            .find(&p.owner_id)
            .select(visits::officer_id)
            .first(conn)
            .optional()?,
        _ => None,
    };
    record(
        conn,
        NewChange {
            entity: "photo",
            entity_id: &p.id,
            community_id: p.community_id.as_deref(),
            user_id: person.as_deref(),
            op: "upsert",
            payload: photo_payload(p, available),
        },
    )
}

pub fn conflict_payload(c: &ConflictRow) -> Value {
    json!({
        "id": c.id,
        "kind": c.kind,
        "entity": c.entity,
        "entity_id": c.entity_id,
        "community_id": c.community_id,
        "client_id": c.client_id,
        "mutation_id": c.mutation_id,
        "detail": serde_json::from_str::<Value>(&c.detail).unwrap_or(Value::Null),
        "created_at": rfc3339(c.created_at),
    })
}

pub fn conflict_recorded(conn: &mut DbConn, c: &ConflictRow) -> StoreResult<()> {
    append(
        conn,
        NewChange {
            entity: "conflict",
            entity_id: &c.id,
            community_id: c.community_id.as_deref(),
            user_id: c.user_id.as_deref(),
            op: "upsert",
            payload: conflict_payload(c),
        },
    )
}

pub fn escalation_changed(conn: &mut DbConn, e: &EscalationRow) -> Result<(), StoreError> {
    record(
        conn,
        NewChange {
            entity: "escalation",
            entity_id: &e.id,
            community_id: Some(&e.community_id),
            user_id: None,
            op: "upsert",
            payload: escalation_payload(e),
        },
    )
}

pub fn task_changed(conn: &mut DbConn, t: &TaskRow, community_id: &str) -> Result<(), StoreError> {
    record(
        conn,
        NewChange {
            entity: "department_task",
            entity_id: &t.id,
            community_id: Some(community_id),
            user_id: Some(&t.department_id),
            op: "upsert",
            payload: task_payload(t),
        },
    )
}

/// An escalation as pulls deliver it.
pub fn escalation_payload(e: &EscalationRow) -> Value {
    use crate::db::ids::rfc3339;
    json!({
        "id": e.id,
        "case_id": e.case_id,
        "community_id": e.community_id,
        "status": e.status,
        "reason": e.reason,
        "raised_by": e.raised_by,
        "raised_at": rfc3339(e.raised_at),
        "decided_by": e.decided_by,
        "decided_at": e.decided_at.map(rfc3339),
        "decision_note": e.decision_note,
    })
}

/// A department task as pulls deliver it.
pub fn task_payload(t: &TaskRow) -> Value {
    use crate::db::ids::rfc3339;
    json!({
        "id": t.id,
        "escalation_id": t.escalation_id,
        "case_id": t.case_id,
        "department_id": t.department_id,
        "status": t.status,
        "instructions": t.instructions,
        "assigned_at": rfc3339(t.assigned_at),
        "due_at": rfc3339(t.due_at),
        "overdue": t.status == "open" && now_ms() > t.due_at
            || t.done_at.is_some_and(|d| d > t.due_at),
        "done_at": t.done_at.map(rfc3339),
        "response": t.response,
        "evidence": serde_json::from_str::<Value>(&t.evidence).unwrap_or(Value::Null),
    })
}
