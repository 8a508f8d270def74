//! The server side of offline sync: push applies each mutation exactly once, pull
//! serves the change log through a cursor that cannot skip a late commit.

pub mod pull;
pub mod push;
pub mod retention;
