//! Visits (走访) and twice-weekly compliance (每周不少于2次). `record` is the one command
//! that both the online endpoint and sync push call; verification stacks the domain's
//! signals and stores every failed one as a flag, never dropping the visit.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use patrol_domain::DomainError;
use patrol_domain::geometry::{Boundary, Crs, LatLon};
use patrol_domain::role::{AssignmentKind, Role};
use patrol_domain::seed::Class721;
use patrol_domain::visit::{
    self, CompliancePolicy, CountedVisit, IsoWeek, LocationFix, VerificationContext,
    VerificationRules, VisitEvidence, VisitSpan, WeekCompliance,
};
use patrol_sync::protocol::VisitRecordArgs;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::commands::context::{Applied, CommandResult, Ctx, check_photo_hashes};
use crate::db::changes;
use crate::db::ids::{new_id, now_ms, rfc3339};
use crate::db::schema::{assignments, photos, points_entries, visits};
use crate::db::store::{self, PhotoRow};
use crate::db::{DbConn, StoreError};

/// A visit as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = visits)]
pub struct VisitRow {
    pub id: String,
    pub officer_id: String,
    pub community_id: String,
    pub started_at: i64,
    pub ended_at: i64,
    pub received_at: i64,
    pub fixes: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub photo_hashes: String,
    pub met: String,
    pub purpose: String,
    pub notes: String,
    pub class_721: String,
    pub flags: String,
    pub status: String,
    pub accepted_by: Option<String>,
    pub accepted_reason: Option<String>,
    pub accepted_at: Option<i64>,
    pub client_id: Option<String>,
    pub mutation_id: Option<i64>,
    pub created_at: i64,
}

/// A visit as clients see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VisitView {
    pub id: String,
    pub officer_id: String,
    pub community_id: String,
    pub started_at: String,
    pub ended_at: String,
    pub received_at: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub photos: Vec<String>,
    pub met: Vec<String>,
    pub purpose: String,
    pub notes: String,
    pub class_721: String,
    /// Reason codes of every failed check; empty when verified.
    pub flags: Vec<String>,
    /// `verified`, `flagged`, or `accepted` (a supervisor accepted a flagged visit).
    pub status: String,
    pub accepted_by: Option<String>,
    pub accepted_reason: Option<String>,
    pub accepted_at: Option<String>,
}

impl VisitView {
    pub fn from_row(r: &VisitRow) -> Self {
        let list = |s: &str| serde_json::from_str::<Vec<String>>(s).unwrap_or_default();
        Self {
            id: r.id.clone(),
            officer_id: r.officer_id.clone(),
            community_id: r.community_id.clone(),
            started_at: rfc3339(r.started_at),
            ended_at: rfc3339(r.ended_at),
            received_at: rfc3339(r.received_at),
            lat: r.lat,
            lon: r.lon,
            photos: list(&r.photo_hashes),
            met: list(&r.met),
            purpose: r.purpose.clone(),
            notes: r.notes.clone(),
            class_721: r.class_721.clone(),
            flags: list(&r.flags),
            status: r.status.clone(),
            accepted_by: r.accepted_by.clone(),
            accepted_reason: r.accepted_reason.clone(),
            accepted_at: r.accepted_at.map(rfc3339),
        }
    }
}

fn visit_changed(conn: &mut DbConn, v: &VisitRow) -> Result<(), StoreError> {
    changes::record(
        conn,
        changes::NewChange {
            entity: "visit",
            entity_id: &v.id,
            community_id: Some(&v.community_id),
            user_id: Some(&v.officer_id),
            op: "upsert",
            payload: serde_json::to_value(VisitView::from_row(v)).unwrap_or(Value::Null),
        },
    )
}

const MET_KINDS: [&str; 4] = ["resident", "community_staff", "property_manager", "shop"];

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn utc(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// Was the officer assigned to the community when the visit started? (Judged at the
/// visit's time, not at sync time: a visit synced after a reassignment still counts.)
fn assigned_at(
    conn: &mut DbConn,
    officer_id: &str,
    community_id: &str,
    at: i64,
) -> Result<bool, StoreError> {
    let n: i64 = assignments::table
        .filter(assignments::user_id.eq(officer_id))
        .filter(assignments::target_id.eq(community_id))
        .filter(assignments::started_at.le(at))
        .filter(
            assignments::ended_at
                .is_null()
                .or(assignments::ended_at.gt(at)),
        )
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The officer's previous visit by device start time: where and when it ended.
fn previous_visit(
    conn: &mut DbConn,
    officer_id: &str,
    before: i64,
) -> Result<Option<(DateTime<Utc>, LatLon)>, StoreError> {
    let prev: Option<(i64, Option<f64>, Option<f64>)> = visits::table
        .filter(visits::officer_id.eq(officer_id))
        .filter(visits::started_at.lt(before))
        .order(visits::started_at.desc())
        .select((visits::ended_at, visits::lat, visits::lon))
        .first(conn)
        .optional()?;
    Ok(prev.and_then(|(end, lat, lon)| {
        Some((
            utc(end),
            LatLon {
                lat: lat?,
                lon: lon?,
            },
        ))
    }))
}

/// The officer's other visits of `community_id` starting within `reach` of `span`: what
/// duplicate detection and the award window compare a visit with. `(id, span)` each.
fn nearby_visits(
    conn: &mut DbConn,
    (officer_id, community_id): (&str, &str),
    span: &VisitSpan,
    reach: Duration,
    except: &str,
) -> Result<Vec<(String, VisitSpan)>, StoreError> {
    let rows: Vec<(String, i64, i64, String)> = visits::table
        .filter(visits::officer_id.eq(officer_id))
        .filter(visits::community_id.eq(community_id))
        .filter(visits::id.ne(except))
        .filter(visits::started_at.ge(ms(span.started_at - reach)))
        .filter(visits::started_at.le(ms(span.ended_at + reach)))
        .select((
            visits::id,
            visits::started_at,
            visits::ended_at,
            visits::fixes,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, start, end, fixes)| {
            let fixes: Vec<LocationFix> = serde_json::from_str(&fixes)
                .map_err(|e| StoreError::Corrupt(format!("visit {id} fixes: {e}")))?;
            let span = VisitSpan {
                started_at: utc(start),
                ended_at: utc(end),
                fix_times: fixes.iter().map(|f| f.at).collect(),
            };
            Ok((id, span))
        })
        .collect()
}

/// How far around a visit its copies and its award window are looked for: a copy under
/// shifted times still shares a fix within a day or two, and the spacing reaches no
/// further than itself.
fn reach(policy: &CompliancePolicy) -> Duration {
    Duration::days(2) + policy.min_spacing.unwrap_or_else(Duration::zero)
}

fn seen_hashes(conn: &mut DbConn, hashes: &[String]) -> Result<BTreeSet<String>, StoreError> {
    Ok(photos::table
        .filter(photos::owner_kind.eq("visit"))
        .filter(photos::sha256.eq_any(hashes))
        .select(photos::sha256)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

/// `visit.record`: stores a visit with its verification flags.
pub fn record(
    conn: &mut DbConn,
    ctx: &Ctx,
    args: &VisitRecordArgs,
    rules: &VerificationRules,
) -> CommandResult<VisitRow> {
    let now = Utc::now();
    let checked = (|| -> Result<_, DomainError> {
        if !matches!(ctx.actor.role, Role::Officer | Role::PartyMember) {
            return Err(DomainError::forbidden(
                "only officers and party members record visits",
            ));
        }
        uuid::Uuid::parse_str(&args.visit_id)
            .map_err(|_| DomainError::invalid("visit_id", "must be a UUID made on the device"))?;
        let crs: Crs = args
            .crs
            .as_deref()
            .map(str::parse)
            .transpose()?
            .unwrap_or_default();
        let mut fixes = Vec::with_capacity(args.fixes.len());
        for (i, f) in args.fixes.iter().enumerate() {
            fixes.push(LocationFix {
                at: f.at,
                point: LatLon::parse(f.lat, f.lon, crs, &format!("fixes[{i}]."))?,
                accuracy_m: f.accuracy_m,
                mock: f.mock,
            });
        }
        check_photo_hashes("photos", &args.photos)?;
        for (i, m) in args.met.iter().enumerate() {
            if !MET_KINDS.contains(&m.as_str()) {
                return Err(DomainError::invalid(
                    format!("met[{i}]"),
                    "must be resident, community_staff, property_manager or shop",
                ));
            }
        }
        let class: Class721 = args.class_721.parse()?;
        let purpose = args.purpose.trim();
        if purpose.is_empty() || purpose.chars().count() > 500 {
            return Err(DomainError::invalid("purpose", "must be 1-500 characters"));
        }
        let notes = args.notes.as_deref().unwrap_or("").trim().to_owned();
        if notes.chars().count() > 4000 {
            return Err(DomainError::invalid(
                "notes",
                "must be at most 4000 characters",
            ));
        }
        let evidence = VisitEvidence {
            started_at: args.started_at,
            ended_at: args.ended_at,
            fixes,
            photo_hashes: args.photos.clone(),
            received_at: now,
        };
        visit::validate_evidence(&evidence)?;
        Ok((evidence, class, purpose.to_owned(), notes))
    })();
    let (evidence, class, purpose, notes) = match checked {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    let Some(community) = store::community_by_code(conn, &args.community_code)? else {
        return Ok(Err(DomainError::invalid(
            "community_code",
            format!("no community {:?}", args.community_code),
        )));
    };
    if let Some(existing) = visits::table
        .find(&args.visit_id)
        .select(VisitRow::as_select())
        .first(conn)
        .optional()?
    {
        return Ok(if existing.officer_id == ctx.actor.user_id {
            Ok(Applied {
                record: existing,
                conflict: None,
            })
        } else {
            Err(DomainError::conflict("this visit id is already taken"))
        });
    }
    let boundary_json: Value = serde_json::from_str(&community.boundary)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let boundary = Boundary::from_geojson(&boundary_json, Crs::Wgs84, "boundary")
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let assigned = assigned_at(
        conn,
        &ctx.actor.user_id,
        &community.id,
        ms(evidence.started_at),
    )?;
    let previous = previous_visit(conn, &ctx.actor.user_id, ms(evidence.started_at))?;
    // One officer's visits are judged one at a time (SQLite's write lock already does),
    // so two copies pushed at once cannot both find the other absent on PostgreSQL.
    store::lock_row(conn, store::LockTable::Users, &ctx.actor.user_id)?;
    let span = VisitSpan::of(&evidence);
    let repeats_another_visit = nearby_visits(
        conn,
        (&ctx.actor.user_id, &community.id),
        &span,
        reach(&ctx.compliance),
        &args.visit_id,
    )?
    .iter()
    .any(|(_, other)| visit::same_occasion(other, &span));
    let seen = seen_hashes(conn, &evidence.photo_hashes)?;
    let seen_before = |h: &str| seen.contains(h);
    let vctx = VerificationContext {
        community: &boundary,
        assigned,
        previous_visit: previous,
        photo_hashes_seen_before: &seen_before,
        repeats_another_visit,
    };
    let flags: Vec<String> = visit::verify(&evidence, &vctx, rules)
        .iter()
        .map(|f| f.as_str().to_owned())
        .collect();
    let location = visit::visit_location(&evidence);
    let row = VisitRow {
        id: args.visit_id.clone(),
        officer_id: ctx.actor.user_id.clone(),
        community_id: community.id.clone(),
        started_at: ms(evidence.started_at),
        ended_at: ms(evidence.ended_at),
        received_at: ms(now),
        fixes: serde_json::to_string(&evidence.fixes)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        lat: location.map(|l| l.lat),
        lon: location.map(|l| l.lon),
        photo_hashes: json!(evidence.photo_hashes).to_string(),
        met: json!(args.met).to_string(),
        purpose,
        notes,
        class_721: class.as_str().into(),
        status: if flags.is_empty() {
            "verified"
        } else {
            "flagged"
        }
        .into(),
        flags: json!(flags).to_string(),
        accepted_by: None,
        accepted_reason: None,
        accepted_at: None,
        client_id: ctx.origin.as_ref().map(|(c, _)| c.clone()),
        mutation_id: ctx.origin.as_ref().map(|(_, m)| *m),
        created_at: now_ms(),
    };
    diesel::insert_into(visits::table)
        .values(&row)
        .execute(conn)?;
    visit_changed(conn, &row)?;
    for h in &evidence.photo_hashes {
        let p = PhotoRow {
            id: new_id(),
            sha256: h.clone(),
            owner_kind: "visit".into(),
            owner_id: row.id.clone(),
            community_id: Some(community.id.clone()),
            added_by: Some(ctx.actor.user_id.clone()),
            created_at: now_ms(),
        };
        if store::insert_photo_once(conn, &p)? {
            let available = store::touch_blob(conn, h, now_ms())?;
            changes::photo_changed(conn, &p, available)?;
        }
    }
    award_visit(conn, &row, &ctx.compliance, ctx.tz)?;
    Ok(Ok(Applied {
        record: row,
        conflict: None,
    }))
}

/// A verified (or accepted) visit earns its points once, keyed by the visit, and only
/// when no visit of the same officer × community already earned for the same piece of
/// work ([`visit::earns_visit_award`]). The caller holds the officer's lock.
fn award_visit(
    conn: &mut DbConn,
    v: &VisitRow,
    policy: &CompliancePolicy,
    tz: Tz,
) -> Result<(), StoreError> {
    if v.status == "flagged" {
        return Ok(());
    }
    let fixes: Vec<LocationFix> = serde_json::from_str(&v.fixes)
        .map_err(|e| StoreError::Corrupt(format!("visit {} fixes: {e}", v.id)))?;
    let span = VisitSpan {
        started_at: utc(v.started_at),
        ended_at: utc(v.ended_at),
        fix_times: fixes.iter().map(|f| f.at).collect(),
    };
    let nearby = nearby_visits(
        conn,
        (&v.officer_id, &v.community_id),
        &span,
        reach(policy),
        &v.id,
    )?;
    let ids: Vec<&str> = nearby.iter().map(|(id, _)| id.as_str()).collect();
    let earned_ids: BTreeSet<String> = points_entries::table
        .filter(points_entries::source_kind.eq("visit"))
        .filter(points_entries::rule_code.eq("visit_verified"))
        .filter(points_entries::source_id.eq_any(&ids))
        .select(points_entries::source_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let earned: Vec<VisitSpan> = nearby
        .into_iter()
        .filter(|(id, _)| earned_ids.contains(id))
        .map(|(_, span)| span)
        .collect();
    if visit::earns_visit_award(&span, &earned, policy, tz) {
        crate::commands::points::award(
            conn,
            &crate::commands::points::Award {
                officer_id: &v.officer_id,
                rule_code: "visit_verified",
                source_kind: "visit",
                source_id: &v.id,
                actor_id: v.accepted_by.as_deref(),
                note: "",
                points: None,
            },
        )?;
    }
    Ok(())
}

/// A supervisor accepts a flagged visit with a written reason (audited on the visit).
/// Nobody accepts their own visit.
pub fn accept(
    conn: &mut DbConn,
    ctx: &Ctx,
    visit_id: &str,
    reason: &str,
) -> CommandResult<VisitRow> {
    if !matches!(ctx.actor.role, Role::Supervisor | Role::Admin) {
        return Ok(Err(DomainError::forbidden(
            "only supervisors accept flagged visits",
        )));
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Ok(Err(DomainError::invalid(
            "reason",
            "a written reason of 1-1000 characters is required",
        )));
    }
    let Some(mut row) = visits::table
        .find(visit_id)
        .select(VisitRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(Err(DomainError::not_found(format!("visit {visit_id}"))));
    };
    if !ctx.scope.includes_community(&row.community_id) {
        return Ok(Err(DomainError::not_found(format!("visit {visit_id}"))));
    }
    if row.officer_id == ctx.actor.user_id {
        return Ok(Err(DomainError::forbidden(
            "nobody accepts their own visit",
        )));
    }
    if row.status != "flagged" {
        return Ok(Err(DomainError::conflict(format!(
            "only flagged visits are accepted (current status: {})",
            row.status
        ))));
    }
    row.status = "accepted".into();
    row.accepted_by = Some(ctx.actor.user_id.clone());
    row.accepted_reason = Some(reason.to_owned());
    row.accepted_at = Some(now_ms());
    diesel::update(visits::table.find(&row.id))
        .set((
            visits::status.eq(&row.status),
            visits::accepted_by.eq(&row.accepted_by),
            visits::accepted_reason.eq(&row.accepted_reason),
            visits::accepted_at.eq(row.accepted_at),
        ))
        .execute(conn)?;
    visit_changed(conn, &row)?;
    store::lock_row(conn, store::LockTable::Users, &row.officer_id)?;
    award_visit(conn, &row, &ctx.compliance, ctx.tz)?;
    store::insert_audit(
        conn,
        &store::AuditRow {
            id: new_id(),
            actor_id: Some(ctx.actor.user_id.clone()),
            action: "visit.accept".into(),
            entity: "visit".into(),
            entity_id: row.id.clone(),
            detail: json!({ "reason": reason, "flags": serde_json::from_str::<Value>(&row.flags).unwrap_or(Value::Null) }).to_string(),
            at: now_ms(),
        },
    )?;
    Ok(Ok(Applied {
        record: row,
        conflict: None,
    }))
}

/// One officer (or party member) × community × week.
#[derive(Debug, Clone, Serialize)]
pub struct ComplianceRow {
    pub officer_id: String,
    pub officer_name: String,
    /// `officer` or `party_member`: every role the twice-weekly duty binds.
    pub role: String,
    pub community_code: String,
    pub week: String,
    pub required: u32,
    pub counted: Vec<String>,
    pub excluded: Vec<ExcludedVisit>,
    pub compliant: bool,
    /// Visits still needed this week.
    pub remaining: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExcludedVisit {
    pub visit_id: String,
    /// `NOT_VERIFIED`, `TOO_CLOSE_TO_PREVIOUS` or `OVERLAPS_PREVIOUS`.
    pub reason: String,
    pub previous_id: Option<String>,
}

/// Compliance rows of `week` as `user` may see them: supervisors their streets'
/// communities, admins all, officers and party members only themselves (asking for
/// someone else is 403, not a silent answer about oneself).
pub fn compliance_in_scope(
    conn: &mut DbConn,
    policy: &CompliancePolicy,
    user: &crate::auth::AuthUser,
    week: IsoWeek,
    community_code: Option<&str>,
    officer_id: Option<&str>,
) -> crate::infra::error::ApiResult<Vec<ComplianceRow>> {
    use crate::infra::error::ApiError;
    use patrol_domain::role::Scope;
    let tz = store::district_tz(conn)?;
    let (mut only, officer) = match user.role {
        Role::Admin => (None, officer_id.map(str::to_owned)),
        Role::Supervisor => match crate::commands::scope::scope_of(conn, user)? {
            Scope::Communities(ids) => (Some(ids), officer_id.map(str::to_owned)),
            _ => (Some(Vec::new()), None),
        },
        Role::Officer | Role::PartyMember => match officer_id {
            Some(other) if other != user.id => {
                return Err(ApiError::Forbidden(
                    "you see only your own compliance; leave officer_id out or give your own id"
                        .into(),
                ));
            }
            _ => (None, Some(user.id.clone())),
        },
        other => {
            return Err(ApiError::Forbidden(format!(
                "the {other} role has no visit compliance to see"
            )));
        }
    };
    if let Some(code) = community_code {
        let c = store::community_by_code(conn, code)?
            .ok_or_else(|| ApiError::bad_field("community_code", "no such community"))?;
        if only.as_ref().is_some_and(|ids| !ids.contains(&c.id)) {
            return Ok(Vec::new());
        }
        only = Some(vec![c.id]);
    }
    Ok(compliance(
        conn,
        week,
        tz,
        policy,
        only.as_deref(),
        officer.as_deref(),
    )?)
}

/// Compliance of every assignment under the twice-weekly duty (officers' and party
/// members', [`AssignmentKind::VISIT_DUTY`]) that overlaps `week`, for the communities in
/// `only` (all when `None`) and optionally one person.
pub fn compliance(
    conn: &mut DbConn,
    week: IsoWeek,
    tz: Tz,
    policy: &CompliancePolicy,
    only: Option<&[String]>,
    officer: Option<&str>,
) -> Result<Vec<ComplianceRow>, StoreError> {
    let (start, end) = (ms(week.start_utc(tz)), ms(week.end_utc(tz)));
    let mut q = assignments::table
        .filter(assignments::kind.eq_any(AssignmentKind::VISIT_DUTY.map(AssignmentKind::as_str)))
        .filter(assignments::started_at.lt(end))
        .filter(
            assignments::ended_at
                .is_null()
                .or(assignments::ended_at.gt(start)),
        )
        .select((
            assignments::user_id,
            assignments::target_id,
            assignments::started_at,
            assignments::ended_at,
            assignments::kind,
        ))
        .order((
            assignments::target_id,
            assignments::user_id,
            assignments::started_at,
        ))
        .into_boxed();
    if let Some(ids) = only {
        q = q.filter(assignments::target_id.eq_any(ids.to_vec()));
    }
    if let Some(o) = officer {
        q = q.filter(assignments::user_id.eq(o.to_owned()));
    }
    let rows: Vec<(String, String, i64, Option<i64>, String)> = q.load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (officer_id, community_id, from, until, kind) in rows {
        let role = AssignmentKind::parse(&kind)
            .map(|k| k.holder().as_str())
            .unwrap_or_default()
            .to_owned();
        let counted: Vec<CountedVisit> = visits::table
            .filter(visits::officer_id.eq(&officer_id))
            .filter(visits::community_id.eq(&community_id))
            .filter(visits::started_at.ge(start))
            .filter(visits::started_at.lt(end))
            .select((
                visits::id,
                visits::started_at,
                visits::ended_at,
                visits::status,
            ))
            .load::<(String, i64, i64, String)>(conn)?
            .into_iter()
            .map(|(id, at, end, status)| CountedVisit {
                id,
                started_at: utc(at),
                ended_at: utc(end),
                verified: status != "flagged",
            })
            .collect();
        let wc: WeekCompliance =
            visit::assigned_week_compliance(week, &counted, utc(from), until.map(utc), policy, tz);
        let officer_name = store::user_by_id(conn, &officer_id)?
            .map(|u| u.display_name)
            .unwrap_or_default();
        let community_code = store::community_by_id(conn, &community_id)?
            .map(|c| c.code)
            .unwrap_or_default();
        let remaining = wc
            .required
            .saturating_sub(u32::try_from(wc.counted.len()).unwrap_or(u32::MAX));
        out.push(ComplianceRow {
            officer_id,
            officer_name,
            role,
            community_code,
            week: week.to_string(),
            required: wc.required,
            excluded: wc
                .excluded
                .into_iter()
                .map(|(id, why)| match why {
                    visit::Exclusion::NotVerified => ExcludedVisit {
                        visit_id: id,
                        reason: "NOT_VERIFIED".into(),
                        previous_id: None,
                    },
                    visit::Exclusion::TooCloseToPrevious { previous_id } => ExcludedVisit {
                        visit_id: id,
                        reason: "TOO_CLOSE_TO_PREVIOUS".into(),
                        previous_id: Some(previous_id),
                    },
                    visit::Exclusion::OverlapsPrevious { previous_id } => ExcludedVisit {
                        visit_id: id,
                        reason: "OVERLAPS_PREVIOUS".into(),
                        previous_id: Some(previous_id),
                    },
                })
                .collect(),
            counted: wc.counted,
            compliant: wc.compliant,
            remaining,
        });
    }
    Ok(out)
}
