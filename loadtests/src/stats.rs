//! Latency and error tallies, and the lines a run prints.

use std::collections::BTreeMap;
use std::time::Duration;

/// What a run measured.
#[derive(Debug, Default)]
pub struct Tally {
    /// Latencies of successful requests, in microseconds.
    pub micros: Vec<u64>,
    /// Failures by kind.
    pub errors: BTreeMap<String, u64>,
}

impl Tally {
    pub fn ok(&mut self, latency: Duration) {
        self.micros
            .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    pub fn error(&mut self, kind: impl Into<String>) {
        *self.errors.entry(kind.into()).or_default() += 1;
    }

    pub fn merge(&mut self, other: Tally) {
        self.micros.extend(other.micros);
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The latency below which `fraction` of successful requests fell (nearest rank).
    pub fn percentile(&mut self, fraction: f64) -> Option<Duration> {
        if self.micros.is_empty() {
            return None;
        }
        self.micros.sort_unstable();
        let rank = (fraction * self.micros.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.micros.len()) - 1;
        self.micros.get(index).map(|&us| Duration::from_micros(us))
    }

    /// `p50 … p90 … p99 … max …` in milliseconds.
    pub fn latency_line(&mut self) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut t = Tally::default();
        for ms in 1..=100 {
            t.ok(Duration::from_millis(ms));
        }
        assert_eq!(t.percentile(0.5), Some(Duration::from_millis(50)));
        assert_eq!(t.percentile(0.99), Some(Duration::from_millis(99)));
        assert_eq!(t.percentile(1.0), Some(Duration::from_millis(100)));
        assert_eq!(Tally::default().percentile(0.5), None);
    }

    #[test]
    fn errors_are_counted_by_kind_and_merged() {
        let mut a = Tally::default();
        a.error("timeout");
        let mut b = Tally::default();
        b.error("timeout");
        b.error("status 500");
        a.merge(b);
        assert_eq!(a.error_count(), 3);
        assert_eq!(a.errors_line(), "errors: status 500 ×1, timeout ×2");
    }

    #[test]
    fn this_process_has_a_resident_set() {
        assert!(rss_kib(std::process::id()).is_some_and(|k| k > 0));
    }
}
