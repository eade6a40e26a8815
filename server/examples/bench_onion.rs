//! What one onion v4 empty poll costs the server, split into
//!
//! * X25519: the key exchange with the client's ephemeral key, with the key derivation;
//! * AEAD: opening the request and sealing the (padded) reply;
//! * signature: parsing and verifying the inner request's `X-SOGS-*` headers;
//! * the rest: frame and bencode parsing, dispatch, the batch and its handlers, the user
//!   lookup and replay check, reply encoding and padding (the user lookup is also shown on
//!   its own).
//!
//! The full figure serves each request in process through `dispatch::serve` (the route table
//! every entry point uses) over a SQLite store in a temporary directory, without HTTP; the
//! parts are timed separately over the same inputs and the rest is the difference. Requests
//! are built, signed and sealed beforehand, so client work is not counted.
//!
//! `cargo run --release --example bench_onion [-- ITERATIONS]`

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;
use sogs::api::auth::policy;
use sogs::api::dispatch;
use sogs::api::request::{ApiRequest, Headers, Method};
use sogs::client::{BuiltRequest, SogsClient};
use sogs::clock::Clock;
use sogs::config::Config;
use sogs::crypto::onion::{OnionFrame, OnionKey};
use sogs::crypto::request_signature::{RawAuthHeaders, SignedHeaders, SignedRequest};
use sogs::crypto::{EncType, ServerKey};

/// One prepared poll: the onion body and what the parts are timed on.
struct Prepared {
    body: Vec<u8>,
    ephemeral_key: [u8; 32],
    ciphertext: Vec<u8>,
    inner: BuiltRequest,
    /// Another signed poll (its own nonce), served without onion for comparison.
    plain: BuiltRequest,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let iterations: usize = match std::env::args().nth(1) {
        Some(n) => n.parse().context("ITERATIONS must be a number")?,
        None => 10_000,
    };
    let dir = tempfile::tempdir()?;
    let mut config = Config::default();
    config.server.data_dir = dir.path().to_path_buf();
    let state = sogs::startup::prepare_state(config, Clock::system()).await?;
    state
        .store
        .create_room("lobby", "Lobby", None, Clock::system().now())
        .await?;
    let client = SogsClient::new("http://bench.invalid", state.key.public_key()).with_random_user();
    let poll = Value::Array(SogsClient::poll_batch(&[("lobby", 0, 0)]));

    println!("onion v4 empty poll: {iterations} iterations per figure");
    println!(
        "poll batch: {}",
        poll.as_array()
            .map(|subs| subs
                .iter()
                .filter_map(|s| s["path"].as_str())
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default()
    );
    for enc in [EncType::Aes256Gcm, EncType::XChaCha20Poly1305] {
        bench(&state, &client, &poll, enc, iterations).await?;
    }
    sub_requests(&state, &client, &poll, iterations).await
}

/// The handlers' share of "rest": each sub-request of the poll served on its own under the
/// batch's identity, as `/batch` serves it.
async fn sub_requests(
    state: &sogs::api::AppState,
    client: &SogsClient,
    poll: &Value,
    iterations: usize,
) -> anyhow::Result<()> {
    let signed = client.build_json("POST", "/batch", poll);
    let outer = plain_request(&signed)?;
    let identity = sogs::api::auth::authenticate(state, &outer)
        .await
        .map_err(|e| anyhow::anyhow!("the poll does not authenticate: {e}"))?;
    let subs = sogs::api::handlers::batch::parse_sub_requests(
        &signed.body,
        state.config.limits.max_sub_requests,
    )
    .map_err(|e| anyhow::anyhow!("the poll does not parse: {e}"))?;
    println!("\nsub-requests served alone under the poll's user (median µs):");
    let mut total = 0.0;
    for sub in subs {
        let mut times = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let started = Instant::now();
            let served = dispatch::serve_as(state, sub.clone(), &identity).await;
            times.push(started.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(served.response.status);
        }
        let m = median(&mut times);
        total += m;
        println!("  {m:8.1}  {} {}", sub.method.as_str(), sub.path);
    }
    println!("  {total:8.1}  all five");
    Ok(())
}

async fn bench(
    state: &sogs::api::AppState,
    client: &SogsClient,
    poll: &Value,
    enc: EncType,
    iterations: usize,
) -> anyhow::Result<()> {
    let mut prepared = (0..iterations + 1)
        .map(|_| prepare(client, poll, enc))
        .collect::<anyhow::Result<Vec<_>>>()?;

    // Warm up with one request and show what the batch answered.
    let warm = prepared.remove(0);
    let served = dispatch::serve(state, onion_request(warm.body.clone())).await;
    if served.response.status != 200 {
        bail!(
            "the warm-up onion request failed: {}",
            served.response.status
        );
    }
    let reply_len = served.response.body_bytes().len();
    let codes = inner_codes(&state.key, &warm, enc, &served.response.body_bytes());
    println!(
        "\n[{}] reply {reply_len} bytes (padded); sub-request codes: {codes}",
        enc.name()
    );

    // Each iteration times the full poll, then each part on the same inputs, one after the
    // other, so that a preemption or frequency change hits all of them alike; medians then
    // discard the iterations another process interrupted.
    let reply_plain = vec![0u8; reply_len.saturating_sub(enc.overhead())];
    let auth_policy = policy(state);
    let server_pk = state.key.public_key();
    let now = Clock::system().now();
    let mut samples = Samples::default();
    for p in prepared {
        let started = Instant::now();
        let served = dispatch::serve(state, onion_request(p.body)).await;
        let full = started.elapsed();
        if served.response.status != 200 {
            bail!("onion request failed: {}", served.response.status);
        }

        // X25519 and the key derivation.
        let started = Instant::now();
        let key = OnionKey::for_server(&state.key, &p.ephemeral_key, enc)?;
        let x25519 = started.elapsed();

        // AEAD: open the request, seal a reply of the size the server sent.
        let started = Instant::now();
        std::hint::black_box(key.open(&p.ciphertext)?);
        std::hint::black_box(key.seal(&reply_plain));
        let aead = started.elapsed();

        // Signature: parse the four headers (blinded key checks included) and verify.
        let started = Instant::now();
        let header = |name: &str| {
            p.inner
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_bytes())
        };
        let raw = RawAuthHeaders {
            pubkey: header("x-sogs-pubkey"),
            nonce: header("x-sogs-nonce"),
            timestamp: header("x-sogs-timestamp"),
            signature: header("x-sogs-signature"),
        };
        let signed = SignedHeaders::parse(&raw, &auth_policy)?.context("request is signed")?;
        signed.check_timestamp(now)?;
        signed.verify(
            &server_pk,
            &SignedRequest {
                method: "POST",
                path: "/batch",
                query: "",
                body: &p.inner.body,
            },
        )?;
        let signature = started.elapsed();

        // Part of the rest, shown on its own: the user lookup auth does in the store.
        let started = Instant::now();
        let session_id = signed.session_id().to_string();
        state.store.get_or_create_user(&session_id, now).await?;
        samples
            .user_lookup
            .push(started.elapsed().as_secs_f64() * 1e6);

        // The same poll as plain HTTP would hand it to the dispatcher.
        let started = Instant::now();
        let served = dispatch::serve(state, plain_request(&p.plain)?).await;
        samples.plain.push(started.elapsed().as_secs_f64() * 1e6);
        if served.response.status != 200 {
            bail!("plain poll failed: {}", served.response.status);
        }

        samples.push(full, x25519, aead, signature);
    }

    let full = median(&mut samples.full);
    let x25519 = median(&mut samples.x25519);
    let aead = median(&mut samples.aead);
    let signature = median(&mut samples.signature);
    let rest = median(&mut samples.rest);
    let user_lookup = median(&mut samples.user_lookup);
    let plain = median(&mut samples.plain);
    let parts = x25519 + aead + signature;
    let pct = |d: f64| 100.0 * d / full;
    println!("  medians over {iterations} polls:");
    println!("  full poll         {full:8.1} µs  100.0%");
    println!("  X25519 + KDF      {x25519:8.1} µs  {:5.1}%", pct(x25519));
    println!("  AEAD open + seal  {aead:8.1} µs  {:5.1}%", pct(aead));
    println!(
        "  signature check   {signature:8.1} µs  {:5.1}%",
        pct(signature)
    );
    println!("  rest              {rest:8.1} µs  {:5.1}%", pct(rest));
    println!(
        "    of which the user lookup (SQLite) {user_lookup:.1} µs  {:.1}%",
        pct(user_lookup)
    );
    println!(
        "  the same batch without onion {plain:.1} µs: the onion layer adds {:.1} µs",
        full - plain
    );
    println!(
        "  => {:.0} polls/s per core; crypto alone {:.0}/s; the full poll runs at {:.0}% of \
         the crypto bound",
        1e6 / full,
        1e6 / parts,
        100.0 * parts / full
    );
    Ok(())
}

/// Per-iteration timings, in microseconds.
#[derive(Default)]
struct Samples {
    full: Vec<f64>,
    x25519: Vec<f64>,
    aead: Vec<f64>,
    signature: Vec<f64>,
    rest: Vec<f64>,
    user_lookup: Vec<f64>,
    plain: Vec<f64>,
}

impl Samples {
    fn push(&mut self, full: Duration, x25519: Duration, aead: Duration, signature: Duration) {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        self.full.push(us(full));
        self.x25519.push(us(x25519));
        self.aead.push(us(aead));
        self.signature.push(us(signature));
        self.rest
            .push(us(full) - us(x25519) - us(aead) - us(signature));
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// A fresh signed poll batch, sealed in a fresh onion layer.
fn prepare(client: &SogsClient, poll: &Value, enc: EncType) -> anyhow::Result<Prepared> {
    let inner = client.build_json("POST", "/batch", poll);
    let (body, _) = client.onion_v4_body(&inner, enc)?;
    let frame = OnionFrame::parse(&body)?;
    let ephemeral_key = frame.ephemeral_key;
    let ciphertext = frame.ciphertext.to_vec();
    Ok(Prepared {
        body,
        ephemeral_key,
        ciphertext,
        inner,
        plain: client.build_json("POST", "/batch", poll),
    })
}

/// A signed request as the plain-HTTP adapter hands it to the dispatcher.
fn plain_request(built: &BuiltRequest) -> anyhow::Result<ApiRequest> {
    let mut headers = Headers::new();
    for (name, value) in &built.headers {
        headers.set(name, value.as_str());
    }
    Ok(ApiRequest::from_target(
        Method::Post,
        &built.target,
        headers,
        built.body.clone(),
    )?)
}

fn onion_request(body: Vec<u8>) -> ApiRequest {
    ApiRequest {
        method: Method::Post,
        path: "/oxen/v4/lsrpc".into(),
        query: String::new(),
        headers: Headers::new(),
        body,
        reply_budget: usize::MAX,
    }
}

/// The status of each sub-request in the warm-up reply, opened with the server key (the
/// client's key is not kept; both sides derive the same one).
fn inner_codes(server: &ServerKey, warm: &Prepared, enc: EncType, sealed: &[u8]) -> String {
    let Ok(key) = OnionKey::for_server(server, &warm.ephemeral_key, enc) else {
        return "?".into();
    };
    let Ok(plain) = key.open(sealed) else {
        return "?".into();
    };
    let Ok(reply) = sogs::crypto::onion_v4::V4Response::decode(&plain) else {
        return "?".into();
    };
    let list: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    list.as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| i["code"].to_string())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| format!("batch answered {}", reply.code))
}
