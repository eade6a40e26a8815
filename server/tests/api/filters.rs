//! Content filters (spec §6.11) over HTTP: silent filtering (201 `filtered`, never shown),
//! refusal (429 naming the filter), moderators' exemption and `filter_mods`, the three
//! alphabets, a custom word list, filtered edits, and malformed protobuf passing.

use std::io::Write;

use serde_json::{Value, json};
use sogs::config::{Config, FilterReplyConfig, RoomFiltersConfig};

use crate::community::{Community, TOKEN, b64, id_of, now};
use crate::support::{Backend, spawn_app_with};

/// Appends a protobuf varint.
fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited protobuf field.
fn field(number: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint(number << 3 | 2, &mut out);
    varint(payload.len() as u64, &mut out);
    out.extend_from_slice(payload);
    out
}

/// A padded Session message: `Content{dataMessage{body, timestamp, profile{displayName}}}`
/// then `0x80` and zeros, as clients send it.
fn message(body: &str, name: &str) -> Vec<u8> {
    let mut dm = field(1, body.as_bytes());
    varint(7 << 3, &mut dm);
    varint(1_700_000_000_000, &mut dm);
    dm.extend(field(101, &field(1, name.as_bytes())));
    let mut out = field(1, &dm);
    out.push(0x80);
    out.resize(out.len().div_ceil(160) * 160, 0);
    out
}

/// A server with the lobby, no post rate limit, and filters configured by `adjust`.
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

/// Ids visible to a fresh reader in both `recent` and `since/0`.
async fn visible(c: &Community) -> (Vec<i64>, Vec<i64>) {
    let reader = c.user().await;
    let (_, recent) = c.get(&reader, &c.path("/messages/recent")).await;
    let (_, since) = c.get(&reader, &c.path("/messages/since/0")).await;
    let ids = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    (ids(&recent), ids(&since))
}

async fn silent_profanity_is_stored_filtered_and_never_shown(backend: Backend) {
    let c = community(backend, |config| config.filters.profanity = true).await;
    let alice = c.user().await;
    let clean = c.post(&alice, &message("hello there", "Alice")).await;
    assert!(clean.get("filtered").is_none(), "{clean}");

    for data in [
        message("well, SHIT happens", "Alice"),
        message("hello", "the bastard"),
    ] {
        let res = c.try_post(&alice, &data).await;
        assert_eq!(res.status, 201, "{}", res.text());
        let body = res.json();
        assert_eq!(body["filtered"], json!(true));
        assert_eq!(body["data"], b64(&data));
        let (status, _) = c
            .get(&alice, &c.path(&format!("/message/{}", id_of(&body))))
            .await;
        assert_eq!(status, 404);
    }
    // Whole words only.
    c.post(&alice, &message("Scunthorpe shitake assessment", "Al"))
        .await;
    let (recent, since) = visible(&c).await;
    assert_eq!(recent.len(), 2);
    assert!(recent.contains(&id_of(&clean)));
    assert_eq!(since.len(), 2);
}
both_backends!(silent_profanity_is_stored_filtered_and_never_shown);

async fn non_silent_filters_answer_429_naming_the_filter(backend: Backend) {
    let c = community(backend, |config| {
        config.filters.profanity = true;
        config.filters.profanity_silent = false;
        config.filters.alphabets = "cyrillic".into();
        config.filters.alphabet_silent = false;
    })
    .await;
    let alice = c.user().await;
    let res = c.try_post(&alice, &message("fuck this", "Alice")).await;
    assert_eq!(
        (res.status, res.text()),
        (429, "filtration rejected message (profanity)".to_string())
    );
    let res = c.try_post(&alice, &message("привет", "Alice")).await;
    assert_eq!(
        (res.status, res.text()),
        (429, "filtration rejected message (alphabet)".to_string())
    );
    // Alphabets look at the body only.
    c.post(&alice, &message("hello", "Борис")).await;
    assert_eq!(visible(&c).await.0.len(), 1);
}
both_backends!(non_silent_filters_answer_429_naming_the_filter);

async fn moderators_are_exempt_unless_filter_mods(backend: Backend) {
    for filter_mods in [false, true] {
        let c = community(backend, |config| {
            config.filters.profanity = true;
            config.filters.profanity_silent = false;
            config.filters.filter_mods = filter_mods;
        })
        .await;
        let data = message("oh shit", "Mod");
        for client in [c.moderator().await, c.admin().await] {
            let res = c.try_post(&client, &data).await;
            let expected = if filter_mods { 429 } else { 201 };
            assert_eq!(res.status, expected, "filter_mods={filter_mods}");
        }
        let res = c.try_post(&c.user().await, &data).await;
        assert_eq!(res.status, 429);
    }
}
both_backends!(moderators_are_exempt_unless_filter_mods);

async fn each_alphabet_filters_its_script(backend: Backend) {
    // U+0629 is Arabic but not in the Persian set; U+067E (peh) is Persian.
    let cases = [
        ("cyrillic", "Добрый день", "hello"),
        ("arabic", "مرحبا \u{629}", "hello"),
        ("persian", "\u{67e}", "\u{629}"),
    ];
    for (alphabet, caught, passes) in cases {
        let c = community(backend, |config| {
            config.filters.alphabets = alphabet.into();
        })
        .await;
        let alice = c.user().await;
        let res = c.try_post(&alice, &message(caught, "A")).await;
        assert_eq!(res.status, 201, "{alphabet}");
        assert_eq!(res.json()["filtered"], json!(true), "{alphabet}");
        let ok = c.post(&alice, &message(passes, "A")).await;
        assert!(ok.get("filtered").is_none(), "{alphabet}: {ok}");
        assert_eq!(visible(&c).await.0, [id_of(&ok)], "{alphabet}");
    }
}
both_backends!(each_alphabet_filters_its_script);

async fn a_custom_word_list_extends_the_default(backend: Backend) {
    let mut words = tempfile::NamedTempFile::new().unwrap();
    words.write_all(b"# local words\nFrobnicate\n\n").unwrap();
    let path = words.path().to_str().unwrap().to_string();
    let c = community(backend, |config| {
        config.filters.profanity = true;
        config.filters.profanity_silent = false;
        config.filters.profanity_custom = path;
    })
    .await;
    let alice = c.user().await;
    for body in ["do not frobnicate", "crap"] {
        let res = c.try_post(&alice, &message(body, "A")).await;
        assert_eq!(res.status, 429, "{body}");
    }
    c.post(&alice, &message("frobnicated", "A")).await;
}
both_backends!(a_custom_word_list_extends_the_default);

async fn filtered_edits_are_dropped_or_refused(backend: Backend) {
    let c = community(backend, |config| {
        config.filters.profanity = true;
        config.filters.alphabets = "arabic".into();
        config.filters.alphabet_silent = false;
    })
    .await;
    let alice = c.user().await;
    let original = message("hello", "Alice");
    let posted = c.post(&alice, &original).await;
    let path = c.path(&format!("/message/{}", id_of(&posted)));
    let edit = |data: &[u8]| alice.message_json(data);

    let res = alice
        .put_json(&path, &edit(&message("shit", "Alice")))
        .await
        .unwrap();
    assert_eq!((res.status, res.json()), (200, json!({})));
    let res = alice
        .put_json(&path, &edit(&message("مرحبا", "Alice")))
        .await
        .unwrap();
    assert_eq!(
        (res.status, res.text()),
        (429, "filtration rejected message (alphabet)".to_string())
    );
    let (status, got) = c.get(&alice, &path).await;
    assert_eq!((status, &got["data"]), (200, &json!(b64(&original))));
    assert!(got.get("edited").is_none(), "{got}");

    let fine = message("hello again", "Alice");
    let res = alice.put_json(&path, &edit(&fine)).await.unwrap();
    assert_eq!(res.status, 200);
    let (_, got) = c.get(&alice, &path).await;
    assert_eq!(got["data"], b64(&fine));
}
both_backends!(filtered_edits_are_dropped_or_refused);

async fn malformed_protobuf_passes_unfiltered(backend: Backend) {
    let c = community(backend, |config| {
        config.filters.profanity = true;
        config.filters.profanity_silent = false;
        config.filters.alphabets = "arabic,persian,cyrillic".into();
        config.filters.alphabet_silent = false;
    })
    .await;
    let alice = c.user().await;
    let mut truncated = message("shit", "A");
    truncated.truncate(5);
    let cases: Vec<Vec<u8>> = vec![
        b"shit".to_vec(),
        truncated,
        vec![
            0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ],
        vec![0x0b, 0x00],
        vec![],
        vec![0x80],
    ];
    for data in cases {
        let res = c.try_post(&alice, &data).await;
        assert_eq!(res.status, 201, "{data:02x?}: {}", res.text());
        assert!(res.json().get("filtered").is_none());
    }
}
both_backends!(malformed_protobuf_passes_unfiltered);

async fn a_room_override_applies_to_that_room_only(backend: Backend) {
    let c = community(backend, |config| {
        config.filters.profanity = true;
        config.filters.rooms.insert(
            "LOBBY".into(),
            RoomFiltersConfig {
                profanity_silent: Some(false),
                ..RoomFiltersConfig::default()
            },
        );
        config.filters.rooms.insert(
            "quiet".into(),
            RoomFiltersConfig {
                profanity: Some(false),
                ..RoomFiltersConfig::default()
            },
        );
    })
    .await;
    c.add_room("quiet").await;
    c.add_room("other").await;
    let alice = c.user().await;
    let data = message("shit", "Alice");
    let res = c.try_post(&alice, &data).await;
    assert_eq!(res.status, 429, "lobby refuses: {}", res.text());
    for (room, filtered) in [("quiet", false), ("other", true)] {
        let res = alice
            .post_json(&format!("/room/{room}/message"), &alice.message_json(&data))
            .await
            .unwrap();
        assert_eq!(res.status, 201, "{room}: {}", res.text());
        assert_eq!(res.json().get("filtered").is_some(), filtered, "{room}");
    }
}
both_backends!(a_room_override_applies_to_that_room_only);

/// The texts of a stored message's protobuf `dataMessage`: body and display name.
fn texts(message: &Value) -> (String, String) {
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD
        .decode(message["data"].as_str().unwrap())
        .unwrap();
    let data = sogs::domain::padding::unpad(&data);
    let text = sogs::domain::filters::parse_message(data).unwrap();
    (text.body.unwrap(), text.display_name.unwrap())
}

async fn a_reply_rule_has_the_bot_answer_the_poster(backend: Backend) {
    let c = community(backend, |config| {
        config.filters.profanity = true;
        config.filters.profanity_silent = false;
        config.filters.alphabets = "cyrillic".into();
        config.filters.replies.insert(
            "*:profanity".into(),
            FilterReplyConfig {
                reply: vec!["\\@ (\\p) mind your language in \\r".into()],
                ..FilterReplyConfig::default()
            },
        );
        config.filters.replies.insert(
            "lobby:cyrillic".into(),
            FilterReplyConfig {
                reply: vec!["English only, please".into()],
                profile_name: "Doorman".into(),
                public: true,
            },
        );
    })
    .await;
    let alice = c.user().await;
    let bob = c.user().await;
    let res = c.try_post(&alice, &message("shit", "Alice")).await;
    assert_eq!(res.status, 429);

    let (_, recent) = c.get(&alice, &c.path("/messages/recent")).await;
    let reply = &recent[0];
    assert_eq!(
        texts(reply),
        (
            format!("@{} (Alice) mind your language in Lobby", alice.id()),
            "SOGS".to_string()
        )
    );
    assert_eq!(reply["whisper"], json!(true));
    // The bot's key comes from its name and the server key, and it signed the padded bytes.
    let seed: [u8; 32] = sogs::crypto::hashing::keyed_hash(
        b"sogsfiltering",
        &[b"SOGS".as_slice(), &c.app.state.key.to_bytes()],
    );
    let bot = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
    assert_eq!(
        reply["session_id"],
        format!("15{}", hex::encode(bot.to_bytes()))
    );
    assert!(visible(&c).await.0.is_empty(), "a whisper to alice only");

    let res = c.try_post(&bob, &message("Привет", "Bob")).await;
    assert_eq!(res.json()["filtered"], json!(true));
    let (recent, _) = visible(&c).await;
    assert_eq!(recent.len(), 1, "the public reply");
    let (_, shown) = c.get(&bob, &c.path("/messages/recent")).await;
    assert_eq!(
        texts(&shown[0]),
        ("English only, please".into(), "Doorman".into())
    );
    assert!(shown[0].get("whisper").is_none(), "{}", shown[0]);
}
both_backends!(a_reply_rule_has_the_bot_answer_the_poster);
