//! The offline sync protocol (`../shared/SYNC.md`): officers queue named mutations on their
//! phones and push them later; the server re-executes each against current state, exactly
//! once, and records its outcome; devices pull the server's changes through a cursor that
//! cannot skip a late commit.
//!
//! This crate holds what both sides share and what is pure: the wire types, the mutation
//! catalogue with argument checks, the merge rules by field class, and the signed cursor.

pub mod client;
pub mod cursor;
pub mod error;
pub mod merge;
pub mod protocol;

pub use error::{SyncError, SyncResult};
