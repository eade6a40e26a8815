//! Parsing of request inputs: integer query parameters as PySOGS reads them (Python
//! `int()`, then clamped), base64 fields with optional padding, and the JSON body of a
//! message post or edit.
//!
//! These are pure so their malformed-input behaviour is unit-tested; handlers turn their
//! errors into 400s. PySOGS crashes (500) on several of these inputs; every one is a 400
//! here.

use std::ops::RangeInclusive;

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use serde_json::{Map, Value};

use crate::crypto::keys::{IdPrefix, SessionId};

use crate::config::LimitsConfig;

use super::context::Ctx;
use super::error::ApiError;
use super::limits::{self, Limit, LimitExceeded, at_most};

/// The text is not an integer as Python's `int()` reads one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an integer")]
pub struct NotAnInteger;

/// Parses an integer as Python's `int(str)` does (surrounding whitespace, an optional
/// sign, ASCII digits with single `_` between them), saturating at the `i64` range rather
/// than failing, since every caller clamps to a small range anyway: a `limit` of
/// `99999999999999999999` is "as many as allowed", as it is in PySOGS.
pub fn parse_python_int(s: &str) -> Result<i64, NotAnInteger> {
    let s = s.trim();
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
        return Err(NotAnInteger);
    }
    let mut value: i64 = 0;
    let mut previous_underscore = false;
    for b in digits.bytes() {
        match b {
            b'0'..=b'9' => {
                let digit = i64::from(b - b'0');
                value =
                    value
                        .saturating_mul(10)
                        .saturating_add(if negative { -digit } else { digit });
                previous_underscore = false;
            }
            b'_' if !previous_underscore => previous_underscore = true,
            _ => return Err(NotAnInteger),
        }
    }
    Ok(value)
}

/// Standard-alphabet base64 that, like Python's `b64decode(validate=True)`, refuses
/// characters outside the alphabet and ignores non-zero bits in the last character.
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The value is not base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not base64")]
pub struct NotBase64;

/// Decodes standard base64 with or without `=` padding, as PySOGS's `decode_base64`.
pub fn decode_base64(s: &str) -> Result<Vec<u8>, NotBase64> {
    B64.decode(s).map_err(|_| NotBase64)
}

/// The length of an Ed25519 signature, the only size a message signature may have.
pub const SIGNATURE_LEN: usize = 64;

/// The body of `POST /room/…/message` or `PUT /room/…/message/…`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInput {
    /// The data as sent (still padded).
    pub data: Vec<u8>,
    pub signature: [u8; SIGNATURE_LEN],
    pub whisper_to: Option<SessionId>,
    pub whisper_mods: bool,
    /// Uploads to attach.
    pub files: Vec<i64>,
}

impl MessageInput {
    /// Whether this post asks to be a whisper (which only moderators may send).
    pub fn is_whisper(&self) -> bool {
        self.whisper_to.is_some() || self.whisper_mods
    }
}

/// Why a message body was refused (always a 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageInputError {
    #[error("Invalid JSON body: {0}")]
    NotJson(String),
    #[error("Message body must be a JSON object")]
    NotAnObject,
    #[error("Missing required field: {0}")]
    Missing(&'static str),
    #[error("Field {0} must be a base64 string")]
    NotBase64(&'static str),
    #[error("signature must be 64 bytes")]
    SignatureLength,
    #[error("whisper_to must be a Session id")]
    WhisperTo,
    #[error("whisper_mods must be a boolean")]
    WhisperMods,
    #[error("files must be a list of file ids")]
    Files,
    #[error(transparent)]
    OverLimit(#[from] LimitExceeded),
}

/// Parses a message body. `data` and `signature` (base64, the signature 64 bytes) are
/// required; `whisper_to` (a Session id; empty means none, as PySOGS's truthiness test),
/// `whisper_mods` (boolean) and `files` (ids as integers or integer strings, as Python's
/// `int()` takes them) are optional, and null means absent. Unknown keys are ignored.
///
/// `data` may hold at most `[limits] max_message_bytes` and `files` at most
/// `max_files_per_message` ids; both are checked before anything is decoded or collected,
/// and a body longer than any message within those limits could need is refused before it
/// is even parsed (parsing a 700 kB list of ids cost milliseconds per request).
pub fn parse_message_input(
    body: &[u8],
    limits: &LimitsConfig,
) -> Result<MessageInput, MessageInputError> {
    at_most(Limit::RequestBytes, body.len(), max_message_body(limits))?;
    let value: Value =
        serde_json::from_slice(body).map_err(|e| MessageInputError::NotJson(e.to_string()))?;
    let Value::Object(obj) = value else {
        return Err(MessageInputError::NotAnObject);
    };
    if let Some(Value::String(text)) = obj.get("data") {
        // Base64 of n bytes is 4⌈n/3⌉ characters (fewer without padding): refuse longer
        // text undecoded.
        let max_text = limits.max_message_bytes.div_ceil(3).saturating_mul(4);
        at_most(Limit::MessageBytes, text.len(), max_text)
            .map_err(|_| LimitExceeded::new(Limit::MessageBytes, limits.max_message_bytes))?;
    }
    let data = base64_field(&obj, "data")?;
    at_most(Limit::MessageBytes, data.len(), limits.max_message_bytes)?;
    let signature = base64_field(&obj, "signature")?
        .try_into()
        .map_err(|_| MessageInputError::SignatureLength)?;
    let whisper_to = match obj.get("whisper_to") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(
            s.parse::<SessionId>()
                .ok()
                .filter(|id| !matches!(id.prefix(), IdPrefix::Ed25519 | IdPrefix::System))
                .ok_or(MessageInputError::WhisperTo)?,
        ),
        Some(_) => return Err(MessageInputError::WhisperTo),
    };
    let whisper_mods = match obj.get("whisper_mods") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(MessageInputError::WhisperMods),
    };
    let files = match obj.get("files") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            at_most(
                Limit::FilesPerMessage,
                items.len(),
                limits.max_files_per_message,
            )?;
            items
                .iter()
                .map(|item| match item {
                    Value::Number(n) => n.as_i64().ok_or(MessageInputError::Files),
                    Value::String(s) => parse_python_int(s).map_err(|_| MessageInputError::Files),
                    _ => Err(MessageInputError::Files),
                })
                .collect::<Result<_, _>>()?
        }
        Some(_) => return Err(MessageInputError::Files),
    };
    Ok(MessageInput {
        data,
        signature,
        whisper_to,
        whisper_mods,
        files,
    })
}

/// The longest JSON body a message within the limits can need: `data` and `signature` in
/// base64 with every `/` escaped as `\/` (some JSON encoders do), `files` at the limit with
/// each id as a quoted 19-digit string, and 4 KiB for the whisper target, key names and
/// whitespace.
fn max_message_body(limits: &LimitsConfig) -> u64 {
    let base64 = |bytes: u64| bytes.div_ceil(3).saturating_mul(4).saturating_mul(2);
    base64(limits.max_message_bytes)
        .saturating_add(base64(64))
        .saturating_add(limits.max_files_per_message.saturating_mul(24))
        .saturating_add(4096)
}

fn base64_field(
    obj: &Map<String, Value>,
    name: &'static str,
) -> Result<Vec<u8>, MessageInputError> {
    match obj.get(name) {
        None | Some(Value::Null) => Err(MessageInputError::Missing(name)),
        Some(Value::String(s)) => decode_base64(s).map_err(|_| MessageInputError::NotBase64(name)),
        Some(_) => Err(MessageInputError::NotBase64(name)),
    }
}

impl From<MessageInputError> for ApiError {
    fn from(e: MessageInputError) -> Self {
        match e {
            MessageInputError::OverLimit(over) => ApiError::Limit(over),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

impl Ctx<'_> {
    /// The request body as a message post or edit, within the configured `[limits]` (a
    /// refusal counts in `sogs_limit_rejections_total`).
    pub fn message_input(&self) -> Result<MessageInput, ApiError> {
        parse_message_input(&self.req.body, &self.state.config.limits).map_err(|e| match e {
            MessageInputError::OverLimit(over) => limits::refuse(self.state, over),
            other => other.into(),
        })
    }

    /// An integer query parameter, Python-parsed and clamped into `range`; absent gives
    /// `default`, anything that is not an integer gives 400.
    pub fn query_int_clamped(
        &self,
        name: &str,
        default: i64,
        range: RangeInclusive<i64>,
    ) -> Result<i64, ApiError> {
        match self.req.query_param(name) {
            None => Ok(default),
            Some(v) => parse_python_int(&v)
                .map(|n| n.clamp(*range.start(), *range.end()))
                .map_err(|_| ApiError::BadRequest(format!("Invalid {name} parameter"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    fn sig() -> String {
        base64::engine::general_purpose::STANDARD.encode([7u8; 64])
    }

    #[test]
    fn a_full_message_body_parses() {
        let to = format!("15{}", "ab".repeat(32));
        let input = parse_message_input(
            &body(serde_json::json!({
                "data": "aGk", "signature": sig(), "whisper_to": to.to_uppercase(),
                "whisper_mods": true, "files": [1, "2", " 3 "], "extra": 5
            })),
            &LimitsConfig::default(),
        )
        .unwrap();
        assert_eq!(input.data, b"hi");
        assert_eq!(input.signature, [7u8; 64]);
        assert_eq!(input.whisper_to.unwrap().to_string(), to);
        assert!(input.whisper_mods && input.is_whisper());
        assert_eq!(input.files, [1, 2, 3]);
    }

    #[test]
    fn optional_fields_may_be_absent_null_or_empty() {
        for extra in [
            serde_json::json!({}),
            serde_json::json!({"whisper_to": null, "whisper_mods": null, "files": null}),
            serde_json::json!({"whisper_to": "", "whisper_mods": false, "files": []}),
        ] {
            let mut v = serde_json::json!({"data": "", "signature": sig()});
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            let input = parse_message_input(&body(v), &LimitsConfig::default()).unwrap();
            assert!(!input.is_whisper() && input.files.is_empty() && input.data.is_empty());
        }
    }

    #[test]
    fn malformed_message_bodies_are_refused_with_the_reason() {
        use MessageInputError as E;
        let s = sig();
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 63]);
        let cases: Vec<(Vec<u8>, E)> = vec![
            (b"not json".to_vec(), E::NotJson(String::new())),
            (b"".to_vec(), E::NotJson(String::new())),
            (body(serde_json::json!([1])), E::NotAnObject),
            (
                body(serde_json::json!({"signature": s})),
                E::Missing("data"),
            ),
            (
                body(serde_json::json!({"data": null, "signature": s})),
                E::Missing("data"),
            ),
            (
                body(serde_json::json!({"data": "aGk="})),
                E::Missing("signature"),
            ),
            (
                body(serde_json::json!({"data": 5, "signature": s})),
                E::NotBase64("data"),
            ),
            (
                body(serde_json::json!({"data": "!!", "signature": s})),
                E::NotBase64("data"),
            ),
            (
                body(serde_json::json!({"data": "", "signature": "zz!"})),
                E::NotBase64("signature"),
            ),
            (
                body(serde_json::json!({"data": "", "signature": short})),
                E::SignatureLength,
            ),
            (
                body(serde_json::json!({"data": "", "signature": "", })),
                E::SignatureLength,
            ),
            (
                body(serde_json::json!({"data": "", "signature": s, "whisper_to": 5})),
                E::WhisperTo,
            ),
            (
                body(serde_json::json!({"data": "", "signature": s, "whisper_to": "15ab"})),
                E::WhisperTo,
            ),
            (
                body(
                    serde_json::json!({"data": "", "signature": s, "whisper_to": format!("00{}", "ab".repeat(32))}),
                ),
                E::WhisperTo,
            ),
            (
                body(serde_json::json!({"data": "", "signature": s, "whisper_mods": 1})),
                E::WhisperMods,
            ),
            (
                body(serde_json::json!({"data": "", "signature": s, "files": 1})),
                E::Files,
            ),
            (
                body(serde_json::json!({"data": "", "signature": s, "files": [1.5]})),
                E::Files,
            ),
            (
                body(serde_json::json!({"data": "", "signature": s, "files": ["x"]})),
                E::Files,
            ),
            (
                body(serde_json::json!({"data": "", "signature": s, "files": [[1]]})),
                E::Files,
            ),
        ];
        for (bytes, expected) in cases {
            let err = parse_message_input(&bytes, &LimitsConfig::default()).unwrap_err();
            match (&err, &expected) {
                (E::NotJson(_), E::NotJson(_)) => {}
                _ => assert_eq!(err, expected, "{}", String::from_utf8_lossy(&bytes)),
            }
            assert_eq!(ApiError::from(err).status(), 400);
        }
    }

    #[test]
    fn messages_and_file_lists_over_the_limits_are_refused_with_413() {
        use base64::engine::general_purpose::STANDARD;
        let limits = LimitsConfig {
            max_message_bytes: 10,
            max_files_per_message: 3,
            ..LimitsConfig::default()
        };
        let post = |data: &[u8], files: serde_json::Value| {
            parse_message_input(
                &body(
                    serde_json::json!({"data": STANDARD.encode(data), "signature": sig(), "files": files}),
                ),
                &limits,
            )
        };
        assert!(post(&[1; 10], serde_json::json!([1, 2, 3])).is_ok());
        for (result, limit) in [
            (post(&[1; 11], serde_json::json!([])), Limit::MessageBytes),
            // Far beyond: the body itself is longer than any message could need.
            (
                post(&[1; 100_000], serde_json::json!([])),
                Limit::RequestBytes,
            ),
            (
                post(&[1; 10], serde_json::json!([1, 2, 3, 4])),
                Limit::FilesPerMessage,
            ),
            // Longer than any message within the limits: refused unparsed.
            (
                post(&[1; 10], serde_json::json!(vec![1; 10_000])),
                Limit::RequestBytes,
            ),
        ] {
            let err = result.unwrap_err();
            assert!(
                matches!(err, MessageInputError::OverLimit(e) if e.limit == limit),
                "{err:?}"
            );
            assert_eq!(ApiError::from(err).status(), 413);
        }
    }

    #[test]
    fn integers_parse_as_python_int_does() {
        for (s, n) in [
            ("0", 0),
            ("42", 42),
            (" 7 ", 7),
            ("+5", 5),
            ("-3", -3),
            ("1_000", 1000),
            ("007", 7),
        ] {
            assert_eq!(parse_python_int(s), Ok(n), "{s:?}");
        }
    }

    #[test]
    fn huge_integers_saturate_instead_of_failing() {
        assert_eq!(parse_python_int("99999999999999999999999"), Ok(i64::MAX));
        assert_eq!(parse_python_int("-99999999999999999999999"), Ok(i64::MIN));
    }

    #[test]
    fn malformed_integers_are_refused() {
        for s in [
            "", " ", "-", "+", "1.5", "1e3", "abc", "0x10", "_1", "1_", "1__0", "--1", "1 2", "١٢",
        ] {
            assert_eq!(parse_python_int(s), Err(NotAnInteger), "{s:?}");
        }
    }

    #[test]
    fn base64_decodes_with_or_without_padding() {
        assert_eq!(decode_base64("ZmFrZSBkYXRh").unwrap(), b"fake data");
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
        assert_eq!(decode_base64("aGk").unwrap(), b"hi");
        assert_eq!(decode_base64("").unwrap(), b"");
    }

    #[test]
    fn malformed_base64_is_refused() {
        for s in [
            "!!!!", "aGk=a", "a", "aGk==", "aG k=", "aGk-", "aGk_", "====", "aGk=\n",
        ] {
            assert_eq!(decode_base64(s), Err(NotBase64), "{s:?}");
        }
    }
}
