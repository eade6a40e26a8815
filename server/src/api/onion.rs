//! Onion requests (spec §3) as the route table sees them: opening the last layer, turning the
//! inner v3/v4 plaintext into an [`ApiRequest`], and turning the [`ApiResponse`] back into
//! the plaintext to seal — for v4 padded to a size bucket.
//!
//! Everything here is synchronous and free of IO; `handlers::onion` wires it to the
//! dispatcher, the metrics and the HTTP reply.
//!
//! Decisions where the spec leaves room:
//! * The outer HTTP headers come from the last hop (a service node), not from the client, so
//!   the inner request does **not** inherit them; it carries exactly its own headers.
//! * An inner method other than GET/POST/PUT/DELETE is answered 405 inside the reply, as
//!   Flask would route it; any other malformed inner request is the spec's 400.
//! * An onion request inside an onion request is refused with 400 inside the reply.
//! * v4 replies are padded with an extra header in the reply metadata (`x-sogs-pad`), the one
//!   place every Session client already ignores; the bencoded list keeps exactly two strict
//!   elements. v3 replies (deprecated; a 2xx reply is the bare body) are not padded.

use serde::Deserialize;
use serde_json::Value;

use crate::config::OnionConfig;
use crate::crypto::bencode;
use crate::crypto::keys::ServerKey;
use crate::crypto::onion::{EncType, OnionError, OnionFrame, OnionKey};
use crate::crypto::onion_v4::{INVALID_REQUEST_BODY, V4Error, V4Request, V4Response};

use super::error::ApiError;
use super::request::{ApiRequest, ApiResponse, Headers, Method};

/// The three onion endpoints.
pub const ONION_V4_PATH: &str = "/oxen/v4/lsrpc";
/// The current v3 endpoint.
pub const ONION_V3_PATH: &str = "/oxen/v3/lsrpc";
/// The v3 endpoint under its old name.
pub const ONION_V3_LEGACY_PATH: &str = "/loki/v3/lsrpc";

/// The reply-metadata header that carries the padding filler.
pub const PAD_HEADER: &str = "x-sogs-pad";

/// Whether `path` is one of the onion endpoints (which cannot be nested in one another or in
/// a batch).
pub fn is_onion_path(path: &str) -> bool {
    matches!(path, ONION_V4_PATH | ONION_V3_PATH | ONION_V3_LEGACY_PATH)
}

/// The onion protocol version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V3,
    V4,
}

impl Version {
    /// The metrics label.
    pub const fn label(self) -> &'static str {
        match self {
            Self::V3 => "v3",
            Self::V4 => "v4",
        }
    }
}

/// A decrypted onion request and the key its reply is sealed with.
pub struct Opened {
    pub plaintext: Vec<u8>,
    pub key: OnionKey,
}

/// Why the last layer could not be opened, with the cipher if it was known by then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct Rejected {
    pub cipher: Option<EncType>,
    #[source]
    pub error: OnionError,
}

/// Parses the outer frame, derives the key and decrypts.
pub fn open(server: &ServerKey, body: &[u8]) -> Result<Opened, Rejected> {
    let frame = OnionFrame::parse(body).map_err(|error| Rejected {
        cipher: None,
        error,
    })?;
    let cipher = frame.effective_enc_type();
    let rejected = |error| Rejected {
        cipher: Some(cipher),
        error,
    };
    let key = OnionKey::for_server(server, &frame.ephemeral_key, cipher).map_err(rejected)?;
    let plaintext = key.open(frame.ciphertext).map_err(rejected)?;
    Ok(Opened { plaintext, key })
}

/// How one onion request ended, for the `outcome` metrics label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The inner request was served with a status below 400.
    Ok,
    /// Served, with a 4xx status.
    InnerClientError,
    /// Served, with a 5xx status.
    InnerServerError,
    /// Decrypted, but the inner request was malformed (answered inside the reply).
    BadInner,
    /// The outer frame or its metadata was malformed (plain 400).
    BadFrame,
    /// The ephemeral key gave no shared secret (plain 400).
    BadKey,
    /// Authentication of the ciphertext failed (plain 400).
    DecryptionFailed,
}

impl Outcome {
    /// The outcome of an inner request answered with `status`.
    pub fn of_status(status: u16) -> Self {
        match status {
            0..400 => Self::Ok,
            400..500 => Self::InnerClientError,
            _ => Self::InnerServerError,
        }
    }

    /// The outcome of a request whose last layer could not be opened.
    pub fn of_rejection(error: OnionError) -> Self {
        match error {
            OnionError::KeyExchange => Self::BadKey,
            OnionError::CiphertextTooShort | OnionError::DecryptionFailed => Self::DecryptionFailed,
            OnionError::Truncated
            | OnionError::BadMetadata
            | OnionError::BadEphemeralKey
            | OnionError::UnknownEncType
            | OnionError::NonceLength => Self::BadFrame,
        }
    }

    /// The metrics label.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::InnerClientError => "inner_4xx",
            Self::InnerServerError => "inner_5xx",
            Self::BadInner => "bad_inner_request",
            Self::BadFrame => "bad_frame",
            Self::BadKey => "bad_key",
            Self::DecryptionFailed => "decryption_failed",
        }
    }
}

/// The metrics label of a cipher (`unknown` when the frame did not parse).
pub fn cipher_label(cipher: Option<EncType>) -> &'static str {
    cipher.map_or("unknown", EncType::name)
}

/// Why a decrypted inner request cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InnerError {
    #[error(transparent)]
    V4(#[from] V4Error),
    #[error("invalid v3 onion request: {0}")]
    V3(&'static str),
    #[error("unsupported method {0:?}")]
    Method(String),
    #[error("onion requests cannot be nested")]
    Nested,
}

impl InnerError {
    /// The response that travels back inside the encrypted reply.
    pub fn response(&self) -> ApiResponse {
        match self {
            Self::V4(V4Error::MetadataTooLarge) => {
                ApiResponse::text(431, "Request header fields too large")
            }
            Self::V4(_) | Self::V3(_) => ApiResponse::text(400, INVALID_REQUEST_BODY),
            Self::Nested => ApiResponse::text(400, "Onion requests cannot be nested"),
            Self::Method(_) => ApiError::MethodNotAllowed.into_response(),
        }
    }
}

/// The inner request of a v4 onion request. Content-Type defaults to
/// `application/octet-stream`; `Content-Length` is ignored.
pub fn parse_v4(plaintext: &[u8]) -> Result<ApiRequest, InnerError> {
    let inner = V4Request::decode(plaintext)?;
    let method = Method::parse(&inner.method).ok_or(InnerError::Method(inner.method))?;
    let mut headers = Headers::new();
    for (name, value) in &inner.headers {
        if !name.eq_ignore_ascii_case("content-length") {
            headers.set(name, value.as_str());
        }
    }
    if headers.get("content-type").is_none() {
        headers.set("content-type", "application/octet-stream");
    }
    // V4Request::decode has checked the leading '/'.
    let request = ApiRequest::from_target(method, &inner.endpoint, headers, inner.body.to_vec())
        .map_err(|_| InnerError::V4(V4Error::Endpoint))?;
    refuse_nesting(request)
}

#[derive(Deserialize)]
struct V3Request {
    endpoint: String,
    method: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    headers: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    auth_code: Option<String>,
}

/// The inner request of a v3 onion request: a JSON object with `endpoint`, `method`, optional
/// `body` (a string) and `headers`. Content-Type is forced to `application/json`; an endpoint
/// without a leading `/` is a legacy one (`/legacy/<endpoint>`, `auth_code` as
/// `Authorization`).
pub fn parse_v3(plaintext: &[u8]) -> Result<ApiRequest, InnerError> {
    if plaintext.first() != Some(&b'{') {
        return Err(InnerError::V3("not a JSON object"));
    }
    let inner: V3Request =
        serde_json::from_slice(plaintext).map_err(|_| InnerError::V3("malformed JSON"))?;
    let method = Method::parse(&inner.method).ok_or(InnerError::Method(inner.method))?;
    let mut headers = Headers::new();
    for (name, value) in inner.headers.unwrap_or_default() {
        let value = match value {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => continue,
            _ => return Err(InnerError::V3("header values must be strings")),
        };
        if !name.eq_ignore_ascii_case("content-length") {
            headers.set(&name, value);
        }
    }
    let target = if inner.endpoint.starts_with('/') {
        inner.endpoint
    } else {
        if let Some(auth) = inner.auth_code {
            headers.set("authorization", auth);
        }
        format!("/legacy/{}", inner.endpoint)
    };
    headers.set("content-type", "application/json");
    let body = match inner.body {
        None => Vec::new(),
        Some(body) if method.has_body() => body.into_bytes(),
        // Android sends the string "null" as the body of its GETs.
        Some(body) if body.is_empty() || body == "null" => Vec::new(),
        Some(_) => return Err(InnerError::V3("GET and DELETE cannot have a body")),
    };
    let request = ApiRequest::from_target(method, &target, headers, body)
        .map_err(|_| InnerError::V3("endpoint must be a path"))?;
    refuse_nesting(request)
}

fn refuse_nesting(request: ApiRequest) -> Result<ApiRequest, InnerError> {
    if is_onion_path(&request.path) {
        return Err(InnerError::Nested);
    }
    Ok(request)
}

/// A route-table response as a v4 reply: Content-Type first, then the other headers.
pub fn v4_response(response: &ApiResponse) -> V4Response {
    let mut headers = Vec::with_capacity(response.headers.len() + 1);
    if let Some(ct) = response.content_type() {
        headers.push(("content-type".to_owned(), ct.to_owned()));
    }
    headers.extend(
        response
            .headers
            .iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("content-type"))
            .cloned(),
    );
    V4Response {
        code: response.status,
        headers,
        body: response.body_bytes(),
    }
}

/// A route-table response as a v3 reply: the body of a 2xx, else `{"status_code": N}`.
pub fn v3_reply(response: &ApiResponse) -> Vec<u8> {
    if response.is_success() {
        response.body_bytes()
    } else {
        format!("{{\"status_code\": {}}}", response.status).into_bytes()
    }
}

/// The sizes v4 replies are padded to: `min_bytes`, doubled while below `step_bytes`, then
/// multiples of `step_bytes` (so a large file download grows by less than one step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Padding {
    pub min_bytes: usize,
    pub step_bytes: usize,
}

impl Padding {
    /// The configured padding, or `None` when padding is off.
    pub fn from_config(config: &OnionConfig) -> Option<Self> {
        config.pad_replies.then(|| Self {
            min_bytes: usize::try_from(config.pad_min_bytes).unwrap_or(usize::MAX),
            step_bytes: usize::try_from(config.pad_step_bytes).unwrap_or(usize::MAX),
        })
    }

    /// The smallest bucket that holds `len` bytes.
    pub fn bucket(&self, len: usize) -> usize {
        let mut bucket = self.min_bytes.max(1);
        while bucket < len && bucket < self.step_bytes {
            bucket = bucket.saturating_mul(2);
        }
        if bucket >= len {
            return bucket;
        }
        let step = self.step_bytes.max(1);
        len.div_ceil(step).saturating_mul(step)
    }
}

/// The plaintext of a v4 reply. With padding, a `x-sogs-pad` header of `0`s is added to the
/// metadata so that the reply, once sealed with `cipher`, is exactly one bucket long.
pub fn encode_v4_reply(
    response: &V4Response,
    padding: Option<Padding>,
    cipher: EncType,
) -> Vec<u8> {
    let Some(padding) = padding else {
        return response.encode();
    };
    let meta_with_filler = |filler: usize| {
        let mut headers = response.headers.clone();
        headers.push((PAD_HEADER.to_owned(), "0".repeat(filler)));
        V4Response {
            code: response.code,
            headers,
            body: Vec::new(),
        }
        .encode_meta()
    };
    let meta_len = meta_with_filler(0).len();
    let body_len = response.body.len();
    // The filler is ASCII, so each filler byte adds one byte of metadata; only the bencode
    // length prefix of the metadata can grow by more (one digit at each power of ten).
    let sealed_len = |filler: usize| {
        let meta = meta_len + filler;
        cipher.overhead() + 1 + digits(meta) + 1 + meta + digits(body_len) + 1 + body_len + 1
    };
    let mut target = padding.bucket(sealed_len(0));
    // A length whose prefix would cross a power of ten can be one byte out of reach; the next
    // bucket then always fits. Four rounds are more than ever needed.
    for _ in 0..4 {
        let short = target - sealed_len(0);
        if let Some(filler) = (short.saturating_sub(20)..=short)
            .rev()
            .find(|&f| sealed_len(f) == target)
        {
            return bencode::encode_byte_list(&[&meta_with_filler(filler), &response.body]);
        }
        target = padding.bucket(target + 1);
    }
    response.encode()
}

fn digits(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::api::request::Body;
    use crate::crypto::onion::seal_request;

    fn v4_plain(meta: &str, body: Option<&[u8]>) -> Vec<u8> {
        match body {
            Some(body) => bencode::encode_byte_list(&[meta.as_bytes(), body]),
            None => bencode::encode_byte_list(&[meta.as_bytes()]),
        }
    }

    #[test]
    fn a_sealed_request_opens_with_its_cipher() {
        let server = ServerKey::generate();
        for cipher in [EncType::Aes256Gcm, EncType::XChaCha20Poly1305] {
            let (body, _) = seal_request(&server.public_key(), cipher, b"hi").unwrap();
            let opened = open(&server, &body).unwrap();
            assert_eq!(opened.plaintext, b"hi");
            assert_eq!(opened.key.enc_type(), cipher);
        }
    }

    #[test]
    fn rejections_name_the_cipher_once_it_is_known() {
        let server = ServerKey::generate();
        let other = ServerKey::generate();
        let err = open(&server, b"\x01\x00").err().unwrap();
        assert_eq!(err.cipher, None);
        assert_eq!(Outcome::of_rejection(err.error), Outcome::BadFrame);
        let (body, _) =
            seal_request(&other.public_key(), EncType::XChaCha20Poly1305, b"x").unwrap();
        let err = open(&server, &body).err().unwrap();
        assert_eq!(err.cipher, Some(EncType::XChaCha20Poly1305));
        assert_eq!(Outcome::of_rejection(err.error), Outcome::DecryptionFailed);
        assert_eq!(cipher_label(err.cipher), "xchacha20");
        assert_eq!(cipher_label(None), "unknown");
    }

    #[test]
    fn a_v4_request_becomes_an_api_request() {
        let plain = v4_plain(
            r#"{"method":"POST","endpoint":"/room/a%20b/message?x=1","headers":{"X-SOGS-Nonce":"n","Content-Length":"99"}}"#,
            Some(b"{}"),
        );
        let req = parse_v4(&plain).unwrap();
        assert_eq!(req.method, Method::Post);
        assert_eq!(req.path, "/room/a b/message");
        assert_eq!(req.query, "x=1");
        assert_eq!(req.body, b"{}");
        assert_eq!(req.headers.get("x-sogs-nonce"), Some("n"));
        assert_eq!(req.headers.get("content-length"), None);
        assert_eq!(
            req.headers.get("content-type"),
            Some("application/octet-stream")
        );
        let plain = v4_plain(
            r#"{"method":"GET","endpoint":"/capabilities","headers":{"Content-Type":"application/json"}}"#,
            None,
        );
        let req = parse_v4(&plain).unwrap();
        assert_eq!(req.content_type().as_deref(), Some("application/json"));
        assert!(req.body.is_empty());
    }

    #[test]
    fn malformed_v4_requests_are_refused() {
        for plain in [
            b"".to_vec(),
            b"garbage".to_vec(),
            b"l5:abce".to_vec(),
            v4_plain("{}", None),
            v4_plain(r#"{"method":"GET","endpoint":"capabilities"}"#, None),
            v4_plain(r#"{"method":"GET"}"#, None),
            bencode::encode_byte_list(&[br#"{"method":"GET","endpoint":"/x"}"#, b"", b""]),
        ] {
            let err = parse_v4(&plain).unwrap_err();
            assert!(matches!(err, InnerError::V4(_)), "{plain:?}");
            let response = err.response();
            assert_eq!(response.status, 400);
            assert_eq!(response.body_bytes(), INVALID_REQUEST_BODY.as_bytes());
        }
        let err = parse_v4(&v4_plain(r#"{"method":"PATCH","endpoint":"/x"}"#, None)).unwrap_err();
        assert_eq!(err, InnerError::Method("PATCH".into()));
        assert_eq!(err.response().status, 405);
    }

    #[test]
    fn metadata_longer_than_the_bound_is_refused_with_431_before_it_is_parsed() {
        let headers: Vec<String> = (0..40_000).map(|i| format!(r#""h{i}":"v""#)).collect();
        let meta = format!(
            r#"{{"method":"GET","endpoint":"/capabilities","headers":{{{}}}}}"#,
            headers.join(",")
        );
        assert!(meta.len() > crate::crypto::onion_v4::MAX_METADATA_BYTES);
        let err = parse_v4(&v4_plain(&meta, None)).unwrap_err();
        assert_eq!(err, InnerError::V4(V4Error::MetadataTooLarge));
        assert_eq!(err.response().status, 431);
        // Just under the bound it is parsed (and its headers judged by the dispatcher).
        let few: Vec<String> = (0..100).map(|i| format!(r#""h{i}":"v""#)).collect();
        let meta = format!(
            r#"{{"method":"GET","endpoint":"/capabilities","headers":{{{}}}}}"#,
            few.join(",")
        );
        assert!(parse_v4(&v4_plain(&meta, None)).is_ok());
    }

    #[test]
    fn onion_requests_cannot_be_nested() {
        for path in [ONION_V4_PATH, ONION_V3_PATH, ONION_V3_LEGACY_PATH] {
            let meta = format!(r#"{{"method":"POST","endpoint":"{path}"}}"#);
            assert_eq!(
                parse_v4(&v4_plain(&meta, Some(b"x"))).unwrap_err(),
                InnerError::Nested
            );
            let v3 = format!(r#"{{"method":"POST","endpoint":"{path}","body":"x"}}"#);
            assert_eq!(parse_v3(v3.as_bytes()).unwrap_err(), InnerError::Nested);
        }
        assert_eq!(InnerError::Nested.response().status, 400);
    }

    #[test]
    fn a_v3_request_becomes_an_api_request_with_json_content_type() {
        let req = parse_v3(
            br#"{"method":"POST","endpoint":"/batch?a=b","body":"[]","headers":{"X-SOGS-Pubkey":"15ab","Content-Type":"text/plain","n":1}}"#,
        )
        .unwrap();
        assert_eq!(req.method, Method::Post);
        assert_eq!(req.path, "/batch");
        assert_eq!(req.query, "a=b");
        assert_eq!(req.body, b"[]");
        assert_eq!(req.headers.get("x-sogs-pubkey"), Some("15ab"));
        assert_eq!(req.headers.get("n"), Some("1"));
        assert_eq!(req.content_type().as_deref(), Some("application/json"));
    }

    #[test]
    fn v3_legacy_endpoints_and_the_android_null_body() {
        let req =
            parse_v3(br#"{"method":"GET","endpoint":"rooms","auth_code":"tok","body":"null"}"#)
                .unwrap();
        assert_eq!(req.path, "/legacy/rooms");
        assert_eq!(req.headers.get("authorization"), Some("tok"));
        assert!(req.body.is_empty());
    }

    #[test]
    fn malformed_v3_requests_are_refused() {
        for plain in [
            &b""[..],
            b" {}",
            b"[]",
            b"{",
            b"{}",
            br#"{"method":"GET"}"#,
            br#"{"endpoint":"/x"}"#,
            br#"{"method":1,"endpoint":"/x"}"#,
            br#"{"method":"GET","endpoint":"/x","body":"data"}"#,
            br#"{"method":"POST","endpoint":"/x","body":5}"#,
            br#"{"method":"GET","endpoint":"/x","headers":[]}"#,
            br#"{"method":"GET","endpoint":"/x","headers":{"a":{}}}"#,
        ] {
            let err = parse_v3(plain).unwrap_err();
            assert!(
                matches!(err, InnerError::V3(_)),
                "{}",
                String::from_utf8_lossy(plain)
            );
            assert_eq!(v3_reply(&err.response()), br#"{"status_code": 400}"#);
        }
        let err = parse_v3(br#"{"method":"get","endpoint":"/x"}"#).unwrap_err();
        assert_eq!(v3_reply(&err.response()), br#"{"status_code": 405}"#);
    }

    #[test]
    fn v3_replies_carry_a_success_body_or_only_the_status() {
        let ok = ApiResponse::json(serde_json::json!({"a": 1}));
        assert_eq!(v3_reply(&ok), br#"{"a":1}"#);
        assert_eq!(
            v3_reply(&ApiResponse::text(404, "Not found")),
            br#"{"status_code": 404}"#
        );
    }

    #[test]
    fn v4_replies_put_the_content_type_first_and_keep_other_headers() {
        let response = ApiResponse::json(serde_json::json!({"a": 1})).with_header("x-a", "b");
        let v4 = v4_response(&response);
        assert_eq!(v4.code, 200);
        assert_eq!(
            v4.headers,
            vec![
                ("content-type".to_owned(), "application/json".to_owned()),
                ("x-a".to_owned(), "b".to_owned())
            ]
        );
        assert_eq!(v4.body, br#"{"a":1}"#);
        let empty = v4_response(&ApiResponse::empty(304));
        assert!(empty.headers.is_empty());
        let bytes = v4_response(&ApiResponse {
            status: 200,
            headers: Vec::new(),
            body: Body::Bytes {
                content_type: "image/png".into(),
                data: vec![1, 2],
            },
        });
        assert_eq!(bytes.headers[0].1, "image/png");
    }

    const PADDING: Padding = Padding {
        min_bytes: 4096,
        step_bytes: 65536,
    };

    #[test]
    fn buckets_double_from_the_minimum_then_grow_by_steps() {
        assert_eq!(PADDING.bucket(0), 4096);
        assert_eq!(PADDING.bucket(4096), 4096);
        assert_eq!(PADDING.bucket(4097), 8192);
        assert_eq!(PADDING.bucket(40_000), 65536);
        assert_eq!(PADDING.bucket(65537), 131_072);
        assert_eq!(PADDING.bucket(131_073), 196_608);
        assert_eq!(PADDING.bucket(10_000_000), 10_027_008);
        let odd = Padding {
            min_bytes: 0,
            step_bytes: 0,
        };
        assert_eq!(odd.bucket(0), 1);
        assert_eq!(odd.bucket(7), 7);
    }

    fn reply_with_body(len: usize) -> V4Response {
        v4_response(&ApiResponse {
            status: 200,
            headers: Vec::new(),
            body: Body::Bytes {
                content_type: "application/json".into(),
                data: vec![b'x'; len],
            },
        })
    }

    /// Every reply, sealed, is exactly a bucket long, and still strict bencode whose metadata
    /// is strict JSON that decodes to the unpadded reply plus the pad header.
    #[test]
    fn padded_replies_fill_their_bucket_and_stay_strictly_decodable() {
        let lengths = (0..300)
            .chain([3900, 4000, 4020, 4030, 4040, 4050, 4060, 4070, 4096])
            .chain(2900..3200)
            .chain(6300..6450)
            .chain(9900..10_010)
            .chain([65_400, 65_500, 70_000, 200_000]);
        for cipher in [EncType::Aes256Gcm, EncType::XChaCha20Poly1305] {
            for len in lengths.clone() {
                let reply = reply_with_body(len);
                let plain = encode_v4_reply(&reply, Some(PADDING), cipher);
                let sealed = plain.len() + cipher.overhead();
                assert_eq!(
                    sealed,
                    PADDING.bucket(sealed),
                    "{len} bytes sealed to {sealed}"
                );
                assert!(sealed >= reply.encode().len() + cipher.overhead());
                let items = bencode::decode(&plain).unwrap();
                let items = items.as_list().unwrap();
                assert_eq!(items.len(), 2);
                let meta: Value = serde_json::from_slice(items[0].as_bytes().unwrap()).unwrap();
                assert_eq!(meta["code"], 200);
                assert_eq!(meta["headers"]["content-type"], "application/json");
                assert!(meta["headers"][PAD_HEADER].is_string());
                let decoded = V4Response::decode(&plain).unwrap();
                assert_eq!(decoded.body, reply.body);
            }
        }
    }

    #[test]
    fn a_bucket_out_of_reach_by_one_byte_moves_to_the_next() {
        // With a 3057-byte body, AES-GCM needs metadata + its length digits = 1003 bytes to
        // fill 4096: 999 + 3 falls one short and 1000 + 4 one over.
        let plain = encode_v4_reply(&reply_with_body(3057), Some(PADDING), EncType::Aes256Gcm);
        assert_eq!(plain.len() + EncType::Aes256Gcm.overhead(), 8192);
        let plain = encode_v4_reply(&reply_with_body(3056), Some(PADDING), EncType::Aes256Gcm);
        assert_eq!(plain.len() + EncType::Aes256Gcm.overhead(), 4096);
    }

    #[test]
    fn an_empty_poll_and_a_reply_with_messages_have_the_same_length() {
        let empty = reply_with_body(300);
        let full = reply_with_body(2500);
        for cipher in [EncType::Aes256Gcm, EncType::XChaCha20Poly1305] {
            let a = encode_v4_reply(&empty, Some(PADDING), cipher);
            let b = encode_v4_reply(&full, Some(PADDING), cipher);
            assert_eq!(a.len(), b.len());
            assert_eq!(a.len() + cipher.overhead(), 4096);
        }
    }

    #[test]
    fn without_padding_the_reply_is_the_plain_encoding() {
        let reply = reply_with_body(10);
        assert_eq!(
            encode_v4_reply(&reply, None, EncType::Aes256Gcm),
            reply.encode()
        );
    }

    #[test]
    fn digits_counts_decimal_digits() {
        assert_eq!(digits(0), 1);
        assert_eq!(digits(9), 1);
        assert_eq!(digits(10), 2);
        assert_eq!(digits(999), 3);
        assert_eq!(digits(1000), 4);
    }
}
