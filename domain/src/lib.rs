//! Pure rules and types of patrol: who may do what, where a point lies, how the
//! organisation and the four lists are shaped. No HTTP, no SQL: everything here is
//! unit-tested without a database.

pub mod case;
pub mod case_stats;
pub mod diary;
pub mod engagement;
pub mod error;
pub mod escalation;
pub mod geometry;
pub mod indicators;
pub mod org;
pub mod points;
pub mod role;
pub mod seed;
pub mod text;
pub mod visit;
pub mod whistle;

pub use error::{DomainError, DomainResult};
