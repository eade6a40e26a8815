//! The strict bencode decoder. Nothing may panic, and since strict bencode has one encoding
//! per value, whatever decodes must re-encode to exactly the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sogs::crypto::bencode;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = bencode::decode(data) {
        assert_eq!(bencode::encode(&value), data, "strict bencode is canonical");
    }
});
