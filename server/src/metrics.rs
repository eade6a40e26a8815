//! Prometheus metrics, served on their own port so they never share the public listener.
//!
//! Labels are route templates (`/room/{token}`), never raw paths or user ids, so the number
//! of series stays bounded whatever clients send.

use std::time::Duration;

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The metrics of one server instance.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    onion_requests: IntCounterVec,
    pub build_info: IntGauge,
    auth_failures: IntCounterVec,
    posts: IntCounterVec,
    room_active_users: IntGaugeVec,
    background_runs: IntCounterVec,
    onion_origins: IntCounterVec,
    probe_success: IntGauge,
    probe_latency: Gauge,
    probes: IntCounterVec,
    moderation_actions: IntCounterVec,
    admission_outcomes: IntCounterVec,
    raid_lockdowns: IntCounterVec,
    reports: IntCounterVec,
    retention_deleted: IntCounterVec,
    limit_rejections: IntCounterVec,
    webhook_deliveries: IntCounterVec,
    webhook_latency: HistogramVec,
    webhook_queue: IntGaugeVec,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new("sogs_http_requests_total", "HTTP requests served"),
            &["method", "route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "sogs_http_request_duration_seconds",
                "Time to serve an HTTP request",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["method", "route"],
        )?;
        let onion_requests = IntCounterVec::new(
            Opts::new(
                "sogs_onion_requests_total",
                "Onion requests by protocol version, cipher and outcome",
            ),
            &["version", "cipher", "outcome"],
        )?;
        let build_info = IntGauge::with_opts(
            Opts::new("sogs_build_info", "Always 1; labelled with the version")
                .const_label("version", env!("CARGO_PKG_VERSION")),
        )?;
        build_info.set(1);
        let auth_failures = IntCounterVec::new(
            Opts::new(
                "sogs_auth_failures_total",
                "Requests refused by authentication, by reason",
            ),
            &["reason"],
        )?;
        let posts = IntCounterVec::new(
            Opts::new(
                "sogs_posts_total",
                "Messages accepted: room posts and direct messages",
            ),
            &["kind"],
        )?;
        let room_active_users = IntGaugeVec::new(
            Opts::new(
                "sogs_room_active_users",
                "Users active in each room within rooms.active_threshold_days",
            ),
            &["room"],
        )?;
        let background_runs = IntCounterVec::new(
            Opts::new(
                "sogs_background_task_runs_total",
                "Background task runs by task and outcome (ok, error, skipped: another instance held the lease)",
            ),
            &["task", "outcome"],
        )?;
        registry.register(Box::new(auth_failures.clone()))?;
        registry.register(Box::new(posts.clone()))?;
        registry.register(Box::new(room_active_users.clone()))?;
        registry.register(Box::new(background_runs.clone()))?;
        let onion_origins = IntCounterVec::new(
            Opts::new(
                "sogs_onion_requests_by_origin_total",
                "Onion requests by sender: service_node (an address in the service-node list), other, or unknown (no list known)",
            ),
            &["origin"],
        )?;
        let probe_success = IntGauge::new(
            "sogs_onion_probe_success",
            "1 if the last self-probe through a 3-hop onion path succeeded, else 0",
        )?;
        let probe_latency = Gauge::new(
            "sogs_onion_probe_latency_seconds",
            "Round trip of the last successful self-probe through 3 hops",
        )?;
        let probes = IntCounterVec::new(
            Opts::new("sogs_onion_probes_total", "Self-probes by outcome"),
            &["outcome"],
        )?;
        registry.register(Box::new(onion_origins.clone()))?;
        registry.register(Box::new(probe_success.clone()))?;
        registry.register(Box::new(probe_latency.clone()))?;
        registry.register(Box::new(probes.clone()))?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(onion_requests.clone()))?;
        registry.register(Box::new(build_info.clone()))?;
        let moderation_actions = IntCounterVec::new(
            Opts::new(
                "sogs_moderation_actions_total",
                "Moderation actions taken through this server, by action and door (api, command, automatic)",
            ),
            &["action", "door"],
        )?;
        let admission_outcomes = IntCounterVec::new(
            Opts::new(
                "sogs_admission_outcomes_total",
                "Posts, uploads and reactions refused, hidden or flagged, by stage",
            ),
            &["attempt", "stage", "outcome"],
        )?;
        let raid_lockdowns = IntCounterVec::new(
            Opts::new(
                "sogs_raid_lockdowns_total",
                "Automatic lockdowns started by the raid detector, by room",
            ),
            &["room"],
        )?;
        registry.register(Box::new(moderation_actions.clone()))?;
        registry.register(Box::new(admission_outcomes.clone()))?;
        registry.register(Box::new(raid_lockdowns.clone()))?;
        let reports = IntCounterVec::new(
            Opts::new(
                "sogs_reports_total",
                "Reports of messages by outcome (new, duplicate, hidden: a message hidden after enough reports, resolved: a moderator handled one)",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(reports.clone()))?;
        let retention_deleted = IntCounterVec::new(
            Opts::new(
                "sogs_retention_deleted_total",
                "Messages and uploads deleted by rooms' retention (kind: message, file)",
            ),
            &["kind"],
        )?;
        registry.register(Box::new(retention_deleted.clone()))?;
        let limit_rejections = IntCounterVec::new(
            Opts::new(
                "sogs_limit_rejections_total",
                "Requests refused for going over one of the [limits], by limit",
            ),
            &["limit"],
        )?;
        registry.register(Box::new(limit_rejections.clone()))?;
        let webhook_deliveries = IntCounterVec::new(
            Opts::new(
                "sogs_webhook_deliveries_total",
                "Webhook delivery tries by endpoint id and outcome (delivered, failed: will retry, dead: gave up)",
            ),
            &["webhook", "outcome"],
        )?;
        let webhook_latency = HistogramVec::new(
            HistogramOpts::new(
                "sogs_webhook_delivery_seconds",
                "Time from an event to its successful delivery, by endpoint id",
            )
            .buckets(vec![
                0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0, 3600.0,
            ]),
            &["webhook"],
        )?;
        let webhook_queue = IntGaugeVec::new(
            Opts::new(
                "sogs_webhook_queue_depth",
                "Events waiting for delivery, by endpoint id (exported by the instance that delivers)",
            ),
            &["webhook"],
        )?;
        registry.register(Box::new(webhook_deliveries.clone()))?;
        registry.register(Box::new(webhook_latency.clone()))?;
        registry.register(Box::new(webhook_queue.clone()))?;
        if let Some(malformed) = crate::telemetry::malformed_requests() {
            registry.register(Box::new(malformed.clone()))?;
        }
        Ok(Self {
            registry,
            http_requests,
            http_duration,
            onion_requests,
            build_info,
            auth_failures,
            posts,
            room_active_users,
            background_runs,
            onion_origins,
            probe_success,
            probe_latency,
            probes,
            moderation_actions,
            admission_outcomes,
            raid_lockdowns,
            reports,
            retention_deleted,
            limit_rejections,
            webhook_deliveries,
            webhook_latency,
            webhook_queue,
        })
    }

    /// Counts one webhook delivery try (`outcome`: delivered, failed or dead) and, when
    /// delivered, the time since the event. Endpoints are registered by the operator, so
    /// the series stay few.
    pub fn observe_webhook_try(&self, webhook: i64, outcome: &str, since_event: Option<f64>) {
        let id = webhook.to_string();
        self.webhook_deliveries
            .with_label_values(&[id.as_str(), outcome])
            .inc();
        if let Some(secs) = since_event {
            self.webhook_latency
                .with_label_values(&[id.as_str()])
                .observe(secs.max(0.0));
        }
    }

    /// Replaces the per-endpoint queue depths (a removed endpoint's series goes away).
    pub fn set_webhook_queue_depths(&self, depths: &[(i64, i64)]) {
        self.webhook_queue.reset();
        for (webhook, pending) in depths {
            self.webhook_queue
                .with_label_values(&[webhook.to_string().as_str()])
                .set(*pending);
        }
    }

    /// Counts a moderation action taken through `door`.
    pub fn observe_moderation(&self, action: &str, door: &str) {
        self.moderation_actions
            .with_label_values(&[action, door])
            .inc();
    }

    /// Counts an admission stage refusing, hiding or flagging an attempt.
    pub fn observe_admission(&self, attempt: &str, stage: &str, outcome: &str) {
        self.admission_outcomes
            .with_label_values(&[attempt, stage, outcome])
            .inc();
    }

    /// Counts a report outcome (`new`, `duplicate`, `hidden`, `resolved`).
    pub fn observe_report(&self, outcome: &str) {
        self.reports.with_label_values(&[outcome]).inc();
    }

    /// Counts what one retention pass deleted.
    pub fn observe_retention(&self, messages: u64, files: u64) {
        self.retention_deleted
            .with_label_values(&["message"])
            .inc_by(messages);
        self.retention_deleted
            .with_label_values(&["file"])
            .inc_by(files);
    }

    /// Counts an automatic lockdown of `room` (labelled by token: rooms are few and
    /// operator-made, so the series stay bounded).
    pub fn observe_raid_lockdown(&self, room: &str) {
        self.raid_lockdowns.with_label_values(&[room]).inc();
    }

    /// Counts a request refused by authentication; `reason` is one of a fixed set of
    /// names (see `api::auth::failure_reason`).
    pub fn observe_auth_failure(&self, reason: &str) {
        self.auth_failures.with_label_values(&[reason]).inc();
    }

    /// Counts a request refused for going over a limit; `limit` is one of the fixed
    /// labels of `api::limits::Limit`.
    pub fn observe_limit(&self, limit: &str) {
        self.limit_rejections.with_label_values(&[limit]).inc();
    }

    /// Counts one accepted message; `kind` is `message` or `direct_message`.
    pub fn observe_post(&self, kind: &str) {
        self.posts.with_label_values(&[kind]).inc();
    }

    /// Replaces the per-room active user counts. Rooms are created by operators, so the
    /// series stay few; a deleted room's series goes away here.
    pub fn set_room_active_users<'a>(&self, rooms: impl IntoIterator<Item = (&'a str, i64)>) {
        self.room_active_users.reset();
        for (room, users) in rooms {
            self.room_active_users.with_label_values(&[room]).set(users);
        }
    }

    /// Counts one run of a background task; `outcome` is `ok`, `error` or `skipped`.
    pub fn observe_background_run(&self, task: &str, outcome: &str) {
        self.background_runs
            .with_label_values(&[task, outcome])
            .inc();
    }

    /// Records one served request under its route template.
    ///
    /// The method is the client's to choose (any token is a valid HTTP method), so methods
    /// outside the standard ones are counted as `OTHER`: otherwise each made-up method
    /// would add series to the registry for as long as the process lives.
    pub fn observe_http(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        const STANDARD: [&str; 9] = [
            "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE",
        ];
        let method = STANDARD
            .iter()
            .find(|m| **m == method)
            .copied()
            .unwrap_or("OTHER");
        let status = status.to_string();
        self.http_requests
            .with_label_values(&[method, route, status.as_str()])
            .inc();
        self.http_duration
            .with_label_values(&[method, route])
            .observe(elapsed.as_secs_f64());
    }

    /// Counts one onion request. Every label takes a handful of fixed values (`v3`/`v4`; the
    /// cipher name or `unknown`; the outcome), so the series stay few.
    pub fn observe_onion(&self, version: &str, cipher: &str, outcome: &str) {
        self.onion_requests
            .with_label_values(&[version, cipher, outcome])
            .inc();
    }

    /// Counts one onion request by origin: `service_node`, `other` or `unknown` (three
    /// series whatever the traffic).
    pub fn observe_onion_origin(&self, origin: &str) {
        self.onion_origins.with_label_values(&[origin]).inc();
    }

    /// Records a self-probe: success and, when it succeeded, its round trip.
    pub fn observe_probe(&self, ok: bool, round_trip: Option<Duration>) {
        self.probe_success.set(i64::from(ok));
        if let Some(rt) = round_trip {
            self.probe_latency.set(rt.as_secs_f64());
        }
        self.probes
            .with_label_values(&[if ok { "ok" } else { "failed" }])
            .inc();
    }

    /// The registry, for other modules to register their own metrics.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observed_requests_appear_under_their_route_template() {
        let m = Metrics::new().unwrap();
        m.observe_http("GET", "/room/{token}", 200, Duration::from_millis(3));
        m.observe_http("GET", "/room/{token}", 200, Duration::from_millis(3));
        let text = m.render();
        assert!(
            text.contains(
                r#"sogs_http_requests_total{method="GET",route="/room/{token}",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(text.contains("sogs_build_info"));
    }

    #[test]
    fn made_up_methods_share_one_series_so_they_cannot_grow_the_registry() {
        let m = Metrics::new().unwrap();
        for i in 0..1000 {
            m.observe_http(&format!("X{i}"), "unmatched", 404, Duration::from_millis(1));
        }
        m.observe_http("DELETE", "unmatched", 404, Duration::from_millis(1));
        let text = m.render();
        assert!(
            text.contains(
                r#"sogs_http_requests_total{method="OTHER",route="unmatched",status="404"} 1000"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"method="DELETE""#), "{text}");
        assert!(!text.contains(r#"method="X1""#), "{text}");
    }

    #[test]
    fn auth_failures_posts_rooms_and_background_runs_are_exposed() {
        let m = Metrics::new().unwrap();
        m.observe_auth_failure("nonce_reused");
        m.observe_post("message");
        m.observe_post("message");
        m.set_room_active_users([("lobby", 3), ("gone", 1)]);
        m.set_room_active_users([("lobby", 4)]);
        m.observe_background_run("cleanup", "skipped");
        let text = m.render();
        for line in [
            r#"sogs_auth_failures_total{reason="nonce_reused"} 1"#,
            r#"sogs_posts_total{kind="message"} 2"#,
            r#"sogs_room_active_users{room="lobby"} 4"#,
            r#"sogs_background_task_runs_total{outcome="skipped",task="cleanup"} 1"#,
        ] {
            assert!(text.contains(line), "{line} missing:\n{text}");
        }
        assert!(!text.contains(r#"room="gone""#), "{text}");
    }

    #[test]
    fn onion_requests_are_counted_by_version_cipher_and_outcome() {
        let m = Metrics::new().unwrap();
        m.observe_onion("v4", "aes-gcm", "ok");
        m.observe_onion("v4", "aes-gcm", "ok");
        m.observe_onion("v3", "unknown", "bad_frame");
        let text = m.render();
        assert!(
            text.contains(
                r#"sogs_onion_requests_total{cipher="aes-gcm",outcome="ok",version="v4"} 2"#
            ),
            "{text}"
        );
        assert!(text.contains(
            r#"sogs_onion_requests_total{cipher="unknown",outcome="bad_frame",version="v3"} 1"#
        ));
    }

    #[test]
    fn probes_and_onion_origins_are_exported() {
        let m = Metrics::new().unwrap();
        m.observe_onion_origin("service_node");
        m.observe_onion_origin("other");
        m.observe_probe(true, Some(Duration::from_millis(250)));
        let text = m.render();
        assert!(text.contains(r#"sogs_onion_requests_by_origin_total{origin="service_node"} 1"#));
        assert!(text.contains("\nsogs_onion_probe_success 1\n"), "{text}");
        assert!(
            text.contains("\nsogs_onion_probe_latency_seconds 0.25\n"),
            "{text}"
        );
        m.observe_probe(false, None);
        let text = m.render();
        assert!(text.contains("\nsogs_onion_probe_success 0\n"), "{text}");
        // The latency of the last success stays.
        assert!(
            text.contains("\nsogs_onion_probe_latency_seconds 0.25\n"),
            "{text}"
        );
        assert!(text.contains(r#"sogs_onion_probes_total{outcome="failed"} 1"#));
    }
}
