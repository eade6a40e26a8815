//! Session name (ONS) resolution: a registered name maps to a Session ID, stored encrypted
//! on the chain so that only someone who knows the name can read the ID.
//!
//! The client asks a service node (through an onion path) for the record under
//! `BLAKE2b-256(name)`; the reply holds `encrypted_value` and `nonce` (hex). The key is
//! `BLAKE2b-256(name, key = BLAKE2b-256(name))` and the cipher XChaCha20-Poly1305 without
//! associated data. Like Session clients, we ask three different nodes and accept the ID
//! only if all three agree.

use base64::Engine;
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit};
use serde_json::{Value, json};

use super::SnodeError;
use crate::crypto::hashing::{h32, keyed_hash};
use crate::crypto::keys::SessionId;

/// How many nodes must give the same answer.
pub const AGREEMENT: usize = 3;

/// Lowercases and checks a name: letters, digits, `_` and `-`, not starting or ending
/// with `-`, at most 64 characters.
pub fn normalize(name: &str) -> Result<String, SnodeError> {
    let name = name.trim().to_lowercase();
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let valid = !name.is_empty()
        && name.chars().count() <= 64
        && name.chars().all(|c| word(c) || c == '-')
        && name.chars().next().is_some_and(word)
        && name.chars().last().is_some_and(word);
    if valid {
        Ok(name)
    } else {
        Err(SnodeError::Ons(format!("`{name}` is not a valid ONS name")))
    }
}

/// `BLAKE2b-256(name)`: the lookup key.
pub fn name_hash(name: &str) -> [u8; 32] {
    h32(&[name.as_bytes()])
}

fn value_key(name: &str) -> [u8; 32] {
    keyed_hash::<32, 32>(&name_hash(name), &[name.as_bytes()])
}

/// The storage-RPC body asking a node to look `name` up (a one-request `batch` of an
/// `oxend_request` to `ons_resolve`, type 0 = Session).
pub fn request_body(name: &str) -> Value {
    let hash = base64::engine::general_purpose::STANDARD.encode(name_hash(name));
    json!({
        "method": "batch",
        "params": {"requests": [{
            "method": "oxend_request",
            "params": {"endpoint": "ons_resolve", "params": {"type": 0, "name_hash": hash}},
        }]},
    })
}

/// Reads a node's answer to [`request_body`] and decrypts the Session ID.
pub fn read_reply(name: &str, body: &Value) -> Result<SessionId, SnodeError> {
    let bad = |why: &str| SnodeError::Ons(format!("name `{name}`: {why}"));
    let first = body
        .get("results")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .ok_or_else(|| bad("reply has no results"))?;
    if first.get("code").and_then(Value::as_u64) != Some(200) {
        return Err(bad("the node could not resolve it"));
    }
    let result = first
        .get("body")
        .and_then(|b| b.get("result"))
        .ok_or_else(|| bad("reply has no result"))?;
    let Some(encrypted) = result.get("encrypted_value").and_then(Value::as_str) else {
        return Err(bad("not registered"));
    };
    let ciphertext = hex::decode(encrypted).map_err(|_| bad("encrypted_value is not hex"))?;
    let mut nonce = [0u8; 24];
    hex::decode_to_slice(
        result
            .get("nonce")
            .and_then(Value::as_str)
            .unwrap_or_default(),
        &mut nonce,
    )
    .map_err(|_| bad("nonce is not 24 hex bytes"))?;
    let plain = XChaCha20Poly1305::new(&value_key(name).into())
        .decrypt(&nonce.into(), ciphertext.as_slice())
        .map_err(|_| bad("the record does not decrypt with this name"))?;
    SessionId::from_bytes(&plain).map_err(|_| bad("the record is not a Session ID"))
}

/// Encrypts a record as the chain stores it: `(encrypted_value hex, nonce hex)`. Used by the
/// simulated network to serve its fixed test names.
pub fn encrypt_record(name: &str, session_id: &SessionId) -> (String, String) {
    let mut nonce = [0u8; 24];
    rand::fill(&mut nonce);
    let sealed = XChaCha20Poly1305::new(&value_key(name).into())
        .encrypt(&nonce.into(), session_id.to_bytes().as_slice())
        .unwrap_or_default();
    (hex::encode(sealed), hex::encode(nonce))
}

/// Accepts an answer only when every node gave the same one.
pub fn agree(name: &str, answers: Vec<SessionId>) -> Result<SessionId, SnodeError> {
    let mut iter = answers.into_iter();
    let first = iter
        .next()
        .ok_or_else(|| SnodeError::Ons(format!("name `{name}`: no node answered")))?;
    if iter.any(|other| other != first) {
        return Err(SnodeError::Ons(format!(
            "name `{name}`: service nodes disagree about the Session ID"
        )));
    }
    Ok(first)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SID: &str = "05bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn reply(encrypted: &str, nonce: &str) -> Value {
        json!({"results": [{"code": 200, "body": {"result": {"encrypted_value": encrypted, "nonce": nonce}}}]})
    }

    #[test]
    fn a_record_encrypted_for_a_name_decrypts_only_with_that_name() {
        let sid: SessionId = SID.parse().unwrap();
        let (value, nonce) = encrypt_record("alice", &sid);
        assert_eq!(read_reply("alice", &reply(&value, &nonce)).unwrap(), sid);
        let err = read_reply("bob", &reply(&value, &nonce)).unwrap_err();
        assert!(err.to_string().contains("does not decrypt"), "{err}");
    }

    #[test]
    fn names_are_lowercased_and_checked() {
        assert_eq!(normalize(" Alice_1 ").unwrap(), "alice_1");
        assert_eq!(normalize("a-b").unwrap(), "a-b");
        for bad in ["", "-a", "a-", "a b", "a.b", &"x".repeat(65)] {
            assert!(normalize(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_request_carries_the_base64_name_hash() {
        let body = request_body("alice");
        let hash = body["params"]["requests"][0]["params"]["params"]["name_hash"]
            .as_str()
            .unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(hash)
            .unwrap();
        assert_eq!(decoded, name_hash("alice"));
        assert_eq!(body["params"]["requests"][0]["method"], "oxend_request");
    }

    #[test]
    fn malformed_replies_are_clear_errors() {
        let sid: SessionId = SID.parse().unwrap();
        let (value, nonce) = encrypt_record("alice", &sid);
        for bad in [
            json!({}),
            json!({"results": []}),
            json!({"results": [{"code": 500}]}),
            json!({"results": [{"code": 200, "body": {}}]}),
            json!({"results": [{"code": 200, "body": {"result": {}}}]}),
            reply("zz", &nonce),
            reply(&value, "00"),
            reply(&value[..10], &nonce),
        ] {
            assert!(read_reply("alice", &bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn answers_must_all_agree() {
        let a: SessionId = SID.parse().unwrap();
        let b: SessionId = SID.replace('b', "c").parse().unwrap();
        assert_eq!(agree("x", vec![a, a, a]).unwrap(), a);
        assert!(agree("x", vec![a, b, a]).is_err());
        assert!(agree("x", vec![]).is_err());
    }
}
