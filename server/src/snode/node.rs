//! A service node as the seed nodes describe it, and the `get_n_service_nodes` JSON-RPC
//! exchange that lists them (request body and reply parsing, pure).

use std::fmt;

use serde_json::{Value, json};

use super::SnodeError;

/// One service node: where its storage server listens and its two public keys.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ServiceNode {
    /// Public IPv4 address (`public_ip`).
    pub ip: String,
    /// The storage server's HTTPS port (`storage_port`), where `/onion_req/v2` lives.
    pub port: u16,
    /// Identity key (`pubkey_ed25519`): how other hops name this node as a `destination`.
    pub ed25519: [u8; 32],
    /// Encryption key (`pubkey_x25519`): each onion layer for this node is sealed to it.
    pub x25519: [u8; 32],
}

impl ServiceNode {
    /// `ip:port`, for URLs and logs.
    pub fn address(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }

    /// The ed25519 key in hex, as the relay format names the next hop.
    pub fn ed25519_hex(&self) -> String {
        hex::encode(self.ed25519)
    }

    /// The node as one entry of a `service_node_states` list (the seed reply format); the
    /// simulated network serves its list in this shape.
    pub fn to_json(&self) -> Value {
        json!({
            "public_ip": self.ip,
            "storage_port": self.port,
            "pubkey_ed25519": hex::encode(self.ed25519),
            "pubkey_x25519": hex::encode(self.x25519),
        })
    }
}

impl fmt::Debug for ServiceNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The first bytes of the identity key are how Session clients shorten node names.
        write!(f, "{}@{}", &self.ed25519_hex()[..8], self.address())
    }
}

/// The JSON-RPC request a seed node answers with the node list: active nodes only, and just
/// the four fields a client needs to build paths.
pub fn list_request_body() -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": "0",
        "method": "get_n_service_nodes",
        "params": {
            "active_only": true,
            "fields": {
                "public_ip": true,
                "storage_port": true,
                "pubkey_ed25519": true,
                "pubkey_x25519": true,
            },
        },
    })
}

/// Parses a seed reply `{"result": {"service_node_states": [...]}}`.
///
/// Entries that are unusable (no IP yet, port 0, malformed keys: nodes that are registered
/// but not yet serving report `0.0.0.0`) are skipped rather than failing the whole list; a
/// reply with no usable entry at all is an error.
pub fn parse_list_reply(body: &[u8]) -> Result<Vec<ServiceNode>, SnodeError> {
    let bad = |why: &str| SnodeError::BadNodeList(why.to_string());
    let value: Value = serde_json::from_slice(body).map_err(|_| bad("reply is not JSON"))?;
    let states = value
        .get("result")
        .and_then(|r| r.get("service_node_states"))
        .and_then(Value::as_array)
        .ok_or_else(|| bad("reply has no result.service_node_states list"))?;
    let nodes: Vec<ServiceNode> = states.iter().filter_map(parse_entry).collect();
    if nodes.is_empty() {
        return Err(bad("reply lists no usable service node"));
    }
    Ok(nodes)
}

fn parse_entry(entry: &Value) -> Option<ServiceNode> {
    let ip = entry.get("public_ip")?.as_str()?;
    if ip.parse::<std::net::Ipv4Addr>().ok()?.is_unspecified() {
        return None;
    }
    let port = u16::try_from(entry.get("storage_port")?.as_u64()?).ok()?;
    if port == 0 {
        return None;
    }
    Some(ServiceNode {
        ip: ip.to_string(),
        port,
        ed25519: parse_key(entry.get("pubkey_ed25519")?)?,
        x25519: parse_key(entry.get("pubkey_x25519")?)?,
    })
}

/// 64 hex digits to 32 bytes.
pub fn parse_key(value: &Value) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(value.as_str()?, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn entry(ip: &str, port: u64) -> Value {
        json!({
            "public_ip": ip,
            "storage_port": port,
            "pubkey_ed25519": "11".repeat(32),
            "pubkey_x25519": "22".repeat(32),
        })
    }

    #[test]
    fn a_seed_reply_lists_its_usable_nodes() {
        let reply = json!({"result": {"service_node_states": [
            entry("1.2.3.4", 22021),
            entry("0.0.0.0", 22021),
            entry("5.6.7.8", 0),
            entry("not an ip", 1),
            {"public_ip": "9.9.9.9", "storage_port": 1, "pubkey_ed25519": "zz", "pubkey_x25519": "22"},
            entry("9.8.7.6", 70000),
        ]}});
        let nodes = parse_list_reply(reply.to_string().as_bytes()).unwrap();
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].ip, "1.2.3.4");
        assert_eq!(nodes[0].port, 22021);
        assert_eq!(nodes[0].ed25519, [0x11; 32]);
        assert_eq!(nodes[0].x25519, [0x22; 32]);
        assert_eq!(format!("{:?}", nodes[0]), "11111111@1.2.3.4:22021");
    }

    #[test]
    fn malformed_seed_replies_are_clear_errors() {
        for body in [
            "",
            "not json",
            "[]",
            r#"{"result": {}}"#,
            r#"{"result": {"service_node_states": {}}}"#,
            r#"{"result": {"service_node_states": []}}"#,
            r#"{"error": {"code": -32601, "message": "Method not found"}}"#,
        ] {
            let err = parse_list_reply(body.as_bytes()).unwrap_err();
            assert!(matches!(err, SnodeError::BadNodeList(_)), "{body}: {err}");
        }
    }

    #[test]
    fn a_node_round_trips_through_its_json_entry() {
        let node = ServiceNode {
            ip: "127.0.0.3".into(),
            port: 4000,
            ed25519: [7; 32],
            x25519: [8; 32],
        };
        let reply = json!({"result": {"service_node_states": [node.to_json()]}});
        assert_eq!(
            parse_list_reply(reply.to_string().as_bytes()).unwrap(),
            vec![node]
        );
    }

    #[test]
    fn the_list_request_asks_for_the_four_path_fields() {
        let body = list_request_body();
        assert_eq!(body["method"], "get_n_service_nodes");
        for field in [
            "public_ip",
            "storage_port",
            "pubkey_ed25519",
            "pubkey_x25519",
        ] {
            assert_eq!(body["params"]["fields"][field], true);
        }
    }
}
