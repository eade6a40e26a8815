//! Which plots a report has, each made from [`Results`]: a file name, a chart, and a line
//! saying how to read it.

use super::plots::{Chart, OURS, REFERENCE, Scale, Series, percentile_x};
use super::results::Results;

/// One plot of the report.
pub struct Figure {
    /// File name without extension (`plots/<name>.svg`).
    pub name: &'static str,
    /// The section of the report it belongs to.
    pub section: Section,
    pub chart: Chart,
    pub caption: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Poll,
    OpenLoop,
    EqualRates,
    BigRooms,
    Mixed,
    Memory,
    Soak,
}

/// A colour per system, the same in every plot.
fn color(results: &Results, system: &str, variant: usize) -> plotters::style::RGBColor {
    if system == "pysogs" {
        return REFERENCE[variant % REFERENCE.len()];
    }
    let index = results
        .systems
        .iter()
        .filter(|s| s.key != "pysogs")
        .position(|s| s.key == system)
        .unwrap_or(0);
    OURS[(index + variant) % OURS.len()]
}

fn name(results: &Results, system: &str) -> String {
    results
        .system(system)
        .map_or(system.to_string(), |s| s.name.clone())
}

pub fn figures(r: &Results) -> Vec<Figure> {
    let mut out = Vec::new();
    // Poll curves: one series per (system, transport).
    let mut curves: Vec<(String, String)> = Vec::new();
    for p in &r.closed {
        let key = (p.system.clone(), p.transport.clone());
        if !curves.contains(&key) {
            curves.push(key);
        }
    }
    let transport_variant = |t: &str| match t {
        "onion XChaCha20" => 0,
        "plain HTTP" => 1,
        _ => 2,
    };
    let curve = |metric: fn(&super::results::ClosedPoint) -> f64| -> Vec<Series> {
        curves
            .iter()
            .map(|(system, transport)| {
                let thin = transport != "onion XChaCha20";
                Series {
                    name: format!("{} · {transport}", name(r, system)),
                    points: r
                        .closed
                        .iter()
                        .filter(|p| &p.system == system && &p.transport == transport)
                        .map(|p| (p.concurrency as f64, metric(p)))
                        .collect(),
                    color: color(
                        r,
                        system,
                        if system.starts_with("ours-pg") || system == "pysogs" {
                            transport_variant(transport)
                        } else {
                            0
                        },
                    ),
                    thin,
                }
            })
            .collect()
    };
    out.push(Figure {
        name: "poll-throughput",
        section: Section::Poll,
        chart: Chart {
            title: "Session polls answered per second, by requests in flight".into(),
            x_label: "polls in flight (closed loop)".into(),
            y_label: "polls / s (log)".into(),
            x_scale: Scale::Log,
            y_scale: Scale::Log,
            series: curve(|p| p.throughput),
            goal: None,
        },
        caption: "Each point: the generator keeps N polls in flight for a few seconds. \
                  Thick lines are onion v4 XChaCha20 (what Session clients send); thin ones \
                  plain HTTP or AES-GCM. Both axes are logarithmic, so equal gaps are equal \
                  ratios."
            .into(),
    });
    out.push(Figure {
        name: "poll-latency",
        section: Section::Poll,
        chart: Chart {
            title: "Poll latency p99, by requests in flight".into(),
            x_label: "polls in flight (closed loop)".into(),
            y_label: "p99 latency, ms (log)".into(),
            x_scale: Scale::Log,
            y_scale: Scale::Log,
            series: curve(|p| p.latency.p99_ms),
            goal: None,
        },
        caption: "Closed-loop latency grows with the queue the generator itself builds \
                  (Little's law: in flight ÷ throughput); the open-loop plots below show \
                  latency at a given load instead."
            .into(),
    });

    // Open loop: latency against offered rate, and the HDR percentile spectrum.
    let open_systems: Vec<String> = dedup(r.open.iter().map(|p| p.system.clone()));
    let mut series = Vec::new();
    for system in &open_systems {
        for (label, thin, metric) in [
            (
                "p99",
                false,
                (|l: &super::results::Latency| l.p99_ms) as fn(&_) -> f64,
            ),
            ("p50", true, |l: &super::results::Latency| l.p50_ms),
        ] {
            series.push(Series {
                name: format!("{} · {label}", name(r, system)),
                points: r
                    .open
                    .iter()
                    .filter(|p| &p.system == system && !p.equal_rate)
                    .map(|p| (p.offered_rate, metric(&p.latency)))
                    .collect(),
                color: color(r, system, 0),
                thin,
            });
        }
    }
    out.push(Figure {
        name: "open-loop-latency",
        section: Section::OpenLoop,
        chart: Chart {
            title: "Onion poll latency at a fixed arrival rate (open loop)".into(),
            x_label: "polls offered per second (log)".into(),
            y_label: "latency, ms (log)".into(),
            x_scale: Scale::Log,
            y_scale: Scale::Log,
            series,
            goal: Some((r.p99_goal_ms, format!("{} ms", r.p99_goal_ms))),
        },
        caption: "Polls are sent at fixed times whatever the server does, and each is timed \
                  from when it was due (as wrk2 does), so queueing shows: past a server's \
                  capacity the latency climbs steeply."
            .into(),
    });
    let mut spectrum = Vec::new();
    for system in &open_systems {
        for (variant, fraction) in [(0usize, 0.5), (1, 0.9)] {
            let Some(p) = r
                .open
                .iter()
                .filter(|p| &p.system == system && !p.equal_rate)
                .min_by(|a, b| {
                    (a.fraction_of_peak - fraction)
                        .abs()
                        .total_cmp(&(b.fraction_of_peak - fraction).abs())
                })
            else {
                continue;
            };
            if spectrum
                .iter()
                .any(|s: &Series| s.name.ends_with(&format!("{:.0} /s", p.offered_rate)))
            {
                continue;
            }
            spectrum.push(Series {
                name: format!(
                    "{} · {:.0}% of peak, {:.0} /s",
                    name(r, system),
                    p.fraction_of_peak * 100.0,
                    p.offered_rate
                ),
                points: p
                    .latency
                    .distribution
                    .iter()
                    .filter(|(q, _)| *q < 1.0)
                    .map(|&(q, ms)| (percentile_x(q), ms))
                    .collect(),
                color: color(r, system, variant),
                thin: variant == 1,
            });
        }
    }
    out.push(Figure {
        name: "latency-percentiles",
        section: Section::OpenLoop,
        chart: Chart {
            title: "Latency by percentile (HDR histogram), open loop".into(),
            x_label: "percentile".into(),
            y_label: "latency, ms (log)".into(),
            x_scale: Scale::Percentile,
            y_scale: Scale::Log,
            series: spectrum,
            goal: None,
        },
        caption: "The whole distribution, from the HDR histogram: the right end is the \
                  slowest one in a hundred, a thousand, ten thousand polls."
            .into(),
    });

    equal_rates(r, &open_systems, &mut out);
    big_rooms(r, &mut out);

    // Mixed load.
    let mixed_systems = dedup(r.mixed.iter().map(|p| p.system.clone()));
    let mut series = Vec::new();
    for system in &mixed_systems {
        let mut points: Vec<(f64, f64)> = r
            .mixed
            .iter()
            .filter(|p| &p.system == system)
            .map(|p| (p.clients, p.latency.p99_ms))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        series.push(Series {
            name: format!("{} · p99", name(r, system)),
            points,
            color: color(r, system, 0),
            thin: false,
        });
    }
    out.push(Figure {
        name: "mixed-capacity",
        section: Section::Mixed,
        chart: Chart {
            title: "Session-shaped load: p99 latency by concurrent clients".into(),
            x_label:
                "Session clients (each polls 3 rooms every 4–10 s; 1% posts, reactions, downloads)"
                    .into(),
            y_label: "p99 latency, ms (log)".into(),
            x_scale: Scale::Log,
            y_scale: Scale::Log,
            series,
            goal: Some((r.p99_goal_ms, format!("goal: p99 < {} ms", r.p99_goal_ms))),
        },
        caption: "Each point is an open-loop run at the rate those clients make (clients ÷ 7 s). \
                  The capacity is the most clients whose requests stay under the goal line."
            .into(),
    });

    // Memory.
    let rss_systems = dedup(r.rss.iter().map(|s| s.system.clone()));
    out.push(Figure {
        name: "rss-over-time",
        section: Section::Memory,
        chart: Chart {
            title: "Server memory (RSS) during the run".into(),
            x_label: "seconds since the start of the run".into(),
            y_label: "resident memory, MiB".into(),
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            series: rss_systems
                .iter()
                .map(|system| Series {
                    name: name(r, system),
                    points: r
                        .rss
                        .iter()
                        .filter(|s| &s.system == system)
                        .map(|s| (s.seconds, s.rss_mib))
                        .collect(),
                    color: color(r, system, 0),
                    thin: true,
                })
                .collect(),
            goal: None,
        },
        caption: "Sampled every second, whole process trees (PySOGS: uwsgi's master, \
                  workers, HTTP router and mule). The phases are in results.json."
            .into(),
    });
    let known_systems = dedup(r.known_users.iter().map(|p| p.system.clone()));
    out.push(Figure {
        name: "rss-known-users",
        section: Section::Memory,
        chart: Chart {
            title: "Server memory by users known to the server".into(),
            x_label: "known users (each polled at least once)".into(),
            y_label: "resident memory, MiB".into(),
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            series: known_systems
                .iter()
                .map(|system| Series {
                    name: name(r, system),
                    points: r
                        .known_users
                        .iter()
                        .filter(|p| &p.system == system)
                        .map(|p| (p.known_users as f64, p.rss_mib))
                        .collect(),
                    color: color(r, system, 0),
                    thin: false,
                })
                .collect(),
            goal: None,
        },
        caption: "New users poll once each (the server creates their rows and caches), then \
                  memory is read."
            .into(),
    });

    // Soak.
    if !r.soak.is_empty() {
        let minutes = |f: fn(&super::results::SoakBucket) -> f64| -> Vec<(f64, f64)> {
            r.soak
                .iter()
                .map(|b| (b.start_seconds / 60.0, f(b)))
                .collect()
        };
        let system = r.soak[0].system.clone();
        out.push(Figure {
            name: "soak",
            section: Section::Soak,
            chart: Chart {
                title: "Soak: p99 latency and memory per bucket".into(),
                x_label: "minutes into the soak".into(),
                y_label: "p99 ms / RSS MiB".into(),
                x_scale: Scale::Linear,
                y_scale: Scale::Linear,
                series: vec![
                    Series {
                        name: "p99 latency, ms".into(),
                        points: minutes(|b| b.latency.p99_ms),
                        color: color(r, &system, 0),
                        thin: false,
                    },
                    Series {
                        name: "RSS, MiB".into(),
                        points: minutes(|b| b.rss_mib),
                        color: color(r, &system, 1),
                        thin: false,
                    },
                ],
                goal: None,
            },
            caption: "Flat lines are the goal: no slow leak of memory, no latency creeping up."
                .into(),
        });
        out.push(Figure {
            name: "soak-throughput",
            section: Section::Soak,
            chart: Chart {
                title: "Soak: requests answered per second, per bucket".into(),
                x_label: "minutes into the soak".into(),
                y_label: "requests / s".into(),
                x_scale: Scale::Linear,
                y_scale: Scale::Linear,
                series: vec![Series {
                    name: name(r, &system),
                    points: minutes(|b| b.achieved_rate),
                    color: color(r, &system, 0),
                    thin: false,
                }],
                goal: None,
            },
            caption: "At a fixed arrival rate, answered/s equals offered/s while the server \
                      keeps up."
                .into(),
        });
    }
    out
}

/// The open-loop points at the rates every system got alike: both servers on one chart.
fn equal_rates(r: &Results, systems: &[String], out: &mut Vec<Figure>) {
    let mut series = Vec::new();
    for system in systems {
        for (label, thin, metric) in [
            (
                "p99",
                false,
                (|l: &super::results::Latency| l.p99_ms) as fn(&_) -> f64,
            ),
            ("p50", true, |l: &super::results::Latency| l.p50_ms),
        ] {
            let mut points: Vec<(f64, f64)> = r
                .open
                .iter()
                .filter(|p| &p.system == system && p.equal_rate)
                .map(|p| (p.offered_rate, metric(&p.latency)))
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            series.push(Series {
                name: format!("{} · {label}", name(r, system)),
                points,
                color: color(r, system, 0),
                thin,
            });
        }
    }
    out.push(Figure {
        name: "open-loop-equal-rates",
        section: Section::EqualRates,
        chart: Chart {
            title: "Onion poll latency at the same arrival rates for every server (open loop)"
                .into(),
            x_label: "polls offered per second (the same for each server)".into(),
            y_label: "latency, ms (log)".into(),
            x_scale: Scale::Linear,
            y_scale: Scale::Log,
            series,
            goal: Some((r.p99_goal_ms, format!("{} ms", r.p99_goal_ms))),
        },
        caption: "The same loads for both: rates the reference server can sustain, so the \
                  gap between the lines is the latency each server adds at equal load, not \
                  at equal shares of unequal peaks."
            .into(),
    });
}

/// Throughput and p99 of polls and joins by the size of the room.
fn big_rooms(r: &Results, out: &mut Vec<Figure>) {
    let keys: Vec<(String, String)> = {
        let mut keys = Vec::new();
        for p in &r.big_rooms {
            let key = (p.system.clone(), p.request.clone());
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys
    };
    let series_of = |metric: fn(&super::results::BigRoomPoint) -> f64| -> Vec<Series> {
        keys.iter()
            .map(|(system, request)| {
                let mut points: Vec<(f64, f64)> = r
                    .big_rooms
                    .iter()
                    .filter(|p| &p.system == system && &p.request == request)
                    .map(|p| (p.messages as f64, metric(p)))
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                Series {
                    name: format!(
                        "{} · {}",
                        name(r, system),
                        if request == "poll" {
                            "poll (since latest)"
                        } else {
                            "join (recent)"
                        }
                    ),
                    points,
                    color: color(r, system, usize::from(request != "poll")),
                    thin: request != "poll",
                }
            })
            .collect()
    };
    let concurrency = r.big_rooms.first().map_or(0, |p| p.concurrency);
    out.push(Figure {
        name: "big-rooms-throughput",
        section: Section::BigRooms,
        chart: Chart {
            title: "Polls and joins per second by messages in the room".into(),
            x_label: "messages in the room (log)".into(),
            y_label: "requests / s (log)".into(),
            x_scale: Scale::Log,
            y_scale: Scale::Log,
            series: series_of(|p| p.throughput),
            goal: None,
        },
        caption: format!(
            "Closed loop, {concurrency} onion requests in flight. A flat line: the request \
              costs the same whatever the room's size (an index seek, not a scan)."
        ),
    });
    out.push(Figure {
        name: "big-rooms-latency",
        section: Section::BigRooms,
        chart: Chart {
            title: "p99 of polls and joins by messages in the room".into(),
            x_label: "messages in the room (log)".into(),
            y_label: "p99 latency, ms (log)".into(),
            x_scale: Scale::Log,
            y_scale: Scale::Log,
            series: series_of(|p| p.latency.p99_ms),
            goal: None,
        },
        caption: "The same runs: p99 with the generator's own queue included (closed loop).".into(),
    });
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}
