//! The duty diary (工作勤务日志): entries written in the field, often offline. An entry is
//! edited in place by its author until a supervisor signs it off or the edit window
//! passes; after that an edit makes a new version and the history stays visible.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::role::Role;
use crate::{DomainError, DomainResult};

/// Longest diary text accepted.
pub const MAX_BODY_CHARS: usize = 10_000;

/// The shifts a diary entry can cover.
pub const SHIFTS: [&str; 4] = ["day", "night", "overtime", "on_call"];

/// What is known about the current version of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryState {
    pub author_id: String,
    /// Server time the current version was first stored.
    pub created_at: DateTime<Utc>,
    pub signed_off: bool,
}

/// How an edit is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EditMode {
    /// The current version is overwritten: not yet signed off, still inside the window.
    InPlace,
    /// A new version supersedes the current one, which stays in the history.
    NewVersion,
}

/// Decides how the author's edit of an existing entry is stored. Only the author edits.
pub fn edit_mode(
    entry: &EntryState,
    editor_id: &str,
    now: DateTime<Utc>,
    window: Duration,
) -> DomainResult<EditMode> {
    if entry.author_id != editor_id {
        return Err(DomainError::forbidden(
            "only the author edits a diary entry",
        ));
    }
    if entry.signed_off || now - entry.created_at > window {
        Ok(EditMode::NewVersion)
    } else {
        Ok(EditMode::InPlace)
    }
}

/// Checks a diary entry's content; errors name the field.
pub fn check_entry(date: NaiveDate, shift: &str, body: &str, today: NaiveDate) -> DomainResult<()> {
    if date > today + Duration::days(1) {
        return Err(DomainError::invalid(
            "entry_date",
            "a diary entry cannot be for a future day",
        ));
    }
    if !SHIFTS.contains(&shift) {
        return Err(DomainError::invalid(
            "shift",
            "must be day, night, overtime or on_call",
        ));
    }
    let n = body.trim().chars().count();
    if n == 0 || n > MAX_BODY_CHARS {
        return Err(DomainError::invalid(
            "body",
            format!("must be 1-{MAX_BODY_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Who writes diaries, and who signs them off (never their own).
pub fn may_sign_off(role: Role, signer_id: &str, author_id: &str) -> DomainResult<()> {
    if !matches!(role, Role::Supervisor | Role::Admin) {
        return Err(DomainError::forbidden(
            "only supervisors sign off diary entries",
        ));
    }
    if signer_id == author_id {
        return Err(DomainError::forbidden("nobody signs off their own diary"));
    }
    Ok(())
}

/// A diary entry is on time when it is first written on the local day it covers.
pub fn on_time(entry_date: NaiveDate, written_on: NaiveDate) -> bool {
    entry_date == written_on
}

/// Roles that keep a duty diary.
pub fn keeps_diary(role: Role) -> bool {
    matches!(role, Role::Officer | Role::PartyMember)
}

/// What the timely-diary award is keyed by: the officer and the day, so a day earns one
/// award however many entries (or fresh entry ids) it holds.
pub fn award_key(author_id: &str, entry_date: NaiveDate) -> String {
    format!("{author_id}:{entry_date}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(hours_ago: i64, signed_off: bool) -> (EntryState, DateTime<Utc>) {
        let now = Utc::now();
        (
            EntryState {
                author_id: "a".into(),
                created_at: now - Duration::hours(hours_ago),
                signed_off,
            },
            now,
        )
    }

    #[test]
    fn edits_are_in_place_until_sign_off_or_the_window_then_new_versions() {
        let window = Duration::hours(48);
        let cases = [
            (1, false, EditMode::InPlace),
            (47, false, EditMode::InPlace),
            (49, false, EditMode::NewVersion),
            (1, true, EditMode::NewVersion),
        ];
        for (hours, signed, want) in cases {
            let (e, now) = entry(hours, signed);
            assert_eq!(
                edit_mode(&e, "a", now, window),
                Ok(want),
                "{hours}h signed={signed}"
            );
        }
    }

    #[test]
    fn an_entry_is_on_time_only_on_its_own_day() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        assert!(on_time(d, d));
        assert!(!on_time(d, d + Duration::days(1)));
    }

    #[test]
    fn only_the_author_edits() {
        let (e, now) = entry(1, false);
        assert!(matches!(
            edit_mode(&e, "b", now, Duration::hours(48)),
            Err(DomainError::Forbidden { .. })
        ));
    }

    #[test]
    fn sign_off_needs_a_supervisor_who_is_not_the_author() {
        assert!(may_sign_off(Role::Supervisor, "s", "a").is_ok());
        assert!(may_sign_off(Role::Supervisor, "a", "a").is_err());
        assert!(may_sign_off(Role::Officer, "s", "a").is_err());
    }

    #[test]
    fn entries_name_the_field_at_fault() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let field = |r: DomainResult<()>| match r {
            Err(DomainError::Invalid { field, .. }) => Some(field),
            _ => None,
        };
        assert_eq!(field(check_entry(today, "day", "巡查", today)), None);
        assert_eq!(
            field(check_entry(today + Duration::days(3), "day", "x", today)).as_deref(),
            Some("entry_date")
        );
        assert_eq!(
            field(check_entry(today, "lunch", "x", today)).as_deref(),
            Some("shift")
        );
        assert_eq!(
            field(check_entry(today, "day", "  ", today)).as_deref(),
            Some("body")
        );
    }

    #[test]
    fn the_diary_award_is_one_per_officer_and_day() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let key = award_key("o", d("2026-12-06"));
        assert_eq!(key, "o:2026-12-06");
        assert_eq!(key, award_key("o", d("2026-12-06")), "any entry of the day");
        assert_ne!(key, award_key("o", d("2026-12-05")));
        assert_ne!(key, award_key("p", d("2026-12-06")));
    }
}
