//! What one onion v4 empty poll costs the server, split into
//!
//! * X25519: the key exchange with the client's ephemeral key, with the key derivation;
//! * AEAD: opening the request and sealing the (padded) reply;
//! * signature: parsing and verifying the inner request's `X-SOGS-*` headers;
//! * the rest: frame and bencode parsing, dispatch, the batch and its handlers, the user
//!   lookup and replay check, reply encoding and padding.
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
    let client =
        SogsClient::new("http://bench.invalid", state.key.public_key()).with_random_user();
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
        bail!("the warm-up onion request failed: {}", served.response.status);
    }
    let reply_len = served.response.body_bytes().len();
    let codes = inner_codes(&state.key, &warm, enc, &served.response.body_bytes());
    println!(
        "\n[{}] reply {reply_len} bytes (padded); sub-request codes: {codes}",
        enc.name()
    );

    // Full: everything the server does for one poll, minus HTTP.
    let bodies: Vec<Vec<u8>> = prepared.iter_mut().map(|p| std::mem::take(&mut p.body)).collect();
    let started = Instant::now();
    for body in bodies {
        let served = dispatch::serve(state, onion_request(body)).await;
        if served.response.status != 200 {
            bail!("onion request failed: {}", served.response.status);
        }
    }
    let full = per_iteration(started.elapsed(), iterations);

    // X25519 and key derivation.
    let started = Instant::now();
    let mut keys = Vec::with_capacity(iterations);
    for p in &prepared {
        keys.push(OnionKey::for_server(&state.key, &p.ephemeral_key, enc)?);
    }
    let x25519 = per_iteration(started.elapsed(), iterations);

    // AEAD: open the request, seal a reply of the size the server sent.
    let reply_plain = vec![0u8; reply_len.saturating_sub(enc.overhead())];
    let started = Instant::now();
    for (p, key) in prepared.iter().zip(&keys) {
        let opened = key.open(&p.ciphertext)?;
        std::hint::black_box(opened);
        std::hint::black_box(key.seal(&reply_plain));
    }
    let aead = per_iteration(started.elapsed(), iterations);

    // Signature: parse the four headers (blinded key checks included) and verify.
    let auth_policy = policy(state);
    let server_pk = state.key.public_key();
    let now = Clock::system().now();
    let started = Instant::now();
    for p in &prepared {
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
    }
    let signature = per_iteration(started.elapsed(), iterations);

    let parts = x25519 + aead + signature;
    let rest = full.saturating_sub(parts);
    let pct = |d: Duration| 100.0 * d.as_secs_f64() / full.as_secs_f64();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!("  full poll         {:8.1} µs  100.0%", us(full));
    println!("  X25519 + KDF      {:8.1} µs  {:5.1}%", us(x25519), pct(x25519));
    println!("  AEAD open + seal  {:8.1} µs  {:5.1}%", us(aead), pct(aead));
    println!("  signature check   {:8.1} µs  {:5.1}%", us(signature), pct(signature));
    println!("  rest              {:8.1} µs  {:5.1}%", us(rest), pct(rest));
    println!(
        "  => {:.0} polls/s on one core; crypto bound {:.0}/s; full at {:.0}% of it",
        1.0 / full.as_secs_f64(),
        1.0 / parts.as_secs_f64(),
        100.0 * parts.as_secs_f64() / full.as_secs_f64()
    );
    Ok(())
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
    })
}

fn onion_request(body: Vec<u8>) -> ApiRequest {
    ApiRequest {
        method: Method::Post,
        path: "/oxen/v4/lsrpc".into(),
        query: String::new(),
        headers: Headers::new(),
        body,
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

fn per_iteration(total: Duration, iterations: usize) -> Duration {
    total / u32::try_from(iterations.max(1)).unwrap_or(u32::MAX)
}
