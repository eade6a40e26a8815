//! The JSON body of a message post or edit (`data`, `signature`, `whisper_to`,
//! `whisper_mods`, `files`), under small limits so the fuzzer reaches them. Nothing may panic;
//! an accepted body is within the limits; and a parsed message written back as a body
//! parses to the same message.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use sogs::api::input::{decode_base64, parse_message_input, parse_python_int};
use sogs::config::LimitsConfig;

fuzz_target!(|data: &[u8]| {
    let limits = LimitsConfig {
        max_message_bytes: 96,
        max_files_per_message: 4,
        ..LimitsConfig::default()
    };
    if let Ok(text) = std::str::from_utf8(data) {
        // The field parsers on their own: a decoded base64 re-encodes (with or without
        // padding) to something that decodes to the same bytes, and Python `int()`s never panic.
        if let Ok(bytes) = decode_base64(text) {
            assert_eq!(
                decode_base64(&STANDARD.encode(&bytes)).ok(),
                Some(bytes.clone())
            );
            assert_eq!(
                decode_base64(&STANDARD_NO_PAD.encode(&bytes)).ok(),
                Some(bytes)
            );
        }
        if let Ok(n) = parse_python_int(text) {
            assert_eq!(parse_python_int(&n.to_string()), Ok(n));
        }
    }

    let Ok(message) = parse_message_input(data, &limits) else {
        return;
    };
    assert!(message.data.len() as u64 <= limits.max_message_bytes);
    assert!(message.files.len() as u64 <= limits.max_files_per_message);
    let body = json!({
        "data": STANDARD.encode(&message.data),
        "signature": STANDARD_NO_PAD.encode(message.signature),
        "whisper_to": message.whisper_to.map(|id| id.to_string()),
        "whisper_mods": message.whisper_mods,
        "files": message.files,
    });
    let again = parse_message_input(body.to_string().as_bytes(), &limits)
        .expect("a written-back message parses");
    assert_eq!(again, message);
});
