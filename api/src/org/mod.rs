//! The organisation as the server keeps it: point lookup and the caller's scope.

pub mod locator;
pub mod scope;
