//! Roles and what each may see. Scope rules live here so handlers and sync apply the same
//! ones.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// The kinds of account. One account has exactly one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Resident, shop or property manager using the mini-app (居民/商户/物业).
    Resident,
    /// City-management officer embedded in communities (城管队员).
    Officer,
    /// Serving party member linked to a community (在职党员).
    PartyMember,
    /// Community or grid staff who blow the whistle (社区/网格员).
    CommunityStaff,
    /// Squad leader or bureau leader (中队长/局班子成员).
    Supervisor,
    /// The district joint-meeting office or a department it coordinates (区联席办).
    Department,
    /// Administers the organisation, people, categories and boundaries.
    Admin,
}

impl Role {
    /// Staff see other people's phone numbers masked unless their role holds this
    /// permission (admins); residents never see other people's.
    pub fn sees_full_phone_numbers(self) -> bool {
        matches!(self, Role::Admin)
    }

    /// Every role, in a stable order (used by the role × route test matrix).
    pub const ALL: [Role; 7] = [
        Role::Resident,
        Role::Officer,
        Role::PartyMember,
        Role::CommunityStaff,
        Role::Supervisor,
        Role::Department,
        Role::Admin,
    ];

    /// The wire name, as in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::Officer => "officer",
            Role::PartyMember => "party_member",
            Role::CommunityStaff => "community_staff",
            Role::Supervisor => "supervisor",
            Role::Department => "department",
            Role::Admin => "admin",
        }
    }

    /// Staff accounts are created by admins; only residents register themselves.
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Resident)
    }

    /// Roles that audit officers' and party members' work (督导): their points claims,
    /// ledgers, diaries and visits.
    pub fn audits(self) -> bool {
        matches!(self, Role::Supervisor | Role::Admin)
    }

    /// Roles whose scope is a set of communities assigned to them.
    pub fn is_community_scoped(self) -> bool {
        matches!(
            self,
            Role::Officer | Role::PartyMember | Role::CommunityStaff
        )
    }

    /// Does the twice-weekly visit duty (每周不少于2次) bind this role? Officers and the
    /// party members linked to the same communities both visit and log contacts, so both
    /// are judged on it, in compliance and at-risk lists alike.
    pub fn has_visit_duty(self) -> bool {
        matches!(self, Role::Officer | Role::PartyMember)
    }

    /// Does this role's work earn points (积分)? Only the people who do the field work:
    /// officers and party members. Residents, staff, supervisors, departments and admins
    /// never hold a balance, whoever files an adjustment for them.
    pub fn earns_points(self) -> bool {
        matches!(self, Role::Officer | Role::PartyMember)
    }

    /// May this role change the organisation, the four lists and accounts?
    pub fn can_administer(self) -> bool {
        matches!(self, Role::Admin)
    }

    /// May this role read the organisation's internal records (assignments, personnel
    /// contact details)? Residents and departments see only the public studio view.
    pub fn can_read_organisation(self) -> bool {
        matches!(
            self,
            Role::Officer
                | Role::PartyMember
                | Role::CommunityStaff
                | Role::Supervisor
                | Role::Admin
        )
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                DomainError::invalid(
                    "role",
                    format!(
                        "unknown role {s:?}; expected one of resident, officer, party_member, \
                         community_staff, supervisor, department, admin"
                    ),
                )
            })
    }
}

/// What part of the organisation a caller may see. Built once per request from the
/// caller's role and current assignments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Everything (admins).
    All,
    /// The listed communities (officers, party members, community staff; supervisors get
    /// the communities of the streets they cover).
    Communities(Vec<String>),
    /// Only the caller's own records (residents) or what was dispatched to them
    /// (departments).
    Own,
}

impl Scope {
    /// Does this scope include the community with this id?
    pub fn includes_community(&self, community_id: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Communities(ids) => ids.iter().any(|c| c == community_id),
            Scope::Own => false,
        }
    }
}

/// What an assignment links a person to. Derived from the person's role: officers,
/// party members and community staff cover communities (一对一挂靠); supervisors (bureau
/// leaders) cover streets (包保).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentKind {
    OfficerCommunity,
    PartyMemberCommunity,
    StaffCommunity,
    LeaderStreet,
}

impl AssignmentKind {
    /// The kind of assignment a role can hold, if any.
    pub fn for_role(role: Role) -> Result<Self, DomainError> {
        match role {
            Role::Officer => Ok(Self::OfficerCommunity),
            Role::PartyMember => Ok(Self::PartyMemberCommunity),
            Role::CommunityStaff => Ok(Self::StaffCommunity),
            Role::Supervisor => Ok(Self::LeaderStreet),
            other => Err(DomainError::invalid(
                "user_id",
                format!("a {other} account cannot be assigned to a community or street"),
            )),
        }
    }

    /// Assignments whose holder owes the twice-weekly visits ([`Role::has_visit_duty`]).
    pub const VISIT_DUTY: [AssignmentKind; 2] = [
        AssignmentKind::OfficerCommunity,
        AssignmentKind::PartyMemberCommunity,
    ];

    /// The role that holds this kind of assignment.
    pub fn holder(self) -> Role {
        match self {
            Self::OfficerCommunity => Role::Officer,
            Self::PartyMemberCommunity => Role::PartyMember,
            Self::StaffCommunity => Role::CommunityStaff,
            Self::LeaderStreet => Role::Supervisor,
        }
    }

    /// Parses the storage name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::OfficerCommunity,
            Self::PartyMemberCommunity,
            Self::StaffCommunity,
            Self::LeaderStreet,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Does the target name a street (true) or a community (false)?
    pub fn targets_street(self) -> bool {
        matches!(self, Self::LeaderStreet)
    }

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OfficerCommunity => "officer_community",
            Self::PartyMemberCommunity => "party_member_community",
            Self::StaffCommunity => "staff_community",
            Self::LeaderStreet => "leader_street",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_wire_name() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(
                serde_json::to_value(role).ok(),
                Some(serde_json::json!(role.as_str()))
            );
        }
    }

    #[test]
    fn unknown_role_names_the_field_and_the_choices() {
        let err = "chief".parse::<Role>().err();
        match err {
            Some(DomainError::Invalid { field, reason }) => {
                assert_eq!(field, "role");
                assert!(reason.contains("officer"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn only_residents_are_not_staff() {
        let staff: Vec<_> = Role::ALL.into_iter().filter(|r| !r.is_staff()).collect();
        assert_eq!(staff, vec![Role::Resident]);
    }

    #[test]
    fn assignment_kind_follows_the_role() {
        let cases = [
            (Role::Officer, Some(AssignmentKind::OfficerCommunity)),
            (
                Role::PartyMember,
                Some(AssignmentKind::PartyMemberCommunity),
            ),
            (Role::CommunityStaff, Some(AssignmentKind::StaffCommunity)),
            (Role::Supervisor, Some(AssignmentKind::LeaderStreet)),
            (Role::Resident, None),
            (Role::Department, None),
            (Role::Admin, None),
        ];
        for (role, want) in cases {
            assert_eq!(AssignmentKind::for_role(role).ok(), want, "{role}");
        }
        assert!(AssignmentKind::LeaderStreet.targets_street());
        assert!(!AssignmentKind::OfficerCommunity.targets_street());
    }

    #[test]
    fn the_visit_duty_and_points_bind_officers_and_party_members_only() {
        for role in Role::ALL {
            let field = matches!(role, Role::Officer | Role::PartyMember);
            assert_eq!(role.has_visit_duty(), field, "{role}");
            assert_eq!(role.earns_points(), field, "{role}");
        }
        for kind in AssignmentKind::VISIT_DUTY {
            assert!(kind.holder().has_visit_duty(), "{kind:?}");
            assert_eq!(AssignmentKind::for_role(kind.holder()).ok(), Some(kind));
            assert_eq!(AssignmentKind::parse(kind.as_str()), Some(kind));
        }
        for kind in [AssignmentKind::StaffCommunity, AssignmentKind::LeaderStreet] {
            assert!(!kind.holder().has_visit_duty(), "{kind:?}");
        }
        assert_eq!(AssignmentKind::parse("nope"), None);
    }

    #[test]
    fn scope_includes_only_listed_communities() {
        let s = Scope::Communities(vec!["a".into(), "b".into()]);
        assert!(s.includes_community("a"));
        assert!(!s.includes_community("c"));
        assert!(Scope::All.includes_community("c"));
        assert!(!Scope::Own.includes_community("a"));
    }
}
