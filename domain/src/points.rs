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

/// Who may decide a points claim: a supervisor or admin who is not the claimant.
pub fn may_decide(role: Role, decider_id: &str, officer_id: &str) -> DomainResult<()> {
    if !matches!(role, Role::Supervisor | Role::Admin) {
        return Err(DomainError::forbidden(
            "only supervisors decide points claims",
        ));
    }
    if decider_id == officer_id {
        return Err(DomainError::forbidden("nobody approves their own claim"));
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
    fn claims_are_decided_by_someone_else_with_the_right_role() {
        assert!(may_decide(Role::Supervisor, "s", "o").is_ok());
        assert!(may_decide(Role::Supervisor, "o", "o").is_err());
        assert!(may_decide(Role::Officer, "x", "o").is_err());
    }
}
