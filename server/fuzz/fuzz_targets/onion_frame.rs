//! The outer onion frame: `u32le N || N bytes || JSON metadata`, then key exchange and
//! decryption with a fixed server key. Nothing may panic; a frame that parses re-encodes to
//! one that parses to the same fields.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sogs::crypto::ServerKey;
use sogs::crypto::onion::OnionFrame;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = OnionFrame::parse(data) {
        let again = frame.encode();
        let reparsed = OnionFrame::parse(&again).expect("an encoded frame parses");
        assert_eq!(reparsed.ciphertext, frame.ciphertext);
        assert_eq!(reparsed.ephemeral_key, frame.ephemeral_key);
        assert_eq!(reparsed.enc_type, frame.enc_type);
        let server = ServerKey::from_bytes([7u8; 32]);
        let _ = sogs::api::onion::open(&server, data);
    }
});
