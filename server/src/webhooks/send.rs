//! One HTTP try of one delivery: the JSON envelope, its signature, and a POST with a
//! timeout.

use std::time::Duration;

use serde_json::{Value, json};

use crate::domain::webhook::{DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signature_header};
use crate::store::webhooks::Delivery;

/// Why a try failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The receiver answered, but not with 2xx.
    #[error("the receiver answered HTTP {0}")]
    Status(u16),
    /// No answer: refused, unreachable, timed out, TLS.
    #[error("no answer: {0}")]
    Transport(String),
}

impl SendError {
    pub fn status(&self) -> Option<u16> {
        match self {
            SendError::Status(s) => Some(*s),
            SendError::Transport(_) => None,
        }
    }
}

/// The body a receiver gets: the event's id (the same on every retry), type, time, room
/// token (`null` for server-wide events) and data.
pub fn envelope(
    event_id: &str,
    event_type: &str,
    at: f64,
    room: Option<&str>,
    data: Value,
) -> Vec<u8> {
    json!({
        "id": event_id,
        "type": event_type,
        "at": at,
        "room": room,
        "data": data,
    })
    .to_string()
    .into_bytes()
}

/// The envelope of a stored delivery.
pub fn delivery_envelope(delivery: &Delivery) -> Vec<u8> {
    let data = serde_json::from_str(&delivery.data).unwrap_or(Value::Null);
    envelope(
        &delivery.event_id,
        &delivery.event_type,
        delivery.at,
        delivery.room.as_deref(),
        data,
    )
}

/// Sends deliveries; one HTTP client (with its connection pool) for all endpoints.
#[derive(Clone)]
pub struct Sender {
    http: reqwest::Client,
}

impl Sender {
    /// A sender whose every try gives up after `timeout`. Redirects are not followed (a
    /// receiver that moved must be registered again, not silently followed elsewhere).
    pub fn new(timeout: Duration) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("sogs-rs/", env!("CARGO_PKG_VERSION"), " webhooks"))
            .build()?;
        Ok(Self { http })
    }

    /// POSTs `body` to `url`, signed with `secret` at `timestamp`; the status on 2xx.
    pub async fn send(
        &self,
        url: &str,
        secret: &str,
        event_type: &str,
        event_id: &str,
        timestamp: u64,
        body: Vec<u8>,
    ) -> Result<u16, SendError> {
        let signature = signature_header(secret.as_bytes(), timestamp, &body);
        let response = self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(EVENT_HEADER, event_type)
            .header(DELIVERY_HEADER, event_id)
            .body(body)
            .send()
            .await
            .map_err(|e| SendError::Transport(describe(&e)))?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            Ok(status)
        } else {
            Err(SendError::Status(status))
        }
    }
}

/// A transport error with its causes, without the URL (already known to the operator).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {cause}")
    }
}
