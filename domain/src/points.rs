//! Points (积分式管理): an append-only ledger whose entries are chained by hash, so a
//! rewritten, deleted, reordered or truncated history is detected. Corrections are
//! reversal entries; nothing is ever updated.

use sha2::{Digest, Sha256};

use crate::role::Role;
use crate::{DomainError, DomainResult};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields an entry's hash covers, in their canonical order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFields<'a> {
    pub seq: i64,
    pub id: &'a str,
    pub officer_id: &'a str,
    pub rule_code: &'a str,
    pub points: i32,
    pub source_kind: &'a str,
    pub source_id: &'a str,
    pub reverses_seq: Option<i64>,
    pub recorded_at: i64,
}

/// SHA-256 over the previous hash and the canonical fields, each length-prefixed so no
/// two different entries serialise alike.
pub fn entry_hash(prev_hash: &str, f: &EntryFields<'_>) -> String {
    let mut h = Sha256::new();
    let mut put = |s: &str| {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    };
    put(prev_hash);
    put(&f.seq.to_string());
    put(f.id);
    put(f.officer_id);
    put(f.rule_code);
    put(&f.points.to_string());
    put(f.source_kind);
    put(f.source_id);
    put(&f.reverses_seq.map(|s| s.to_string()).unwrap_or_default());
    put(&f.recorded_at.to_string());
    hex::encode(h.finalize())
}

/// A stored entry as verification sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry<'a> {
    pub fields: EntryFields<'a>,
    pub prev_hash: &'a str,
    pub hash: &'a str,
}

/// Where a chain first fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The first entry (by position) that does not verify.
    pub seq: i64,
    pub reason: String,
}

/// Verifies entries in `seq` order: positions 1, 2, 3… without gaps, each linking to its
/// predecessor's hash and hashing to its stored hash. `expected_head` (an exported,
/// signed head) also catches a truncated tail.
pub fn verify_chain(
    entries: &[StoredEntry<'_>],
    expected_head: Option<(i64, &str)>,
) -> Result<(), Break> {
    let mut prev = GENESIS.to_owned();
    for (i, e) in entries.iter().enumerate() {
        let want_seq = i64::try_from(i).unwrap_or(i64::MAX) + 1;
        if e.fields.seq != want_seq {
            return Err(Break {
                seq: want_seq,
                reason: format!(
                    "entry {want_seq} is missing (found {} in its place)",
                    e.fields.seq
                ),
            });
        }
        if e.prev_hash != prev {
            return Err(Break {
                seq: e.fields.seq,
                reason: "does not link to the previous entry's hash".into(),
            });
        }
        if entry_hash(&prev, &e.fields) != e.hash {
            return Err(Break {
                seq: e.fields.seq,
                reason: "its content does not match its hash".into(),
            });
        }
        prev = e.hash.to_owned();
    }
    if let Some((seq, hash)) = expected_head {
        let last = i64::try_from(entries.len()).unwrap_or(i64::MAX);
        if last < seq {
            return Err(Break {
                seq: last + 1,
                reason: format!("the history ends at {last} but the exported head is at {seq}"),
            });
        }
        let at = entries
            .get(usize::try_from(seq - 1).unwrap_or(usize::MAX))
            .map(|e| e.hash);
        if seq > 0 && at != Some(hash) {
            return Err(Break {
                seq,
                reason: "differs from the exported head".into(),
            });
        }
    }
    Ok(())
}

/// The person a claim or adjustment is for, as the audit rule sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject<'a> {
    pub id: &'a str,
    pub role: Role,
    /// The auditor's scope covers them: one of their current communities lies in the
    /// supervisor's streets (always true for an admin).
    pub covered: bool,
}

/// Who may audit points for `subject`, i.e. decide their claim or file an adjustment for
/// them: one of their own supervisors (a supervisor whose streets cover them) or an
/// admin; never for themselves; and only for a role that earns points
/// ([`Role::earns_points`]), so no resident, supervisor or admin ever holds a balance.
/// Checked in that order, so the answer names the first reason.
pub fn may_audit(auditor_role: Role, auditor_id: &str, subject: &Subject<'_>) -> DomainResult<()> {
    if !matches!(auditor_role, Role::Supervisor | Role::Admin) {
        return Err(DomainError::forbidden(
            "only supervisors and admins audit points",
        ));
    }
    if auditor_id == subject.id {
        return Err(DomainError::forbidden(
            "nobody audits points for themselves; another supervisor decides",
        ));
    }
    if !subject.role.earns_points() {
        return Err(DomainError::invalid(
            "officer_id",
            format!(
                "a {} account earns no points; only officers and party members do",
                subject.role
            ),
        ));
    }
    if !subject.covered {
        return Err(DomainError::forbidden(
            "this person works outside your streets; their own supervisors audit their points",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<(EntryFields<'static>, String, String)> {
        let mut out = Vec::new();
        let mut prev = GENESIS.to_owned();
        for seq in 1..=n {
            let f = EntryFields {
                seq,
                id: "id",
                officer_id: "o",
                rule_code: "visit_verified",
                points: 2,
                source_kind: "visit",
                source_id: "v",
                reverses_seq: None,
                recorded_at: seq * 1000,
            };
            let h = entry_hash(&prev, &f);
            out.push((f, prev.clone(), h.clone()));
            prev = h;
        }
        out
    }

    fn stored<'a>(c: &'a [(EntryFields<'static>, String, String)]) -> Vec<StoredEntry<'a>> {
        c.iter()
            .map(|(f, p, h)| StoredEntry {
                fields: f.clone(),
                prev_hash: p,
                hash: h,
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies_against_its_head() {
        let c = chain(5);
        let head = c[4].2.clone();
        assert_eq!(verify_chain(&stored(&c), Some((5, &head))), Ok(()));
    }

    #[test]
    fn tampering_deletion_reordering_and_truncation_name_the_first_bad_entry() {
        let c = chain(5);
        let head = c[4].2.clone();
        let mut tampered = c.clone();
        tampered[2].0.points = 200;
        assert_eq!(
            verify_chain(&stored(&tampered), None).err().map(|b| b.seq),
            Some(3)
        );
        let mut deleted = c.clone();
        deleted.remove(1);
        assert_eq!(
            verify_chain(&stored(&deleted), None).err().map(|b| b.seq),
            Some(2)
        );
        let mut swapped = c.clone();
        swapped.swap(1, 2);
        assert_eq!(
            verify_chain(&stored(&swapped), None).err().map(|b| b.seq),
            Some(2)
        );
        let truncated = c[..3].to_vec();
        assert_eq!(
            verify_chain(&stored(&truncated), None),
            Ok(()),
            "invisible without the head"
        );
        assert_eq!(
            verify_chain(&stored(&truncated), Some((5, &head)))
                .err()
                .map(|b| b.seq),
            Some(4)
        );
    }

    #[test]
    fn points_are_audited_by_a_covering_supervisor_for_someone_who_earns_them() {
        let subject = |role, covered| Subject {
            id: "o",
            role,
            covered,
        };
        let cases = [
            (
                "a covering supervisor",
                Role::Supervisor,
                "s",
                subject(Role::Officer, true),
                Ok(()),
            ),
            (
                "for a party member",
                Role::Supervisor,
                "s",
                subject(Role::PartyMember, true),
                Ok(()),
            ),
            (
                "an admin",
                Role::Admin,
                "a",
                subject(Role::Officer, true),
                Ok(()),
            ),
            (
                "for themselves",
                Role::Supervisor,
                "o",
                subject(Role::Officer, true),
                Err("forbidden"),
            ),
            (
                "an officer",
                Role::Officer,
                "x",
                subject(Role::Officer, true),
                Err("forbidden"),
            ),
            (
                "outside their streets",
                Role::Supervisor,
                "s",
                subject(Role::Officer, false),
                Err("forbidden"),
            ),
            (
                "for a resident",
                Role::Supervisor,
                "s",
                subject(Role::Resident, true),
                Err("invalid"),
            ),
            (
                "for a supervisor",
                Role::Admin,
                "a",
                subject(Role::Supervisor, true),
                Err("invalid"),
            ),
            (
                "for an admin",
                Role::Admin,
                "a",
                subject(Role::Admin, true),
                Err("invalid"),
            ),
        ];
        for (name, role, auditor, subject, want) in cases {
            let got = may_audit(role, auditor, &subject).map_err(|e| match e {
                DomainError::Forbidden { .. } => "forbidden",
                DomainError::Invalid { .. } => "invalid",
                _ => "other",
            });
            assert_eq!(got, want, "{name}");
        }
    }
}
