//! The report page: one self-contained HTML file (styles and SVG plots inline, no script, no
//! external asset), readable offline and attachable to an issue.

use std::fmt::Write as _;

use super::figures::{Figure, Section};
use super::plots::group_thousands;
use super::results::{Latency, Results};
use super::summary::Row;

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:980px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.2em}h2{margin-top:2.2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.meta{color:#666;margin-top:0}
.headline{background:#f3f7fb;border-left:4px solid #1f77b4;padding:.8em 1.2em;font-size:1.12em}
.headline p{margin:.35em 0}
table{border-collapse:collapse;margin:1em 0;font-size:.92em}
th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f6f6f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1.5em 0}figure svg{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.92em}
.bad{color:#b00}.good{color:#070}
code,pre{background:#f6f6f6;padding:.1em .3em;border-radius:3px}
pre{padding:.6em;overflow-x:auto}
";

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn page(r: &Results, rows: &[Row], figures: &[(Figure, Option<String>)]) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>sogs-rs load-test report, {}</title><style>{STYLE}</style></head><body>\n",
        esc(&r.machine.started_utc)
    );
    let _ = write!(
        h,
        "<h1>sogs-rs load-test report</h1>\n<p class=\"meta\">{} · {:.0} s · sogs-loadtest {} · \
         {} core{} ({}) · load average {:.2} before, {:.2} after</p>\n",
        esc(&r.machine.started_utc),
        r.machine.seconds,
        esc(&r.machine.version),
        r.machine.cores,
        if r.machine.cores == 1 { "" } else { "s" },
        esc(&r.machine.cpu_model),
        r.machine.load_before[0],
        r.machine.load_after[0],
    );
    headline(&mut h, r);

    h.push_str("<h2>Summary</h2>\n<table><tr><th>scenario</th><th>sogs-rs</th><th>PySOGS</th><th>ratio</th></tr>\n");
    for row in rows {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&row.scenario),
            esc(&row.ours),
            esc(&row.pysogs),
            esc(&row.ratio)
        );
    }
    h.push_str("</table>\n");
    if !r.pysogs_cannot.is_empty() {
        h.push_str("<p><b>What PySOGS could not do in this run:</b></p><ul>\n");
        for c in &r.pysogs_cannot {
            let _ = writeln!(h, "<li>{}</li>", esc(c));
        }
        h.push_str("</ul>\n");
    }

    machine(&mut h, r);

    h.push_str(
        "<h2>Polls: throughput and latency by concurrency</h2>\n<p>The poll every Session \
         client sends every few seconds: one <code>/batch</code> of <code>capabilities</code>, \
         <code>pollInfo</code> and <code>messages/since</code> for each of 3 rooms, <code>inbox</code> \
         and <code>outbox</code>, signed by a blinded user, inside an onion v4 request (or as plain \
         HTTP). Requests are built, signed and sealed before the clock starts. Every sub-request \
         must answer below 400 to count.</p>\n",
    );
    figures_of(&mut h, figures, Section::Poll);
    closed_table(&mut h, r);

    h.push_str(
        "<h2>Open loop: latency at a fixed arrival rate</h2>\n<p>A closed loop sends the \
         next request only when one returns, so when the server stalls the generator waits \
         with it and the stall is timed once, not once per request that would have waited \
         (coordinated omission). Here polls go out on a fixed schedule at a share of each \
         server's own closed-loop peak, and each is timed from when it was due.</p>\n",
    );
    figures_of(&mut h, figures, Section::OpenLoop);
    open_table(&mut h, r, false);

    if r.open.iter().any(|p| p.equal_rate) {
        h.push_str(
            "<h2>Open loop at the same rates for every server</h2>\n<p>The same onion poll, \
             offered at the same absolute rates to each server (rates the reference server \
             can sustain), so latencies compare at equal load.</p>\n",
        );
        figures_of(&mut h, figures, Section::EqualRates);
        open_table(&mut h, r, true);
    }

    if !r.big_rooms.is_empty() {
        h.push_str(
            "<h2>Rooms of many messages</h2>\n<p>Rooms filled straight into each server's \
             database before the measurements (see the notes for how long that took), then, \
             in a closed loop over onion v4: the steady <b>poll</b> (capabilities, \
             <code>pollInfo</code>, <code>messages/since</code> at the latest seqno, inbox, \
             outbox), which finds nothing new, and what a client that <b>joins</b> asks first \
             (the room's details and <code>messages/recent</code>, 100 messages).</p>\n",
        );
        figures_of(&mut h, figures, Section::BigRooms);
        big_rooms_table(&mut h, r);
    }

    if !r.raid.is_empty() {
        raid_section(&mut h, r);
    }

    if !r.hostile.is_empty() {
        hostile_section(&mut h, r);
    }

    h.push_str(
        "<h2>Session-shaped mixed load: how many clients one instance holds</h2>\n<p>Each \
         client polls its 3 rooms every 4–10 s (7 s on average) over onion v4; about 1% of the \
         requests are posts, 1% reactions, 1% file downloads (a 16 KiB file). N clients make \
         N ÷ 7 requests per second, sent in an open loop; the search steps N up until the p99 \
         passes the goal (or more than 0.1% of requests fail), then tries once in between. \
         The clients are played by a pool of users who have each polled before.</p>\n",
    );
    figures_of(&mut h, figures, Section::Mixed);
    mixed_table(&mut h, r);

    if !r.post_visible.is_empty() {
        h.push_str(
            "<h2>Post → visible</h2>\n<p>From the 201 of a post to the first \
             <code>messages/since</code> answer that holds it, read in a tight loop (so the \
             figure includes up to one poll round trip, its resolution).</p>\n<table><tr>\
             <th>system</th><th>posted via</th><th>read via</th><th>samples</th><th>p50 ms</th>\
             <th>p99 ms</th><th>max ms</th><th>resolution ms</th><th>errors</th></tr>\n",
        );
        for p in &r.post_visible {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{:.2}</td>\
                 <td class=\"n\">{:.2}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.2}</td><td>{}</td></tr>",
                esc(&system_name(r, &p.system)),
                esc(&p.post_via),
                esc(&p.read_via),
                p.latency.count,
                p.latency.p50_ms,
                p.latency.p99_ms,
                p.latency.max_ms,
                p.resolution_ms,
                errors(&p.latency)
            );
        }
        h.push_str("</table>\n");
    }

    h.push_str("<h2>Memory</h2>\n");
    figures_of(&mut h, figures, Section::Memory);
    if !r.known_users.is_empty() {
        h.push_str("<table><tr><th>system</th><th>known users (≈)</th><th>RSS MiB</th></tr>\n");
        for p in &r.known_users {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1}</td></tr>",
                esc(&system_name(r, &p.system)),
                group_thousands(p.known_users as i64),
                p.rss_mib
            );
        }
        h.push_str("</table>\n");
    }

    if !r.soak.is_empty() {
        h.push_str("<h2>Soak</h2>\n");
        figures_of(&mut h, figures, Section::Soak);
        h.push_str(
            "<table><tr><th>bucket</th><th>start s</th><th>offered /s</th><th>answered /s</th>\
             <th>p50 ms</th><th>p99 ms</th><th>max ms</th><th>RSS MiB</th><th>errors</th></tr>\n",
        );
        for b in &r.soak {
            let _ = writeln!(
                h,
                "<tr><td class=\"n\">{}</td><td class=\"n\">{:.0}</td><td class=\"n\">{:.0}</td>\
                 <td class=\"n\">{:.0}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.2}</td>\
                 <td class=\"n\">{:.2}</td><td class=\"n\">{:.1}</td><td>{}</td></tr>",
                b.index + 1,
                b.start_seconds,
                b.offered_rate,
                b.achieved_rate,
                b.latency.p50_ms,
                b.latency.p99_ms,
                b.latency.max_ms,
                b.rss_mib,
                errors(&b.latency)
            );
        }
        h.push_str("</table>\n");
    }

    h.push_str("<h2>Systems measured</h2>\n<table><tr><th>system</th><th>set-up</th><th>instances</th></tr>\n");
    for s in &r.systems {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.name),
            esc(&s.backend),
            esc(&s.bases.join(", "))
        );
    }
    h.push_str("</table>\n");
    if !r.skipped.is_empty() {
        h.push_str("<p><b>Not measured in this run:</b></p><ul>\n");
        for s in &r.skipped {
            let _ = writeln!(h, "<li>{}</li>", esc(s));
        }
        h.push_str("</ul>\n");
    }
    if !r.notes.is_empty() {
        h.push_str("<h2>Notes</h2>\n<ul>\n");
        for n in &r.notes {
            let _ = writeln!(h, "<li>{}</li>", esc(n));
        }
        h.push_str("</ul>\n");
    }
    let _ = write!(
        h,
        "<h2>Reproduce</h2>\n<pre>{}</pre>\n<p>Raw numbers: <code>results.json</code> (everything, \
         with latency distributions) and <code>points.csv</code> (one row per run) beside this \
         page; the plots are also in <code>plots/</code>.</p>\n</body></html>\n",
        esc(&r.machine.command)
    );
    h
}

fn headline(h: &mut String, r: &Results) {
    let cap = |key: &str| {
        r.capacity
            .iter()
            .find(|c| c.system == key)
            .and_then(|c| c.clients)
    };
    let mut lines = Vec::new();
    if let Some(ours) = cap("ours-sqlite") {
        let mut line = format!(
            "One sogs-rs instance on SQLite holds <b>≈ {} Session clients</b> within p99 &lt; {} ms on \
             this {}-core machine (generator included)",
            group_thousands(ours.round() as i64),
            r.p99_goal_ms,
            r.machine.cores
        );
        if let Some(theirs) = cap("pysogs") {
            let _ = write!(
                line,
                "; PySOGS under uwsgi holds ≈ {}: <b>{:.0}× more</b>",
                group_thousands(theirs.round() as i64),
                ours / theirs.max(1e-9)
            );
        }
        line.push('.');
        lines.push(line);
    }
    if let Some(ours) = r.peak("ours-sqlite", "onion XChaCha20") {
        let mut line = format!(
            "Onion v4 polls: <b>{} /s</b> at best",
            group_thousands(ours.throughput.round() as i64)
        );
        if let Some(theirs) = r.peak("pysogs", "onion XChaCha20") {
            let _ = write!(
                line,
                " against PySOGS's {} /s: <b>{:.0}×</b>",
                group_thousands(theirs.throughput.round() as i64),
                ours.throughput / theirs.throughput.max(1e-9)
            );
        }
        line.push('.');
        lines.push(line);
    }
    let cluster: Vec<String> = (1..=3)
        .filter_map(|n| {
            r.peak(&format!("ours-pg{n}"), "onion XChaCha20")
                .map(|p| format!("{n} → {}", group_thousands(p.throughput.round() as i64)))
        })
        .collect();
    if cluster.len() > 1 {
        lines.push(format!(
            "Instances on PostgreSQL + Redis, onion polls/s: {} (all on the same {} cores, so \
             more instances share the same CPU here).",
            cluster.join(", "),
            r.machine.cores
        ));
    }
    if lines.is_empty() {
        return;
    }
    h.push_str("<div class=\"headline\">\n");
    for l in lines {
        let _ = writeln!(h, "<p>{l}</p>");
    }
    h.push_str("</div>\n");
}

fn machine(h: &mut String, r: &Results) {
    let m = &r.machine;
    let load = |l: [f64; 3]| format!("{:.2} / {:.2} / {:.2}", l[0], l[1], l[2]);
    let _ = write!(
        h,
        "<h2>Machine</h2>\n<table>\
         <tr><th>CPU</th><td>{}</td></tr>\
         <tr><th>cores</th><td>{}</td></tr>\
         <tr><th>memory</th><td>{:.1} GiB</td></tr>\
         <tr><th>kernel</th><td>{}</td></tr>\
         <tr><th>load average (1 / 5 / 15 min) before</th><td>{}</td></tr>\
         <tr><th>load average after</th><td>{}</td></tr>\
         <tr><th>started</th><td>{}</td></tr>\
         <tr><th>duration</th><td>{:.0} s</td></tr>\
         </table>\n<p>The load generator runs on the same machine as the servers: every figure \
         is what the servers do with the CPU the generator leaves them. A load average above \
         the core count before the run means other work shared the machine.</p>\n",
        esc(&m.cpu_model),
        m.cores,
        m.memory_gib,
        esc(&m.kernel),
        load(m.load_before),
        load(m.load_after),
        esc(&m.started_utc),
        m.seconds
    );
}

fn figures_of(h: &mut String, figures: &[(Figure, Option<String>)], section: Section) {
    for (figure, svg) in figures.iter().filter(|(f, _)| f.section == section) {
        let Some(svg) = svg else { continue };
        // The SVG document minus its XML declaration, inline.
        let body = svg.find("<svg").map_or(svg.as_str(), |start| &svg[start..]);
        let _ = writeln!(
            h,
            "<figure id=\"{}\">{body}<figcaption>{}</figcaption></figure>",
            figure.name,
            esc(&figure.caption)
        );
    }
}

fn system_name(r: &Results, key: &str) -> String {
    r.system(key).map_or(key.to_string(), |s| s.name.clone())
}

fn errors(l: &Latency) -> String {
    if l.errors.is_empty() {
        return "none".into();
    }
    let text = l
        .errors
        .iter()
        .map(|(k, n)| format!("{} ×{n}", esc(k)))
        .collect::<Vec<_>>()
        .join(", ");
    format!("<span class=\"bad\">{text}</span>")
}

fn closed_table(h: &mut String, r: &Results) {
    h.push_str(
        "<table><tr><th>system</th><th>transport</th><th>in flight</th><th>polls/s</th>\
         <th>p50 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>polls</th><th>errors</th></tr>\n",
    );
    for p in &r.closed {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{:.2}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.2}</td>\
             <td class=\"n\">{:.2}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&system_name(r, &p.system)),
            esc(&p.transport),
            p.concurrency,
            group_thousands(p.throughput.round() as i64),
            p.latency.p50_ms,
            p.latency.p99_ms,
            p.latency.p999_ms,
            p.latency.max_ms,
            p.latency.count,
            errors(&p.latency)
        );
    }
    h.push_str("</table>\n");
}

/// The open-loop points at shares of each server's peak, or (`equal_rate`) at the rates
/// every server got alike.
fn open_table(h: &mut String, r: &Results, equal_rate: bool) {
    if !r.open.iter().any(|p| p.equal_rate == equal_rate) {
        return;
    }
    h.push_str(
        "<table><tr><th>system</th><th>share of peak</th><th>offered /s</th><th>answered /s</th>\
         <th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>errors</th></tr>\n",
    );
    for p in r.open.iter().filter(|p| p.equal_rate == equal_rate) {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"n\">{:.0}%</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{:.2}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.2}</td>\
             <td class=\"n\">{:.2}</td><td class=\"n\">{:.2}</td><td>{}</td></tr>",
            esc(&system_name(r, &p.system)),
            p.fraction_of_peak * 100.0,
            group_thousands(p.offered_rate.round() as i64),
            group_thousands(p.achieved_rate.round() as i64),
            p.latency.p50_ms,
            p.latency.p90_ms,
            p.latency.p99_ms,
            p.latency.p999_ms,
            p.latency.max_ms,
            errors(&p.latency)
        );
    }
    h.push_str("</table>\n");
}

fn big_rooms_table(h: &mut String, r: &Results) {
    h.push_str(
        "<table><tr><th>system</th><th>messages in the room</th><th>request</th>\
         <th>in flight</th><th>requests/s</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th>\
         <th>requests</th><th>errors</th></tr>\n",
    );
    for p in &r.big_rooms {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.2}</td>\
             <td class=\"n\">{:.2}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&system_name(r, &p.system)),
            group_thousands(p.messages as i64),
            esc(&p.request),
            p.concurrency,
            group_thousands(p.throughput.round() as i64),
            p.latency.p50_ms,
            p.latency.p99_ms,
            p.latency.max_ms,
            p.latency.count,
            errors(&p.latency)
        );
    }
    h.push_str("</table>\n");
}

fn raid_section(h: &mut String, r: &Results) {
    let first = &r.raid[0];
    let _ = write!(
        h,
        "<h2>Raid</h2>\n<p>Issue 14's raid: {} regular users poll <code>messages/since</code> \
         (plain HTTP) and post now and then, while {} fresh Session IDs each post one disguised \
         copy of a spam line (a random fancy alphabet, look-alike letters, zero-width \
         characters, emoji) within {:.0} s. Against two fresh servers of ours on SQLite, one \
         with the defaults' defences (flood and raid detection) and one with both off, posts \
         not rate-limited; and against PySOGS, which has no such defence. <i>Reached \
         readers</i>: raid posts any regular's poll received.</p>\n\
         <table><tr><th>server</th><th>defences</th><th>raid posts stored</th>\
         <th>reached readers</th><th>… after the first 20</th><th>refused (status ×n)</th>\
         <th>automatic lockdown after</th><th>regulars' posts refused</th>\
         <th>honest polls p50 / p99 ms</th><th>regulars' posts p50 / p99 ms</th>\
         <th>poll errors</th></tr>\n",
        first.regulars,
        group_thousands(first.raiders as i64),
        first.raid_span_secs
    );
    for p in &r.raid {
        let refused = p
            .raid_refused
            .iter()
            .map(|(status, n)| format!("{status} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let reasons = if p.false_positive_reasons.is_empty() {
            String::new()
        } else {
            format!(" (e.g. {})", p.false_positive_reasons.join("; "))
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{} of {}</td><td class=\"n\">{} \
             ({:.2} %)</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{} of {}{}</td>\
             <td class=\"n\">{:.2} / {:.2}</td><td class=\"n\">{:.2} / {:.2}</td><td>{}</td></tr>",
            esc(&system_name(r, &p.system)),
            esc(&p.defences),
            group_thousands(p.raid_accepted as i64),
            group_thousands(p.raiders as i64),
            group_thousands(p.raid_seen as i64),
            p.seen_share() * 100.0,
            p.raid_seen_after_20,
            if refused.is_empty() {
                "none".into()
            } else {
                esc(&refused)
            },
            p.lockdown_after_secs
                .map_or("never".to_string(), |s| format!("{s:.1} s")),
            p.false_positives,
            p.regular_posts,
            esc(&reasons),
            p.poll_latency.p50_ms,
            p.poll_latency.p99_ms,
            p.post_latency.p50_ms,
            p.post_latency.p99_ms,
            errors(&p.poll_latency)
        );
    }
    h.push_str("</table>\n");
}

fn hostile_section(h: &mut String, r: &Results) {
    let first = &r.hostile[0];
    let _ = write!(
        h,
        "<h2>Hostile load</h2>\n<p>Issue 23's attacks against a fresh server of ours on SQLite \
         with the defaults: honest Session clients keep polling (the onion v4 batch: \
         capabilities, pollInfo, messages/since, inbox, outbox) while one attacker runs each \
         pattern in turn for {:.0} s — a <code>/batch</code> of 40 listings of a room of large \
         messages, an onion request with 80,000 inner headers, a post naming 100,000 files, \
         slow and lying senders, batches of 1,000 sub-requests, bytes that are not HTTP, and \
         signed requests as fast as the server answers — then a quiet phase. The goal: honest \
         p99 within 2× of the phase with no attack, memory under 256 MB. PySOGS is not \
         attacked (the patterns aim at this server's limits). A one-hour soak of the same \
         scenario is in BENCHMARKS.md.</p>\n\
         <table><tr><th>attack</th><th>honest polls</th><th>p50 ms</th><th>p99 ms</th>\
         <th>p99 vs no attack</th><th>honest errors</th><th>the attacker got</th>\
         <th>RSS peak MiB</th><th>RSS at the end MiB</th></tr>\n",
        first.phase_secs
    );
    for p in &r.hostile {
        let attacker = p
            .attacker
            .iter()
            .map(|(k, n)| format!("{k} ×{}", group_thousands(*n as i64)))
            .collect::<Vec<_>>()
            .join(", ");
        let ratio = p.p99_vs_none.map_or("–".into(), |x| {
            let class = if x <= 2.0 { "good" } else { "bad" };
            format!("<span class=\"{class}\">{x:.2}×</span>")
        });
        let mib = |m: Option<f64>| m.map_or("–".into(), |m| format!("{m:.0}"));
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{:.2}</td>\
             <td class=\"n\">{:.2}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&p.attack),
            group_thousands(p.honest.count as i64),
            p.honest.p50_ms,
            p.honest.p99_ms,
            ratio,
            errors(&p.honest),
            if attacker.is_empty() {
                "–".into()
            } else {
                esc(&attacker)
            },
            mib(p.rss_peak_mib),
            mib(p.rss_end_mib),
        );
    }
    h.push_str("</table>\n");
}

fn mixed_table(h: &mut String, r: &Results) {
    if r.mixed.is_empty() {
        return;
    }
    h.push_str(
        "<table><tr><th>system</th><th>clients</th><th>requests/s</th><th>answered /s</th>\
         <th>posts · reactions · downloads</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th>\
         <th>errors</th><th>within goal</th></tr>\n",
    );
    for p in &r.mixed {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{:.0}</td><td class=\"n\">{:.0}</td>\
             <td class=\"n\">{} · {} · {}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.2}</td>\
             <td class=\"n\">{:.2}</td><td>{}</td><td>{}</td></tr>",
            esc(&system_name(r, &p.system)),
            group_thousands(p.clients.round() as i64),
            p.rate,
            p.achieved_rate,
            p.mix.posts,
            p.mix.reactions,
            p.mix.downloads,
            p.latency.p50_ms,
            p.latency.p99_ms,
            p.latency.max_ms,
            errors(&p.latency),
            if p.within_goal {
                "<span class=\"good\">yes</span>"
            } else {
                "<span class=\"bad\">no</span>"
            }
        );
    }
    h.push_str("</table>\n");
    if !r.capacity.is_empty() {
        h.push_str("<table><tr><th>system</th><th>clients within the goal</th><th>at p99 ms</th><th>first step past it</th></tr>\n");
        for c in &r.capacity {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&system_name(r, &c.system)),
                c.clients
                    .map_or("none".into(), |v| group_thousands(v.round() as i64)),
                c.p99_ms.map_or("–".into(), |v| format!("{v:.2}")),
                c.first_miss_clients
                    .map_or("not reached".into(), |v| group_thousands(v.round() as i64)),
            );
        }
        h.push_str("</table>\n");
    }
}
