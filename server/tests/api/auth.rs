//! Request authentication over real HTTP (spec §2), with PySOGS's replay and
//! user-creation holes closed.

use sogs::client::{BuiltRequest, SogsClient};

use crate::support::{Backend, spawn_app, spawn_app_with, use_redis};

fn header<'a>(req: &'a BuiltRequest, name: &str) -> &'a str {
    req.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .unwrap()
}

fn with_header(req: &BuiltRequest, name: &str, value: &str) -> BuiltRequest {
    let mut req = req.clone();
    for (n, v) in &mut req.headers {
        if n.eq_ignore_ascii_case(name) {
            *v = value.to_string();
        }
    }
    req
}

fn without_header(req: &BuiltRequest, name: &str) -> BuiltRequest {
    let mut req = req.clone();
    req.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    req
}

async fn send(client: &SogsClient, req: &BuiltRequest) -> (u16, String) {
    let res = client.send(req).await.unwrap();
    (res.status, res.text())
}

async fn a_signed_request_is_accepted_once_and_its_replay_gets_425(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.user();
    let req = user.build("GET", "/capabilities", Vec::new(), None);
    assert_eq!(send(&user, &req).await.0, 200);
    assert_eq!(
        send(&user, &req).await,
        (
            425,
            "Invalid authentication: X-SOGS-Nonce cannot be reused".into()
        )
    );
    let stored = app
        .state
        .store
        .user_by_session_id(&user.id())
        .await
        .unwrap();
    assert!(stored.is_some(), "verified user is recorded");
    // The nonces this process keeps itself are a gauge (on SQLite alone, where it keeps
    // them; on PostgreSQL the database does).
    let remembered = app.metric("sogs_remembered_nonces", &[]);
    match backend {
        Backend::Sqlite => assert_eq!(remembered, 1.0),
        Backend::Postgres => assert_eq!(remembered, 0.0, "no such gauge on PostgreSQL"),
    }
}
both_backends!(a_signed_request_is_accepted_once_and_its_replay_gets_425);

async fn a_bad_signature_is_401_creates_no_user_and_burns_no_nonce(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.user();
    let good = user.build("GET", "/capabilities", Vec::new(), None);
    let other = user.build("GET", "/capabilities?x=1", Vec::new(), None);
    // The signature of another request: well-formed, but not for this one.
    let forged = with_header(
        &good,
        "X-SOGS-Signature",
        header(&other, "X-SOGS-Signature"),
    );
    assert_eq!(
        send(&user, &forged).await,
        (
            401,
            "Invalid authentication: X-SOGS-Signature verification failed".into()
        )
    );
    assert!(
        app.state
            .store
            .user_by_session_id(&user.id())
            .await
            .unwrap()
            .is_none(),
        "a forged request must not create a user row (PySOGS quirk 1 fixed)"
    );
    assert_eq!(send(&user, &good).await.0, 200, "nonce was not burned");
}
both_backends!(a_bad_signature_is_401_creates_no_user_and_burns_no_nonce);

async fn partial_and_malformed_headers_get_400_with_the_spec_messages(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.user();
    let req = user.build("GET", "/capabilities", Vec::new(), None);
    let cases: Vec<(BuiltRequest, &str)> = vec![
        (
            without_header(&req, "X-SOGS-Timestamp"),
            "Invalid authentication headers: missing 1/4 required X-SOGS-* headers",
        ),
        (
            with_header(
                &with_header(&req, "X-SOGS-Timestamp", ""),
                "X-SOGS-Nonce",
                "",
            ),
            "Invalid authentication headers: missing 2/4 required X-SOGS-* headers",
        ),
        (
            with_header(&req, "X-SOGS-Pubkey", "15zz"),
            "Invalid authentication: X-SOGS-Pubkey is not a valid 66-hex digit id",
        ),
        (
            with_header(
                &req,
                "X-SOGS-Pubkey",
                &format!("05{}", &header(&req, "X-SOGS-Pubkey")[2..]),
            ),
            "Invalid authentication: X-SOGS-Pubkey must be 00- or 15- prefixed",
        ),
        (
            with_header(
                &req,
                "X-SOGS-Pubkey",
                "15c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
            ),
            "Invalid authentication: given X-SOGS-Pubkey is not a valid Ed25519 pubkey",
        ),
        (
            with_header(&req, "X-SOGS-Nonce", "AAAA"),
            "Invalid authentication: X-SOGS-Nonce must be 16 bytes (encoded as base64 or hex)",
        ),
        (
            with_header(
                &req,
                "X-SOGS-Signature",
                &header(&req, "X-SOGS-Signature")[4..],
            ),
            "Invalid authentication: X-SOGS-Signature is not base64[88]",
        ),
        (
            with_header(
                &req,
                "X-SOGS-Timestamp",
                &format!("{}a", header(&req, "X-SOGS-Timestamp")),
            ),
            "Invalid authentication: X-SOGS-Timestamp is not a valid timestamp",
        ),
    ];
    for (bad, message) in cases {
        assert_eq!(send(&user, &bad).await, (400, message.to_string()));
    }
}
both_backends!(partial_and_malformed_headers_get_400_with_the_spec_messages);

async fn timestamps_more_than_a_day_away_get_425(backend: Backend) {
    let app = spawn_app(backend).await;
    let clock = sogs::clock::Clock::manual(app.state.clock.now() + 86_402.0);
    let user = app.user().with_clock(clock.clone());
    let res = user.get("/capabilities").await.unwrap();
    assert_eq!(res.status, 425);
    assert_eq!(
        res.text(),
        "Invalid authentication: X-SOGS-Timestamp is too far from current time"
    );
    clock.advance(-2.0 * 86_402.0);
    assert_eq!(user.get("/capabilities").await.unwrap().status, 425);
    clock.advance(86_402.0 - 86_000.0);
    assert_eq!(user.get("/capabilities").await.unwrap().status, 200);
}
both_backends!(timestamps_more_than_a_day_away_get_425);

async fn unblinded_keys_are_refused_unless_blinding_is_optional(backend: Backend) {
    use ed25519_dalek::SigningKey;
    use sogs::crypto::request_signature::RequestSigner;
    let signer = RequestSigner::Unblinded(SigningKey::from_bytes(&[7u8; 32]));
    let app = spawn_app(backend).await;
    let res = app
        .client()
        .with_signer(signer.clone())
        .get("/capabilities")
        .await
        .unwrap();
    assert_eq!(
        (res.status, res.text()),
        (
            400,
            "Invalid authentication: this server requires the use of blinded ids".into()
        )
    );
    let open = spawn_app_with(backend, |c| c.users.require_blind_keys = false).await;
    let user = open.client().with_signer(signer);
    assert_eq!(user.get("/capabilities").await.unwrap().status, 200);
    assert!(user.id().starts_with("05"));
}
both_backends!(unblinded_keys_are_refused_unless_blinding_is_optional);

async fn blind25_users_are_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.client().with_user_seed_blind25([9u8; 32]);
    assert!(user.id().starts_with("25"));
    assert_eq!(user.get("/capabilities").await.unwrap().status, 200);
}
both_backends!(blind25_users_are_accepted);

async fn capabilities_lists_and_412s_on_missing_requirements(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.client();
    let res = client.get("/capabilities").await.unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json(),
        serde_json::json!({"capabilities": ["blind", "reactions", "sogs", "sogs-rs-moderation"]})
    );
    let res = client
        .get("/capabilities?required=sogs,blind")
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    let res = client
        .get("/capabilities?required=magic,sogs,,magic")
        .await
        .unwrap();
    assert_eq!(res.status, 412);
    assert_eq!(
        res.json(),
        serde_json::json!({
            "capabilities": ["blind", "reactions", "sogs", "sogs-rs-moderation"],
            "missing": ["magic", "", "magic"]
        })
    );
}
both_backends!(capabilities_lists_and_412s_on_missing_requirements);

async fn a_batch_runs_every_sub_request_and_a_sequence_stops_at_the_first_failure(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let user = app.user();
    let subs = [
        serde_json::json!({"method": "GET", "path": "/capabilities"}),
        serde_json::json!({"method": "GET", "path": "/capabilities?required=nope"}),
        serde_json::json!({"method": "GET", "path": "/no/such/route"}),
    ];
    let res = user.batch(&subs).await.unwrap();
    assert_eq!(res.status, 200);
    let codes: Vec<u64> = res
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, [200, 412, 404]);
    let res = user.sequence(&subs).await.unwrap();
    assert_eq!(res.json().as_array().unwrap().len(), 2);
    let res = user
        .post_json("/batch", &serde_json::json!({"not": "a list"}))
        .await
        .unwrap();
    assert_eq!(res.status, 400);
    let res = user
        .send(&user.build("POST", "/batch", b"[{".to_vec(), Some("application/json")))
        .await
        .unwrap();
    assert_eq!(res.status, 400);
}
both_backends!(a_batch_runs_every_sub_request_and_a_sequence_stops_at_the_first_failure);

/// Two instances over one PostgreSQL: a request replayed to the other instance is refused,
/// through the database without Redis and through Redis with it.
async fn replay_to_another_instance(with_redis: bool) {
    let a = spawn_app_with(Backend::Postgres, |c| {
        if with_redis {
            use_redis(c);
        }
    })
    .await;
    // The same configuration: the same Redis and key prefix, as one community's are.
    let b = a.another_instance(|_| {}).await;
    assert_eq!(a.state.key.public_key(), b.state.key.public_key());
    let user = a.user();
    let req = user.build("GET", "/capabilities", Vec::new(), None);
    assert_eq!(a.client().send(&req).await.unwrap().status, 200);
    let replay = b.client().send(&req).await.unwrap();
    assert_eq!(replay.status, 425, "{}", replay.text());
    if with_redis {
        a.assert_redis_used().await;
        b.assert_redis_used().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_to_a_second_instance_on_postgres_without_redis_gets_425() {
    replay_to_another_instance(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_to_a_second_instance_on_postgres_with_redis_gets_425() {
    replay_to_another_instance(true).await;
}
