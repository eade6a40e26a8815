//! Decrypted onion plaintexts: the v4 request and reply decoders and the translation of v4
//! and v3 inner requests into route-table requests. Nothing may panic; a request that decodes
//! re-encodes to one that decodes to the same request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sogs::crypto::onion_v4::{V4Request, V4Response};

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = V4Request::decode(data) {
        let again = request.encode();
        let reparsed = V4Request::decode(&again).expect("an encoded request decodes");
        assert_eq!(reparsed.method, request.method);
        assert_eq!(reparsed.endpoint, request.endpoint);
        assert_eq!(reparsed.body, request.body);
    }
    let _ = V4Response::decode(data);
    let _ = sogs::api::onion::parse_v4(data);
    let _ = sogs::api::onion::parse_v3(data);
});
