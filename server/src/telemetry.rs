//! Logging setup: one place decides the format and filter of every log line.
//!
//! One kind of line is not written as it comes: the HTTP layer (actix-http) logs an ERROR
//! for every connection that sent bytes it could not parse as HTTP. Those are the client's
//! fault, and a flood of garbage would otherwise flood the log (one line per request), so
//! they are counted in `sogs_malformed_requests_total` and summarised in at most one WARN
//! line per `[limits] malformed_log_interval_secs`.

use std::io::IsTerminal;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use prometheus::IntCounter;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LimitsConfig, LogConfig, LogFormat};

static MALFORMED_REQUESTS: LazyLock<Option<IntCounter>> = LazyLock::new(|| {
    IntCounter::new(
        "sogs_malformed_requests_total",
        "HTTP requests refused by the HTTP layer because they could not be parsed",
    )
    .ok()
});

/// The process-wide count of malformed HTTP requests (the HTTP layer reports them before
/// any application state exists, so the counter is global; every registry shares it).
pub fn malformed_requests() -> Option<&'static IntCounter> {
    MALFORMED_REQUESTS.as_ref()
}

/// Installs the global `tracing` subscriber. `RUST_LOG`, when set, wins over the config's
/// level so a developer can turn up one module without editing files. Calling it twice
/// is harmless (the second call does nothing), which tests rely on.
pub fn init(config: &LogConfig, limits: &LimitsConfig) {
    let _ = subscriber(config, limits, std::io::stderr, uses_json(config)).try_init();
}

/// The subscriber [`init`] installs, writing to `writer`.
///
/// The malformed-request summary is the outermost layer, so it sees each event after the
/// log-line layer has: it writes its own line from inside its `on_event`, and a nested event
/// resets the per-layer filters' record of which layers the current event is enabled for.
/// Were the summary inside the line layer, the line layer would then find actix-http's ERROR
/// enabled after all and write it beside the summary (once per summary, as a one-hour soak
/// showed: 40 ERROR lines).
fn subscriber<W>(
    config: &LogConfig,
    limits: &LimitsConfig,
    writer: W,
    json: bool,
) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    // actix's own start-up lines ("starting N workers") would come before the startup
    // banner (crate::banner) and say less; they stay available with RUST_LOG or by naming
    // actix_server in the configured level.
    let level = if config.level.contains("actix_server") {
        config.level.clone()
    } else {
        format!("{},actix_server=warn", config.level)
    };
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let not_malformed =
        tracing_subscriber::filter::filter_fn(|meta| !is_malformed_request_report(meta));
    let format: Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync> = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(writer)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer().with_writer(writer).boxed()
    };
    let lines = format.with_filter(filter).with_filter(not_malformed);
    let summary = MalformedRequestSummary {
        budget: Mutex::new(LogBudget::new(LimitsConfig::duration(
            limits.malformed_log_interval_secs,
        ))),
    };
    // The summary gets its own per-layer filter: a layer that answered "not enabled" itself
    // would disable every other event for the whole subscriber, the log lines included.
    let only_malformed = tracing_subscriber::filter::filter_fn(is_malformed_request_report);
    tracing_subscriber::registry()
        .with(lines)
        .with(summary.with_filter(only_malformed))
}

/// Whether log lines are JSON objects (`auto`: when stderr is not a terminal, as under a
/// service manager or in a container), so plain text must not be mixed in.
pub fn uses_json(config: &LogConfig) -> bool {
    match config.format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    }
}

/// Whether an event is actix-http's per-connection error report: a client sent something
/// that is not HTTP (or broke off mid-request).
fn is_malformed_request_report(meta: &Metadata<'_>) -> bool {
    *meta.level() == tracing::Level::ERROR && meta.target().starts_with("actix_http::h1")
}

/// Lets one log line through per interval and counts what it held back.
#[derive(Debug)]
pub struct LogBudget {
    interval: Duration,
    last: Option<Instant>,
    held_back: u64,
}

impl LogBudget {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: None,
            held_back: 0,
        }
    }

    /// Called once per event at `now`: `Some(n)` when a line may be written, `n` being the
    /// events held back since the previous line; `None` when this one is held back.
    pub fn admit(&mut self, now: Instant) -> Option<u64> {
        let due = self
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.interval);
        if due {
            self.last = Some(now);
            Some(std::mem::take(&mut self.held_back))
        } else {
            self.held_back = self.held_back.saturating_add(1);
            None
        }
    }
}

/// Counts actix-http's malformed-request reports and writes a bounded summary of them.
struct MalformedRequestSummary {
    budget: Mutex<LogBudget>,
}

impl<S: Subscriber> Layer<S> for MalformedRequestSummary {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if !is_malformed_request_report(event.metadata()) {
            return;
        }
        if let Some(counter) = malformed_requests() {
            counter.inc();
        }
        let admitted = match self.budget.lock() {
            Ok(mut budget) => budget.admit(Instant::now()),
            Err(_) => None,
        };
        if let Some(held_back) = admitted {
            let mut message = Message(String::new());
            event.record(&mut message);
            tracing::warn!(
                target: "sogs::malformed_requests",
                last = %message.0,
                not_logged_since_previous_line = held_back,
                "malformed HTTP request refused; all are counted in sogs_malformed_requests_total"
            );
        }
    }
}

/// The `message` field of an event.
struct Message(String);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer into a shared buffer, to read what the subscriber wrote.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The subscriber must be the global one, as in the server: tracing drops events raised
    /// inside a scoped (`with_default`) subscriber's own handling, the summary line included.
    /// So this is the one unit test that installs it; other tests' lines may land in the
    /// buffer too, and only this test's are looked at.
    #[test]
    fn actix_http_errors_are_summarised_and_never_written_themselves() {
        let captured = Captured::default();
        let writer = {
            let c = captured.clone();
            move || c.clone()
        };
        let config = LogConfig {
            level: "info".into(),
            ..LogConfig::default()
        };
        let limits = LimitsConfig {
            malformed_log_interval_secs: 0.0,
            ..LimitsConfig::default()
        };
        tracing::subscriber::set_global_default(subscriber(&config, &limits, writer, true))
            .expect("no other unit test installs a global subscriber");
        for _ in 0..3 {
            tracing::error!(
                target: "actix_http::h1::dispatcher",
                "stream error: request parse error: invalid Header provided by this test"
            );
        }
        tracing::info!(target: "sogs::tasks", "an ordinary line of this test");
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let ours: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("of this test") || l.contains("by this test"))
            .collect();
        // Every report is summarised (the interval is 0), none written as it came.
        let summaries = ours
            .iter()
            .filter(|l| l.contains("malformed HTTP request refused") && l.contains("WARN"))
            .count();
        assert_eq!(summaries, 3, "{text}");
        assert!(!ours.iter().any(|l| l.contains("ERROR")), "{text}");
        assert!(
            ours.iter().any(|l| l.contains("an ordinary line")),
            "{text}"
        );
    }

    #[test]
    fn a_log_budget_lets_one_line_per_interval_through_and_counts_the_rest() {
        let mut budget = LogBudget::new(Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(budget.admit(t0), Some(0));
        for i in 1..=1000 {
            assert_eq!(budget.admit(t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(budget.admit(t0 + Duration::from_secs(59)), None);
        assert_eq!(budget.admit(t0 + Duration::from_secs(60)), Some(1001));
        assert_eq!(budget.admit(t0 + Duration::from_secs(61)), None);
    }
}
