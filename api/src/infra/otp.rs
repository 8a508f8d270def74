//! One-time codes for verifying a resident's phone. Delivery is pluggable
//! ([`CodeSender`]): production posts to an HTTP SMS gateway ([`HttpSmsSender`]); the log
//! sender ([`LogSender`]) writes the code to the log and is used only under
//! `serve --demo` or with `PATROL_SMS_SENDER=log`; with neither, no sender is configured
//! ([`NoSender`]) and registration answers 503. No other sender ever logs a code.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use patrol_domain::org::mask_phone;

use crate::infra::config::{CodeSenderConfig, SmsGateway};

/// What [`CodeSender::send`] returns: done, or why the code did not leave.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Delivers a one-time code to a phone.
pub trait CodeSender: Send + Sync {
    /// Whether codes can leave at all; `false` makes registration answer 503 before any
    /// code is made.
    fn configured(&self) -> bool {
        true
    }

    /// Sends `code` to `phone`. An error means the code did not leave; the registration
    /// fails with 503 and can be retried. The error must not contain the code.
    fn send<'a>(&'a self, phone: &'a str, code: &'a str) -> SendFuture<'a>;
}

/// The sender `serve` uses for `cfg`: the gateway when one is configured, the log sender
/// when asked for it or under `--demo`, else none.
pub fn sender_for(
    cfg: &CodeSenderConfig,
    demo: bool,
    code_minutes: i64,
) -> anyhow::Result<Arc<dyn CodeSender>> {
    Ok(match cfg {
        CodeSenderConfig::Http(gateway) => {
            Arc::new(HttpSmsSender::new(gateway.clone(), code_minutes)?)
        }
        CodeSenderConfig::Log => Arc::new(LogSender),
        CodeSenderConfig::None if demo => Arc::new(LogSender),
        CodeSenderConfig::None => Arc::new(NoSender),
    })
}

/// No sender configured: registration is unavailable.
pub struct NoSender;

impl CodeSender for NoSender {
    fn configured(&self) -> bool {
        false
    }

    fn send<'a>(&'a self, _phone: &'a str, _code: &'a str) -> SendFuture<'a> {
        Box::pin(std::future::ready(Err(
            "no code sender configured".to_owned()
        )))
    }
}

/// Writes codes to the log (development and demos).
pub struct LogSender;

impl CodeSender for LogSender {
    fn send<'a>(&'a self, phone: &'a str, code: &'a str) -> SendFuture<'a> {
        tracing::info!(phone = %mask_phone(phone), otp.code = %code, "one-time code (log sender)");
        Box::pin(std::future::ready(Ok(())))
    }
}

/// Posts each code to an HTTP SMS gateway as `{"to": phone, "text": message}` JSON,
/// authenticated with a bearer token or HTTP basic authentication. Any answer but 2xx is
/// a failure; neither the message nor the gateway's answer is logged.
pub struct HttpSmsSender {
    gateway: SmsGateway,
    code_minutes: i64,
    client: reqwest::Client,
}

impl HttpSmsSender {
    /// A sender for `gateway`; `code_minutes` fills `{minutes}` in the template.
    pub fn new(gateway: SmsGateway, code_minutes: i64) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(Self {
            gateway,
            code_minutes,
            client,
        })
    }

    /// The message for `code`.
    pub fn message(&self, code: &str) -> String {
        self.gateway
            .template
            .replace("{code}", code)
            .replace("{minutes}", &self.code_minutes.to_string())
    }
}

impl CodeSender for HttpSmsSender {
    fn send<'a>(&'a self, phone: &'a str, code: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let mut req = self
                .client
                .post(&self.gateway.url)
                .json(&serde_json::json!({ "to": phone, "text": self.message(code) }));
            if let Some(token) = &self.gateway.token {
                req = req.bearer_auth(token);
            }
            if let Some((user, password)) = &self.gateway.basic {
                req = req.basic_auth(user, Some(password));
            }
            // Without the URL: a gateway URL may carry credentials in its query.
            let res = req
                .send()
                .await
                .map_err(|e| format!("SMS gateway unreachable: {}", e.without_url()))?;
            let status = res.status();
            if status.is_success() {
                tracing::info!(phone = %mask_phone(phone), sms.status = status.as_u16(), "one-time code sent");
                Ok(())
            } else {
                Err(format!("SMS gateway answered {status}"))
            }
        })
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
    fn send<'a>(&'a self, phone: &'a str, code: &'a str) -> SendFuture<'a> {
        let result = self
            .codes
            .lock()
            .map_err(|_| "sender poisoned".to_owned())
            .map(|mut codes| {
                codes.insert(phone.to_owned(), code.to_owned());
            });
        Box::pin(std::future::ready(result))
    }
}
