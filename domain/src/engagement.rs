//! Working with the community (共建共治共享): the meetings where problems are settled
//! before anyone complains (议事会, 协调会, 恳谈会: 未诉先办), public events (open days,
//! face-to-face events, legal publicity) and suggestions from residents, shops and
//! property managers (意见建议, the "woodpecker" channel 啄木鸟) with staff's answers.
//!
//! Officers record them in the field, often offline; the bureau counts them every month.
//! The rules here are the same for the online endpoints and sync push.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::role::Role;
use crate::text::bounded as text;
use crate::{DomainError, DomainResult};

/// How far back an engagement record may be dated: a month's report is settled by then.
pub const BACKDATE_DAYS: i64 = 62;
/// Longest title, topic, name or place.
pub const MAX_SHORT_CHARS: usize = 200;
/// Longest free text (a suggestion, an answer, a settlement's note).
pub const MAX_TEXT_CHARS: usize = 4_000;
/// Most topics, named participants or settled problems one meeting lists.
pub const MAX_ITEMS: usize = 200;
/// Largest attendance counted for one meeting or event.
pub const MAX_ATTENDANCE: u32 = 100_000;

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident, $what:literal { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            /// The wire and storage name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = DomainError;

            fn from_str(s: &str) -> DomainResult<Self> {
                match s {
                    $($s => Ok($name::$v),)+
                    _ => Err(DomainError::invalid(
                        $what,
                        format!("must be one of {}", [$($s),+].join(", ")),
                    )),
                }
            }
        }
    };
}

wire_enum!(
    /// The kinds of community meeting.
    MeetingKind, "kind" {
        /// 议事会: residents' council deciding a community matter.
        Deliberation = "deliberation",
        /// 协调会: the parties to a dispute or a shared problem brought together.
        Coordination = "coordination",
        /// 恳谈会: an open talk with residents or shops.
        Consultation = "consultation",
    }
);

wire_enum!(
    /// The kinds of public event.
    EventKind, "kind" {
        /// 开放日: the studio or the bureau opens its doors.
        OpenDay = "open_day",
        /// 面对面: staff meet residents face to face.
        FaceToFace = "face_to_face",
        /// 普法宣传: legal publicity.
        LegalPublicity = "legal_publicity",
        Other = "other",
    }
);

wire_enum!(
    /// Who made a suggestion.
    SuggestionFrom, "from" {
        Resident = "resident",
        Shop = "shop",
        PropertyManager = "property_manager",
    }
);

/// Who records meetings, events and suggestions: the staff working in communities and
/// their supervisors (not residents, not departments).
pub fn may_record(role: Role) -> DomainResult<()> {
    match role {
        Role::Officer
        | Role::PartyMember
        | Role::CommunityStaff
        | Role::Supervisor
        | Role::Admin => Ok(()),
        _ => Err(DomainError::forbidden(
            "meetings, events and suggestions are recorded by community staff, officers and supervisors",
        )),
    }
}

/// A list of short texts, each trimmed and non-empty.
fn texts(field: &str, raw: &[String], required: bool) -> DomainResult<Vec<String>> {
    if required && raw.is_empty() {
        return Err(DomainError::invalid(field, "must list at least one"));
    }
    if raw.len() > MAX_ITEMS {
        return Err(DomainError::invalid(
            field,
            format!("must list at most {MAX_ITEMS}"),
        ));
    }
    raw.iter()
        .enumerate()
        .map(|(i, t)| text(&format!("{field}[{i}]"), t, MAX_SHORT_CHARS, true))
        .collect()
}

/// The day a record is for: not after tomorrow (a device's clock in another zone) and
/// not before [`BACKDATE_DAYS`] ago.
pub fn check_day(field: &str, day: NaiveDate, today: NaiveDate) -> DomainResult<()> {
    if day > today + Duration::days(1) {
        return Err(DomainError::invalid(field, "cannot be a future day"));
    }
    if day < today - Duration::days(BACKDATE_DAYS) {
        return Err(DomainError::invalid(
            field,
            format!("must be within the last {BACKDATE_DAYS} days"),
        ));
    }
    Ok(())
}

fn attendance(field: &str, n: u32) -> DomainResult<u32> {
    if n == 0 || n > MAX_ATTENDANCE {
        return Err(DomainError::invalid(
            field,
            format!("must be between 1 and {MAX_ATTENDANCE}"),
        ));
    }
    Ok(n)
}

/// A problem settled at a meeting, optionally the case it was recorded as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settlement {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
}

/// A meeting as recorded, before checking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingDraft<'a> {
    pub kind: &'a str,
    pub held_on: NaiveDate,
    pub attendee_count: u32,
    pub participants: &'a [String],
    pub topics: &'a [String],
    pub settled: &'a [Settlement],
}

/// A checked meeting, texts trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meeting {
    pub kind: MeetingKind,
    pub held_on: NaiveDate,
    pub attendee_count: u32,
    pub participants: Vec<String>,
    pub topics: Vec<String>,
    pub settled: Vec<Settlement>,
}

impl Meeting {
    /// Cases the meeting says it settled, each once.
    pub fn linked_cases(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .settled
            .iter()
            .filter_map(|s| s.case_id.as_deref())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// Checks a meeting: at least one topic, named participants no more than the attendance.
pub fn check_meeting(d: &MeetingDraft<'_>, today: NaiveDate) -> DomainResult<Meeting> {
    let kind = d.kind.parse()?;
    check_day("held_on", d.held_on, today)?;
    let attendee_count = attendance("attendee_count", d.attendee_count)?;
    let participants = texts("participants", d.participants, false)?;
    if participants.len() > attendee_count as usize {
        return Err(DomainError::invalid(
            "attendee_count",
            "must be at least the number of named participants",
        ));
    }
    let topics = texts("topics", d.topics, true)?;
    if d.settled.len() > MAX_ITEMS {
        return Err(DomainError::invalid(
            "settled",
            format!("must list at most {MAX_ITEMS}"),
        ));
    }
    let settled = d
        .settled
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Ok(Settlement {
                title: text(
                    &format!("settled[{i}].title"),
                    &s.title,
                    MAX_SHORT_CHARS,
                    true,
                )?,
                case_id: s.case_id.clone(),
            })
        })
        .collect::<DomainResult<Vec<_>>>()?;
    Ok(Meeting {
        kind,
        held_on: d.held_on,
        attendee_count,
        participants,
        topics,
        settled,
    })
}

/// A checked public event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicEvent {
    pub kind: EventKind,
    pub held_on: NaiveDate,
    pub place: String,
    pub attendance: u32,
}

pub fn check_event(
    kind: &str,
    held_on: NaiveDate,
    place: &str,
    attendance_count: u32,
    today: NaiveDate,
) -> DomainResult<PublicEvent> {
    let kind = kind.parse()?;
    check_day("held_on", held_on, today)?;
    Ok(PublicEvent {
        kind,
        held_on,
        place: text("place", place, MAX_SHORT_CHARS, true)?,
        attendance: attendance("attendance", attendance_count)?,
    })
}

/// A checked suggestion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub from: SuggestionFrom,
    pub from_name: String,
    pub body: String,
    pub received_on: NaiveDate,
}

pub fn check_suggestion(
    from: &str,
    from_name: &str,
    body: &str,
    received_on: NaiveDate,
    today: NaiveDate,
) -> DomainResult<Suggestion> {
    let from = from.parse()?;
    check_day("received_on", received_on, today)?;
    Ok(Suggestion {
        from,
        from_name: text("from_name", from_name, MAX_SHORT_CHARS, false)?,
        body: text("body", body, MAX_TEXT_CHARS, true)?,
        received_on,
    })
}

/// What answering a suggestion does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answering {
    /// The first answer: stored with its time.
    Answer(String),
    /// The same answer again (a replay from another device): nothing changes.
    Unchanged,
}

/// Answers a suggestion. The first answer stands: it is what the person was told, and
/// its time is what the bureau counts; a different second answer is refused.
pub fn answer(role: Role, current: Option<&str>, raw: &str) -> DomainResult<Answering> {
    may_record(role)?;
    let text = text("answer", raw, MAX_TEXT_CHARS, true)?;
    match current {
        None => Ok(Answering::Answer(text)),
        Some(c) if c == text => Ok(Answering::Unchanged),
        Some(_) => Err(DomainError::conflict(
            "this suggestion is already answered; its answer stands",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    fn field(e: DomainError) -> String {
        match e {
            DomainError::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_meeting_is_trimmed_and_its_linked_cases_listed_once() {
        let topics = strings(&[" 停车难 ", "垃圾分类"]);
        let people = strings(&["张三", "李四"]);
        let settled = vec![
            Settlement {
                title: " 占道停车 ".into(),
                case_id: Some("b".into()),
            },
            Settlement {
                title: "楼道堆物".into(),
                case_id: Some("a".into()),
            },
            Settlement {
                title: "再议".into(),
                case_id: Some("b".into()),
            },
            Settlement {
                title: "无案件".into(),
                case_id: None,
            },
        ];
        let m = check_meeting(
            &MeetingDraft {
                kind: "deliberation",
                held_on: day("2026-12-01"),
                attendee_count: 12,
                participants: &people,
                topics: &topics,
                settled: &settled,
            },
            day("2026-12-07"),
        )
        .unwrap();
        assert_eq!(m.kind, MeetingKind::Deliberation);
        assert_eq!(m.topics[0], "停车难");
        assert_eq!(m.settled[0].title, "占道停车");
        assert_eq!(m.linked_cases(), vec!["a", "b"]);
    }

    #[test]
    fn a_meeting_needs_a_topic_a_known_kind_and_enough_attendees() {
        let today = day("2026-12-07");
        let people = strings(&["张三", "李四", "王五"]);
        let topics = strings(&["议题"]);
        let draft = MeetingDraft {
            kind: "deliberation",
            held_on: day("2026-12-07"),
            attendee_count: 3,
            participants: &people,
            topics: &topics,
            settled: &[],
        };
        assert!(check_meeting(&draft, today).is_ok());
        let bad = |d: MeetingDraft<'_>| field(check_meeting(&d, today).unwrap_err());
        assert_eq!(
            bad(MeetingDraft {
                attendee_count: 2,
                ..draft.clone()
            }),
            "attendee_count"
        );
        assert_eq!(
            bad(MeetingDraft {
                attendee_count: 0,
                participants: &[],
                ..draft.clone()
            }),
            "attendee_count"
        );
        assert_eq!(
            bad(MeetingDraft {
                topics: &[],
                ..draft.clone()
            }),
            "topics"
        );
        let blank = strings(&["ok", "  "]);
        assert_eq!(
            bad(MeetingDraft {
                topics: &blank,
                ..draft.clone()
            }),
            "topics[1]"
        );
        assert_eq!(
            bad(MeetingDraft {
                kind: "party",
                ..draft.clone()
            }),
            "kind"
        );
        assert_eq!(
            bad(MeetingDraft {
                held_on: day("2026-12-09"),
                ..draft.clone()
            }),
            "held_on"
        );
        assert_eq!(
            bad(MeetingDraft {
                held_on: today - Duration::days(BACKDATE_DAYS + 1),
                ..draft
            }),
            "held_on"
        );
    }

    #[test]
    fn days_from_tomorrow_back_to_the_backdating_limit_are_accepted() {
        let today = day("2026-12-07");
        assert!(check_day("d", today + Duration::days(1), today).is_ok());
        assert!(check_day("d", today - Duration::days(BACKDATE_DAYS), today).is_ok());
        assert!(check_day("d", today + Duration::days(2), today).is_err());
    }

    #[test]
    fn events_and_suggestions_are_checked_field_by_field() {
        let today = day("2026-12-07");
        let e = check_event("open_day", today, " 社区工作室 ", 40, today).unwrap();
        assert_eq!(
            (e.kind, e.place.as_str()),
            (EventKind::OpenDay, "社区工作室")
        );
        assert_eq!(
            field(check_event("open_day", today, " ", 40, today).unwrap_err()),
            "place"
        );
        assert_eq!(
            field(check_event("open_day", today, "x", 0, today).unwrap_err()),
            "attendance"
        );
        let s = check_suggestion("shop", "", " 门前增设停车位 ", today, today).unwrap();
        assert_eq!(
            (s.from, s.body.as_str()),
            (SuggestionFrom::Shop, "门前增设停车位")
        );
        assert_eq!(
            field(check_suggestion("tourist", "", "x", today, today).unwrap_err()),
            "from"
        );
        assert_eq!(
            field(check_suggestion("resident", "", "", today, today).unwrap_err()),
            "body"
        );
    }

    #[test]
    fn the_first_answer_stands_and_its_replay_changes_nothing() {
        assert_eq!(
            answer(Role::Officer, None, " 已协调 ").unwrap(),
            Answering::Answer("已协调".into())
        );
        assert_eq!(
            answer(Role::Officer, Some("已协调"), "已协调").unwrap(),
            Answering::Unchanged
        );
        assert!(matches!(
            answer(Role::Supervisor, Some("已协调"), "另一个答复"),
            Err(DomainError::Conflict { .. })
        ));
        assert!(matches!(
            answer(Role::Resident, None, "x"),
            Err(DomainError::Forbidden { .. })
        ));
    }

    #[test]
    fn residents_and_departments_do_not_record_engagement() {
        for role in Role::ALL {
            let allowed = may_record(role).is_ok();
            assert_eq!(
                allowed,
                !matches!(role, Role::Resident | Role::Department),
                "{role:?}"
            );
        }
    }

    #[test]
    fn every_wire_name_reads_back() {
        for k in MeetingKind::ALL {
            assert_eq!(k.as_str().parse::<MeetingKind>().unwrap(), *k);
        }
        for k in EventKind::ALL {
            assert_eq!(k.as_str().parse::<EventKind>().unwrap(), *k);
        }
        for k in SuggestionFrom::ALL {
            assert_eq!(k.as_str().parse::<SuggestionFrom>().unwrap(), *k);
        }
    }
}
