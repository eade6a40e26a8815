//! Latency and error tallies, and the lines a run prints.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Latencies are recorded in microseconds, from 1 µs to 10 minutes, to three significant
/// digits: a fixed few tens of KiB per tally however many requests it counts, and
/// percentiles that stay right at the tail (where a sampled list or a mean would not).
const LOWEST_US: u64 = 1;
const HIGHEST_US: u64 = 600_000_000;
const SIGNIFICANT_DIGITS: u8 = 3;

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Latencies of successful requests, in microseconds (an HDR histogram).
    pub latency: Histogram<u64>,
    /// Failures by kind.
    pub errors: BTreeMap<String, u64>,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            latency: empty_histogram(),
            errors: BTreeMap::new(),
        }
    }
}

/// An empty latency histogram with the bounds every tally uses.
#[allow(clippy::expect_used)] // constant bounds, valid by construction (and by every test)
pub fn empty_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
        .expect("1 µs to 10 min at 3 digits is a valid histogram")
}

impl Tally {
    pub fn ok(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency.saturating_record(us.max(LOWEST_US));
    }

    pub fn error(&mut self, kind: impl Into<String>) {
        *self.errors.entry(kind.into()).or_default() += 1;
    }

    pub fn merge(&mut self, other: Tally) {
        // Both histograms have the same bounds, so adding cannot fail; saturate if it did.
        if self.latency.add(&other.latency).is_err() {
            for v in other.latency.iter_recorded() {
                self.latency
                    .saturating_record_n(v.value_iterated_to(), v.count_at_value());
            }
        }
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
    }

    /// Successful requests counted.
    pub fn count(&self) -> u64 {
        self.latency.len()
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The latency below which `fraction` of successful requests fell (to the histogram's
    /// three significant digits).
    pub fn percentile(&self, fraction: f64) -> Option<Duration> {
        if self.latency.is_empty() {
            return None;
        }
        let us = if fraction >= 1.0 {
            self.latency.max()
        } else {
            self.latency.value_at_quantile(fraction)
        };
        Some(Duration::from_micros(us))
    }

    /// `p50 … p90 … p99 … max …` in milliseconds.
    pub fn latency_line(&self) -> String {
        let ms =
            |d: Option<Duration>| d.map_or("-".into(), |d| format!("{:.2}", d.as_secs_f64() * 1e3));
        format!(
            "latency ms: p50 {}  p90 {}  p99 {}  max {}",
            ms(self.percentile(0.50)),
            ms(self.percentile(0.90)),
            ms(self.percentile(0.99)),
            ms(self.percentile(1.0)),
        )
    }

    pub fn errors_line(&self) -> String {
        if self.errors.is_empty() {
            return "errors: none".into();
        }
        let parts: Vec<String> = self
            .errors
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect();
        format!("errors: {}", parts.join(", "))
    }
}

/// The resident set size of process `pid` in KiB, from `/proc` (Linux).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The resident set size of process `pid` and all its descendants in KiB (a server may be a
/// tree: uwsgi's master, its workers, its HTTP router and its mule).
pub fn tree_rss_kib(pid: u32) -> Option<u64> {
    let own = rss_kib(pid)?;
    let mut parents = std::collections::HashMap::<u32, Vec<u32>>::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(parent) = parent_pid(child) {
            parents.entry(parent).or_default().push(child);
        }
    }
    let mut total = own;
    let mut stack = parents.get(&pid).cloned().unwrap_or_default();
    while let Some(p) = stack.pop() {
        total += rss_kib(p).unwrap_or(0);
        stack.extend(parents.get(&p).cloned().unwrap_or_default());
    }
    Some(total)
}

/// The parent of `pid`, from `/proc/<pid>/stat` (the field after the command's closing
/// parenthesis and the state).
fn parent_pid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_histogram_to_three_digits() {
        let mut t = Tally::default();
        for ms in 1..=100 {
            t.ok(Duration::from_millis(ms));
        }
        // Three significant digits: 50 ms is recorded as 50.0xx ms at most.
        let near = |d: Option<Duration>, ms: f64| {
            d.is_some_and(|d| (d.as_secs_f64() * 1e3 - ms).abs() < ms / 500.0)
        };
        assert!(near(t.percentile(0.5), 50.0), "{:?}", t.percentile(0.5));
        assert!(near(t.percentile(0.99), 99.0), "{:?}", t.percentile(0.99));
        assert!(near(t.percentile(1.0), 100.0), "{:?}", t.percentile(1.0));
        assert_eq!(t.count(), 100);
        assert_eq!(Tally::default().percentile(0.5), None);
    }

    #[test]
    fn errors_are_counted_by_kind_and_merged() {
        let mut a = Tally::default();
        a.error("timeout");
        let mut b = Tally::default();
        b.error("timeout");
        b.error("status 500");
        b.ok(Duration::from_millis(3));
        a.merge(b);
        assert_eq!(a.error_count(), 3);
        assert_eq!(a.count(), 1);
        assert_eq!(a.errors_line(), "errors: status 500 ×1, timeout ×2");
    }

    #[test]
    fn this_process_has_a_resident_set() {
        assert!(rss_kib(std::process::id()).is_some_and(|k| k > 0));
        assert!(tree_rss_kib(std::process::id()).is_some_and(|k| k > 0));
        assert_eq!(
            parent_pid(std::process::id()),
            Some(std::os::unix::process::parent_id())
        );
    }
}
