//! The one integration-test binary: black-box scenarios over HTTP, each run on SQLite
//! and (with `TEST_DATABASE_URL`) on PostgreSQL.

// Tests panic on purpose: an unexpected answer must fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod architecture;
mod audit;
mod auth;
mod awards;
mod blobs;
mod browser_harness;
mod cases;
mod console;
mod contract;
mod contract_inputs;
mod convergence;
mod crash;
mod demo;
mod diary;
mod engagement;
mod full_disk;
mod hardening;
mod hotline;
mod indicators;
mod input;
mod late_commit;
mod leaks;
mod org;
mod points;
mod processes;
mod readme;
mod reports;
mod retention;
mod roles;
mod schema;
mod sms;
mod storage;
mod sync;
mod sync_semantics;
mod visits;
mod whistles;
