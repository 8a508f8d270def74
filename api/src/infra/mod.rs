//! Infrastructure every layer above may use: configuration, the shared application state,
//! metrics, photo byte storage, one-time code delivery and the error type commands and
//! handlers return (its HTTP form lives in `http::problem`).

pub mod blobs;
pub mod config;
pub mod error;
pub mod metrics;
pub mod otp;
pub mod state;
pub mod storage;
