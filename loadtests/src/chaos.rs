//! One fault under write load, measured: writers post through every instance (as behind a
//! load balancer that drops an instance for a second after it fails to connect), readers
//! poll, and a replayer sends acknowledged posts again to other instances; a shell command
//! injects the fault after `before`, another ends it after `during`, and the run goes on for
//! `after`. Then every message of the run is read back to count what was lost or stored
//! twice. `loadtests/chaos.sh` runs the whole series of faults.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sogs::client::{BuiltRequest, SogsClient};
use sogs::crypto::ServerPublicKey;

use crate::stats::Tally;

#[derive(Debug, Clone)]
pub struct ChaosOptions {
    pub fault: String,
    pub targets: Vec<String>,
    pub server_pk: ServerPublicKey,
    pub room: String,
    pub writers: usize,
    pub readers: usize,
    pub before: Duration,
    pub during: Duration,
    pub after: Duration,
    /// `sh -c` commands that start and end the fault.
    pub inject: String,
    pub recover: String,
}

/// When a request started, relative to the fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Before,
    During,
    After,
}

/// One request's outcome.
#[derive(Debug, Clone)]
struct Sample {
    started: Instant,
    latency: Duration,
    /// HTTP status, or 0 for a transport error.
    status: u16,
}

/// Shared between the load tasks and the driver.
#[derive(Default)]
struct Log {
    writes: Vec<Sample>,
    reads: Vec<Sample>,
    /// Acknowledged posts: id, data (base64) and the signed request, for replays.
    acked: Vec<(i64, String, BuiltRequest, usize)>,
    replays: BTreeMap<u16, u64>,
}

/// The moments that divide the run.
#[derive(Debug, Clone, Copy)]
struct Marks {
    injected: Instant,
    recovered: Instant,
}

impl Marks {
    fn phase(&self, at: Instant) -> Phase {
        if at < self.injected {
            Phase::Before
        } else if at < self.recovered {
            Phase::During
        } else {
            Phase::After
        }
    }
}

/// Instances a load balancer would send to now: those that did not refuse a connection in
/// the last second.
struct Balancer {
    clients: Vec<SogsClient>,
    down_until: Mutex<Vec<Option<Instant>>>,
    next: std::sync::atomic::AtomicUsize,
}

impl Balancer {
    fn pick(&self) -> usize {
        let n = self.clients.len();
        let start = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let now = Instant::now();
        let down = self
            .down_until
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default();
        (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| down.get(i).copied().flatten().is_none_or(|t| t <= now))
            .unwrap_or(start % n)
    }

    fn failed(&self, i: usize) {
        if let Ok(mut d) = self.down_until.lock()
            && let Some(slot) = d.get_mut(i)
        {
            *slot = Some(Instant::now() + Duration::from_secs(1));
        }
    }
}

pub async fn run(options: &ChaosOptions) -> anyhow::Result<String> {
    if options.targets.is_empty() {
        bail!("no instance to send to");
    }
    let balancer = Arc::new(Balancer {
        clients: options
            .targets
            .iter()
            .map(|t| SogsClient::new(t, options.server_pk))
            .collect(),
        down_until: Mutex::new(vec![None; options.targets.len()]),
        next: Default::default(),
    });
    let log = Arc::new(Mutex::new(Log::default()));
    let run_id: u32 = rand::random();
    let stop = Instant::now() + options.before + options.during + options.after + SLACK;
    let mut tasks = Vec::new();
    for w in 0..options.writers {
        let (balancer, log, room) = (balancer.clone(), log.clone(), options.room.clone());
        let tag = format!("chaos {run_id} {} w{w}", options.fault);
        tasks.push(tokio::spawn(writer(balancer, log, room, tag, stop)));
    }
    for _ in 0..options.readers {
        let (balancer, log, room) = (balancer.clone(), log.clone(), options.room.clone());
        tasks.push(tokio::spawn(reader(balancer, log, room, stop)));
    }

    tokio::time::sleep(options.before).await;
    let injected = Instant::now();
    shell(&options.inject).await?;
    tokio::time::sleep(options.during.saturating_sub(injected.elapsed())).await;
    // Replays while the fault lasts, of posts acknowledged before it.
    replay(&balancer, &log, 20).await;
    let recovering = Instant::now();
    shell(&options.recover).await?;
    let recovered = Instant::now();
    tokio::time::sleep(options.after / 2).await;
    // And after it, of every post acknowledged so far (a sample).
    replay(&balancer, &log, 40).await;
    for task in tasks {
        let _ = task.await;
    }
    let marks = Marks {
        injected,
        recovered: recovering,
    };

    let stored = read_back(&balancer.clients[0], &options.room, run_id).await?;
    let log = log
        .lock()
        .map_err(|_| anyhow::anyhow!("load task panicked"))?;
    let mut by_data: HashMap<&str, u64> = HashMap::new();
    for data in stored.values() {
        *by_data.entry(data.as_str()).or_default() += 1;
    }
    let lost = log
        .acked
        .iter()
        .filter(|(id, ..)| !stored.contains_key(id))
        .count();
    let duplicated: u64 = by_data.values().map(|&n| n.saturating_sub(1)).sum();
    let replays_sent: u64 = log.replays.values().sum();
    let replays_accepted: u64 = log
        .replays
        .iter()
        .filter(|(s, _)| (200..300).contains(*s))
        .map(|(_, n)| n)
        .sum();

    let phase_stats = |samples: &[Sample], phase: Phase| {
        let mut tally = Tally::default();
        let mut ok = 0u64;
        for s in samples.iter().filter(|s| marks.phase(s.started) == phase) {
            if (200..300).contains(&s.status) {
                tally.ok(s.latency);
                ok += 1;
            }
        }
        let ms = |d: Option<Duration>| {
            d.map_or("-".to_string(), |d| format!("{:.1}", d.as_secs_f64() * 1e3))
        };
        let p50 = ms(tally.percentile(0.5));
        let p99 = ms(tally.percentile(0.99));
        (format!("{p50}/{p99}"), ok)
    };
    let secs = |phase: Phase| match phase {
        Phase::Before => options.before.as_secs_f64(),
        Phase::During => recovering.duration_since(injected).as_secs_f64(),
        Phase::After => stop
            .saturating_duration_since(recovered)
            .as_secs_f64()
            .max(0.001),
    };
    let mut write_cells = Vec::new();
    let mut read_cells = Vec::new();
    let mut rates = Vec::new();
    for phase in [Phase::Before, Phase::During, Phase::After] {
        let (w, ok) = phase_stats(&log.writes, phase);
        write_cells.push(w);
        rates.push(format!("{:.0}", ok as f64 / secs(phase)));
        read_cells.push(phase_stats(&log.reads, phase).0);
    }
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    for s in log.writes.iter().chain(&log.reads) {
        *statuses.entry(s.status).or_default() += 1;
    }
    let statuses = statuses
        .iter()
        .map(|(s, n)| {
            if *s == 0 {
                format!("conn-err×{n}")
            } else {
                format!("{s}×{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let recovery = recovery_time(&log.writes, recovered);
    Ok(format!(
        "| {} | {} | {lost} | {duplicated} | {replays_accepted}/{replays_sent} | {statuses} | {} | {} | {} | {} |",
        options.fault,
        log.acked.len(),
        write_cells.join(" → "),
        read_cells.join(" → "),
        rates.join(" → "),
        recovery.map_or("not within the run".into(), |d| format!(
            "{:.1} s",
            d.as_secs_f64()
        )),
    ))
}

/// Extra time after the last phase for requests in flight to finish.
const SLACK: Duration = Duration::from_millis(500);

/// From the end of the fault to the start of the first second in which every write
/// succeeded.
fn recovery_time(writes: &[Sample], recovered: Instant) -> Option<Duration> {
    let mut after: Vec<&Sample> = writes.iter().filter(|s| s.started >= recovered).collect();
    after.sort_by_key(|s| s.started);
    let last = after.last()?.started;
    let mut start = recovered;
    while start + Duration::from_secs(1) <= last {
        let window = after
            .iter()
            .filter(|s| s.started >= start && s.started < start + Duration::from_secs(1));
        let mut any = false;
        let mut clean = true;
        for s in window {
            any = true;
            clean &= (200..300).contains(&s.status);
        }
        if any && clean {
            return Some(start.duration_since(recovered));
        }
        start += Duration::from_millis(100);
    }
    None
}

async fn shell(command: &str) -> anyhow::Result<()> {
    let status = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .status()
        .await
        .with_context(|| format!("running {command}"))?;
    if !status.success() {
        bail!("`{command}` failed: {status}");
    }
    Ok(())
}

async fn writer(
    balancer: Arc<Balancer>,
    log: Arc<Mutex<Log>>,
    room: String,
    tag: String,
    stop: Instant,
) {
    let user =
        SogsClient::new("http://unused", *balancer.clients[0].server_pk()).with_random_user();
    let path = format!("/room/{room}/message");
    let mut n = 0u64;
    while Instant::now() + SLACK < stop {
        n += 1;
        let data = format!("{tag} n{n}");
        let req = user.build_json("POST", &path, &user.message_json(data.as_bytes()));
        let i = balancer.pick();
        let started = Instant::now();
        let res = balancer.clients[i].send(&req).await;
        let latency = started.elapsed();
        let status = res.as_ref().map_or(0, |r| r.status);
        if res.is_err() {
            balancer.failed(i);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if let Ok(mut log) = log.lock() {
            log.writes.push(Sample {
                started,
                latency,
                status,
            });
            if let Ok(r) = &res
                && r.status == 201
                && let Some(id) = r.json()["id"].as_i64()
            {
                let b64 = user.message_json(data.as_bytes())["data"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                log.acked.push((id, b64, req, i));
            }
        }
    }
}

async fn reader(balancer: Arc<Balancer>, log: Arc<Mutex<Log>>, room: String, stop: Instant) {
    let user =
        SogsClient::new("http://unused", *balancer.clients[0].server_pk()).with_random_user();
    let mut seqno = 0i64;
    while Instant::now() + SLACK < stop {
        let req = user.build(
            "GET",
            &format!("/room/{room}/messages/since/{seqno}"),
            Vec::new(),
            None,
        );
        let i = balancer.pick();
        let started = Instant::now();
        let res = balancer.clients[i].send(&req).await;
        let latency = started.elapsed();
        let status = res.as_ref().map_or(0, |r| r.status);
        match &res {
            Ok(r) if r.status == 200 => {
                if let Some(last) = r.json().as_array().and_then(|m| m.last()) {
                    seqno = last["seqno"].as_i64().unwrap_or(seqno);
                }
            }
            Ok(_) => {}
            Err(_) => balancer.failed(i),
        }
        if let Ok(mut log) = log.lock() {
            log.reads.push(Sample {
                started,
                latency,
                status,
            });
        }
        // Session clients poll every few seconds; many of them make a steady stream.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends up to `count` acknowledged posts again, each to an instance other than the one
/// that accepted it, and tallies the answers.
async fn replay(balancer: &Balancer, log: &Mutex<Log>, count: usize) {
    let picked: Vec<(BuiltRequest, usize)> = log
        .lock()
        .map(|l| {
            let step = (l.acked.len() / count.max(1)).max(1);
            l.acked
                .iter()
                .step_by(step)
                .take(count)
                .map(|(_, _, req, i)| (req.clone(), *i))
                .collect()
        })
        .unwrap_or_default();
    let n = balancer.clients.len();
    // All at once: sent one by one, replays to an instance whose database is away (each
    // waiting out the pool's acquire timeout) held the fault's end back by a minute.
    let sends = picked.into_iter().map(|(req, origin)| async move {
        let target = (origin + 1) % n;
        let status = match balancer.clients[target].send(&req).await {
            Ok(r) => r.status,
            Err(_) => 0,
        };
        if let Ok(mut l) = log.lock() {
            *l.replays.entry(status).or_default() += 1;
        }
    });
    futures::future::join_all(sends).await;
}

/// Every message of this run in the room, by id (data as base64), read page by page.
async fn read_back(
    client: &SogsClient,
    room: &str,
    run_id: u32,
) -> anyhow::Result<BTreeMap<i64, String>> {
    let reader = client.clone().with_random_user();
    let marker = format!("chaos {run_id} ");
    let mut stored = BTreeMap::new();
    let mut seqno = 0i64;
    loop {
        let res = reader
            .get(&format!("/room/{room}/messages/since/{seqno}?limit=256"))
            .await?;
        if res.status != 200 {
            bail!("reading back answered {}: {}", res.status, res.text());
        }
        let page = res.json();
        let Some(messages) = page.as_array().filter(|m| !m.is_empty()) else {
            break;
        };
        for m in messages {
            seqno = seqno.max(m["seqno"].as_i64().unwrap_or(seqno));
            let data = m["data"].as_str().unwrap_or_default();
            let text = base64_text(data);
            if text.starts_with(&marker)
                && let Some(id) = m["id"].as_i64()
            {
                stored.insert(id, data.to_string());
            }
        }
    }
    Ok(stored)
}

/// The text a base64 `data` field holds (empty if it is not base64 text).
fn base64_text(data: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default()
}
