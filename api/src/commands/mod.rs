//! Domain commands: every write an officer, a resident or a supervisor makes, one function
//! each, called alike by the online endpoints and by sync push inside the caller's write
//! transaction; and the queries that decide what a caller may see. Rules come from the
//! `patrol-domain` crate; rows from [`crate::db`].

pub mod audit;
pub mod cases;
pub mod context;
pub mod diary;
pub mod engagement;
pub mod escalations;
pub mod exports;
pub mod figures;
pub mod hotline;
pub mod indicators;
pub mod people;
pub mod photos;
pub mod points;
pub mod report;
pub mod scope;
pub mod visits;
pub mod whistles;
