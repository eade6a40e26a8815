//! Reports (issue 14) over real HTTP: users report a message through the API or by
//! replying `/report` in the room; moderators work through the queue by API and by
//! commands; enough established reporters hide a message, fresh IDs cannot; hash bans
//! through room commands; and reports across instances.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use sogs::client::{ClientResponse, SogsClient};
use sogs::clock::Clock;
use sogs::domain::filters::{QuotedMessage, encode_message, encode_reply, parse_message};
use sogs::domain::padding::unpad;
use sogs::store::AuditFilter;

use crate::community::{Community, TOKEN, now};
use crate::support::app::spawn_app_with_clock;
use crate::support::{Backend, spawn_app_with};

both_backends!(
    a_report_through_the_api_reaches_the_queue_and_moderators_act_on_it,
    replying_report_in_the_room_reports_the_quoted_message_and_only_the_reporter_sees_it,
    enough_established_reporters_hide_a_message_and_fresh_ids_do_not,
    moderators_work_the_queue_with_room_commands,
    malformed_report_commands_get_a_whispered_error_never_a_500,
    bad_report_requests_are_refused_with_clear_statuses,
    reports_on_two_instances_count_each_reporter_once_and_hide_once,
    hash_bans_through_room_commands_refuse_copies_and_can_be_lifted,
    a_message_hidden_by_reports_can_still_have_its_text_hash_banned,
);

fn text(body: &str) -> Vec<u8> {
    encode_message(body, (now() * 1000.0) as u64, "Tester")
}

async fn community_with(
    backend: Backend,
    tune: impl FnOnce(&mut sogs::config::Config),
) -> Community {
    let app = spawn_app_with(backend, |config| {
        config.rooms.post_rate_limit = 0;
        config.antiraid.command_retract_secs = 0.0;
        // Every reporter counts unless a test says otherwise.
        config.antiraid.report_trusted_after_secs = 0.0;
        config.antiraid.report_hide_after = 3;
        tune(config);
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

async fn community(backend: Backend) -> Community {
    community_with(backend, |_| {}).await
}

async fn say(c: &Community, client: &SogsClient, body: &str) -> ClientResponse {
    c.try_post(client, &text(body)).await
}

/// Posts `body` and returns the stored message's id and the padded bytes sent.
async fn posted(c: &Community, client: &SogsClient, body: &str) -> (i64, Vec<u8>) {
    let data = text(body);
    let res = c.try_post(client, &data).await;
    assert_eq!(res.status, 201, "{}", res.text());
    (res.json()["id"].as_i64().unwrap(), data)
}

/// The bodies of the messages `client` sees that are whispers (to them, or to moderators).
async fn whispers(c: &Community, client: &SogsClient) -> Vec<String> {
    let (status, list) = c.get(client, &c.path("/messages/since/0")).await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            (m["whisper_mods"] == json!(true) || m["whisper"] == json!(true))
                && m["data"].is_string()
        })
        .map(|m| {
            let bytes = B64.decode(m["data"].as_str().unwrap()).unwrap();
            parse_message(unpad(&bytes))
                .and_then(|t| t.body)
                .unwrap_or_default()
        })
        .collect()
}

async fn last_whisper(c: &Community, client: &SogsClient) -> String {
    whispers(c, client).await.pop().unwrap_or_default()
}

async fn report(client: &SogsClient, message: i64, body: Value) -> ClientResponse {
    client
        .post_json(
            &format!("/sogs-rs/room/{TOKEN}/message/{message}/report"),
            &body,
        )
        .await
        .unwrap()
}

async fn listing(c: &Community, moderator: &SogsClient, all: bool) -> Vec<Value> {
    let (status, list) = c
        .get(
            moderator,
            &format!(
                "/sogs-rs/room/{TOKEN}/reports{}",
                if all { "?all=1" } else { "" }
            ),
        )
        .await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().clone()
}

async fn act(moderator: &SogsClient, message: i64, body: Value) -> ClientResponse {
    moderator
        .post_json(&format!("/sogs-rs/room/{TOKEN}/reports/{message}"), &body)
        .await
        .unwrap()
}

/// A reply to `message` (sent as `data` by `author`) with `body`.
fn reply(body: &str, author: &SogsClient, data: &[u8]) -> Vec<u8> {
    let sent_ms = sogs::domain::filters::sent_timestamp(unpad(data)).unwrap();
    encode_reply(
        body,
        (now() * 1000.0) as u64 + 1,
        "Replier",
        &QuotedMessage {
            sent_ms,
            author: author.id(),
        },
    )
}

async fn a_report_through_the_api_reaches_the_queue_and_moderators_act_on_it(backend: Backend) {
    let c = community(backend).await;
    let moderator = c.moderator().await;
    let spammer = c.user().await;
    let reader = c.user().await;
    let (spam, _) = posted(&c, &spammer, "buy cheap followers").await;
    let res = report(&reader, spam, json!({"reason": "  spam\n bot "})).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), json!({"message": spam, "new": true}));
    // Reporting again changes nothing.
    let again = report(&reader, spam, json!({})).await;
    assert_eq!(again.json()["new"], false);
    let open = queue(&c, &moderator).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["message"], spam);
    assert_eq!(open[0]["author"], spammer.id());
    assert_eq!(open[0]["text"], "buy cheap followers");
    assert_eq!(open[0]["reporters"], 1);
    assert_eq!(open[0]["hidden"], false);
    assert_eq!(open[0]["reports"][0]["reason"], "spam bot");
    assert_eq!(open[0]["reports"][0]["reporter"], reader.id());
    // The moderators were told of the first report.
    assert!(last_whisper(&c, &moderator).await.contains(&format!(
        "Message {spam} from {} was reported: spam bot",
        spammer.id()
    )));
    // Members do not see the queue.
    let (status, _) = c
        .get(&reader, &format!("/sogs-rs/room/{TOKEN}/reports"))
        .await;
    assert_eq!(status, 403);
    // Ban through the queue: the author is banned and the message gone.
    let res = act(&moderator, spam, json!({"action": "ban", "seconds": 86400})).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["resolution"], "banned");
    assert_eq!(res.json()["deleted"], 1);
    assert!(!c.recent_ids(&reader).await.contains(&spam));
    assert_eq!(say(&c, &spammer, "again").await.status, 403);
    assert!(queue(&c, &moderator).await.is_empty());
    let handled = queue_all(&c, &moderator).await;
    assert_eq!(handled[0]["resolution"], "banned");
    assert_eq!(handled[0]["resolved_by"], moderator.id());
    // Handled once: a second verdict is a 404.
    assert_eq!(
        act(&moderator, spam, json!({"action": "delete"}))
            .await
            .status,
        404
    );
    // A dismissal keeps the message.
    let (fine, _) = posted(&c, &c.user().await, "a fine message").await;
    assert_eq!(report(&reader, fine, json!({})).await.status, 200);
    let res = act(&moderator, fine, json!({"action": "dismiss"})).await;
    assert_eq!(res.json()["resolution"], "dismissed");
    assert!(c.recent_ids(&reader).await.contains(&fine));
    // Audit log and metrics.
    let log = c
        .app
        .state
        .store
        .audit_log(&AuditFilter {
            room: Some(TOKEN.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    for expected in ["report", "report_resolve", "ban"] {
        assert!(actions.contains(&expected), "{actions:?}");
    }
    let metrics = c.app.state.metrics.render();
    assert!(
        metrics.contains("sogs_reports_total{outcome=\"new\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sogs_reports_total{outcome=\"duplicate\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sogs_reports_total{outcome=\"resolved\"} 2"),
        "{metrics}"
    );
}

/// The open reports of the lobby.
async fn queue(c: &Community, moderator: &SogsClient) -> Vec<Value> {
    listing(c, moderator, false).await
}

/// Every report of the lobby, handled ones too.
async fn queue_all(c: &Community, moderator: &SogsClient) -> Vec<Value> {
    listing(c, moderator, true).await
}

async fn replying_report_in_the_room_reports_the_quoted_message_and_only_the_reporter_sees_it(
    backend: Backend,
) {
    let c = community(backend).await;
    let moderator = c.moderator().await;
    let author = c.user().await;
    let reporter = c.user().await;
    let bystander = c.user().await;
    let (target, data) = posted(&c, &author, "something rude").await;
    let res = c
        .try_post(&reporter, &reply("/report rude words", &author, &data))
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let command = res.json()["id"].as_i64().unwrap();
    let command_seqno = res.json()["seqno"].as_i64().unwrap();
    // Only the reporter sees their command and the bot's thanks.
    let thanks = last_whisper(&c, &reporter).await;
    assert!(
        thanks.contains(&format!("message {target} is reported")),
        "{thanks}"
    );
    assert!(!c.recent_ids(&bystander).await.contains(&command));
    assert!(whispers(&c, &bystander).await.is_empty());
    let open = queue(&c, &moderator).await;
    assert_eq!(open[0]["message"], target);
    assert_eq!(open[0]["reports"][0]["reason"], "rude words");
    // The command message is retracted, so the reporter's client drops it.
    let gone = crate::support::cluster::eventually(std::time::Duration::from_secs(10), || async {
        let (_, all) = c
            .get(
                &reporter,
                &c.path(&format!("/messages/since/{command_seqno}")),
            )
            .await;
        all.as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == json!(command) && m["deleted"] == json!(true))
    })
    .await;
    assert!(gone, "the /report message was never retracted");
    // `/report ID` names the message without a reply.
    let (other, _) = posted(&c, &author, "another").await;
    assert_eq!(
        say(&c, &reporter, &format!("/report {other} also rude"))
            .await
            .status,
        201
    );
    assert_eq!(queue(&c, &moderator).await.len(), 2);
}

async fn enough_established_reporters_hide_a_message_and_fresh_ids_do_not(backend: Backend) {
    let clock = Clock::manual(now());
    let app = spawn_app_with_clock(backend, clock.clone(), |config| {
        config.rooms.post_rate_limit = 0;
        config.antiraid.command_retract_secs = 0.0;
        config.antiraid.report_hide_after = 2;
        config.antiraid.report_trusted_after_secs = 3_600.0;
    })
    .await;
    let room = app
        .state
        .store
        .create_room(TOKEN, "Lobby", None, clock.now())
        .await
        .unwrap();
    let c = Community { app, room };
    let moderator = c.moderator().await;
    let regulars = [c.user().await, c.user().await];
    for r in &regulars {
        // Seen in the room two hours before (as their first poll would record).
        let user = c.known(r).await;
        c.app
            .state
            .store
            .note_first_seen(c.room.id, user.id, clock.now())
            .await
            .unwrap();
    }
    clock.advance(7_200.0);
    let regular_author = c.user().await;
    let (good, _) = posted(&c, &regular_author, "an honest opinion").await;
    // A raid of fresh IDs reports it: it stays.
    for _ in 0..5 {
        let raider = c.user().await;
        assert_eq!(report(&raider, good, json!({})).await.status, 200);
    }
    assert!(c.recent_ids(&regulars[0]).await.contains(&good));
    let case = &queue(&c, &moderator).await[0];
    assert_eq!(
        (case["reporters"].clone(), case["trusted_reporters"].clone()),
        (json!(5), json!(0))
    );
    // Two established users report spam: it is hidden at once, kept in the queue.
    let spammer = c.user().await;
    let (spam, _) = posted(&c, &spammer, "spam spam spam").await;
    assert_eq!(report(&regulars[0], spam, json!({})).await.status, 200);
    assert!(c.recent_ids(&regulars[1]).await.contains(&spam));
    assert_eq!(report(&regulars[1], spam, json!({})).await.status, 200);
    assert!(!c.recent_ids(&regulars[1]).await.contains(&spam));
    let case = queue(&c, &moderator)
        .await
        .into_iter()
        .find(|e| e["message"] == spam)
        .unwrap();
    assert_eq!(case["hidden"], true);
    assert_eq!(case["text"], "spam spam spam");
    let alert = last_whisper(&c, &moderator).await;
    assert!(
        alert.contains(&format!("Message {spam}")) && alert.contains("hidden"),
        "{alert}"
    );
    let metrics = c.app.state.metrics.render();
    assert!(
        metrics.contains("sogs_reports_total{outcome=\"hidden\"} 1"),
        "{metrics}"
    );
    // A moderator's message is never hidden by reports.
    let (mods, _) = posted(&c, &moderator, "rules: be nice").await;
    for r in &regulars {
        assert_eq!(report(r, mods, json!({})).await.status, 200);
    }
    assert!(c.recent_ids(&regulars[0]).await.contains(&mods));
    // The room turns hiding off.
    let res = moderator
        .post_json(
            &format!("/sogs-rs/room/{TOKEN}/report-policy"),
            &json!({"hide_after": 0}),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    let (other, _) = posted(&c, &spammer, "more spam").await;
    for r in &regulars {
        assert_eq!(report(r, other, json!({})).await.status, 200);
    }
    assert!(c.recent_ids(&regulars[0]).await.contains(&other));
    let (_, policy) = c
        .get(&moderator, &format!("/sogs-rs/room/{TOKEN}/policy"))
        .await;
    assert_eq!(policy["reports"]["hide_after"], 0, "{policy}");
}

async fn moderators_work_the_queue_with_room_commands(backend: Backend) {
    let c = community(backend).await;
    let moderator = c.moderator().await;
    let author = c.user().await;
    let reporter = c.user().await;
    let (first, first_data) = posted(&c, &author, "first offence").await;
    let (second, _) = posted(&c, &author, "second offence").await;
    for id in [first, second] {
        assert_eq!(
            report(&reporter, id, json!({"reason": "rude"}))
                .await
                .status,
            200
        );
    }
    assert_eq!(say(&c, &moderator, "/reports").await.status, 201);
    let listing = last_whisper(&c, &moderator).await;
    assert!(
        listing.contains(&format!("#{first} by {}", author.id())),
        "{listing}"
    );
    assert!(listing.contains("\"second offence\""), "{listing}");
    // Replying to the reported message with the verdict.
    let res = c
        .try_post(&moderator, &reply("/reports delete", &author, &first_data))
        .await;
    assert_eq!(res.status, 201);
    let done = last_whisper(&c, &moderator).await;
    assert!(
        done.contains(&format!("Report of message {first}")) && done.contains("deleted"),
        "{done}"
    );
    assert!(!c.recent_ids(&reporter).await.contains(&first));
    assert_eq!(
        say(&c, &moderator, &format!("/reports dismiss {second}"))
            .await
            .status,
        201
    );
    assert!(last_whisper(&c, &moderator).await.contains("dismissed"));
    assert_eq!(say(&c, &moderator, "/reports").await.status, 201);
    assert!(
        last_whisper(&c, &moderator)
            .await
            .contains("No reports are waiting")
    );
    assert_eq!(
        say(&c, &moderator, "/reports hide-after 5").await.status,
        201
    );
    assert_eq!(say(&c, &moderator, "/status").await.status, 201);
    assert!(
        last_whisper(&c, &moderator)
            .await
            .contains("reported by 5 established users is hidden")
    );
    let log = c
        .app
        .state
        .store
        .audit_log(&AuditFilter {
            action: Some("report_resolve".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(log.len(), 2);
    assert!(
        log.iter()
            .all(|e| e.details.as_ref().unwrap()["door"] == "command")
    );
}

async fn malformed_report_commands_get_a_whispered_error_never_a_500(backend: Backend) {
    let c = community(backend).await;
    let moderator = c.moderator().await;
    let member = c.user().await;
    let (own, _) = posted(&c, &member, "mine").await;
    for (who, command, expected) in [
        (&member, "/report", "reply to the message"),
        (&member, "/report abc", "reply to the message"),
        (&member, "/report 999999", "No message 999999"),
        (&member, &*format!("/report {own}"), "your own message"),
        (&moderator, "/reports nuke 3", "usage: /reports"),
        (
            &moderator,
            "/reports delete 999999",
            "No open report of message 999999",
        ),
        (&moderator, "/reports ban", "reply to it"),
        (
            &moderator,
            "/reports hide-after lots",
            "not a number of reporters",
        ),
        (&moderator, "/hashban", "reply to it"),
        (&moderator, "/hashban 999999", "No message 999999"),
        (&moderator, "/hashunban x", "not a message number"),
    ] {
        let res = say(&c, who, command).await;
        assert_eq!(res.status, 201, "{command}: {}", res.text());
        let answer = last_whisper(&c, who).await;
        assert!(answer.contains(expected), "{command}: {answer}");
    }
    // Nobody else saw any of it.
    let bystander = c.user().await;
    assert!(whispers(&c, &bystander).await.is_empty());
    assert_eq!(c.recent_ids(&bystander).await, vec![own]);
}

async fn bad_report_requests_are_refused_with_clear_statuses(backend: Backend) {
    let c = community_with(backend, |config| config.antiraid.reports_per_hour = 2).await;
    let moderator = c.moderator().await;
    let author = c.user().await;
    let reader = c.user().await;
    let (msg, _) = posted(&c, &author, "hello").await;
    for (body, status) in [
        (json!([]), 400),
        (json!({"reason": 5}), 400),
        (json!({"why": "x"}), 400),
    ] {
        let res = report(&reader, msg, body.clone()).await;
        assert_eq!(res.status, status, "{body}: {}", res.text());
    }
    assert_eq!(report(&author, msg, json!({})).await.status, 400);
    assert_eq!(report(&reader, 999_999, json!({})).await.status, 404);
    let anonymous = c.anonymous();
    assert_eq!(report(&anonymous, msg, json!({})).await.status, 401);
    // A moderator whisper is not the reader's to report.
    let whisper = c
        .post_with(
            &moderator,
            &text("mods only"),
            json!({"whisper_mods": true}),
        )
        .await;
    assert_eq!(whisper.status, 201, "{}", whisper.text());
    let whisper_id = whisper.json()["id"].as_i64().unwrap();
    assert_eq!(report(&reader, whisper_id, json!({})).await.status, 404);
    // The hourly cap.
    let (m2, _) = posted(&c, &author, "two").await;
    let (m3, _) = posted(&c, &author, "three").await;
    assert_eq!(report(&reader, msg, json!({})).await.status, 200);
    assert_eq!(report(&reader, m2, json!({})).await.status, 200);
    let capped = report(&reader, m3, json!({})).await;
    assert_eq!(capped.status, 429, "{}", capped.text());
    // The queue's verdicts.
    for (body, status) in [
        (json!({"action": "nuke"}), 400),
        (json!({"action": "delete", "seconds": 5}), 400),
        (json!({"action": "ban", "seconds": -5}), 400),
        (json!({}), 400),
        (json!({"action": "delete"}), 404),
    ] {
        let res = act(&moderator, m3, body.clone()).await;
        assert_eq!(res.status, status, "{body}: {}", res.text());
    }
    assert_eq!(
        act(&reader, msg, json!({"action": "delete"})).await.status,
        403
    );
    let (status, _) = c
        .get(
            &moderator,
            &format!("/sogs-rs/room/{TOKEN}/reports?all=maybe"),
        )
        .await;
    assert_eq!(status, 400);
    for (body, status) in [
        (json!({}), 400),
        (json!({"hide_after": -1}), 400),
        (json!({"hide_after": 5000}), 400),
        (json!({"hide_after": null}), 200),
    ] {
        let res = moderator
            .post_json(&format!("/sogs-rs/room/{TOKEN}/report-policy"), &body)
            .await
            .unwrap();
        assert_eq!(res.status, status, "{body}: {}", res.text());
    }
}

async fn reports_on_two_instances_count_each_reporter_once_and_hide_once(backend: Backend) {
    let c = community_with(backend, |config| config.antiraid.report_hide_after = 3).await;
    let other = c.app.another_instance(|_| {}).await;
    let moderator = c.moderator().await;
    let author = c.user().await;
    let (msg, _) = posted(&c, &author, "spam from a bot").await;
    let a = c.user().await;
    let b = c.user().await;
    let a_there = other.client().with_signer(a.signer().unwrap().clone());
    let b_there = other.client().with_signer(b.signer().unwrap().clone());
    // Each reporter on both instances at once: two reporters, counted once each.
    let (r1, r2, r3, r4) = tokio::join!(
        report(&a, msg, json!({})),
        report(&a_there, msg, json!({})),
        report(&b, msg, json!({})),
        report(&b_there, msg, json!({})),
    );
    for (i, r) in [&r1, &r2, &r3, &r4].iter().enumerate() {
        assert_eq!(r.status, 200, "request {i}: {}", r.text());
    }
    let new = [&r1, &r2, &r3, &r4]
        .iter()
        .filter(|r| r.json()["new"] == true)
        .count();
    assert_eq!(new, 2);
    let case = &queue(&c, &moderator).await[0];
    assert_eq!(
        (case["reporters"].clone(), case["hidden"].clone()),
        (json!(2), json!(false))
    );
    // Two more reporters at once, one per instance: the third hides it, exactly once (a
    // report that arrives after the hiding finds no message: 404).
    let d = c.user().await;
    let e = c.user().await;
    let e_there = other.client().with_signer(e.signer().unwrap().clone());
    let (r5, r6) = tokio::join!(report(&d, msg, json!({})), report(&e_there, msg, json!({})));
    for r in [&r5, &r6] {
        assert!([200, 404].contains(&r.status), "{}", r.text());
    }
    assert!(r5.status == 200 || r6.status == 200);
    let hides = c
        .app
        .state
        .store
        .audit_log(&AuditFilter {
            action: Some("report_hide".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(hides.len(), 1);
    assert_eq!(queue(&c, &moderator).await[0]["hidden"], true);
    assert!(!c.recent_ids(&author).await.contains(&msg));
}

async fn hash_bans_through_room_commands_refuse_copies_and_can_be_lifted(backend: Backend) {
    let c = community(backend).await;
    let moderator = c.moderator().await;
    let spammer = c.user().await;
    let (spam, data) = posted(&c, &spammer, "join my crypto giveaway at example dot com").await;
    let res = c
        .try_post(&moderator, &reply("/hashban", &spammer, &data))
        .await;
    assert_eq!(res.status, 201);
    let answer = last_whisper(&c, &moderator).await;
    assert!(
        answer.contains(&format!("of message {spam}")) && answer.contains("text (ban "),
        "{answer}"
    );
    let copy = say(
        &c,
        &c.user().await,
        "JOIN my 𝓬𝓻𝔂𝓹𝓽𝓸 giveaway at example dot com!!",
    )
    .await;
    assert_eq!(copy.status, 403, "{}", copy.text());
    assert_eq!(say(&c, &moderator, "/hashbans").await.status, 201);
    let listing = last_whisper(&c, &moderator).await;
    assert!(
        listing.contains("text") && listing.contains("giveaway"),
        "{listing}"
    );
    let ban_id = listing
        .lines()
        .find_map(|l| l.split(':').next()?.trim().parse::<i64>().ok())
        .unwrap();
    assert_eq!(
        say(&c, &moderator, &format!("/hashunban {ban_id}"))
            .await
            .status,
        201
    );
    assert!(last_whisper(&c, &moderator).await.contains("lifted"));
    assert_eq!(
        say(
            &c,
            &c.user().await,
            "join my crypto giveaway at example dot com"
        )
        .await
        .status,
        201
    );
}

async fn a_message_hidden_by_reports_can_still_have_its_text_hash_banned(backend: Backend) {
    let c = community(backend).await;
    let moderator = c.moderator().await;
    let spammer = c.user().await;
    let (spam, _) = posted(
        &c,
        &spammer,
        "cheap followers at spam dot example, dm me now",
    )
    .await;
    for _ in 0..3 {
        assert_eq!(report(&c.user().await, spam, json!({})).await.status, 200);
    }
    assert_eq!(queue(&c, &moderator).await[0]["hidden"], true);
    assert!(!c.recent_ids(&moderator).await.contains(&spam));
    // Working the queue, the moderator bans the hidden message's text by its id.
    assert_eq!(
        say(&c, &moderator, &format!("/hashban {spam}"))
            .await
            .status,
        201
    );
    let answer = last_whisper(&c, &moderator).await;
    assert!(
        answer.contains(&format!("of message {spam}")) && answer.contains("text (ban "),
        "{answer}"
    );
    let copy = say(
        &c,
        &c.user().await,
        "CHEAP followers at spam dot example — DM me now!",
    )
    .await;
    assert_eq!(copy.status, 403, "{}", copy.text());
}
