//! A SOGS client: signs requests as a (blinded) Session user and sends them over HTTP.
//!
//! Tests, load tests and the admin CLI's probe use it, so none of them reimplements the
//! protocol by hand. Building a request ([`SogsClient::build`]) is separate from sending it,
//! so the same signed request can travel over plain HTTP, inside a batch or inside an onion
//! request.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::SigningKey;
use serde_json::Value;

use crate::crypto::blinding::BlindedKeyPair;
use crate::crypto::direct_message::{self, DmError};
use crate::crypto::keys::{BlindedId, ServerPublicKey, SessionId};
use crate::crypto::onion::{EncType, OnionError, OnionKey, seal_request};
use crate::crypto::onion_v4::{V4Error, V4Request, V4Response};
use crate::crypto::request_signature::{RequestSigner, SignedRequest, split_target};

/// Why a request could not be sent or its answer read.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("invalid method {0:?}")]
    Method(String),
    #[error("onion layer: {0}")]
    Onion(#[from] OnionError),
    #[error("onion v4 reply: {0}")]
    V4Reply(#[from] V4Error),
    #[error("onion request refused with HTTP {status}: {body}")]
    OnionRefused { status: u16, body: String },
    #[error("onion v3 reply is not base64")]
    V3Reply,
    #[error("onion v3 requests carry text bodies only")]
    V3Body,
}

/// The onion endpoints a client posts to when it is the last hop itself.
const ONION_V4_PATH: &str = "/oxen/v4/lsrpc";
const ONION_V3_PATH: &str = "/oxen/v3/lsrpc";

/// A request ready to send: method, target (`/path?query`), headers (signed when the client
/// has an identity), body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltRequest {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What came back.
#[derive(Debug, Clone)]
pub struct ClientResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ClientResponse {
    /// The body as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Where request timestamps come from.
#[derive(Clone, Debug)]
enum Timestamps {
    System,
    Clock(crate::clock::Clock),
}

/// A client of one SOGS server, optionally acting as one user.
#[derive(Clone)]
pub struct SogsClient {
    http: reqwest::Client,
    base_url: String,
    server_pk: ServerPublicKey,
    signer: Option<RequestSigner>,
    /// The unblinded key behind a blinded signer, when known: DMs need it.
    identity: Option<SigningKey>,
    timestamps: Timestamps,
}

impl SogsClient {
    /// An anonymous client of the server at `base_url` with public key `server_pk`.
    pub fn new(base_url: &str, server_pk: ServerPublicKey) -> Self {
        Self::with_http(base_url, server_pk, reqwest::Client::new())
    }

    /// The same, sending through `http`: building a `reqwest::Client` loads the system's CA
    /// roots, too slow for the hundred thousand users a load test makes, and a shared one
    /// shares its connection pool.
    pub fn with_http(base_url: &str, server_pk: ServerPublicKey, http: reqwest::Client) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            server_pk,
            signer: None,
            identity: None,
            timestamps: Timestamps::System,
        }
    }

    /// A new random Session user (Ed25519 seed), 15-blinded for this server, as Session
    /// clients are by default.
    pub fn with_random_user(self) -> Self {
        let mut seed = [0u8; 32];
        rand::fill(&mut seed);
        self.with_user_seed(seed)
    }

    /// The user with this Ed25519 seed, 15-blinded for this server.
    pub fn with_user_seed(self, seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let signer = RequestSigner::Blinded(BlindedKeyPair::blind15(&key, &self.server_pk));
        self.with_signer(signer).with_identity(key)
    }

    /// The user with this Ed25519 seed, 25-blinded (libsession's newer scheme).
    pub fn with_user_seed_blind25(self, seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let signer = RequestSigner::Blinded(BlindedKeyPair::blind25(&key, &self.server_pk));
        self.with_signer(signer).with_identity(key)
    }

    fn with_identity(mut self, key: SigningKey) -> Self {
        self.identity = Some(key);
        self
    }

    /// Acts as `signer`.
    pub fn with_signer(mut self, signer: RequestSigner) -> Self {
        self.signer = Some(signer);
        self
    }

    /// Signs with timestamps from `clock` (for servers running on an injected clock).
    pub fn with_clock(mut self, clock: crate::clock::Clock) -> Self {
        self.timestamps = Timestamps::Clock(clock);
        self
    }

    /// The same server, anonymously.
    pub fn anonymous(&self) -> Self {
        Self {
            signer: None,
            identity: None,
            ..self.clone()
        }
    }

    /// The id the server knows this user by, if the client has an identity.
    pub fn session_id(&self) -> Option<SessionId> {
        self.signer.as_ref().map(RequestSigner::session_id)
    }

    /// The id as a string (empty for an anonymous client).
    pub fn id(&self) -> String {
        self.session_id().map(|s| s.to_string()).unwrap_or_default()
    }

    /// The server's public key.
    pub fn server_pk(&self) -> &ServerPublicKey {
        &self.server_pk
    }

    /// The signer, for building messages or DMs.
    pub fn signer(&self) -> Option<&RequestSigner> {
        self.signer.as_ref()
    }

    fn timestamp(&self) -> i64 {
        let now = match &self.timestamps {
            Timestamps::System => crate::clock::Clock::system().now(),
            Timestamps::Clock(c) => c.now(),
        };
        now as i64
    }

    /// Builds (and signs, with a fresh nonce) a request. `content_type` is sent when there
    /// is a body.
    pub fn build(
        &self,
        method: &str,
        target: &str,
        body: Vec<u8>,
        content_type: Option<&str>,
    ) -> BuiltRequest {
        let mut headers = Vec::new();
        if let Some(ct) = content_type.filter(|_| !body.is_empty()) {
            headers.push(("Content-Type".to_string(), ct.to_string()));
        }
        if let Some(signer) = &self.signer {
            let (path, query) = split_target(target);
            let values = signer.sign_request(
                &self.server_pk,
                self.timestamp(),
                &SignedRequest {
                    method,
                    path: &path,
                    query,
                    body: &body,
                },
            );
            headers.extend(
                values
                    .pairs()
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string())),
            );
        }
        BuiltRequest {
            method: method.to_string(),
            target: target.to_string(),
            headers,
            body,
        }
    }

    /// Builds a request with a JSON body.
    pub fn build_json(&self, method: &str, target: &str, json: &Value) -> BuiltRequest {
        let body = serde_json::to_vec(json).unwrap_or_default();
        self.build(method, target, body, Some("application/json"))
    }

    /// Sends a built request over plain HTTP.
    pub async fn send(&self, req: &BuiltRequest) -> Result<ClientResponse, ClientError> {
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| ClientError::Method(req.method.clone()))?;
        let mut builder = self
            .http
            .request(method, format!("{}{}", self.base_url, req.target));
        for (name, value) in &req.headers {
            builder = builder.header(name, value);
        }
        read_response(builder.body(req.body.clone()).send().await?).await
    }

    /// `POST path` with raw bytes and no headers (onion bodies, malformed-input tests).
    pub async fn post_raw(&self, path: &str, body: Vec<u8>) -> Result<ClientResponse, ClientError> {
        let res = self
            .http
            .post(format!("{}{}", self.base_url, path))
            .body(body)
            .send()
            .await?;
        read_response(res).await
    }

    /// The body of an onion v4 request that carries `req` to this server (the client playing
    /// the last hop), and the key that opens the reply.
    pub fn onion_v4_body(
        &self,
        req: &BuiltRequest,
        enc: EncType,
    ) -> Result<(Vec<u8>, OnionKey), ClientError> {
        let inner = V4Request {
            method: req.method.clone(),
            endpoint: req.target.clone(),
            headers: req.headers.clone(),
            body: &req.body,
        };
        Ok(seal_request(&self.server_pk, enc, &inner.encode())?)
    }

    /// The body of an onion v3 request carrying `req`, and the key that opens the reply. v3
    /// carries the body as a JSON string, so it must be UTF-8.
    pub fn onion_v3_body(
        &self,
        req: &BuiltRequest,
        enc: EncType,
    ) -> Result<(Vec<u8>, OnionKey), ClientError> {
        let headers: serde_json::Map<String, Value> = req
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), Value::String(v.clone())))
            .collect();
        let mut inner = serde_json::json!({
            "method": req.method,
            "endpoint": req.target,
            "headers": headers,
        });
        if !req.body.is_empty() {
            let body = std::str::from_utf8(&req.body).map_err(|_| ClientError::V3Body)?;
            inner["body"] = Value::String(body.to_string());
        }
        let plaintext = serde_json::to_vec(&inner).unwrap_or_default();
        Ok(seal_request(&self.server_pk, enc, &plaintext)?)
    }

    /// Decrypts and decodes an onion v4 reply body into the inner response.
    pub fn open_v4_reply(key: &OnionKey, sealed: &[u8]) -> Result<ClientResponse, ClientError> {
        let reply = V4Response::decode(&key.open(sealed)?)?;
        Ok(ClientResponse {
            status: reply.code,
            headers: reply.headers,
            body: reply.body,
        })
    }

    /// Decodes and decrypts an onion v3 reply body. A 2xx reply is the bare body (reported as
    /// 200); anything else is `{"status_code": N}` (reported as N, with an empty body).
    pub fn open_v3_reply(key: &OnionKey, encoded: &[u8]) -> Result<ClientResponse, ClientError> {
        let sealed = B64.decode(encoded).map_err(|_| ClientError::V3Reply)?;
        let body = key.open(&sealed)?;
        let status = match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) if map.len() == 1 => map
                .get("status_code")
                .and_then(Value::as_u64)
                .and_then(|c| u16::try_from(c).ok()),
            _ => None,
        };
        Ok(match status {
            Some(status) => ClientResponse {
                status,
                headers: Vec::new(),
                body: Vec::new(),
            },
            None => ClientResponse {
                status: 200,
                headers: Vec::new(),
                body,
            },
        })
    }

    /// Sends a built request inside an onion v4 request to this server's `/oxen/v4/lsrpc`
    /// and returns the inner response.
    pub async fn send_onion_v4(
        &self,
        req: &BuiltRequest,
        enc: EncType,
    ) -> Result<ClientResponse, ClientError> {
        let (body, key) = self.onion_v4_body(req, enc)?;
        let res = self.post_raw(ONION_V4_PATH, body).await?;
        if res.status != 200 {
            return Err(refused(res));
        }
        Self::open_v4_reply(&key, &res.body)
    }

    /// Sends a built request inside an onion v3 request to this server's `/oxen/v3/lsrpc`
    /// and returns the inner response (see [`SogsClient::open_v3_reply`]).
    pub async fn send_onion_v3(
        &self,
        req: &BuiltRequest,
        enc: EncType,
    ) -> Result<ClientResponse, ClientError> {
        let (body, key) = self.onion_v3_body(req, enc)?;
        let res = self.post_raw(ONION_V3_PATH, body).await?;
        if res.status != 200 {
            return Err(refused(res));
        }
        Self::open_v3_reply(&key, &res.body)
    }

    /// `GET target`.
    pub async fn get(&self, target: &str) -> Result<ClientResponse, ClientError> {
        self.send(&self.build("GET", target, Vec::new(), None))
            .await
    }

    /// `DELETE target`.
    pub async fn delete(&self, target: &str) -> Result<ClientResponse, ClientError> {
        self.send(&self.build("DELETE", target, Vec::new(), None))
            .await
    }

    /// `POST target` with a JSON body.
    pub async fn post_json(
        &self,
        target: &str,
        json: &Value,
    ) -> Result<ClientResponse, ClientError> {
        self.send(&self.build_json("POST", target, json)).await
    }

    /// `PUT target` with a JSON body.
    pub async fn put_json(
        &self,
        target: &str,
        json: &Value,
    ) -> Result<ClientResponse, ClientError> {
        self.send(&self.build_json("PUT", target, json)).await
    }

    /// `POST /batch` with these sub-requests.
    pub async fn batch(&self, subs: &[Value]) -> Result<ClientResponse, ClientError> {
        self.post_json("/batch", &Value::Array(subs.to_vec())).await
    }

    /// `POST /sequence` with these sub-requests.
    pub async fn sequence(&self, subs: &[Value]) -> Result<ClientResponse, ClientError> {
        self.post_json("/sequence", &Value::Array(subs.to_vec()))
            .await
    }

    /// The batch a Session client sends each poll: capabilities; per room pollInfo and
    /// `messages/since` with `t=r&reactors=5`; inbox; outbox.
    pub fn poll_batch(rooms: &[(&str, i64, i64)]) -> Vec<Value> {
        let mut subs = vec![serde_json::json!({"method": "GET", "path": "/capabilities"})];
        for (token, info_updates, seqno) in rooms {
            subs.push(serde_json::json!({
                "method": "GET", "path": format!("/room/{token}/pollInfo/{info_updates}")
            }));
            subs.push(serde_json::json!({
                "method": "GET",
                "path": format!("/room/{token}/messages/since/{seqno}?t=r&reactors=5")
            }));
        }
        subs.push(serde_json::json!({"method": "GET", "path": "/inbox"}));
        subs.push(serde_json::json!({"method": "GET", "path": "/outbox"}));
        subs
    }

    /// A message body for `POST /room/…/message`: the data and this user's signature of it,
    /// both base64, as Session clients send them.
    pub fn message_json(&self, data: &[u8]) -> Value {
        let signature = self
            .signer
            .as_ref()
            .map(|s| s.sign(data))
            .unwrap_or([0u8; 64]);
        serde_json::json!({ "data": B64.encode(data), "signature": B64.encode(signature) })
    }

    /// The body of `POST /room/…/message` for a text message as Session clients send one:
    /// a padded `Content` protobuf carrying the text, the sender's display name and the
    /// send time (milliseconds), signed. Unmodified clients show it like any other.
    pub fn text_message_json(&self, text: &str, display_name: &str) -> Value {
        let sent_ms = u64::try_from(self.timestamp()).unwrap_or(0) * 1000;
        self.message_json(&crate::domain::filters::encode_message(
            text,
            sent_ms,
            display_name,
        ))
    }

    /// The body of `POST /inbox/{recipient}`: `message` encrypted for `recipient` in the
    /// spec's recommended format (§5.7, [`direct_message`]). Needs a blinded user created
    /// from a seed, blinded like `recipient` (the server stores the signing id as sender).
    pub fn dm_json(&self, recipient: &BlindedId, message: &[u8]) -> Result<Value, DmError> {
        let (identity, _) = self.dm_identity()?;
        let payload = direct_message::encrypt(identity, &self.server_pk, recipient, message)?;
        Ok(serde_json::json!({ "message": B64.encode(payload) }))
    }

    /// Decrypts a message from `GET /inbox` (the JSON object as listed) addressed to this
    /// user, checking that the enclosed sender key matches its `sender`.
    pub fn open_dm(&self, listed: &Value) -> Result<direct_message::Opened, DmError> {
        let (identity, own_id) = self.dm_identity()?;
        let field = |name: &str| listed.get(name).and_then(Value::as_str).unwrap_or("");
        let sender: BlindedId = field("sender").parse().map_err(|_| DmError::InvalidKey)?;
        let recipient: BlindedId = field("recipient")
            .parse()
            .map_err(|_| DmError::InvalidKey)?;
        if recipient != own_id {
            return Err(DmError::DecryptionFailed);
        }
        let payload = B64
            .decode(field("message"))
            .map_err(|_| DmError::TooShort)?;
        direct_message::decrypt(identity, &sender, &own_id, &self.server_pk, &payload)
    }

    fn dm_identity(&self) -> Result<(&SigningKey, BlindedId), DmError> {
        let identity = self.identity.as_ref().ok_or(DmError::Unsupported)?;
        let own_id = self
            .session_id()
            .and_then(|id| BlindedId::try_from(id).ok())
            .ok_or(DmError::Unsupported)?;
        Ok((identity, own_id))
    }
}

/// The text and the sender's display name of a message as `GET /room/…/messages…` lists
/// it (`data` is base64 of the padded Session message); `None` for a deleted message or
/// one that is not a Session text message.
pub fn message_text(listed: &Value) -> Option<crate::domain::filters::MessageText> {
    let data = B64.decode(listed.get("data")?.as_str()?).ok()?;
    crate::domain::filters::parse_message(crate::domain::padding::unpad(&data))
}

async fn read_response(res: reqwest::Response) -> Result<ClientResponse, ClientError> {
    let status = res.status().as_u16();
    let headers = res
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let body = res.bytes().await?.to_vec();
    Ok(ClientResponse {
        status,
        headers,
        body,
    })
}

fn refused(res: ClientResponse) -> ClientError {
    ClientError::OnionRefused {
        status: res.status,
        body: res.text(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::crypto::keys::ServerKey;
    use crate::crypto::request_signature::{AuthPolicy, RawAuthHeaders, SignedHeaders};

    #[test]
    fn a_built_request_verifies_against_the_server_key() {
        let server = ServerKey::generate();
        let client = SogsClient::new("http://x", server.public_key()).with_random_user();
        let req = client.build_json(
            "POST",
            "/room/a%20b/message?x=1",
            &serde_json::json!({"a": 1}),
        );
        let h = |n: &str| {
            req.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_bytes())
        };
        let raw = RawAuthHeaders {
            pubkey: h("X-SOGS-Pubkey"),
            nonce: h("X-SOGS-Nonce"),
            timestamp: h("X-SOGS-Timestamp"),
            signature: h("X-SOGS-Signature"),
        };
        let signed = SignedHeaders::parse(&raw, &AuthPolicy::default())
            .unwrap()
            .unwrap();
        assert_eq!(signed.session_id().to_string(), client.id());
        assert!(client.id().starts_with("15"));
        signed
            .verify(
                &server.public_key(),
                &SignedRequest {
                    method: "POST",
                    path: "/room/a b/message",
                    query: "x=1",
                    body: &req.body,
                },
            )
            .unwrap();
    }

    #[test]
    fn onion_bodies_carry_the_built_request_to_the_server() {
        let server = ServerKey::generate();
        let client = SogsClient::new("http://x", server.public_key()).with_random_user();
        let req = client.build_json("POST", "/batch?x=1", &serde_json::json!([]));
        for enc in [EncType::Aes256Gcm, EncType::XChaCha20Poly1305] {
            let (body, key) = client.onion_v4_body(&req, enc).unwrap();
            let opened = crate::api::onion::open(&server, &body).unwrap();
            let inner = crate::api::onion::parse_v4(&opened.plaintext).unwrap();
            assert_eq!(
                (inner.path.as_str(), inner.query.as_str()),
                ("/batch", "x=1")
            );
            assert_eq!(inner.body, req.body);
            assert!(inner.headers.get("x-sogs-signature").is_some());
            let reply = V4Response {
                code: 201,
                headers: vec![("content-type".into(), "text/plain".into())],
                body: b"made".to_vec(),
            };
            let got = SogsClient::open_v4_reply(&key, &opened.key.seal(&reply.encode())).unwrap();
            assert_eq!((got.status, got.text()), (201, "made".to_string()));

            let (body, key) = client.onion_v3_body(&req, enc).unwrap();
            let opened = crate::api::onion::open(&server, &body).unwrap();
            let inner = crate::api::onion::parse_v3(&opened.plaintext).unwrap();
            assert_eq!(inner.body, req.body);
            let sealed = B64.encode(opened.key.seal(br#"{"status_code": 404}"#));
            let got = SogsClient::open_v3_reply(&key, sealed.as_bytes()).unwrap();
            assert_eq!((got.status, got.body.len()), (404, 0));
            let sealed = B64.encode(opened.key.seal(br#"{"status_code": 1, "a": 2}"#));
            let got = SogsClient::open_v3_reply(&key, sealed.as_bytes()).unwrap();
            assert_eq!(got.status, 200);
            assert!(SogsClient::open_v3_reply(&key, b"!!").is_err());
        }
        let binary = client.build("PUT", "/x", vec![0xff], None);
        assert!(matches!(
            client.onion_v3_body(&binary, EncType::Aes256Gcm),
            Err(ClientError::V3Body)
        ));
    }

    #[test]
    fn a_text_message_reads_back_with_its_text_and_display_name() {
        let client =
            SogsClient::new("http://x", ServerKey::generate().public_key()).with_random_user();
        let body = client.text_message_json("welcome, Alice", "Greeter");
        let text = message_text(&body).unwrap();
        assert_eq!(text.body.as_deref(), Some("welcome, Alice"));
        assert_eq!(text.display_name.as_deref(), Some("Greeter"));
        assert!(message_text(&serde_json::json!({"data": null})).is_none());
        assert!(message_text(&serde_json::json!({"data": "!!"})).is_none());
    }

    #[test]
    fn an_anonymous_request_has_no_auth_headers() {
        let client = SogsClient::new("http://x", ServerKey::generate().public_key());
        let req = client.build("GET", "/rooms", Vec::new(), None);
        assert!(req.headers.is_empty());
        assert_eq!(client.id(), "");
    }
}
