//! The plaintext inside a v4 onion request and its reply (spec §3, "v4 plaintext").
//!
//! Request: `l<len>:<json meta>[<len>:<body>]e`, the meta holding `method`, `endpoint` and
//! optional `headers`. Reply: `l<len>:<json meta><len>:<body>e` with meta
//! `{"code": …, "headers": {…}}`, written the way Python's `json.dumps` writes it (spaces after
//! `,` and `:`, non-ASCII escaped) so replies are byte-identical to pysogs'.

use std::io;

use serde::Serialize;
use serde::ser::SerializeMap;

use super::bencode::{self, BencodeError, Value};

/// The body pysogs sends when the inner request cannot be parsed.
pub const INVALID_REQUEST_BODY: &str = "Invalid v4 onion request";

/// Why a v4 plaintext is not a valid request or reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum V4Error {
    /// Not strict bencode.
    #[error("v4 onion payload is not bencode: {0}")]
    Bencode(#[from] BencodeError),
    /// Not a list of one or two byte strings (a reply must have two).
    #[error("v4 onion payload must be a list of 1 or 2 byte strings")]
    Shape,
    /// The metadata is not a JSON object of the expected shape.
    #[error("v4 onion metadata is invalid: {0}")]
    Metadata(&'static str),
    /// The endpoint does not start with `/`.
    #[error("v4 onion endpoint must start with '/'")]
    Endpoint,
    /// The metadata (method, endpoint, headers) is longer than [`MAX_METADATA_BYTES`].
    #[error("v4 onion metadata is longer than {MAX_METADATA_BYTES} bytes")]
    MetadataTooLarge,
}

/// The longest request metadata parsed: sixteen times the server's default header limit,
/// far above any Session request (a few hundred bytes), so a hostile request of 80 k
/// inner headers is refused before its JSON is parsed into memory.
pub const MAX_METADATA_BYTES: usize = 256 * 1024;

/// An inner v4 request. The body borrows from the decrypted plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V4Request<'a> {
    /// `GET`, `POST`, …, as sent.
    pub method: String,
    /// Path and optional `?query`, as sent (possibly %-encoded; see
    /// [`split_target`](super::request_signature::split_target)).
    pub endpoint: String,
    /// Header names lowercased; values as sent.
    pub headers: Vec<(String, String)>,
    /// Empty when the second list element is absent.
    pub body: &'a [u8],
}

impl<'a> V4Request<'a> {
    /// Parses a decrypted v4 request.
    pub fn decode(plaintext: &'a [u8]) -> Result<Self, V4Error> {
        let (meta, body) = match byte_strings(plaintext)?.as_slice() {
            [meta] => (*meta, &[][..]),
            [meta, body] => (*meta, *body),
            _ => return Err(V4Error::Shape),
        };
        if meta.len() > MAX_METADATA_BYTES {
            return Err(V4Error::MetadataTooLarge);
        }
        let serde_json::Value::Object(mut meta) =
            serde_json::from_slice(meta).map_err(|_| V4Error::Metadata("not JSON"))?
        else {
            return Err(V4Error::Metadata("not an object"));
        };
        let method = take_string(&mut meta, "method")?;
        let endpoint = take_string(&mut meta, "endpoint")?;
        if !endpoint.starts_with('/') {
            return Err(V4Error::Endpoint);
        }
        let headers = match meta.remove("headers") {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::Object(map)) => header_pairs(map)?,
            Some(_) => return Err(V4Error::Metadata("headers must be an object")),
        };
        Ok(Self {
            method,
            endpoint,
            headers,
            body,
        })
    }

    /// A header's value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Client side: the plaintext to encrypt. Compact JSON meta; the body element is left out
    /// when the body is empty.
    pub fn encode(&self) -> Vec<u8> {
        let meta = RequestMeta {
            method: &self.method,
            endpoint: &self.endpoint,
            headers: Headers(&self.headers),
        };
        let meta = serde_json::to_vec(&meta).unwrap_or_default();
        if self.body.is_empty() {
            bencode::encode_byte_list(&[&meta])
        } else {
            bencode::encode_byte_list(&[&meta, self.body])
        }
    }
}

/// An inner v4 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V4Response {
    /// The HTTP status of the sub-request.
    pub code: u16,
    /// Response headers; [`V4Response::encode`] lowercases names and drops `content-length`.
    pub headers: Vec<(String, String)>,
    /// The response body.
    pub body: Vec<u8>,
}

impl V4Response {
    /// What pysogs answers when the inner request cannot be parsed.
    pub fn invalid_request() -> Self {
        Self {
            code: 400,
            headers: vec![(
                "content-type".to_owned(),
                "text/plain; charset=utf-8".to_owned(),
            )],
            body: INVALID_REQUEST_BODY.as_bytes().to_vec(),
        }
    }

    /// Server side: the plaintext to encrypt, meta written like Python's `json.dumps`.
    pub fn encode(&self) -> Vec<u8> {
        bencode::encode_byte_list(&[&self.encode_meta(), &self.body])
    }

    /// The first list element alone: `{"code": …, "headers": {…}}` as Python writes it, header
    /// names lowercased and `content-length` left out.
    pub fn encode_meta(&self) -> Vec<u8> {
        let headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .filter(|(k, _)| k != "content-length")
            .collect();
        let meta = ResponseMeta {
            code: self.code,
            headers: Headers(&headers),
        };
        let mut json = Vec::new();
        let mut serializer = serde_json::Serializer::with_formatter(&mut json, PythonFormatter);
        // Serialising strings and integers into a Vec cannot fail.
        let _ = meta.serialize(&mut serializer);
        json
    }

    /// Client side: parses a decrypted reply.
    pub fn decode(plaintext: &[u8]) -> Result<Self, V4Error> {
        let [meta, body] = byte_strings(plaintext)?[..] else {
            return Err(V4Error::Shape);
        };
        let serde_json::Value::Object(mut meta) =
            serde_json::from_slice(meta).map_err(|_| V4Error::Metadata("not JSON"))?
        else {
            return Err(V4Error::Metadata("not an object"));
        };
        let code = meta
            .get("code")
            .and_then(serde_json::Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
            .ok_or(V4Error::Metadata("code must be an HTTP status"))?;
        let headers = match meta.remove("headers") {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::Object(map)) => header_pairs(map)?,
            Some(_) => return Err(V4Error::Metadata("headers must be an object")),
        };
        Ok(Self {
            code,
            headers,
            body: body.to_vec(),
        })
    }
}

/// The list's items, all of which must be byte strings (1 or 2 of them).
fn byte_strings(plaintext: &[u8]) -> Result<Vec<&[u8]>, V4Error> {
    let value = bencode::decode(plaintext)?;
    let items = value.as_list().ok_or(V4Error::Shape)?;
    if items.is_empty() || items.len() > 2 {
        return Err(V4Error::Shape);
    }
    items
        .iter()
        .map(Value::as_bytes)
        .collect::<Option<Vec<_>>>()
        .ok_or(V4Error::Shape)
}

fn take_string(
    meta: &mut serde_json::Map<String, serde_json::Value>,
    field: &'static str,
) -> Result<String, V4Error> {
    match meta.remove(field) {
        Some(serde_json::Value::String(s)) => Ok(s),
        _ => Err(V4Error::Metadata(field)),
    }
}

/// Header values are strings; numbers and booleans are taken as their JSON text (a client
/// sending `"content-length": 12` should not fail), nulls are dropped, anything else refused.
fn header_pairs(
    map: serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<(String, String)>, V4Error> {
    let mut headers = Vec::with_capacity(map.len());
    for (name, value) in map {
        let value = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Null => continue,
            _ => return Err(V4Error::Metadata("header values must be strings")),
        };
        headers.push((name.to_ascii_lowercase(), value));
    }
    Ok(headers)
}

#[derive(Serialize)]
struct RequestMeta<'a> {
    method: &'a str,
    endpoint: &'a str,
    headers: Headers<'a>,
}

#[derive(Serialize)]
struct ResponseMeta<'a> {
    code: u16,
    headers: Headers<'a>,
}

/// Headers as a JSON object, in the order given.
struct Headers<'a>(&'a [(String, String)]);

impl Serialize for Headers<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// JSON in Python's default `json.dumps` style: `", "` and `": "` separators, and every
/// character outside printable ASCII escaped as `\uXXXX` (`ensure_ascii`).
struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        for c in fragment.chars() {
            if (' '..='~').contains(&c) {
                writer.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const CAPABILITIES: &[u8] = br#"l56:{"method":"GET","endpoint":"/capabilities","headers":{}}e"#;

    #[test]
    fn the_vector_request_decodes_and_re_encodes_identically() {
        // test-vectors.md §3d
        let request = V4Request::decode(CAPABILITIES).unwrap();
        assert_eq!(request.method, "GET");
        assert_eq!(request.endpoint, "/capabilities");
        assert!(request.headers.is_empty());
        assert!(request.body.is_empty());
        assert_eq!(request.encode(), CAPABILITIES);
    }

    #[test]
    fn the_reply_meta_is_written_like_python_json_dumps() {
        // test-vectors.md §3d
        let response = V4Response {
            code: 200,
            headers: vec![
                ("Content-Type".to_owned(), "application/json".to_owned()),
                ("Content-Length".to_owned(), "48".to_owned()),
            ],
            body: br#"{"capabilities": ["blind", "reactions", "sogs"]}"#.to_vec(),
        };
        let expected = concat!(
            r#"l62:{"code": 200, "headers": {"content-type": "application/json"}}"#,
            r#"48:{"capabilities": ["blind", "reactions", "sogs"]}e"#
        );
        assert_eq!(String::from_utf8(response.encode()).unwrap(), expected);
        let decoded = V4Response::decode(expected.as_bytes()).unwrap();
        assert_eq!(decoded.code, 200);
        assert_eq!(
            decoded.headers,
            vec![("content-type".to_owned(), "application/json".to_owned())]
        );
        assert_eq!(decoded.body, response.body);
    }

    #[test]
    fn the_invalid_request_reply_matches_pysogs() {
        let encoded = V4Response::invalid_request().encode();
        assert_eq!(
            String::from_utf8(encoded).unwrap(),
            r#"l71:{"code": 400, "headers": {"content-type": "text/plain; charset=utf-8"}}24:Invalid v4 onion requeste"#
        );
    }

    #[test]
    fn non_ascii_header_values_are_escaped_like_python() {
        let response = V4Response {
            code: 200,
            headers: vec![("x-name".to_owned(), "é🍍\u{7f}\"".to_owned())],
            body: Vec::new(),
        };
        let encoded = String::from_utf8(response.encode()).unwrap();
        assert!(
            encoded.contains(r#""x-name": "\u00e9\ud83c\udf4d\u007f\"""#),
            "{encoded}"
        );
        assert_eq!(
            V4Response::decode(encoded.as_bytes()).unwrap().headers[0].1,
            "é🍍\u{7f}\""
        );
    }

    #[test]
    fn a_request_with_headers_and_body_round_trips() {
        let request = V4Request {
            method: "POST".to_owned(),
            endpoint: "/room/x/message".to_owned(),
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: b"{\"data\":\"x\"}",
        };
        let encoded = request.encode();
        let decoded = V4Request::decode(&encoded).unwrap();
        assert_eq!(decoded, request);
        assert_eq!(decoded.header("Content-Type"), Some("application/json"));
    }

    #[test]
    fn header_names_are_lowercased_and_scalar_values_accepted() {
        let meta = br#"{"method":"GET","endpoint":"/x","headers":{"X-SOGS-Pubkey":"15ab","Content-Length":12,"X-Flag":true,"X-Null":null}}"#;
        let plaintext = bencode::encode_byte_list(&[meta]);
        let request = V4Request::decode(&plaintext).unwrap();
        assert_eq!(request.header("x-sogs-pubkey"), Some("15ab"));
        assert_eq!(request.header("content-length"), Some("12"));
        assert_eq!(request.header("x-flag"), Some("true"));
        assert_eq!(request.header("x-null"), None);
    }

    fn request_error(meta: &str) -> V4Error {
        V4Request::decode(&bencode::encode_byte_list(&[meta.as_bytes()])).unwrap_err()
    }

    #[test]
    fn malformed_metadata_is_refused() {
        assert_eq!(request_error("not json"), V4Error::Metadata("not JSON"));
        assert_eq!(request_error("[]"), V4Error::Metadata("not an object"));
        assert_eq!(
            request_error(r#"{"endpoint":"/x"}"#),
            V4Error::Metadata("method")
        );
        assert_eq!(
            request_error(r#"{"method":"GET"}"#),
            V4Error::Metadata("endpoint")
        );
        assert_eq!(
            request_error(r#"{"method":1,"endpoint":"/x"}"#),
            V4Error::Metadata("method")
        );
        assert_eq!(
            request_error(r#"{"method":"GET","endpoint":"x"}"#),
            V4Error::Endpoint
        );
        assert_eq!(
            request_error(r#"{"method":"GET","endpoint":"/x","headers":[]}"#),
            V4Error::Metadata("headers must be an object")
        );
        assert_eq!(
            request_error(r#"{"method":"GET","endpoint":"/x","headers":{"a":{}}}"#),
            V4Error::Metadata("header values must be strings")
        );
    }

    #[test]
    fn payloads_of_the_wrong_shape_are_refused() {
        let meta: &[u8] = br#"{"method":"GET","endpoint":"/x"}"#;
        for bad in [
            b"le".to_vec(),
            bencode::encode_byte_list(&[meta, b"a", b"b"]),
            b"5:hello".to_vec(),
            format!("li1e{}:{}e", meta.len(), String::from_utf8_lossy(meta)).into_bytes(),
        ] {
            assert_eq!(V4Request::decode(&bad), Err(V4Error::Shape), "{bad:?}");
        }
        assert!(matches!(
            V4Request::decode(b"l5:abc"),
            Err(V4Error::Bencode(_))
        ));
        let mut trailing = bencode::encode_byte_list(&[meta]);
        trailing.push(b'x');
        assert!(matches!(
            V4Request::decode(&trailing),
            Err(V4Error::Bencode(BencodeError::TrailingData(_)))
        ));
    }

    #[test]
    fn malformed_replies_are_refused() {
        assert_eq!(
            V4Response::decode(&bencode::encode_byte_list(&[b"{\"code\": 200}"])),
            Err(V4Error::Shape)
        );
        assert_eq!(
            V4Response::decode(&bencode::encode_byte_list(&[b"{\"code\": 70000}", b""])),
            Err(V4Error::Metadata("code must be an HTTP status"))
        );
        assert_eq!(
            V4Response::decode(&bencode::encode_byte_list(&[b"{}", b""])),
            Err(V4Error::Metadata("code must be an HTTP status"))
        );
    }
}
