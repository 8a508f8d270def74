//! The HTTP edge: the route table, handlers (parse, authorise, call a command, map the
//! result), extractors, middleware and the one mapping of [`ApiError`] to
//! `application/problem+json`.
//!
//! [`ApiError`]: crate::infra::error::ApiError

pub mod auth;
pub mod extract;
pub mod handlers;
pub mod middleware;
pub mod problem;
pub mod report_page;
pub mod routes;
