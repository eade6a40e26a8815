//! `POST /batch` and `POST /sequence` (spec §5.1): many sub-requests in one, each served by
//! the same route table under the outer request's identity.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};

use crate::api::context::Ctx;
use crate::api::dispatch::serve_as;
use crate::api::error::ApiError;
use crate::api::onion::is_onion_path;
use crate::api::request::{ApiRequest, ApiResponse, Body, Headers, Method};

/// More sub-requests than any client sends in one poll (capabilities, two per joined room,
/// inbox, outbox), but few enough that one request cannot occupy a worker for long.
pub const MAX_SUB_REQUESTS: usize = 1000;

/// Runs every sub-request (in order) and returns all responses.
pub async fn batch(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    run(ctx, false).await
}

/// Runs sub-requests in order and stops after the first that does not succeed (its
/// response is included).
pub async fn sequence(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    run(ctx, true).await
}

async fn run(ctx: &Ctx<'_>, stop_on_failure: bool) -> Result<ApiResponse, ApiError> {
    let requests = parse_sub_requests(&ctx.req.body)?;
    let mut responses = Vec::with_capacity(requests.len());
    for sub in requests {
        let response = if is_batch_path(&sub.path) || is_onion_path(&sub.path) {
            // No nesting: one batch level is all clients use, and it bounds the work. An
            // onion request is only ever the outermost layer.
            ApiError::BadRequest("Batch requests cannot be nested".into()).into_response()
        } else {
            serve_as(ctx.state, sub, ctx.identity).await.response
        };
        let failed = !response.is_success();
        responses.push(to_batch_element(response));
        if stop_on_failure && failed {
            break;
        }
    }
    Ok(ApiResponse::json(Value::Array(responses)))
}

fn is_batch_path(path: &str) -> bool {
    path == "/batch" || path == "/sequence"
}

/// Parses the body: a JSON list of `{method, path, headers?, json|b64|bytes}`. Any malformed
/// element fails the whole batch with 400.
pub fn parse_sub_requests(body: &[u8]) -> Result<Vec<ApiRequest>, ApiError> {
    let bad = |why: &str| ApiError::BadRequest(format!("Invalid batch request: {why}"));
    let list: Value = serde_json::from_slice(body).map_err(|_| bad("body is not valid JSON"))?;
    let Value::Array(items) = list else {
        return Err(bad("body must be a JSON list"));
    };
    if items.len() > MAX_SUB_REQUESTS {
        return Err(bad("too many sub-requests"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_one(item).map_err(|why| bad(&format!("element {i}: {why}"))))
        .collect()
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

/// `{"code", "headers", "body"}`: JSON bodies inline, anything else base64.
pub fn to_batch_element(response: ApiResponse) -> Value {
    let mut headers = Map::new();
    if let Some(ct) = response.content_type() {
        headers.insert("content-type".into(), Value::String(ct.to_string()));
    }
    for (name, value) in &response.headers {
        if name != "content-length" {
            headers.insert(name.clone(), Value::String(value.clone()));
        }
    }
    let body = match &response.body {
        Body::Json(v) => v.clone(),
        _ => Value::String(B64.encode(response.body_bytes())),
    };
    json!({ "code": response.status, "headers": headers, "body": body })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let subs = parse_sub_requests(body).unwrap();
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
            let err = parse_sub_requests(body).unwrap_err();
            assert_eq!(err.status(), 400, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn undecodable_b64_gives_an_empty_body_like_pysogs() {
        let subs = parse_sub_requests(br#"[{"method":"POST","path":"/x","b64":"!!"}]"#).unwrap();
        assert!(subs[0].body.is_empty());
    }

    #[test]
    fn elements_inline_json_and_base64_everything_else() {
        let e = to_batch_element(ApiResponse::json(json!({"a": 1})));
        assert_eq!(
            e,
            json!({"code": 200, "headers": {"content-type": "application/json"}, "body": {"a": 1}})
        );
        let e = to_batch_element(ApiResponse::text(403, "no"));
        assert_eq!(e["body"], "bm8=");
        assert_eq!(e["code"], 403);
        let e = to_batch_element(ApiResponse::empty(304));
        assert_eq!(e["body"], "");
    }
}
