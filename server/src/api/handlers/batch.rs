//! `POST /batch` and `POST /sequence` (spec §5.1): many sub-requests in one, each served by
//! the same route table under the outer request's identity.

use std::cell::Cell;
use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;
use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::api::context::Ctx;
use crate::api::dispatch::serve_as;
use crate::api::error::ApiError;
use crate::api::limits::{self, Limit, LimitExceeded};
use crate::api::onion::is_onion_path;
use crate::api::request::{ApiRequest, ApiResponse, Body, Headers, Method};

/// Runs every sub-request (in order) and returns all responses.
pub async fn batch(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    run(ctx, false).await
}

/// Runs sub-requests in order and stops after the first that does not succeed (its
/// response is included).
pub async fn sequence(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    run(ctx, true).await
}

/// Serves the sub-requests one at a time, writing each response into the reply as soon as
/// it is ready, so that memory holds the reply so far plus one sub-response, never every
/// sub-response at once; the reply is refused (413) as soon as it outgrows
/// `[limits] max_reply_bytes`. Between two sub-requests the worker is handed back to the
/// other requests it serves, so a long batch delays honest polls by one sub-request at most.
async fn run(ctx: &Ctx<'_>, stop_on_failure: bool) -> Result<ApiResponse, ApiError> {
    let limits = &ctx.state.config.limits;
    let max = limits.max_sub_requests;
    let parsed = if ctx.req.body.len() > OFF_WORKER_BYTES {
        // A large body is parsed on the blocking pool, not on the worker other requests share.
        let body = ctx.req.body.clone();
        tokio::task::spawn_blocking(move || parse_sub_requests(&body, max))
            .await
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("batch parsing task failed: {e}")))?
    } else {
        parse_sub_requests(&ctx.req.body, max)
    };
    let requests = parsed.map_err(|e| match e {
        ApiError::Limit(over) => limits::refuse(ctx.state, over),
        other => other,
    })?;
    let max_reply = usize::try_from(limits.max_reply_bytes).unwrap_or(usize::MAX);
    // A reply past `large_request_bytes` is a large request: it may grow to `max_reply`
    // only while holding one of the instance's turns for large requests (taken if free,
    // never waited for). Without one its listings are cut to stay under the mark, so a
    // flood of batches of large listings builds one big reply per turn, not one per
    // connection, and clients still move on (a cut page is a valid page).
    let large = usize::try_from(limits.large_request_bytes).unwrap_or(usize::MAX);
    let turn = (max_reply > large)
        .then(|| ctx.state.large_requests.clone().try_acquire_owned().ok())
        .flatten();
    let ceiling = if turn.is_some() {
        max_reply
    } else {
        max_reply.min(large)
    };
    let mut reply = Vec::with_capacity(1024);
    reply.push(b'[');
    for (i, sub) in requests.into_iter().enumerate() {
        if i > 0 {
            tokio::task::yield_now().await;
            reply.push(b',');
        }
        let mut sub = sub;
        sub.reply_budget = ceiling.saturating_sub(reply.len());
        let response = if is_batch_path(&sub.path) || is_onion_path(&sub.path) {
            // No nesting: one batch level is all clients use, and it bounds the work. An
            // onion request is only ever the outermost layer.
            ApiError::BadRequest("Batch requests cannot be nested".into()).into_response()
        } else {
            serve_as(ctx.state, sub, ctx.identity).await.response
        };
        let failed = !response.is_success();
        write_batch_element(&mut reply, &response);
        drop(response);
        if reply.len() > max_reply {
            let over = LimitExceeded::new(Limit::ReplyBytes, limits.max_reply_bytes);
            return Err(limits::refuse(ctx.state, over));
        }
        if stop_on_failure && failed {
            break;
        }
    }
    reply.push(b']');
    Ok(ApiResponse {
        status: 200,
        headers: Vec::new(),
        body: Body::Bytes {
            content_type: "application/json".into(),
            data: reply,
        },
    })
}

/// Batch bodies above this size are parsed off the async worker; a Session poll is ~1 KiB.
const OFF_WORKER_BYTES: usize = 64 * 1024;

fn is_batch_path(path: &str) -> bool {
    path == "/batch" || path == "/sequence"
}

/// Parses the body: a JSON list of `{method, path, headers?, json|b64|bytes}`. Any malformed
/// element fails the whole batch with 400; more than `max` elements fail it with 413 as
/// soon as the element after the last allowed one is reached, before any is parsed further.
pub fn parse_sub_requests(body: &[u8], max: u64) -> Result<Vec<ApiRequest>, ApiError> {
    let bad = |why: &str| ApiError::BadRequest(format!("Invalid batch request: {why}"));
    let over = Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(body);
    let items = match (BoundedList { max, over: &over }).deserialize(&mut de) {
        Ok(items) => items,
        Err(_) if over.get() => {
            return Err(LimitExceeded::new(Limit::SubRequests, max).into());
        }
        Err(e) if e.is_data() => return Err(bad("body must be a JSON list")),
        Err(_) => return Err(bad("body is not valid JSON")),
    };
    de.end().map_err(|_| bad("body is not valid JSON"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            let item: Value = serde_json::from_str(raw.get())
                .map_err(|_| bad(&format!("element {i}: not valid JSON")))?;
            parse_one(&item).map_err(|why| bad(&format!("element {i}: {why}")))
        })
        .collect()
}

/// A JSON list of at most `max` elements, each kept as raw JSON borrowed from the body;
/// sets `over` and fails on the element after the last allowed one.
struct BoundedList<'a> {
    max: u64,
    over: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for BoundedList<'_> {
    type Value = Vec<&'de RawValue>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for BoundedList<'_> {
    type Value = Vec<&'de RawValue>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of sub-requests")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<&'de RawValue>()? {
            if u64::try_from(items.len()).unwrap_or(u64::MAX) >= self.max {
                self.over.set(true);
                return Err(de::Error::custom("too many sub-requests"));
            }
            items.push(item);
        }
        Ok(items)
    }
}

fn parse_one(item: &Value) -> Result<ApiRequest, String> {
    let Value::Object(obj) = item else {
        return Err("not an object".into());
    };
    let method = obj
        .get("method")
        .and_then(Value::as_str)
        .and_then(Method::parse)
        .ok_or("method must be one of GET, DELETE, POST, PUT")?;
    let path = obj
        .get("path")
        .and_then(Value::as_str)
        .filter(|p| p.starts_with('/'))
        .ok_or("path must be a string starting with '/'")?;
    let mut headers = Headers::new();
    match obj.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(h)) => {
            for (name, value) in h {
                let value = value.as_str().ok_or("header values must be strings")?;
                headers.set(name, value);
            }
        }
        Some(_) => return Err("headers must be an object".into()),
    }
    let bodies: Vec<&str> = ["json", "b64", "bytes"]
        .into_iter()
        .filter(|k| obj.contains_key(*k))
        .collect();
    let body = if method.has_body() {
        let [kind] = bodies.as_slice() else {
            return Err("POST and PUT need exactly one of json, b64, bytes".into());
        };
        body_of(kind, obj, &mut headers)?
    } else {
        if !bodies.is_empty() {
            return Err("GET and DELETE cannot have a body".into());
        }
        Vec::new()
    };
    ApiRequest::from_target(method, path, headers, body).map_err(|e| e.to_string())
}

fn body_of(kind: &str, obj: &Map<String, Value>, headers: &mut Headers) -> Result<Vec<u8>, String> {
    let default_type = |headers: &mut Headers, ct: &str| {
        if headers.get("content-type").is_none() {
            headers.set("content-type", ct);
        }
    };
    match kind {
        "json" => {
            default_type(headers, "application/json");
            serde_json::to_vec(&obj["json"]).map_err(|e| e.to_string())
        }
        "b64" => {
            default_type(headers, "application/octet-stream");
            let text = obj["b64"].as_str().ok_or("b64 must be a string")?;
            // PySOGS only logs an undecodable b64 body and sends an empty one.
            Ok(B64.decode(text).unwrap_or_default())
        }
        _ => {
            default_type(headers, "application/octet-stream");
            let text = obj["bytes"].as_str().ok_or("bytes must be a string")?;
            Ok(text.as_bytes().to_vec())
        }
    }
}

/// One element of a batch reply (fields in the order PySOGS's JSON has them).
#[derive(Serialize)]
struct Element<'a> {
    body: ElementBody<'a>,
    code: u16,
    headers: BTreeMap<&'a str, &'a str>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ElementBody<'a> {
    Json(&'a Value),
    Base64(String),
}

/// Appends `{"body", "code", "headers"}` to `out`: JSON bodies inline, anything else base64.
pub fn write_batch_element(out: &mut Vec<u8>, response: &ApiResponse) {
    let mut headers = BTreeMap::new();
    if let Some(ct) = response.content_type() {
        headers.insert("content-type", ct);
    }
    for (name, value) in &response.headers {
        if name != "content-length" {
            headers.insert(name.as_str(), value.as_str());
        }
    }
    let body = match &response.body {
        Body::Json(v) => ElementBody::Json(v),
        Body::Empty => ElementBody::Base64(String::new()),
        Body::Text(t) => ElementBody::Base64(B64.encode(t)),
        Body::Bytes { data, .. } => ElementBody::Base64(B64.encode(data)),
    };
    let element = Element {
        body,
        code: response.status,
        headers,
    };
    // Serialising plain maps, strings and numbers into a Vec cannot fail.
    let _ = serde_json::to_writer(out, &element);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_session_poll_batch_parses_into_sub_requests() {
        let body = br#"[
            {"method":"GET","path":"/capabilities"},
            {"method":"GET","path":"/room/lobby/pollInfo/3"},
            {"method":"GET","path":"/room/lobby/messages/since/10?t=r&reactors=5"},
            {"method":"POST","path":"/room/lobby/message","json":{"data":"AA=="}},
            {"method":"PUT","path":"/x","b64":"aGk="},
            {"method":"POST","path":"/y","bytes":"hi","headers":{"Content-Type":"text/plain"}}
        ]"#;
        let subs = parse_sub_requests(body, 256).unwrap();
        assert_eq!(subs.len(), 6);
        assert_eq!(subs[2].path, "/room/lobby/messages/since/10");
        assert_eq!(subs[2].query, "t=r&reactors=5");
        assert_eq!(subs[3].body, br#"{"data":"AA=="}"#);
        assert_eq!(subs[3].content_type().as_deref(), Some("application/json"));
        assert_eq!(subs[4].body, b"hi");
        assert_eq!(subs[5].content_type().as_deref(), Some("text/plain"));
    }

    #[test]
    fn malformed_batches_are_rejected_whole() {
        let cases: &[&[u8]] = &[
            b"",
            b"{}",
            b"not json",
            b"[1]",
            br#"[{"path":"/x"}]"#,
            br#"[{"method":"PATCH","path":"/x"}]"#,
            br#"[{"method":"get","path":"/x"}]"#,
            br#"[{"method":"GET","path":"x"}]"#,
            br#"[{"method":"GET","path":5}]"#,
            br#"[{"method":"GET","path":"/x","json":{}}]"#,
            br#"[{"method":"POST","path":"/x"}]"#,
            br#"[{"method":"POST","path":"/x","json":1,"bytes":"a"}]"#,
            br#"[{"method":"POST","path":"/x","b64":5}]"#,
            br#"[{"method":"GET","path":"/x","headers":[]}]"#,
            br#"[{"method":"GET","path":"/x","headers":{"a":1}}]"#,
        ];
        for body in cases {
            let err = parse_sub_requests(body, 256).unwrap_err();
            assert_eq!(err.status(), 400, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn undecodable_b64_gives_an_empty_body_like_pysogs() {
        let subs =
            parse_sub_requests(br#"[{"method":"POST","path":"/x","b64":"!!"}]"#, 256).unwrap();
        assert!(subs[0].body.is_empty());
    }

    #[test]
    fn more_sub_requests_than_the_limit_are_refused_with_413() {
        let one = r#"{"method":"GET","path":"/capabilities"}"#;
        let list = |n: usize| format!("[{}]", vec![one; n].join(","));
        assert_eq!(parse_sub_requests(list(3).as_bytes(), 3).unwrap().len(), 3);
        let err = parse_sub_requests(list(4).as_bytes(), 3).unwrap_err();
        assert_eq!(err.status(), 413);
        // Refused at the first element too many, whatever follows it.
        let err = parse_sub_requests(
            format!("{}, garbage", &list(4)[..list(4).len() - 1]).as_bytes(),
            3,
        )
        .unwrap_err();
        assert_eq!(err.status(), 413);
        assert_eq!(parse_sub_requests(b"[]", 3).unwrap().len(), 0);
    }

    fn element(response: ApiResponse) -> Value {
        let mut out = Vec::new();
        write_batch_element(&mut out, &response);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn elements_inline_json_and_base64_everything_else() {
        let e = element(ApiResponse::json(json!({"a": 1})));
        assert_eq!(
            e,
            json!({"code": 200, "headers": {"content-type": "application/json"}, "body": {"a": 1}})
        );
        let e = element(ApiResponse::text(403, "no"));
        assert_eq!(e["body"], "bm8=");
        assert_eq!(e["code"], 403);
        let e = element(ApiResponse::empty(304));
        assert_eq!(e["body"], "");
    }
}
