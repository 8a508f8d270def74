//! Handing a case to another owner (首接负责).

use super::checks::{is_desk, required_text};
use super::{Actor, CaseState};
use crate::error::{DomainError, DomainResult};
use crate::role::Role;

/// 首接负责: the first-contact owner hands the case to another staff member, formally,
/// with a reason. Only the current owner or a supervisor/admin may; only while the case
/// is open; only to a community or city-management staff member (`to_role`) other than
/// the current owner, who covers the case's community (`to_covers`). Returns the trimmed
/// reason.
pub fn check_handover<'a>(
    state: &CaseState,
    actor: &Actor,
    (to_user_id, to_role, to_covers): (&str, Role, bool),
    reason: &'a str,
) -> DomainResult<&'a str> {
    let owner = state.first_contact_id.as_deref() == Some(actor.user_id.as_str());
    if !(owner || is_desk(actor)) {
        return Err(DomainError::forbidden(
            "only the case's first-contact owner, a supervisor or an admin can hand it over",
        ));
    }
    if !state.status.is_open() {
        return Err(DomainError::conflict(format!(
            "a finished case is not handed over (current status: {})",
            state.status.as_str()
        )));
    }
    if !matches!(
        to_role,
        Role::Officer | Role::CommunityStaff | Role::Supervisor
    ) {
        return Err(DomainError::invalid(
            "to_user_id",
            format!(
                "a case is handed to an officer, community staff or a supervisor, not a {to_role}"
            ),
        ));
    }
    if state.first_contact_id.as_deref() == Some(to_user_id) {
        return Err(DomainError::invalid(
            "to_user_id",
            "that person already owns the case",
        ));
    }
    if !to_covers {
        return Err(DomainError::invalid(
            "to_user_id",
            "that person does not cover this case's community",
        ));
    }
    required_text("reason", reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::CaseStatus;
    use crate::case::fixtures::*;

    #[test]
    fn only_the_owner_or_the_desk_hands_an_open_case_to_staff_with_a_reason() {
        let state = case_in(CaseStatus::Dispatched);
        let owner = officer();
        assert_eq!(
            check_handover(&state, &owner, ("off_2", Role::Officer, true), " 调岗 "),
            Ok("调岗")
        );
        assert!(check_handover(&state, &supervisor(), ("off_2", Role::Officer, true), "x").is_ok());
        assert!(matches!(
            check_handover(&state, &reporter(), ("off_2", Role::Officer, true), "x"),
            Err(DomainError::Forbidden { .. })
        ));
        for (to, reason) in [
            (("res_2", Role::Resident, true), "x"),
            ((OFFICER, Role::Officer, true), "x"),
            (("off_2", Role::Officer, false), "x"),
            (("off_2", Role::Officer, true), "  "),
        ] {
            assert!(matches!(
                check_handover(&state, &owner, to, reason),
                Err(DomainError::Invalid { .. })
            ));
        }
        assert!(matches!(
            check_handover(
                &case_in(CaseStatus::Closed),
                &owner,
                ("off_2", Role::Officer, true),
                "x"
            ),
            Err(DomainError::Conflict { .. })
        ));
    }
}
