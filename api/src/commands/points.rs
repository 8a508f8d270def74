//! The points ledger (积分): awards derived from source events, keyed by (source, rule) so
//! a replay never awards twice; claims that wait for a supervisor; balances; and
//! verification of the hash chain. The ledger is append-only in the database itself.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use patrol_domain::DomainError;
use patrol_domain::points::{self, Break, EntryFields, StoredEntry};
use patrol_sync::protocol::PointsClaimArgs;
use serde::Serialize;

use crate::commands::context::{Applied, CommandResult, Ctx};
use crate::db::ids::{new_id, now_ms, rfc3339};
use crate::db::schema::{points_chain, points_claims, points_entries, points_rules, users};
use crate::db::{DbConn, StoreError, write_tx};

/// One ledger entry.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = points_entries)]
pub struct PointsRow {
    pub seq: i64,
    pub id: String,
    pub officer_id: String,
    pub rule_code: String,
    pub points: i32,
    pub source_kind: String,
    pub source_id: String,
    pub reverses_seq: Option<i64>,
    pub actor_id: Option<String>,
    pub note: String,
    pub recorded_at: i64,
    pub prev_hash: String,
    pub hash: String,
}

/// An award to make from a source event.
pub struct Award<'a> {
    pub officer_id: &'a str,
    pub rule_code: &'a str,
    pub source_kind: &'a str,
    pub source_id: &'a str,
    pub actor_id: Option<&'a str>,
    pub note: &'a str,
    /// Points set by a decision (claims, adjustments) instead of the rule's.
    pub points: Option<i32>,
}

#[derive(QueryableByName)]
struct Head {
    #[diesel(sql_type = BigInt)]
    last_seq: i64,
    #[diesel(sql_type = Text)]
    last_hash: String,
}

/// The rule's points in force now, if the rule exists.
fn rule_points(conn: &mut DbConn, code: &str, at: i64) -> Result<Option<i32>, StoreError> {
    Ok(points_rules::table
        .filter(points_rules::code.eq(code))
        .filter(points_rules::effective_from.le(at))
        .order(points_rules::effective_from.desc())
        .select(points_rules::points)
        .first(conn)
        .optional()?)
}

/// Appends an award unless its (source, rule) already has one; returns the entry. `None`
/// when the rule is not configured. Runs in (or as) a write transaction that holds the
/// chain head's lock until commit, so positions are gapless and hashes chain in order.
pub fn award(conn: &mut DbConn, a: &Award<'_>) -> Result<Option<PointsRow>, StoreError> {
    write_tx(conn, |conn| {
        let sql = match conn {
            DbConn::Pg(_) => "SELECT last_seq, last_hash FROM points_chain WHERE id = 1 FOR UPDATE",
            DbConn::Sqlite(_) => "SELECT last_seq, last_hash FROM points_chain WHERE id = 1",
        };
        let head: Head = diesel::sql_query(sql).get_result(conn)?;
        // Points accrue only to roles that earn them, whatever asked for the award.
        let role: Option<String> = users::table
            .find(a.officer_id)
            .select(users::role)
            .first(conn)
            .optional()?;
        let earns = role
            .and_then(|r| r.parse::<patrol_domain::role::Role>().ok())
            .is_some_and(patrol_domain::role::Role::earns_points);
        if !earns {
            return Ok(None);
        }
        // Checked under the lock: a concurrent replay of the same event waits, then sees it.
        let existing = points_entries::table
            .filter(points_entries::source_kind.eq(a.source_kind))
            .filter(points_entries::source_id.eq(a.source_id))
            .filter(points_entries::rule_code.eq(a.rule_code))
            .select(PointsRow::as_select())
            .first(conn)
            .optional()?;
        if existing.is_some() {
            return Ok(existing);
        }
        let now = now_ms();
        let Some(points) = a
            .points
            .map(Ok)
            .or_else(|| rule_points(conn, a.rule_code, now).transpose())
            .transpose()?
        else {
            return Ok(None);
        };
        let mut row = PointsRow {
            seq: head.last_seq + 1,
            id: new_id(),
            officer_id: a.officer_id.to_owned(),
            rule_code: a.rule_code.to_owned(),
            points,
            source_kind: a.source_kind.to_owned(),
            source_id: a.source_id.to_owned(),
            reverses_seq: None,
            actor_id: a.actor_id.map(str::to_owned),
            note: a.note.to_owned(),
            recorded_at: now,
            prev_hash: head.last_hash.clone(),
            hash: String::new(),
        };
        row.hash = points::entry_hash(&head.last_hash, &fields(&row));
        diesel::insert_into(points_entries::table)
            .values(&row)
            .execute(conn)?;
        diesel::update(points_chain::table.find(1))
            .set((
                points_chain::last_seq.eq(row.seq),
                points_chain::last_hash.eq(&row.hash),
            ))
            .execute(conn)?;
        Ok(Some(row))
    })
}

fn fields(r: &PointsRow) -> EntryFields<'_> {
    EntryFields {
        seq: r.seq,
        id: &r.id,
        officer_id: &r.officer_id,
        rule_code: &r.rule_code,
        points: r.points,
        source_kind: &r.source_kind,
        source_id: &r.source_id,
        reverses_seq: r.reverses_seq,
        recorded_at: r.recorded_at,
    }
}

/// The result of verifying the ledger.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub valid: bool,
    pub entries: i64,
    pub head_seq: i64,
    pub head_hash: String,
    pub first_bad_seq: Option<i64>,
    pub reason: Option<String>,
}

/// An officer's balance: the sum of their ledger entries.
pub fn total_of(conn: &mut DbConn, officer_id: &str) -> Result<i64, StoreError> {
    let points: Vec<i32> = points_entries::table
        .filter(points_entries::officer_id.eq(officer_id))
        .select(points_entries::points)
        .load(conn)?;
    Ok(points.into_iter().map(i64::from).sum())
}

/// Verifies the whole chain, and against an exported head when one is given.
pub fn verify(
    conn: &mut DbConn,
    expected_head: Option<(i64, String)>,
) -> Result<Verification, StoreError> {
    let rows: Vec<PointsRow> = points_entries::table
        .order(points_entries::seq)
        .select(PointsRow::as_select())
        .load(conn)?;
    let stored: Vec<StoredEntry<'_>> = rows
        .iter()
        .map(|r| StoredEntry {
            fields: fields(r),
            prev_hash: &r.prev_hash,
            hash: &r.hash,
        })
        .collect();
    let result = points::verify_chain(
        &stored,
        expected_head.as_ref().map(|(s, h)| (*s, h.as_str())),
    );
    let (head_seq, head_hash) = rows
        .last()
        .map(|r| (r.seq, r.hash.clone()))
        .unwrap_or((0, points::GENESIS.to_owned()));
    let (first_bad_seq, reason) = match result {
        Ok(()) => (None, None),
        Err(Break { seq, reason }) => (Some(seq), Some(reason)),
    };
    Ok(Verification {
        valid: first_bad_seq.is_none(),
        entries: i64::try_from(rows.len()).unwrap_or(i64::MAX),
        head_seq,
        head_hash,
        first_bad_seq,
        reason,
    })
}

/// An officer's balance in a period.
#[derive(Debug, Clone, Serialize)]
pub struct Balance {
    pub officer_id: String,
    pub officer_name: String,
    pub points: i64,
    pub entries: i64,
    /// The second line beside points (工作实效与履职情况双线并进): officer × community ×
    /// week judgements of the month's weeks that have ended, and how many met the
    /// twice-weekly rule. A week belongs to the month holding its Thursday.
    pub weeks_judged: u32,
    pub weeks_compliant: u32,
    /// Each of the month's weeks that has started, oldest first; the current one last,
    /// marked running and left out of the totals above.
    pub weeks: Vec<WeekJudgement>,
}

/// One week of a month's judgement for one person.
#[derive(Debug, Clone, Serialize)]
pub struct WeekJudgement {
    /// ISO week, e.g. `2026-W49`.
    pub week: String,
    /// The week has not ended: what it says may still change.
    pub running: bool,
    /// Community judgements that week (assignments with a requirement).
    pub judged: u32,
    /// How many of them are compliant (so far, when running).
    pub compliant: u32,
}

/// Points summed by street or squad, highest first.
#[derive(Debug, Clone, Serialize)]
pub struct Ranking {
    pub rank: u32,
    /// Street or squad code.
    pub key: String,
    pub name: String,
    pub points: i64,
    pub officers: u32,
}

/// Ranks groups (street or squad) by their officers' points: `groups` maps each officer
/// to the groups they belong to, `names` each group to its name.
pub fn rank(
    balances: &[Balance],
    groups: &BTreeMap<String, Vec<String>>,
    names: &BTreeMap<String, String>,
) -> Vec<Ranking> {
    let mut sums: BTreeMap<String, (i64, u32)> = BTreeMap::new();
    for b in balances {
        for g in groups.get(&b.officer_id).into_iter().flatten() {
            let e = sums.entry(g.clone()).or_default();
            e.0 += b.points;
            e.1 += 1;
        }
    }
    let mut rows: Vec<Ranking> = sums
        .into_iter()
        .map(|(key, (points, officers))| Ranking {
            rank: 0,
            name: names.get(&key).cloned().unwrap_or_default(),
            key,
            points,
            officers,
        })
        .collect();
    rows.sort_by(|a, b| b.points.cmp(&a.points).then_with(|| a.key.cmp(&b.key)));
    let mut last: Option<i64> = None;
    let mut rank = 0;
    for (i, r) in rows.iter_mut().enumerate() {
        if last != Some(r.points) {
            rank = u32::try_from(i + 1).unwrap_or(u32::MAX);
            last = Some(r.points);
        }
        r.rank = rank;
    }
    rows
}

/// Balances per officer over `[from, until)`, limited to `officers` when given.
pub fn balances(
    conn: &mut DbConn,
    (from, until): (i64, i64),
    officers: Option<&[String]>,
) -> Result<Vec<Balance>, StoreError> {
    let mut q = points_entries::table
        .filter(points_entries::recorded_at.ge(from))
        .filter(points_entries::recorded_at.lt(until))
        .select((points_entries::officer_id, points_entries::points))
        .into_boxed();
    if let Some(ids) = officers {
        q = q.filter(points_entries::officer_id.eq_any(ids.to_vec()));
    }
    let mut sums: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (officer, points) in q.load::<(String, i32)>(conn)? {
        let e = sums.entry(officer).or_default();
        e.0 += i64::from(points);
        e.1 += 1;
    }
    let ids: Vec<String> = sums.keys().cloned().collect();
    let names: BTreeMap<String, String> = users::table
        .filter(users::id.eq_any(&ids))
        .select((users::id, users::display_name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    Ok(sums
        .into_iter()
        .map(|(officer_id, (points, entries))| Balance {
            officer_name: names.get(&officer_id).cloned().unwrap_or_default(),
            officer_id,
            points,
            entries,
            weeks_judged: 0,
            weeks_compliant: 0,
            weeks: Vec::new(),
        })
        .collect())
}

/// A claim or adjustment waiting for (or past) a supervisor's decision.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = points_claims)]
pub struct ClaimRow {
    pub id: String,
    pub officer_id: String,
    pub rule_code: String,
    pub points: i32,
    pub note: String,
    pub claimed_by: String,
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_reason: Option<String>,
    pub decided_at: Option<i64>,
    pub created_at: i64,
    pub source_kind: String,
    pub source_id: String,
}

/// A claim as clients see it.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimView {
    pub id: String,
    pub officer_id: String,
    pub rule_code: String,
    pub points: i32,
    pub note: String,
    pub claimed_by: String,
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_reason: Option<String>,
    pub decided_at: Option<String>,
    pub created_at: String,
    pub source_kind: String,
    pub source_id: String,
}

impl From<ClaimRow> for ClaimView {
    fn from(r: ClaimRow) -> Self {
        Self {
            id: r.id,
            officer_id: r.officer_id,
            rule_code: r.rule_code,
            points: r.points,
            note: r.note,
            claimed_by: r.claimed_by,
            status: r.status,
            decided_by: r.decided_by,
            decided_reason: r.decided_reason,
            decided_at: r.decided_at.map(rfc3339),
            created_at: rfc3339(r.created_at),
            source_kind: r.source_kind,
            source_id: r.source_id,
        }
    }
}

/// What points can be claimed for (besides `claim`, a claim that is its own source).
const SOURCE_KINDS: [&str; 5] = ["case", "visit", "whistle", "diary_entry", "other"];

/// A filed claim, and whether this call filed it (`false`: a retry, or another device's
/// claim for the same piece of work, found it already there).
#[derive(Debug)]
pub struct Claimed {
    pub row: ClaimRow,
    pub filed_now: bool,
}

/// `points.claim` and the online claim route: officers and party members claim for
/// themselves (`manual_claim`), supervisors file an adjustment for someone else
/// (`supervisor_adjustment`). Either waits for approval. The claim id is made on the
/// device, so a retry returns the claim it filed; `(officer, rule, source)` holds one
/// claim, so a second device claiming the same piece of work gets the first claim (with
/// a conflict holding both when their points or notes differ).
pub fn claim(conn: &mut DbConn, ctx: &Ctx, args: &PointsClaimArgs) -> CommandResult<Claimed> {
    use patrol_domain::role::Role;
    let (officer, rule) = match ctx.actor.role {
        Role::Officer | Role::PartyMember => match args.officer_id.as_deref() {
            None => (ctx.actor.user_id.clone(), "manual_claim"),
            Some(o) if o == ctx.actor.user_id => (ctx.actor.user_id.clone(), "manual_claim"),
            Some(_) => {
                return Ok(Err(DomainError::forbidden(
                    "officers claim points only for themselves",
                )));
            }
        },
        Role::Supervisor | Role::Admin => match args.officer_id.as_deref() {
            Some(o) => {
                // Judged before anything else: an adjustment nobody may file says so
                // whatever else is wrong with it.
                match subject_check(conn, ctx, o)? {
                    Ok(()) => (o.to_owned(), "supervisor_adjustment"),
                    Err(e) => return Ok(Err(e)),
                }
            }
            None => {
                return Ok(Err(DomainError::invalid(
                    "officer_id",
                    "name the officer the adjustment is for",
                )));
            }
        },
        _ => return Ok(Err(DomainError::forbidden("this role has no points"))),
    };
    if uuid::Uuid::parse_str(&args.claim_id).is_err() {
        return Ok(Err(DomainError::invalid(
            "claim_id",
            "must be a UUID made on the device",
        )));
    }
    let points = args.points;
    if !(-100..=100).contains(&points) || points == 0 {
        return Ok(Err(DomainError::invalid(
            "points",
            "must be between -100 and 100 and not 0",
        )));
    }
    let note = args.note.trim();
    if note.is_empty() || note.chars().count() > 1000 {
        return Ok(Err(DomainError::invalid(
            "note",
            "say what the points are for (1-1000 characters)",
        )));
    }
    let (source_kind, source_id) = match (args.source_kind.as_deref(), args.source_id.as_deref()) {
        (None, None) => ("claim", args.claim_id.trim()),
        (Some(k), Some(id)) if SOURCE_KINDS.contains(&k) => {
            let id = id.trim();
            if id.is_empty() || id.chars().count() > 100 {
                return Ok(Err(DomainError::invalid(
                    "source_id",
                    "must be 1-100 characters",
                )));
            }
            (k, id)
        }
        (Some(_), Some(_)) => {
            return Ok(Err(DomainError::invalid(
                "source_kind",
                format!("must be one of {}", SOURCE_KINDS.join(", ")),
            )));
        }
        (None, Some(_)) => {
            return Ok(Err(DomainError::invalid(
                "source_kind",
                "give source_kind with source_id",
            )));
        }
        (Some(_), None) => {
            return Ok(Err(DomainError::invalid(
                "source_id",
                "give source_id with source_kind",
            )));
        }
    };
    if crate::db::store::user_by_id(conn, &officer)?.is_none() {
        return Ok(Err(DomainError::invalid("officer_id", "no such account")));
    }
    // Claims for one officer are filed one at a time (SQLite's write lock already does),
    // so two devices claiming the same work cannot both find it free on PostgreSQL.
    crate::db::store::lock_row(conn, crate::db::store::LockTable::Users, &officer)?;
    if let Some(row) = points_claims::table
        .find(&args.claim_id)
        .select(ClaimRow::as_select())
        .first(conn)
        .optional()?
    {
        // A retry of the same claim; anyone else reusing the id is refused.
        return Ok(if row.claimed_by == ctx.actor.user_id {
            Ok(Applied {
                record: Claimed {
                    row,
                    filed_now: false,
                },
                conflict: None,
            })
        } else {
            Err(DomainError::conflict("this claim id is already taken"))
        });
    }
    if let Some(row) = points_claims::table
        .filter(points_claims::officer_id.eq(&officer))
        .filter(points_claims::rule_code.eq(rule))
        .filter(points_claims::source_kind.eq(source_kind))
        .filter(points_claims::source_id.eq(source_id))
        .select(ClaimRow::as_select())
        .first(conn)
        .optional()?
    {
        // The same piece of work claimed again (another device, or a new id for a retry):
        // one claim; what differs is kept as a conflict, never silently dropped.
        let conflict = if row.points != points || row.note != note {
            Some(crate::commands::context::record_conflict(
                conn,
                ctx,
                "duplicate_claim",
                "points_claim",
                &row.id,
                None,
                serde_json::json!({
                    "kept": { "claim_id": row.id, "points": row.points, "note": row.note },
                    "sent": { "claim_id": args.claim_id, "points": points, "note": note },
                }),
            )?)
        } else {
            None
        };
        return Ok(Ok(Applied {
            record: Claimed {
                row,
                filed_now: false,
            },
            conflict,
        }));
    }
    let row = ClaimRow {
        id: args.claim_id.clone(),
        officer_id: officer,
        rule_code: rule.into(),
        points,
        note: note.into(),
        claimed_by: ctx.actor.user_id.clone(),
        status: "pending".into(),
        decided_by: None,
        decided_reason: None,
        decided_at: None,
        created_at: now_ms(),
        source_kind: source_kind.into(),
        source_id: source_id.into(),
    };
    diesel::insert_into(points_claims::table)
        .values(&row)
        .execute(conn)?;
    claim_changed(conn, &row)?;
    Ok(Ok(Applied {
        record: Claimed {
            row,
            filed_now: true,
        },
        conflict: None,
    }))
}

/// Puts a claim's new state in the change log: the officer's devices and their
/// supervisors' pull it.
fn claim_changed(conn: &mut DbConn, row: &ClaimRow) -> Result<(), StoreError> {
    crate::db::changes::person_record_changed(
        conn,
        "points_claim",
        &row.id,
        &row.officer_id,
        serde_json::to_value(ClaimView::from(row.clone())).unwrap_or(serde_json::Value::Null),
    )
}

/// [`points::may_audit`] for `ctx.actor` auditing `officer_id`'s points (deciding their
/// claim, filing an adjustment for them).
fn subject_check(
    conn: &mut DbConn,
    ctx: &Ctx,
    officer_id: &str,
) -> Result<Result<(), DomainError>, StoreError> {
    let Some(user) = crate::db::store::user_by_id(conn, officer_id)? else {
        return Ok(Err(DomainError::invalid("officer_id", "no such account")));
    };
    let Ok(role) = user.role.parse::<patrol_domain::role::Role>() else {
        return Err(StoreError::Corrupt(format!(
            "user {officer_id} has role {:?}",
            user.role
        )));
    };
    let covered = crate::commands::scope::covers_person(conn, &ctx.scope, officer_id)?;
    let subject = points::Subject {
        id: officer_id,
        role,
        covered,
    };
    Ok(points::may_audit(
        ctx.actor.role,
        &ctx.actor.user_id,
        &subject,
    ))
}

/// A supervisor who covers the claimant approves (appending the entry) or rejects a
/// pending claim, with a reason. Nobody decides a claim for themselves or one they filed.
pub fn decide(
    conn: &mut DbConn,
    ctx: &Ctx,
    claim_id: &str,
    approve: bool,
    reason: &str,
) -> CommandResult<ClaimRow> {
    let Some(mut row) = points_claims::table
        .find(claim_id)
        .select(ClaimRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(Err(DomainError::not_found(format!("claim {claim_id}"))));
    };
    if let Err(e) = subject_check(conn, ctx, &row.officer_id)? {
        return Ok(Err(e));
    }
    if row.claimed_by == ctx.actor.user_id {
        return Ok(Err(DomainError::forbidden(
            "a claim is decided by someone other than who filed it",
        )));
    }
    if row.status != "pending" {
        return Ok(Err(DomainError::conflict(format!(
            "the claim is already {}",
            row.status
        ))));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Ok(Err(DomainError::invalid("reason", "a reason is required")));
    }
    row.status = if approve { "approved" } else { "rejected" }.into();
    row.decided_by = Some(ctx.actor.user_id.clone());
    row.decided_reason = Some(reason.into());
    row.decided_at = Some(now_ms());
    diesel::update(points_claims::table.find(&row.id))
        .set((
            points_claims::status.eq(&row.status),
            points_claims::decided_by.eq(&row.decided_by),
            points_claims::decided_reason.eq(&row.decided_reason),
            points_claims::decided_at.eq(row.decided_at),
        ))
        .execute(conn)?;
    claim_changed(conn, &row)?;
    if approve {
        award(
            conn,
            &Award {
                officer_id: &row.officer_id,
                rule_code: &row.rule_code,
                source_kind: "claim",
                source_id: &row.id,
                actor_id: Some(&ctx.actor.user_id),
                note: &row.note,
                points: Some(row.points),
            },
        )?;
    }
    Ok(Ok(Applied {
        record: row,
        conflict: None,
    }))
}

/// The ledger head signed with the key kept outside the database. Keep exported heads
/// elsewhere; verifying against one detects a rewritten or truncated history.
#[derive(Debug, Clone, Serialize)]
pub struct SignedHead {
    pub seq: i64,
    pub hash: String,
    pub signed_at: String,
    /// Ed25519 over `patrol-ledger-head\n{seq}\n{hash}\n{signed_at}`, base64.
    pub signature: String,
    /// The verifying key, base64 (32 bytes).
    pub public_key: String,
}

/// The message a head's signature covers.
pub fn head_message(seq: i64, hash: &str, signed_at: &str) -> String {
    format!("patrol-ledger-head\n{seq}\n{hash}\n{signed_at}")
}

/// Signs the current head with a key derived from `key_material`.
pub fn signed_head(conn: &mut DbConn, key_material: &[u8]) -> Result<SignedHead, StoreError> {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use ed25519_dalek::{Signer, SigningKey};
    use sha2::{Digest, Sha256};

    let (seq, hash): (i64, String) = points_chain::table
        .find(1)
        .select((points_chain::last_seq, points_chain::last_hash))
        .first(conn)?;
    let seed: [u8; 32] = Sha256::digest(key_material).into();
    let key = SigningKey::from_bytes(&seed);
    let signed_at = rfc3339(now_ms());
    let signature = key.sign(head_message(seq, &hash, &signed_at).as_bytes());
    Ok(SignedHead {
        seq,
        hash,
        signed_at,
        signature: STANDARD.encode(signature.to_bytes()),
        public_key: STANDARD.encode(key.verifying_key().to_bytes()),
    })
}

/// A rule version: its points from `effective_from` on.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = points_rules)]
pub struct RuleRow {
    pub id: String,
    pub code: String,
    pub points: i32,
    pub description: String,
    pub effective_from: i64,
    pub created_at: i64,
}

/// A rule version as clients see it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    pub code: String,
    pub points: i32,
    pub description: String,
    pub effective_from: String,
}

impl From<RuleRow> for RuleView {
    fn from(r: RuleRow) -> Self {
        Self {
            code: r.code,
            points: r.points,
            description: r.description,
            effective_from: rfc3339(r.effective_from),
        }
    }
}

/// Every version of every rule, by code and date.
pub fn rules(conn: &mut DbConn) -> Result<Vec<RuleRow>, StoreError> {
    Ok(points_rules::table
        .order((points_rules::code, points_rules::effective_from))
        .select(RuleRow::as_select())
        .load(conn)?)
}

/// Adds a version of a rule taking effect at `effective_from` (not in the past, so no
/// award already made changes meaning). Entries keep the points they were made with.
pub fn add_rule(
    conn: &mut DbConn,
    code: &str,
    points: i32,
    description: &str,
    effective_from: i64,
) -> CommandResult<RuleRow> {
    if let Err(e) = patrol_domain::org::parse_code("code", code) {
        return Ok(Err(e));
    }
    if !(-100..=100).contains(&points) {
        return Ok(Err(DomainError::invalid(
            "points",
            "must be between -100 and 100",
        )));
    }
    let description = match patrol_domain::org::parse_name("description", description) {
        Ok(d) => d,
        Err(e) => return Ok(Err(e)),
    };
    let now = now_ms();
    if effective_from < now - 60_000 {
        return Ok(Err(DomainError::invalid(
            "effective_from",
            "a rule change takes effect now or later, never in the past",
        )));
    }
    let row = RuleRow {
        id: new_id(),
        code: code.into(),
        points,
        description,
        effective_from,
        created_at: now,
    };
    diesel::insert_into(points_rules::table)
        .values(&row)
        .execute(conn)?;
    Ok(Ok(Applied {
        record: row,
        conflict: None,
    }))
}
