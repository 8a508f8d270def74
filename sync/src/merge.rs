//! Merge rules by field class (SYNC.md, item 8). Pure: the server applies them inside the
//! mutation's transaction.
//!
//! - append-only records (comments, photos, activity): set union, never a conflict;
//! - descriptive fields (description, notes): per field, in arrival order, and a
//!   concurrent edit of the same field is recorded as a conflict holding both values;
//! - supervisor-owned fields (priority, handler, deadline): role-checked;
//! - workflow status: only through validated transition commands;
//! - withdraw/delete wins over a concurrent edit; nothing is resurrected.

use chrono::{DateTime, Duration, Utc};
use patrol_domain::role::Role;

use crate::protocol::FieldEdit;

/// The result of merging one descriptive-field edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldMerge {
    /// The device edited the revision the server has: a clean apply.
    Clean { value: String, rev: i64 },
    /// Someone else changed the field since the device last saw it. The device's value is
    /// applied (arrival order) and both values are kept in a conflict record.
    Concurrent {
        value: String,
        rev: i64,
        overwritten: String,
        overwritten_rev: i64,
    },
    /// The edit sets the value the server already has: nothing to do.
    Unchanged,
}

/// Merges an edit of a descriptive field whose server state is `(current, current_rev)`.
pub fn merge_descriptive(current: &str, current_rev: i64, edit: &FieldEdit) -> FieldMerge {
    if edit.value == current {
        return FieldMerge::Unchanged;
    }
    let rev = current_rev + 1;
    if edit.base_rev == current_rev {
        FieldMerge::Clean {
            value: edit.value.clone(),
            rev,
        }
    } else {
        FieldMerge::Concurrent {
            value: edit.value.clone(),
            rev,
            overwritten: current.to_owned(),
            overwritten_rev: current_rev,
        }
    }
}

/// May this role set supervisor-owned fields (priority, handler, deadline)?
pub fn may_set_supervisor_fields(role: Role) -> bool {
    matches!(role, Role::Supervisor | Role::Admin)
}

/// Device times beyond this past the server's arrival time are flagged as suspect.
pub const FUTURE_TOLERANCE_MINUTES: i64 = 5;

/// Is a device time implausibly far in the future of the server's arrival time? Such a
/// time is kept as evidence and flagged, never used for order.
pub fn far_future(observed_at: DateTime<Utc>, received_at: DateTime<Utc>) -> bool {
    observed_at > received_at + Duration::minutes(FUTURE_TOLERANCE_MINUTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(value: &str, base_rev: i64) -> FieldEdit {
        FieldEdit {
            value: value.into(),
            base_rev,
        }
    }

    #[test]
    fn descriptive_fields_merge_per_field_and_keep_both_values_on_concurrent_edit() {
        let cases = [
            (
                ("old", 3),
                edit("new", 3),
                FieldMerge::Clean {
                    value: "new".into(),
                    rev: 4,
                },
            ),
            (
                ("theirs", 4),
                edit("mine", 3),
                FieldMerge::Concurrent {
                    value: "mine".into(),
                    rev: 5,
                    overwritten: "theirs".into(),
                    overwritten_rev: 4,
                },
            ),
            (("same", 7), edit("same", 2), FieldMerge::Unchanged),
        ];
        for ((current, rev), e, want) in cases {
            assert_eq!(merge_descriptive(current, rev, &e), want);
        }
    }

    #[test]
    fn only_supervisors_and_admins_set_supervisor_owned_fields() {
        for role in Role::ALL {
            assert_eq!(
                may_set_supervisor_fields(role),
                matches!(role, Role::Supervisor | Role::Admin),
                "{role}"
            );
        }
    }

    #[test]
    fn device_times_far_in_the_future_are_flagged() {
        let now = Utc::now();
        assert!(!far_future(now + Duration::minutes(4), now));
        assert!(far_future(now + Duration::minutes(6), now));
        assert!(!far_future(now - Duration::days(3), now));
    }
}
