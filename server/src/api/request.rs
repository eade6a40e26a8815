//! The request and response every entry point shares.
//!
//! Plain HTTP, `/batch` and `/sequence` sub-requests and onion inner requests are all turned
//! into an [`ApiRequest`] and answered with an [`ApiResponse`], so they reach the same route
//! table and handlers and behave identically.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::crypto::request_signature::{percent_decode, split_target};

/// The methods SOGS routes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    /// Parses an exact upper-case method name, as SOGS sub-requests carry it.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "GET" => Some(Method::Get),
            "POST" => Some(Method::Post),
            "PUT" => Some(Method::Put),
            "DELETE" => Some(Method::Delete),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    /// Whether requests with this method carry a body.
    pub fn has_body(self) -> bool {
        matches!(self, Method::Post | Method::Put)
    }
}

/// Request headers with case-insensitive names (stored lower-case).
///
/// A map, so that building headers from a list an attacker sends (an onion request's inner
/// `headers`, a batch sub-request's) is linear in the list rather than quadratic; the
/// dispatcher then refuses more than `[limits] max_headers`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(BTreeMap<String, String>);

impl Headers {
    pub fn new() -> Self {
        Self(BTreeMap::new())
    }

    /// Adds or replaces a header.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(name.to_ascii_lowercase(), value.into());
    }

    /// The value of a header, by case-insensitive name.
    pub fn get(&self, name: &str) -> Option<&str> {
        let found = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.0.get(&name.to_ascii_lowercase())
        } else {
            self.0.get(name)
        };
        found.map(String::as_str)
    }

    /// How many distinct headers there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The headers, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// A request as the route table sees it.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: Method,
    /// The percent-decoded path, e.g. `/room/x/reaction/1/🍍`.
    pub path: String,
    /// The raw query string, without `?`, exactly as received.
    pub query: String,
    pub headers: Headers,
    pub body: Vec<u8>,
    /// How many reply bytes this request may still produce: unbounded (the configured
    /// `max_reply_bytes` applies) except for a `/batch` sub-request, which gets what the
    /// batch's reply has left, so that a listing is cut to fit instead of being built
    /// whole and then refused.
    pub reply_budget: usize,
}

/// Why a target (path with optional query) could not be turned into a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("path must start with '/'")]
    NotAbsolute,
}

impl ApiRequest {
    /// Builds a request from a target like `/room/x/messages/since/5?t=r`: splits off the
    /// query (kept raw) and percent-decodes the path as Python's `unquote` does (malformed
    /// escapes kept, invalid UTF-8 replaced), so the path we verify is the one the client
    /// signed.
    pub fn from_target(
        method: Method,
        target: &str,
        headers: Headers,
        body: Vec<u8>,
    ) -> Result<Self, TargetError> {
        let (path, query) = split_target(target);
        if !path.starts_with('/') {
            return Err(TargetError::NotAbsolute);
        }
        Ok(Self {
            method,
            path,
            query: query.to_string(),
            headers,
            body,
            reply_budget: usize::MAX,
        })
    }

    /// The value of query parameter `name` (percent-decoded, `+` as space), if present.
    /// With repeated parameters the first wins.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query
            .split('&')
            .filter(|p| !p.is_empty())
            .find_map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let k = percent_decode(&k.replace('+', " "));
                (k == name).then(|| percent_decode(&v.replace('+', " ")))
            })
    }

    /// The Content-Type, lower-cased, without parameters.
    pub fn content_type(&self) -> Option<String> {
        self.headers.get("content-type").map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
    }
}

/// A response body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Empty,
    /// Serialised as JSON with Content-Type `application/json`.
    Json(serde_json::Value),
    /// Plain text (error messages).
    Text(String),
    /// Raw bytes with their content type.
    Bytes {
        content_type: String,
        data: Vec<u8>,
    },
}

/// A response as the route table produces it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    /// Extra headers (lower-case names); Content-Type comes from the body.
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl ApiResponse {
    /// 200 with a JSON body.
    pub fn json(value: impl Serialize) -> Self {
        Self::json_status(200, value)
    }

    /// A JSON body with the given status.
    pub fn json_status(status: u16, value: impl Serialize) -> Self {
        let body = match serde_json::to_value(value) {
            Ok(v) => Body::Json(v),
            Err(_) => Body::Json(serde_json::Value::Null),
        };
        Self {
            status,
            headers: Vec::new(),
            body,
        }
    }

    /// A plain-text body with the given status.
    pub fn text(status: u16, text: impl Into<String>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Body::Text(text.into()),
        }
    }

    /// An empty body with the given status (e.g. 304).
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Body::Empty,
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// The Content-Type the body is sent with, if any.
    pub fn content_type(&self) -> Option<&str> {
        match &self.body {
            Body::Empty => None,
            Body::Json(_) => Some("application/json"),
            Body::Text(_) => Some("text/plain; charset=utf-8"),
            Body::Bytes { content_type, .. } => Some(content_type),
        }
    }

    /// The body as bytes on the wire.
    pub fn body_bytes(&self) -> Vec<u8> {
        match &self.body {
            Body::Empty => Vec::new(),
            Body::Json(v) => serde_json::to_vec(v).unwrap_or_default(),
            Body::Text(t) => t.as_bytes().to_vec(),
            Body::Bytes { data, .. } => data.clone(),
        }
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_splits_raw_query_and_decodes_path() {
        let req = ApiRequest::from_target(
            Method::Get,
            "/room/x/reaction/1/%F0%9F%8D%8D?a=%20b&t=r",
            Headers::new(),
            vec![],
        )
        .unwrap();
        assert_eq!(req.path, "/room/x/reaction/1/🍍");
        assert_eq!(req.query, "a=%20b&t=r");
        assert_eq!(req.query_param("a").as_deref(), Some(" b"));
        assert_eq!(req.query_param("t").as_deref(), Some("r"));
        assert_eq!(req.query_param("missing"), None);
    }

    #[test]
    fn malformed_targets_are_errors() {
        for target in ["room/x", "", "?a=b", "x/y?z"] {
            assert!(
                ApiRequest::from_target(Method::Get, target, Headers::new(), vec![]).is_err(),
                "{target:?} accepted"
            );
        }
    }

    #[test]
    fn malformed_escapes_stay_and_invalid_utf8_is_replaced_like_python_unquote() {
        let req =
            ApiRequest::from_target(Method::Get, "/a%zz/%ff", Headers::new(), vec![]).unwrap();
        assert_eq!(req.path, "/a%zz/\u{fffd}");
    }

    #[test]
    fn headers_are_case_insensitive_and_replaced() {
        let mut h = Headers::new();
        h.set("X-SOGS-Pubkey", "a");
        h.set("x-sogs-pubkey", "b");
        assert_eq!(h.get("X-Sogs-PUBKEY"), Some("b"));
        assert_eq!(h.iter().count(), 1);
    }

    #[test]
    fn many_headers_are_set_in_linear_time_and_the_last_value_wins() {
        // 200k distinct names: a quadratic set would take minutes, this takes milliseconds.
        let mut h = Headers::new();
        for i in 0..200_000 {
            h.set(&format!("X-{i}"), "a");
        }
        h.set("x-7", "b");
        assert_eq!(h.len(), 200_000);
        assert_eq!(h.get("X-7"), Some("b"));
    }

    #[test]
    fn methods_parse_exactly() {
        assert_eq!(Method::parse("GET"), Some(Method::Get));
        assert_eq!(Method::parse("get"), None);
        assert_eq!(Method::parse("PATCH"), None);
    }
}
