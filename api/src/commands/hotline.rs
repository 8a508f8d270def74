//! Hotline intake (12345 市民服务热线): a ticket the city hotline transfers becomes one
//! resident case with the hotline's ticket number, deadline and category; the hotline
//! transferring the same ticket again finds that case (and counts the transfer); the
//! answer that goes back to the hotline is recorded on the ticket.
//!
//! The case id is derived from the ticket number, so two transfers racing each other
//! meet on the same primary key instead of making two cases.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use patrol_domain::DomainError;
use patrol_domain::case::CaseSource;
use patrol_domain::role::Role;
use patrol_sync::protocol::CaseReportArgs;
use serde::{Deserialize, Serialize};

use crate::commands::cases;
use crate::commands::context::{Applied, CommandResult, Ctx};
use crate::db::ids::{now_ms, rfc3339};
use crate::db::schema::hotline_tickets;
use crate::db::store::{self, CaseRow};
use crate::db::{DbConn, StoreError};

/// Longest hotline ticket number and category accepted.
const MAX_TICKET_CHARS: usize = 40;
const MAX_CATEGORY_CHARS: usize = 100;
const MAX_ANSWER_CHARS: usize = 4000;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = hotline_tickets)]
#[diesel(treat_none_as_null = true)]
pub struct TicketRow {
    pub ticket_no: String,
    pub case_id: String,
    pub hotline_category: String,
    pub due_at: i64,
    pub received_at: i64,
    pub transfers: i32,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A ticket as the hotline transfers it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketArgs {
    pub ticket_no: String,
    /// Our category the case is filed under.
    pub category_code: String,
    /// The hotline's own category, kept as the hotline named it.
    pub hotline_category: String,
    pub description: String,
    pub lat: f64,
    pub lon: f64,
    pub crs: Option<String>,
    /// When the hotline wants its answer.
    pub due_at: DateTime<Utc>,
    /// When the hotline transferred it (each transfer has its own time).
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TicketView {
    pub ticket_no: String,
    pub case_id: String,
    pub case_status: String,
    pub hotline_category: String,
    pub due_at: String,
    pub received_at: String,
    /// How many times the hotline transferred this ticket.
    pub transfers: i32,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl TicketView {
    pub fn of(t: &TicketRow, case_status: &str) -> Self {
        Self {
            ticket_no: t.ticket_no.clone(),
            case_id: t.case_id.clone(),
            case_status: case_status.to_owned(),
            hotline_category: t.hotline_category.clone(),
            due_at: rfc3339(t.due_at),
            received_at: rfc3339(t.received_at),
            transfers: t.transfers,
            answer: t.answer.clone(),
            answered_by: t.answered_by.clone(),
            answered_at: t.answered_at.map(rfc3339),
            created_at: rfc3339(t.created_at),
            updated_at: rfc3339(t.updated_at),
        }
    }
}

/// Takes in tickets: an admin or the hotline's integration account.
fn may_take_in(ctx: &Ctx) -> Result<(), DomainError> {
    if ctx.actor.role == Role::Admin || ctx.hotline_intake {
        Ok(())
    } else {
        Err(DomainError::forbidden(
            "hotline tickets come from the hotline's integration account or an admin",
        ))
    }
}

fn ticket_no(raw: &str) -> Result<String, DomainError> {
    let t = raw.trim();
    if t.is_empty()
        || t.chars().count() > MAX_TICKET_CHARS
        || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(DomainError::invalid(
            "ticket_no",
            format!("must be 1-{MAX_TICKET_CHARS} letters, digits or dashes"),
        ));
    }
    Ok(t.to_owned())
}

/// The case a ticket becomes: the same id for the same ticket number, everywhere.
pub fn case_id_of(ticket_no: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("patrol:hotline:{ticket_no}").as_bytes(),
    )
    .to_string()
}

pub fn by_ticket(conn: &mut DbConn, ticket_no: &str) -> Result<Option<TicketRow>, StoreError> {
    Ok(hotline_tickets::table
        .find(ticket_no)
        .select(TicketRow::as_select())
        .first(conn)
        .optional()?)
}

/// What a transfer did: made the case, or found it.
#[derive(Debug)]
pub struct TakenIn {
    pub ticket: TicketRow,
    pub case: CaseRow,
    pub created: bool,
}

/// Takes in one transfer of a ticket.
pub fn take_in(conn: &mut DbConn, ctx: &Ctx, args: &TicketArgs) -> CommandResult<TakenIn> {
    let checked = may_take_in(ctx).and_then(|()| {
        let no = ticket_no(&args.ticket_no)?;
        let category = patrol_domain::text::bounded(
            "hotline_category",
            &args.hotline_category,
            MAX_CATEGORY_CHARS,
            true,
        )?;
        if args.due_at < args.received_at {
            return Err(DomainError::invalid(
                "due_at",
                "the hotline's deadline cannot be before the transfer",
            ));
        }
        Ok((no, category))
    });
    let (no, hotline_category) = match checked {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    let now = now_ms();
    let received = args.received_at.timestamp_millis();
    if let Some(mut t) = by_ticket(conn, &no)? {
        // The same transfer retried changes nothing; a new transfer of the ticket is
        // counted on it, never a second case.
        if t.received_at != received {
            t.transfers += 1;
            t.received_at = t.received_at.max(received);
            t.due_at = args.due_at.timestamp_millis();
            t.updated_at = now;
            diesel::update(hotline_tickets::table.find(&t.ticket_no))
                .set(&t)
                .execute(conn)?;
        }
        let case = store::case_by_id(conn, &t.case_id)?
            .ok_or_else(|| StoreError::Corrupt(format!("ticket {no} has no case")))?;
        return Ok(Ok(Applied {
            record: TakenIn {
                ticket: t,
                case,
                created: false,
            },
            conflict: None,
        }));
    }
    let report = CaseReportArgs {
        case_id: case_id_of(&no),
        category_code: args.category_code.clone(),
        description: args.description.clone(),
        lat: args.lat,
        lon: args.lon,
        crs: args.crs.clone(),
        photos: Vec::new(),
        source: Some(CaseSource::Hotline.as_str().into()),
        anonymous: false,
        resolved_on_spot: Vec::new(),
    };
    let case = match cases::report_hotline_ticket(conn, ctx, &report)? {
        Ok(a) => a.record,
        Err(e) => return Ok(Err(e)),
    };
    let ticket = TicketRow {
        ticket_no: no,
        case_id: case.id.clone(),
        hotline_category,
        due_at: args.due_at.timestamp_millis(),
        received_at: received,
        transfers: 1,
        answer: None,
        answered_by: None,
        answered_at: None,
        created_by: ctx.actor.user_id.clone(),
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(hotline_tickets::table)
        .values(&ticket)
        .execute(conn)?;
    Ok(Ok(Applied {
        record: TakenIn {
            ticket,
            case,
            created: true,
        },
        conflict: None,
    }))
}

/// Records the answer that goes back to the hotline: staff who may see the case (a
/// later answer replaces an earlier one: the hotline is told the latest).
pub fn answer(conn: &mut DbConn, ctx: &Ctx, ticket_no: &str, text: &str) -> CommandResult<TakenIn> {
    let Some(mut t) = by_ticket(conn, ticket_no)? else {
        return Ok(Err(DomainError::not_found(format!(
            "hotline ticket {ticket_no}"
        ))));
    };
    let readable = if ctx.hotline_intake {
        None
    } else {
        cases::visible(conn, ctx, &t.case_id)?
    };
    let Some(case) = readable.filter(|_| ctx.actor.role.is_staff()) else {
        return Ok(Err(DomainError::not_found(format!(
            "hotline ticket {ticket_no}"
        ))));
    };
    let text = match patrol_domain::text::bounded("answer", text, MAX_ANSWER_CHARS, true) {
        Ok(t) => t,
        Err(e) => return Ok(Err(e)),
    };
    if t.answer.as_deref() != Some(text.as_str()) {
        let now = now_ms();
        t.answer = Some(text.clone());
        t.answered_by = Some(ctx.actor.user_id.clone());
        t.answered_at = Some(now);
        t.updated_at = now;
        diesel::update(hotline_tickets::table.find(&t.ticket_no))
            .set(&t)
            .execute(conn)?;
        cases::add_note(
            conn,
            ctx,
            &case,
            "hotline_answered",
            &text,
            serde_json::json!({ "ticket_no": t.ticket_no }),
        )?;
    }
    Ok(Ok(Applied {
        record: TakenIn {
            ticket: t,
            case,
            created: false,
        },
        conflict: None,
    }))
}

/// A ticket for its reader: the integration account and admins see every ticket, staff
/// those whose case they may see.
pub fn read(
    conn: &mut DbConn,
    ctx: &Ctx,
    ticket_no: &str,
) -> Result<Option<(TicketRow, String)>, StoreError> {
    let Some(t) = by_ticket(conn, ticket_no)? else {
        return Ok(None);
    };
    let status = if ctx.hotline_intake || ctx.actor.role == Role::Admin {
        store::case_by_id(conn, &t.case_id)?.map(|c| c.status)
    } else if ctx.actor.role.is_staff() {
        cases::visible(conn, ctx, &t.case_id)?.map(|c| c.status)
    } else {
        None
    };
    Ok(status.map(|s| (t, s)))
}
