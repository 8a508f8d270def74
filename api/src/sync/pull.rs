//! `POST /api/v1/sync/pull`: the caller's changes after a cursor, one page at a time.
//!
//! Order is `(commit_seq, seq)`: `commit_seq` is handed out in commit order (see the
//! change-log migration: a commit-time stamp under one row lock on PostgreSQL, the
//! single writer on SQLite), so a row that commits late still sorts after every cursor
//! served before it. Unstamped rows (not yet committed) are never served. The page and
//! the client's last applied mutation id are read in one snapshot.

use std::collections::BTreeSet;

use diesel::connection::SimpleConnection;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use patrol_domain::role::Scope;
use patrol_sync::cursor::{Backfill, Cursor};
use patrol_sync::protocol::{
    Change, ChangeOp, MAX_PULL_LIMIT, PROTOCOL_VERSION, PullRequest, PullResponse,
};
use serde_json::Value;

use crate::auth::AuthUser;
use crate::commands::scope::scope_of;
use crate::db::changes::AUDITED_ENTITIES;
use crate::db::schema::{change_log, communities};
use crate::db::{DbConn, StoreError, store};
use crate::infra::error::ApiError;
use crate::sync::push::client;

/// The scope marker a cursor keeps for callers who see everything.
const ALL: &str = "*";

type Row = (
    Option<i64>,
    i64,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    String,
);

fn scope_ids(scope: &Scope) -> Vec<String> {
    match scope {
        Scope::All => vec![ALL.to_owned()],
        Scope::Communities(ids) => {
            let set: BTreeSet<&String> = ids.iter().collect();
            set.into_iter().cloned().collect()
        }
        Scope::Own => Vec::new(),
    }
}

/// Which slice of the log a page reads.
struct Window<'a> {
    /// Exclusive start position `(commit_seq, seq)`.
    after: (i64, i64),
    /// Inclusive end position, for backfills.
    until: Option<(i64, i64)>,
    /// Only these communities (a backfill); otherwise the caller's whole scope.
    communities_only: Option<&'a [String]>,
    /// The caller audits people (a supervisor or admin), so the community copies of
    /// audited records (diary entries, points claims) are theirs to pull.
    auditor: bool,
}

/// Rows after a position, oldest first, that the caller may see.
fn page(
    conn: &mut DbConn,
    w: Window<'_>,
    user_id: &str,
    scope: &[String],
    limit: i64,
) -> Result<Vec<Row>, StoreError> {
    let Window {
        after,
        until,
        communities_only,
        auditor,
    } = w;
    let (t, s) = after;
    let mut q = change_log::table
        .select((
            change_log::commit_seq,
            change_log::seq,
            change_log::community_id,
            change_log::user_id,
            change_log::entity,
            change_log::entity_id,
            change_log::op,
            change_log::payload,
        ))
        .filter(change_log::commit_seq.is_not_null())
        // A row-value comparison, so both engines seek the (commit_seq, seq) index to the
        // cursor instead of filtering history: a page costs the same with 1k or 1M rows.
        .filter(
            sql::<Bool>("(commit_seq, seq) > (")
                .bind::<BigInt, _>(t)
                .sql(", ")
                .bind::<BigInt, _>(s)
                .sql(")"),
        )
        .order((change_log::commit_seq, change_log::seq))
        .limit(limit)
        .into_boxed();
    if let Some((ut, us)) = until {
        q = q.filter(
            sql::<Bool>("(commit_seq, seq) <= (")
                .bind::<BigInt, _>(ut)
                .sql(", ")
                .bind::<BigInt, _>(us)
                .sql(")"),
        );
    }
    if let Some(only) = communities_only {
        q = q.filter(change_log::community_id.eq_any(only.to_vec()));
    } else if scope.first().map(String::as_str) != Some(ALL) {
        q = q.filter(
            change_log::community_id
                .eq_any(scope.to_vec())
                .or(change_log::user_id.eq(user_id.to_owned())),
        );
    }
    if !auditor {
        q = q.filter(
            change_log::entity
                .ne_all(AUDITED_ENTITIES)
                .or(change_log::user_id.eq(user_id.to_owned())),
        );
    }
    Ok(q.load::<Row>(conn)?)
}

fn to_change(r: Row, me: &str) -> Change {
    let (_, _, community_id, user_id, entity, id, op, payload) = r;
    Change {
        personal: user_id.as_deref() == Some(me),
        community_id,
        entity,
        id,
        op: if op == "delete" {
            ChangeOp::Delete
        } else {
            ChangeOp::Upsert
        },
        data: serde_json::from_str::<Value>(&payload).ok(),
    }
}

/// Serves one page of changes to `user`.
pub fn pull(
    conn: &mut DbConn,
    key: &[u8],
    user: &AuthUser,
    req: &PullRequest,
) -> Result<PullResponse, ApiError> {
    if req.protocol_version != PROTOCOL_VERSION {
        return Err(ApiError::bad_field(
            "protocol_version",
            format!("this server speaks version {PROTOCOL_VERSION}"),
        ));
    }
    let limit = i64::from(req.limit.unwrap_or(200).clamp(1, MAX_PULL_LIMIT));
    let cursor = req
        .cursor
        .as_deref()
        .map(|c| Cursor::decode(c, key))
        .transpose()
        .map_err(|_| {
            ApiError::bad_field(
                "cursor",
                "the cursor is not one this server issued; pull without a cursor to start over",
            )
        })?;
    if cursor.as_ref().is_some_and(|c| c.user_id != user.id) {
        return Err(ApiError::bad_field(
            "cursor",
            "the cursor was issued to another account",
        ));
    }
    patrol_sync::protocol::check_client_id(&req.client_id)
        .map_err(|e| ApiError::bad_field("client_id", e.to_string()))?;
    conn.transaction(|conn| -> Result<PullResponse, ApiError> {
        if let DbConn::Pg(_) = conn {
            // One snapshot for the page and the client's last applied mutation id; each
            // pull planned for its own cursor, so the index seek is kept.
            conn.batch_execute(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; \
                 SET LOCAL plan_cache_mode = force_custom_plan",
            )?;
        }
        // The client's account and, in the page's snapshot, its last applied mutation id.
        let last_mutation_id = match client(conn, &req.client_id)? {
            Some((owner, _)) if owner != user.id => {
                return Err(ApiError::Forbidden(
                    "this client id belongs to another account".into(),
                ));
            }
            Some((_, last)) => last,
            // Unknown ids belong to nobody yet: a device may pull before its first push.
            None => 0,
        };
        let epoch = store::meta_get(conn, "server_epoch")?.ok_or(StoreError::NotFound)?;
        let scope = scope_ids(&scope_of(conn, user)?);
        let fresh = || Cursor {
            epoch: epoch.clone(),
            user_id: user.id.clone(),
            commit: 0,
            seq: 0,
            scope: scope.clone(),
            backfill: None,
        };
        // Behind the retention horizon, changes it never saw may be gone: start over.
        let horizon = super::retention::horizon(conn)?;
        let behind = |c: &Cursor| {
            horizon.is_some_and(|h| {
                (c.commit, c.seq) < h || c.backfill.as_ref().is_some_and(|b| (b.commit, b.seq) < h)
            })
        };
        let (mut cur, reset) = match cursor {
            None => (fresh(), false),
            Some(c) if c.epoch != epoch || behind(&c) => (fresh(), true),
            Some(c) => (c, false),
        };
        // Scope changes since the cursor: drop what was taken away, backfill what was
        // granted. Scope is recomputed here every time; the cursor only remembers it.
        let before: BTreeSet<String> = cur.scope.iter().cloned().collect();
        let now: BTreeSet<String> = scope.iter().cloned().collect();
        let dropped_ids: Vec<String> = if now.contains(ALL) {
            Vec::new()
        } else {
            before
                .difference(&now)
                .filter(|c| *c != ALL)
                .cloned()
                .collect()
        };
        let added: Vec<String> = if before.contains(ALL) {
            Vec::new()
        } else {
            now.difference(&before)
                .filter(|c| *c != ALL)
                .cloned()
                .collect()
        };
        if let Some(b) = cur.backfill.as_mut() {
            b.communities.retain(|c| now.contains(c));
        }
        if !added.is_empty() {
            let mut communities = cur
                .backfill
                .as_ref()
                .map(|b| b.communities.clone())
                .unwrap_or_default();
            communities.extend(added);
            cur.backfill = Some(Backfill {
                communities,
                commit: 0,
                seq: 0,
                until_commit: cur.commit,
                until_seq: cur.seq,
            });
        }
        cur.scope = scope.clone();
        let dropped_communities: Vec<String> = if dropped_ids.is_empty() {
            Vec::new()
        } else {
            communities::table
                .filter(communities::id.eq_any(&dropped_ids))
                .select(communities::id)
                .load(conn)?
        };

        let mut changes = Vec::new();
        let has_more;
        match cur.backfill.take() {
            Some(mut b) if !b.communities.is_empty() => {
                let window = Window {
                    after: (b.commit, b.seq),
                    until: Some((b.until_commit, b.until_seq)),
                    communities_only: Some(&b.communities),
                    auditor: user.role.audits(),
                };
                let rows = page(conn, window, &user.id, &scope, limit + 1)?;
                let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
                for r in rows.into_iter().take(usize::try_from(limit).unwrap_or(0)) {
                    b.commit = r.0.unwrap_or_default();
                    b.seq = r.1;
                    changes.push(to_change(r, &user.id));
                }
                // The main log continues after the backfill either way.
                has_more = true;
                cur.backfill = more.then_some(b);
            }
            _ => {
                let window = Window {
                    after: (cur.commit, cur.seq),
                    until: None,
                    communities_only: None,
                    auditor: user.role.audits(),
                };
                let rows = page(conn, window, &user.id, &scope, limit + 1)?;
                let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
                for r in rows.into_iter().take(usize::try_from(limit).unwrap_or(0)) {
                    cur.commit = r.0.unwrap_or_default();
                    cur.seq = r.1;
                    changes.push(to_change(r, &user.id));
                }
                if !more {
                    // Everything stamped so far has been looked at, visible to this caller
                    // or not: move past it, so the next pull does not wade through other
                    // communities' history again. Later commits get higher stamps.
                    let last: Option<i64> = change_log::table
                        .select(diesel::dsl::max(change_log::commit_seq))
                        .first(conn)?;
                    if let Some(last) = last
                        && (last, i64::MAX) > (cur.commit, cur.seq)
                    {
                        cur.commit = last;
                        cur.seq = i64::MAX;
                    }
                }
                has_more = more;
            }
        }
        Ok(PullResponse {
            changes,
            after: req.cursor.clone(),
            cursor: cur.encode(key),
            has_more,
            last_mutation_id,
            server_epoch: epoch.clone(),
            reset,
            dropped_communities,
        })
    })
}
