//! Sending requests that were built, signed and sealed beforehand, in the two ways a load
//! test can: a **closed loop** (C requests in flight, the next one sent when one returns: what
//! a server sustains at most) and an **open loop** (requests sent at fixed times, at a given
//! arrival rate, whatever the server does: what users see at a given load).
//!
//! A closed loop hides queueing: when the server stalls, the generator stops sending, so the
//! requests that would have waited are never timed (coordinated omission). The open loop
//! times each request from the moment it was *due*, as wrk2 does, so a stall shows in the
//! latency of everything that was due during it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use sogs::client::{BuiltRequest, SogsClient};
use sogs::crypto::{EncType, OnionKey};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::stats::Tally;

/// How requests travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Onion(EncType),
    Plain,
}

impl Transport {
    /// A short name for tables and file names.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Plain => "plain HTTP",
            Transport::Onion(EncType::Aes256Gcm) => "onion AES-GCM",
            Transport::Onion(EncType::XChaCha20Poly1305) => "onion XChaCha20",
        }
    }
}

/// What counts as a correct answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A `/batch` answered 200 whose every sub-request answered below 400.
    Batch,
    /// Any 2xx.
    Success,
}

/// One request ready to go: where, what, the key to open an onion reply, and what a correct
/// answer is.
pub struct Prepared {
    pub target: usize,
    pub request: BuiltRequest,
    pub onion: Option<(Vec<u8>, OnionKey)>,
    pub expect: Expect,
}

impl Prepared {
    /// Seals `request` of `user` for `transport`.
    pub fn new(
        user: &SogsClient,
        request: BuiltRequest,
        transport: Transport,
        target: usize,
        expect: Expect,
    ) -> anyhow::Result<Self> {
        let onion = match transport {
            Transport::Onion(enc) => Some(user.onion_v4_body(&request, enc)?),
            Transport::Plain => None,
        };
        Ok(Self {
            target,
            request,
            onion,
            expect,
        })
    }
}

/// Builds `n` requests with `build(i)` on every core: signing and sealing cost more than
/// sending, and are not what is measured.
pub fn prepare_parallel<F>(n: usize, build: F) -> anyhow::Result<Vec<Prepared>>
where
    F: Fn(usize) -> anyhow::Result<Prepared> + Sync,
{
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = n.div_ceil(threads).max(1);
    let build = &build;
    let parts: Vec<anyhow::Result<Vec<Prepared>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| scope.spawn(move || (start..(start + chunk).min(n)).map(build).collect()))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a builder thread died")))
            })
            .collect()
    });
    let mut all = Vec::with_capacity(n);
    for part in parts {
        all.extend(part?);
    }
    Ok(all)
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Run {
    pub tally: Tally,
    /// From the first send to the last answer.
    pub elapsed: Duration,
}

impl Run {
    /// Correct answers per second.
    pub fn throughput(&self) -> f64 {
        self.tally.count() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Sends the requests with `concurrency` in flight until they run out or `limit` has
/// passed (then the requests in flight finish and the rest are not sent).
pub async fn closed_loop(
    http: &reqwest::Client,
    targets: &[String],
    prepared: Arc<Vec<Prepared>>,
    concurrency: usize,
    limit: Option<Duration>,
) -> Run {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (http, prepared, next) = (http.clone(), prepared.clone(), next.clone());
            let targets = targets.to_vec();
            tokio::spawn(async move {
                let mut tally = Tally::default();
                loop {
                    if limit.is_some_and(|l| started.elapsed() >= l) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = prepared.get(i) else { break };
                    let sent = Instant::now();
                    match send(&http, &targets[p.target], p).await {
                        Ok(()) => tally.ok(sent.elapsed()),
                        Err(kind) => tally.error(kind),
                    }
                }
                tally
            })
        })
        .collect();
    let mut tally = Tally::default();
    for worker in workers {
        match worker.await {
            Ok(t) => tally.merge(t),
            Err(_) => tally.error("worker panicked"),
        }
    }
    Run {
        tally,
        elapsed: started.elapsed(),
    }
}

/// Most requests the open loop keeps in flight: past it, the generator waits (and the wait
/// still counts in the latency of the requests that were due).
const OPEN_LOOP_MAX_IN_FLIGHT: usize = 4096;

/// Sends request `i` at `i / rate` seconds after the start, whatever happened to the
/// others, and times each from when it was due (coordinated-omission-free, as wrk2).
pub async fn open_loop(
    http: &reqwest::Client,
    targets: &[String],
    prepared: Arc<Vec<Prepared>>,
    rate: f64,
) -> Run {
    let rate = rate.max(1e-3);
    let slots = Arc::new(Semaphore::new(OPEN_LOOP_MAX_IN_FLIGHT));
    let targets: Arc<Vec<String>> = Arc::new(targets.to_vec());
    let mut tally = Tally::default();
    let mut running: JoinSet<Result<Duration, String>> = JoinSet::new();
    let started = Instant::now();
    for i in 0..prepared.len() {
        let due = started + Duration::from_secs_f64(i as f64 / rate);
        if due > Instant::now() {
            tokio::time::sleep_until(due.into()).await;
        }
        let Ok(slot) = slots.clone().acquire_owned().await else {
            tally.error("generator stopped");
            break;
        };
        let (http, prepared, targets) = (http.clone(), prepared.clone(), targets.clone());
        running.spawn(async move {
            let p = &prepared[i];
            let outcome = send(&http, &targets[p.target], p).await;
            drop(slot);
            outcome.map(|()| due.elapsed())
        });
        while let Some(done) = running.try_join_next() {
            record(&mut tally, done);
        }
    }
    while let Some(done) = running.join_next().await {
        record(&mut tally, done);
    }
    Run {
        tally,
        elapsed: started.elapsed(),
    }
}

fn record(tally: &mut Tally, done: Result<Result<Duration, String>, tokio::task::JoinError>) {
    match done {
        Ok(Ok(latency)) => tally.ok(latency),
        Ok(Err(kind)) => tally.error(kind),
        Err(_) => tally.error("request task panicked"),
    }
}

/// Sends one request and checks the answer the way a client would.
pub async fn send(http: &reqwest::Client, base: &str, p: &Prepared) -> Result<(), String> {
    let failed = |e: reqwest::Error| {
        if e.is_timeout() {
            "timeout".to_string()
        } else {
            "connection".to_string()
        }
    };
    let (status, body) = match &p.onion {
        Some((body, key)) => {
            let res = http
                .post(format!("{base}/oxen/v4/lsrpc"))
                .body(body.clone())
                .send()
                .await
                .map_err(failed)?;
            if !res.status().is_success() {
                return Err(format!("onion status {}", res.status().as_u16()));
            }
            let sealed = res.bytes().await.map_err(|_| "body".to_string())?;
            let inner = SogsClient::open_v4_reply(key, &sealed)
                .map_err(|_| "onion reply undecryptable".to_string())?;
            (inner.status, inner.body)
        }
        None => {
            let method = reqwest::Method::from_bytes(p.request.method.as_bytes())
                .map_err(|_| "bad method".to_string())?;
            let mut req = http
                .request(method, format!("{base}{}", p.request.target))
                .body(p.request.body.clone());
            for (name, value) in &p.request.headers {
                req = req.header(name, value);
            }
            let res = req.send().await.map_err(failed)?;
            let status = res.status().as_u16();
            (
                status,
                res.bytes().await.map_err(|_| "body".to_string())?.to_vec(),
            )
        }
    };
    match p.expect {
        Expect::Success if (200..300).contains(&status) => Ok(()),
        Expect::Success => Err(format!("{} status {status}", p.request.method)),
        Expect::Batch => check_batch(status, &body),
    }
}

/// A batch is answered when it and every one of its sub-requests succeeded.
fn check_batch(status: u16, body: &[u8]) -> Result<(), String> {
    if status != 200 {
        return Err(format!("batch status {status}"));
    }
    let subs: Value = serde_json::from_slice(body).map_err(|_| "batch not JSON".to_string())?;
    let Some(subs) = subs.as_array() else {
        return Err("batch not a list".into());
    };
    for sub in subs {
        match sub["code"].as_u64() {
            Some(code) if code < 400 => {}
            Some(code) => return Err(format!("sub-request status {code}")),
            None => return Err("sub-request without code".into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_answered_only_when_every_sub_request_is() {
        assert_eq!(check_batch(200, br#"[{"code":200},{"code":304}]"#), Ok(()));
        assert_eq!(
            check_batch(200, br#"[{"code":200},{"code":404}]"#),
            Err("sub-request status 404".into())
        );
        assert_eq!(check_batch(500, b"[]"), Err("batch status 500".into()));
        assert_eq!(check_batch(200, b"{}"), Err("batch not a list".into()));
        assert_eq!(
            check_batch(200, b"[{}]"),
            Err("sub-request without code".into())
        );
    }
}
