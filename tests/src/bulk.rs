//! Bulk history for benchmarks, written straight into the tables in one statement per
//! table (valid SQL on both backends).

// Benchmark set-up panics on purpose when it fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use patrol_api::db::schema::{categories, communities, users};
use patrol_api::db::{self, DatabaseUrl, DbConn};

/// Writes `cases` cases and `visits` visits spread over 2026, in one statement each, for
/// benchmarks: every community and category in turn, `open.0` of every `open.1` cases
/// still in progress and the rest closed, all handled and visited by the user `officer`.
pub fn history(url: &str, officer: &str, cases: u64, visits: u64, open: (u64, u64)) {
    let pool = db::connect(&DatabaseUrl::parse(url).unwrap(), 1).unwrap();
    let mut conn = pool.get().unwrap();
    let ids: Vec<String> = communities::table
        .select(communities::id)
        .order(communities::code)
        .load(&mut conn)
        .unwrap();
    let cats: Vec<String> = categories::table
        .select(categories::id)
        .order(categories::code)
        .load(&mut conn)
        .unwrap();
    let officer: String = users::table
        .filter(users::login.eq(officer))
        .select(users::id)
        .first(&mut conn)
        .unwrap();
    let pick = |list: &[String]| {
        let arms: String = list
            .iter()
            .enumerate()
            .map(|(k, id)| format!(" WHEN {k} THEN '{id}'"))
            .collect();
        format!("CASE i % {}{arms} END", list.len())
    };
    let (community, category) = (pick(&ids), pick(&cats));
    let t0: i64 = 1_767_196_800_000; // 2026-01-01 00:00 +08:00
    let year: i64 = 365 * 86_400_000;
    let pg = matches!(&mut *conn, DbConn::Pg(_));
    let (series, cast) = if pg {
        ("generate_series(0, {last}) AS n(i)", "::bigint")
    } else {
        ("n", "")
    };
    let with = |last: u64| {
        if pg {
            String::new()
        } else {
            format!(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) "
            )
        }
    };
    let step = year / i64::try_from(cases.max(1)).unwrap();
    let sql = format!(
        "{with}INSERT INTO cases (id, community_id, category_id, source, status, close_outcome, \
         description, description_rev, notes, notes_rev, lat, lon, reporter_anonymous, priority, \
         rework_count, self_handled, class_721, observed_at_suspect, created_at, updated_at, \
         version, accepted_at, close_due_at, closed_at, handler_id) \
         SELECT 'b' || i, {community}, {category}, 'patrol_find', \
         CASE WHEN i % {every} < {closed} THEN 'closed' ELSE 'in_progress' END, \
         CASE WHEN i % {every} < {closed} THEN 'fixed' END, '基准', 1, '', 0, 36.605, 101.805, FALSE, \
         'normal', i % 2, FALSE, 'service', FALSE, {t0} + i{cast} * {step}, {t0}, 1, \
         {t0} + i{cast} * {step} + 3600000, {t0} + i{cast} * {step} + 259200000, \
         CASE WHEN i % {every} < {closed} THEN {t0} + i{cast} * {step} + (i % 97) * 3600000 END, '{officer}' \
         FROM {from}",
        with = with(cases.saturating_sub(1)),
        from = series.replace("{last}", &cases.saturating_sub(1).to_string()),
        every = open.1,
        closed = open.1 - open.0,
    );
    if cases > 0 {
        conn.batch_execute(&sql).unwrap();
    }
    let step = year / i64::try_from(visits.max(1)).unwrap();
    let sql = format!(
        "{with}INSERT INTO visits (id, officer_id, community_id, started_at, ended_at, \
         received_at, fixes, photo_hashes, met, purpose, notes, class_721, flags, status, \
         created_at) SELECT 'v' || i, '{officer}', {community}, {t0} + i{cast} * {step}, \
         {t0} + i{cast} * {step} + 1800000, {t0} + i{cast} * {step}, '[]', '[]', '[]', '走访', '', \
         CASE WHEN i % 10 = 0 THEN 'enforcement' WHEN i % 10 < 3 THEN 'management' \
         ELSE 'service' END, CASE WHEN i % 20 = 0 THEN '[\"TOO_SHORT\"]' ELSE '[]' END, \
         CASE WHEN i % 20 = 0 THEN 'flagged' ELSE 'verified' END, {t0} FROM {from}",
        with = with(visits.saturating_sub(1)),
        from = series.replace("{last}", &visits.saturating_sub(1).to_string()),
    );
    if visits > 0 {
        conn.batch_execute(&sql).unwrap();
    }
    conn.batch_execute("ANALYZE").unwrap();
}
