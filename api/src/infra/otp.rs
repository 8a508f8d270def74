//! One-time codes for verifying a resident's phone. Delivery is pluggable: production
//! plugs in an SMS gateway; the built-in sender writes the code to the log for
//! development.

use std::collections::HashMap;
use std::sync::Mutex;

use patrol_domain::org::mask_phone;

/// Delivers a one-time code to a phone.
pub trait CodeSender: Send + Sync {
    /// Sends `code` to `phone`. An error means the code did not leave; the registration
    /// fails with 503 and can be retried.
    fn send(&self, phone: &str, code: &str) -> Result<(), String>;
}

/// Writes codes to the log (development and demos).
pub struct LogSender;

impl CodeSender for LogSender {
    fn send(&self, phone: &str, code: &str) -> Result<(), String> {
        tracing::info!(phone = %mask_phone(phone), otp.code = %code, "one-time code (log sender)");
        Ok(())
    }
}

/// Keeps the last code per phone in memory, for tests that play the resident's phone.
#[derive(Default)]
pub struct MemorySender {
    codes: Mutex<HashMap<String, String>>,
}

impl MemorySender {
    /// The last code sent to `phone`.
    pub fn last_code(&self, phone: &str) -> Option<String> {
        self.codes.lock().ok()?.get(phone).cloned()
    }

    /// Forgets every code sent so far.
    pub fn clear(&self) {
        if let Ok(mut codes) = self.codes.lock() {
            codes.clear();
        }
    }
}

impl CodeSender for MemorySender {
    fn send(&self, phone: &str, code: &str) -> Result<(), String> {
        let mut codes = self
            .codes
            .lock()
            .map_err(|_| "sender poisoned".to_owned())?;
        codes.insert(phone.to_owned(), code.to_owned());
        Ok(())
    }
}
