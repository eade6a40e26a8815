//! Reply padding: whatever the status, headers and body, a padded v4 reply sealed with either
//! cipher fills its bucket exactly and still decodes, strictly, to the same reply.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sogs::api::onion::{Padding, encode_v4_reply};
use sogs::crypto::EncType;
use sogs::crypto::onion_v4::V4Response;

fuzz_target!(|data: &[u8]| {
    let [a, b, c, rest @ ..] = data else { return };
    let split = usize::from(*c).min(rest.len());
    let (header, body) = rest.split_at(split);
    let reply = V4Response {
        code: u16::from_le_bytes([*a, *b]) % 600,
        headers: vec![(
            "x-h".to_owned(),
            String::from_utf8_lossy(header).into_owned(),
        )],
        body: body.repeat(1 + usize::from(*a) % 64),
    };
    let padding = Padding {
        min_bytes: 256 << (usize::from(*b) % 6),
        step_bytes: 8192,
    };
    for cipher in [EncType::Aes256Gcm, EncType::XChaCha20Poly1305] {
        let plain = encode_v4_reply(&reply, Some(padding), cipher);
        let sealed = plain.len() + cipher.overhead();
        assert_eq!(sealed, padding.bucket(sealed));
        let decoded = V4Response::decode(&plain).expect("a padded reply decodes");
        assert_eq!(decoded.code, reply.code);
        assert_eq!(decoded.body, reply.body);
        assert_eq!(decoded.headers[0], reply.headers[0]);
    }
});
