//! Hostile requests (issue 23): each one needs no account and one request, and each used to
//! cost the server unbounded memory, time or locks. Every story sends the attack over real
//! HTTP and checks the clear 4xx, the bounded size and the metric that counts it; nothing
//! here measures time (the load test in `loadtests/` measures what honest users see).

use std::time::Duration;

use serde_json::{Value, json};
use sogs::crypto::EncType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::community::{Community, b64, id_of};
use crate::support::Backend;

/// The count of `sogs_limit_rejections_total{limit}` in the app's metrics.
fn rejections(c: &Community, limit: &str) -> u64 {
    let needle = format!("sogs_limit_rejections_total{{limit=\"{limit}\"}} ");
    c.app
        .state
        .metrics
        .render()
        .lines()
        .find_map(|l| l.strip_prefix(&needle))
        .map_or(0, |n| n.trim().parse().unwrap())
}

fn recent(limit: usize) -> Value {
    json!({"method": "GET", "path": format!("/room/lobby/messages/recent?limit={limit}")})
}

/// Issue 23 §1: 40 × `recent?limit=256` over rooms of large messages took 3.7 GB. Now a
/// message is at most `max_message_bytes`, and the reply is serialised as it goes and
/// refused (413) the moment it outgrows `max_reply_bytes`.
async fn a_batch_of_large_listings_gets_413_instead_of_growing_without_bound(backend: Backend) {
    const MAX_REPLY: usize = 512 * 1024;
    let c = Community::with_config(backend, |config| {
        config.limits.max_reply_bytes = MAX_REPLY as u64;
    })
    .await;
    let admin = c.admin().await; // exempt from the post rate limit
    let max_message = c.app.config.limits.max_message_bytes as usize;
    for i in 0..5u8 {
        c.post(&admin, &vec![i + 1; max_message]).await;
    }
    let res = c.try_post(&admin, &vec![9; max_message + 1]).await;
    assert_eq!(res.status, 413, "{}", res.text());
    assert!(res.text().contains("Size of the message"), "{}", res.text());
    assert_eq!(rejections(&c, "message_bytes"), 1);

    let user = c.user().await;
    let res = user.batch(&vec![recent(256); 40]).await.unwrap();
    assert_eq!(res.status, 413, "{}", res.text());
    assert!(res.text().contains("batch reply"), "{}", res.text());
    let res = user.sequence(&vec![recent(256); 40]).await.unwrap();
    assert_eq!(res.status, 413);
    assert_eq!(rejections(&c, "reply_bytes"), 2);

    // What fits is served whole, and stays under the limit.
    let res = user.batch(&vec![recent(1); 3]).await.unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(res.body.len() <= MAX_REPLY);
    let elements = res.json();
    assert_eq!(elements.as_array().unwrap().len(), 3);
    for element in elements.as_array().unwrap() {
        assert_eq!(element["code"], 200);
        assert_eq!(element["body"][0]["data"], b64(&vec![5; max_message]));
    }
}
both_backends!(a_batch_of_large_listings_gets_413_instead_of_growing_without_bound);

/// Issue 23 §1, the other half: a listing is read only as far as the reply can carry it.
/// A page of large messages ends before the message that would pass `max_reply_bytes`
/// (so a listing of 256 × 64 KiB is never built whole, 22 MB, only to be refused), and a
/// client polling on from the last seqno it received gets the rest: nothing is skipped.
async fn a_listing_of_large_messages_is_cut_to_the_reply_and_polling_on_gets_the_rest(
    backend: Backend,
) {
    const MAX_REPLY: usize = 512 * 1024;
    let c = Community::with_config(backend, |config| {
        config.limits.max_reply_bytes = MAX_REPLY as u64;
    })
    .await;
    let admin = c.admin().await;
    let max_message = c.app.config.limits.max_message_bytes as usize;
    let mut posted = Vec::new();
    for i in 0..8u8 {
        posted.push(id_of(&c.post(&admin, &vec![i + 1; max_message]).await));
    }
    let user = c.user().await;

    let res = user
        .get(&c.path("/messages/recent?limit=256"))
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(res.body.len() <= MAX_REPLY, "{} bytes", res.body.len());
    let newest: Vec<i64> = res
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert!(newest.len() >= 4 && newest.len() < 8, "{newest:?}");
    let expected: Vec<i64> = posted.iter().rev().take(newest.len()).copied().collect();
    assert_eq!(newest, expected, "the newest first, none skipped");

    // Polling on from the last seqno received reaches every message, in order.
    let mut seen = Vec::new();
    let mut since = 0;
    for _ in 0..8 {
        let res = user
            .get(&c.path(&format!("/messages/since/{since}?limit=256")))
            .await
            .unwrap();
        assert_eq!(res.status, 200, "{}", res.text());
        assert!(res.body.len() <= MAX_REPLY, "{} bytes", res.body.len());
        let page = res.json();
        let page = page.as_array().unwrap();
        if page.is_empty() {
            break;
        }
        for m in page {
            seen.push(m["id"].as_i64().unwrap());
            since = m["seqno"].as_i64().unwrap();
        }
    }
    assert_eq!(seen, posted);
    // Not a refusal: nothing was counted against the reply limit.
    assert_eq!(rejections(&c, "reply_bytes"), 0);
}
both_backends!(a_listing_of_large_messages_is_cut_to_the_reply_and_polling_on_gets_the_rest);

/// Issue 23 §2 and §6: a flood of megabyte onion bodies took the memory and CPU honest
/// polls need. A body over `large_request_bytes` now waits for one of the instance's turns
/// before it is read; while every turn is taken, small requests are served at once and a
/// large one that cannot get a turn within `body_timeout_secs` gets 503 with Retry-After
/// (counted), and is served normally once a turn is free. A batch whose reply would grow
/// large takes a turn too, if one is free, and otherwise gets its listings cut.
async fn large_bodies_take_turns_and_small_requests_never_wait_for_them(backend: Backend) {
    let c = Community::with_config(backend, |config| {
        config.limits.large_request_bytes = 1024;
        config.limits.large_requests_at_once = 1;
        config.limits.body_timeout_secs = 1.0;
    })
    .await;
    let user = c.user().await;
    let large = vec![json!({"method": "GET", "path": "/capabilities"}); 60];
    assert!(serde_json::to_vec(&large).unwrap().len() > 1024);

    let admin = c.admin().await;
    let max_message = c.app.config.limits.max_message_bytes as usize;
    for i in 0..4u8 {
        c.post(&admin, &vec![i + 1; max_message]).await;
    }

    // Every turn taken (as by a flood of large bodies in progress).
    let turn = c
        .app
        .state
        .large_requests
        .clone()
        .acquire_owned()
        .await
        .unwrap();
    let small = user.batch(&large[..2]).await.unwrap();
    assert_eq!(small.status, 200, "{}", small.text());
    let (status, _) = c.get(&user, &c.path("/pollInfo/0")).await;
    assert_eq!(status, 200);
    let refused = user.batch(&large).await.unwrap();
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert!(
        refused.text().contains("large requests"),
        "{}",
        refused.text()
    );
    assert_eq!(refused.header("retry-after"), Some("5"));
    assert_eq!(rejections(&c, "large_requests"), 1);

    // Without a turn a batch's reply stays near `large_request_bytes`: its listings of
    // large messages are cut (the first sub-request to one message, the rest to nothing)
    // instead of growing to `max_reply_bytes` on every connection at once.
    let cut = user
        .batch(&[recent(256), recent(256), recent(256)])
        .await
        .unwrap();
    assert_eq!(cut.status, 200, "{}", cut.text());
    assert!(cut.body.len() < 2 * max_message, "{} bytes", cut.body.len());
    let pages: Vec<usize> = cut
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["body"].as_array().unwrap().len())
        .collect();
    assert_eq!(pages, [1, 0, 0]);
    // A listing of its own (not in a batch) is cut the same way: one message, the next
    // poll brings the rest.
    let recent_path = c.path("/messages/recent?limit=256");
    let (status, page) = c.get(&user, &recent_path).await;
    assert_eq!(status, 200);
    assert_eq!(page.as_array().unwrap().len(), 1);

    // A free turn: the same large requests are served whole.
    drop(turn);
    let whole = user.batch(&[recent(256)]).await.unwrap();
    assert_eq!(whole.status, 200, "{}", whole.text());
    assert_eq!(whole.json()[0]["body"].as_array().unwrap().len(), 4);
    let (status, page) = c.get(&user, &recent_path).await;
    assert_eq!(status, 200);
    assert_eq!(page.as_array().unwrap().len(), 4);
    let served = user.batch(&large).await.unwrap();
    assert_eq!(served.status, 200, "{}", served.text());
    assert_eq!(served.json().as_array().unwrap().len(), 60);
    assert_eq!(
        c.app.state.large_requests.available_permits(),
        1,
        "the turn came back"
    );
}
both_backends!(large_bodies_take_turns_and_small_requests_never_wait_for_them);

/// Issue 23 §2: an onion request whose inner `headers` map had 80 k entries took 15 s of a
/// worker (headers were set by scanning the list). Headers are now a map, and more than
/// `max_headers` is a 431 inside the onion reply; batch sub-requests the same, and paths
/// and queries over their limits are 414.
async fn requests_with_too_many_headers_or_too_long_targets_get_431_or_414(backend: Backend) {
    let c = Community::new(backend).await;
    let anonymous = c.anonymous();
    let mut req = anonymous.build("GET", "/capabilities", Vec::new(), None);
    for i in 0..30_000 {
        req.headers.push((format!("X-Hostile-{i}"), "v".into()));
    }
    for enc in [EncType::XChaCha20Poly1305, EncType::Aes256Gcm] {
        // 700 kB of metadata: refused before it is parsed.
        let res = anonymous.send_onion_v4(&req, enc).await.unwrap();
        assert_eq!(res.status, 431, "{}", res.text());
        assert!(res.text().contains("too large"), "{}", res.text());
    }
    // Within the metadata bound, one header over `max_headers`: counted and refused.
    let mut req_few = anonymous.build("GET", "/capabilities", Vec::new(), None);
    for i in 0..=c.app.config.limits.max_headers {
        req_few.headers.push((format!("X-Extra-{i}"), "v".into()));
    }
    let res = anonymous
        .send_onion_v4(&req_few, EncType::Aes256Gcm)
        .await
        .unwrap();
    assert_eq!(res.status, 431, "{}", res.text());
    assert!(res.text().contains("Number of headers"), "{}", res.text());
    let res = anonymous
        .send_onion_v3(&req, EncType::Aes256Gcm)
        .await
        .unwrap();
    assert_eq!(res.status, 431);

    // One header too many in a batch sub-request: that sub-request alone is refused.
    let max = c.app.config.limits.max_headers as usize;
    let headers = |n: usize| -> Value {
        (0..n)
            .map(|i| (format!("x-h{i}"), json!("v")))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let user = c.user().await;
    let res = user
        .batch(&[
            json!({"method": "GET", "path": "/capabilities", "headers": headers(max)}),
            json!({"method": "GET", "path": "/capabilities", "headers": headers(max + 1)}),
            json!({"method": "GET", "path": "/capabilities", "headers": headers(20_000)}),
        ])
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    let codes: Vec<i64> = res
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [200, 431, 431]);

    let long_path = format!("/room/{}", "a".repeat(3000));
    assert_eq!(anonymous.get(&long_path).await.unwrap().status, 414);
    let long_query = format!("/capabilities?x={}", "a".repeat(3000));
    assert_eq!(anonymous.get(&long_query).await.unwrap().status, 414);
    assert_eq!(rejections(&c, "headers"), 4);
    assert_eq!(rejections(&c, "header_bytes"), 2);
    assert_eq!(rejections(&c, "path_bytes"), 1);
    assert_eq!(rejections(&c, "query_bytes"), 1);
}
both_backends!(requests_with_too_many_headers_or_too_long_targets_get_431_or_414);

/// Issue 23 §3: a message naming 100 k file ids was accepted after 6.6 s, one UPDATE per id
/// inside the write transaction. Now a body longer than any message within the limits
/// could need is a 413 before it is parsed, more than `max_files_per_message` ids a 413
/// before any SQL, and the ids that are allowed are attached in one statement.
async fn a_message_naming_too_many_files_gets_413_and_the_allowed_ones_attach(backend: Backend) {
    let c = Community::new(backend).await;
    let alice = c.user().await;
    let hostile: Vec<i64> = (1..=100_000).collect();
    let res = c
        .post_with(&alice, b"hostile", json!({ "files": hostile }))
        .await;
    assert_eq!(res.status, 413, "{}", res.text());
    assert!(
        res.text().contains("Size of the request body"),
        "{}",
        res.text()
    );
    assert_eq!(rejections(&c, "request_bytes"), 1);
    let one_too_many: Vec<i64> =
        (1..=c.app.config.limits.max_files_per_message as i64 + 1).collect();
    let res = c
        .post_with(&alice, b"hostile", json!({ "files": one_too_many }))
        .await;
    assert_eq!(res.status, 413, "{}", res.text());
    assert!(res.text().contains("attached files"), "{}", res.text());
    assert_eq!(rejections(&c, "files_per_message"), 1);

    let uploads = [
        c.upload(&alice, &c.room).await,
        c.upload(&alice, &c.room).await,
        c.upload(&alice, &c.room).await,
    ];
    let max = c.app.config.limits.max_files_per_message as i64;
    // The three uploads, unknown ids and a duplicate: exactly the limit.
    let mut files: Vec<i64> = uploads.to_vec();
    files.push(uploads[0]);
    files.extend((0..max - 4).map(|i| 1_000_000 + i));
    let res = c
        .post_with(&alice, b"with files", json!({ "files": files }))
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let posted = res.json();
    for id in uploads {
        let expiry = c.file_expiry(id).await.unwrap();
        assert!(
            expiry > crate::community::now() + 10.0 * 86_400.0,
            "{id} not attached"
        );
    }
    let message = c
        .app
        .state
        .store
        .message_by_id(c.room.id, id_of(&posted))
        .await
        .unwrap();
    assert!(message.is_some());
}
both_backends!(a_message_naming_too_many_files_gets_413_and_the_allowed_ones_attach);

/// Sends raw bytes on a fresh connection and returns the status line of the answer. The
/// outer timeout only keeps a regression from hanging the suite; it is not what is tested.
async fn raw_exchange(address: &str, request: &[u8]) -> String {
    let host = address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await.unwrap_or(0);
            answer.extend_from_slice(&buf[..n]);
            if n == 0 || answer.windows(2).any(|w| w == b"\r\n") {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("the server answers a slow or lying client");
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Issue 23 §4: `Content-Length: 100` with 5 bytes sent had no answer after 90 s, and with
/// `Connection: Upgrade` or `CONNECT` the body was read until the client closed. Now slow
/// headers and slow bodies get 408 after their deadlines, and CONNECT and upgrades are
/// refused without reading a byte of body.
async fn slow_or_lying_clients_get_408_and_upgrades_are_refused_unread(backend: Backend) {
    let c = Community::with_config(backend, |config| {
        config.limits.header_timeout_secs = 1.0;
        config.limits.body_timeout_secs = 1.0;
    })
    .await;
    let address = &c.app.address;
    let lying = b"POST /batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                  Content-Length: 100\r\n\r\n[{\"a\"";
    assert_eq!(
        raw_exchange(address, lying).await,
        "HTTP/1.1 408 Request Timeout"
    );
    let onion = b"POST /oxen/v4/lsrpc HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\nabc";
    assert_eq!(
        raw_exchange(address, onion).await,
        "HTTP/1.1 408 Request Timeout"
    );
    let slow_headers = b"GET /capabilities HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n";
    assert_eq!(
        raw_exchange(address, slow_headers).await,
        "HTTP/1.1 408 Request Timeout"
    );
    let upgrade = b"POST /batch HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n\
                    Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
                    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n[";
    assert_eq!(
        raw_exchange(address, upgrade).await,
        "HTTP/1.1 400 Bad Request"
    );
    let upgrade_h2c = b"POST /batch HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n\
                        Upgrade: h2c\r\nContent-Length: 1\r\n\r\n";
    assert_eq!(
        raw_exchange(address, upgrade_h2c).await,
        "HTTP/1.1 400 Bad Request"
    );
    let connect = b"CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\nhello";
    assert_eq!(
        raw_exchange(address, connect).await,
        "HTTP/1.1 405 Method Not Allowed"
    );
    let too_large = format!(
        "POST /batch HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        c.app.config.server.max_request_bytes + 1
    );
    assert_eq!(
        raw_exchange(address, too_large.as_bytes()).await,
        "HTTP/1.1 413 Payload Too Large"
    );
    assert_eq!(rejections(&c, "body_timeout"), 2);
    assert_eq!(rejections(&c, "request_bytes"), 1);
    // Honest requests are unaffected.
    let (status, _) = c.get(&c.anonymous(), "/capabilities").await;
    assert_eq!(status, 200);
}
both_backends!(slow_or_lying_clients_get_408_and_upgrades_are_refused_unread);

/// Issue 23 §5: a `/batch` or `/sequence` of 1,000 GETs held a worker for 5 to 15 s. Now
/// more than `max_sub_requests` is refused with 413 before any is served, and a batch at
/// the limit is served whole.
async fn batches_of_more_sub_requests_than_the_limit_get_413_before_any_runs(backend: Backend) {
    let c = Community::new(backend).await;
    let user = c.user().await;
    let max = c.app.config.limits.max_sub_requests as usize;
    let write =
        json!({"method": "POST", "path": "/room/lobby/message", "json": user.message_json(b"x")});
    let mut subs = vec![write];
    subs.extend(vec![
        json!({"method": "GET", "path": "/room/lobby/pollInfo/0"});
        999
    ]);
    for res in [
        user.batch(&subs).await.unwrap(),
        user.sequence(&subs).await.unwrap(),
    ] {
        assert_eq!(res.status, 413, "{}", res.text());
        assert!(res.text().contains("sub-requests"), "{}", res.text());
    }
    // Refused before anything ran: the post at its head was not made.
    assert_eq!(c.room_now().await.message_sequence, 0);
    assert_eq!(rejections(&c, "sub_requests"), 2);

    let at_limit = vec![json!({"method": "GET", "path": "/capabilities"}); max];
    for res in [
        user.batch(&at_limit).await.unwrap(),
        user.sequence(&at_limit).await.unwrap(),
    ] {
        assert_eq!(res.status, 200, "{}", res.text());
        assert_eq!(res.json().as_array().unwrap().len(), max);
    }
    // A Session poll is far below the limit.
    let poll = sogs::client::SogsClient::poll_batch(&[("lobby", 0, 0)]);
    let res = user.batch(&poll).await.unwrap();
    assert_eq!(res.status, 200);
}
both_backends!(batches_of_more_sub_requests_than_the_limit_get_413_before_any_runs);

/// Issue 23 §7: every malformed HTTP request wrote one ERROR line. They are counted in
/// `sogs_malformed_requests_total` (served on every instance's metrics) and summarised in
/// at most one line per `malformed_log_interval_secs` (the budget is unit-tested in
/// `telemetry`).
async fn malformed_http_requests_are_counted_not_logged_one_by_one(backend: Backend) {
    let c = Community::new(backend).await;
    sogs::telemetry::init(&c.app.config.log, &c.app.config.limits);
    let counter = sogs::telemetry::malformed_requests().unwrap();
    let before = counter.get();
    for _ in 0..20 {
        let status = raw_exchange(&c.app.address, b"\x16\x03\x01 garbage\r\n\r\n").await;
        assert!(status.starts_with("HTTP/1.1 400"), "{status:?}");
    }
    // Counted as the connection closes: wait for the counter rather than for a time.
    for _ in 0..600 {
        if counter.get() >= before + 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        counter.get() >= before + 20,
        "{} -> {}",
        before,
        counter.get()
    );
    assert!(
        c.app
            .state
            .metrics
            .render()
            .contains("sogs_malformed_requests_total")
    );
}
both_backends!(malformed_http_requests_are_counted_not_logged_one_by_one);

/// Any token is a valid HTTP method, and the request metrics are labelled by method: each
/// made-up method used to add series to the registry for the life of the process (memory in
/// proportion to an attacker's count). Now they are counted together as `OTHER`.
async fn made_up_methods_are_counted_as_other_and_add_no_series(backend: Backend) {
    let c = Community::new(backend).await;
    for i in 0..50 {
        let request = format!("HOSTILE{i} /capabilities HTTP/1.1\r\nHost: x\r\n\r\n");
        let status = raw_exchange(&c.app.address, request.as_bytes()).await;
        assert!(status.starts_with("HTTP/1.1 4"), "{status:?}");
    }
    let text = c.app.state.metrics.render();
    let other: f64 = text
        .lines()
        .filter(|l| l.starts_with("sogs_http_requests_total{method=\"OTHER\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(other, 50.0, "{text}");
    assert!(!text.contains("HOSTILE"), "{text}");
}
both_backends!(made_up_methods_are_counted_as_other_and_add_no_series);
