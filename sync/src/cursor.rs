//! The pull cursor: an opaque, signed position in the change log. The signature stops a
//! client from forging a position; scope is recomputed on every pull, so even a valid
//! cursor never widens what a caller sees.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::{SyncError, SyncResult};

/// A position in the change log and the scope it was served under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The server epoch the position belongs to; another epoch means reset.
    pub epoch: String,
    /// Who the cursor was issued to.
    pub user_id: String,
    /// Last served position: (commit stamp, sequence). Rows after it in that order are
    /// new to the client.
    pub commit: i64,
    pub seq: i64,
    /// Community ids the client's replica holds.
    pub scope: Vec<String>,
    /// While filling in communities newly granted: which ones and the last record id done.
    pub backfill: Option<Backfill>,
}

/// Progress of a backfill of newly granted communities: their history up to the main
/// position (`until`), after which the main log carries them like any other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backfill {
    pub communities: Vec<String>,
    pub commit: i64,
    pub seq: i64,
    pub until_commit: i64,
    pub until_seq: i64,
}

impl Cursor {
    /// Serialises and signs.
    pub fn encode(&self, key: &[u8]) -> String {
        let body = serde_json::to_vec(self).unwrap_or_default();
        let sig = sign(key, &body);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&body),
            URL_SAFE_NO_PAD.encode(sig)
        )
    }

    /// Verifies the signature and reads the cursor.
    pub fn decode(token: &str, key: &[u8]) -> SyncResult<Cursor> {
        let (body, sig) = token.split_once('.').ok_or(SyncError::BadCursor)?;
        let body = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SyncError::BadCursor)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| SyncError::BadCursor)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| SyncError::BadCursor)?;
        mac.update(b"patrol sync cursor\0");
        mac.update(&body);
        mac.verify_slice(&sig).map_err(|_| SyncError::BadCursor)?;
        serde_json::from_slice(&body).map_err(|_| SyncError::BadCursor)
    }
}

fn sign(key: &[u8], body: &[u8]) -> Vec<u8> {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(b"patrol sync cursor\0");
            mac.update(body);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor() -> Cursor {
        Cursor {
            epoch: "e".into(),
            user_id: "u".into(),
            commit: 10,
            seq: 42,
            scope: vec!["c1".into()],
            backfill: None,
        }
    }

    #[test]
    fn a_cursor_round_trips_under_its_key() {
        let token = cursor().encode(b"key");
        assert_eq!(Cursor::decode(&token, b"key"), Ok(cursor()));
    }

    #[test]
    fn altered_or_foreign_cursors_are_refused() {
        let token = cursor().encode(b"key");
        assert_eq!(Cursor::decode(&token, b"other"), Err(SyncError::BadCursor));
        let mut widened = cursor();
        widened.scope.push("c2".into());
        let forged = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&widened).unwrap()),
            token.split_once('.').unwrap().1
        );
        assert_eq!(Cursor::decode(&forged, b"key"), Err(SyncError::BadCursor));
        assert_eq!(Cursor::decode("garbage", b"key"), Err(SyncError::BadCursor));
    }
}
