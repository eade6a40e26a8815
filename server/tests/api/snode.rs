//! The built-in service-node client against a simulated network on 127.0.0.x: a probe and a
//! client's posts and polls through three hops, faulty hops costing their path strikes,
//! bootstrap without seeds, onion-only mode, ONS, and the self-probe metrics. Nothing here
//! touches the real network.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use sogs::client::SogsClient;
use sogs::config::Config;
use sogs::crypto::EncType;
use sogs::snode::directory::Source;
use sogs::snode::sim::{SimNetwork, TEST_NAMES};
use sogs::snode::{OnionClient, ServerTarget, Settings, probe, tls};

use crate::community::{TOKEN, now};
use crate::support::app::TestApp;
use crate::support::{Backend, spawn_app_with};

const NODES: usize = 6;

/// Reaches `sim` as it serves (http or https), pinning its seeds' certificates when it has
/// any.
fn settings(sim: &SimNetwork, timeout: Duration) -> Settings {
    Settings {
        seeds: sim.seeds().split(',').map(str::to_string).collect(),
        scheme: sim.scheme().into(),
        timeout,
        attempts: 3,
        enc: EncType::XChaCha20Poly1305,
        seed_cert_sha256: sim
            .seed_fingerprints()
            .iter()
            .map(|f| tls::parse_fingerprint(f).unwrap())
            .collect(),
    }
}

fn client(sim: &SimNetwork, timeout: Duration) -> OnionClient {
    OnionClient::new(settings(sim, timeout), Arc::default(), None).unwrap()
}

/// The server's onion endpoint as the last hop reaches it.
fn target(app: &TestApp) -> ServerTarget {
    ServerTarget::from_url(&app.address, app.state.key.public_key()).unwrap()
}

/// Points the server's service-node client at the simulated network.
pub(crate) fn use_network(config: &mut Config, sim: &SimNetwork) {
    config.snode.enabled = true;
    config.snode.seeds = sim.seeds();
    config.snode.scheme = sim.scheme().into();
    config.snode.seed_cert_sha256 = sim.seed_fingerprints();
    config.snode.request_timeout_secs = 2.0;
}

/// Waits (up to 10 s) until `check` holds.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn with_room(app: &TestApp) {
    app.state
        .store
        .create_room(TOKEN, "Lobby", None, now())
        .await
        .unwrap();
}

both_backends!(a_probe_and_a_client_post_and_poll_through_three_simulated_hops);

async fn a_probe_and_a_client_post_and_poll_through_three_simulated_hops(backend: Backend) {
    let sim = SimNetwork::start(NODES).await.unwrap();
    let app = spawn_app_with(backend, |_| {}).await;
    with_room(&app).await;
    probe_post_and_poll(&client(&sim, Duration::from_secs(5)), &app).await;
    sim.stop().await;
}

/// Probes `app` through `onion`, then posts and polls a message through it.
async fn probe_post_and_poll(onion: &OnionClient, app: &TestApp) {
    let report = probe::run(onion, &target(app)).await;
    assert!(report.ok(), "{}", report.render());
    let names: Vec<&str> = report.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "node list",
            "paths",
            "hop 1 reachable",
            "hop 2 reachable",
            "hop 3 reachable",
            "onion round trip"
        ]
    );
    assert_eq!(report.path.len(), 3);
    assert!(report.round_trip.is_some());
    assert!(
        report.stages[0].detail.contains("6 service nodes"),
        "{}",
        report.render()
    );

    let user = app.user();
    let post = user.build_json(
        "POST",
        &format!("/room/{TOKEN}/message"),
        &user.message_json(b"through the onion"),
    );
    let posted = onion.send_v4(&target(app), &post).await.unwrap();
    assert_eq!(posted.status, 201, "{}", posted.text());
    let poll = user.build(
        "GET",
        &format!("/room/{TOKEN}/messages/recent"),
        Vec::new(),
        None,
    );
    let polled = onion.send_v4(&target(app), &poll).await.unwrap();
    assert_eq!(polled.status, 200);
    let messages = polled.json();
    assert_eq!(messages.as_array().unwrap().len(), 1);
    assert_eq!(messages[0]["id"], posted.json()["id"]);
    assert_eq!(messages[0]["session_id"], Value::String(user.id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_with_the_seeds_pinned_a_probe_and_a_post_and_poll_go_through_three_hops() {
    let sim = SimNetwork::start_tls(NODES).await.unwrap();
    assert_eq!(sim.scheme(), "https");
    assert!(sim.seeds().starts_with("https://127.0.0.2:"));
    assert_eq!(sim.seed_fingerprints().len(), 2);
    // The nodes speak only TLS: plain HTTP to one gets no answer.
    let plain = format!("http://{}/storage_rpc/v1", sim.nodes()[0].info.address());
    assert!(reqwest::Client::new().post(plain).send().await.is_err());

    // The server learns the list from a pinned seed and probes through TLS hops.
    let app = spawn_app_with(Backend::Sqlite, |c| use_network(c, &sim)).await;
    with_room(&app).await;
    eventually("the seed list", || {
        app.state.snode.directory().source() == Source::Seed
    })
    .await;
    assert_eq!(app.state.snode.directory().len(), NODES);
    assert_eq!(app.state.snode.settings().seed_cert_sha256.len(), 2);
    let report = probe::run(&app.state.snode, &target(&app)).await;
    assert!(report.ok(), "{}", report.render());

    // A client's post and poll ride the same kind of path (the last hop reaches this
    // plain-HTTP server as its `protocol` field says).
    let onion = client(&sim, Duration::from_secs(5));
    assert_eq!(onion.settings().scheme, "https");
    probe_post_and_poll(&onion, &app).await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_service_node_client_accepts_a_self_signed_node_certificate() {
    let sim = SimNetwork::start_tls(1).await.unwrap();
    let url = format!("https://{}/storage_rpc/v1", sim.nodes()[0].info.address());
    let info = serde_json::json!({"method": "info", "params": {}});
    let node_client = tls::node_client_builder().unwrap().build().unwrap();
    let res = node_client.post(&url).json(&info).send().await.unwrap();
    assert_eq!(res.status(), 200);
    // Every other HTTPS client (S3 uploads) verifies certificates against the CA store.
    let err = reqwest::Client::new()
        .post(&url)
        .json(&info)
        .send()
        .await
        .unwrap_err();
    let chain = format!("{err:?}");
    assert!(
        chain.contains("InvalidCertificate(UnknownIssuer)"),
        "{chain}"
    );
    sim.stop().await;
}

/// A fingerprint no certificate has.
const WRONG_PIN: &str = "abababababababababababababababababababababababababababababababab";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_whose_certificate_does_not_match_the_pin_is_refused_and_the_next_seed_tried() {
    let sim = SimNetwork::start_tls(NODES).await.unwrap();
    let fingerprints = sim.seed_fingerprints();

    // Only the second seed's certificate is pinned: whichever seed is tried first, the list
    // comes from the second.
    let mut only_second = settings(&sim, Duration::from_secs(5));
    only_second.seed_cert_sha256 = vec![tls::parse_fingerprint(&fingerprints[1]).unwrap()];
    let onion = OnionClient::new(only_second, Arc::default(), None).unwrap();
    assert_eq!(onion.refresh_nodes(now()).await.unwrap(), Source::Seed);
    assert_eq!(onion.directory().len(), NODES);

    // Pinned to nothing they present: both seeds are refused, each naming its certificate.
    let mut wrong = settings(&sim, Duration::from_secs(5));
    wrong.seed_cert_sha256 = vec![tls::parse_fingerprint(WRONG_PIN).unwrap()];
    let onion = OnionClient::new(wrong, Arc::default(), None).unwrap();
    let err = onion.ensure_nodes().await.unwrap_err().to_string();
    assert!(err.contains("no seed node answered"), "{err}");
    for (seed, fingerprint) in sim.seeds().split(',').zip(&fingerprints) {
        assert!(err.contains(seed), "{err}");
        assert!(
            err.contains(&format!(
                "seed certificate SHA-256 {fingerprint} matches none of snode.seed_cert_sha256"
            )),
            "{err}"
        );
    }
    assert!(onion.directory().is_empty());

    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_seed_pin_mismatched_the_server_falls_back_to_its_stored_list() {
    let sim = SimNetwork::start_tls(NODES).await.unwrap();
    let first = spawn_app_with(Backend::Sqlite, |c| use_network(c, &sim)).await;
    eventually("the seed list", || {
        first.state.snode.directory().source() == Source::Seed
    })
    .await;
    // Restarted with a pin the seeds do not match (a seed impersonated, or its certificate
    // renewed), it refuses them and keeps serving with the list it stored.
    let second = first
        .another_instance(|c| c.snode.seed_cert_sha256 = vec![WRONG_PIN.into()])
        .await;
    eventually("the stored list", || {
        second.state.snode.directory().source() == Source::Stored
    })
    .await;
    assert_eq!(second.state.snode.directory().len(), NODES);
    let err = second.state.snode.directory().last_error().unwrap();
    assert!(
        err.contains("matches none of snode.seed_cert_sha256"),
        "{err}"
    );
    let report = probe::run(&second.state.snode, &target(&second)).await;
    assert!(report.ok(), "{}", report.render());
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupting_hop_costs_its_path_strikes_and_requests_succeed_on_the_other_path() {
    let sim = SimNetwork::start(NODES).await.unwrap();
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let onion = client(&sim, Duration::from_secs(5));
    let paths = onion.ensure_paths().await.unwrap();
    assert_eq!(paths.len(), 2);
    let bad = paths[0].clone();
    sim.node(&bad.nodes[1].ed25519)
        .unwrap()
        .faults
        .set_corrupt(true);
    let req = app.client().build("GET", "/capabilities", Vec::new(), None);
    for _ in 0..30 {
        let res = onion.send_v4(&target(&app), &req).await.unwrap();
        assert_eq!(res.status, 200);
        if !onion.paths().await.iter().any(|p| p.guard() == bad.guard()) {
            break;
        }
    }
    let left = onion.paths().await;
    assert!(
        !left.iter().any(|p| p.guard() == bad.guard()),
        "the corrupted path should have been dropped after three strikes"
    );
    // The dropped path's guard left the node list with it.
    assert!(!onion.directory().nodes().contains(bad.guard()));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropping_guard_times_out_and_the_request_succeeds_on_another_path() {
    let sim = SimNetwork::start(NODES).await.unwrap();
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let onion = client(&sim, Duration::from_millis(700));
    let paths = onion.ensure_paths().await.unwrap();
    for path in &paths[..1] {
        sim.node(&path.guard().ed25519)
            .unwrap()
            .faults
            .set_drop(true);
    }
    let req = app.client().build("GET", "/capabilities", Vec::new(), None);
    for _ in 0..4 {
        let res = onion.send_v4(&target(&app), &req).await.unwrap();
        assert_eq!(res.status, 200);
    }
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_cannot_succeed_ends_with_a_clear_error_within_its_timeout() {
    let sim = SimNetwork::start(NODES).await.unwrap();
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let timeout = Duration::from_millis(500);
    let onion = client(&sim, timeout);
    onion.ensure_paths().await.unwrap();
    for node in sim.nodes() {
        node.faults.set_drop(true);
    }
    let req = app.client().build("GET", "/capabilities", Vec::new(), None);
    // The error says how the request ended: each attempt cut off by its timeout, and no
    // more attempts than allowed; the network drops everything, so nothing else could
    // have ended it (no wall-clock measure needed).
    let err = onion.send_v4(&target(&app), &req).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("gave up after 3 attempts"), "{text}");
    assert!(text.contains("no answer within 500ms"), "{text}");
    // A client that has a list but no path yet finds no guard, and says so.
    let fresh = client(&sim, timeout);
    fresh.directory().set(sim.service_nodes(), Source::Seed);
    let err = fresh.send_v4(&target(&app), &req).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("none of 6 guard candidates answered"),
        "{err}"
    );

    // A delayed (not dead) network is slower but works once it answers in time.
    for node in sim.nodes() {
        node.faults.clear();
        node.faults.set_delay(Duration::from_millis(20));
    }
    let fresh = client(&sim, Duration::from_secs(5));
    assert_eq!(
        fresh.send_v4(&target(&app), &req).await.unwrap().status,
        200
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hop_that_does_not_know_the_next_node_gets_it_dropped_and_the_request_retried() {
    let sim = SimNetwork::start(NODES).await.unwrap();
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let onion = client_for(&sim);
    // The client believes in a node the network does not know, at an address where nothing
    // answers: it fails the guard test, and with six nodes for two 3-hop paths it must be a
    // relay target of one of them.
    let mut nodes = sim.service_nodes();
    let ghost = sogs::snode::ServiceNode {
        ip: "127.0.0.1".into(),
        port: 9,
        ed25519: [0x42; 32],
        x25519: [0x42; 32],
    };
    nodes[NODES - 1] = ghost.clone();
    onion.directory().set(nodes, Source::Seed);
    let paths = onion.ensure_paths().await.unwrap();
    assert!(paths.iter().any(|p| p.nodes[1..].contains(&ghost)));
    let req = app.client().build("GET", "/capabilities", Vec::new(), None);
    for _ in 0..30 {
        let res = onion.send_v4(&target(&app), &req).await.unwrap();
        assert_eq!(res.status, 200);
        if !onion.directory().nodes().contains(&ghost) {
            break;
        }
    }
    assert!(!onion.directory().nodes().contains(&ghost));
    assert!(!onion.paths().await.iter().any(|p| p.nodes.contains(&ghost)));
    sim.stop().await;
}

both_backends!(with_the_seeds_unreachable_the_stored_list_is_used);

async fn with_the_seeds_unreachable_the_stored_list_is_used(backend: Backend) {
    let sim = SimNetwork::start(NODES).await.unwrap();
    // A first server learns the list from the seeds and stores it.
    let first = spawn_app_with(backend, |c| use_network(c, &sim)).await;
    eventually("the seed list", || {
        first.state.snode.directory().source() == Source::Seed
    })
    .await;
    let stored = first.state.store.service_nodes().await.unwrap();
    assert_eq!(stored.len(), NODES);
    // Restarted with dead seeds, it falls back to what it stored.
    let second = first
        .another_instance(|c| c.snode.seeds = "http://127.0.0.1:9".into())
        .await;
    eventually("the stored list", || {
        second.state.snode.directory().source() == Source::Stored
    })
    .await;
    assert_eq!(second.state.snode.directory().len(), NODES);
    assert!(
        second
            .state
            .snode
            .directory()
            .last_error()
            .unwrap()
            .contains("127.0.0.1:9")
    );
    // And the stored list is good enough to probe through.
    let report = probe::run(&second.state.snode, &target(&second)).await;
    assert!(report.ok(), "{}", report.render());
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_seed_and_nothing_stored_the_error_is_clear_and_the_server_keeps_serving() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.snode.enabled = true;
        c.snode.scheme = "http".into();
        c.snode.seeds = "http://127.0.0.1:9".into();
        c.snode.request_timeout_secs = 1.0;
        c.snode.onion_only = true;
    })
    .await;
    eventually("the bootstrap error", || {
        app.state.snode.directory().last_error().is_some()
    })
    .await;
    let err = app.state.snode.directory().last_error().unwrap();
    assert!(err.contains("no seed node answered"), "{err}");
    assert!(app.state.snode.directory().is_empty());
    let probe = probe::run(&app.state.snode, &target(&app)).await;
    assert!(!probe.ok());
    assert!(
        probe.stages[0]
            .detail
            .contains("no service-node list is stored"),
        "{}",
        probe.render()
    );
    // Plain HTTP and inbound onion requests are unaffected: with no list known, onion-only
    // mode fails open rather than cut Session clients off.
    let client: SogsClient = app.client();
    assert_eq!(client.get("/capabilities").await.unwrap().status, 200);
    let req = client.build("GET", "/capabilities", Vec::new(), None);
    let res = client
        .send_onion_v4(&req, EncType::XChaCha20Poly1305)
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    let metrics = app.state.metrics.render();
    assert!(
        metrics.contains(r#"sogs_onion_requests_by_origin_total{origin="unknown"} 1"#),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onion_only_mode_accepts_onion_requests_from_service_nodes_only() {
    let sim = SimNetwork::start(NODES).await.unwrap();
    let app = spawn_app_with(Backend::Sqlite, |c| {
        use_network(c, &sim);
        c.snode.onion_only = true;
    })
    .await;
    eventually("the node list", || !app.state.snode.directory().is_empty()).await;
    let client = app.client();
    let req = client.build("GET", "/capabilities", Vec::new(), None);
    // Straight from 127.0.0.1, which is not a service node: refused.
    let err = client
        .send_onion_v4(&req, EncType::Aes256Gcm)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("HTTP 403"), "{err}");
    // Plain HTTP is not an onion request and still works.
    assert_eq!(client.get("/capabilities").await.unwrap().status, 200);
    // Through the network the last hop's address is a service node's: served.
    let onion = client_for(&sim);
    let res = onion.send_v4(&target(&app), &req).await.unwrap();
    assert_eq!(res.status, 200);
    let metrics = app.state.metrics.render();
    assert!(
        metrics.contains(r#"sogs_onion_requests_by_origin_total{origin="service_node"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"sogs_onion_requests_by_origin_total{origin="other"} 1"#),
        "{metrics}"
    );
    let (top, _) = app.state.onion_origins.take_top(5);
    assert_eq!(top, vec![("127.0.0.1".parse().unwrap(), 1)]);
    sim.stop().await;
}

fn client_for(sim: &SimNetwork) -> OnionClient {
    client(sim, Duration::from_secs(5))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ons_names_resolve_through_the_network_and_unknown_names_are_clear_errors() {
    let sim = SimNetwork::start(NODES).await.unwrap();
    let onion = client_for(&sim);
    let (name, sid) = TEST_NAMES[0];
    let resolved = onion.resolve_ons(&name.to_uppercase()).await.unwrap();
    assert_eq!(resolved.to_string(), sid);
    let err = onion.resolve_ons("nobody").await.unwrap_err();
    assert!(err.to_string().contains("not registered"), "{err}");
    let err = onion.resolve_ons("-bad-").await.unwrap_err();
    assert!(err.to_string().contains("not a valid ONS name"), "{err}");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_self_probe_exports_its_success_and_latency() {
    let sim = SimNetwork::start(NODES).await.unwrap();
    // The probe needs the server's own URL before it starts: reserve a port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = spawn_app_with(Backend::Sqlite, |c| {
        use_network(c, &sim);
        c.server.listen = format!("127.0.0.1:{port}");
        c.snode.probe_url = format!("http://127.0.0.1:{port}");
        c.snode.probe_interval_secs = 1;
    })
    .await;
    eventually("a successful self-probe", || {
        app.state
            .metrics
            .render()
            .contains("\nsogs_onion_probe_success 1\n")
    })
    .await;
    let metrics = app.state.metrics.render();
    let latency: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("sogs_onion_probe_latency_seconds "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(latency > 0.0, "{metrics}");
    assert!(
        metrics.contains(r#"sogs_onion_probes_total{outcome="ok"}"#),
        "{metrics}"
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_nodes_refuse_malformed_requests_with_the_storage_server_statuses() {
    let sim = SimNetwork::start(2).await.unwrap();
    let node = &sim.nodes()[0].info;
    let http = reqwest::Client::new();
    let post = |path: &str, body: Vec<u8>| {
        http.post(format!("http://{}{path}", node.address()))
            .body(body)
            .send()
    };
    for body in [
        b"".to_vec(),
        b"\x05\x00\x00\x00ab".to_vec(),
        b"\x01\x00\x00\x00x{}".to_vec(),
        // A well-formed frame that is not sealed to this node.
        sogs::crypto::onion::seal_request(
            &sogs::crypto::ServerKey::generate().public_key(),
            EncType::Aes256Gcm,
            b"x",
        )
        .unwrap()
        .0,
    ] {
        let res = post("/onion_req/v2", body).await.unwrap();
        assert_eq!(res.status(), 400);
    }
    let res = post("/json_rpc", br#"{"method":"nope"}"#.to_vec())
        .await
        .unwrap();
    let reply: Value = res.json().await.unwrap();
    assert_eq!(reply["error"]["code"], -32601);
    let res = post("/storage_rpc/v1", b"not json".to_vec()).await.unwrap();
    assert_eq!(res.status(), 400);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_that_comes_up_after_startup_is_used_without_waiting_for_the_refresh_interval() {
    let sim = SimNetwork::start(NODES).await.unwrap();
    // A seed address where nothing listens yet.
    let seed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = seed.local_addr().unwrap();
    drop(seed);
    let app = spawn_app_with(Backend::Sqlite, |c| {
        use_network(c, &sim);
        c.snode.seeds = format!("http://{addr}");
        c.snode.request_timeout_secs = 0.25;
    })
    .await;
    eventually("the first failure", || {
        app.state.snode.directory().last_error().is_some()
    })
    .await;
    // The seed comes up: a minimal HTTP server answering with the simulated list.
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let states: Vec<Value> = sim.service_nodes().iter().map(|n| n.to_json()).collect();
    let body = serde_json::json!({"result": {"service_node_states": states}}).to_string();
    let seed = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 65536];
            let _ = socket.read(&mut buf).await;
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    eventually("the list from the late seed", || {
        app.state.snode.directory().source() == Source::Seed
    })
    .await;
    assert_eq!(app.state.snode.directory().len(), NODES);
    seed.abort();
    sim.stop().await;
}

both_backends!(the_stored_node_list_is_replaced_as_a_whole);

async fn the_stored_node_list_is_replaced_as_a_whole(backend: Backend) {
    let db = crate::support::db::TestDb::new(backend).await;
    let node = |n: u8| sogs::snode::ServiceNode {
        ip: format!("10.0.0.{n}"),
        port: 20000 + u16::from(n),
        ed25519: [n; 32],
        x25519: [n + 100; 32],
    };
    assert!(db.store.service_nodes().await.unwrap().is_empty());
    db.store
        .replace_service_nodes(&[node(1), node(2)], 1.0)
        .await
        .unwrap();
    db.store
        .replace_service_nodes(&[node(3), node(2), node(2)], 2.0)
        .await
        .unwrap();
    assert_eq!(
        db.store.service_nodes().await.unwrap(),
        vec![node(2), node(3)]
    );
    db.cleanup().await;
}
