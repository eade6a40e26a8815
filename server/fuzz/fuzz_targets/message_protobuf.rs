//! The Session message protobuf (`Content`) that the content filters, the media rules, reply
//! quoting and room commands read from every post: the padding is stripped, then the hand-
//! written wire-format reader walks it. Nothing may panic; unpadding round-trips byte-exactly;
//! and a message built by the encoders from the same bytes parses back to what was encoded.
//! The same bytes are also read as a message from the server's swarm (the envelope around a
//! one-to-one message), whose wrapping must round-trip.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sogs::domain::filters::{
    Alphabet, ContentFilter, QuotedMessage, WordList, encode_message, encode_reply,
    parse_attachments, parse_message, parse_quote, sent_timestamp,
};
use sogs::domain::padding::{pad, unpad};
use sogs::domain::room_command;
use sogs::domain::swarm_envelope;

static FILTER: LazyLock<ContentFilter> = LazyLock::new(|| ContentFilter {
    profanity: Some(WordList::with_custom("badword\n# comment\n")),
    profanity_silent: false,
    alphabets: vec![Alphabet::Arabic, Alphabet::Persian, Alphabet::Cyrillic],
    alphabet_silent: true,
    filter_mods: false,
});

fuzz_target!(|data: &[u8]| {
    // As the post path reads a message: stored unpadded, padded again on output.
    let content = unpad(data);
    assert_eq!(pad(content, data.len()), data, "padding round-trips");

    let text = parse_message(content);
    let attachments = parse_attachments(content);
    // Both walk the same DataMessage, the text reader also the profile: when the text
    // parses, the attachments do too, with the same names.
    if let Some(text) = &text {
        let attachments = attachments
            .as_ref()
            .expect("attachments parse where text does");
        let names: Vec<_> = attachments
            .items
            .iter()
            .map(|a| a.file_name.clone())
            .collect();
        assert_eq!(text.attachments, names);
    }
    let verdict = FILTER.check(content);
    assert!(
        verdict.is_none() || text.is_some(),
        "only parsed messages are filtered"
    );
    let _ = parse_quote(content);
    let _ = sent_timestamp(content);
    if let Some(body) = text.as_ref().and_then(|t| t.body.as_deref()) {
        if room_command::looks_like_command(body) {
            let _ = room_command::parse(body);
        }
        let _ = room_command::parse_report(body);
    }

    // As the server reads its swarm: nothing panics, and a wrapped envelope unwraps.
    if let Some(envelope) = swarm_envelope::unwrap(data) {
        assert!(!envelope.content.is_empty());
    }
    let wrapped = swarm_envelope::wrap(data, 7);
    if !data.is_empty() {
        let envelope = swarm_envelope::unwrap(&wrapped).expect("a wrapped envelope unwraps");
        assert_eq!(envelope.content, data);
        assert_eq!(envelope.timestamp_ms, Some(7));
    }

    // The encoders' output parses back to what they were given.
    let as_text = String::from_utf8_lossy(data);
    let mid = (0..=as_text.len() / 2)
        .rev()
        .find(|&i| as_text.is_char_boundary(i))
        .unwrap_or(0);
    let (body, name) = as_text.split_at(mid);
    let timestamp = u64::from_le_bytes(
        data.get(..8)
            .map_or([0; 8], |b| b.try_into().unwrap_or([0; 8])),
    );
    let encoded = encode_message(body, timestamp, name);
    let parsed = parse_message(unpad(&encoded)).expect("an encoded message parses");
    assert_eq!(parsed.body.as_deref(), Some(body));
    assert_eq!(parsed.display_name.as_deref(), Some(name));
    assert_eq!(sent_timestamp(unpad(&encoded)), Some(timestamp));
    let quoted = QuotedMessage {
        sent_ms: timestamp.rotate_left(7),
        author: name.trim().to_ascii_lowercase(),
    };
    let reply = encode_reply(body, timestamp, name, &quoted);
    assert_eq!(parse_quote(unpad(&reply)), Some(quoted));
});
