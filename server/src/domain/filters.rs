//! Content filters (spec §6.11): profanity and alphabet checks on a Session message.
//!
//! Session messages are protobuf `Content` blobs. We only need two strings from them (the
//! body and the sender's display name), so instead of a protobuf dependency and generated
//! types this module walks the wire format itself. The bytes come from anyone who may
//! post, so the reader treats every length as hostile: malformed input yields `None`, and
//! a message we cannot parse is simply not filtered (as PySOGS does).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// The bundled default profanity list: short on purpose, operators extend it with
/// `filters.profanity_custom`.
const DEFAULT_WORDS: &str = include_str!("profanity_words.txt");

/// Field numbers of the Session protobuf schema that the filters read.
const CONTENT_DATA_MESSAGE: u64 = 1;
const DATA_MESSAGE_BODY: u64 = 1;
const DATA_MESSAGE_ATTACHMENTS: u64 = 2;
const ATTACHMENT_FILE_NAME: u64 = 7;
const DATA_MESSAGE_PROFILE: u64 = 101;
const PROFILE_DISPLAY_NAME: u64 = 1;

/// Protobuf wire types we must be able to skip over.
const WIRE_VARINT: u64 = 0;
const WIRE_I64: u64 = 1;
const WIRE_LEN: u64 = 2;
const WIRE_GROUP_START: u64 = 3;
const WIRE_GROUP_END: u64 = 4;
const WIRE_I32: u64 = 5;

/// Reads one base-128 varint at `*pos`, advancing it; `None` if truncated or longer than
/// ten bytes (which no valid u64 is).
fn read_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value: u64 = 0;
    for shift in (0..70).step_by(7) {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// A top-level field's value, as far as the readers below need it.
enum FieldValue<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    /// A fixed-width number or a (deprecated) group: skipped.
    Other,
}

/// Calls `visit` with every top-level field of `buf`, in order; `None` if the buffer is
/// malformed. Groups (wire types 3 and 4) are skipped whole, nested ones included, as Session
/// clients' protobuf decoders skip them: a message they display must be one we can read, or
/// an unknown group would carry it past the filters.
fn walk<'a>(buf: &'a [u8], mut visit: impl FnMut(u64, FieldValue<'a>)) -> Option<()> {
    let mut pos = 0;
    // Field numbers of the groups we are inside, innermost last.
    let mut open_groups: Vec<u64> = Vec::new();
    while pos < buf.len() {
        let key = read_varint(buf, &mut pos)?;
        let (number, wire) = (key >> 3, key & 7);
        let value = match wire {
            WIRE_VARINT => FieldValue::Varint(read_varint(buf, &mut pos)?),
            WIRE_I64 => {
                pos = pos.checked_add(8).filter(|&p| p <= buf.len())?;
                FieldValue::Other
            }
            WIRE_I32 => {
                pos = pos.checked_add(4).filter(|&p| p <= buf.len())?;
                FieldValue::Other
            }
            WIRE_LEN => {
                let len = usize::try_from(read_varint(buf, &mut pos)?).ok()?;
                let end = pos.checked_add(len).filter(|&e| e <= buf.len())?;
                let bytes = buf.get(pos..end)?;
                pos = end;
                FieldValue::Bytes(bytes)
            }
            WIRE_GROUP_START => {
                open_groups.push(number);
                continue;
            }
            WIRE_GROUP_END => {
                if open_groups.pop()? != number {
                    return None;
                }
                continue;
            }
            _ => return None,
        };
        if open_groups.is_empty() {
            visit(number, value);
        }
    }
    open_groups.is_empty().then_some(())
}

/// The payload of the last length-delimited field `field` at the top level of `buf`
/// (protobuf semantics for a string field: the last value wins): `None` if the buffer is
/// malformed, `Some(None)` if it is well formed without the field.
pub(crate) fn find_field(buf: &[u8], field: u64) -> Option<Option<&[u8]>> {
    let mut found = None;
    walk(buf, |number, value| {
        if let (true, FieldValue::Bytes(bytes)) = (number == field, value) {
            found = Some(bytes);
        }
    })?;
    Some(found)
}

/// An embedded message field `field` of `buf`: protobuf merges every occurrence into one
/// message, which is what their concatenation parses to, so the text of a message split
/// over two `dataMessage`s (or two `profile`s) is read as clients read it and not only its
/// last part. Each occurrence must be well formed on its own. `None` if malformed,
/// `Some(None)` if absent.
fn find_message(buf: &[u8], field: u64) -> Option<Option<Cow<'_, [u8]>>> {
    let parts = find_all(buf, field)?;
    for part in &parts {
        walk(part, |_, _| {})?;
    }
    Some(match parts.as_slice() {
        [] => None,
        [one] => Some(Cow::Borrowed(*one)),
        many => Some(Cow::Owned(many.concat())),
    })
}

/// Every length-delimited field `field` at the top level of `buf`, in order (a repeated
/// message field); `None` if the buffer is malformed.
fn find_all(buf: &[u8], field: u64) -> Option<Vec<&[u8]>> {
    let mut found = Vec::new();
    walk(buf, |number, value| {
        if let (true, FieldValue::Bytes(bytes)) = (number == field, value) {
            found.push(bytes);
        }
    })?;
    Some(found)
}

/// The texts of a message that the filters (and the room's web page) look at.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MessageText {
    pub body: Option<String>,
    pub display_name: Option<String>,
    /// The file name of each attachment, in order (`None` when the sender gave none).
    pub attachments: Vec<Option<String>>,
}

/// Extracts the body and display name from unpadded `Content` bytes; `None` when the
/// bytes are not a well-formed `Content` with a `dataMessage`. Invalid UTF-8 is decoded
/// lossily so that a stray byte cannot smuggle a word past the filter.
pub fn parse_message(content: &[u8]) -> Option<MessageText> {
    let data = find_message(content, CONTENT_DATA_MESSAGE)??;
    let data = &*data;
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let body = find_field(data, DATA_MESSAGE_BODY)?.map(text);
    let display_name = match find_message(data, DATA_MESSAGE_PROFILE)? {
        Some(profile) => find_field(&profile, PROFILE_DISPLAY_NAME)?.map(text),
        None => None,
    };
    let attachments = find_all(data, DATA_MESSAGE_ATTACHMENTS)?
        .into_iter()
        .map(|pointer| Some(find_field(pointer, ATTACHMENT_FILE_NAME)?.map(text)))
        .collect::<Option<Vec<_>>>()?;
    Some(MessageText {
        body,
        display_name,
        attachments,
    })
}

/// A script whose characters an operator may refuse (spec §6.11 ranges).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    Arabic,
    Persian,
    Cyrillic,
}

/// An alphabet name that is not one of `arabic`, `persian`, `cyrillic`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown alphabet filter `{0}` (known: arabic, persian, cyrillic)")]
pub struct UnknownAlphabet(pub String);

impl Alphabet {
    /// Parses a comma- and/or space-separated list of names, as PySOGS's
    /// `alphabet_filters` option; empty gives an empty list.
    pub fn parse_list(list: &str) -> Result<Vec<Alphabet>, UnknownAlphabet> {
        list.split([',', ' ', '\t'])
            .filter(|s| !s.is_empty())
            .map(|name| match name.to_ascii_lowercase().as_str() {
                "arabic" => Ok(Alphabet::Arabic),
                "persian" => Ok(Alphabet::Persian),
                "cyrillic" => Ok(Alphabet::Cyrillic),
                _ => Err(UnknownAlphabet(name.to_string())),
            })
            .collect()
    }

    /// The name used in configuration.
    pub fn name(self) -> &'static str {
        match self {
            Alphabet::Arabic => "arabic",
            Alphabet::Persian => "persian",
            Alphabet::Cyrillic => "cyrillic",
        }
    }

    /// Whether `c` belongs to this alphabet, by the code-point ranges PySOGS used.
    pub fn contains(self, c: char) -> bool {
        let c = u32::from(c);
        match self {
            Alphabet::Cyrillic => (0x400..=0x4ff).contains(&c),
            Alphabet::Arabic => [
                0x600..=0x6ff,
                0x750..=0x77f,
                0x8a0..=0x8ff,
                0xfb50..=0xfdff,
                0xfe70..=0xfefe,
            ]
            .iter()
            .any(|r| r.contains(&c)),
            Alphabet::Persian => {
                [
                    0x621..=0x628,
                    0x62a..=0x63a,
                    0x641..=0x642,
                    0x644..=0x648,
                    0x64e..=0x651,
                ]
                .iter()
                .any(|r| r.contains(&c))
                    || [0x655, 0x67e, 0x686, 0x698, 0x6a9, 0x6af, 0x6be, 0x6cc].contains(&c)
            }
        }
    }

    /// Whether any character of `text` is in this alphabet.
    pub fn matches(self, text: &str) -> bool {
        text.chars().any(|c| self.contains(c))
    }
}

/// A case-insensitive set of whole words to refuse.
#[derive(Debug, Clone, Default)]
pub struct WordList {
    words: HashSet<String>,
}

impl WordList {
    /// The bundled default list plus the words of `custom` (one per line; blank lines and
    /// `#` comments ignored).
    pub fn with_custom(custom: &str) -> WordList {
        let words = DEFAULT_WORDS
            .lines()
            .chain(custom.lines())
            .map(str::trim)
            .filter(|w| !w.is_empty() && !w.starts_with('#'))
            .map(str::to_lowercase)
            .collect();
        WordList { words }
    }

    /// Whether `text` contains a listed word as a whole word: split on anything that is not
    /// alphanumeric, so `Shit!` matches and `Scunthorpe` does not.
    pub fn matches(&self, text: &str) -> bool {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .any(|w| self.words.contains(&w.to_lowercase()))
    }
}

/// Why a message was filtered; the name appears in the 429 body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKind {
    Profanity,
    Alphabet,
}

impl FilterKind {
    pub fn name(self) -> &'static str {
        match self {
            FilterKind::Profanity => "profanity",
            FilterKind::Alphabet => "alphabet",
        }
    }
}

/// A filter hit: which filter, and whether the message is silently stored as filtered
/// (`true`) or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub kind: FilterKind,
    pub silent: bool,
    /// The alphabet that matched, for an alphabet verdict (bot replies may be per alphabet).
    pub alphabet: Option<Alphabet>,
}

/// The filters in force, built once from the configuration.
#[derive(Debug, Clone, Default)]
pub struct ContentFilter {
    /// `None` when the profanity filter is off.
    pub profanity: Option<WordList>,
    pub profanity_silent: bool,
    pub alphabets: Vec<Alphabet>,
    pub alphabet_silent: bool,
    /// Whether moderators and admins are filtered too.
    pub filter_mods: bool,
}

impl ContentFilter {
    /// Whether any filter is on, so the caller can skip parsing when none is.
    pub fn is_active(&self) -> bool {
        self.profanity.is_some() || !self.alphabets.is_empty()
    }

    /// Whether a poster with this standing is filtered at all.
    pub fn applies_to(&self, moderator: bool) -> bool {
        self.is_active() && (self.filter_mods || !moderator)
    }

    /// The verdict on unpadded message bytes: alphabets first (body only), then profanity
    /// (body and display name), as PySOGS. Unparseable messages pass.
    pub fn check(&self, content: &[u8]) -> Option<Verdict> {
        if !self.is_active() {
            return None;
        }
        let text = parse_message(content)?;
        if let Some(body) = &text.body
            && let Some(alphabet) = self.alphabets.iter().find(|a| a.matches(body))
        {
            return Some(Verdict {
                kind: FilterKind::Alphabet,
                silent: self.alphabet_silent,
                alphabet: Some(*alphabet),
            });
        }
        let words = self.profanity.as_ref()?;
        let texts = [&text.body, &text.display_name];
        if texts
            .iter()
            .any(|t| t.as_deref().is_some_and(|t| words.matches(t)))
        {
            return Some(Verdict {
                kind: FilterKind::Profanity,
                silent: self.profanity_silent,
                alphabet: None,
            });
        }
        None
    }
}

/// A bot reply to a filtered post (PySOGS's `[filter:ROOM:TYPE]` sections).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterReply {
    /// Reply templates; one is picked at random.
    pub replies: Vec<String>,
    /// The bot's display name; its key is derived from it, so each name is its own user.
    pub profile_name: String,
    /// Post the reply to the whole room instead of whispering it to the poster.
    pub public: bool,
}

/// A reply rule key, `ROOM:TYPE`, either part `*`; `None` if it is not of that form or the
/// type is not `profanity`, `alphabet`, an alphabet name or `*`.
pub fn parse_reply_key(key: &str) -> Option<(String, String)> {
    let (room, kind) = key.split_once(':')?;
    let kind = kind.to_ascii_lowercase();
    let known = ["*", "profanity", "alphabet"].contains(&kind.as_str())
        || Alphabet::parse_list(&kind).is_ok_and(|l| l.len() == 1);
    (known && !room.is_empty()).then(|| (room.to_ascii_lowercase(), kind))
}

/// The server-wide filters and any per-room variants (`[filters.rooms.TOKEN]`).
#[derive(Debug, Clone, Default)]
pub struct FilterSet {
    pub default: ContentFilter,
    /// Keyed by lower-cased room token, since tokens are case-insensitive.
    pub rooms: HashMap<String, ContentFilter>,
    /// Bot replies keyed by (lower-cased room token or `*`, type or `*`).
    pub replies: HashMap<(String, String), FilterReply>,
}

impl FilterSet {
    /// The reply rule for a verdict in a room: the most specific match wins, room before
    /// type, an alphabet's own name before `alphabet`.
    pub fn reply_for(&self, token: &str, verdict: &Verdict) -> Option<&FilterReply> {
        let token = token.to_ascii_lowercase();
        let mut kinds = vec!["*", verdict.kind.name()];
        if let Some(a) = verdict.alphabet {
            kinds.push(a.name());
        }
        [token.as_str(), "*"].iter().find_map(|room| {
            kinds
                .iter()
                .rev()
                .find_map(|kind| self.replies.get(&(room.to_string(), kind.to_string())))
        })
    }

    /// The filters in force in the room with this token.
    pub fn for_room(&self, token: &str) -> &ContentFilter {
        self.rooms
            .get(&token.to_ascii_lowercase())
            .unwrap_or(&self.default)
    }
}

/// Expands a reply template: `\@` the poster's id as a mention, `\p` their display name
/// (or id), `\r` the room name, `\t` its token, `\n` a newline, `\\` a backslash. Other
/// escapes are kept as written so a typo shows rather than vanishes.
pub fn expand_reply(
    template: &str,
    poster: &str,
    display_name: Option<&str>,
    room_name: &str,
    token: &str,
) -> String {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('@') => {
                out.push('@');
                out.push_str(poster);
            }
            Some('p') => out.push_str(display_name.unwrap_or(poster)),
            Some('r') => out.push_str(room_name),
            Some('t') => out.push_str(token),
            Some('n') => out.push('\n'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

pub(crate) fn put_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v & 0x7f) as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn put_bytes(field: u64, payload: &[u8], out: &mut Vec<u8>) {
    put_varint(field << 3 | WIRE_LEN, out);
    put_varint(payload.len() as u64, out);
    out.extend_from_slice(payload);
}

/// A Session message as the bot posts it: `Content{dataMessage{body, timestamp,
/// profile{displayName}}}` then the two padding bytes `80 00` PySOGS appends.
pub fn encode_message(body: &str, timestamp_ms: u64, display_name: &str) -> Vec<u8> {
    let mut profile = Vec::new();
    put_bytes(PROFILE_DISPLAY_NAME, display_name.as_bytes(), &mut profile);
    let mut data = Vec::new();
    put_bytes(DATA_MESSAGE_BODY, body.as_bytes(), &mut data);
    put_varint(7 << 3 | WIRE_VARINT, &mut data);
    put_varint(timestamp_ms, &mut data);
    put_bytes(DATA_MESSAGE_PROFILE, &profile, &mut data);
    let mut content = Vec::new();
    put_bytes(CONTENT_DATA_MESSAGE, &data, &mut content);
    content.extend_from_slice(&[0x80, 0x00]);
    content
}

/// Field numbers of the attachment parts of a `DataMessage` the media rules read (the
/// attachments themselves and their file names are above).
const DATA_MESSAGE_PREVIEW: u64 = 10;
const ATTACHMENT_CONTENT_TYPE: u64 = 2;

/// One attachment of a message as its sender described it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttachmentInfo {
    pub content_type: Option<String>,
    pub file_name: Option<String>,
}

/// The attachments of a message and whether it carries a link preview.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attachments {
    pub items: Vec<AttachmentInfo>,
    pub link_preview: bool,
}

/// The attachments (`DataMessage.attachments`, their `contentType` and `fileName`) and
/// link previews (`DataMessage.preview`) of unpadded `Content` bytes; `None` if the bytes
/// are not a well-formed Session message.
pub fn parse_attachments(content: &[u8]) -> Option<Attachments> {
    let data = find_message(content, CONTENT_DATA_MESSAGE)??;
    let data = &*data;
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let items = find_all(data, DATA_MESSAGE_ATTACHMENTS)?
        .into_iter()
        .map(|a| {
            Some(AttachmentInfo {
                content_type: find_field(a, ATTACHMENT_CONTENT_TYPE)?.map(text),
                file_name: find_field(a, ATTACHMENT_FILE_NAME)?.map(text),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let link_preview = !find_all(data, DATA_MESSAGE_PREVIEW)?.is_empty();
    Some(Attachments {
        items,
        link_preview,
    })
}

/// Field numbers of a `DataMessage`'s send time and quoted reply, and of the `Quote`.
const DATA_MESSAGE_TIMESTAMP: u64 = 7;
const DATA_MESSAGE_QUOTE: u64 = 8;
const QUOTE_ID: u64 = 1;
const QUOTE_AUTHOR: u64 = 2;

/// The varint field `field` at the top level of `buf` (the last one wins): `None` if the
/// buffer is malformed, `Some(None)` if it is well formed without the field.
pub(crate) fn find_varint(buf: &[u8], field: u64) -> Option<Option<u64>> {
    let mut found = None;
    walk(buf, |number, value| {
        if let (true, FieldValue::Varint(v)) = (number == field, value) {
            found = Some(v);
        }
    })?;
    Some(found)
}

/// The message a reply quotes, as Session clients name it: the quoted message's send time
/// in milliseconds (`Quote.id`) and its author's Session ID as the replier saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotedMessage {
    pub sent_ms: u64,
    pub author: String,
}

/// The quoted message of a reply (`DataMessage.quote`) in unpadded `Content` bytes; `None`
/// when the message quotes nothing or is not a well-formed Session message.
pub fn parse_quote(content: &[u8]) -> Option<QuotedMessage> {
    let data = find_message(content, CONTENT_DATA_MESSAGE)??;
    let quote = find_message(&data, DATA_MESSAGE_QUOTE)??;
    let sent_ms = find_varint(&quote, QUOTE_ID)??;
    let author = find_field(&quote, QUOTE_AUTHOR)??;
    Some(QuotedMessage {
        sent_ms,
        author: String::from_utf8_lossy(author).trim().to_ascii_lowercase(),
    })
}

/// The send time a Session message carries (`DataMessage.timestamp`, milliseconds), which
/// clients quote a reply by; `None` if absent or malformed.
pub fn sent_timestamp(content: &[u8]) -> Option<u64> {
    let data = find_message(content, CONTENT_DATA_MESSAGE)??;
    find_varint(&data, DATA_MESSAGE_TIMESTAMP)?
}

/// A reply: `body` quoting the message `quoted` sent at `sent_ms` by `author` (for tests
/// and tools that act as a client).
pub fn encode_reply(
    body: &str,
    timestamp_ms: u64,
    display_name: &str,
    quoted: &QuotedMessage,
) -> Vec<u8> {
    let mut quote = Vec::new();
    put_varint(QUOTE_ID << 3 | WIRE_VARINT, &mut quote);
    put_varint(quoted.sent_ms, &mut quote);
    put_bytes(QUOTE_AUTHOR, quoted.author.as_bytes(), &mut quote);
    let mut profile = Vec::new();
    put_bytes(PROFILE_DISPLAY_NAME, display_name.as_bytes(), &mut profile);
    let mut data = Vec::new();
    put_bytes(DATA_MESSAGE_BODY, body.as_bytes(), &mut data);
    put_varint(DATA_MESSAGE_TIMESTAMP << 3 | WIRE_VARINT, &mut data);
    put_varint(timestamp_ms, &mut data);
    put_bytes(DATA_MESSAGE_QUOTE, &quote, &mut data);
    put_bytes(DATA_MESSAGE_PROFILE, &profile, &mut data);
    let mut content = Vec::new();
    put_bytes(CONTENT_DATA_MESSAGE, &data, &mut content);
    content.extend_from_slice(&[0x80, 0x00]);
    content
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_name_the_quoted_message_by_send_time_and_author() {
        let quoted = QuotedMessage {
            sent_ms: 1_700_000_000_123,
            author: format!("15{}", "ab".repeat(32)),
        };
        let padded = encode_reply("/report spam", 1_700_000_100_000, "Ann", &quoted);
        let content = crate::domain::padding::unpad(&padded);
        assert_eq!(parse_quote(content), Some(quoted));
        assert_eq!(sent_timestamp(content), Some(1_700_000_100_000));
        let text = parse_message(content).unwrap();
        assert_eq!(text.body.as_deref(), Some("/report spam"));
        let plain = encode_message("hi", 42, "Ann");
        assert_eq!(parse_quote(crate::domain::padding::unpad(&plain)), None);
        assert_eq!(
            sent_timestamp(crate::domain::padding::unpad(&plain)),
            Some(42)
        );
        assert_eq!(parse_quote(&[0x0a, 0x05, 0x42]), None);
    }

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn field(number: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        varint(number << 3 | 2, &mut out);
        varint(payload.len() as u64, &mut out);
        out.extend_from_slice(payload);
        out
    }

    fn content(body: &str, name: Option<&str>) -> Vec<u8> {
        let mut dm = field(1, body.as_bytes());
        // timestamp = 7 (varint)
        varint(7 << 3, &mut dm);
        varint(1_700_000_000_000, &mut dm);
        if let Some(name) = name {
            dm.extend(field(101, &field(1, name.as_bytes())));
        }
        field(1, &dm)
    }

    fn filter() -> ContentFilter {
        ContentFilter {
            profanity: Some(WordList::with_custom("frobnicate\n# comment\n")),
            profanity_silent: true,
            alphabets: vec![Alphabet::Cyrillic],
            alphabet_silent: false,
            filter_mods: false,
        }
    }

    #[test]
    fn parses_body_and_display_name() {
        let text = parse_message(&content("hello", Some("Alice"))).unwrap();
        assert_eq!(text.body.as_deref(), Some("hello"));
        assert_eq!(text.display_name.as_deref(), Some("Alice"));
        let text = parse_message(&content("hi", None)).unwrap();
        assert_eq!(text.display_name, None);
    }

    #[test]
    fn attachments_are_read_by_file_name_in_order() {
        let mut dm = field(1, b"look");
        dm.extend(field(2, &field(7, b"cat.jpg")));
        // An attachment without a name (only its id, a fixed64).
        let mut unnamed = vec![1 << 3 | 1];
        unnamed.extend_from_slice(&42u64.to_le_bytes());
        dm.extend(field(2, &unnamed));
        dm.extend(field(2, &field(7, b"notes.pdf")));
        let text = parse_message(&field(1, &dm)).unwrap();
        assert_eq!(
            text.attachments,
            vec![Some("cat.jpg".into()), None, Some("notes.pdf".into())]
        );
        // A malformed attachment makes the whole message unreadable, not half-read.
        let mut bad = field(1, b"x");
        bad.extend(field(2, &[0x3a, 0x09]));
        assert_eq!(parse_message(&field(1, &bad)), None);
    }

    #[test]
    fn hostile_input_is_none_and_never_panics() {
        assert_eq!(parse_message(b""), None);
        assert_eq!(parse_message(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), None);
        assert_eq!(parse_message(&[0xff; 11]), None);
        assert_eq!(parse_message(&[0x0b]), None); // group wire type
        let mut truncated = content("hello", Some("Alice"));
        truncated.pop();
        assert_eq!(parse_message(&truncated), None);
        for len in 0..64u8 {
            let bytes: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37) ^ 0x8a).collect();
            let _ = parse_message(&bytes);
            let _ = filter().check(&bytes);
        }
    }

    /// Session clients skip unknown groups and merge repeated embedded messages; a reader
    /// that does neither lets a message the clients display get past the filters unread.
    #[test]
    fn unknown_groups_are_skipped_and_split_messages_merged() {
        // DataMessage { group 9 { group 10 { 1: "x" } }, body: "frobnicate" }.
        let mut dm = Vec::new();
        varint(9 << 3 | 3, &mut dm);
        varint(10 << 3 | 3, &mut dm);
        dm.extend(field(1, b"x"));
        varint(10 << 3 | 4, &mut dm);
        varint(9 << 3 | 4, &mut dm);
        dm.extend(field(1, b"frobnicate"));
        let grouped = field(1, &dm);
        assert_eq!(
            parse_message(&grouped).unwrap().body.as_deref(),
            Some("frobnicate")
        );
        assert_eq!(
            filter().check(&grouped).map(|v| v.kind),
            Some(FilterKind::Profanity)
        );

        // The body in one dataMessage, the profile in a second: merged, as clients do.
        let mut split = field(1, &field(1, "привет".as_bytes()));
        split.extend(field(1, &field(101, &field(1, b"Ann"))));
        let text = parse_message(&split).unwrap();
        assert_eq!(text.body.as_deref(), Some("привет"));
        assert_eq!(text.display_name.as_deref(), Some("Ann"));
        assert_eq!(
            filter().check(&split).map(|v| v.kind),
            Some(FilterKind::Alphabet)
        );
        // Profiles merge too; the last display name wins.
        let mut two_profiles = field(1, b"hi");
        two_profiles.extend(field(101, &field(1, b"frobnicate")));
        two_profiles.extend(field(101, &field(2, b"https://x")));
        let text = parse_message(&field(1, &two_profiles)).unwrap();
        assert_eq!(text.display_name.as_deref(), Some("frobnicate"));

        // Unbalanced or mismatched groups are malformed, as each occurrence must be.
        for bad in [
            vec![9 << 3 | 3],
            vec![9 << 3 | 4],
            vec![9 << 3 | 3, 10 << 3 | 4],
        ] {
            let mut dm = field(1, b"frobnicate");
            dm.extend(&bad);
            assert_eq!(parse_message(&field(1, &dm)), None, "{bad:?}");
        }
        let mut halves = field(1, &[9 << 3 | 3]);
        halves.extend(field(1, &[9 << 3 | 4]));
        assert_eq!(parse_message(&halves), None);
    }

    #[test]
    fn alphabets_by_code_point() {
        assert!(Alphabet::Cyrillic.matches("привет"));
        assert!(!Alphabet::Cyrillic.matches("hello"));
        assert!(Alphabet::Arabic.matches("مرحبا"));
        assert!(Alphabet::Persian.matches("سلام"));
        // U+0629 (teh marbuta) is Arabic but outside the Persian set.
        assert!(Alphabet::Arabic.matches("\u{629}"));
        assert!(!Alphabet::Persian.matches("\u{629}"));
        assert!(Alphabet::Persian.matches("\u{6cc}"));
    }

    #[test]
    fn alphabet_lists_parse_and_unknown_names_are_errors() {
        assert_eq!(Alphabet::parse_list(""), Ok(vec![]));
        assert_eq!(
            Alphabet::parse_list("arabic, Cyrillic persian"),
            Ok(vec![
                Alphabet::Arabic,
                Alphabet::Cyrillic,
                Alphabet::Persian
            ])
        );
        assert_eq!(
            Alphabet::parse_list("arabic,klingon"),
            Err(UnknownAlphabet("klingon".into()))
        );
    }

    #[test]
    fn profanity_is_whole_word_and_case_insensitive() {
        let words = WordList::with_custom("frobnicate");
        assert!(words.matches("what the SHIT!"));
        assert!(words.matches("do not Frobnicate it"));
        assert!(!words.matches("Scunthorpe and classic assessment"));
        assert!(!words.matches("shitake")); // whole words only
        assert!(!WordList::with_custom("").matches("frobnicate"));
    }

    #[test]
    fn check_reports_kind_and_silence() {
        let f = filter();
        assert_eq!(f.check(&content("hello", Some("Alice"))), None);
        assert_eq!(
            f.check(&content("привет", None)),
            Some(Verdict {
                kind: FilterKind::Alphabet,
                silent: false,
                alphabet: Some(Alphabet::Cyrillic),
            })
        );
        let profane = Some(Verdict {
            kind: FilterKind::Profanity,
            silent: true,
            alphabet: None,
        });
        assert_eq!(f.check(&content("oh fuck", None)), profane);
        assert_eq!(f.check(&content("hi", Some("frobnicate"))), profane);
        // Alphabets look at the body only.
        assert_eq!(f.check(&content("hi", Some("Борис"))), None);
        assert_eq!(f.check(b"not a protobuf at all"), None);
        assert_eq!(ContentFilter::default().check(&content("fuck", None)), None);
    }

    #[test]
    fn bot_messages_parse_back_and_templates_expand() {
        let bytes = encode_message("hi \u{1f600}", 1_700_000_000_000, "SOGS");
        assert_eq!(&bytes[bytes.len() - 2..], &[0x80, 0x00]);
        let text = parse_message(&bytes[..bytes.len() - 2]).unwrap();
        assert_eq!(text.body.as_deref(), Some("hi \u{1f600}"));
        assert_eq!(text.display_name.as_deref(), Some("SOGS"));
        assert_eq!(
            expand_reply(
                "\\@ \\p in \\r (\\t)\\n\\\\ \\x",
                "15ab",
                None,
                "Lobby",
                "lobby"
            ),
            "@15ab 15ab in Lobby (lobby)\n\\ \\x"
        );
        assert_eq!(expand_reply("\\p\\", "15ab", Some("Al"), "", ""), "Al\\");
    }

    #[test]
    fn reply_keys_and_lookup_prefer_the_most_specific() {
        assert_eq!(parse_reply_key("*:*"), Some(("*".into(), "*".into())));
        assert_eq!(
            parse_reply_key("Lobby:Cyrillic"),
            Some(("lobby".into(), "cyrillic".into()))
        );
        assert_eq!(parse_reply_key("lobby"), None);
        assert_eq!(parse_reply_key("lobby:swearing"), None);
        let rule = |name: &str| FilterReply {
            replies: vec![name.into()],
            profile_name: "SOGS".into(),
            public: false,
        };
        let mut set = FilterSet::default();
        for key in ["*:*", "*:alphabet", "lobby:*", "lobby:cyrillic"] {
            set.replies.insert(parse_reply_key(key).unwrap(), rule(key));
        }
        let cyr = Verdict {
            kind: FilterKind::Alphabet,
            silent: true,
            alphabet: Some(Alphabet::Cyrillic),
        };
        let arabic = Verdict {
            alphabet: Some(Alphabet::Arabic),
            ..cyr
        };
        let prof = Verdict {
            kind: FilterKind::Profanity,
            alphabet: None,
            ..cyr
        };
        let got = |t: &str, v: &Verdict| set.reply_for(t, v).map(|r| r.replies[0].clone());
        assert_eq!(got("LOBBY", &cyr).as_deref(), Some("lobby:cyrillic"));
        assert_eq!(got("lobby", &arabic).as_deref(), Some("lobby:*"));
        assert_eq!(got("other", &arabic).as_deref(), Some("*:alphabet"));
        assert_eq!(got("other", &prof).as_deref(), Some("*:*"));
        assert_eq!(FilterSet::default().reply_for("x", &prof), None);
    }

    #[test]
    fn moderators_are_exempt_unless_filter_mods() {
        let mut f = filter();
        assert!(f.applies_to(false));
        assert!(!f.applies_to(true));
        f.filter_mods = true;
        assert!(f.applies_to(true));
        assert!(!ContentFilter::default().applies_to(false));
    }

    #[test]
    fn attachments_and_link_previews_are_read_from_the_data_message() {
        let attachment = [field(2, b"image/jpeg"), field(7, b"cat.jpg")].concat();
        let mut dm = field(1, b"look");
        dm.extend(field(2, &attachment));
        dm.extend(field(2, &field(7, b"notes.pdf")));
        dm.extend(field(10, &field(1, b"https://example.com")));
        let content = field(1, &dm);
        let parsed = parse_attachments(&content).unwrap();
        assert_eq!(parsed.items.len(), 2);
        assert_eq!(parsed.items[0].content_type.as_deref(), Some("image/jpeg"));
        assert_eq!(parsed.items[1].file_name.as_deref(), Some("notes.pdf"));
        assert!(parsed.link_preview);
        let plain = parse_attachments(&field(1, &field(1, b"hi"))).unwrap();
        assert!(plain.items.is_empty() && !plain.link_preview);
        assert!(parse_attachments(&[0x0a, 0x05, 0x01]).is_none());
    }
}
