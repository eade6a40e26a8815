//! The anti-raid detectors over HTTP (issue 14): flood and similarity detection across
//! identities (disguised copies refused or hidden after K distinct senders, senders flagged
//! in the audit log, optionally banned, moderators told once), shared across instances
//! through Redis; hash bans of texts and files.

use serde_json::{Value, json};
use sogs::client::SogsClient;
use sogs::config::{Config, FloodAction};
use sogs::domain::filters::encode_message;
use sogs::store::AuditFilter;

use crate::community::{Community, TOKEN, ids, now};
use crate::support::{Backend, spawn_app_with};

/// A padded Session message with `body`, as clients send it.
fn message(body: &str) -> Vec<u8> {
    encode_message(body, (now() * 1000.0) as u64, "Someone")
}

/// The `i`th disguise of one raid message: fancy alphabets, look-alike letters, zero-width
/// characters and emoji, different every time.
fn raid_copy(i: usize) -> String {
    let base = "free crypto airdrop for session users, claim yours at scam dot example";
    let emoji = ["🔥", "🚀", "💰", "✅", "🎉", "👉"];
    let mut out = String::new();
    for (n, c) in base.chars().enumerate() {
        let offset = u32::from(c).wrapping_sub(u32::from('a'));
        let fancy = match (i * 7 + n * 3) % 6 {
            0 if c.is_ascii_lowercase() => char::from_u32(0x1D4EA + offset),
            1 if c.is_ascii_lowercase() => char::from_u32(0xFF41 + offset),
            2 if c.is_ascii_lowercase() => char::from_u32(0x24D0 + offset),
            3 if c == 'a' => Some('\u{0430}'),
            _ => None,
        };
        out.push(fancy.unwrap_or(c));
        if (i + n).is_multiple_of(11) {
            out.push('\u{200B}');
        }
        if c == ' ' && (i + n).is_multiple_of(4) {
            out.push_str(emoji[(i + n) % emoji.len()]);
        }
    }
    out.push_str(emoji[i % emoji.len()]);
    out
}

/// A server with the lobby and no per-user post rate limit.
async fn community(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Community {
    let app = spawn_app_with(backend, |config| {
        config.rooms.post_rate_limit = 0;
        adjust(config);
    })
    .await;
    let room = app
        .state
        .store
        .create_room(TOKEN, "Lobby", None, now())
        .await
        .unwrap();
    Community { app, room }
}

/// [`community`] on a manual clock the test moves on (the window is on the server's
/// injected clock: tests never sleep).
async fn clocked(
    backend: Backend,
    adjust: impl FnOnce(&mut Config),
) -> (Community, sogs::clock::Clock) {
    let clock = sogs::clock::Clock::manual(now());
    let app = crate::support::spawn_app_with_clock(backend, clock.clone(), |config| {
        config.rooms.post_rate_limit = 0;
        adjust(config);
    })
    .await;
    let room = app
        .state
        .store
        .create_room(TOKEN, "Lobby", None, clock.now())
        .await
        .unwrap();
    (Community { app, room }, clock)
}

async fn audit(c: &Community, action: &str) -> Vec<sogs::store::AuditEntry> {
    c.app
        .state
        .store
        .audit_log(&AuditFilter {
            action: Some(action.into()),
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .unwrap()
}

/// The bodies of the moderator whispers `client` sees in the lobby.
async fn whispers(c: &Community, client: &sogs::client::SogsClient) -> Vec<Value> {
    let (status, recent) = c.get(client, &c.path("/messages/recent")).await;
    assert_eq!(status, 200);
    recent
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["whisper_mods"] == json!(true))
        .cloned()
        .collect()
}

async fn disguised_copies_from_distinct_users_are_refused_after_the_first_k(backend: Backend) {
    let c = community(backend, |_| {}).await;
    let moderator = c.moderator().await;
    let mut passed = Vec::new();
    for i in 0..3 {
        let raider = c.user().await;
        passed.push(crate::community::id_of(
            &c.post(&raider, &message(&raid_copy(i))).await,
        ));
    }
    let mut refused = Vec::new();
    for i in 3..8 {
        let raider = c.user().await;
        let res = c.try_post(&raider, &message(&raid_copy(i))).await;
        assert_eq!(res.status, 403, "copy {i}: {}", res.text());
        assert!(res.text().contains("flood protection"), "{}", res.text());
        refused.push(raider.id());
    }
    // Regular conversation goes on, short replies everyone makes included.
    let regular = c.user().await;
    c.post(
        &regular,
        &message("does anyone know when the next release is due?"),
    )
    .await;
    for _ in 0..5 {
        let someone = c.user().await;
        c.post(&someone, &message("lol ok 😂")).await;
    }
    // Moderators are never held back.
    c.post(&moderator, &message(&raid_copy(99))).await;

    // Readers see the first K copies only.
    let reader = c.user().await;
    let visible = c.recent_ids(&reader).await;
    for id in &passed {
        assert!(visible.contains(id));
    }
    assert_eq!(visible.len(), 3 + 1 + 5 + 1, "{visible:?}");

    // Each refused sender is flagged in the audit log, by the server.
    let flags = audit(&c, "flood_flag").await;
    assert_eq!(flags.len(), 5);
    let mut targets: Vec<String> = flags.iter().filter_map(|e| e.target.clone()).collect();
    targets.sort();
    refused.sort();
    assert_eq!(targets, refused);
    let details = flags[0].details.clone().unwrap();
    assert_eq!(details["kind"], json!("text"));
    assert_eq!(details["door"], json!("automatic"));

    // The moderators are told once, not once per copy.
    let told = whispers(&c, &moderator).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(whispers(&c, &reader).await.is_empty());

    // Counted by the pipeline's metric.
    let metrics = c.app.state.metrics.render();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("sogs_admission_outcomes_total")
                && l.contains("stage=\"flood\"")
                && l.contains("outcome=\"refuse\"")
                && l.ends_with(" 5")),
        "{metrics}"
    );
}
both_backends!(disguised_copies_from_distinct_users_are_refused_after_the_first_k);

async fn with_flood_action_hide_copies_are_stored_filtered_and_shown_to_nobody_else(
    backend: Backend,
) {
    let c = community(backend, |config| {
        config.detectors.flood_action = FloodAction::Hide;
        config.detectors.flood_distinct_users = 2;
    })
    .await;
    for i in 0..2 {
        let raider = c.user().await;
        c.post(&raider, &message(&raid_copy(i))).await;
    }
    let raider = c.user().await;
    let res = c.try_post(&raider, &message(&raid_copy(2))).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let body = res.json();
    assert_eq!(body["filtered"], json!(true));
    let reader = c.user().await;
    assert_eq!(c.recent_ids(&reader).await.len(), 2);
}
both_backends!(with_flood_action_hide_copies_are_stored_filtered_and_shown_to_nobody_else);

async fn with_auto_ban_the_senders_of_refused_copies_are_banned_from_the_room(backend: Backend) {
    let c = community(backend, |config| {
        config.detectors.flood_auto_ban = true;
        config.detectors.flood_distinct_users = 2;
    })
    .await;
    for i in 0..2 {
        let raider = c.user().await;
        c.post(&raider, &message(&raid_copy(i))).await;
    }
    let raider = c.user().await;
    assert_eq!(
        c.try_post(&raider, &message(&raid_copy(2))).await.status,
        403
    );
    // Banned now: even an ordinary post is refused, and the room is hidden from them.
    let res = c
        .try_post(&raider, &message("just an ordinary message, honestly"))
        .await;
    assert_eq!(res.status, 403, "{}", res.text());
    let (status, _) = c.get(&raider, &c.path("/messages/recent")).await;
    assert_eq!(status, 403);
    assert_eq!(audit(&c, "ban").await.len(), 1);
}
both_backends!(with_auto_ban_the_senders_of_refused_copies_are_banned_from_the_room);

async fn with_flood_detection_off_copies_all_pass(backend: Backend) {
    let c = community(backend, |config| config.detectors.flood_enabled = false).await;
    for i in 0..6 {
        let raider = c.user().await;
        c.post(&raider, &message(&raid_copy(i))).await;
    }
    let reader = c.user().await;
    assert_eq!(
        ids(&c.get(&reader, &c.path("/messages/recent")).await.1).len(),
        6
    );
}
both_backends!(with_flood_detection_off_copies_all_pass);

async fn copies_posted_after_the_window_pass_again(backend: Backend) {
    // The window is on the server's injected clock: the test moves it on, never sleeps.
    let (c, clock) = clocked(backend, |config| {
        config.detectors.flood_distinct_users = 1;
        config.detectors.flood_window_secs = 1.0;
    })
    .await;
    let first = c.user().await;
    c.post(&first, &message(&raid_copy(0))).await;
    let second = c.user().await;
    assert_eq!(
        c.try_post(&second, &message(&raid_copy(1))).await.status,
        403
    );
    clock.advance(1.3);
    let third = c.user().await;
    c.post(&third, &message(&raid_copy(2))).await;
}
both_backends!(copies_posted_after_the_window_pass_again);

/// Copies spread over instances behind a load balancer are judged as one window: the
/// instances share what they saw through Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_spread_over_instances_are_counted_together_through_redis() {
    use crate::support::cluster::{ClusterOptions, TestCluster};
    let cluster = TestCluster::start(ClusterOptions {
        instances: 2,
        rooms: vec![TOKEN.to_string()],
        env: vec![("SOGS_ROOMS_POST_RATE_LIMIT".into(), "0".into())],
        ..ClusterOptions::default()
    })
    .await;
    let post = |instance: usize, i: usize| {
        let client = cluster.instances[instance].client().with_random_user();
        async move {
            let res = client
                .post_json(
                    &format!("/room/{TOKEN}/message"),
                    &client.message_json(&message(&raid_copy(i))),
                )
                .await
                .unwrap();
            (res.status, res.text())
        }
    };
    // K = 3 copies pass, alternating instances; every later copy is refused on either.
    let (status, text) = post(0, 0).await;
    assert_eq!(status, 201, "copy 0: {text}");
    let (status, text) = post(1, 1).await;
    assert_eq!(status, 201, "copy 1: {text}");
    let (status, text) = post(0, 2).await;
    assert_eq!(status, 201, "copy 2: {text}");
    let (status, text) = post(1, 3).await;
    assert_eq!(status, 403, "copy 3: {text}");
    let (status, text) = post(0, 4).await;
    assert_eq!(status, 403, "copy 4: {text}");
    let (status, text) = post(1, 5).await;
    assert_eq!(status, 403, "copy 5: {text}");
}

/// `POST /room/lobby/file` with `data`, as Session clients upload.
async fn upload(client: &SogsClient, data: &[u8]) -> sogs::client::ClientResponse {
    let req = client.build(
        "POST",
        &format!("/room/{TOKEN}/file"),
        data.to_vec(),
        Some("application/octet-stream"),
    );
    client.send(&req).await.unwrap()
}

/// A picture with structure (a gradient and a bright square at `at`), encoded as `format`.
fn picture(side: u32, at: u32, format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(side, side, |x, y| {
        let inside = x >= at && x < at + side / 4 && y >= at && y < at + side / 4;
        if inside {
            image::Rgb([250, 250, 250])
        } else {
            let v = ((x + y) * 255 / (2 * side)) as u8;
            image::Rgb([v, v / 2, 255 - v])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

async fn post_json(client: &SogsClient, path: &str, body: Value) -> (u16, Value) {
    let res = client.post_json(path, &body).await.unwrap();
    (res.status, res.json())
}

async fn identical_uploads_from_distinct_users_are_refused_after_the_first_k(backend: Backend) {
    let c = community(backend, |_| {}).await;
    let bytes = picture(128, 20, image::ImageFormat::Png);
    for _ in 0..3 {
        let raider = c.user().await;
        assert_eq!(upload(&raider, &bytes).await.status, 201);
    }
    let raider = c.user().await;
    let res = upload(&raider, &bytes).await;
    assert_eq!(res.status, 403, "{}", res.text());
    // A re-encoded, resized copy is the same picture.
    let copy = picture(100, 15, image::ImageFormat::Jpeg);
    let res = upload(&c.user().await, &copy).await;
    assert_eq!(res.status, 403, "{}", res.text());
    // Another picture and other files are fine.
    let other = image::imageops::flip_horizontal(
        &image::load_from_memory(&picture(128, 90, image::ImageFormat::Png))
            .unwrap()
            .to_rgb8(),
    );
    let mut out = std::io::Cursor::new(Vec::new());
    other.write_to(&mut out, image::ImageFormat::Png).unwrap();
    assert_eq!(upload(&c.user().await, &out.into_inner()).await.status, 201);
    assert_eq!(
        upload(&c.user().await, b"just some bytes").await.status,
        201
    );
    let kinds: Vec<String> = audit(&c, "flood_flag")
        .await
        .iter()
        .map(|e| {
            e.details.clone().unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.contains(&"file".to_string()) && kinds.contains(&"image".to_string()));
}
both_backends!(identical_uploads_from_distinct_users_are_refused_after_the_first_k);

async fn a_banned_text_is_refused_in_any_disguise_until_the_ban_is_lifted(backend: Backend) {
    let c = community(backend, |_| {}).await;
    let moderator = c.moderator().await;
    let spammer = c.user().await;
    let spam = c.post(&spammer, &message(&raid_copy(0))).await;
    let path = c.path("/hash-bans").replace("/room/", "/sogs-rs/room/");
    let (status, ban) = post_json(
        &moderator,
        &path,
        json!({ "message": crate::community::id_of(&spam) }),
    )
    .await;
    assert_eq!(status, 201, "{ban}");
    assert_eq!(ban["kind"], json!("text"));
    assert_eq!(ban["global"], json!(false));
    assert!(
        ban["sample"]
            .as_str()
            .unwrap()
            .starts_with("free crypto airdrop")
    );

    let other = c.user().await;
    let res = c.try_post(&other, &message(&raid_copy(5))).await;
    assert_eq!(
        (res.status, res.text()),
        (403, "This message is banned here".to_string())
    );
    c.post(
        &other,
        &message("an ordinary message about the weather today"),
    )
    .await;
    // Moderators are exempt.
    c.post(&moderator, &message(&raid_copy(6))).await;

    let (status, list) = c.get(&moderator, &path).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let id = ban["id"].as_i64().unwrap();
    let res = moderator.delete(&format!("{path}/{id}")).await.unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    c.post(&other, &message(&raid_copy(7))).await;
    assert_eq!(audit(&c, "hash_ban").await.len(), 1);
    assert_eq!(audit(&c, "hash_unban").await.len(), 1);
    let res = moderator.delete(&format!("{path}/{id}")).await.unwrap();
    assert_eq!(res.status, 404);
}
both_backends!(a_banned_text_is_refused_in_any_disguise_until_the_ban_is_lifted);

async fn a_banned_picture_is_refused_as_upload_and_as_attachment(backend: Backend) {
    let c = community(backend, |_| {}).await;
    let moderator = c.moderator().await;
    let path = c.path("/hash-bans").replace("/room/", "/sogs-rs/room/");
    let uploader = c.user().await;
    let bytes = picture(128, 20, image::ImageFormat::Png);
    let res = upload(&uploader, &bytes).await;
    assert_eq!(res.status, 201);
    let banned_file = res.json()["id"].as_i64().unwrap();
    // Someone else uploaded a copy before the ban.
    let early = c.user().await;
    let res = upload(&early, &picture(100, 15, image::ImageFormat::Jpeg)).await;
    assert_eq!(res.status, 201);
    let early_file = res.json()["id"].as_i64().unwrap();

    let (status, ban) = post_json(&moderator, &path, json!({ "file": banned_file })).await;
    assert_eq!(status, 201, "{ban}");
    assert_eq!(ban["kind"], json!("file"));
    assert_eq!(ban["sha256"].as_str().unwrap().len(), 64);

    // The same bytes, or a re-encoded copy, are refused as uploads.
    let res = upload(&c.user().await, &bytes).await;
    assert_eq!(
        (res.status, res.text()),
        (403, "This file is banned here".to_string())
    );
    let res = upload(&c.user().await, &picture(90, 14, image::ImageFormat::WebP)).await;
    assert_eq!(res.status, 403, "{}", res.text());
    // A post attaching the copy uploaded before the ban is refused.
    let res = c
        .post_with(
            &early,
            &message("look at this picture everyone"),
            json!({ "files": [early_file] }),
        )
        .await;
    assert_eq!(
        (res.status, res.text()),
        (403, "This message carries a banned file".to_string())
    );
    assert_eq!(
        upload(&c.user().await, b"%PDF-1.4 a document").await.status,
        201
    );
}
both_backends!(a_banned_picture_is_refused_as_upload_and_as_attachment);

async fn hash_ban_requests_are_checked(backend: Backend) {
    let c = community(backend, |_| {}).await;
    let moderator = c.moderator().await;
    let user = c.user().await;
    let short = c.post(&user, &message("hi all")).await;
    let path = c.path("/hash-bans").replace("/room/", "/sogs-rs/room/");
    for (body, status) in [
        (json!([1]), 400),
        (json!({}), 400),
        (json!({ "file": 1, "message": 2 }), 400),
        (json!({ "message": "one" }), 400),
        (json!({ "message": 1, "colour": "red" }), 400),
        (json!({ "message": 999_999 }), 404),
        (json!({ "file": 999_999 }), 404),
        (json!({ "message": crate::community::id_of(&short) }), 400),
    ] {
        let (got, answer) = post_json(&moderator, &path, body.clone()).await;
        assert_eq!(got, status, "{body} -> {answer}");
    }
    // Members may not ban, list or lift; only global moderators ban everywhere.
    let spam = c.post(&user, &message(&raid_copy(0))).await;
    let target = json!({ "message": crate::community::id_of(&spam) });
    assert_eq!(post_json(&user, &path, target.clone()).await.0, 403);
    assert_eq!(c.get(&user, &path).await.0, 403);
    let mut global = target.clone();
    global["global"] = json!(true);
    assert_eq!(post_json(&moderator, &path, global).await.0, 403);
    let anonymous = c.anonymous();
    assert_eq!(anonymous.get(&path).await.unwrap().status, 401);
    let res = moderator.delete(&format!("{path}/12345")).await.unwrap();
    assert_eq!(res.status, 404);
}
both_backends!(hash_ban_requests_are_checked);

async fn established_users_are_never_refused_as_copies_but_count_against_newcomers(
    backend: Backend,
) {
    let (c, clock) = clocked(backend, |config| {
        config.detectors.flood_distinct_users = 2;
        config.detectors.flood_spare_established_secs = 3_600.0;
    })
    .await;
    let mut regulars = Vec::new();
    for _ in 0..4 {
        let regular = c.user().await;
        let user = c.known(&regular).await;
        c.app
            .state
            .store
            .note_first_seen(c.room.id, user.id, clock.now())
            .await
            .unwrap();
        regulars.push(regular);
    }
    clock.advance(7_200.0);
    // Four regulars wish everyone the same: nobody is refused (K = 2 would refuse the 3rd).
    for regular in &regulars {
        let res = c
            .try_post(regular, &message("happy new year everyone, all the best!"))
            .await;
        assert_eq!(res.status, 201, "{}", res.text());
    }
    // A fresh ID posting the same is refused: the regulars' copies count against it.
    let newcomer = c.user().await;
    let res = c
        .try_post(
            &newcomer,
            &message("HAPPY new year everyone — all the best"),
        )
        .await;
    assert_eq!(res.status, 403, "{}", res.text());
    assert!(res.text().contains("flood"), "{}", res.text());
}
both_backends!(established_users_are_never_refused_as_copies_but_count_against_newcomers);
