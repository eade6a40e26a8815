//! A staged probe of a SOGS server's onion endpoint through the real path machinery: node
//! list, guards and paths, each hop directly, then a v4 `GET /capabilities` through the
//! three hops. Used by `sogs-admin probe` and by the periodic self-probe.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use super::builder::ServerTarget;
use super::client::OnionClient;
use super::node::ServiceNode;
use crate::client::BuiltRequest;

/// One step of the probe.
#[derive(Debug, Clone)]
pub struct Stage {
    pub name: String,
    pub ok: bool,
    pub elapsed: Duration,
    pub detail: String,
}

/// What the probe found; stages after the first failure are not run.
#[derive(Debug, Clone, Default)]
pub struct ProbeReport {
    pub stages: Vec<Stage>,
    pub path: Vec<ServiceNode>,
    /// The onion round trip alone, when it succeeded.
    pub round_trip: Option<Duration>,
}

impl ProbeReport {
    pub fn ok(&self) -> bool {
        !self.stages.is_empty() && self.stages.iter().all(|s| s.ok)
    }

    /// One line per stage, for the operator.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for s in &self.stages {
            let _ = writeln!(
                out,
                "{:<4} {:<22} {:>9.1} ms  {}",
                if s.ok { "ok" } else { "FAIL" },
                s.name,
                s.elapsed.as_secs_f64() * 1000.0,
                s.detail
            );
        }
        out
    }

    fn push(&mut self, name: &str, started: Instant, result: Result<String, String>) -> bool {
        let ok = result.is_ok();
        tracing::debug!(stage = name, ok, elapsed = ?started.elapsed(), "probe stage");
        self.stages.push(Stage {
            name: name.to_string(),
            ok,
            elapsed: started.elapsed(),
            detail: result.unwrap_or_else(|e| e),
        });
        ok
    }
}

/// Probes `server` through `client`.
pub async fn run(client: &OnionClient, server: &ServerTarget) -> ProbeReport {
    let mut report = ProbeReport::default();
    let started = Instant::now();
    let nodes = client
        .ensure_nodes()
        .await
        .map(|source| format!("{} service nodes ({source:?})", client.directory().len()));
    if !report.push("node list", started, nodes.map_err(|e| e.to_string())) {
        return report;
    }
    let started = Instant::now();
    let paths = client.ensure_paths().await;
    let path = match paths {
        Ok(paths) => {
            let Some(path) = paths.into_iter().next() else {
                report.push("paths", started, Err("no path".into()));
                return report;
            };
            report.push("paths", started, Ok(format!("{:?}", path.nodes)));
            path
        }
        Err(e) => {
            report.push("paths", started, Err(e.to_string()));
            return report;
        }
    };
    report.path = path.nodes.clone();
    for (i, node) in path.nodes.iter().enumerate() {
        let started = Instant::now();
        let reached = client
            .test_node(node)
            .await
            .map(|_| format!("{node:?}"))
            .map_err(|e| e.to_string());
        if !report.push(&format!("hop {} reachable", i + 1), started, reached) {
            return report;
        }
    }
    let started = Instant::now();
    let req = BuiltRequest {
        method: "GET".into(),
        target: "/capabilities".into(),
        headers: Vec::new(),
        body: Vec::new(),
    };
    let answer = match client.send_v4_on(&path, server, &req).await {
        Ok(res) if res.status == 200 => Ok(format!(
            "{} hops to {}:{}{}: HTTP 200 {}",
            path.nodes.len(),
            server.host,
            server.port,
            server.target,
            String::from_utf8_lossy(&res.body)
        )),
        Ok(res) => Err(format!("the server answered HTTP {}", res.status)),
        Err(e) => Err(e.to_string()),
    };
    if report.push("onion round trip", started, answer) {
        report.round_trip = report.stages.last().map(|s| s.elapsed);
    }
    report
}
