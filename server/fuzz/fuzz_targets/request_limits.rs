//! The request-shape parsers an attacker reaches with one request: header maps (onion inner
//! requests and batch sub-requests carry arbitrary ones), `/batch` and `/sequence` bodies,
//! and message bodies. Nothing may panic, and whatever is accepted is within the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sogs::api::handlers::batch::parse_sub_requests;
use sogs::api::input::parse_message_input;
use sogs::api::limits::check_request;
use sogs::api::request::{ApiRequest, Headers, Method};
use sogs::config::LimitsConfig;

fuzz_target!(|data: &[u8]| {
    let limits = LimitsConfig {
        max_sub_requests: 8,
        max_files_per_message: 4,
        max_message_bytes: 64,
        max_headers: 6,
        ..LimitsConfig::default()
    };

    // Header lines `name:value`: the last value of a name (any case) wins, and the count
    // is the number of distinct lower-cased names.
    let text = String::from_utf8_lossy(data);
    let mut headers = Headers::new();
    let mut names = std::collections::BTreeMap::new();
    for line in text.split('\n') {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        headers.set(name, value);
        names.insert(name.to_ascii_lowercase(), value.to_string());
    }
    assert_eq!(headers.len(), names.len());
    for (name, value) in &names {
        assert_eq!(
            headers.get(&name.to_ascii_uppercase()),
            Some(value.as_str())
        );
    }
    if let Ok(req) = ApiRequest::from_target(Method::Get, "/capabilities", headers, Vec::new()) {
        if check_request(&req, &limits).is_ok() {
            assert!(req.headers.len() as u64 <= limits.max_headers);
        }
    }

    if let Ok(subs) = parse_sub_requests(data, limits.max_sub_requests) {
        assert!(subs.len() as u64 <= limits.max_sub_requests);
    }

    if let Ok(message) = parse_message_input(data, &limits) {
        assert!(message.data.len() as u64 <= limits.max_message_bytes);
        assert!(message.files.len() as u64 <= limits.max_files_per_message);
    }
});
