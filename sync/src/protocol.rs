//! Wire types of `POST /api/v1/sync/push` and `POST /api/v1/sync/pull`, and the catalogue
//! of mutations with their arguments.

use chrono::{DateTime, Utc};
use patrol_domain::case::CaseCommand;
use patrol_domain::whistle::WhistleCommand;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{SyncError, SyncResult};

/// The protocol version this server speaks. Older clients get `426 Upgrade Required` and
/// keep their queue.
pub const PROTOCOL_VERSION: u32 = 1;
/// The most mutations one push may carry.
pub const MAX_BATCH: usize = 100;
/// The largest serialised arguments of one mutation.
pub const MAX_MUTATION_BYTES: usize = 64 * 1024;
/// The most changes one pull page returns.
pub const MAX_PULL_LIMIT: u32 = 500;

/// A batch of queued mutations from one client install.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// Identifies one app install; its mutation ids are contiguous from 1.
    pub client_id: String,
    pub protocol_version: u32,
    pub mutations: Vec<MutationEnvelope>,
}

/// One queued intent, as the device recorded it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MutationEnvelope {
    /// Contiguous per client, starting at 1.
    pub id: u64,
    /// What to do, e.g. `case.report`.
    pub name: String,
    pub args: Value,
    /// When the device says it happened: evidence, never order.
    pub observed_at: Option<DateTime<Utc>>,
}

/// How a mutation ended. Every mutation ends in exactly one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    /// Applied, and a conflict was recorded (e.g. a concurrent edit of the same field).
    AppliedWithConflict,
    /// Not applied; a conflict record says why and keeps the evidence.
    Rejected,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::AppliedWithConflict => "applied_with_conflict",
            Outcome::Rejected => "rejected",
        }
    }
}

/// Why a mutation was rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    /// `invalid`, `forbidden`, `conflict`, `not_found` or `unknown_mutation`.
    pub code: String,
    pub message: String,
    pub field: Option<String>,
    /// The record's current state, when the rejection is about state (e.g. a transition
    /// from the wrong status).
    pub current: Option<Value>,
}

/// A conflict record as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConflictView {
    pub id: String,
    /// `concurrent_edit`, `rejected`, `forbidden` or `deleted`.
    pub kind: String,
    pub entity: String,
    pub entity_id: String,
    pub detail: Value,
}

/// The answer for one mutation. Stored with the mutation and returned unchanged on replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MutationResult {
    pub mutation_id: u64,
    pub outcome: Outcome,
    pub conflict: Option<ConflictView>,
    pub rejection: Option<Rejection>,
}

/// The answer to a push: one result per mutation taken, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResponse {
    pub results: Vec<MutationResult>,
    /// The last mutation id the server has applied for this client.
    pub last_mutation_id: u64,
    pub server_epoch: String,
}

/// A request for the changes after a cursor.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullRequest {
    pub client_id: String,
    pub protocol_version: u32,
    /// Absent on first sync and after a reset.
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Upsert carries the record's full new state; delete removes it from the replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    Upsert,
    Delete,
}

/// One record's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// `case`, `case_activity`, `visit`, `diary_entry`, `whistle`, `photo`, `conflict`,
    /// `escalation`, `department_task`.
    pub entity: String,
    pub id: String,
    pub op: ChangeOp,
    pub data: Option<Value>,
    /// The change reaches the caller as its person (the reporter, the author, the one a
    /// conflict is about), not only through a community: keep the record when that
    /// community is taken away.
    #[serde(default)]
    pub personal: bool,
    /// The community through which the change reaches the caller, if any: a community
    /// taken away takes its records with it (unless `personal`). Every record says so
    /// itself because a parent's latest state may arrive after its children's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community_id: Option<String>,
}

/// A page of changes. Apply it atomically, then store `cursor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    pub changes: Vec<Change>,
    /// The cursor this page continues from, exactly as the client sent it (absent on a
    /// first pull). A client applies only an answer to the request it is waiting for: a
    /// late answer to an older request could carry a cursor past rows it never saw.
    #[serde(default)]
    pub after: Option<String>,
    pub cursor: String,
    pub has_more: bool,
    /// The client's last applied mutation id, read in the same snapshot as the changes:
    /// pending mutations up to it are reflected in this page's state.
    pub last_mutation_id: u64,
    pub server_epoch: String,
    /// Drop every synced record before applying this page (server restored from backup,
    /// cursor too old). Never drop the queue.
    pub reset: bool,
    /// Communities no longer in the caller's scope: drop their records.
    pub dropped_communities: Vec<String>,
}

// ---- the mutation catalogue -----------------------------------------------------------

/// An edit of a descriptive field against the revision the device last saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldEdit {
    pub value: String,
    pub base_rev: i64,
}

/// `case.report`: a new case, with an id made on the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseReportArgs {
    pub case_id: String,
    pub category_code: String,
    pub description: String,
    pub lat: f64,
    pub lon: f64,
    pub crs: Option<String>,
    #[serde(default)]
    pub photos: Vec<String>,
    pub source: Option<String>,
    #[serde(default)]
    pub anonymous: bool,
    /// 就地处置: evidence (photo hashes or notes) that an officer fixed it on the spot; the
    /// case starts resolved and still needs a verification by someone else.
    #[serde(default)]
    pub resolved_on_spot: Vec<String>,
}

/// `case.escalate`: hand a case the community cannot solve to the district joint-meeting
/// office (外循环).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseEscalateArgs {
    pub case_id: String,
    /// What the community cannot solve alone, and which departments it needs.
    pub reason: String,
}

/// `case.hand_over`: the first-contact owner (首接负责) formally hands the case to another
/// staff member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseHandOverArgs {
    pub case_id: String,
    /// User id of the new owner: an officer, community staff or a supervisor.
    pub to_user_id: String,
    pub reason: String,
}

/// `points.claim` (and the online claim route): points for one piece of work, waiting
/// for a supervisor. `(officer, rule, source)` holds one claim however many devices or
/// retries send it; without a source the claim is its own (`claim`, `claim_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointsClaimArgs {
    /// UUID made on the device: a retry finds the claim it filed.
    pub claim_id: String,
    /// Whom a supervisor's adjustment is for; officers claim for themselves.
    #[serde(default)]
    pub officer_id: Option<String>,
    pub points: i32,
    pub note: String,
    /// What the points are for: `case`, `visit`, `whistle`, `diary_entry` or `other`.
    #[serde(default)]
    pub source_kind: Option<String>,
    /// The id of that record (or of the piece of work, for `other`).
    #[serde(default)]
    pub source_id: Option<String>,
}

/// `meeting.record`: a community meeting (议事会, 协调会, 恳谈会) with what it settled. The
/// same id again from its author edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingRecordArgs {
    pub meeting_id: String,
    pub community_code: String,
    /// `deliberation` (议事会), `coordination` (协调会) or `consultation` (恳谈会).
    pub kind: String,
    pub held_on: chrono::NaiveDate,
    pub attendee_count: u32,
    /// Named participants (no more than `attendee_count`).
    #[serde(default)]
    pub participants: Vec<String>,
    pub topics: Vec<String>,
    /// Problems settled at the meeting, each optionally the case (source
    /// `community_meeting`) it was recorded as: 未诉先办.
    #[serde(default)]
    pub settled: Vec<patrol_domain::engagement::Settlement>,
}

/// `event.record`: a public event (open day, face-to-face event, legal publicity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRecordArgs {
    pub event_id: String,
    pub community_code: String,
    /// `open_day`, `face_to_face`, `legal_publicity` or `other`.
    pub kind: String,
    pub held_on: chrono::NaiveDate,
    pub place: String,
    pub attendance: u32,
    #[serde(default)]
    pub description: String,
    /// SHA-256 of each photo; the bytes upload separately.
    #[serde(default)]
    pub photos: Vec<String>,
}

/// `suggestion.record`: a suggestion (意见建议, 啄木鸟) staff received from a resident, a
/// shop or a property manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestionRecordArgs {
    pub suggestion_id: String,
    pub community_code: String,
    /// `resident`, `shop` or `property_manager`.
    pub from: String,
    #[serde(default)]
    pub from_name: String,
    #[serde(default)]
    pub from_phone: Option<String>,
    pub body: String,
    pub received_on: chrono::NaiveDate,
}

/// `suggestion.answer`: the answer given to a suggestion; the first one stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestionAnswerArgs {
    pub suggestion_id: String,
    pub answer: String,
}

/// `case.transition`: a validated workflow command, never a status value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseTransitionArgs {
    pub case_id: String,
    pub command: CaseCommand,
}

/// `case.update_fields`: descriptive fields merge per field; supervisor-owned fields are
/// role-checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseUpdateFieldsArgs {
    pub case_id: String,
    pub description: Option<FieldEdit>,
    pub notes: Option<FieldEdit>,
    pub priority: Option<String>,
}

/// `case.comment`: an append-only note with photos; never conflicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseCommentArgs {
    pub case_id: String,
    pub text: String,
    #[serde(default)]
    pub photos: Vec<String>,
}

/// One location fix of a visit, as the device recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixArgs {
    pub at: DateTime<Utc>,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    /// The platform's mock-location flag, when the device reports one.
    pub mock: Option<bool>,
}

/// `visit.record`: an officer's or party member's visit to a community (走访). Append-only:
/// it never conflicts; verification flags are data on the visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisitRecordArgs {
    pub visit_id: String,
    pub community_code: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub fixes: Vec<FixArgs>,
    /// Coordinate system of the fixes: wgs84 (default), gcj02 or bd09.
    pub crs: Option<String>,
    #[serde(default)]
    pub photos: Vec<String>,
    /// Whom the officer met: `resident`, `community_staff`, `property_manager`, `shop`.
    #[serde(default)]
    pub met: Vec<String>,
    pub purpose: String,
    pub notes: Option<String>,
    /// `service`, `management` or `enforcement` (the 721 method).
    pub class_721: String,
}

/// Links from a diary entry to the work it records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiaryLinks {
    #[serde(default)]
    pub visits: Vec<String>,
    #[serde(default)]
    pub cases: Vec<String>,
    #[serde(default)]
    pub whistles: Vec<String>,
    #[serde(default)]
    pub meetings: Vec<String>,
}

/// `diary.write`: writes or edits the author's diary entry `entry_id` (工作勤务日志).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiaryWriteArgs {
    /// A UUID made on the device; the same id edits the same entry.
    pub entry_id: String,
    pub entry_date: chrono::NaiveDate,
    /// `day`, `night`, `overtime` or `on_call`.
    pub shift: String,
    pub body: String,
    #[serde(default)]
    pub links: DiaryLinks,
}

/// `whistle.raise`: community staff raise a whistle (吹哨) for their community, with an id
/// made on the device so an offline raise keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhistleRaiseArgs {
    pub whistle_id: String,
    pub community_code: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Cases in the same community the whistle is about.
    #[serde(default)]
    pub case_ids: Vec<String>,
}

/// `whistle.sign_off`: the community's lead approves or declines (with a reason).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhistleSignOffArgs {
    pub whistle_id: String,
    pub approve: bool,
    pub reason: Option<String>,
}

/// `whistle.take`: city management takes the whistle (接单, 报到).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhistleTakeArgs {
    pub whistle_id: String,
    pub note: Option<String>,
}

/// `whistle.rate`: the community rates the response, 1 to 5, once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhistleRateArgs {
    pub whistle_id: String,
    /// Any integer is read; the rule (1 to 5) answers with the field named.
    pub rating: i64,
    pub comment: Option<String>,
}

/// `whistle.withdraw`: the raiser takes the whistle back before it is taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhistleWithdrawArgs {
    pub whistle_id: String,
}

/// A command on an existing whistle, whichever mutation carried it.
#[derive(Debug, Clone, PartialEq)]
pub struct WhistleCommandArgs {
    pub whistle_id: String,
    pub command: WhistleCommand,
}

impl From<WhistleSignOffArgs> for WhistleCommandArgs {
    fn from(a: WhistleSignOffArgs) -> Self {
        Self {
            whistle_id: a.whistle_id,
            command: WhistleCommand::SignOff {
                approve: a.approve,
                reason: a.reason,
            },
        }
    }
}

impl From<WhistleTakeArgs> for WhistleCommandArgs {
    fn from(a: WhistleTakeArgs) -> Self {
        Self {
            whistle_id: a.whistle_id,
            command: WhistleCommand::Take { note: a.note },
        }
    }
}

impl From<WhistleRateArgs> for WhistleCommandArgs {
    fn from(a: WhistleRateArgs) -> Self {
        Self {
            whistle_id: a.whistle_id,
            command: WhistleCommand::Rate {
                rating: a.rating,
                comment: a.comment,
            },
        }
    }
}

impl From<WhistleWithdrawArgs> for WhistleCommandArgs {
    fn from(a: WhistleWithdrawArgs) -> Self {
        Self {
            whistle_id: a.whistle_id,
            command: WhistleCommand::Withdraw,
        }
    }
}

/// Every mutation this server executes.
#[derive(Debug, Clone, PartialEq)]
pub enum Mutation {
    CaseReport(CaseReportArgs),
    CaseTransition(CaseTransitionArgs),
    CaseUpdateFields(CaseUpdateFieldsArgs),
    CaseComment(CaseCommentArgs),
    CaseEscalate(CaseEscalateArgs),
    CaseHandOver(CaseHandOverArgs),
    VisitRecord(VisitRecordArgs),
    DiaryWrite(DiaryWriteArgs),
    WhistleRaise(WhistleRaiseArgs),
    /// `whistle.sign_off`, `whistle.take`, `whistle.rate` or `whistle.withdraw`.
    WhistleCommand(WhistleCommandArgs),
    PointsClaim(PointsClaimArgs),
    MeetingRecord(MeetingRecordArgs),
    EventRecord(EventRecordArgs),
    SuggestionRecord(SuggestionRecordArgs),
    SuggestionAnswer(SuggestionAnswerArgs),
}

fn args<T: DeserializeOwned>(value: &Value) -> SyncResult<T> {
    serde_json::from_value(value.clone()).map_err(|e| SyncError::InvalidArgs {
        field: "args".into(),
        reason: e.to_string(),
    })
}

impl Mutation {
    /// The wire names, for documentation and errors.
    pub const NAMES: [&'static str; 18] = [
        "case.report",
        "case.transition",
        "case.update_fields",
        "case.comment",
        "case.escalate",
        "case.hand_over",
        "visit.record",
        "diary.write",
        "whistle.raise",
        "whistle.sign_off",
        "whistle.take",
        "whistle.rate",
        "whistle.withdraw",
        "points.claim",
        "meeting.record",
        "event.record",
        "suggestion.record",
        "suggestion.answer",
    ];

    /// Reads a mutation from its envelope.
    pub fn parse(name: &str, value: &Value) -> SyncResult<Mutation> {
        let size = serde_json::to_vec(value)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        if size > MAX_MUTATION_BYTES {
            return Err(SyncError::InvalidArgs {
                field: "args".into(),
                reason: format!("arguments are {size} bytes; the limit is {MAX_MUTATION_BYTES}"),
            });
        }
        // The same rule on free text as a request body online (`patrol_domain::text`).
        if let Err(patrol_domain::DomainError::Invalid { field, reason }) =
            patrol_domain::text::check_document(value)
        {
            return Err(SyncError::InvalidArgs { field, reason });
        }
        match name {
            "case.report" => Ok(Mutation::CaseReport(args(value)?)),
            "case.transition" => Ok(Mutation::CaseTransition(args(value)?)),
            "case.update_fields" => Ok(Mutation::CaseUpdateFields(args(value)?)),
            "case.comment" => Ok(Mutation::CaseComment(args(value)?)),
            "case.escalate" => Ok(Mutation::CaseEscalate(args(value)?)),
            "case.hand_over" => Ok(Mutation::CaseHandOver(args(value)?)),
            "visit.record" => Ok(Mutation::VisitRecord(args(value)?)),
            "diary.write" => Ok(Mutation::DiaryWrite(args(value)?)),
            "whistle.raise" => Ok(Mutation::WhistleRaise(args(value)?)),
            "whistle.sign_off" => Ok(Mutation::WhistleCommand(
                args::<WhistleSignOffArgs>(value)?.into(),
            )),
            "whistle.take" => Ok(Mutation::WhistleCommand(
                args::<WhistleTakeArgs>(value)?.into(),
            )),
            "whistle.rate" => Ok(Mutation::WhistleCommand(
                args::<WhistleRateArgs>(value)?.into(),
            )),
            "whistle.withdraw" => Ok(Mutation::WhistleCommand(
                args::<WhistleWithdrawArgs>(value)?.into(),
            )),
            "points.claim" => Ok(Mutation::PointsClaim(args(value)?)),
            "meeting.record" => Ok(Mutation::MeetingRecord(args(value)?)),
            "event.record" => Ok(Mutation::EventRecord(args(value)?)),
            "suggestion.record" => Ok(Mutation::SuggestionRecord(args(value)?)),
            "suggestion.answer" => Ok(Mutation::SuggestionAnswer(args(value)?)),
            other => Err(SyncError::UnknownMutation {
                name: other.to_owned(),
            }),
        }
    }

    /// The wire name.
    pub fn name(&self) -> &'static str {
        match self {
            Mutation::CaseReport(_) => "case.report",
            Mutation::CaseTransition(_) => "case.transition",
            Mutation::CaseUpdateFields(_) => "case.update_fields",
            Mutation::CaseComment(_) => "case.comment",
            Mutation::CaseEscalate(_) => "case.escalate",
            Mutation::CaseHandOver(_) => "case.hand_over",
            Mutation::VisitRecord(_) => "visit.record",
            Mutation::DiaryWrite(_) => "diary.write",
            Mutation::WhistleRaise(_) => "whistle.raise",
            Mutation::WhistleCommand(a) => match a.command {
                WhistleCommand::SignOff { .. } => "whistle.sign_off",
                WhistleCommand::Take { .. } => "whistle.take",
                WhistleCommand::Rate { .. } => "whistle.rate",
                WhistleCommand::Withdraw => "whistle.withdraw",
            },
            Mutation::PointsClaim(_) => "points.claim",
            Mutation::MeetingRecord(_) => "meeting.record",
            Mutation::EventRecord(_) => "event.record",
            Mutation::SuggestionRecord(_) => "suggestion.record",
            Mutation::SuggestionAnswer(_) => "suggestion.answer",
        }
    }
}

/// Checks a client id: a UUID the app made once for its install (the server keys
/// exactly-once delivery on it, so a guessable or shared name would mix two queues).
pub fn check_client_id(client_id: &str) -> SyncResult<()> {
    uuid::Uuid::try_parse(client_id)
        .map(|_| ())
        .map_err(|_| SyncError::InvalidArgs {
            field: "client_id".into(),
            reason: "must be a UUID that the app makes once for its install".into(),
        })
}

/// Checks a push batch: protocol version, size, and ids strictly contiguous.
pub fn check_batch(req: &PushRequest) -> SyncResult<()> {
    if req.protocol_version != PROTOCOL_VERSION {
        return Err(SyncError::Protocol(format!(
            "protocol version {} is not supported; this server speaks {PROTOCOL_VERSION}",
            req.protocol_version
        )));
    }
    if req.mutations.is_empty() || req.mutations.len() > MAX_BATCH {
        return Err(SyncError::Protocol(format!(
            "a push carries 1 to {MAX_BATCH} mutations"
        )));
    }
    for pair in req.mutations.windows(2) {
        if pair[1].id != pair[0].id + 1 {
            return Err(SyncError::Protocol(format!(
                "mutation ids must be contiguous: {} follows {}",
                pair[1].id, pair[0].id
            )));
        }
    }
    if req.mutations[0].id == 0 {
        return Err(SyncError::Protocol("mutation ids start at 1".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {

    #[test]
    fn client_ids_are_uuids() {
        assert!(check_client_id("0190a5e2-7c3b-7d4e-8f00-1234567890ab").is_ok());
        for bad in ["", "phone-1", "0190a5e2-7c3b-7d4e-8f00", "' OR 1=1 --"] {
            assert!(
                matches!(check_client_id(bad), Err(SyncError::InvalidArgs { ref field, .. }) if field == "client_id"),
                "{bad:?}"
            );
        }
    }
    use super::*;
    use serde_json::json;

    fn push(ids: &[u64], version: u32) -> PushRequest {
        PushRequest {
            client_id: "c".into(),
            protocol_version: version,
            mutations: ids
                .iter()
                .map(|id| MutationEnvelope {
                    id: *id,
                    name: "case.comment".into(),
                    args: json!({}),
                    observed_at: None,
                })
                .collect(),
        }
    }

    #[test]
    fn batches_must_be_contiguous_non_empty_and_current() {
        assert!(check_batch(&push(&[1, 2, 3], PROTOCOL_VERSION)).is_ok());
        assert!(check_batch(&push(&[5, 6], PROTOCOL_VERSION)).is_ok());
        assert!(check_batch(&push(&[1, 3], PROTOCOL_VERSION)).is_err());
        assert!(check_batch(&push(&[2, 1], PROTOCOL_VERSION)).is_err());
        assert!(check_batch(&push(&[], PROTOCOL_VERSION)).is_err());
        assert!(check_batch(&push(&[0], PROTOCOL_VERSION)).is_err());
        assert!(check_batch(&push(&[1], PROTOCOL_VERSION + 1)).is_err());
        let big: Vec<u64> = (1..=(MAX_BATCH as u64 + 1)).collect();
        assert!(check_batch(&push(&big, PROTOCOL_VERSION)).is_err());
    }

    #[test]
    fn mutations_parse_by_name_and_refuse_unknown_names_and_fields() {
        let ok = Mutation::parse(
            "case.transition",
            &json!({"case_id": "x", "command": {"command": "resolve", "evidence": ["fixed"], "note": ""}}),
        );
        assert!(matches!(ok, Ok(Mutation::CaseTransition(_))));
        assert!(matches!(
            Mutation::parse("case.explode", &json!({})),
            Err(SyncError::UnknownMutation { .. })
        ));
        assert!(matches!(
            Mutation::parse(
                "case.comment",
                &json!({"case_id": "x", "text": "t", "extra": 1})
            ),
            Err(SyncError::InvalidArgs { .. })
        ));
        let huge = json!({"case_id": "x", "text": "a".repeat(MAX_MUTATION_BYTES)});
        assert!(matches!(
            Mutation::parse("case.comment", &huge),
            Err(SyncError::InvalidArgs { .. })
        ));
    }

    #[test]
    fn whistle_mutations_parse_into_their_commands_and_keep_their_names() {
        let cases = [
            (
                "whistle.sign_off",
                json!({"whistle_id": "w", "approve": false, "reason": "不属于职责"}),
            ),
            ("whistle.take", json!({"whistle_id": "w", "note": null})),
            ("whistle.rate", json!({"whistle_id": "w", "rating": 6})),
            ("whistle.withdraw", json!({"whistle_id": "w"})),
            (
                "whistle.raise",
                json!({"whistle_id": "w", "community_code": "C1", "title": "t"}),
            ),
            (
                "meeting.record",
                json!({"meeting_id": "m", "community_code": "C1", "kind": "deliberation",
                       "held_on": "2026-12-01", "attendee_count": 5, "topics": ["停车"],
                       "settled": [{"title": "占道", "case_id": "c"}]}),
            ),
            (
                "event.record",
                json!({"event_id": "e", "community_code": "C1", "kind": "open_day",
                       "held_on": "2026-12-01", "place": "工作室", "attendance": 30}),
            ),
            (
                "suggestion.record",
                json!({"suggestion_id": "s", "community_code": "C1", "from": "shop",
                       "body": "增设车位", "received_on": "2026-12-01"}),
            ),
            (
                "suggestion.answer",
                json!({"suggestion_id": "s", "answer": "已协调"}),
            ),
        ];
        for (name, value) in cases {
            let m = Mutation::parse(name, &value).unwrap();
            assert_eq!(m.name(), name);
            assert!(Mutation::NAMES.contains(&name));
        }
        assert!(matches!(
            Mutation::parse("whistle.take", &json!({"whistle_id": "w", "rating": 5})),
            Err(SyncError::InvalidArgs { .. })
        ));
    }

    #[test]
    fn a_status_value_is_not_a_transition() {
        let r = Mutation::parse(
            "case.transition",
            &json!({"case_id": "x", "command": {"command": "set_status", "status": "closed"}}),
        );
        assert!(r.is_err());
    }
}
