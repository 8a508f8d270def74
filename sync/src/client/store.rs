//! The engine's SQLite file: queue, replica, meta and conflicts. Plain SQL through diesel so
//! a mobile team can read the schema straight off this file and port it.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::ClientError;

/// Created on every open; `IF NOT EXISTS` makes reopening a no-op.
const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA busy_timeout = 5000;
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS queue (
    id BIGINT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    args TEXT NOT NULL,
    observed_at TEXT,
    status TEXT NOT NULL,
    result TEXT
);
-- `community`: the community the record came through (none: it reaches this account
-- only personally); taking that community away drops the record.
CREATE TABLE IF NOT EXISTS replica (
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    community TEXT,
    PRIMARY KEY (entity, id)
);
-- Records that reach this account personally (it reported, wrote or caused them), not
-- only through a community: they stay when that community is taken away.
CREATE TABLE IF NOT EXISTS personal (
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (entity, id)
);
-- Photos taken on this device, kept until the server has their bytes: records carry only
-- the hash and sync first; bytes follow (`pending` until the upload is confirmed, then
-- `uploaded` with the bytes dropped, or `refused` with the server's reason).
CREATE TABLE IF NOT EXISTS photos_out (
    sha256 TEXT PRIMARY KEY NOT NULL,
    bytes BLOB NOT NULL,
    status TEXT NOT NULL,
    reason TEXT
);
CREATE TABLE IF NOT EXISTS conflicts (
    id TEXT PRIMARY KEY NOT NULL,
    mutation_id BIGINT,
    data TEXT NOT NULL
);
";

// Queue statuses: `pending` and `acknowledged` still wait for their outcome from a push;
// only `pending` is shown on top of the replica (an acknowledged one is already in it).

pub fn open(path: &str, durable: bool) -> Result<SqliteConnection, ClientError> {
    let mut conn = SqliteConnection::establish(path)?;
    // FULL: a commit is on disk before `enqueue` returns, even across a power cut. OFF
    // still survives the app being killed (the OS has the pages), which is all a
    // simulation's restarts model, at a fraction of the cost.
    conn.batch_execute(if durable {
        "PRAGMA synchronous = FULL;"
    } else {
        "PRAGMA synchronous = OFF;"
    })?;
    conn.batch_execute(SCHEMA)?;
    upgrade(&mut conn)?;
    Ok(conn)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A file from a build whose replica rows did not say their community: add the column and
/// pull the synced data again (as after a reset); the queue is the user's work and stays.
fn upgrade(conn: &mut SqliteConnection) -> Result<(), ClientError> {
    let has: Count = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM pragma_table_info('replica') WHERE name = 'community'",
    )
    .get_result(conn)?;
    if has.n == 0 {
        conn.immediate_transaction(|conn| {
            conn.batch_execute(
                "ALTER TABLE replica ADD COLUMN community TEXT; \
                 DELETE FROM replica; DELETE FROM personal; \
                 DELETE FROM meta WHERE key = 'cursor';",
            )
        })?;
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Val {
    #[diesel(sql_type = Text)]
    value: String,
}

pub fn meta_get(conn: &mut SqliteConnection, key: &str) -> Result<Option<String>, ClientError> {
    let v: Option<Val> = diesel::sql_query("SELECT value FROM meta WHERE key = ?")
        .bind::<Text, _>(key)
        .get_result(conn)
        .optional()?;
    Ok(v.map(|v| v.value))
}

pub fn meta_set(conn: &mut SqliteConnection, key: &str, value: &str) -> Result<(), ClientError> {
    diesel::sql_query(
        "INSERT INTO meta (key, value) VALUES (?, ?) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind::<Text, _>(key)
    .bind::<Text, _>(value)
    .execute(conn)?;
    Ok(())
}

/// One row of the queue.
#[derive(QueryableByName, Debug, Clone)]
pub struct QueueRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub args: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub observed_at: Option<String>,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub result: Option<String>,
}

pub fn queue_where(
    conn: &mut SqliteConnection,
    filter: &str,
    bind: i64,
    limit: i64,
) -> Result<Vec<QueueRow>, ClientError> {
    Ok(diesel::sql_query(format!(
        "SELECT id, name, args, observed_at, status, result FROM queue WHERE {filter} \
         ORDER BY id LIMIT ?"
    ))
    .bind::<BigInt, _>(bind)
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

#[derive(QueryableByName)]
struct Num {
    #[diesel(sql_type = Nullable<BigInt>)]
    n: Option<i64>,
}

pub fn scalar(conn: &mut SqliteConnection, sql: &str) -> Result<Option<i64>, ClientError> {
    let r: Num = diesel::sql_query(sql).get_result(conn)?;
    Ok(r.n)
}

/// One replicated record.
#[derive(QueryableByName, Debug, Clone)]
pub struct ReplicaRow {
    #[diesel(sql_type = Text)]
    pub entity: String,
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub data: String,
}

pub fn replica_get(
    conn: &mut SqliteConnection,
    entity: &str,
    id: &str,
) -> Result<Option<ReplicaRow>, ClientError> {
    Ok(
        diesel::sql_query("SELECT entity, id, data FROM replica WHERE entity = ? AND id = ?")
            .bind::<Text, _>(entity)
            .bind::<Text, _>(id)
            .get_result(conn)
            .optional()?,
    )
}

/// Ids of the replica's records of one kind, in id order.
pub fn replica_ids(conn: &mut SqliteConnection, entity: &str) -> Result<Vec<String>, ClientError> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = Text)]
        id: String,
    }
    let rows: Vec<Id> = diesel::sql_query("SELECT id FROM replica WHERE entity = ? ORDER BY id")
        .bind::<Text, _>(entity)
        .load(conn)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

pub fn replica_all(conn: &mut SqliteConnection) -> Result<Vec<ReplicaRow>, ClientError> {
    Ok(diesel::sql_query("SELECT entity, id, data FROM replica ORDER BY entity, id").load(conn)?)
}

/// Rows that `dropped_communities` takes away: the records that came through the
/// community, except those that reach this account personally (a fresh install of the
/// same account would still receive those).
pub fn drop_community(conn: &mut SqliteConnection, community: &str) -> Result<(), ClientError> {
    diesel::sql_query(
        "DELETE FROM replica WHERE community = ? \
         AND NOT EXISTS (SELECT 1 FROM personal p WHERE p.entity = replica.entity AND p.id = replica.id)",
    )
    .bind::<Text, _>(community)
    .execute(conn)?;
    Ok(())
}

/// Marks a record as reaching this account personally, or forgets it.
pub fn set_personal(
    conn: &mut SqliteConnection,
    entity: &str,
    id: &str,
    personal: bool,
) -> Result<(), ClientError> {
    let sql = if personal {
        "INSERT INTO personal (entity, id) VALUES (?, ?) ON CONFLICT DO NOTHING"
    } else {
        "DELETE FROM personal WHERE entity = ? AND id = ?"
    };
    diesel::sql_query(sql)
        .bind::<Text, _>(entity)
        .bind::<Text, _>(id)
        .execute(conn)?;
    Ok(())
}
