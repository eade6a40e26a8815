//! Background work of the service-node client: the node-list refresh, the self-probe and
//! the report of who sends onion requests.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::builder::ServerTarget;
use crate::api::AppState;

/// How often the busiest non-service-node senders of onion requests are logged.
pub const ORIGIN_REPORT_INTERVAL: Duration = Duration::from_secs(60);

/// Starts the tasks `[snode]` asks for.
pub fn spawn(state: &AppState, shutdown: &CancellationToken) -> Vec<JoinHandle<()>> {
    let mut tasks = vec![tokio::spawn(origin_report(state.clone(), shutdown.clone()))];
    let config = &state.config.snode;
    if config.enabled {
        tasks.push(tokio::spawn(refresh_loop(state.clone(), shutdown.clone())));
        if config.probe_interval_secs > 0 {
            tasks.push(tokio::spawn(probe_loop(state.clone(), shutdown.clone())));
        }
    }
    tasks
}

/// Learns the node list now, then every `refresh_interval_secs`. While no list is known at
/// all, failures are retried sooner: after twice the request timeout, doubling up to the
/// refresh interval. The server keeps serving whatever happens here.
async fn refresh_loop(state: AppState, shutdown: CancellationToken) {
    let config = &state.config.snode;
    let period = Duration::from_secs(config.refresh_interval_secs);
    let first_retry = Duration::from_secs_f64(config.request_timeout_secs * 2.0).min(period);
    let mut retry = first_retry;
    loop {
        let wait = match state.snode.refresh_nodes(state.clock.now()).await {
            Ok(source) => {
                tracing::info!(
                    nodes = state.snode.directory().len(),
                    ?source,
                    "service-node list ready"
                );
                retry = first_retry;
                period
            }
            Err(e) => {
                tracing::error!(
                    error = %e,
                    retry_secs = retry.as_secs_f64(),
                    "no service-node list: onion paths, probes and onion_only cannot work until a seed answers; the server keeps serving"
                );
                let wait = retry;
                retry = (retry * 2).min(period);
                wait
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// The URL the last hop reaches this server at.
pub fn probe_target(state: &AppState) -> Result<ServerTarget, super::SnodeError> {
    let url = match state.config.snode.probe_url.as_str() {
        "" => state.config.server.base_url.as_str(),
        url => url,
    };
    ServerTarget::from_url(url, state.key.public_key())
}

async fn probe_loop(state: AppState, shutdown: CancellationToken) {
    let period = Duration::from_secs(state.config.snode.probe_interval_secs);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        let report = match probe_target(&state) {
            Ok(target) => super::probe::run(&state.snode, &target).await,
            Err(e) => {
                tracing::warn!(error = %e, "cannot probe");
                state.metrics.observe_probe(false, None);
                continue;
            }
        };
        state.metrics.observe_probe(report.ok(), report.round_trip);
        if report.ok() {
            tracing::debug!(report = %report.render(), "self-probe succeeded");
        } else {
            tracing::warn!(report = %report.render(), "self-probe failed");
        }
    }
}

async fn origin_report(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(ORIGIN_REPORT_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        let (top, untracked) = state.onion_origins.take_top(5);
        if !top.is_empty() {
            let top: Vec<String> = top.iter().map(|(ip, n)| format!("{ip}={n}")).collect();
            tracing::info!(
                top = %top.join(" "),
                untracked,
                "onion requests from addresses outside the service-node list"
            );
        }
    }
}
