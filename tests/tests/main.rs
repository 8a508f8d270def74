//! The one integration-test binary: black-box scenarios over HTTP, each run on SQLite
//! and (with `TEST_DATABASE_URL`) on PostgreSQL.

mod auth;
mod contract;
mod org;
mod processes;
mod roles;
mod schema;
