//! Reading an account's own messages from the service-node network, as a Session app polls
//! its inbox (pure: request bodies and reply parsing; `client.rs` sends them).
//!
//! - The messages for an account live on its *swarm*, a few nodes that any node names:
//!   storage RPC `get_swarm {pubkey}` answers `{"snodes": [{ip, port_https, pubkey_ed25519,
//!   pubkey_x25519, …}]}` (nodes not serving say `0.0.0.0`; the apps skip them).
//! - A swarm node hands the messages out to the account holder only: `retrieve {pubkey,
//!   pubkey_ed25519, namespace: 0, last_hash, timestamp, signature}`, where the signature is
//!   Ed25519 over `"retrieve" || timestamp` (the namespace is written between them when it is
//!   not 0) and `timestamp` is milliseconds, close to the node's clock. The answer is
//!   `{"messages": [{hash, data (base64), timestamp, expiration}], "more": bool}`, oldest
//!   first, after the message `last_hash` names.
//! - Like the apps, we send both as one-request `batch` calls; each result is `{code, body}`,
//!   and code 421 means the node is no longer in the account's swarm.

use base64::Engine;
use serde_json::{Value, json};

use super::SnodeError;
use super::node::ServiceNode;
use crate::crypto::server_identity::ServerIdentity;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// One stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmMessage {
    /// The swarm's name for it: what `last_hash` takes, and what we de-duplicate by.
    pub hash: String,
    /// The stored bytes (a wrapped envelope, `domain::swarm_envelope`).
    pub data: Vec<u8>,
}

/// A `retrieve` answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Retrieved {
    pub messages: Vec<SwarmMessage>,
    /// More messages wait after these.
    pub more: bool,
}

/// The most messages read from one reply: a bound on what a node can make us hold.
pub const MAX_MESSAGES_PER_REPLY: usize = 1_000;

fn batch(method: &str, params: Value) -> Value {
    json!({"method": "batch", "params": {"requests": [{"method": method, "params": params}]}})
}

/// Asks a node which nodes hold `pubkey`'s messages.
pub fn swarm_request_body(pubkey: &str) -> Value {
    batch("get_swarm", json!({ "pubkey": pubkey }))
}

/// Asks a swarm node for `identity`'s messages after `last_hash`, signed at `timestamp_ms`.
pub fn retrieve_request_body(
    identity: &ServerIdentity,
    last_hash: Option<&str>,
    timestamp_ms: u64,
) -> Value {
    let signature = identity.sign(format!("retrieve{timestamp_ms}").as_bytes());
    batch(
        "retrieve",
        json!({
            "pubkey": identity.session_id().to_string(),
            "pubkey_ed25519": identity.ed25519_hex(),
            "namespace": 0,
            "last_hash": last_hash.unwrap_or_default(),
            "timestamp": timestamp_ms,
            "signature": B64.encode(signature),
        }),
    )
}

/// The first result of a one-request batch, if it succeeded.
fn first_result<'a>(what: &str, status: u16, body: &'a Value) -> Result<&'a Value, SnodeError> {
    let bad = |why: String| SnodeError::BadReply(format!("{what}: {why}"));
    if status != 200 {
        return Err(bad(format!("HTTP {status}")));
    }
    let first = body
        .get("results")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .ok_or_else(|| bad("no results".into()))?;
    match first.get("code").and_then(Value::as_u64) {
        Some(200) => first.get("body").ok_or_else(|| bad("no body".into())),
        Some(421) => Err(SnodeError::NotInSwarm),
        Some(code) => Err(bad(format!(
            "code {code}: {}",
            first.get("body").unwrap_or(&Value::Null)
        ))),
        None => Err(bad("no code".into())),
    }
}

/// Reads a `get_swarm` answer: the serving nodes of the swarm (entries that do not parse are
/// skipped); an error if none is left.
pub fn read_swarm(status: u16, body: &Value) -> Result<Vec<ServiceNode>, SnodeError> {
    let result = first_result("get_swarm", status, body)?;
    let nodes: Vec<ServiceNode> = result
        .get("snodes")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(swarm_node).collect())
        .unwrap_or_default();
    if nodes.is_empty() {
        return Err(SnodeError::BadReply(
            "get_swarm: no serving node in the swarm".into(),
        ));
    }
    Ok(nodes)
}

fn swarm_node(entry: &Value) -> Option<ServiceNode> {
    let ip = entry.get("ip").and_then(Value::as_str)?;
    if ip.is_empty() || ip == "0.0.0.0" {
        return None;
    }
    let port = ["port_https", "port"]
        .iter()
        .find_map(|field| match entry.get(*field)? {
            Value::Number(n) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
            Value::String(s) => s.parse().ok(),
            _ => None,
        })?;
    let key = |field: &str| {
        let mut out = [0u8; 32];
        hex::decode_to_slice(entry.get(field)?.as_str()?, &mut out).ok()?;
        Some(out)
    };
    Some(ServiceNode {
        ip: ip.to_string(),
        port: (port != 0).then_some(port)?,
        ed25519: key("pubkey_ed25519")?,
        x25519: key("pubkey_x25519")?,
    })
}

/// Reads a `retrieve` answer. Entries without a hash or with undecodable data are skipped
/// (a node's mistake must not stop the messages after it), at most
/// [`MAX_MESSAGES_PER_REPLY`] are kept, and `more` is set when any were left over.
pub fn read_retrieved(status: u16, body: &Value) -> Result<Retrieved, SnodeError> {
    let result = first_result("retrieve", status, body)?;
    let list = result
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| SnodeError::BadReply("retrieve: no messages list".into()))?;
    let messages = list
        .iter()
        .take(MAX_MESSAGES_PER_REPLY)
        .filter_map(|m| {
            let hash = m.get("hash").and_then(Value::as_str)?;
            let data = B64.decode(m.get("data").and_then(Value::as_str)?).ok()?;
            (!hash.is_empty() && hash.len() <= 128).then(|| SwarmMessage {
                hash: hash.to_string(),
                data,
            })
        })
        .collect();
    let more = result.get("more").and_then(Value::as_bool).unwrap_or(false)
        || list.len() > MAX_MESSAGES_PER_REPLY;
    Ok(Retrieved { messages, more })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::crypto::ServerKey;
    use crate::crypto::keys::Ed25519PublicKey;

    fn ok(body: Value) -> Value {
        json!({"results": [{"code": 200, "body": body}]})
    }

    #[test]
    fn the_retrieve_request_is_signed_as_the_nodes_check_it() {
        let identity = ServerIdentity::of(&ServerKey::from_bytes([5; 32]));
        let body = retrieve_request_body(&identity, Some("abc"), 1_765_000_000_000);
        let params = &body["params"]["requests"][0]["params"];
        assert_eq!(body["params"]["requests"][0]["method"], "retrieve");
        assert_eq!(params["pubkey"], identity.session_id().to_string());
        assert_eq!(params["last_hash"], "abc");
        assert_eq!(params["namespace"], 0);
        let mut key = [0u8; 32];
        hex::decode_to_slice(params["pubkey_ed25519"].as_str().unwrap(), &mut key).unwrap();
        let key = Ed25519PublicKey::from_bytes(&key).unwrap();
        assert_eq!(key.to_x25519(), *identity.session_id().key());
        let signature: [u8; 64] = B64
            .decode(params["signature"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        assert!(key.verify(b"retrieve1765000000000", &signature));
        let first = retrieve_request_body(&identity, None, 1);
        assert_eq!(first["params"]["requests"][0]["params"]["last_hash"], "");
    }

    #[test]
    fn a_swarm_lists_its_serving_nodes() {
        let node = |ip: &str, port: Value| {
            json!({"ip": ip, "port_https": port, "pubkey_ed25519": "11".repeat(32),
                   "pubkey_x25519": "22".repeat(32)})
        };
        let body = ok(json!({"snodes": [
            node("1.2.3.4", json!(22021)),
            node("0.0.0.0", json!(22021)),
            node("5.6.7.8", json!("22100")),
            node("9.9.9.9", json!(0)),
            node("9.9.9.8", json!(70000)),
            {"ip": "1.1.1.1", "port": "443", "pubkey_ed25519": "zz", "pubkey_x25519": "22"},
            {"ip": "1.1.1.2", "port": 443, "pubkey_ed25519": "11".repeat(32),
             "pubkey_x25519": "22".repeat(32)},
        ]}));
        let nodes = read_swarm(200, &body).unwrap();
        let addresses: Vec<String> = nodes.iter().map(ServiceNode::address).collect();
        assert_eq!(addresses, ["1.2.3.4:22021", "5.6.7.8:22100", "1.1.1.2:443"]);
    }

    #[test]
    fn messages_are_read_in_order_and_broken_entries_skipped() {
        let body = ok(json!({"messages": [
            {"hash": "h1", "data": B64.encode(b"one"), "timestamp": 1, "expiration": 2},
            {"hash": "h2", "data": "not base64!"},
            {"data": B64.encode(b"no hash")},
            {"hash": "", "data": B64.encode(b"empty hash")},
            {"hash": "h3", "data": B64.encode(b"three")},
        ], "more": true}));
        let retrieved = read_retrieved(200, &body).unwrap();
        let hashes: Vec<&str> = retrieved.messages.iter().map(|m| m.hash.as_str()).collect();
        assert_eq!(hashes, ["h1", "h3"]);
        assert_eq!(retrieved.messages[1].data, b"three");
        assert!(retrieved.more);
        let many: Vec<Value> = (0..MAX_MESSAGES_PER_REPLY + 5)
            .map(|i| json!({"hash": format!("h{i}"), "data": ""}))
            .collect();
        let retrieved = read_retrieved(200, &ok(json!({"messages": many}))).unwrap();
        assert_eq!(retrieved.messages.len(), MAX_MESSAGES_PER_REPLY);
        assert!(retrieved.more);
    }

    #[test]
    fn malformed_or_refused_answers_are_clear_errors() {
        for (status, body) in [
            (500, ok(json!({"messages": []}))),
            (200, json!({})),
            (200, json!({"results": []})),
            (200, json!({"results": [{"body": {}}]})),
            (
                200,
                json!({"results": [{"code": 401, "body": "retrieve signature verification failed"}]}),
            ),
            (200, ok(json!({"messages": "nope"}))),
            (200, ok(json!({}))),
        ] {
            let err = read_retrieved(status, &body).unwrap_err();
            assert!(matches!(err, SnodeError::BadReply(_)), "{body}: {err}");
        }
        let moved = json!({"results": [{"code": 421, "body": {"snodes": []}}]});
        assert!(matches!(
            read_retrieved(200, &moved),
            Err(SnodeError::NotInSwarm)
        ));
        assert!(matches!(
            read_swarm(200, &moved),
            Err(SnodeError::NotInSwarm)
        ));
        for body in [
            ok(json!({})),
            ok(json!({"snodes": []})),
            ok(json!({"snodes": [{"ip": "0.0.0.0"}]})),
        ] {
            assert!(read_swarm(200, &body).is_err(), "{body}");
        }
    }
}
