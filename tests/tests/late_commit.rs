//! A pull cursor that cannot skip (SYNC.md, item 6): on PostgreSQL a writer holds its
//! transaction open while others commit and a client pulls again and again; once it
//! commits, its rows still arrive. The same schedule read with a naive `seq > cursor`
//! query loses rows, which shows the test can see the bug.

use std::collections::BTreeSet;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use patrol_api::auth::AuthUser;
use patrol_api::db::{self, DatabaseUrl};
use patrol_api::sync::pull::pull;
use patrol_domain::role::Role;
use patrol_sync::protocol::PullRequest;
use patrol_tests::rng::SplitMix;
use patrol_tests::{Backend, TestDb};

#[derive(QueryableByName)]
struct Seq {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Text)]
    entity_id: String,
}

struct Writer {
    conn: PgConnection,
    open: bool,
    pending: Vec<String>,
}

const USER: &str = "late-commit-reader";

fn insert(conn: &mut PgConnection, id: &str) {
    diesel::sql_query(
        "INSERT INTO change_log (user_id, entity, entity_id, op, payload, changed_at) VALUES ($1, 'probe', $2, 'upsert', '{}', 0)",
    )
    .bind::<Text, _>(USER)
    .bind::<Text, _>(id)
    .execute(conn)
    .unwrap();
}

#[test]
fn late_commits_are_never_skipped_by_pull_but_are_by_a_naive_cursor() {
    let Some(test_db) = TestDb::create(Backend::Postgres) else {
        eprintln!("TEST_DATABASE_URL not set: the late-commit test needs PostgreSQL");
        return;
    };
    let rounds: u64 = std::env::var("PATROL_LATE_COMMIT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let seed: u64 = std::env::var("PATROL_LATE_COMMIT_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EED);
    let pool = db::connect(&DatabaseUrl::parse(test_db.url()).unwrap(), 2).unwrap();
    let mut reader = pool.get().unwrap();
    db::migrate(&mut reader).unwrap();
    patrol_api::db::store::ensure_server_epoch(&mut reader).unwrap();
    let mut writers: Vec<Writer> = (0..3)
        .map(|_| Writer {
            conn: PgConnection::establish(test_db.url()).unwrap(),
            open: false,
            pending: Vec::new(),
        })
        .collect();
    let user = AuthUser {
        id: USER.into(),
        role: Role::Resident,
    };
    let key = b"late-commit-test-key";
    let mut rng = SplitMix(seed);
    let mut cursor: Option<String> = None;
    let mut seen: Vec<String> = Vec::new();
    let mut naive_last = 0i64;
    let mut naive_seen: BTreeSet<String> = BTreeSet::new();
    let mut committed: BTreeSet<String> = BTreeSet::new();
    let mut next = 0u64;
    let pull_once = |reader: &mut patrol_api::db::PooledConn,
                     cursor: &mut Option<String>,
                     seen: &mut Vec<String>| loop {
        let req = PullRequest {
            client_id: "0190a5e2-0000-7000-8000-00000000fa7e".into(),
            protocol_version: 1,
            cursor: cursor.clone(),
            limit: Some(50),
        };
        let page = pull(reader, key, &user, &req).unwrap();
        seen.extend(page.changes.iter().map(|c| c.id.clone()));
        *cursor = Some(page.cursor);
        // An empty page with has_more: rows wait behind a writer this thread holds open.
        if !page.has_more || page.changes.is_empty() {
            break;
        }
    };
    for _ in 0..rounds {
        for _ in 0..12 {
            let w = usize::try_from(rng.below(3)).unwrap();
            match rng.below(5) {
                0 | 1 => {
                    let writer = &mut writers[w];
                    if !writer.open {
                        writer.conn.batch_execute("BEGIN").unwrap();
                        writer.open = true;
                    }
                    next += 1;
                    let id = format!("r{next}");
                    insert(&mut writer.conn, &id);
                    writer.pending.push(id);
                }
                2 => {
                    let writer = &mut writers[w];
                    if writer.open {
                        writer.conn.batch_execute("COMMIT").unwrap();
                        writer.open = false;
                        committed.extend(writer.pending.drain(..));
                    }
                }
                3 => pull_once(&mut reader, &mut cursor, &mut seen),
                _ => {
                    let rows: Vec<Seq> = diesel::sql_query(
                        "SELECT seq, entity_id FROM change_log WHERE user_id = $1 AND seq > $2 ORDER BY seq",
                    )
                    .bind::<Text, _>(USER)
                    .bind::<BigInt, _>(naive_last)
                    .load(&mut reader)
                    .unwrap();
                    for r in rows {
                        naive_last = naive_last.max(r.seq);
                        naive_seen.insert(r.entity_id);
                    }
                }
            }
        }
    }
    for writer in &mut writers {
        if writer.open {
            writer.conn.batch_execute("COMMIT").unwrap();
            committed.extend(writer.pending.drain(..));
        }
    }
    pull_once(&mut reader, &mut cursor, &mut seen);
    let seen_set: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(
        seen.len(),
        seen_set.len(),
        "seed {seed}: a row was delivered twice"
    );
    let missing: Vec<&String> = committed.difference(&seen_set).collect();
    assert!(
        missing.is_empty(),
        "seed {seed} (replay with PATROL_LATE_COMMIT_SEED={seed}): pull skipped {missing:?}"
    );
    assert_eq!(seen_set, committed);
    let naive_missing = committed.difference(&naive_seen).count();
    assert!(
        naive_missing > 0,
        "seed {seed}: the naive cursor missed nothing, so this schedule cannot tell the difference"
    );
    eprintln!(
        "late commits: {} rows over {rounds} rounds; pull skipped 0, a naive seq cursor skipped {naive_missing}",
        committed.len()
    );
}

/// Two transactions each waiting for a row the other holds: PostgreSQL aborts one. That is
/// a retryable failure (503 with Retry-After to the caller), not a server error.
#[test]
fn a_deadlock_is_a_retryable_failure() {
    let Some(test_db) = TestDb::create(Backend::Postgres) else {
        eprintln!("TEST_DATABASE_URL not set: the deadlock test needs PostgreSQL");
        return;
    };
    let mut a = PgConnection::establish(test_db.url()).unwrap();
    let mut b = PgConnection::establish(test_db.url()).unwrap();
    a.batch_execute(
        "CREATE TABLE deadlock_probe (id INT PRIMARY KEY, n INT NOT NULL); \
         INSERT INTO deadlock_probe VALUES (1, 0), (2, 0)",
    )
    .unwrap();
    for c in [&mut a, &mut b] {
        c.batch_execute("SET deadlock_timeout = '50ms'; BEGIN")
            .unwrap();
    }
    a.batch_execute("UPDATE deadlock_probe SET n = 1 WHERE id = 1")
        .unwrap();
    b.batch_execute("UPDATE deadlock_probe SET n = 1 WHERE id = 2")
        .unwrap();
    let waiting = std::thread::spawn(move || {
        let r = a.batch_execute("UPDATE deadlock_probe SET n = 2 WHERE id = 2");
        (a, r)
    });
    let second = b.batch_execute("UPDATE deadlock_probe SET n = 2 WHERE id = 1");
    // Whichever PostgreSQL aborted, let the other finish.
    if second.is_err() {
        b.batch_execute("ROLLBACK").unwrap();
    }
    let (_a, first) = waiting.join().unwrap();
    let failed = match (first, second) {
        (Err(e), Ok(())) | (Ok(()), Err(e)) => e,
        other => panic!("expected exactly one transaction aborted: {other:?}"),
    };
    let classified = patrol_api::db::StoreError::from(failed);
    assert!(
        matches!(classified, patrol_api::db::StoreError::Unavailable(_)),
        "{classified:?}"
    );
}
