//! Webhook delivery: sends the outbox (`store::webhooks`) to the endpoints.
//!
//! Every instance runs the loop; each pass first takes the `webhooks` lease
//! (`cluster::lock`), so with Redis one instance sends per pass, and without it the single
//! instance does. Correctness does not rest on the lease: before each try the sender
//! claims the endpoint in the database (`webhooks.busy_until`), so two instances never
//! send to one endpoint at once and each endpoint's events leave in order.
//!
//! Per endpoint, a pass sends pending events oldest first until the queue is empty, the
//! batch is done, or a try fails: a failed event waits (exponential backoff) and the
//! events after it wait behind it, until it succeeds or becomes a dead letter after
//! `[webhooks] max_attempts` tries. Endpoints are served concurrently, so one slow
//! receiver delays only its own queue; requests never wait for any of this (the change's
//! transaction only wrote a row).

pub mod send;

use std::time::Instant;

use futures::future::join_all;
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, DAY};
use crate::cluster::{Cluster, Lead};
use crate::config::WebhooksConfig;
use crate::domain::webhook::{AfterFailure, after_failure};
use crate::metrics::Metrics;
use crate::store::webhooks::{TryOutcome, Webhook};
use crate::store::{Store, StoreError};
pub use send::{SendError, Sender};

/// Extra time an endpoint's claim lasts beyond the try's own timeout.
const CLAIM_MARGIN_SECS: f64 = 5.0;

/// What the delivery loop works with.
#[derive(Clone)]
pub struct Delivery {
    pub store: Store,
    pub cluster: Cluster,
    pub clock: Clock,
    pub config: WebhooksConfig,
    pub metrics: Option<Metrics>,
    pub sender: Sender,
}

/// What one pass did, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    pub delivered: u64,
    pub failed: u64,
    pub dead: u64,
}

impl PassReport {
    fn add(&mut self, other: PassReport) {
        self.delivered += other.delivered;
        self.failed += other.failed;
        self.dead += other.dead;
    }
}

impl Delivery {
    /// The loop: a pass every `[webhooks] interval_secs` until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let interval = WebhooksConfig::duration(self.config.interval_secs);
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Held a little under the interval, like the cleanup's lease.
        let lease = interval.mul_f64(0.95);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.cancelled() => return,
            }
            let outcome = match self.cluster.lead("webhooks", lease).await {
                Lead::Skip => "skipped",
                Lead::Run => {
                    // A pass in progress finishes its current tries on shutdown only if
                    // they end within their timeout; an interrupted try is simply sent
                    // again later (at least once).
                    let pass = tokio::select! {
                        r = self.pass() => Some(r),
                        _ = shutdown.cancelled() => None,
                    };
                    match pass {
                        None => return,
                        Some(Ok(_)) => "ok",
                        Some(Err(e)) => {
                            tracing::warn!(error = %e, "webhook delivery pass failed; will retry");
                            "error"
                        }
                    }
                }
            };
            if let Some(metrics) = &self.metrics {
                metrics.observe_background_run("webhooks", outcome);
            }
        }
    }

    /// One pass over every endpoint with pending events.
    pub async fn pass(&self) -> Result<PassReport, StoreError> {
        let hooks = self.store.webhooks_with_pending().await?;
        let results = join_all(hooks.iter().map(|hook| self.serve(hook))).await;
        let mut report = PassReport::default();
        for result in results {
            report.add(result?);
        }
        if let Some(metrics) = &self.metrics {
            metrics.set_webhook_queue_depths(&self.store.webhook_queue_depths().await?);
        }
        Ok(report)
    }

    /// Sends one endpoint's due events in order, within the batch.
    async fn serve(&self, hook: &Webhook) -> Result<PassReport, StoreError> {
        let mut report = PassReport::default();
        for _ in 0..self.config.batch {
            let now = self.clock.now();
            let until = now + self.config.timeout_secs + CLAIM_MARGIN_SECS;
            if !self.store.claim_webhook(hook.id, now, until).await? {
                // Another instance is sending to it; it will carry on.
                break;
            }
            let step = self.try_next(hook, now).await;
            self.store.release_webhook(hook.id).await?;
            match step? {
                Step::Idle => break,
                Step::Sent(outcome) => {
                    report.add(outcome);
                    if outcome.failed > 0 {
                        break;
                    }
                }
            }
        }
        Ok(report)
    }

    /// Sends the endpoint's oldest pending event if it is due.
    async fn try_next(&self, hook: &Webhook, now: f64) -> Result<Step, StoreError> {
        let Some(delivery) = self.store.next_delivery(hook.id).await? else {
            return Ok(Step::Idle);
        };
        if delivery.next_attempt > now {
            return Ok(Step::Idle);
        }
        let body = send::delivery_envelope(&delivery);
        let started = Instant::now();
        let sent = self
            .sender
            .send(
                &hook.url,
                &hook.secret,
                &delivery.event_type,
                &delivery.event_id,
                unix_seconds(now),
                body,
            )
            .await;
        let finished = now + started.elapsed().as_secs_f64();
        let mut report = PassReport::default();
        let error_text = sent.as_ref().err().map(ToString::to_string);
        let outcome = match (&sent, &error_text) {
            (Ok(status), _) => {
                report.delivered = 1;
                TryOutcome::Delivered { status: *status }
            }
            (Err(e), text) => {
                let attempts = u32::try_from(delivery.attempts + 1).unwrap_or(u32::MAX);
                let c = &self.config;
                let retry_at = match after_failure(
                    attempts,
                    c.max_attempts,
                    finished,
                    c.backoff_base_secs,
                    c.backoff_max_secs,
                ) {
                    AfterFailure::RetryAt(at) => Some(at),
                    AfterFailure::Dead => None,
                };
                tracing::info!(
                    webhook = hook.id,
                    event = %delivery.event_id,
                    attempts,
                    error = %e,
                    dead = retry_at.is_none(),
                    "webhook delivery failed"
                );
                if retry_at.is_some() {
                    report.failed = 1;
                } else {
                    report.dead = 1;
                }
                TryOutcome::Failed {
                    status: e.status(),
                    error: text.as_deref().unwrap_or_default(),
                    retry_at,
                }
            }
        };
        self.store
            .record_delivery_try(delivery.id, finished, &outcome)
            .await?;
        if let Some(metrics) = &self.metrics {
            let label = if report.delivered > 0 {
                "delivered"
            } else if report.dead > 0 {
                "dead"
            } else {
                "failed"
            };
            let latency = sent.is_ok().then_some(finished - delivery.at);
            metrics.observe_webhook_try(hook.id, label, latency);
        }
        Ok(Step::Sent(report))
    }
}

enum Step {
    /// Nothing due.
    Idle,
    Sent(PassReport),
}

fn unix_seconds(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        // Truncation to whole seconds is the header's format.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let secs = now as u64;
        secs
    } else {
        0
    }
}

/// Deliveries older than `[webhooks] keep_delivered_days` are forgotten by the cleanup.
pub fn delivered_cutoff(config: &WebhooksConfig, now: f64) -> f64 {
    now - config.keep_delivered_days * DAY
}
