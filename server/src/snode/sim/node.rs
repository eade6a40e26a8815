//! One simulated service node: its HTTP endpoints and its onion hop logic.

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine;
use serde_json::{Value, json};

use super::{Faults, Shared};
use crate::crypto::keys::ServerKey;
use crate::crypto::onion::{OnionFrame, OnionKey};
use crate::snode::builder::unframe;
use crate::snode::client::NEXT_NODE_NOT_FOUND;
use crate::snode::node::{ServiceNode, parse_key};
use crate::snode::ons;

/// A running node.
pub struct SimNode {
    /// How clients see it.
    pub info: ServiceNode,
    /// Its fault switches.
    pub faults: Arc<Faults>,
    /// SHA-256 of its self-signed certificate, when it serves HTTPS.
    pub cert_sha256: Option<crate::snode::tls::Fingerprint>,
    handle: ServerHandle,
}

struct Ctx {
    me: ServiceNode,
    key: ServerKey,
    faults: Arc<Faults>,
    shared: Arc<Shared>,
    /// Connects from this node's own address.
    http: reqwest::Client,
}

impl SimNode {
    pub(super) async fn start(ip: String, shared: Arc<Shared>, tls: bool) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind((ip.as_str(), 0))?;
        let port = listener.local_addr()?.port();
        let key = ServerKey::generate();
        let mut seed = [0u8; 32];
        rand::fill(&mut seed);
        let ed25519 = ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes();
        let info = ServiceNode {
            ip: ip.clone(),
            port,
            ed25519,
            x25519: *key.public_key().as_bytes(),
        };
        let local: std::net::IpAddr = ip
            .parse()
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "bad ip"))?;
        // Relays accept any certificate, as storage servers do between nodes.
        let http = crate::snode::tls::node_client_builder()
            .map_err(std::io::Error::other)?
            .local_address(local)
            .build()
            .map_err(std::io::Error::other)?;
        let faults = Arc::new(Faults::default());
        let ctx = web::Data::new(Ctx {
            me: info.clone(),
            key,
            faults: faults.clone(),
            shared,
            http,
        });
        let certificate = if tls {
            Some(crate::snode::tls::self_signed_server(&ip).map_err(std::io::Error::other)?)
        } else {
            None
        };
        let cert_sha256 = certificate.as_ref().map(|c| c.fingerprint);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(ctx.clone())
                .app_data(web::PayloadConfig::new(10 * 1024 * 1024))
                .route("/json_rpc", web::post().to(json_rpc))
                .route("/onion_req/v2", web::post().to(onion_req))
                .route("/storage_rpc/v1", web::post().to(storage_rpc))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(0);
        let server = match certificate {
            Some(certificate) => server.listen_rustls_0_23(listener, certificate.config)?,
            None => server.listen(listener)?,
        }
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self {
            info,
            faults,
            cert_sha256,
            handle,
        })
    }

    pub(super) async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// Applies the drop and delay switches; `false` means: do not answer.
async fn before(ctx: &Ctx) -> bool {
    let delay = ctx.faults.delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if ctx.faults.dropping() {
        // Hold the connection as a dead node would, until the client gives up.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        return false;
    }
    true
}

fn json_reply(status: u16, value: &Value) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default())
        .content_type("application/json")
        .body(value.to_string())
}

async fn json_rpc(ctx: web::Data<Ctx>, body: web::Bytes) -> HttpResponse {
    if !before(&ctx).await {
        return HttpResponse::GatewayTimeout().finish();
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if request.get("method").and_then(Value::as_str) != Some("get_n_service_nodes") {
        return json_reply(
            200,
            &json!({"jsonrpc": "2.0", "id": request.get("id"), "error": {"code": -32601, "message": "Method not found"}}),
        );
    }
    let nodes = ctx
        .shared
        .nodes
        .read()
        .map(|n| n.clone())
        .unwrap_or_default();
    let states: Vec<Value> = nodes.iter().map(ServiceNode::to_json).collect();
    json_reply(
        200,
        &json!({"jsonrpc": "2.0", "id": request.get("id"), "result": {"service_node_states": states, "height": 1}}),
    )
}

async fn storage_rpc(ctx: web::Data<Ctx>, body: web::Bytes) -> HttpResponse {
    if !before(&ctx).await {
        return HttpResponse::GatewayTimeout().finish();
    }
    let (status, value) = storage_call(&ctx, &body);
    json_reply(status, &value)
}

/// The storage RPC calls the simulation knows: `info`; `batch`/`sequence` of the calls
/// below; and each of those on its own.
fn storage_call(ctx: &Ctx, body: &[u8]) -> (u16, Value) {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match request.get("method").and_then(Value::as_str) {
        Some("info") => (
            200,
            json!({"version": [2, 10, 0], "hf": [19, 3], "timestamp": 0, "sim_node": ctx.me.ed25519_hex()}),
        ),
        Some("batch" | "sequence") => {
            let results: Vec<Value> = request
                .pointer("/params/requests")
                .and_then(Value::as_array)
                .map(|reqs| reqs.iter().map(|r| sub_call(ctx, r)).collect())
                .unwrap_or_default();
            (200, json!({"results": results}))
        }
        Some(_) => {
            let result = sub_call(ctx, &request);
            let code = result
                .get("code")
                .and_then(Value::as_u64)
                .and_then(|c| u16::try_from(c).ok())
                .unwrap_or(500);
            (code, result.get("body").cloned().unwrap_or(Value::Null))
        }
        None => (400, json!("unknown or missing method")),
    }
}

fn sub_call(ctx: &Ctx, request: &Value) -> Value {
    let params = request.get("params").unwrap_or(&Value::Null);
    match request.get("method").and_then(Value::as_str) {
        Some("oxend_request")
            if params.get("endpoint").and_then(Value::as_str) == Some("ons_resolve") =>
        {
            ons_resolve(ctx, params)
        }
        Some("get_swarm") => get_swarm(ctx),
        Some("store") => store(ctx, params),
        Some("retrieve") => retrieve(ctx, params),
        _ => json!({"code": 400, "body": "unknown method"}),
    }
}

fn ons_resolve(ctx: &Ctx, params: &Value) -> Value {
    let wanted = params
        .pointer("/params/name_hash")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let found = ctx.shared.names.iter().find(|(name, _)| {
        base64::engine::general_purpose::STANDARD.encode(ons::name_hash(name)) == wanted
    });
    match found {
        Some((name, sid)) => {
            let (value, nonce) = ons::encrypt_record(name, sid);
            json!({"code": 200, "body": {"result": {"encrypted_value": value, "nonce": nonce}}})
        }
        None => json!({"code": 200, "body": {"result": {}}}),
    }
}

/// Every account's swarm is the whole network, listed as real nodes list a swarm.
fn get_swarm(ctx: &Ctx) -> Value {
    let nodes = ctx
        .shared
        .nodes
        .read()
        .map(|n| n.clone())
        .unwrap_or_default();
    let snodes: Vec<Value> = nodes
        .iter()
        .map(|n| {
            json!({
                "ip": n.ip, "port": n.port.to_string(), "port_https": n.port,
                "pubkey_ed25519": hex::encode(n.ed25519), "pubkey_x25519": hex::encode(n.x25519),
            })
        })
        .collect();
    json!({"code": 200, "body": {"snodes": snodes}})
}

/// Stores a message for an account (namespace 0 takes unauthenticated stores, as on the
/// real network: anyone may leave an account a message).
fn store(ctx: &Ctx, params: &Value) -> Value {
    let (Some(pubkey), Some(data)) = (
        params.get("pubkey").and_then(Value::as_str),
        params.get("data").and_then(Value::as_str),
    ) else {
        return json!({"code": 400, "body": "store needs pubkey and data"});
    };
    if base64::engine::general_purpose::STANDARD
        .decode(data)
        .is_err()
    {
        return json!({"code": 400, "body": "data is not base64"});
    }
    match ctx.shared.store_message(pubkey, data) {
        Some(hash) => json!({"code": 200, "body": {"hash": hash}}),
        None => json!({"code": 500, "body": "mailboxes unavailable"}),
    }
}

/// Hands an account's messages after `last_hash` to its holder, checking the signature
/// over `"retrieve" || timestamp` by the Ed25519 key whose X25519 form the account id is.
fn retrieve(ctx: &Ctx, params: &Value) -> Value {
    let unauthorised = |why: &str| json!({"code": 401, "body": why});
    let field = |name: &str| params.get(name).and_then(Value::as_str).unwrap_or_default();
    let timestamp = params.get("timestamp").and_then(Value::as_u64).unwrap_or(0);
    let mut ed25519 = [0u8; 32];
    if hex::decode_to_slice(field("pubkey_ed25519"), &mut ed25519).is_err() {
        return unauthorised("pubkey_ed25519 is not 32 hex bytes");
    }
    let Ok(key) = crate::crypto::keys::Ed25519PublicKey::from_bytes(&ed25519) else {
        return unauthorised("pubkey_ed25519 is not a valid key");
    };
    if field("pubkey") != format!("05{}", hex::encode(key.to_x25519())) {
        return unauthorised("pubkey_ed25519 does not match pubkey");
    }
    let signature: Option<[u8; 64]> = base64::engine::general_purpose::STANDARD
        .decode(field("signature"))
        .ok()
        .and_then(|s| s.try_into().ok());
    let signed = format!("retrieve{timestamp}");
    if !signature.is_some_and(|s| key.verify(signed.as_bytes(), &s)) {
        return unauthorised("retrieve signature verification failed");
    }
    let messages = ctx
        .shared
        .messages_after(field("pubkey"), field("last_hash"));
    json!({"code": 200, "body": {"messages": messages, "more": false}})
}

async fn onion_req(ctx: web::Data<Ctx>, body: web::Bytes) -> HttpResponse {
    if !before(&ctx).await {
        return HttpResponse::GatewayTimeout().finish();
    }
    let (status, mut reply, content_type) = hop(&ctx, &body).await;
    if ctx.faults.corrupting()
        && let Some(last) = reply.last_mut()
    {
        *last ^= 0x55;
    }
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default())
        .content_type(content_type)
        .body(reply)
}

/// Opens this node's layer and acts on it; returns status, body and content type.
async fn hop(ctx: &Ctx, body: &[u8]) -> (u16, Vec<u8>, String) {
    let text = |status: u16, msg: &str| (status, msg.as_bytes().to_vec(), "text/plain".into());
    let Ok(frame) = OnionFrame::parse(body) else {
        return text(400, "Invalid onion request");
    };
    let Ok(key) = OnionKey::for_server(&ctx.key, &frame.ephemeral_key, frame.effective_enc_type())
    else {
        return text(400, "Invalid ephemeral key");
    };
    let Ok(plaintext) = key.open(frame.ciphertext) else {
        return text(400, "Invalid ciphertext");
    };
    let Ok((data, info)) = unframe(&plaintext) else {
        return text(400, "Invalid JSON in onion request");
    };
    if info.get("headers").is_some() {
        // The destination: answer the storage RPC, sealed with this layer's key.
        let (status, value) = storage_call(ctx, data);
        let inner = json!({"status": status, "body": value.to_string()}).to_string();
        let sealed = key.seal(inner.as_bytes());
        let encoded = base64::engine::general_purpose::STANDARD.encode(sealed);
        return (200, encoded.into_bytes(), "application/json".into());
    }
    if let Some(host) = info.get("host").and_then(Value::as_str) {
        return relay_to_server(ctx, host, &info, &plaintext).await;
    }
    let (Some(next), Some(eph)) = (
        info.get("destination").and_then(parse_key),
        info.get("ephemeral_key").and_then(parse_key),
    ) else {
        return text(400, "Invalid JSON in onion request");
    };
    let enc_type = match info.get("enc_type").and_then(Value::as_str) {
        Some(name) => match crate::crypto::EncType::from_name(name) {
            Some(enc) => Some(enc),
            None => return text(400, "Invalid enc_type"),
        },
        None => None,
    };
    let next_node = ctx
        .shared
        .nodes
        .read()
        .ok()
        .and_then(|nodes| nodes.iter().find(|n| n.ed25519 == next).cloned());
    let Some(next_node) = next_node else {
        return text(502, &format!("{NEXT_NODE_NOT_FOUND}{}", hex::encode(next)));
    };
    let forwarded = OnionFrame {
        ciphertext: data,
        ephemeral_key: eph,
        enc_type,
    }
    .encode();
    let url = format!(
        "{}://{}/onion_req/v2",
        ctx.shared.scheme,
        next_node.address()
    );
    forward(ctx, &url, forwarded).await
}

async fn relay_to_server(
    ctx: &Ctx,
    host: &str,
    info: &Value,
    payload: &[u8],
) -> (u16, Vec<u8>, String) {
    let target = info
        .get("target")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let allowed = (target.starts_with("/oxen/") || target.starts_with("/loki/"))
        && target.ends_with("/lsrpc")
        && !target.contains('?');
    if !allowed {
        return (400, b"Invalid url".to_vec(), "text/plain".into());
    }
    let protocol = info
        .get("protocol")
        .and_then(Value::as_str)
        .unwrap_or("https");
    let port = info.get("port").and_then(Value::as_u64).unwrap_or(443);
    let url = format!("{protocol}://{host}:{port}{target}");
    forward(ctx, &url, payload.to_vec()).await
}

/// POSTs onwards and passes the answer back unchanged.
async fn forward(ctx: &Ctx, url: &str, body: Vec<u8>) -> (u16, Vec<u8>, String) {
    let sent = ctx
        .http
        .post(url)
        .body(body)
        .timeout(ctx.shared.relay_timeout)
        .send()
        .await;
    let res = match sent {
        Ok(res) => res,
        Err(e) if e.is_timeout() => {
            return (504, b"Request time out".to_vec(), "text/plain".into());
        }
        Err(e) => {
            return (
                502,
                format!("Relay failed: {e}").into_bytes(),
                "text/plain".into(),
            );
        }
    };
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    match res.bytes().await {
        Ok(bytes) => (status, bytes.to_vec(), content_type),
        Err(_) => (504, b"Request time out".to_vec(), "text/plain".into()),
    }
}
