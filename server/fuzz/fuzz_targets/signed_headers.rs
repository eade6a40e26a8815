//! The `X-SOGS-*` authentication headers every signed request carries (plain, onion inner or
//! batch sub-request): hex or base64 keys, nonces and signatures, and Python-style integer
//! timestamps, parsed under both key policies, then the timestamp window and the signature
//! check. Nothing may panic; a parse that succeeds had all four headers.
//!
//! Then the same bytes as a request (method, target with query, body) signed by fixed
//! unblinded, 15- and 25-blinded users, its headers carried in a header map under their
//! `X-SOGS-*` names and read back by lower-case name as the server does: the signature
//! verifies, and fails once the body, the query or the server key differs.
#![no_main]

use std::sync::LazyLock;

use ed25519_dalek::SigningKey;
use libfuzzer_sys::fuzz_target;
use sogs::api::request::Headers;
use sogs::crypto::request_signature::{
    AuthPolicy, RawAuthHeaders, RequestSigner, SignedHeaders, SignedRequest, split_target,
};
use sogs::crypto::{BlindedKeyPair, ServerKey, ServerPublicKey};

static SERVER_PK: LazyLock<ServerPublicKey> =
    LazyLock::new(|| ServerKey::from_bytes([7u8; 32]).public_key());

/// Blinding costs scalar multiplications: done once.
static SIGNERS: LazyLock<[RequestSigner; 3]> = LazyLock::new(|| {
    let identity = SigningKey::from_bytes(&[5u8; 32]);
    [
        RequestSigner::Unblinded(identity.clone()),
        RequestSigner::Blinded(BlindedKeyPair::blind15(&identity, &SERVER_PK)),
        RequestSigner::Blinded(BlindedKeyPair::blind25(&identity, &SERVER_PK)),
    ]
});

const OPEN: AuthPolicy = AuthPolicy {
    require_blind_keys: false,
    accept_blind25: true,
};

fuzz_target!(|data: &[u8]| {
    parse_raw(data);
    sign_and_verify(data);
});

fn parse_raw(data: &[u8]) {
    // Up to four values separated by newlines; a missing one is an absent header.
    let mut parts = data.splitn(4, |&b| b == b'\n');
    let raw = RawAuthHeaders {
        pubkey: parts.next(),
        nonce: parts.next(),
        timestamp: parts.next(),
        signature: parts.next(),
    };
    for require_blind_keys in [false, true] {
        let policy = AuthPolicy {
            require_blind_keys,
            accept_blind25: true,
        };
        if let Ok(Some(signed)) = SignedHeaders::parse(&raw, &policy) {
            assert!(raw.signature.is_some_and(|s| !s.is_empty()));
            let _ = signed.check_timestamp(1_800_000_000.0);
            let _ = signed.verify(
                &SERVER_PK,
                &SignedRequest {
                    method: "GET",
                    path: "/capabilities",
                    query: "",
                    body: data,
                },
            );
        }
    }
}

fn sign_and_verify(data: &[u8]) {
    let [choice, rest @ ..] = data else { return };
    let method = ["GET", "POST", "PUT", "DELETE"][usize::from(choice % 4)];
    let signer = &SIGNERS[usize::from(choice / 4 % 3)];
    let text = String::from_utf8_lossy(rest);
    let (target, body) = text.split_once('\n').unwrap_or((&text, ""));
    let target = format!("/{target}");
    let (path, query) = split_target(&target);
    let request = SignedRequest {
        method,
        path: &path,
        query,
        body: body.as_bytes(),
    };
    let timestamp = 1_700_000_000 + i64::from(*choice);
    let values = signer.sign_request_with(&SERVER_PK, [*choice; 16], timestamp, &request);

    let mut headers = Headers::new();
    for (name, value) in values.pairs() {
        headers.set(name, value);
    }
    let header = |name: &str| headers.get(name).map(str::as_bytes);
    let raw = RawAuthHeaders {
        pubkey: header("x-sogs-pubkey"),
        nonce: header("x-sogs-nonce"),
        timestamp: header("x-sogs-timestamp"),
        signature: header("x-sogs-signature"),
    };
    assert_eq!(raw, values.as_raw());
    let signed = SignedHeaders::parse(&raw, &OPEN)
        .expect("signed headers parse")
        .expect("signed headers are not anonymous");
    assert_eq!(signed.session_id(), &signer.session_id());
    assert_eq!(signed.timestamp(), timestamp);
    signed
        .check_timestamp(timestamp as f64)
        .expect("the signing time is in the window");
    signed
        .verify(&SERVER_PK, &request)
        .expect("the signature verifies");

    let mut longer_body = body.as_bytes().to_vec();
    longer_body.push(b'x');
    let other_query = format!("{query}&x");
    for changed in [
        SignedRequest {
            body: &longer_body,
            ..request
        },
        SignedRequest {
            query: &other_query,
            ..request
        },
    ] {
        assert!(signed.verify(&SERVER_PK, &changed).is_err(), "{changed:?}");
    }
    let other_server = ServerKey::from_bytes([8u8; 32]).public_key();
    assert!(signed.verify(&other_server, &request).is_err());
}
