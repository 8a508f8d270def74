//! Identifiers and time stamps as the storage layer keeps them.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// A new UUIDv7 as text: unique without coordination and ordered by creation, so
/// paging by id pages by age.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Now, in milliseconds since the Unix epoch (the storage unit for times).
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Stored milliseconds as an RFC 3339 UTC time with millisecond precision.
pub fn rfc3339(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc_with_z() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_764_201_600_123), "2025-11-27T00:00:00.123Z");
    }

    #[test]
    fn ids_sort_by_creation() {
        let a = new_id();
        let b = new_id();
        assert!(a < b);
    }
}
