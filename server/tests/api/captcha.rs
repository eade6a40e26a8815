//! Greeting and captcha, and server DMs (issue 15), over real HTTP with our client acting
//! as a Session client: it blinds (15 and 25), polls `/inbox`, decrypts the server's DMs
//! with the client-side path, and answers by DM. The `sogs-admin` door is tested in the
//! admin crate.

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde_json::{Value, json};
use sogs::client::{ClientResponse, SogsClient};
use sogs::clock::Clock;
use sogs::crypto::keys::BlindedId;
use sogs::crypto::keys::{IdPrefix, SessionId};
use sogs::crypto::server_identity::ServerIdentity;
use sogs::crypto::session_message;
use sogs::domain::filters::{encode_message, parse_message};
use sogs::domain::padding::pad;
use sogs::domain::padding::unpad;
use sogs::domain::swarm_envelope;
use sogs::snode::sim::SimNetwork;
use sogs::store::{AuditFilter, ModeratorRole};

use crate::community::{Community, TOKEN, b64, now};
use crate::snode::use_network;
use crate::support::Backend;
use crate::support::app::{spawn_app_with_clock, wait_until};

both_backends!(
    a_first_post_is_refused_until_the_code_sent_by_dm_is_answered_with_15_and_25_ids,
    wrong_answers_count_down_then_lock_until_a_new_code_after_the_expiry,
    an_expired_code_is_refused_and_the_next_post_sends_a_new_one,
    captcha_settings_go_through_the_command_and_the_api_and_bad_input_is_refused,
    admins_send_server_dms_that_clients_decrypt_and_nobody_else_may,
    the_captcha_spares_moderators_earlier_posters_and_lifted_users,
    a_code_issued_once_by_two_instances_is_answered_through_either,
    the_code_may_be_posted_in_the_room_instead_where_nobody_sees_it,
    a_code_answered_through_the_session_network_as_session_apps_answer_passes_once,
);

/// A community on a manual clock, without a post rate limit.
async fn clocked(backend: Backend) -> (Community, Clock) {
    clocked_with(backend, |_| {}).await
}

/// [`clocked`], with more settings.
async fn clocked_with(
    backend: Backend,
    adjust: impl FnOnce(&mut sogs::config::Config),
) -> (Community, Clock) {
    let clock = Clock::manual(now());
    let app = spawn_app_with_clock(backend, clock.clone(), |config| {
        config.rooms.post_rate_limit = 0;
        config.antiraid.command_retract_secs = 0.0;
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

/// A new 15-blinded user signing on the server's clock.
fn user15(c: &Community) -> SogsClient {
    c.app.user().with_clock(c.app.state.clock.clone())
}

/// A new 25-blinded user signing on the server's clock.
fn user25(c: &Community) -> SogsClient {
    let mut seed = [0u8; 32];
    rand::fill(&mut seed);
    c.app
        .client()
        .with_user_seed_blind25(seed)
        .with_clock(c.app.state.clock.clone())
}

fn text(body: &str) -> Vec<u8> {
    encode_message(body, (now() * 1000.0) as u64, "Tester")
}

async fn post(c: &Community, client: &SogsClient, body: &str) -> ClientResponse {
    c.try_post(client, &text(body)).await
}

async fn api_post(client: &SogsClient, rest: &str, body: Value) -> ClientResponse {
    client
        .post_json(&format!("/sogs-rs/room/{TOKEN}/{rest}"), &body)
        .await
        .unwrap()
}

/// The captcha on, through the API, with these settings.
async fn enable(c: &Community, settings: Value) -> SogsClient {
    let moderator = c.moderator().await;
    let mut body = json!({ "enabled": true });
    body.as_object_mut()
        .unwrap()
        .extend(settings.as_object().unwrap().clone());
    let res = api_post(&moderator, "captcha", body).await;
    assert_eq!(res.status, 200, "{}", res.text());
    moderator
}

/// A DM as the user's client shows it: who wrote and the text.
#[derive(Debug, Clone)]
struct Dm {
    sender: BlindedId,
    text: String,
}

/// Every DM in the user's inbox, decrypted by the client.
async fn inbox(client: &SogsClient) -> Vec<Dm> {
    let res = client.get("/inbox").await.unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let opened = client
                .open_dm(m)
                .expect("the client decrypts the server's DM");
            let body = parse_message(unpad(&opened.message))
                .and_then(|m| m.body)
                .expect("a Session message with a body");
            Dm {
                sender: m["sender"].as_str().unwrap().parse().unwrap(),
                text: body,
            }
        })
        .collect()
}

/// The six-digit code in a challenge.
fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_string()
}

/// A code that is not `code`.
fn not(code: &str) -> String {
    if code == "123456" { "654321" } else { "123456" }.to_string()
}

/// Answers the server (`to`) with `answer`, as a Session client replies to a DM.
async fn reply(client: &SogsClient, to: &BlindedId, answer: &str) -> ClientResponse {
    let body = client.dm_json(to, &text(answer)).unwrap();
    client
        .post_json(&format!("/inbox/{to}"), &body)
        .await
        .unwrap()
}

async fn audit_actions(c: &Community, target: &SogsClient) -> Vec<String> {
    let log = c
        .app
        .state
        .store
        .audit_log(&AuditFilter {
            target: Some(target.id()),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    log.iter().rev().map(|e| e.action.clone()).collect()
}

async fn a_first_post_is_refused_until_the_code_sent_by_dm_is_answered_with_15_and_25_ids(
    backend: Backend,
) {
    let (c, _clock) = clocked(backend).await;
    enable(
        &c,
        json!({ "greeting": "Hi! Please read the pinned rules." }),
    )
    .await;
    let mut server_ids = Vec::new();
    for user in [user15(&c), user25(&c)] {
        let res = post(&c, &user, "hello").await;
        assert_eq!(res.status, 403, "{}", res.text());
        assert!(res.text().contains("answer the code"), "{}", res.text());

        let dms = inbox(&user).await;
        assert_eq!(dms.len(), 1, "{dms:?}");
        let challenge = &dms[0];
        assert!(
            challenge
                .text
                .starts_with("Hi! Please read the pinned rules."),
            "{challenge:?}"
        );
        // The server writes from its own id, blinded like the user's.
        let own: BlindedId = user.id().parse().unwrap();
        assert_eq!(challenge.sender.prefix(), own.prefix());
        assert_ne!(challenge.sender, own);
        server_ids.push(challenge.sender);
        let code = code_in(&challenge.text);

        // Trying again does not send a second code.
        assert_eq!(post(&c, &user, "hello?").await.status, 403);
        assert_eq!(inbox(&user).await.len(), 1);

        let res = reply(&user, &challenge.sender, &code).await;
        assert_eq!(res.status, 201, "{}", res.text());
        let dms = inbox(&user).await;
        assert_eq!(dms.len(), 2, "{dms:?}");
        assert!(dms[1].text.contains("You can post in Lobby now"), "{dms:?}");

        let res = post(&c, &user, "hello, for real").await;
        assert_eq!(res.status, 201, "{}", res.text());
        assert_eq!(
            audit_actions(&c, &user).await,
            ["captcha_issued", "captcha_passed"]
        );
    }
    assert_ne!(server_ids[0], server_ids[1]);
}

async fn wrong_answers_count_down_then_lock_until_a_new_code_after_the_expiry(backend: Backend) {
    let (c, clock) = clocked(backend).await;
    enable(&c, json!({ "attempts": 2, "expiry": 300 })).await;
    let user = user25(&c);
    assert_eq!(post(&c, &user, "hi").await.status, 403);
    let challenge = inbox(&user).await.remove(0);
    let (server, code) = (challenge.sender, code_in(&challenge.text));

    // Not the code: words, a wrong number, then the code with more around it.
    assert_eq!(reply(&user, &server, "is it this?").await.status, 201);
    let dms = inbox(&user).await;
    assert!(dms[1].text.contains("1 try left"), "{dms:?}");
    assert_eq!(reply(&user, &server, &not(&code)).await.status, 201);
    let dms = inbox(&user).await;
    assert!(dms[2].text.contains("last try"), "{dms:?}");
    assert_eq!(
        audit_actions(&c, &user).await[1..],
        ["captcha_wrong", "captcha_wrong"]
    );

    // Out of tries: the right code no longer passes, and posting says to wait.
    assert_eq!(reply(&user, &server, &code).await.status, 201);
    let dms = inbox(&user).await;
    assert!(dms[3].text.contains("Too many wrong answers"), "{dms:?}");
    let res = post(&c, &user, "let me in").await;
    assert_eq!(res.status, 403);
    assert!(
        res.text().contains("Too many wrong answers"),
        "{}",
        res.text()
    );
    assert_eq!(inbox(&user).await.len(), 4, "no new code while locked");

    // After the wait, a post brings a new code, which passes.
    clock.advance(301.0);
    assert_eq!(post(&c, &user, "again").await.status, 403);
    let dms = inbox(&user).await;
    assert_eq!(dms.len(), 5, "{dms:?}");
    let fresh = code_in(&dms[4].text);
    assert_eq!(
        reply(&user, &server, &format!(" {fresh} ")).await.status,
        201
    );
    assert_eq!(post(&c, &user, "in").await.status, 201);
}

async fn an_expired_code_is_refused_and_the_next_post_sends_a_new_one(backend: Backend) {
    let (c, clock) = clocked(backend).await;
    enable(&c, json!({ "expiry": 60 })).await;
    let user = user15(&c);
    assert_eq!(post(&c, &user, "hi").await.status, 403);
    let challenge = inbox(&user).await.remove(0);
    assert!(challenge.text.contains("valid for 1m"), "{challenge:?}");
    clock.advance(61.0);
    assert_eq!(
        reply(&user, &challenge.sender, &code_in(&challenge.text))
            .await
            .status,
        201
    );
    let dms = inbox(&user).await;
    assert!(dms[1].text.contains("has expired"), "{dms:?}");
    assert_eq!(post(&c, &user, "hi").await.status, 403);
    let dms = inbox(&user).await;
    assert_eq!(dms.len(), 3, "{dms:?}");
    let fresh = code_in(&dms[2].text);
    assert_eq!(reply(&user, &challenge.sender, &fresh).await.status, 201);
    assert_eq!(post(&c, &user, "hi").await.status, 201);
    assert_eq!(
        audit_actions(&c, &user).await,
        [
            "captcha_issued",
            "captcha_late",
            "captcha_issued",
            "captcha_passed"
        ]
    );

    // A DM to the server that is no captcha answer (unreadable bytes) is stored and ignored.
    let res = user
        .post_json(
            &format!("/inbox/{}", challenge.sender),
            &json!({ "message": "AAECAwQ=" }),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(inbox(&user).await.len(), 4);
}

async fn captcha_settings_go_through_the_command_and_the_api_and_bad_input_is_refused(
    backend: Backend,
) {
    let (c, _clock) = clocked(backend).await;
    let moderator = c.moderator().await;
    let policy = |m: SogsClient| async move {
        let res = m
            .get(&format!("/sogs-rs/room/{TOKEN}/policy"))
            .await
            .unwrap();
        assert_eq!(res.status, 200, "{}", res.text());
        res.json()["captcha"].clone()
    };
    assert_eq!(
        policy(moderator.clone()).await,
        json!({ "enabled": false, "greeting": null, "attempts": 3, "expiry": 600.0 })
    );
    for command in [
        "/captcha on",
        "/captcha attempts 5",
        "/captcha expiry 2m",
        "/captcha greeting Welcome, friend",
    ] {
        assert_eq!(post(&c, &moderator, command).await.status, 201, "{command}");
    }
    assert_eq!(
        policy(moderator.clone()).await,
        json!({ "enabled": true, "greeting": "Welcome, friend", "attempts": 5, "expiry": 120.0 })
    );
    // A bad command changes nothing.
    for command in [
        "/captcha attempts 0",
        "/captcha expiry 1s",
        "/captcha maybe",
    ] {
        assert_eq!(post(&c, &moderator, command).await.status, 201, "{command}");
    }
    let res = api_post(
        &moderator,
        "captcha",
        json!({ "enabled": false, "greeting": null, "attempts": 1 }),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        res.json()["captcha"],
        json!({ "enabled": false, "greeting": null, "attempts": 1, "expiry": 120.0 })
    );
    for bad in [
        json!({}),
        json!([true]),
        json!("on"),
        json!({ "enabled": "yes" }),
        json!({ "attempts": 0 }),
        json!({ "attempts": 21 }),
        json!({ "attempts": -1 }),
        json!({ "attempts": "3" }),
        json!({ "expiry": 5 }),
        json!({ "expiry": 1e12 }),
        json!({ "greeting": "   " }),
        json!({ "greeting": "x".repeat(1001) }),
        json!({ "greeting": 7 }),
        json!({ "enabled": true, "colour": "red" }),
    ] {
        let res = api_post(&moderator, "captcha", bad.clone()).await;
        assert_eq!(res.status, 400, "{bad} -> {}", res.text());
    }
    let member = c.user().await;
    assert_eq!(
        api_post(&member, "captcha", json!({ "enabled": true }))
            .await
            .status,
        403
    );
    assert_eq!(
        api_post(&c.anonymous(), "captcha", json!({ "enabled": true }))
            .await
            .status,
        401
    );
    let log = c
        .app
        .state
        .store
        .audit_log(&AuditFilter {
            room: Some(TOKEN.into()),
            action: Some("captcha".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let doors: Vec<&str> = log
        .iter()
        .map(|e| e.details.as_ref().unwrap()["door"].as_str().unwrap())
        .collect();
    assert_eq!(doors, ["api", "command", "command", "command", "command"]);
}

async fn admins_send_server_dms_that_clients_decrypt_and_nobody_else_may(backend: Backend) {
    let (c, _clock) = clocked(backend).await;
    let admin = user15(&c);
    let admin_user = c.known(&admin).await;
    c.app
        .state
        .store
        .set_global_moderator(
            admin_user.id,
            Some(ModeratorRole {
                admin: true,
                visible: false,
            }),
        )
        .await
        .unwrap();
    c.changed();
    let send = |from: &SogsClient, to: &str, body: Value| {
        let (from, path) = (from.clone(), format!("/sogs-rs/dm/{to}"));
        async move { from.post_json(&path, &body).await.unwrap() }
    };
    for user in [user15(&c), user25(&c)] {
        c.known(&user).await;
        let res = send(
            &admin,
            &user.id(),
            json!({ "message": "Maintenance at 20:00 UTC" }),
        )
        .await;
        assert_eq!(res.status, 201, "{}", res.text());
        assert_eq!(res.json()["recipient"], json!(user.id()));
        let dms = inbox(&user).await;
        assert_eq!(dms.len(), 1);
        assert_eq!(dms[0].text, "Maintenance at 20:00 UTC");
    }
    let member = user15(&c);
    c.known(&member).await;
    let stranger = user15(&c);
    for (from, to, body, status) in [
        (&member, member.id(), json!({ "message": "hi" }), 403),
        (&c.anonymous(), member.id(), json!({ "message": "hi" }), 401),
        (&admin, member.id(), json!({ "message": "  " }), 400),
        (
            &admin,
            member.id(),
            json!({ "message": "x".repeat(2001) }),
            400,
        ),
        (&admin, member.id(), json!({ "message": 5 }), 400),
        (&admin, member.id(), json!({}), 400),
        (
            &admin,
            member.id(),
            json!({ "message": "hi", "extra": 1 }),
            400,
        ),
        (&admin, stranger.id(), json!({ "message": "hi" }), 404),
        (&admin, "15abc".to_string(), json!({ "message": "hi" }), 404),
    ] {
        let res = send(from, &to, body.clone()).await;
        assert_eq!(res.status, status, "{to} {body} -> {}", res.text());
    }
    let log = c
        .app
        .state
        .store
        .audit_log(&AuditFilter {
            action: Some("server_dm".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(log.len(), 2);
}

async fn the_captcha_spares_moderators_earlier_posters_and_lifted_users(backend: Backend) {
    let (c, _clock) = clocked(backend).await;
    let earlier = user15(&c);
    assert_eq!(post(&c, &earlier, "before").await.status, 201);
    let moderator = enable(&c, json!({})).await;
    assert_eq!(post(&c, &earlier, "after").await.status, 201);
    assert_eq!(post(&c, &moderator, "as a moderator").await.status, 201);
    let lifted = user15(&c);
    let res = api_post(
        &moderator,
        &format!("probation/lift/{}", lifted.id()),
        json!({}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(post(&c, &lifted, "vouched for").await.status, 201);
    for client in [&earlier, &moderator, &lifted] {
        assert!(inbox(client).await.is_empty());
    }
}

async fn a_code_issued_once_by_two_instances_is_answered_through_either(backend: Backend) {
    let (c, _clock) = clocked(backend).await;
    enable(&c, json!({})).await;
    let other = c.app.another_instance(|_| {}).await;
    let mut seed = [0u8; 32];
    rand::fill(&mut seed);
    let here = c.app.client().with_user_seed_blind25(seed);
    let there = other.client().with_user_seed_blind25(seed);
    // First posts at the same moment on both instances: both refused, one code sent.
    let (a, b) = tokio::join!(post(&c, &here, "one"), post(&c, &there, "two"));
    assert_eq!((a.status, b.status), (403, 403));
    let dms = inbox(&there).await;
    assert_eq!(dms.len(), 1, "{dms:?}");
    assert_eq!(inbox(&here).await.len(), 1);
    // Answered through the other instance, it lets the user post through the first.
    let res = reply(&there, &dms[0].sender, &code_in(&dms[0].text)).await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(post(&c, &here, "in").await.status, 201);
    assert_eq!(post(&c, &there, "in there too").await.status, 201);
}

async fn the_code_may_be_posted_in_the_room_instead_where_nobody_sees_it(backend: Backend) {
    let (c, _clock) = clocked(backend).await;
    let moderator = enable(&c, json!({ "attempts": 2 })).await;
    let user = user15(&c);
    assert_eq!(post(&c, &user, "hi").await.status, 403);
    let code = code_in(&inbox(&user).await[0].text);
    // Another code is a wrong answer, counted; other text is only a reminder.
    let res = post(&c, &user, &not(&code)).await;
    assert_eq!(res.status, 403);
    assert!(res.text().contains("1 try left"), "{}", res.text());
    let res = post(&c, &user, "what code?").await;
    assert_eq!(res.status, 403);
    assert!(res.text().contains("post the code here"), "{}", res.text());
    let res = post(&c, &user, &code).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let hidden = res.json()["id"].as_i64().unwrap();
    assert!(!c.recent_ids(&moderator).await.contains(&hidden));
    let res = post(&c, &user, "thanks").await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert!(
        c.recent_ids(&moderator)
            .await
            .contains(&res.json()["id"].as_i64().unwrap())
    );
    assert_eq!(
        audit_actions(&c, &user).await,
        ["captcha_issued", "captcha_wrong", "captcha_passed"]
    );
}

/// Stores `data` for `account` on a node of the simulated network, as a Session app sends
/// a message to an account.
async fn store_in_swarm(sim: &SimNetwork, account: &SessionId, data: &[u8]) {
    let node = &sim.nodes()[0].info;
    let body = json!({"method": "store", "params": {
        "pubkey": account.to_string(), "namespace": 0, "data": b64(data),
        "ttl": 14 * 86_400_000u64, "timestamp": (now() * 1000.0) as u64,
    }});
    let res = reqwest::Client::new()
        .post(format!("http://{}/storage_rpc/v1", node.address()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
}

/// The account id a Session app files the user's first DM under: the `05` form of the
/// sender key the DM carries.
async fn account_in_first_dm(user: &SogsClient) -> SessionId {
    let listed = user.get("/inbox").await.unwrap().json();
    let opened = user.open_dm(&listed[0]).unwrap();
    let key = VerifyingKey::from_bytes(&opened.sender_ed25519).unwrap();
    SessionId::new(IdPrefix::Session, key.to_montgomery().to_bytes())
}

/// `text` as a Session app sends it to `account` through the network: the padded
/// `Content`, signed and sealed to the account, in the websocket-wrapped envelope.
fn as_app_sends(from: &SigningKey, account: &SessionId, body: &str) -> Vec<u8> {
    let message = text(body);
    let content = unpad(&message);
    let padded = pad(content, (content.len() / 160 + 1) * 160);
    let sealed = session_message::seal(from, account, &padded).unwrap();
    swarm_envelope::wrap(&sealed, (now() * 1000.0) as u64)
}

/// What Session apps really do with the server's DM: they learn the server's account id
/// (`05…`) from it and answer in a conversation with that account, through the
/// service-node network, never to this server's `/inbox`. The server reads its swarm (a
/// signed `retrieve`, checked by the simulated nodes), skips what it cannot read (junk, a
/// message sealed to someone else, one without text), counts a wrong code, passes the right
/// one, and answers through the user's inbox here, for 15- and 25-blinded users alike. Two
/// instances read the same swarm; each message is handled once.
async fn a_code_answered_through_the_session_network_as_session_apps_answer_passes_once(
    backend: Backend,
) {
    let sim = SimNetwork::start(6).await.unwrap();
    let (c, clock) = clocked_with(backend, |config| {
        use_network(config, &sim);
        config.snode.server_inbox_interval_secs = 0.2;
    })
    .await;
    let other = c.app.another_instance(|_| {}).await;
    enable(&c, json!({ "attempts": 3 })).await;

    let mut seed = [0u8; 32];
    rand::fill(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    let user = c
        .app
        .client()
        .with_user_seed(seed)
        .with_clock(clock.clone());
    assert_eq!(post(&c, &user, "hello").await.status, 403);
    // The account the app shows the DM under: the server's own.
    let account = account_in_first_dm(&user).await;
    assert_eq!(account, ServerIdentity::of(&c.app.state.key).session_id());
    let code = code_in(&inbox(&user).await[0].text);

    let stranger = SigningKey::from_bytes(&[42; 32]);
    let someone_else = SessionId::new(IdPrefix::Session, [9; 32]);
    let mut no_text = Vec::new();
    no_text.extend_from_slice(&[0x0a, 0x00]); // Content with an empty dataMessage
    let sealed_no_text = session_message::seal(&key, &account, &no_text).unwrap();
    let junk: [Vec<u8>; 4] = [
        b"not a Session message".to_vec(),
        swarm_envelope::wrap(b"not sealed", 1),
        as_app_sends(&key, &someone_else, &code),
        swarm_envelope::wrap(&sealed_no_text, 1),
    ];
    for data in &junk {
        store_in_swarm(&sim, &account, data).await;
    }
    // Text from someone without a challenge: read, and nothing happens.
    store_in_swarm(&sim, &account, &as_app_sends(&stranger, &account, &code)).await;
    // (One answer at a time: two instances reading at once may handle two messages in
    // either order.)
    store_in_swarm(&sim, &account, &as_app_sends(&key, &account, &not(&code))).await;
    wait_until("the wrong answer read from the swarm", || async {
        inbox(&user).await.len() >= 2
    })
    .await;
    assert!(inbox(&user).await[1].text.contains("2 tries left"));
    assert_eq!(post(&c, &user, "hello?").await.status, 403);
    store_in_swarm(&sim, &account, &as_app_sends(&key, &account, &code)).await;
    wait_until("the right answer read from the swarm", || async {
        inbox(&user).await.len() >= 3
    })
    .await;
    let dms = inbox(&user).await;
    assert!(dms[2].text.contains("You can post in Lobby now"), "{dms:?}");
    assert_eq!(post(&c, &user, "hello, for real").await.status, 201);

    // A 25-blinded user: the DM comes from the server's 25-blinded id, the app answers the
    // same account.
    rand::fill(&mut seed);
    let key25 = SigningKey::from_bytes(&seed);
    let user25 = c
        .app
        .client()
        .with_user_seed_blind25(seed)
        .with_clock(clock.clone());
    assert_eq!(post(&c, &user25, "hi").await.status, 403);
    assert_eq!(account_in_first_dm(&user25).await, account);
    let code25 = code_in(&inbox(&user25).await[0].text);
    store_in_swarm(&sim, &account, &as_app_sends(&key25, &account, &code25)).await;
    wait_until("the 25-blinded user's answer", || async {
        inbox(&user25).await.len() >= 2
    })
    .await;
    assert_eq!(post(&c, &user25, "hi, for real").await.status, 201);

    // Both instances read on; nothing is handled twice.
    c.app.next_pass_of("server_inbox").await;
    other.next_pass_of("server_inbox").await;
    assert_eq!(inbox(&user).await.len(), 3);
    assert_eq!(inbox(&user25).await.len(), 2);
    assert_eq!(
        audit_actions(&c, &user).await,
        ["captcha_issued", "captcha_wrong", "captcha_passed"]
    );
    sim.stop().await;
}
