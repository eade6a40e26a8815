//! The `X-SOGS-*` authentication headers every signed request carries (plain, onion inner or
//! batch sub-request): hex or base64 keys, nonces and signatures, and Python-style integer
//! timestamps, parsed under both key policies, then the timestamp window and the signature
//! check. Nothing may panic; a parse that succeeds had all four headers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sogs::crypto::ServerKey;
use sogs::crypto::request_signature::{AuthPolicy, RawAuthHeaders, SignedHeaders, SignedRequest};

fuzz_target!(|data: &[u8]| {
    // Up to four values separated by newlines; a missing one is an absent header.
    let mut parts = data.splitn(4, |&b| b == b'\n');
    let raw = RawAuthHeaders {
        pubkey: parts.next(),
        nonce: parts.next(),
        timestamp: parts.next(),
        signature: parts.next(),
    };
    let server_pk = ServerKey::from_bytes([7u8; 32]).public_key();
    for require_blind_keys in [false, true] {
        let policy = AuthPolicy {
            require_blind_keys,
            accept_blind25: true,
        };
        if let Ok(Some(signed)) = SignedHeaders::parse(&raw, &policy) {
            assert!(raw.signature.is_some_and(|s| !s.is_empty()));
            let _ = signed.check_timestamp(1_800_000_000.0);
            let _ = signed.verify(
                &server_pk,
                &SignedRequest {
                    method: "GET",
                    path: "/capabilities",
                    query: "",
                    body: data,
                },
            );
        }
    }
});
