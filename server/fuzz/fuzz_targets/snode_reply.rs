//! What service nodes send back to the onion client: a seed's `get_n_service_nodes` list,
//! a relay layer (`u32le N || N bytes || JSON`), a destination node's sealed
//! `{"status", "body"}` (bare base64 or inside `{"result": …}`), an ONS lookup reply, a v4/v3
//! reply from a server, and a relay's `Next node not found` refusal. The fuzzed bytes are used
//! both as received and, where a reply is sealed, as the plaintext sealed with a fixed key so
//! the parsers behind the decryption are reached. Nothing may panic; listed nodes are usable;
//! the list and the framing round-trip.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use sogs::client::SogsClient;
use sogs::crypto::onion_v4::V4Response;
use sogs::crypto::{EncType, OnionKey, ServerPublicKey};
use sogs::snode::builder::{frame, open_node_reply, unframe};
use sogs::snode::client::NEXT_NODE_NOT_FOUND;
use sogs::snode::node::{parse_key, parse_list_reply};
use sogs::snode::ons;

fuzz_target!(|data: &[u8]| {
    if let Ok(nodes) = parse_list_reply(data) {
        assert!(!nodes.is_empty());
        for node in &nodes {
            let ip: std::net::Ipv4Addr = node.ip.parse().expect("a listed node has an IPv4");
            assert!(!ip.is_unspecified());
            assert_ne!(node.port, 0);
        }
        let states: Vec<Value> = nodes.iter().map(|n| n.to_json()).collect();
        let again = json!({"result": {"service_node_states": states}}).to_string();
        assert_eq!(parse_list_reply(again.as_bytes()).ok(), Some(nodes));
    }

    if let Ok((inner, info)) = unframe(data) {
        let framed = frame(inner, &info);
        let (inner_again, info_again) = unframe(&framed).expect("a framed layer unframes");
        assert_eq!(inner_again, inner);
        // Keys, not values: serde_json's default float parsing is not exact, so a number
        // may move by one unit in the last place through text.
        let keys = |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
        assert_eq!(keys(&info_again), keys(&info));
    }

    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        let _ = ons::read_reply("alice", &value);
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Some(missing) = text.strip_prefix(NEXT_NODE_NOT_FOUND)
    {
        let _ = parse_key(&Value::String(missing.trim().into()));
    }

    for enc_type in [EncType::Aes256Gcm, EncType::XChaCha20Poly1305] {
        let key = OnionKey::derive(
            &[1; 32],
            &[2; 32],
            &ServerPublicKey::from_bytes([3; 32]),
            enc_type,
        );
        let _ = open_node_reply(&key, data);
        let _ = SogsClient::open_v4_reply(&key, data);
        let _ = SogsClient::open_v3_reply(&key, data);

        let nonce_len = match enc_type {
            EncType::Aes256Gcm => 12,
            EncType::XChaCha20Poly1305 => 24,
        };
        let nonce = vec![9; nonce_len];
        let sealed = key.seal_with_nonce(&nonce, data).expect("the nonce fits");
        let encoded = B64.encode(&sealed);
        let bare = open_node_reply(&key, encoded.as_bytes()).ok();
        let wrapped = json!({ "result": encoded }).to_string();
        assert_eq!(open_node_reply(&key, wrapped.as_bytes()).ok(), bare);
        assert_eq!(
            SogsClient::open_v4_reply(&key, &sealed).is_ok(),
            V4Response::decode(data).is_ok()
        );
        let v3 =
            SogsClient::open_v3_reply(&key, encoded.as_bytes()).expect("a sealed v3 reply opens");
        assert!(v3.status != 200 || v3.body == data);
    }
});
