//! The two migration folders hold the same versions, and `schema.rs` matches the tables
//! they create on each backend.

use std::collections::BTreeSet;
use std::path::Path;

use diesel::prelude::*;
use diesel::sql_types::Text;
use patrol_api::db::{self, DatabaseUrl, DbConn};
use patrol_tests::{Backend, TestDb};

fn versions(dir: &str) -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("migrations")
        .join(dir);
    std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn both_backends_have_the_same_migration_versions() {
    let sqlite = versions("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, versions("postgres"));
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

fn columns(conn: &mut DbConn) -> BTreeSet<(String, String)> {
    let sql = match conn {
        DbConn::Sqlite(_) => {
            "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m \
             JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             AND m.name <> '__diesel_schema_migrations'"
        }
        DbConn::Pg(_) => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name \
             FROM information_schema.columns WHERE table_schema = 'public' \
             AND table_name <> '__diesel_schema_migrations'"
        }
    };
    diesel::sql_query(sql)
        .load::<Column>(conn)
        .expect("columns")
        .into_iter()
        .map(|c| (c.table_name, c.column_name))
        .collect()
}

fn check(backend: Backend) {
    let Some(test_db) = TestDb::create(backend) else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant not run");
        return;
    };
    let pool = db::connect(&DatabaseUrl::parse(test_db.url()).expect("url"), 1).expect("pool");
    let mut conn = pool.get().expect("conn");
    db::migrate(&mut conn).expect("migrate");
    let declared: BTreeSet<(String, String)> = patrol_api::db::schema::TABLES
        .iter()
        .flat_map(|(t, cols)| cols.iter().map(move |c| ((*t).to_owned(), (*c).to_owned())))
        .collect();
    assert_eq!(
        columns(&mut conn),
        declared,
        "{backend:?}: schema.rs and migrations differ"
    );
    // Every declared table is queryable through diesel with its declared types.
    use patrol_api::db::schema::*;
    users::table
        .select(users::all_columns)
        .load::<patrol_api::db::store::UserRow>(&mut conn)
        .expect("users");
    communities::table
        .select(communities::all_columns)
        .load::<patrol_api::db::store::CommunityRow>(&mut conn)
        .expect("communities");
}

#[test]
fn schema_rs_matches_the_sqlite_migrations() {
    check(Backend::Sqlite);
}

#[test]
fn schema_rs_matches_the_postgres_migrations() {
    check(Backend::Postgres);
}
