//! The message object of spec §5.3 and the reactions dict of §6.6.
//!
//! Keys that do not apply are omitted rather than sent as null (the one exception is a
//! deleted message's `data: null`), timestamps are floats, and `data` is the padded bytes
//! the client originally sent, so the signature over them still verifies.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;

use crate::domain::padding;
use crate::store::{Message, ReactionSummary};

/// One element of a message list: a full (or deleted) message, or, from `since` with
/// `t=r`, just a message's new reactions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MessageView<'a> {
    Message(MessageObject<'a>),
    ReactionsOnly(ReactionsOnly<'a>),
}

/// A message as GET endpoints and `POST .../message` return it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageObject<'a> {
    pub id: i64,
    pub session_id: &'a str,
    pub posted: f64,
    pub seqno: i64,
    /// b64 of the padded bytes; `null` once deleted.
    pub data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whisper: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whisper_mods: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whisper_to: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reactions: Option<Reactions<'a>>,
}

/// A reaction-only update row: `{id, seqno, reactions}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReactionsOnly<'a> {
    pub id: i64,
    pub seqno: i64,
    pub reactions: Reactions<'a>,
}

/// The reactions dict: reaction string → details. Clients order by `index`, so the key
/// order of the object does not matter.
pub type Reactions<'a> = BTreeMap<&'a str, ReactionView<'a>>;

/// One entry of the reactions dict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReactionView<'a> {
    pub index: i64,
    pub count: i64,
    /// The first reactors; omitted when the request asked for none (`reactors=0`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reactors: Option<&'a [String]>,
    /// Present (and true) only if the requester reacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub you: Option<bool>,
}

/// The reactions dict for one message. `show_reactors` is false when the request asked
/// for `reactors=0`.
pub fn reactions(summaries: &[ReactionSummary], show_reactors: bool) -> Reactions<'_> {
    summaries
        .iter()
        .map(|r| {
            (
                r.reaction.as_str(),
                ReactionView {
                    index: r.index,
                    count: r.count,
                    reactors: show_reactors.then_some(r.reactors.as_slice()),
                    you: r.you.then_some(true),
                },
            )
        })
        .collect()
}

/// The data as the client sent it: the stored bytes padded back to `data_size`.
fn padded_data(data: &[u8], data_size: Option<i64>) -> Vec<u8> {
    let size = data_size
        .and_then(|s| usize::try_from(s).ok())
        .unwrap_or(data.len());
    padding::pad(data, size)
}

/// The message object. `reactions` is ignored for a deleted message, which has none.
pub fn message<'a>(m: &'a Message, reactions: Option<Reactions<'a>>) -> MessageObject<'a> {
    let whisper = m.is_whisper();
    let (data, deleted, signature, reactions) = match &m.data {
        Some(data) => (
            Some(B64.encode(padded_data(data, m.data_size))),
            None,
            m.signature.as_ref().map(|s| B64.encode(s)),
            Some(reactions.unwrap_or_default()),
        ),
        None => (None, Some(true), None, None),
    };
    MessageObject {
        id: m.id,
        session_id: &m.session_id,
        posted: m.posted,
        seqno: m.seqno,
        data,
        deleted,
        signature,
        edited: m.edited,
        whisper: whisper.then_some(true),
        whisper_mods: whisper.then_some(m.whisper_mods),
        whisper_to: m.whisper_to.as_deref(),
        reactions,
    }
}

/// What a `since/<seqno>` poll shows for a row the store returned: a deleted message, a
/// reaction-only update (the data did not change after `since`), or the full message.
pub fn since_row<'a>(m: &'a Message, since: i64, reactions: Reactions<'a>) -> MessageView<'a> {
    if !m.is_deleted() && m.seqno_data <= since {
        MessageView::ReactionsOnly(ReactionsOnly {
            id: m.id,
            seqno: m.seqno,
            reactions,
        })
    } else {
        MessageView::Message(message(m, Some(reactions)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn pad64(s: &[u8]) -> Vec<u8> {
        let mut v = s.to_vec();
        v.resize(64, 0);
        v
    }

    fn sample() -> Message {
        Message {
            id: 1,
            room: 1,
            user_id: 2,
            session_id: "15aa".into(),
            posted: 1_700_000_000.0,
            edited: None,
            seqno: 3,
            seqno_data: 3,
            seqno_reactions: 0,
            seqno_creation: 3,
            data: Some(b"fake data".to_vec()),
            data_size: Some(9),
            signature: Some(pad64(b"fake sig")),
            filtered: false,
            whisper_to_id: None,
            whisper_to: None,
            whisper_mods: false,
        }
    }

    fn to_json(v: impl Serialize) -> Value {
        serde_json::to_value(v).unwrap()
    }

    #[test]
    fn a_plain_message_matches_the_pysogs_sample() {
        let m = sample();
        let v = to_json(message(&m, None));
        assert_eq!(
            v,
            json!({
                "id": 1, "session_id": "15aa", "posted": 1_700_000_000.0, "seqno": 3,
                "data": "ZmFrZSBkYXRh",
                "signature": format!("ZmFrZSBzaWc{}==", "A".repeat(75)),
                "reactions": {}
            })
        );
    }

    #[test]
    fn timestamps_serialise_as_floats_even_when_whole() {
        let mut m = sample();
        m.edited = Some(1_700_000_100.0);
        let text = serde_json::to_string(&message(&m, None)).unwrap();
        assert!(text.contains(r#""posted":1700000000.0"#), "{text}");
        assert!(text.contains(r#""edited":1700000100.0"#), "{text}");
    }

    #[test]
    fn data_is_returned_padded_to_its_original_size() {
        let mut m = sample();
        m.data = Some(b"hello".to_vec());
        m.data_size = Some(16);
        assert_eq!(
            to_json(message(&m, None))["data"],
            "aGVsbG+AAAAAAAAAAAAAAA=="
        );
    }

    #[test]
    fn a_missing_or_bogus_data_size_means_unpadded() {
        let mut m = sample();
        m.data_size = None;
        assert_eq!(to_json(message(&m, None))["data"], "ZmFrZSBkYXRh");
        m.data_size = Some(-5);
        assert_eq!(to_json(message(&m, None))["data"], "ZmFrZSBkYXRh");
    }

    #[test]
    fn a_deleted_message_has_null_data_and_no_signature_or_reactions() {
        let mut m = sample();
        m.data = None;
        m.data_size = None;
        m.signature = None;
        m.edited = Some(1_700_000_050.5);
        let summaries = vec![ReactionSummary {
            reaction: "🍍".into(),
            index: 0,
            count: 1,
            reactors: vec![],
            you: false,
        }];
        let v = to_json(message(&m, Some(reactions(&summaries, true))));
        assert_eq!(
            v,
            json!({
                "id": 1, "session_id": "15aa", "posted": 1_700_000_000.0, "seqno": 3,
                "edited": 1_700_000_050.5, "data": null, "deleted": true
            })
        );
    }

    #[test]
    fn whispers_carry_their_flags_and_target() {
        let mut m = sample();
        m.whisper_mods = true;
        let v = to_json(message(&m, None));
        assert_eq!(
            (&v["whisper"], &v["whisper_mods"]),
            (&json!(true), &json!(true))
        );
        assert!(v.get("whisper_to").is_none());
        m.whisper_mods = false;
        m.whisper_to_id = Some(9);
        m.whisper_to = Some("15bb".into());
        let v = to_json(message(&m, None));
        assert_eq!(v["whisper"], true);
        assert_eq!(v["whisper_mods"], false);
        assert_eq!(v["whisper_to"], "15bb");
        assert!(to_json(message(&sample(), None)).get("whisper").is_none());
    }

    #[test]
    fn the_reactions_dict_has_index_count_reactors_and_you_only_when_true() {
        let summaries = vec![
            ReactionSummary {
                reaction: "🍍".into(),
                index: 0,
                count: 2,
                reactors: vec!["15aa".into(), "15bb".into()],
                you: true,
            },
            ReactionSummary {
                reaction: "y/n".into(),
                index: 1,
                count: 1,
                reactors: vec!["15cc".into()],
                you: false,
            },
        ];
        assert_eq!(
            to_json(reactions(&summaries, true)),
            json!({
                "🍍": {"index": 0, "count": 2, "reactors": ["15aa", "15bb"], "you": true},
                "y/n": {"index": 1, "count": 1, "reactors": ["15cc"]}
            })
        );
        assert_eq!(
            to_json(reactions(&summaries, false)),
            json!({
                "🍍": {"index": 0, "count": 2, "you": true},
                "y/n": {"index": 1, "count": 1}
            })
        );
    }

    #[test]
    fn since_shows_reaction_only_changes_as_short_rows() {
        let mut m = sample();
        m.seqno_reactions = 7;
        m.seqno = 7;
        assert_eq!(
            to_json(since_row(&m, 5, Reactions::new())),
            json!({"id": 1, "seqno": 7, "reactions": {}})
        );
        // The data changed after `since`: the full message.
        assert_eq!(
            to_json(since_row(&m, 2, Reactions::new()))["data"],
            "ZmFrZSBkYXRh"
        );
        // Deleted: a tombstone, whatever `since`.
        m.data = None;
        assert_eq!(to_json(since_row(&m, 5, Reactions::new()))["deleted"], true);
    }
}
