//! Webhooks: which events exist, which an endpoint asked for, what URL it may have, how
//! deliveries are signed and how long a failed one waits before the next try.
//!
//! Pure: no IO, no clock (times are parameters).

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header carrying a delivery's signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>`
/// over `"<t>.<body>"` with the endpoint's secret, as Stripe signs its webhooks. Receivers
/// recompute it and refuse a timestamp too far from their clock, so a captured delivery
/// cannot be replayed later.
pub const SIGNATURE_HEADER: &str = "X-Sogs-Signature";
/// The header naming the event type (also in the body).
pub const EVENT_HEADER: &str = "X-Sogs-Event";
/// The header carrying the event id (also in the body): the same on every retry, so a
/// receiver can drop duplicates of an at-least-once delivery.
pub const DELIVERY_HEADER: &str = "X-Sogs-Event-Id";

/// Something that happened that an endpoint may subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    MessagePosted,
    MessageEdited,
    MessageDeleted,
    ReactionAdded,
    ReactionRemoved,
    UserBanned,
    UserUnbanned,
    UserTimedOut,
    PermissionsChanged,
    RoomCreated,
    RoomUpdated,
    LockdownStarted,
    LockdownEnded,
    /// `sogs-admin webhook test`: only ever sent to the endpoint tested.
    Ping,
}

impl EventKind {
    /// Every kind an endpoint can subscribe to (`ping` is sent on demand only).
    pub const ALL: [EventKind; 13] = [
        EventKind::MessagePosted,
        EventKind::MessageEdited,
        EventKind::MessageDeleted,
        EventKind::ReactionAdded,
        EventKind::ReactionRemoved,
        EventKind::UserBanned,
        EventKind::UserUnbanned,
        EventKind::UserTimedOut,
        EventKind::PermissionsChanged,
        EventKind::RoomCreated,
        EventKind::RoomUpdated,
        EventKind::LockdownStarted,
        EventKind::LockdownEnded,
    ];

    /// The name on the wire and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::MessagePosted => "message.posted",
            EventKind::MessageEdited => "message.edited",
            EventKind::MessageDeleted => "message.deleted",
            EventKind::ReactionAdded => "reaction.added",
            EventKind::ReactionRemoved => "reaction.removed",
            EventKind::UserBanned => "user.banned",
            EventKind::UserUnbanned => "user.unbanned",
            EventKind::UserTimedOut => "user.timed_out",
            EventKind::PermissionsChanged => "permissions.changed",
            EventKind::RoomCreated => "room.created",
            EventKind::RoomUpdated => "room.updated",
            EventKind::LockdownStarted => "lockdown.started",
            EventKind::LockdownEnded => "lockdown.ended",
            EventKind::Ping => "ping",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .chain([EventKind::Ping])
            .find(|k| k.name() == name)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a webhook's settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook URL {url:?} is not a valid URL: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("webhook URL {0:?} must start with http:// or https://")]
    BadScheme(String),
    #[error(
        "webhook URL {0:?} must not carry a user name or password; the signature authenticates the server"
    )]
    Credentials(String),
    #[error("unknown event type {name:?}; known types: {known}")]
    UnknownEvent { name: String, known: String },
    #[error("name at least one event type, or * for all")]
    NoEvents,
}

/// An endpoint's URL: absolute http(s), with a host, without credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(raw: &str) -> Result<Self, WebhookError> {
        let raw = raw.trim();
        let url = url::Url::parse(raw).map_err(|e| WebhookError::BadUrl {
            url: raw.to_string(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(WebhookError::BadScheme(raw.to_string()));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(WebhookError::BadUrl {
                url: raw.to_string(),
                reason: "it has no host".into(),
            });
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(WebhookError::Credentials(raw.to_string()));
        }
        Ok(Self(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The event types an endpoint receives: all, or a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSelection {
    All,
    Only(Vec<EventKind>),
}

impl EventSelection {
    /// Parses `*` or a comma-separated list of event names.
    pub fn parse(raw: &str) -> Result<Self, WebhookError> {
        let raw = raw.trim();
        if raw == "*" || raw.eq_ignore_ascii_case("all") {
            return Ok(Self::All);
        }
        let mut kinds = Vec::new();
        for name in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let kind = EventKind::parse(name)
                .filter(|k| *k != EventKind::Ping)
                .ok_or_else(|| WebhookError::UnknownEvent {
                    name: name.to_string(),
                    known: EventKind::ALL.map(EventKind::name).join(", "),
                })?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        if kinds.is_empty() {
            return Err(WebhookError::NoEvents);
        }
        Ok(Self::Only(kinds))
    }

    /// As stored: `*`, or the names joined by commas (what the outbox query matches).
    pub fn stored(&self) -> String {
        match self {
            Self::All => "*".into(),
            Self::Only(kinds) => kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(","),
        }
    }

    pub fn includes(&self, kind: EventKind) -> bool {
        match self {
            Self::All => kind != EventKind::Ping,
            Self::Only(kinds) => kinds.contains(&kind),
        }
    }
}

/// The value of [`SIGNATURE_HEADER`] for `body` sent at `timestamp`.
pub fn signature_header(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        hex::encode(sign(secret, timestamp, body))
    )
}

fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return Vec::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Whether `header` is a valid signature of `body` with `secret`, made no more than
/// `tolerance` seconds from `now`: what a receiver does (the tests and the README's
/// example do it this way). Compares in constant time.
pub fn verify_signature(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: u64,
    tolerance: u64,
) -> bool {
    let mut timestamp = None;
    let mut given = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<u64>().ok(),
            Some(("v1", v)) => given = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(timestamp), Some(given)) = (timestamp, given) else {
        return false;
    };
    if now.abs_diff(timestamp) > tolerance {
        return false;
    }
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret) else {
        return false;
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// How long to wait after the `attempts`-th failed try (1 for the first): `base` doubled
/// each time, at most `max`.
pub fn backoff(attempts: u32, base: f64, max: f64) -> f64 {
    let doublings = attempts.saturating_sub(1).min(30);
    (base * f64::from(1_u32 << doublings)).min(max)
}

/// What to do with a delivery after a failed try.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AfterFailure {
    /// Try again at this time.
    RetryAt(f64),
    /// Give up: the delivery is dead-lettered.
    Dead,
}

/// The next step after the `attempts`-th failed try at `now`.
pub fn after_failure(
    attempts: u32,
    max_attempts: u32,
    now: f64,
    base: f64,
    max: f64,
) -> AfterFailure {
    if attempts >= max_attempts {
        AfterFailure::Dead
    } else {
        AfterFailure::RetryAt(now + backoff(attempts, base, max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_must_be_absolute_http_without_credentials() {
        assert_eq!(
            WebhookUrl::parse("https://bot.example.org/hook")
                .unwrap()
                .as_str(),
            "https://bot.example.org/hook"
        );
        assert!(WebhookUrl::parse("http://127.0.0.1:8080/x").is_ok());
        assert!(matches!(
            WebhookUrl::parse("not a url"),
            Err(WebhookError::BadUrl { .. })
        ));
        assert!(matches!(
            WebhookUrl::parse("ftp://example.org/"),
            Err(WebhookError::BadScheme(_))
        ));
        assert!(matches!(
            WebhookUrl::parse("https://user:pw@example.org/"),
            Err(WebhookError::Credentials(_))
        ));
        assert!(WebhookUrl::parse("http://").is_err());
    }

    #[test]
    fn event_selections_parse_lists_and_star() {
        assert_eq!(EventSelection::parse("*").unwrap(), EventSelection::All);
        let sel = EventSelection::parse("message.posted, user.banned,message.posted").unwrap();
        assert_eq!(sel.stored(), "message.posted,user.banned");
        assert!(sel.includes(EventKind::UserBanned));
        assert!(!sel.includes(EventKind::MessageEdited));
        assert!(matches!(
            EventSelection::parse("message.posted,nonsense"),
            Err(WebhookError::UnknownEvent { .. })
        ));
        assert_eq!(EventSelection::parse(" , "), Err(WebhookError::NoEvents));
        assert!(EventSelection::parse("ping").is_err());
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.name()), Some(kind));
        }
    }

    #[test]
    fn a_signature_verifies_only_with_its_secret_body_and_time() {
        let header = signature_header(b"secret", 1_700_000_000, b"{\"a\":1}");
        assert!(header.starts_with("t=1700000000,v1="));
        assert!(verify_signature(
            b"secret",
            &header,
            b"{\"a\":1}",
            1_700_000_100,
            300
        ));
        assert!(!verify_signature(
            b"other",
            &header,
            b"{\"a\":1}",
            1_700_000_100,
            300
        ));
        assert!(!verify_signature(
            b"secret",
            &header,
            b"{\"a\":2}",
            1_700_000_100,
            300
        ));
        assert!(!verify_signature(
            b"secret",
            &header,
            b"{\"a\":1}",
            1_700_001_000,
            300
        ));
        assert!(!verify_signature(
            b"secret",
            "garbage",
            b"{\"a\":1}",
            1_700_000_000,
            300
        ));
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_and_gives_up_after_the_last_try() {
        assert_eq!(backoff(1, 5.0, 3600.0), 5.0);
        assert_eq!(backoff(2, 5.0, 3600.0), 10.0);
        assert_eq!(backoff(4, 5.0, 3600.0), 40.0);
        assert_eq!(backoff(40, 5.0, 3600.0), 3600.0);
        assert_eq!(
            after_failure(1, 3, 100.0, 5.0, 60.0),
            AfterFailure::RetryAt(105.0)
        );
        assert_eq!(after_failure(3, 3, 100.0, 5.0, 60.0), AfterFailure::Dead);
    }
}
