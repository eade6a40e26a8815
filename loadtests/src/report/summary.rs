//! The summary: one row per scenario, ours beside PySOGS and the ratio, printed at the end of
//! a run and shown at the top of the report. Every cell is computed from [`Results`].

use super::plots::group_thousands;
use super::results::Results;

/// One row of the summary table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub scenario: String,
    pub ours: String,
    pub pysogs: String,
    /// Ours against PySOGS, as "N× better" (direction-aware), or empty.
    pub ratio: String,
}

const OURS: &str = "ours-sqlite";
const PYSOGS: &str = "pysogs";

/// The rows, in reading order.
pub fn rows(r: &Results) -> Vec<Row> {
    let has_pysogs = r.system(PYSOGS).is_some();
    let not_run = if has_pysogs {
        "not run"
    } else {
        "not measured"
    };
    let mut rows = Vec::new();

    if let Some(c) = r.capacity.iter().find(|c| c.system == OURS) {
        let theirs = r.capacity.iter().find(|c| c.system == PYSOGS);
        rows.push(Row {
            scenario: format!(
                "Session clients one instance holds (mixed load, p99 < {} ms)",
                r.p99_goal_ms
            ),
            ours: clients(c.clients),
            pysogs: theirs.map_or(not_run.into(), |t| clients(t.clients)),
            ratio: theirs
                .and_then(|t| ratio_higher(c.clients?, t.clients?))
                .unwrap_or_default(),
        });
    }
    if let Some(c) = r.capacity.iter().find(|c| c.system == "ours-pg1") {
        rows.push(Row {
            scenario: "… the same, one instance on PostgreSQL + Redis".into(),
            ours: clients(c.clients),
            pysogs: "–".into(),
            ratio: String::new(),
        });
    }
    for transport in ["onion XChaCha20", "onion AES-GCM", "plain HTTP"] {
        let Some(ours) = r.peak(OURS, transport) else {
            continue;
        };
        let theirs = r.peak(PYSOGS, transport);
        rows.push(Row {
            scenario: format!("Peak polls/s, {transport} (closed loop, best concurrency)"),
            ours: format!(
                "{} /s at {}",
                group_thousands(ours.throughput.round() as i64),
                ours.concurrency
            ),
            pysogs: theirs.map_or(not_run.into(), |t| {
                format!(
                    "{} /s at {}",
                    group_thousands(t.throughput.round() as i64),
                    t.concurrency
                )
            }),
            ratio: theirs
                .and_then(|t| ratio_higher(ours.throughput, t.throughput))
                .unwrap_or_default(),
        });
    }
    let p99_at = |system: &str, fraction: f64| {
        r.open
            .iter()
            .filter(|p| p.system == system && !p.equal_rate)
            .min_by(|a, b| {
                (a.fraction_of_peak - fraction)
                    .abs()
                    .total_cmp(&(b.fraction_of_peak - fraction).abs())
            })
    };
    if let Some(ours) = p99_at(OURS, 0.75) {
        let theirs = p99_at(PYSOGS, 0.75);
        rows.push(Row {
            scenario: format!(
                "Onion poll p99 in an open loop at {:.0}% of own peak",
                ours.fraction_of_peak * 100.0
            ),
            ours: format!(
                "{} ms at {} /s",
                ms(ours.latency.p99_ms),
                group_thousands(ours.offered_rate.round() as i64)
            ),
            pysogs: theirs.map_or(not_run.into(), |t| {
                format!(
                    "{} ms at {} /s",
                    ms(t.latency.p99_ms),
                    group_thousands(t.offered_rate.round() as i64)
                )
            }),
            ratio: theirs
                .and_then(|t| ratio_lower(ours.latency.p99_ms, t.latency.p99_ms))
                .unwrap_or_default(),
        });
    }
    equal_rate_row(r, not_run, &mut rows);
    big_room_rows(r, not_run, &mut rows);
    let cluster: Vec<String> = (1..=3)
        .filter_map(|n| {
            r.peak(&format!("ours-pg{n}"), "onion XChaCha20")
                .map(|p| format!("{n}: {}", group_thousands(p.throughput.round() as i64)))
        })
        .collect();
    if !cluster.is_empty() {
        rows.push(Row {
            scenario: "Peak onion polls/s by instances (PostgreSQL + Redis)".into(),
            ours: cluster.join(" · "),
            pysogs: if has_pysogs {
                "cannot (one instance)".into()
            } else {
                "–".into()
            },
            ratio: String::new(),
        });
    }
    let visible = |system: &str| r.post_visible.iter().find(|p| p.system == system);
    if let Some(p) = visible("ours-pg2") {
        rows.push(Row {
            scenario: "Post → visible on another instance, p99".into(),
            ours: format!("{} ms", ms(p.latency.p99_ms)),
            pysogs: if has_pysogs {
                "cannot (one instance)".into()
            } else {
                "–".into()
            },
            ratio: String::new(),
        });
    }
    if let Some(p) = visible(OURS) {
        let theirs = visible(PYSOGS);
        rows.push(Row {
            scenario: "Post → visible on the same server, p99".into(),
            ours: format!("{} ms", ms(p.latency.p99_ms)),
            pysogs: theirs.map_or(not_run.into(), |t| format!("{} ms", ms(t.latency.p99_ms))),
            ratio: theirs
                .and_then(|t| ratio_lower(p.latency.p99_ms, t.latency.p99_ms))
                .unwrap_or_default(),
        });
    }
    let memory = |system: &str| {
        r.known_users
            .iter()
            .filter(|p| p.system == system)
            .max_by_key(|p| p.known_users)
    };
    if let Some(m) = memory(OURS) {
        let theirs = memory(PYSOGS);
        rows.push(Row {
            scenario: "Server memory (RSS) with known users".into(),
            ours: format!(
                "{:.0} MiB at {}",
                m.rss_mib,
                group_thousands(m.known_users as i64)
            ),
            pysogs: theirs.map_or(not_run.into(), |t| {
                format!(
                    "{:.0} MiB at {}",
                    t.rss_mib,
                    group_thousands(t.known_users as i64)
                )
            }),
            ratio: String::new(),
        });
    }
    let peak_rss = |system: &str| {
        r.rss
            .iter()
            .filter(|s| s.system == system)
            .map(|s| s.rss_mib)
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
    };
    if let Some(ours) = peak_rss(OURS) {
        let theirs = peak_rss(PYSOGS);
        rows.push(Row {
            scenario: "Peak server memory (RSS) during the whole run".into(),
            ours: format!("{ours:.0} MiB"),
            pysogs: theirs.map_or(not_run.into(), |t| format!("{t:.0} MiB")),
            ratio: theirs
                .and_then(|t| ratio_lower(ours, t))
                .unwrap_or_default(),
        });
    }
    raid_rows(r, not_run, &mut rows);
    hostile_rows(r, &mut rows);
    if let (Some(first), Some(last)) = (r.soak.first(), r.soak.last()) {
        rows.push(Row {
            scenario: format!(
                "Soak ({} buckets at {} requests/s): p99 and RSS, first → last",
                r.soak.len(),
                group_thousands(first.offered_rate.round() as i64)
            ),
            ours: format!(
                "{} → {} ms; {:.0} → {:.0} MiB",
                ms(first.latency.p99_ms),
                ms(last.latency.p99_ms),
                first.rss_mib,
                last.rss_mib
            ),
            pysogs: "–".into(),
            ratio: String::new(),
        });
    }
    rows
}

/// Latency at the highest of the equal open-loop rates that both servers were offered.
fn equal_rate_row(r: &Results, not_run: &str, rows: &mut Vec<Row>) {
    let at = |system: &str, rate: f64| {
        r.open
            .iter()
            .find(|p| p.system == system && p.equal_rate && p.offered_rate == rate)
    };
    let ours_rates: Vec<f64> = r
        .open
        .iter()
        .filter(|p| p.system == OURS && p.equal_rate)
        .map(|p| p.offered_rate)
        .collect();
    let Some(rate) = ours_rates
        .iter()
        .copied()
        .filter(|&rate| at(PYSOGS, rate).is_some())
        .reduce(f64::max)
        .or_else(|| ours_rates.iter().copied().reduce(f64::max))
    else {
        return;
    };
    let Some(ours) = at(OURS, rate) else { return };
    let theirs = at(PYSOGS, rate);
    let cell = |p: &super::results::OpenPoint| {
        format!("{} / {} ms", ms(p.latency.p50_ms), ms(p.latency.p99_ms))
    };
    rows.push(Row {
        scenario: format!(
            "Onion poll p50 / p99 at {} /s offered to each (open loop, same rate)",
            group_thousands(rate.round() as i64)
        ),
        ours: cell(ours),
        pysogs: theirs.map_or(not_run.into(), cell),
        ratio: theirs
            .and_then(|t| ratio_lower(ours.latency.p99_ms, t.latency.p99_ms))
            .unwrap_or_default(),
    });
}

/// Polls and joins on the smallest and the largest filled room.
fn big_room_rows(r: &Results, not_run: &str, rows: &mut Vec<Row>) {
    let sizes = |system: &str| -> Option<(u64, u64)> {
        let mut sizes = r
            .big_rooms
            .iter()
            .filter(|p| p.system == system)
            .map(|p| p.messages);
        let first = sizes.next()?;
        Some(sizes.fold((first, first), |(lo, hi), n| (lo.min(n), hi.max(n))))
    };
    let Some((small, large)) = sizes(OURS) else {
        return;
    };
    for (request, label) in [
        ("poll", "Poll (messages/since at the latest seqno)"),
        ("join", "Join (room info + messages/recent)"),
    ] {
        let point = |system: &str, messages: u64| {
            r.big_rooms
                .iter()
                .find(|p| p.system == system && p.request == request && p.messages == messages)
        };
        let cell = |p: &super::results::BigRoomPoint| {
            format!(
                "{} /s, p99 {} ms",
                group_thousands(p.throughput.round() as i64),
                ms(p.latency.p99_ms)
            )
        };
        let both = |system: &str| -> Option<String> {
            let lo = point(system, small)?;
            match point(system, large) {
                Some(hi) if large != small => Some(format!("{} → {}", cell(lo), cell(hi))),
                Some(_) => Some(cell(lo)),
                None => Some(format!("{} → not measured", cell(lo))),
            }
        };
        let Some(ours) = both(OURS) else { continue };
        let concurrency = point(OURS, small).map_or(0, |p| p.concurrency);
        rows.push(Row {
            scenario: format!(
                "{label} on rooms of {} → {} messages ({concurrency} in flight, onion)",
                group_thousands(small as i64),
                group_thousands(large as i64)
            ),
            ours,
            pysogs: both(PYSOGS).unwrap_or_else(|| not_run.into()),
            ratio: point(OURS, large)
                .zip(point(PYSOGS, large))
                .and_then(|(o, t)| ratio_higher(o.throughput, t.throughput))
                .map(|x| format!("{x} at {}", group_thousands(large as i64)))
                .unwrap_or_default(),
        });
    }
}

/// The raid: reach, false positives, lockdown and honest polls, defences on and off.
fn raid_rows(r: &Results, not_run: &str, rows: &mut Vec<Row>) {
    let find = |system: &str, detection: bool| {
        r.raid
            .iter()
            .find(|p| p.system == system && p.detection == detection)
    };
    let (on, off, theirs) = (find(OURS, true), find(OURS, false), find(PYSOGS, false));
    let Some(first) = on.or(off) else {
        return;
    };
    let share = |p: &super::results::RaidPoint| format!("{:.2} %", p.seen_share() * 100.0);
    let both = |f: &dyn Fn(&super::results::RaidPoint) -> String| {
        [("on", on), ("off", off)]
            .iter()
            .filter_map(|(label, p)| p.map(|p| format!("{} (defences {label})", f(p))))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    rows.push(Row {
        scenario: format!(
            "Raid ({} fresh IDs post once each within {:.0} s, {} regulars): raid posts that \
             reached readers",
            group_thousands(first.raiders as i64),
            first.raid_span_secs,
            first.regulars
        ),
        ours: both(&share),
        pysogs: theirs.map_or(not_run.into(), share),
        ratio: String::new(),
    });
    let refused = |p: &super::results::RaidPoint| {
        format!(
            "{} of {}",
            group_thousands(p.false_positives as i64),
            group_thousands(p.regular_posts as i64)
        )
    };
    rows.push(Row {
        scenario: "Raid: regulars' posts refused (false positives)".into(),
        ours: both(&refused),
        pysogs: theirs.map_or(not_run.into(), refused),
        ratio: String::new(),
    });
    if let Some(on) = on {
        rows.push(Row {
            scenario: "Raid: time from its start to the automatic lockdown".into(),
            ours: match on.lockdown_after_secs {
                Some(s) => format!("{s:.1} s"),
                None => match on.raid_refused.iter().find(|(status, _)| *status == 403) {
                    Some((_, n)) => format!(
                        "none needed: the flood detector refused {} copies",
                        group_thousands(*n as i64)
                    ),
                    None => "never".into(),
                },
            },
            pysogs: if theirs.is_some() {
                "no defence".into()
            } else {
                not_run.into()
            },
            ratio: String::new(),
        });
    }
    let polls = |p: &super::results::RaidPoint| {
        format!(
            "{} / {} ms",
            ms(p.poll_latency.p50_ms),
            ms(p.poll_latency.p99_ms)
        )
    };
    rows.push(Row {
        scenario: "Raid: regulars' polls p50 / p99 during the raid".into(),
        ours: both(&polls),
        pysogs: theirs.map_or(not_run.into(), polls),
        ratio: on
            .zip(theirs)
            .and_then(|(o, t)| ratio_lower(o.poll_latency.p99_ms, t.poll_latency.p99_ms))
            .unwrap_or_default(),
    });
}

/// Hostile load: the worst attack's honest p99 against no attack, and the peak memory.
fn hostile_rows(r: &Results, rows: &mut Vec<Row>) {
    let attacked = || {
        r.hostile
            .iter()
            .filter(|p| p.system == OURS && p.attack != "none" && p.attack != "after")
    };
    let Some(worst) = attacked().max_by(|a, b| a.honest.p99_ms.total_cmp(&b.honest.p99_ms)) else {
        return;
    };
    let none = r.hostile.iter().find(|p| p.attack == "none");
    rows.push(Row {
        scenario: format!(
            "Hostile load: honest polls' p99 under the worst attack ({}) vs no attack",
            worst.attack
        ),
        ours: format!(
            "{} vs {} ms ({})",
            ms(worst.honest.p99_ms),
            none.map_or("–".into(), |n| ms(n.honest.p99_ms)),
            worst.p99_vs_none.map_or("–".into(), |x| format!("{x:.2}×"))
        ),
        pysogs: "not attacked".into(),
        ratio: String::new(),
    });
    let peak = attacked()
        .filter_map(|p| p.rss_peak_mib)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    if let Some(peak) = peak {
        let after = r
            .hostile
            .iter()
            .find(|p| p.attack == "after")
            .and_then(|p| p.rss_end_mib);
        rows.push(Row {
            scenario: "Hostile load: peak server memory (RSS) under attack, and after".into(),
            ours: format!(
                "{peak:.0} MiB{}",
                after.map_or(String::new(), |a| format!(", {a:.0} MiB after"))
            ),
            pysogs: "not attacked".into(),
            ratio: String::new(),
        });
    }
}

fn clients(c: Option<f64>) -> String {
    c.map_or("none within the goal".into(), |c| {
        format!("≈ {}", group_thousands(round_to_two_digits(c) as i64))
    })
}

/// 12,345 → 12,000: the capacity search steps by a third, so more digits would be noise.
fn round_to_two_digits(v: f64) -> f64 {
    if v < 100.0 {
        return v.round();
    }
    let scale = 10f64.powi(v.log10().floor() as i32 - 1);
    (v / scale).round() * scale
}

fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Ours / theirs where more is better.
fn ratio_higher(ours: f64, theirs: f64) -> Option<String> {
    (theirs > 0.0).then(|| times(ours / theirs))
}

/// Theirs / ours where less is better.
fn ratio_lower(ours: f64, theirs: f64) -> Option<String> {
    (ours > 0.0).then(|| times(theirs / ours))
}

fn times(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}× better")
    } else if x >= 1.0 {
        format!("{x:.1}× better")
    } else {
        format!("{:.1}× worse", 1.0 / x.max(1e-9))
    }
}

/// The rows as a plain-text table for the terminal.
pub fn text_table(rows: &[Row]) -> String {
    let header = Row {
        scenario: "scenario".into(),
        ours: "sogs-rs".into(),
        pysogs: "PySOGS".into(),
        ratio: "ratio".into(),
    };
    let all: Vec<&Row> = std::iter::once(&header).chain(rows).collect();
    let width = |f: fn(&Row) -> &str| all.iter().map(|r| f(r).chars().count()).max().unwrap_or(0);
    let (w0, w1, w2) = (
        width(|r| &r.scenario),
        width(|r| &r.ours),
        width(|r| &r.pysogs),
    );
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
    let mut out = String::new();
    for (i, r) in all.iter().enumerate() {
        out.push_str(&format!(
            "{}  {}  {}  {}\n",
            pad(&r.scenario, w0),
            pad(&r.ours, w1),
            pad(&r.pysogs, w2),
            r.ratio
        ));
        if i == 0 {
            out.push_str(&format!("{}\n", "-".repeat(w0 + w1 + w2 + 12)));
        }
    }
    out
}

/// The summary as Markdown, for BENCHMARKS.md: the machine and its load, then the table.
pub fn markdown(r: &Results, rows: &[Row]) -> String {
    let m = &r.machine;
    let mut out = format!(
        "Run {} ({:.0} s), {} × {}, {:.0} GiB; load average {:.2} / {:.2} / {:.2} before, \
         {:.2} / {:.2} / {:.2} after (1 / 5 / 15 min); generator on the same machine.\n\n\
         | scenario | sogs-rs | PySOGS | ratio |\n|---|---|---|---|\n",
        m.started_utc,
        m.seconds,
        m.cores,
        m.cpu_model,
        m.memory_gib,
        m.load_before[0],
        m.load_before[1],
        m.load_before[2],
        m.load_after[0],
        m.load_after[1],
        m.load_after[2],
    );
    for row in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            row.scenario, row.ours, row.pysogs, row.ratio
        ));
    }
    if !r.notes.is_empty() {
        out.push_str("\nNotes:\n");
        for n in &r.notes {
            out.push_str(&format!("- {n}\n"));
        }
    }
    if !r.pysogs_cannot.is_empty() {
        out.push_str("\nPySOGS could not:\n");
        for c in &r.pysogs_cannot {
            out.push_str(&format!("- {c}\n"));
        }
    }
    out
}

/// Markers around the part of a Markdown file that `--update-benchmarks` rewrites.
pub const BEGIN_MARKER: &str = "<!-- sogs-loadtest report: begin (generated, do not edit) -->";
pub const END_MARKER: &str = "<!-- sogs-loadtest report: end -->";

/// `document` with the text between the markers replaced by `generated`; None when the
/// markers are missing or out of order.
pub fn replace_between_markers(document: &str, generated: &str) -> Option<String> {
    let begin = document.find(BEGIN_MARKER)? + BEGIN_MARKER.len();
    let end = begin + document[begin..].find(END_MARKER)?;
    Some(format!(
        "{}\n{}\n{}",
        &document[..begin],
        generated.trim_end(),
        &document[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_part_of_a_document_is_replaced_and_the_rest_kept() {
        let doc = format!("# B\n\nbefore\n{BEGIN_MARKER}\nold\n{END_MARKER}\nafter\n");
        let new = replace_between_markers(&doc, "| new |\n").unwrap();
        assert_eq!(
            new,
            format!("# B\n\nbefore\n{BEGIN_MARKER}\n| new |\n{END_MARKER}\nafter\n")
        );
        assert_eq!(replace_between_markers(&new, "| new |").unwrap(), new);
        assert!(replace_between_markers("no markers", "x").is_none());
        assert!(replace_between_markers(&format!("{END_MARKER} {BEGIN_MARKER}"), "x").is_none());
    }

    #[test]
    fn ratios_say_which_way_is_better() {
        assert_eq!(ratio_higher(8000.0, 200.0).as_deref(), Some("40× better"));
        assert_eq!(ratio_lower(2.0, 50.0).as_deref(), Some("25× better"));
        assert_eq!(ratio_lower(4.0, 2.0).as_deref(), Some("2.0× worse"));
        assert_eq!(ratio_higher(1.0, 0.0), None);
    }

    #[test]
    fn capacities_are_rounded_to_what_the_search_can_tell() {
        assert_eq!(round_to_two_digits(12_345.0), 12_000.0);
        assert_eq!(round_to_two_digits(987.0), 990.0);
        assert_eq!(round_to_two_digits(42.4), 42.0);
        assert_eq!(clients(Some(56_789.0)), "≈ 57,000");
    }
}
