//! `X-SOGS-*` request authentication (spec §2): parsing the four headers, the exact bytes a
//! request signature covers, strict verification, and the client side that makes the headers.
//!
//! The server side runs in the spec's order so each failure gets pysogs' status and text:
//! [`SignedHeaders::parse`] does steps 1–7, [`SignedHeaders::check_timestamp`] step 8, the
//! caller does the user lookup, ban check and nonce replay check (steps 9–11, which need the
//! database), and [`SignedHeaders::verify`] step 12.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ed25519_dalek::{Signer, SigningKey};

use super::blinding::BlindedKeyPair;
use super::hashing::h64;
use super::keys::{Ed25519PublicKey, IdPrefix, ServerPublicKey, SessionId};

/// Header names, as clients send them (matching is case-insensitive in HTTP).
pub const HEADER_PUBKEY: &str = "X-SOGS-Pubkey";
/// See [`HEADER_PUBKEY`].
pub const HEADER_NONCE: &str = "X-SOGS-Nonce";
/// See [`HEADER_PUBKEY`].
pub const HEADER_TIMESTAMP: &str = "X-SOGS-Timestamp";
/// See [`HEADER_PUBKEY`].
pub const HEADER_SIGNATURE: &str = "X-SOGS-Signature";

/// How far a request timestamp may be from the server's clock, either way, in seconds.
pub const TIMESTAMP_WINDOW_SECS: f64 = 86_400.0;

/// Standard-alphabet base64 that, like Python's `b64decode`, ignores non-zero bits in the last
/// character. Padding must be canonical; [`decode_hex_or_b64`] adds it when it is missing.
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// A value was neither `2N` hex digits nor base64 of exactly `N` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("could not decode as hex or base64")]
pub struct DecodeError;

/// pysogs' `decode_hex_or_b64(value, N)`: exactly `2N` characters are hex; a length between
/// `ceil(4N/3)` and `4*ceil(N/3)` is base64 with optional padding; anything else fails.
///
/// Deliberately stricter than Python in one way: `bytes.fromhex` would skip spaces between hex
/// pairs, which no client sends, and we refuse them.
pub fn decode_hex_or_b64<const N: usize>(value: &[u8]) -> Result<[u8; N], DecodeError> {
    let mut out = [0u8; N];
    if value.len() == 2 * N {
        hex::decode_to_slice(value, &mut out).map_err(|_| DecodeError)?;
        return Ok(out);
    }
    let unpadded = (4 * N).div_ceil(3);
    let padded = N.div_ceil(3) * 4;
    if !(unpadded..=padded).contains(&value.len()) {
        return Err(DecodeError);
    }
    let mut text = value.to_vec();
    if matches!(text.len() % 4, 2 | 3) && text.last() != Some(&b'=') {
        text.resize(text.len().div_ceil(4) * 4, b'=');
    }
    let decoded = B64.decode(&text).map_err(|_| DecodeError)?;
    if decoded.len() != N {
        return Err(DecodeError);
    }
    out.copy_from_slice(&decoded);
    Ok(out)
}

/// Every way authentication fails, with pysogs' exact `text/plain` body as the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Some but not all of the four headers were sent (the count includes empty ones).
    #[error("Invalid authentication headers: missing {0}/4 required X-SOGS-* headers")]
    MissingHeaders(u8),
    /// Step 1.
    #[error("Invalid authentication: X-SOGS-Pubkey is not a valid 66-hex digit id")]
    PubkeyEncoding,
    /// Step 2 (and `25` keys unless the policy accepts them).
    #[error("Invalid authentication: X-SOGS-Pubkey must be 00- or 15- prefixed")]
    PubkeyPrefix,
    /// Step 3.
    #[error("Invalid authentication: given X-SOGS-Pubkey is not a valid Ed25519 pubkey")]
    InvalidPubkey,
    /// Step 4, an unblinded key on a server that requires blinding.
    #[error("Invalid authentication: this server requires the use of blinded ids")]
    BlindingRequired,
    /// Step 5.
    #[error("Invalid authentication: X-SOGS-Nonce must be 16 bytes (encoded as base64 or hex)")]
    NonceEncoding,
    /// Step 6.
    #[error("Invalid authentication: X-SOGS-Signature is not base64[88]")]
    SignatureEncoding,
    /// Step 7.
    #[error("Invalid authentication: X-SOGS-Timestamp is not a valid timestamp")]
    TimestampFormat,
    /// Step 8.
    #[error("Invalid authentication: X-SOGS-Timestamp is too far from current time")]
    TimestampOutOfRange,
    /// Step 10, decided by the caller; here so every auth text lives in one place.
    #[error("Banned")]
    Banned,
    /// Step 11, decided by the caller's replay store.
    #[error("Invalid authentication: X-SOGS-Nonce cannot be reused")]
    NonceReused,
    /// Step 11, when the replay store had a fault after the request was signed and so
    /// cannot tell whether the nonce was seen (not a PySOGS answer: see `cluster::nonces`).
    /// The same 425 as a replay; a request signed afresh goes through.
    #[error("Invalid authentication: X-SOGS-Nonce cannot be checked; sign the request again")]
    NonceUnverifiable,
    /// Step 12.
    #[error("Invalid authentication: X-SOGS-Signature verification failed")]
    SignatureInvalid,
}

impl AuthError {
    /// The HTTP status pysogs answers with.
    pub const fn status_code(&self) -> u16 {
        match self {
            Self::MissingHeaders(_)
            | Self::PubkeyEncoding
            | Self::PubkeyPrefix
            | Self::InvalidPubkey
            | Self::BlindingRequired
            | Self::NonceEncoding
            | Self::SignatureEncoding
            | Self::TimestampFormat => 400,
            Self::SignatureInvalid => 401,
            Self::Banned => 403,
            Self::TimestampOutOfRange | Self::NonceReused | Self::NonceUnverifiable => 425,
        }
    }
}

/// Which keys a server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthPolicy {
    /// Refuse unblinded (`00`) keys. pysogs' default is on.
    pub require_blind_keys: bool,
    /// Accept libsession's `25` keys, which pysogs refuses. Off by default.
    pub accept_blind25: bool,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        Self {
            require_blind_keys: true,
            accept_blind25: false,
        }
    }
}

/// The four header values as received; `None` when a header is absent. Values are bytes
/// because HTTP header values are, and the timestamp is signed exactly as sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RawAuthHeaders<'a> {
    /// `X-SOGS-Pubkey`.
    pub pubkey: Option<&'a [u8]>,
    /// `X-SOGS-Nonce`.
    pub nonce: Option<&'a [u8]>,
    /// `X-SOGS-Timestamp`.
    pub timestamp: Option<&'a [u8]>,
    /// `X-SOGS-Signature`.
    pub signature: Option<&'a [u8]>,
}

/// What a request signature covers besides the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedRequest<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The percent-decoded path, e.g. `/room/x/reaction/1/🍍` (see [`split_target`]).
    pub path: &'a str,
    /// The raw query string after `?`, not decoded; empty when there is none.
    pub query: &'a str,
    /// The exact body bytes; for `/batch` the whole outer body, for onion the inner body.
    pub body: &'a [u8],
}

/// Splits a request target (`/path?query`) at the first `?` and percent-decodes the path, the
/// way pysogs prepares onion and batch sub-requests before signing and routing.
pub fn split_target(target: &str) -> (String, &str) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    (percent_decode(path), query)
}

/// Python's `urllib.parse.unquote`: `%XX` becomes the byte, malformed escapes stay as they are,
/// and the bytes are read as UTF-8 with U+FFFD for invalid sequences.
pub fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).and_then(|&c| hex_value(c)),
                bytes.get(i + 2).and_then(|&c| hex_value(c)),
            )
        {
            out.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The exact signed bytes: `server_pk || nonce || timestamp || method || path [|| "?" query]
/// [|| H64(body)]`, where the query part appears only when non-empty and the body hash only
/// when the body is non-empty.
pub fn signed_message(
    server_pk: &ServerPublicKey,
    nonce: &[u8; 16],
    timestamp: &[u8],
    request: &SignedRequest<'_>,
) -> Vec<u8> {
    let mut message = Vec::with_capacity(
        32 + 16 + timestamp.len() + request.method.len() + request.path.len() + 1 + 64,
    );
    message.extend_from_slice(server_pk.as_bytes());
    message.extend_from_slice(nonce);
    message.extend_from_slice(timestamp);
    message.extend_from_slice(request.method.as_bytes());
    message.extend_from_slice(request.path.as_bytes());
    if !request.query.is_empty() {
        message.push(b'?');
        message.extend_from_slice(request.query.as_bytes());
    }
    if !request.body.is_empty() {
        message.extend_from_slice(&h64(&[request.body]));
    }
    message
}

/// Parsed `X-SOGS-*` headers that passed steps 1–7 and still need steps 8 and 12.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    session_id: SessionId,
    pubkey: Ed25519PublicKey,
    nonce: [u8; 16],
    timestamp: i64,
    timestamp_text: Vec<u8>,
    signature: [u8; 64],
}

impl SignedHeaders {
    /// Steps 1–7. `Ok(None)` means all four headers are absent or empty: an anonymous request.
    pub fn parse(raw: &RawAuthHeaders<'_>, policy: &AuthPolicy) -> Result<Option<Self>, AuthError> {
        let values = [raw.pubkey, raw.nonce, raw.timestamp, raw.signature];
        let missing = values
            .iter()
            .filter(|v| v.is_none_or(<[u8]>::is_empty))
            .count() as u8;
        if missing == 4 {
            return Ok(None);
        }
        let (Some(pubkey), Some(nonce), Some(timestamp), Some(signature), 0) =
            (raw.pubkey, raw.nonce, raw.timestamp, raw.signature, missing)
        else {
            return Err(AuthError::MissingHeaders(missing));
        };

        let pubkey: [u8; 33] = decode_hex_or_b64(pubkey).map_err(|_| AuthError::PubkeyEncoding)?;
        let prefix = match IdPrefix::from_byte(pubkey[0]) {
            Some(p @ (IdPrefix::Ed25519 | IdPrefix::Blinded15)) => p,
            Some(IdPrefix::Blinded25) if policy.accept_blind25 => IdPrefix::Blinded25,
            _ => return Err(AuthError::PubkeyPrefix),
        };
        let mut key = [0u8; 32];
        key.copy_from_slice(&pubkey[1..]);
        let ed = Ed25519PublicKey::from_bytes(&key).map_err(|_| AuthError::InvalidPubkey)?;
        let session_id = match prefix {
            IdPrefix::Ed25519 if policy.require_blind_keys => {
                return Err(AuthError::BlindingRequired);
            }
            IdPrefix::Ed25519 => SessionId::new(IdPrefix::Session, ed.to_x25519()),
            other => SessionId::new(other, key),
        };

        let nonce: [u8; 16] = decode_hex_or_b64(nonce).map_err(|_| AuthError::NonceEncoding)?;
        let signature: [u8; 64] =
            decode_hex_or_b64(signature).map_err(|_| AuthError::SignatureEncoding)?;
        let parsed = parse_python_int(timestamp).ok_or(AuthError::TimestampFormat)?;

        Ok(Some(Self {
            session_id,
            pubkey: ed,
            nonce,
            timestamp: parsed,
            timestamp_text: timestamp.to_vec(),
            signature,
        }))
    }

    /// Step 8: the timestamp must be within a day of `now` (bounds inclusive).
    pub fn check_timestamp(&self, now: f64) -> Result<(), AuthError> {
        let ts = self.timestamp as f64;
        if now - TIMESTAMP_WINDOW_SECS <= ts && ts <= now + TIMESTAMP_WINDOW_SECS {
            Ok(())
        } else {
            Err(AuthError::TimestampOutOfRange)
        }
    }

    /// Step 12: strict Ed25519 verification of the signed message under the header's key.
    pub fn verify(
        &self,
        server_pk: &ServerPublicKey,
        request: &SignedRequest<'_>,
    ) -> Result<(), AuthError> {
        let message = signed_message(server_pk, &self.nonce, &self.timestamp_text, request);
        if self.pubkey.verify(&message, &self.signature) {
            Ok(())
        } else {
            Err(AuthError::SignatureInvalid)
        }
    }

    /// The user's id: `05…` for an unblinded key, otherwise the blinded id itself.
    pub fn session_id(&self) -> &SessionId {
        &self.session_id
    }

    /// The Ed25519 key from the header.
    pub fn pubkey(&self) -> &Ed25519PublicKey {
        &self.pubkey
    }

    /// The 16 nonce bytes, for the replay check.
    pub fn nonce(&self) -> &[u8; 16] {
        &self.nonce
    }

    /// The timestamp as a number. Values too large for `i64` saturate, so they fail step 8
    /// rather than step 7, as with Python's unbounded `int`.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }
}

/// Python's `int(text)` for ASCII input: optional surrounding whitespace, an optional sign, and
/// decimal digits with single underscores between them. Saturates instead of overflowing.
fn parse_python_int(text: &[u8]) -> Option<i64> {
    let text = text.trim_ascii();
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    if !digits.first()?.is_ascii_digit() || !digits.last()?.is_ascii_digit() {
        return None;
    }
    let mut value: i64 = 0;
    let mut after_underscore = false;
    for &c in digits {
        match c {
            b'0'..=b'9' => {
                value = value.saturating_mul(10).saturating_add(i64::from(c - b'0'));
                after_underscore = false;
            }
            b'_' if !after_underscore => after_underscore = true,
            _ => return None,
        }
    }
    Some(if negative { -value } else { value })
}

/// A client identity that signs requests: unblinded (sends `00` + Ed25519 key) or blinded
/// (sends `15`/`25` + the blinded key).
#[derive(Debug, Clone)]
pub enum RequestSigner {
    /// The user's own Ed25519 key; the server sees them as their `05` id.
    Unblinded(SigningKey),
    /// A key blinded for this server.
    Blinded(BlindedKeyPair),
}

/// Header values ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHeaderValues {
    /// 66 hex digits: prefix and key.
    pub pubkey: String,
    /// 16 bytes, base64.
    pub nonce: String,
    /// Decimal seconds.
    pub timestamp: String,
    /// 64 bytes, base64.
    pub signature: String,
}

impl AuthHeaderValues {
    /// `(name, value)` pairs for an HTTP client or an onion request's `headers`.
    pub fn pairs(&self) -> [(&'static str, &str); 4] {
        [
            (HEADER_PUBKEY, &self.pubkey),
            (HEADER_NONCE, &self.nonce),
            (HEADER_TIMESTAMP, &self.timestamp),
            (HEADER_SIGNATURE, &self.signature),
        ]
    }

    /// The same values as the server receives them.
    pub fn as_raw(&self) -> RawAuthHeaders<'_> {
        RawAuthHeaders {
            pubkey: Some(self.pubkey.as_bytes()),
            nonce: Some(self.nonce.as_bytes()),
            timestamp: Some(self.timestamp.as_bytes()),
            signature: Some(self.signature.as_bytes()),
        }
    }
}

impl RequestSigner {
    /// The 33 bytes sent in `X-SOGS-Pubkey`.
    pub fn pubkey_bytes(&self) -> [u8; 33] {
        let mut out = [0u8; 33];
        match self {
            Self::Unblinded(key) => {
                out[0] = IdPrefix::Ed25519.byte();
                out[1..].copy_from_slice(key.verifying_key().as_bytes());
            }
            Self::Blinded(pair) => out = pair.id().session_id().to_bytes(),
        }
        out
    }

    /// The id the server will know this user by.
    pub fn session_id(&self) -> SessionId {
        match self {
            Self::Unblinded(key) => SessionId::new(
                IdPrefix::Session,
                key.verifying_key().to_montgomery().to_bytes(),
            ),
            Self::Blinded(pair) => *pair.id().session_id(),
        }
    }

    /// Signs arbitrary bytes with this identity.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        match self {
            Self::Unblinded(key) => key.sign(message).to_bytes(),
            Self::Blinded(pair) => pair.sign(message),
        }
    }

    /// Headers for `request` with the given nonce and timestamp (deterministic, for tests).
    pub fn sign_request_with(
        &self,
        server_pk: &ServerPublicKey,
        nonce: [u8; 16],
        timestamp: i64,
        request: &SignedRequest<'_>,
    ) -> AuthHeaderValues {
        let timestamp = timestamp.to_string();
        let message = signed_message(server_pk, &nonce, timestamp.as_bytes(), request);
        AuthHeaderValues {
            pubkey: hex::encode(self.pubkey_bytes()),
            nonce: B64.encode(nonce),
            timestamp,
            signature: B64.encode(self.sign(&message)),
        }
    }

    /// Headers for `request` with a fresh random nonce.
    pub fn sign_request(
        &self,
        server_pk: &ServerPublicKey,
        timestamp: i64,
        request: &SignedRequest<'_>,
    ) -> AuthHeaderValues {
        let mut nonce = [0u8; 16];
        rand::fill(&mut nonce);
        self.sign_request_with(server_pk, nonce, timestamp, request)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::crypto::blinding::Blind15Nonce;
    use curve25519_dalek::edwards::CompressedEdwardsY;

    const SERVER: &str = "6a32c7b491f4199dd1260a4cc60ae51c6bd71dad939cc521e738409f53f943be";
    const SEED: &str = "880adf5164a79bce71f7387fbc2cb2693c0bf0ab4cb42bf1edafddade7527a66";
    const NONCE: &[u8; 16] = b"0123456789abcdef";
    const TS: i64 = 1_642_079_887;
    const NOW: f64 = 1_642_079_887.0;

    fn server() -> ServerPublicKey {
        SERVER.parse().unwrap()
    }

    fn user() -> SigningKey {
        SigningKey::from_bytes(&hex::decode(SEED).unwrap().try_into().unwrap())
    }

    fn open_policy() -> AuthPolicy {
        AuthPolicy {
            require_blind_keys: false,
            accept_blind25: true,
        }
    }

    const CAPABILITIES: SignedRequest<'static> = SignedRequest {
        method: "GET",
        path: "/capabilities",
        query: "required=sogs",
        body: b"",
    };

    const POST_ENDPOINT: SignedRequest<'static> = SignedRequest {
        method: "POST",
        path: "/some/endpoint",
        query: "",
        body: b"{\"a\":1}",
    };

    fn raw<'a>(pubkey: &'a str, nonce: &'a str, ts: &'a str, sig: &'a str) -> RawAuthHeaders<'a> {
        RawAuthHeaders {
            pubkey: Some(pubkey.as_bytes()),
            nonce: Some(nonce.as_bytes()),
            timestamp: Some(ts.as_bytes()),
            signature: Some(sig.as_bytes()),
        }
    }

    /// Parses, checks the timestamp against the vectors' clock and verifies.
    fn authenticate(
        headers: &RawAuthHeaders<'_>,
        policy: &AuthPolicy,
        request: &SignedRequest<'_>,
    ) -> Result<SessionId, AuthError> {
        let parsed = SignedHeaders::parse(headers, policy)?.unwrap();
        parsed.check_timestamp(NOW)?;
        parsed.verify(&server(), request)?;
        Ok(*parsed.session_id())
    }

    #[test]
    fn the_pysogs_header_format_examples_decode_to_the_right_sizes() {
        // test-vectors.md §2c (formats only; no valid signature).
        let pubkey: [u8; 33] = decode_hex_or_b64(
            b"150123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        )
        .unwrap();
        assert_eq!(pubkey[0], 0x15);
        assert!(decode_hex_or_b64::<16>(b"IYUVSYbLlTgmnigr/H3Tdg==").is_ok());
        assert!(decode_hex_or_b64::<16>(b"5f9369b79449a7dfa07d123b697c84f6").is_ok());
        assert_eq!(parse_python_int(b"1642079887"), Some(1_642_079_887));
    }

    #[test]
    fn hex_of_exactly_twice_the_size_decodes() {
        assert_eq!(
            decode_hex_or_b64::<16>(b"30313233343536373839616263646566").unwrap(),
            *NONCE
        );
        assert_eq!(
            decode_hex_or_b64::<16>(b"5f9369b79449a7dfa07d123b697c84f6").unwrap()[0],
            0x5f
        );
    }

    #[test]
    fn base64_with_or_without_padding_decodes() {
        assert_eq!(
            decode_hex_or_b64::<16>(b"MDEyMzQ1Njc4OWFiY2RlZg==").unwrap(),
            *NONCE
        );
        assert_eq!(
            decode_hex_or_b64::<16>(b"MDEyMzQ1Njc4OWFiY2RlZg").unwrap(),
            *NONCE
        );
        assert!(decode_hex_or_b64::<16>(b"IYUVSYbLlTgmnigr/H3Tdg==").is_ok());
    }

    #[test]
    fn nonces_of_the_wrong_length_or_padding_are_refused() {
        // test-vectors.md §2d
        let b64 = "MDEyMzQ1Njc4OWFiY2RlZg==";
        let hex = "30313233343536373839616263646566";
        for bad in [
            format!("{b64}="),
            b64[..23].to_owned(),
            b64[..18].to_owned(),
            hex[..31].to_owned(),
            hex[..30].to_owned(),
            format!("{hex}00"),
        ] {
            assert_eq!(
                decode_hex_or_b64::<16>(bad.as_bytes()),
                Err(DecodeError),
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_hex_and_bad_base64_characters_are_refused() {
        assert!(decode_hex_or_b64::<16>(b"3031323334353637383961626364656g").is_err());
        assert!(decode_hex_or_b64::<16>(b"MDEyMzQ1Njc4OWFiY2RlZ*==").is_err());
        assert!(decode_hex_or_b64::<16>(b"MDEyMzQ1Njc4OW-iY2RlZg==").is_err());
        assert!(decode_hex_or_b64::<16>(b"3031 2333435363738396162636465").is_err());
        assert!(decode_hex_or_b64::<16>(b"").is_err());
        // 24 characters of valid base64 that decode to 18 bytes, not 16.
        assert!(decode_hex_or_b64::<16>(b"MDEyMzQ1Njc4OWFiY2RlZmdo").is_err());
    }

    #[test]
    fn the_get_message_matches_the_vector_bytes() {
        // test-vectors.md §2a
        let message = signed_message(&server(), NONCE, b"1642079887", &CAPABILITIES);
        assert_eq!(
            hex::encode(message),
            "6a32c7b491f4199dd1260a4cc60ae51c6bd71dad939cc521e738409f53f943be30313233343536373839616263646566313634323037393838374745542f6361706162696c69746965733f72657175697265643d736f6773"
        );
    }

    #[test]
    fn the_post_message_ends_with_the_body_hash() {
        // test-vectors.md §2b
        let message = signed_message(&server(), NONCE, b"1642079887", &POST_ENDPOINT);
        assert_eq!(
            hex::encode(message),
            "6a32c7b491f4199dd1260a4cc60ae51c6bd71dad939cc521e738409f53f943be3031323334353637383961626364656631363432303739383837504f53542f736f6d652f656e64706f696e74f5bfc4e425382a0c72d618c6ab1132cb4ea3ddb54e0109cffb1b917c7a06b6b1396adfd7d88f921ce08643538c57ca532fcace89d0175f333a1f5ab016c72949"
        );
    }

    #[test]
    fn unblinded_signatures_match_the_vectors_and_map_to_the_05_id() {
        let signer = RequestSigner::Unblinded(user());
        for (request, sig_b64) in [
            (
                CAPABILITIES,
                "EekfvfIGjG6W4LZIQRZewhDC42jWh8UbFeVbp+Zz3vTrx4E4bmsX/qEdn1r6w3KT6f6EtCba1CY2G9GZNuDNBw==",
            ),
            (
                POST_ENDPOINT,
                "2hgC/exIJa95SCaBT1AGihnUzV+QIXto3M93Vm9JHZGPpVNU7Jr5kkVg5VuFk2o8+0mKcSYe+4SXhjS6DjwHDA==",
            ),
        ] {
            let headers = signer.sign_request_with(&server(), *NONCE, TS, &request);
            assert_eq!(
                headers.pubkey,
                "00f58fe1d7c341f9c3538f1a6d8d582e5d7cbc2b4101d189e13a94f08718472f02"
            );
            assert_eq!(headers.signature, sig_b64);
            let id = authenticate(&headers.as_raw(), &open_policy(), &request).unwrap();
            assert_eq!(
                id.to_string(),
                "05c506fee5118680107a4722f60a05dfcbb5737d6ffc4d163fb60479e279c6095d"
            );
            assert_eq!(id, signer.session_id());
        }
    }

    #[test]
    fn blinded_signatures_match_both_nonce_variants_and_verify() {
        let blinded_hex = "15cef185d46b60a548641bd8c5baa4b7cf90b7da8e883c0ac774c703d249086479";
        let rows = [
            (
                CAPABILITIES,
                Blind15Nonce::PysogsTests,
                "T57zrNQMYyF/32tG0h7kqPynXBx6pu3Pow+/dPZw7RK1pczapnor5YC6k+p5iFw6IyKS9uY4VmYnlJVGLBK1DA==",
            ),
            (
                CAPABILITIES,
                Blind15Nonce::Libsession,
                "oW53bjqjg2B3yqz4bzZogPKD8vgBLpuqh6eU2Ym1PyyV2IjW7cNMRAYCzK+/4fsZ3RNwq3WLGTTpjbFjypJ8Cg==",
            ),
            (
                POST_ENDPOINT,
                Blind15Nonce::PysogsTests,
                "UcxFTxjNZATZ1GGD+P09iR8fpJFKuj5W8QhfuA51tXr1hR7cSAydlpn1W2VDzuKvwjA3BhbvS7GNxuKvQURUCw==",
            ),
            (
                POST_ENDPOINT,
                Blind15Nonce::Libsession,
                "Y8JMbho2zs0rzof4Tj3abeLq776Zv3oIYST5XDY4FKeKxIWtz9xmxaBa1gYe9gEYnxJIt2LMzznbAhLJso2BCw==",
            ),
        ];
        for (request, variant, sig_b64) in rows {
            let pair = BlindedKeyPair::blind15_with_nonce(&user(), &server(), variant);
            let signer = RequestSigner::Blinded(pair);
            let headers = signer.sign_request_with(&server(), *NONCE, TS, &request);
            assert_eq!(headers.pubkey, blinded_hex);
            assert_eq!(headers.signature, sig_b64, "{variant:?} {}", request.method);
            let id = authenticate(&headers.as_raw(), &AuthPolicy::default(), &request).unwrap();
            assert_eq!(id.to_string(), blinded_hex);
        }
    }

    #[test]
    fn hex_encoded_vector_headers_verify_too() {
        let headers = raw(
            "15cef185d46b60a548641bd8c5baa4b7cf90b7da8e883c0ac774c703d249086479",
            "30313233343536373839616263646566",
            "1642079887",
            "4f9ef3acd40c63217fdf6b46d21ee4a8fca75c1c7aa6edcfa30fbf74f670ed12b5a5ccdaa67a2be580ba93ea79885c3a232292f6e6385666279495462c12b50c",
        );
        assert!(authenticate(&headers, &AuthPolicy::default(), &CAPABILITIES).is_ok());
    }

    #[test]
    fn blind25_keys_are_refused_unless_the_policy_accepts_them() {
        let signer = RequestSigner::Blinded(BlindedKeyPair::blind25(&user(), &server()));
        let headers = signer.sign_request_with(&server(), *NONCE, TS, &CAPABILITIES);
        assert!(headers.pubkey.starts_with("25"));
        assert_eq!(
            SignedHeaders::parse(&headers.as_raw(), &AuthPolicy::default()),
            Err(AuthError::PubkeyPrefix)
        );
        let id = authenticate(&headers.as_raw(), &open_policy(), &CAPABILITIES).unwrap();
        assert_eq!(id, signer.session_id());
    }

    #[test]
    fn unblinded_keys_are_refused_when_blinding_is_required() {
        let headers = RequestSigner::Unblinded(user()).sign_request_with(
            &server(),
            *NONCE,
            TS,
            &CAPABILITIES,
        );
        assert_eq!(
            SignedHeaders::parse(&headers.as_raw(), &AuthPolicy::default()),
            Err(AuthError::BlindingRequired)
        );
    }

    fn blinded_headers() -> AuthHeaderValues {
        RequestSigner::Blinded(BlindedKeyPair::blind15(&user(), &server())).sign_request_with(
            &server(),
            *NONCE,
            TS,
            &CAPABILITIES,
        )
    }

    #[test]
    fn a_flipped_signature_bit_fails_verification_with_401() {
        let mut headers = blinded_headers();
        let mut sig = B64.decode(&headers.signature).unwrap();
        sig[10] ^= 1 << 2;
        headers.signature = B64.encode(sig);
        let err = authenticate(&headers.as_raw(), &AuthPolicy::default(), &CAPABILITIES);
        assert_eq!(err, Err(AuthError::SignatureInvalid));
        assert_eq!(AuthError::SignatureInvalid.status_code(), 401);
    }

    #[test]
    fn a_non_canonical_s_is_refused_although_it_satisfies_the_equation() {
        // S + L verifies under a lax verifier; libsodium (and verify_strict) refuse it.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut headers = blinded_headers();
        let mut sig = B64.decode(&headers.signature).unwrap();
        let mut carry = 0u16;
        for (s, l) in sig[32..].iter_mut().zip(L) {
            let sum = u16::from(*s) + u16::from(l) + carry;
            *s = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        headers.signature = B64.encode(sig);
        assert_eq!(
            authenticate(&headers.as_raw(), &AuthPolicy::default(), &CAPABILITIES),
            Err(AuthError::SignatureInvalid)
        );
    }

    #[test]
    fn a_signature_for_another_path_fails_verification() {
        let signer = RequestSigner::Blinded(BlindedKeyPair::blind15(&user(), &server()));
        let signed = SignedRequest {
            method: "GET",
            path: "/auth_test/whoareu",
            query: "",
            body: b"",
        };
        let headers = signer.sign_request_with(&server(), *NONCE, TS, &signed);
        let requested = SignedRequest {
            path: "/auth_test/whoami",
            ..signed
        };
        assert_eq!(
            authenticate(&headers.as_raw(), &AuthPolicy::default(), &requested),
            Err(AuthError::SignatureInvalid)
        );
        assert!(authenticate(&headers.as_raw(), &AuthPolicy::default(), &signed).is_ok());
    }

    #[test]
    fn a_changed_body_or_server_key_fails_verification() {
        let signer = RequestSigner::Blinded(BlindedKeyPair::blind15(&user(), &server()));
        let headers = signer.sign_request_with(&server(), *NONCE, TS, &POST_ENDPOINT);
        let parsed = SignedHeaders::parse(&headers.as_raw(), &AuthPolicy::default())
            .unwrap()
            .unwrap();
        let other_body = SignedRequest {
            body: b"{\"a\":2}",
            ..POST_ENDPOINT
        };
        assert!(parsed.verify(&server(), &other_body).is_err());
        let other_server = ServerPublicKey::from_bytes([9u8; 32]);
        assert!(parsed.verify(&other_server, &POST_ENDPOINT).is_err());
    }

    #[test]
    fn timestamps_within_a_day_are_accepted_and_beyond_are_425() {
        let headers = blinded_headers();
        let parsed = SignedHeaders::parse(&headers.as_raw(), &AuthPolicy::default())
            .unwrap()
            .unwrap();
        for offset in [-86_399.0, 86_399.0, -86_400.0, 86_400.0, 0.0] {
            assert_eq!(parsed.check_timestamp(NOW + offset), Ok(()), "{offset}");
        }
        for offset in [-86_402.0, 86_402.0] {
            assert_eq!(
                parsed.check_timestamp(NOW + offset),
                Err(AuthError::TimestampOutOfRange)
            );
        }
        assert_eq!(AuthError::TimestampOutOfRange.status_code(), 425);
    }

    #[test]
    fn a_timestamp_with_trailing_junk_is_400() {
        let mut headers = blinded_headers();
        headers.timestamp.push('a');
        let err = SignedHeaders::parse(&headers.as_raw(), &AuthPolicy::default()).unwrap_err();
        assert_eq!(err, AuthError::TimestampFormat);
        assert_eq!(err.status_code(), 400);
        assert_eq!(
            err.to_string(),
            "Invalid authentication: X-SOGS-Timestamp is not a valid timestamp"
        );
    }

    #[test]
    fn timestamps_parse_like_python_int() {
        assert_eq!(parse_python_int(b"1642079887"), Some(1_642_079_887));
        assert_eq!(parse_python_int(b" +0001642079887 "), Some(1_642_079_887));
        assert_eq!(parse_python_int(b"1_642_079_887"), Some(1_642_079_887));
        assert_eq!(parse_python_int(b"-5"), Some(-5));
        assert_eq!(
            parse_python_int(b"99999999999999999999999999"),
            Some(i64::MAX)
        );
        for bad in [
            &b""[..],
            b" ",
            b"+",
            b"1__2",
            b"_1",
            b"1_",
            b"1.5",
            b"0x10",
            b"1e3",
            b"12a",
        ] {
            assert_eq!(parse_python_int(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_huge_timestamp_is_too_far_rather_than_malformed() {
        let mut headers = blinded_headers();
        headers.timestamp = "9".repeat(40);
        let parsed = SignedHeaders::parse(&headers.as_raw(), &AuthPolicy::default())
            .unwrap()
            .unwrap();
        assert_eq!(
            parsed.check_timestamp(NOW),
            Err(AuthError::TimestampOutOfRange)
        );
    }

    #[test]
    fn a_truncated_signature_is_400_not_base64() {
        let mut headers = blinded_headers();
        headers.signature.truncate(84);
        let err = SignedHeaders::parse(&headers.as_raw(), &AuthPolicy::default()).unwrap_err();
        assert_eq!(err, AuthError::SignatureEncoding);
        assert_eq!(
            err.to_string(),
            "Invalid authentication: X-SOGS-Signature is not base64[88]"
        );
    }

    #[test]
    fn bad_nonces_are_400() {
        for bad in [
            "MDEyMzQ1Njc4OWFiY2RlZg===",
            "3031323334353637383961626364656",
        ] {
            let mut headers = blinded_headers();
            headers.nonce = bad.to_owned();
            let err = SignedHeaders::parse(&headers.as_raw(), &AuthPolicy::default()).unwrap_err();
            assert_eq!(err, AuthError::NonceEncoding);
            assert_eq!(err.status_code(), 400);
        }
        let mut headers = blinded_headers();
        headers.nonce = "MDEyMzQ1Njc4OWFiY2RlZg".to_owned();
        assert!(authenticate(&headers.as_raw(), &AuthPolicy::default(), &CAPABILITIES).is_ok());
    }

    #[test]
    fn bad_pubkeys_fail_in_step_order() {
        let mut headers = blinded_headers();
        headers.pubkey.truncate(64);
        assert_eq!(
            SignedHeaders::parse(&headers.as_raw(), &AuthPolicy::default()),
            Err(AuthError::PubkeyEncoding)
        );
        let mut headers = blinded_headers();
        headers.pubkey.replace_range(0..2, "05");
        assert_eq!(
            SignedHeaders::parse(&headers.as_raw(), &AuthPolicy::default()),
            Err(AuthError::PubkeyPrefix)
        );
        // A bad pubkey is reported before a bad nonce.
        let mut headers = blinded_headers();
        headers.pubkey.replace_range(0..2, "16");
        headers.nonce = "x".to_owned();
        assert_eq!(
            SignedHeaders::parse(&headers.as_raw(), &AuthPolicy::default()),
            Err(AuthError::PubkeyPrefix)
        );
        // The pubkey may also be sent as 44 characters of base64.
        let mut headers = blinded_headers();
        headers.pubkey = B64.encode(hex::decode(&headers.pubkey).unwrap());
        assert_eq!(headers.pubkey.len(), 44);
        assert!(authenticate(&headers.as_raw(), &AuthPolicy::default(), &CAPABILITIES).is_ok());
    }

    #[test]
    fn adding_a_small_order_point_makes_the_pubkey_invalid() {
        // test-vectors.md §2d: the zero point to a 00 key, the other point to a 15 key.
        let cases = [
            (
                "00",
                hex::encode(user().verifying_key().as_bytes()),
                "0000000000000000000000000000000000000000000000000000000000000000",
            ),
            (
                "15",
                hex::encode(BlindedKeyPair::blind15(&user(), &server()).public_key()),
                "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
            ),
        ];
        for (prefix, key_hex, torsion_hex) in cases {
            let point = |h: &str| {
                CompressedEdwardsY(hex::decode(h).unwrap().try_into().unwrap())
                    .decompress()
                    .unwrap()
            };
            let sum = (point(&key_hex) + point(torsion_hex)).compress();
            let mut headers = blinded_headers();
            headers.pubkey = format!("{prefix}{}", hex::encode(sum.as_bytes()));
            let err = SignedHeaders::parse(&headers.as_raw(), &open_policy()).unwrap_err();
            assert_eq!(err, AuthError::InvalidPubkey);
            assert_eq!(
                err.to_string(),
                "Invalid authentication: given X-SOGS-Pubkey is not a valid Ed25519 pubkey"
            );
        }
    }

    #[test]
    fn missing_headers_are_counted_including_empty_ones() {
        let headers = blinded_headers();
        let mut raw = headers.as_raw();
        raw.timestamp = None;
        let err = SignedHeaders::parse(&raw, &AuthPolicy::default()).unwrap_err();
        assert_eq!(err, AuthError::MissingHeaders(1));
        assert_eq!(
            err.to_string(),
            "Invalid authentication headers: missing 1/4 required X-SOGS-* headers"
        );
        let mut raw = headers.as_raw();
        raw.timestamp = Some(b"");
        raw.nonce = Some(b"");
        assert_eq!(
            SignedHeaders::parse(&raw, &AuthPolicy::default()),
            Err(AuthError::MissingHeaders(2))
        );
    }

    #[test]
    fn no_headers_or_only_empty_ones_mean_anonymous() {
        assert_eq!(
            SignedHeaders::parse(&RawAuthHeaders::default(), &AuthPolicy::default()),
            Ok(None)
        );
        assert_eq!(
            SignedHeaders::parse(&raw("", "", "", ""), &AuthPolicy::default()),
            Ok(None)
        );
    }

    #[test]
    fn every_error_has_pysogs_status_code() {
        let expected = [
            (AuthError::MissingHeaders(3), 400),
            (AuthError::PubkeyEncoding, 400),
            (AuthError::PubkeyPrefix, 400),
            (AuthError::InvalidPubkey, 400),
            (AuthError::BlindingRequired, 400),
            (AuthError::NonceEncoding, 400),
            (AuthError::SignatureEncoding, 400),
            (AuthError::TimestampFormat, 400),
            (AuthError::TimestampOutOfRange, 425),
            (AuthError::Banned, 403),
            (AuthError::NonceReused, 425),
            (AuthError::SignatureInvalid, 401),
        ];
        for (err, code) in expected {
            assert_eq!(err.status_code(), code, "{err}");
        }
        assert_eq!(AuthError::Banned.to_string(), "Banned");
        assert_eq!(
            AuthError::NonceReused.to_string(),
            "Invalid authentication: X-SOGS-Nonce cannot be reused"
        );
        assert_eq!(
            AuthError::BlindingRequired.to_string(),
            "Invalid authentication: this server requires the use of blinded ids"
        );
    }

    #[test]
    fn encoded_and_raw_utf8_paths_sign_identically() {
        // test-vectors.md §3a: the signature covers the decoded path.
        let (encoded, query) = split_target("/test_encoding/%E2%9D%A4%EF%B8%8F");
        let (raw_path, _) = split_target("/test_encoding/❤️");
        assert_eq!(encoded, raw_path);
        assert_eq!(query, "");
        let signer = RequestSigner::Blinded(BlindedKeyPair::blind15(&user(), &server()));
        let sign = |path: &str| {
            let request = SignedRequest {
                method: "PUT",
                path,
                query: "",
                body: b"{}",
            };
            signer
                .sign_request_with(&server(), *NONCE, TS, &request)
                .signature
        };
        assert_eq!(sign(&encoded), sign(&raw_path));
    }

    #[test]
    fn targets_split_at_the_first_question_mark_and_keep_the_query_raw() {
        assert_eq!(
            split_target("/room/x/messages?a=%20b?c"),
            ("/room/x/messages".to_owned(), "a=%20b?c")
        );
        assert_eq!(split_target("/r/%F0%9F%8D%8D"), ("/r/🍍".to_owned(), ""));
    }

    #[test]
    fn malformed_percent_escapes_stay_literal_and_bad_utf8_is_replaced() {
        assert_eq!(percent_decode("/a%zz/%4"), "/a%zz/%4");
        assert_eq!(percent_decode("/%41%2f%2F"), "/A//");
        assert_eq!(percent_decode("/%ff"), "/\u{fffd}");
        assert_eq!(percent_decode("%"), "%");
    }

    #[test]
    fn random_nonces_differ_and_still_verify() {
        let signer = RequestSigner::Blinded(BlindedKeyPair::blind15(&user(), &server()));
        let a = signer.sign_request(&server(), TS, &CAPABILITIES);
        let b = signer.sign_request(&server(), TS, &CAPABILITIES);
        assert_ne!(a.nonce, b.nonce);
        assert!(authenticate(&a.as_raw(), &AuthPolicy::default(), &CAPABILITIES).is_ok());
        assert_eq!(a.pairs()[0], (HEADER_PUBKEY, a.pubkey.as_str()));
    }
}
