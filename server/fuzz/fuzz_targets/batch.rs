//! `/batch` and `/sequence` bodies: a JSON list of `{method, path, headers?, json|b64|bytes}`
//! sub-requests, each turned into a route-table request. Nothing may panic; an accepted body
//! has at most the allowed number of elements, each a valid request; and a sub-request written
//! back as a batch element parses to the same request.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use sogs::api::handlers::batch::parse_sub_requests;
use sogs::api::request::{ApiRequest, Method};

const MAX: u64 = 16;

fuzz_target!(|data: &[u8]| {
    let Ok(subs) = parse_sub_requests(data, MAX) else {
        return;
    };
    assert!(subs.len() as u64 <= MAX);
    for sub in &subs {
        check(sub);
    }
});

fn check(sub: &ApiRequest) {
    assert!(sub.path.starts_with('/'));
    if !sub.method.has_body() {
        assert!(sub.body.is_empty(), "GET and DELETE carry no body");
    }
    // Written back with its body as `b64` and its path as a plain target (the parsed path is
    // already decoded, so a fixed one stands in for it), the element parses to the same
    // method, query, headers and body.
    let mut headers = Map::new();
    for (name, value) in sub.headers.iter() {
        headers.insert(name.to_owned(), Value::String(value.to_owned()));
    }
    let mut element = json!({
        "method": sub.method.as_str(),
        "path": format!("/r?{}", sub.query),
        "headers": headers,
    });
    if sub.method.has_body() {
        element["b64"] = Value::String(B64.encode(&sub.body));
    }
    let body = serde_json::to_vec(&json!([element])).expect("a JSON value serialises");
    let again = parse_sub_requests(&body, MAX).expect("a written-back element parses");
    let [again] = again.as_slice() else {
        panic!("one element written, {} parsed", again.len());
    };
    assert_eq!(again.method, sub.method);
    assert_eq!(again.path, "/r");
    assert_eq!(again.query, sub.query);
    assert_eq!(again.headers, sub.headers);
    assert_eq!(again.body, sub.body);
    let _ = Method::parse(sub.method.as_str()).expect("a method names itself");
}
