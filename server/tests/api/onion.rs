//! Onion requests end to end: every route of the table answers the same through onion v4
//! (both ciphers) and v3 as over plain HTTP; inner requests authenticate with their own
//! headers; malformed input gets 400 (or 413), never a 500.

use serde_json::{Value, json};
use sogs::api::dispatch::ROUTES;
use sogs::api::onion::{PAD_HEADER, is_onion_path};
use sogs::client::{BuiltRequest, ClientResponse, SogsClient};
use sogs::crypto::onion::{OnionKey, seal_request};
use sogs::crypto::onion_v4::V4Response;
use sogs::crypto::{EncType, ServerKey};

use crate::support::{Backend, spawn_app, spawn_app_with};

const V4_PATH: &str = "/oxen/v4/lsrpc";
const V3_PATHS: [&str; 2] = ["/oxen/v3/lsrpc", "/loki/v3/lsrpc"];

/// How a request travels.
#[derive(Debug, Clone, Copy)]
enum Via {
    Plain,
    V4(EncType),
    V3(EncType),
}

/// Every onion transport.
const ONION: [Via; 4] = [
    Via::V4(EncType::Aes256Gcm),
    Via::V4(EncType::XChaCha20Poly1305),
    Via::V3(EncType::Aes256Gcm),
    Via::V3(EncType::XChaCha20Poly1305),
];

async fn send(client: &SogsClient, via: Via, req: &BuiltRequest) -> ClientResponse {
    let sent = match via {
        Via::Plain => client.send(req).await,
        Via::V4(enc) => client.send_onion_v4(req, enc).await,
        Via::V3(enc) => client.send_onion_v3(req, enc).await,
    };
    sent.unwrap_or_else(|e| panic!("{via:?} {} {}: {e}", req.method, req.target))
}

/// One request to send every way.
#[derive(Debug, Clone)]
struct Case {
    method: &'static str,
    target: String,
    json: Option<Value>,
}

impl Case {
    fn new(method: &'static str, target: &str) -> Self {
        Self {
            method,
            target: target.to_string(),
            json: None,
        }
    }

    fn json(method: &'static str, target: &str, json: Value) -> Self {
        Self {
            json: Some(json),
            ..Self::new(method, target)
        }
    }

    /// A freshly signed request (a new nonce each time, so none is a replay).
    fn build(&self, client: &SogsClient) -> BuiltRequest {
        match &self.json {
            Some(json) => client.build_json(self.method, &self.target, json),
            None => client.build(self.method, &self.target, Vec::new(), None),
        }
    }
}

/// The body as JSON when it is JSON, else as text.
fn body_of(response: &ClientResponse) -> Value {
    serde_json::from_slice(&response.body).unwrap_or_else(|_| Value::String(response.text()))
}

/// Sends `case` over plain HTTP and through every onion transport and checks they agree: the
/// same status, and the same body (v3 only carries the body of a 2xx). Returns the plain
/// response.
async fn assert_same_everywhere(client: &SogsClient, case: &Case) -> ClientResponse {
    let plain = send(client, Via::Plain, &case.build(client)).await;
    assert_ne!(plain.status, 500, "{case:?}");
    for via in ONION {
        let got = send(client, via, &case.build(client)).await;
        assert_eq!(got.status, plain.status, "{via:?} {case:?}");
        match via {
            Via::V3(_) if !(200..300).contains(&plain.status) => {
                assert!(got.body.is_empty(), "{via:?} {case:?}")
            }
            _ => assert_eq!(body_of(&got), body_of(&plain), "{via:?} {case:?}"),
        }
    }
    plain
}

/// Requests for every route in the table, keyed by the route pattern they exercise. A route
/// added to `dispatch::ROUTES` must get cases here (see
/// `every_route_in_the_table_has_onion_cases`).
fn cases() -> Vec<(&'static str, Case)> {
    vec![
        ("/capabilities", Case::new("GET", "/capabilities")),
        (
            "/capabilities",
            Case::new("GET", "/capabilities?required=sogs,blind"),
        ),
        (
            "/capabilities",
            Case::new("GET", "/capabilities?required=sogs,nope,,nope"),
        ),
        (
            "/batch",
            Case::json("POST", "/batch", Value::Array(SogsClient::poll_batch(&[]))),
        ),
        (
            "/batch",
            Case::json(
                "POST",
                "/batch",
                json!([
                    {"method": "GET", "path": "/capabilities?required=x"},
                    {"method": "POST", "path": "/batch", "json": []},
                    {"method": "POST", "path": "/oxen/v4/lsrpc", "b64": "AAAA"},
                    {"method": "GET", "path": "/no/such/route"},
                ]),
            ),
        ),
        (
            "/batch",
            Case::json("POST", "/batch", json!({"not": "a list"})),
        ),
        (
            "/sequence",
            Case::json(
                "POST",
                "/sequence",
                json!([
                    {"method": "GET", "path": "/capabilities"},
                    {"method": "GET", "path": "/capabilities?required=zzz"},
                    {"method": "GET", "path": "/capabilities"},
                ]),
            ),
        ),
        ("unmatched", Case::new("GET", "/no/such/route")),
        ("unmatched", Case::new("GET", "/r%C3%A9sum%C3%A9?x=%20")),
        ("unmatched", Case::new("DELETE", "/capabilities")),
        ("unmatched", Case::new("GET", "/capabilities/")),
    ]
}

#[test]
fn every_route_in_the_table_has_onion_cases() {
    let covered: Vec<&str> = cases().iter().map(|(pattern, _)| *pattern).collect();
    for (_, pattern, _) in ROUTES {
        assert!(
            is_onion_path(pattern) || covered.contains(pattern),
            "route {pattern} has no case in tests/api/onion.rs `cases()`: add one so it is \
             checked through onion v4 and v3 against plain HTTP"
        );
    }
}

async fn every_route_answers_the_same_through_onion_as_over_plain_http(backend: Backend) {
    let app = spawn_app(backend).await;
    for client in [app.client(), app.user()] {
        for (_, case) in cases() {
            assert_same_everywhere(&client, &case).await;
        }
    }
    let caps = assert_same_everywhere(&app.client(), &cases()[0].1).await;
    assert_eq!(caps.status, 200);
    assert_eq!(
        caps.json(),
        json!({"capabilities": ["blind", "reactions", "sogs"]})
    );
    let missing = assert_same_everywhere(&app.client(), &cases()[2].1).await;
    assert_eq!(missing.status, 412);
    assert_eq!(missing.json()["missing"], json!(["nope", "", "nope"]));
}
both_backends!(every_route_answers_the_same_through_onion_as_over_plain_http);

async fn signed_requests_authenticate_from_their_inner_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    for via in ONION {
        let user = app.user();
        let res = send(
            &user,
            via,
            &user.build("GET", "/capabilities", vec![], None),
        )
        .await;
        assert_eq!(res.status, 200, "{via:?}");
        let row = app
            .state
            .store
            .user_by_session_id(&user.id())
            .await
            .unwrap();
        assert!(row.is_some(), "{via:?}: the inner headers created the user");

        // A signature for another request fails inside, as it would over plain HTTP.
        let mut forged = user.build("GET", "/capabilities", vec![], None);
        let other = user.build("GET", "/capabilities?required=sogs", vec![], None);
        for (name, value) in &mut forged.headers {
            if name.eq_ignore_ascii_case("X-SOGS-Signature") {
                *value = other
                    .headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("X-SOGS-Signature"))
                    .unwrap()
                    .1
                    .clone();
            }
        }
        assert_eq!(send(&user, via, &forged).await.status, 401, "{via:?}");

        // Some but not all of the four headers: 400.
        let mut partial = user.build("GET", "/capabilities", vec![], None);
        partial
            .headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("X-SOGS-Nonce"));
        assert_eq!(send(&user, via, &partial).await.status, 400, "{via:?}");
    }
}
both_backends!(signed_requests_authenticate_from_their_inner_headers);

async fn a_replayed_inner_request_is_refused_with_425(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.user();
    // The same signed request in fresh onion layers: only the first is served.
    let req = user.build("GET", "/capabilities", vec![], None);
    let first = user.send_onion_v4(&req, EncType::Aes256Gcm).await.unwrap();
    assert_eq!(first.status, 200);
    for via in [
        Via::V4(EncType::Aes256Gcm),
        Via::V4(EncType::XChaCha20Poly1305),
        Via::V3(EncType::Aes256Gcm),
        Via::Plain,
    ] {
        assert_eq!(send(&user, via, &req).await.status, 425, "{via:?}");
    }
    // And a request first seen over plain HTTP cannot be replayed through onion.
    let req = user.build_json("POST", "/batch", &json!([]));
    assert_eq!(user.send(&req).await.unwrap().status, 200);
    for via in ONION {
        assert_eq!(send(&user, via, &req).await.status, 425, "{via:?}");
    }
}
both_backends!(a_replayed_inner_request_is_refused_with_425);

async fn a_session_poll_batch_runs_inside_onion(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.user();
    let poll = Value::Array(SogsClient::poll_batch(&[]));
    let plain = user
        .send(&user.build_json("POST", "/batch", &poll))
        .await
        .unwrap();
    assert_eq!(plain.status, 200);
    for via in ONION {
        let res = send(&user, via, &user.build_json("POST", "/batch", &poll)).await;
        assert_eq!(res.status, 200, "{via:?}");
        let items = res.json();
        assert_eq!(items, plain.json(), "{via:?}");
        assert_eq!(items[0]["code"], 200);
        assert_eq!(items[0]["body"]["capabilities"][0], "blind");
    }
}
both_backends!(a_session_poll_batch_runs_inside_onion);

/// A valid v4 frame for the server of `client`, with its plaintext.
fn sealed_frame(client: &SogsClient, enc: EncType, plaintext: &[u8]) -> (Vec<u8>, OnionKey) {
    seal_request(client.server_pk(), enc, plaintext).unwrap()
}

fn frame(ciphertext: &[u8], metadata: &str) -> Vec<u8> {
    let mut out = (ciphertext.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(ciphertext);
    out.extend_from_slice(metadata.as_bytes());
    out
}

async fn malformed_onion_requests_are_400_and_never_500(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.client();
    let key_hex = "8167e97672005c669a48858c69895f395ca235219ac3f7a4210022b1f910e652";
    let (valid, _) = sealed_frame(&client, EncType::Aes256Gcm, b"l2:{}e");
    let mut tampered = valid.clone();
    tampered[10] ^= 1;
    let mut tampered_tag = valid.clone();
    let ct_end = 4 + u32::from_le_bytes(valid[..4].try_into().unwrap()) as usize;
    tampered_tag[ct_end - 1] ^= 0x80;
    let stranger = ServerKey::generate().public_key();
    let (for_another_server, _) =
        seal_request(&stranger, EncType::XChaCha20Poly1305, b"x").unwrap();
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated length", vec![1, 0, 0]),
        ("empty metadata object", frame(b"", "{}")),
        ("length prefix larger than body", {
            let mut b = vec![0xff, 0xff, 0, 0];
            b.extend_from_slice(b"{\"ephemeral_key\":\"00\"}");
            b
        }),
        ("truncated frame", valid[..valid.len() / 2].to_vec()),
        ("metadata not JSON", frame(&[0u8; 40], "not json")),
        ("metadata not an object", frame(&[0u8; 40], "[1,2]")),
        (
            "missing ephemeral_key",
            frame(&[0u8; 40], r#"{"enc_type":"aes-gcm"}"#),
        ),
        (
            "short ephemeral_key",
            frame(&[0u8; 40], r#"{"ephemeral_key":"abcd"}"#),
        ),
        (
            "non-hex ephemeral_key",
            frame(
                &[0u8; 40],
                &format!(r#"{{"ephemeral_key":"{}"}}"#, "zz".repeat(32)),
            ),
        ),
        (
            "small-order ephemeral_key",
            frame(
                &[0u8; 40],
                &format!(r#"{{"ephemeral_key":"{}"}}"#, "00".repeat(32)),
            ),
        ),
        (
            "unknown enc_type",
            frame(
                &[0u8; 40],
                &format!(r#"{{"ephemeral_key":"{key_hex}","enc_type":"rot13"}}"#),
            ),
        ),
        (
            "ciphertext too short",
            frame(&[0u8; 3], &format!(r#"{{"ephemeral_key":"{key_hex}"}}"#)),
        ),
        ("ciphertext tampered", tampered),
        ("tag tampered", tampered_tag),
        ("sealed for another server", for_another_server),
    ];
    for path in [V4_PATH, V3_PATHS[0], V3_PATHS[1]] {
        for (what, body) in &bodies {
            let res = client.post_raw(path, body.clone()).await.unwrap();
            assert_eq!(res.status, 400, "{path}: {what}: {}", res.text());
        }
        let res = app.get(path).await;
        assert_eq!(res.status(), 405, "GET {path}");
    }
    let metrics = app.state.metrics.render();
    for outcome in ["bad_frame", "bad_key", "decryption_failed"] {
        assert!(
            metrics.contains(&format!(r#"outcome="{outcome}",version="v4""#)),
            "{outcome}: {metrics}"
        );
    }
    assert!(metrics.contains(r#"cipher="unknown",outcome="bad_frame",version="v3""#));
}
both_backends!(malformed_onion_requests_are_400_and_never_500);

/// Posts `plaintext` sealed with `enc` to the v4 endpoint and opens the reply.
async fn v4_exchange(client: &SogsClient, enc: EncType, plaintext: &[u8]) -> ClientResponse {
    let (body, key) = sealed_frame(client, enc, plaintext);
    let res = client.post_raw(V4_PATH, body).await.unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    SogsClient::open_v4_reply(&key, &res.body).unwrap()
}

async fn v3_exchange(client: &SogsClient, path: &str, plaintext: &[u8]) -> ClientResponse {
    let (body, key) = sealed_frame(client, EncType::XChaCha20Poly1305, plaintext);
    let res = client.post_raw(path, body).await.unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    SogsClient::open_v3_reply(&key, &res.body).unwrap()
}

async fn undecodable_inner_requests_get_an_encrypted_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.client();
    let bencode = |meta: &str| format!("l{}:{}e", meta.len(), meta).into_bytes();
    for enc in [EncType::Aes256Gcm, EncType::XChaCha20Poly1305] {
        for plaintext in [
            b"".to_vec(),
            b"not bencode".to_vec(),
            b"l5:abce".to_vec(),
            b"l3:abc".to_vec(),
            b"li1ee".to_vec(),
            b"l2:{}e trailing".to_vec(),
            bencode("not json"),
            bencode(r#"{"method":"GET"}"#),
            bencode(r#"{"method":"GET","endpoint":"capabilities"}"#),
            bencode(r#"{"method":"GET","endpoint":"/capabilities","headers":[]}"#),
            b"l2:{}1:a1:be".to_vec(),
        ] {
            let res = v4_exchange(&client, enc, &plaintext).await;
            assert_eq!(res.status, 400, "{}", String::from_utf8_lossy(&plaintext));
            assert_eq!(res.text(), "Invalid v4 onion request");
            assert_eq!(
                res.header("content-type"),
                Some("text/plain; charset=utf-8")
            );
        }
        let nested = bencode(r#"{"method":"POST","endpoint":"/oxen/v4/lsrpc"}"#);
        let res = v4_exchange(&client, enc, &nested).await;
        assert_eq!(res.status, 400);
        let patch = bencode(r#"{"method":"PATCH","endpoint":"/capabilities"}"#);
        assert_eq!(v4_exchange(&client, enc, &patch).await.status, 405);
    }
    for path in V3_PATHS {
        for plaintext in [
            &b""[..],
            b"not json",
            b"[]",
            b"{\"method\":\"GET\"}",
            b"{\"method\":\"GET\",\"endpoint\":\"/capabilities\",\"body\":\"x\"}",
            b"{\"method\":\"POST\",\"endpoint\":\"/loki/v3/lsrpc\",\"body\":\"x\"}",
        ] {
            let res = v3_exchange(&client, path, plaintext).await;
            assert_eq!(
                res.status,
                400,
                "{path} {}",
                String::from_utf8_lossy(plaintext)
            );
        }
        // Android's GET with the body "null" is served.
        let android = br#"{"method":"GET","endpoint":"/capabilities","body":"null"}"#;
        let res = v3_exchange(&client, path, android).await;
        assert_eq!(res.status, 200);
        assert_eq!(res.json()["capabilities"][2], "sogs");
    }
    let metrics = app.state.metrics.render();
    assert!(metrics.contains(r#"outcome="bad_inner_request",version="v4""#));
    assert!(metrics.contains(r#"outcome="bad_inner_request",version="v3""#));
}
both_backends!(undecodable_inner_requests_get_an_encrypted_400);

async fn bodies_over_the_limit_are_413(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.server.max_request_bytes = 64 * 1024).await;
    let client = app.client();
    for path in [V4_PATH, V3_PATHS[0]] {
        let res = client.post_raw(path, vec![0u8; 200 * 1024]).await.unwrap();
        assert_eq!(res.status, 413, "{path}");
    }
    // Just under the limit is served.
    let user = app.user();
    let big = json!([{"method": "POST", "path": "/capabilities", "bytes": "x".repeat(40_000)}]);
    let res = user
        .send_onion_v4(&user.build_json("POST", "/batch", &big), EncType::Aes256Gcm)
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(res.json()[0]["code"], 405);
}
both_backends!(bodies_over_the_limit_are_413);

/// The raw sealed length of the v4 reply to `req`, and the reply.
async fn v4_reply_len(
    client: &SogsClient,
    enc: EncType,
    req: &BuiltRequest,
) -> (usize, V4Response) {
    let (body, key) = client.onion_v4_body(req, enc).unwrap();
    let res = client.post_raw(V4_PATH, body).await.unwrap();
    assert_eq!(res.status, 200);
    let reply = V4Response::decode(&key.open(&res.body).unwrap()).unwrap();
    (res.body.len(), reply)
}

async fn v4_replies_are_padded_so_polls_and_posts_look_alike(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.user();
    let poll = Value::Array(SogsClient::poll_batch(&[]));
    let big_batch = Value::Array(vec![json!({"method": "GET", "path": "/capabilities"}); 12]);
    for enc in [EncType::Aes256Gcm, EncType::XChaCha20Poly1305] {
        let requests = [
            user.build("GET", "/capabilities", vec![], None),
            user.build("GET", "/no/such/route", vec![], None),
            user.build_json("POST", "/batch", &poll),
            user.build_json("POST", "/batch", &big_batch),
        ];
        for req in &requests {
            let (len, reply) = v4_reply_len(&user, enc, req).await;
            assert_eq!(len, 4096, "{enc:?} {}", req.target);
            assert!(reply.headers.iter().any(|(n, _)| n == PAD_HEADER));
        }
    }
    // Unpadded, the same replies differ in size.
    let app = spawn_app_with(backend, |c| c.onion.pad_replies = false).await;
    let user = app.user();
    let (small, reply) = v4_reply_len(
        &user,
        EncType::Aes256Gcm,
        &user.build("GET", "/capabilities", vec![], None),
    )
    .await;
    assert!(reply.headers.iter().all(|(n, _)| n != PAD_HEADER));
    let (large, _) = v4_reply_len(
        &user,
        EncType::Aes256Gcm,
        &user.build_json("POST", "/batch", &big_batch),
    )
    .await;
    assert!(small < large && large < 4096, "{small} {large}");
}
both_backends!(v4_replies_are_padded_so_polls_and_posts_look_alike);

async fn onion_requests_are_counted_by_version_cipher_and_outcome(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.user();
    for via in ONION {
        send(
            &user,
            via,
            &user.build("GET", "/capabilities", vec![], None),
        )
        .await;
        send(&user, via, &user.build("GET", "/nowhere", vec![], None)).await;
    }
    let metrics = app.state.metrics.render();
    for (cipher, version) in [
        ("aes-gcm", "v4"),
        ("xchacha20", "v4"),
        ("aes-gcm", "v3"),
        ("xchacha20", "v3"),
    ] {
        for outcome in ["ok", "inner_4xx"] {
            let line = format!(
                r#"sogs_onion_requests_total{{cipher="{cipher}",outcome="{outcome}",version="{version}"}} 1"#
            );
            assert!(metrics.contains(&line), "{line} missing from\n{metrics}");
        }
    }
    // The HTTP metrics label onion requests by their endpoint.
    assert!(metrics.contains(r#"route="/oxen/v4/lsrpc""#), "{metrics}");
}
both_backends!(onion_requests_are_counted_by_version_cipher_and_outcome);
