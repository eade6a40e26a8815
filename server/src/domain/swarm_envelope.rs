//! The wrapping of a one-to-one Session message as it is stored on the service-node network.
//!
//! A Session app stores a message for its recipient as
//! `WebSocketMessage{type = REQUEST, request{verb "PUT", path "/api/v1/message", body}}`
//! whose body is `Envelope{type = SESSION_MESSAGE (6), timestamp, content}`, and `content`
//! is the sealed message (`crypto::session_message`). The websocket layer is a leftover of an
//! older transport that the apps still write and read; we accept a bare `Envelope` as well.
//! Field numbers are those of the apps' `SignalService.proto`.

use super::filters::{find_field, find_varint, put_bytes, put_varint};

const WEBSOCKET_TYPE: u64 = 1;
const WEBSOCKET_REQUEST: u64 = 2;
const WEBSOCKET_TYPE_REQUEST: u64 = 1;
const REQUEST_VERB: u64 = 1;
const REQUEST_PATH: u64 = 2;
const REQUEST_BODY: u64 = 3;
const REQUEST_ID: u64 = 4;
const ENVELOPE_TYPE: u64 = 1;
const ENVELOPE_TIMESTAMP: u64 = 5;
const ENVELOPE_CONTENT: u64 = 8;
/// `Envelope.Type.SESSION_MESSAGE`: a one-to-one message (7 is a legacy group's).
pub const SESSION_MESSAGE: u64 = 6;

/// A one-to-one message's envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// When the sender says it sent the message, in milliseconds.
    pub timestamp_ms: Option<u64>,
    /// The sealed message.
    pub content: &'a [u8],
}

/// The envelope of a stored message (`data`, already base64-decoded); `None` when it is not
/// a well-formed one-to-one message (malformed, another envelope type, no content).
pub fn unwrap(data: &[u8]) -> Option<Envelope<'_>> {
    let envelope = websocket_body(data).unwrap_or(data);
    if find_varint(envelope, ENVELOPE_TYPE)?? != SESSION_MESSAGE {
        return None;
    }
    let content = find_field(envelope, ENVELOPE_CONTENT)??;
    if content.is_empty() {
        return None;
    }
    Some(Envelope {
        timestamp_ms: find_varint(envelope, ENVELOPE_TIMESTAMP)?,
        content,
    })
}

/// The body of a websocket request wrapper, if `data` is one.
fn websocket_body(data: &[u8]) -> Option<&[u8]> {
    if find_varint(data, WEBSOCKET_TYPE)?? != WEBSOCKET_TYPE_REQUEST {
        return None;
    }
    let request = find_field(data, WEBSOCKET_REQUEST)??;
    find_field(request, REQUEST_BODY)?
}

/// `content` wrapped as a Session app stores it (websocket request around the envelope).
/// The server only reads messages; this is for tests and the simulated network.
pub fn wrap(content: &[u8], timestamp_ms: u64) -> Vec<u8> {
    let mut envelope = Vec::new();
    put_varint(ENVELOPE_TYPE << 3, &mut envelope);
    put_varint(SESSION_MESSAGE, &mut envelope);
    put_varint(ENVELOPE_TIMESTAMP << 3, &mut envelope);
    put_varint(timestamp_ms, &mut envelope);
    put_bytes(ENVELOPE_CONTENT, content, &mut envelope);
    let mut request = Vec::new();
    put_bytes(REQUEST_VERB, b"PUT", &mut request);
    put_bytes(REQUEST_PATH, b"/api/v1/message", &mut request);
    put_bytes(REQUEST_BODY, &envelope, &mut request);
    put_varint(REQUEST_ID << 3, &mut request);
    put_varint(0, &mut request);
    let mut out = Vec::new();
    put_varint(WEBSOCKET_TYPE << 3, &mut out);
    put_varint(WEBSOCKET_TYPE_REQUEST, &mut out);
    put_bytes(WEBSOCKET_REQUEST, &request, &mut out);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_message_unwraps_to_its_content_and_time() {
        let data = wrap(b"sealed bytes", 1_765_000_000_123);
        let envelope = unwrap(&data).unwrap();
        assert_eq!(envelope.content, b"sealed bytes");
        assert_eq!(envelope.timestamp_ms, Some(1_765_000_000_123));
    }

    #[test]
    fn a_bare_envelope_is_read_too() {
        let data = wrap(b"x", 5);
        let request = find_field(&data, WEBSOCKET_REQUEST).unwrap().unwrap();
        let bare = find_field(request, REQUEST_BODY).unwrap().unwrap();
        assert_eq!(unwrap(bare).unwrap().content, b"x");
    }

    #[test]
    fn the_same_bytes_as_the_apps_protobuf_encoder_writes() {
        // WebSocketMessage{type: REQUEST, request{verb "PUT", path "/api/v1/message",
        // body Envelope{type 6, timestamp 1, content "c"}, id 0}}, field by field.
        let envelope = [0x08, 0x06, 0x28, 0x01, 0x42, 0x01, b'c'];
        let mut request = vec![0x0a, 3];
        request.extend_from_slice(b"PUT");
        request.extend_from_slice(&[0x12, 15]);
        request.extend_from_slice(b"/api/v1/message");
        request.extend_from_slice(&[0x1a, envelope.len() as u8]);
        request.extend_from_slice(&envelope);
        request.extend_from_slice(&[0x20, 0x00]);
        let mut message = vec![0x08, 0x01, 0x12, request.len() as u8];
        message.extend_from_slice(&request);
        assert_eq!(wrap(b"c", 1), message);
    }

    #[test]
    fn malformed_or_foreign_data_is_refused() {
        let good = wrap(b"sealed", 1);
        let mut legacy_group = Vec::new();
        put_varint(ENVELOPE_TYPE << 3, &mut legacy_group);
        put_varint(7, &mut legacy_group);
        put_bytes(ENVELOPE_CONTENT, b"sealed", &mut legacy_group);
        let mut no_content = Vec::new();
        put_varint(ENVELOPE_TYPE << 3, &mut no_content);
        put_varint(SESSION_MESSAGE, &mut no_content);
        let mut empty_content = no_content.clone();
        put_bytes(ENVELOPE_CONTENT, b"", &mut empty_content);
        let mut response = Vec::new();
        put_varint(WEBSOCKET_TYPE << 3, &mut response);
        put_varint(2, &mut response);
        for bad in [
            &[][..],
            &[0xff; 12][..],
            &good[..good.len() - 1],
            &good[..3],
            &legacy_group,
            &no_content,
            &empty_content,
            &response,
            b"not protobuf at all, just text",
        ] {
            assert_eq!(unwrap(bad), None, "{bad:?}");
        }
    }
}
