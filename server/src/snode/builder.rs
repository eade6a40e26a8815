//! Builds an onion request layer by layer and opens its reply (pure: no I/O).
//!
//! The innermost layer is sealed to the destination (an HTTP server's X25519 key, or a
//! service node's). Each hop, from the last to the guard, then gets a layer sealed to its
//! own X25519 key with a fresh ephemeral key. A layer's plaintext is
//! `u32le N || N bytes (the next layer's ciphertext) || JSON` where the JSON tells the hop
//! what to do with those bytes: `destination` (the next hop's Ed25519 key) plus the next
//! layer's `ephemeral_key`/`enc_type`; or `host`/`port`/`protocol`/`target`/`method` for an
//! HTTP server; or `headers` when the hop itself is the destination. The guard receives
//! `u32le N || ciphertext || {"ephemeral_key", "enc_type"}` at `/onion_req/v2`. Only the
//! destination encrypts the reply (with its layer's key); the hops pass it back unchanged.

use serde_json::{Value, json};
use x25519_dalek::{PublicKey as X25519PublicKey, StaticSecret};

use super::SnodeError;
use super::node::ServiceNode;
use crate::crypto::keys::ServerPublicKey;
use crate::crypto::onion::{EncType, OnionFrame, OnionKey};

/// Where an onion request ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An HTTP server that the last hop POSTs to (`target` must be an `/oxen/…/lsrpc` or
    /// `/loki/…/lsrpc` path: storage servers refuse anything else).
    Server(ServerTarget),
    /// A service node's own storage RPC; the request body is a JSON-RPC call.
    Node(ServiceNode),
}

/// The HTTP server at the end of a path, and its onion key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTarget {
    /// `http` or `https`.
    pub protocol: String,
    pub host: String,
    pub port: u16,
    /// The onion endpoint, normally `/oxen/v4/lsrpc`.
    pub target: String,
    pub x25519: ServerPublicKey,
}

impl ServerTarget {
    /// The target for a server's v4 onion endpoint at `url` (`http(s)://host[:port]`).
    pub fn from_url(url: &str, x25519: ServerPublicKey) -> Result<Self, SnodeError> {
        let bad = || SnodeError::BadServerUrl(url.to_string());
        let (protocol, rest) = url.split_once("://").ok_or_else(bad)?;
        let default_port = match protocol {
            "http" => 80,
            "https" => 443,
            _ => return Err(bad()),
        };
        let authority = rest.split('/').next().unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().map_err(|_| bad())?),
            None => (authority, default_port),
        };
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Self {
            protocol: protocol.to_string(),
            host: host.to_string(),
            port,
            target: "/oxen/v4/lsrpc".to_string(),
            x25519,
        })
    }
}

/// A built request: the body to POST to the guard, and the key that opens the reply.
#[derive(Debug)]
pub struct BuiltOnion {
    pub guard_body: Vec<u8>,
    pub reply_key: OnionKey,
}

/// Where a layer's ephemeral key and nonce come from: fresh randomness normally, fixed
/// values when checking against vectors.
pub trait LayerEntropy {
    fn ephemeral_secret(&mut self) -> [u8; 32];
    /// A nonce of `len` bytes, or `None` to let the cipher draw a random one.
    fn nonce(&mut self, len: usize) -> Option<Vec<u8>>;
}

/// Fresh random keys and nonces.
pub struct Random;

impl LayerEntropy for Random {
    fn ephemeral_secret(&mut self) -> [u8; 32] {
        let mut secret = [0u8; 32];
        rand::fill(&mut secret);
        secret
    }
    fn nonce(&mut self, _len: usize) -> Option<Vec<u8>> {
        None
    }
}

/// One sealed layer.
struct Sealed {
    ciphertext: Vec<u8>,
    ephemeral_pub: [u8; 32],
    key: OnionKey,
}

fn seal(
    to: &[u8; 32],
    enc: EncType,
    plaintext: &[u8],
    entropy: &mut dyn LayerEntropy,
) -> Result<Sealed, SnodeError> {
    let secret = entropy.ephemeral_secret();
    let ephemeral_pub = X25519PublicKey::from(&StaticSecret::from(secret)).to_bytes();
    let key = OnionKey::for_client(&secret, &ServerPublicKey::from_bytes(*to), enc)?;
    let nonce_len = enc.overhead() - 16;
    let ciphertext = match entropy.nonce(nonce_len) {
        Some(nonce) => key.seal_with_nonce(&nonce, plaintext)?,
        None => key.seal(plaintext),
    };
    Ok(Sealed {
        ciphertext,
        ephemeral_pub,
        key,
    })
}

/// `u32le N || data || JSON`, the framing of every layer's plaintext.
pub fn frame(data: &[u8], info: &Value) -> Vec<u8> {
    let json = info.to_string();
    // Layers are built from HTTP-sized payloads, far below 4 GiB.
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(4 + data.len() + json.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(json.as_bytes());
    out
}

/// Splits `u32le N || data || JSON` (the inverse of [`frame`]), for the simulated hops.
pub fn unframe(plaintext: &[u8]) -> Result<(&[u8], Value), SnodeError> {
    let bad = |why: &str| SnodeError::BadLayer(why.to_string());
    let (prefix, rest) = plaintext
        .split_first_chunk::<4>()
        .ok_or_else(|| bad("shorter than its length prefix"))?;
    let len = usize::try_from(u32::from_le_bytes(*prefix)).map_err(|_| bad("length"))?;
    if len > rest.len() {
        return Err(bad("length prefix beyond the end"));
    }
    let (data, json) = rest.split_at(len);
    let info: Value = serde_json::from_slice(json).map_err(|_| bad("metadata is not JSON"))?;
    if !info.is_object() {
        return Err(bad("metadata is not a JSON object"));
    }
    Ok((data, info))
}

/// Builds the onion for `payload` over `path` (guard first) to `destination`.
///
/// For a server, `payload` is the inner request the server understands (bencoded v4); for
/// a node, the JSON-RPC body. Every layer uses `enc` and names it, so hops need no default.
pub fn build(
    path: &[ServiceNode],
    destination: &Destination,
    payload: &[u8],
    enc: EncType,
    entropy: &mut dyn LayerEntropy,
) -> Result<BuiltOnion, SnodeError> {
    let Some((last, _)) = path.split_last() else {
        return Err(SnodeError::NoPath(
            "an onion path needs at least one hop".into(),
        ));
    };
    check_distinct(path, destination)?;
    // The destination's layer.
    let (dest_plain, dest_key): (Vec<u8>, &[u8; 32]) = match destination {
        Destination::Server(server) => (payload.to_vec(), server.x25519.as_bytes()),
        Destination::Node(node) => (frame(payload, &json!({"headers": {}})), &node.x25519),
    };
    let inner = seal(dest_key, enc, &dest_plain, entropy)?;
    let reply_key = inner.key.clone();
    // What the last hop is told: POST to the server, or relay to the destination node.
    let mut info = match destination {
        Destination::Server(server) => json!({
            "host": server.host,
            "port": server.port,
            "protocol": server.protocol,
            "target": server.target,
            "method": "POST",
        }),
        Destination::Node(node) => json!({"destination": node.ed25519_hex()}),
    };
    let mut layer = inner;
    let mut to = last;
    let hops_before_last = &path[..path.len() - 1];
    for hop in std::iter::once(last).chain(hops_before_last.iter().rev()) {
        if !std::ptr::eq(hop, last) {
            info = json!({"destination": to.ed25519_hex()});
        }
        info["ephemeral_key"] = Value::String(hex::encode(layer.ephemeral_pub));
        info["enc_type"] = Value::String(enc.name().to_string());
        layer = seal(&hop.x25519, enc, &frame(&layer.ciphertext, &info), entropy)?;
        to = hop;
    }
    let guard_body = OnionFrame {
        ciphertext: &layer.ciphertext,
        ephemeral_key: layer.ephemeral_pub,
        enc_type: Some(enc),
    }
    .encode();
    Ok(BuiltOnion {
        guard_body,
        reply_key,
    })
}

/// A path never visits a node twice, nor passes through the node it is addressed to.
fn check_distinct(path: &[ServiceNode], destination: &Destination) -> Result<(), SnodeError> {
    for (i, node) in path.iter().enumerate() {
        if path[..i].iter().any(|n| n.ed25519 == node.ed25519) {
            return Err(SnodeError::NoPath(format!(
                "{node:?} appears twice in the path"
            )));
        }
        if let Destination::Node(dest) = destination
            && dest.ed25519 == node.ed25519
        {
            return Err(SnodeError::NoPath(format!(
                "{node:?} is both a hop and the destination"
            )));
        }
    }
    Ok(())
}

/// What a service node destination answered: the storage RPC's status and body.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeReply {
    pub status: u16,
    pub body: Value,
}

/// Opens a node destination's reply: base64 (sometimes inside `{"result": …}`) of the
/// sealed `{"status": N, "body": …}`, where `body` may itself be JSON text.
pub fn open_node_reply(key: &OnionKey, body: &[u8]) -> Result<NodeReply, SnodeError> {
    use base64::Engine;
    let text = std::str::from_utf8(body).map_err(|_| SnodeError::BadReply("not text".into()))?;
    let encoded = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => map
            .get("result")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_default(),
        _ => text.trim().to_string(),
    };
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| SnodeError::BadReply("not base64".into()))?;
    let plain = key.open(&sealed)?;
    let value: Value = serde_json::from_slice(&plain)
        .map_err(|_| SnodeError::BadReply("decrypted reply is not JSON".into()))?;
    let status = value
        .get("status")
        .or_else(|| value.get("status_code"))
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .ok_or_else(|| SnodeError::BadReply("reply has no status".into()))?;
    let body = match value.get("body") {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
        Some(other) => other.clone(),
        None => Value::Null,
    };
    Ok(NodeReply { status, body })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::crypto::ServerKey;
    use crate::crypto::onion::open_request;

    fn bytes32(s: &str) -> [u8; 32] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    // test-vectors.md §3b/§3c key pairs (libsession's onion request tests) and §3d frames.
    const A_3C: &str = "d2ee09e1a557a077d385fcb69a11ffb6909ecdcc8348def3e0e4172c8a1431c1";
    const B_3C: &str = "2f4d1c0d28e137777ec0a316e9f4f763e3e66662a6c51994c6315c9ef34b6deb";
    const B_3B: &str = "8fcd8ad3a15c76f76f1c56dff0c529999f8c59b4acda79e05666e54d5727dca1";
    const D_INNER: &[u8] = br#"l56:{"method":"GET","endpoint":"/capabilities","headers":{}}e"#;
    const D_XCHACHA_BODY: &str = "65000000000102030405060708090a0b0c0d0e0f1011121314151617e3e37762b01da245d2a8434e3f47b969778c78bc469fc43b1d6474302187ec42d0ce4a6ce148783728eb888a128d91a2a8885aeaf3626708642c50d9f50831875cea52fca8810fbaa8c9fc5b107b22657068656d6572616c5f6b6579223a2238313637653937363732303035633636396134383835386336393839356633393563613233353231396163336637613432313030323262316639313065363532222c22656e635f74797065223a22786368616368613230227d";

    /// Replays fixed secrets and counting nonces, in the order layers are sealed
    /// (destination first, guard last).
    struct Fixed {
        secrets: Vec<[u8; 32]>,
        next: usize,
    }

    impl LayerEntropy for Fixed {
        fn ephemeral_secret(&mut self) -> [u8; 32] {
            let s = self.secrets[self.next % self.secrets.len()];
            self.next += 1;
            s
        }
        fn nonce(&mut self, len: usize) -> Option<Vec<u8>> {
            Some((0..len).map(|i| i as u8).collect())
        }
    }

    fn hop(key: &ServerKey, n: u8) -> ServiceNode {
        ServiceNode {
            ip: format!("127.0.0.{n}"),
            port: 1000 + u16::from(n),
            ed25519: [n; 32],
            x25519: *key.public_key().as_bytes(),
        }
    }

    fn server_target(key: &ServerKey) -> ServerTarget {
        ServerTarget {
            protocol: "http".into(),
            host: "127.0.0.1".into(),
            port: 8080,
            target: "/oxen/v4/lsrpc".into(),
            x25519: key.public_key(),
        }
    }

    /// Peels one layer the way a hop does: open the frame with its key, split the plaintext.
    fn peel(key: &ServerKey, body: &[u8]) -> (Vec<u8>, Value) {
        let (plain, _) = open_request(key, body).unwrap();
        let (data, info) = unframe(&plain).unwrap();
        (data.to_vec(), info)
    }

    /// What a relay forwards: the next layer as an outer frame.
    fn forward(data: &[u8], info: &Value) -> Vec<u8> {
        let mut eph = [0u8; 32];
        hex::decode_to_slice(info["ephemeral_key"].as_str().unwrap(), &mut eph).unwrap();
        OnionFrame {
            ciphertext: data,
            ephemeral_key: eph,
            enc_type: EncType::from_name(info["enc_type"].as_str().unwrap()),
        }
        .encode()
    }

    #[test]
    fn the_destination_layer_matches_the_libsession_derived_frame() {
        // With libsession's client key `a` and the §3d nonce, the destination layer for the
        // server key `b` is byte for byte the §3d v4 frame's ciphertext.
        let server = ServerKey::from_bytes(bytes32(B_3C));
        let guard_key = ServerKey::from_bytes(bytes32(B_3B));
        let mut entropy = Fixed {
            secrets: vec![bytes32(A_3C)],
            next: 0,
        };
        let built = build(
            &[hop(&guard_key, 2)],
            &Destination::Server(server_target(&server)),
            D_INNER,
            EncType::XChaCha20Poly1305,
            &mut entropy,
        )
        .unwrap();
        let (data, info) = peel(&guard_key, &built.guard_body);
        let expected = hex::decode(D_XCHACHA_BODY).unwrap();
        let expected_frame = OnionFrame::parse(&expected).unwrap();
        assert_eq!(data, expected_frame.ciphertext);
        assert_eq!(
            info["ephemeral_key"],
            "8167e97672005c669a48858c69895f395ca235219ac3f7a4210022b1f910e652"
        );
        assert_eq!(info["host"], "127.0.0.1");
        assert_eq!(info["port"], 8080);
        assert_eq!(info["protocol"], "http");
        assert_eq!(info["target"], "/oxen/v4/lsrpc");
        assert_eq!(info["method"], "POST");
        // What the last hop posts (the whole plaintext) opens at the server to the request.
        let (posted, _) = open_request(&guard_key, &built.guard_body).unwrap();
        let (inner, key) = open_request(&server, &posted).unwrap();
        assert_eq!(inner, D_INNER);
        assert_eq!(key.as_bytes(), built.reply_key.as_bytes());
    }

    #[test]
    fn three_hops_peel_in_order_and_the_server_reply_opens_with_the_reply_key() {
        for enc in [EncType::Aes256Gcm, EncType::XChaCha20Poly1305] {
            // The hops use libsession's vector server keys and a fresh one.
            let keys = [
                ServerKey::from_bytes(bytes32(B_3B)),
                ServerKey::from_bytes(bytes32(B_3C)),
                ServerKey::generate(),
            ];
            let path: Vec<ServiceNode> = keys.iter().zip(2u8..).map(|(k, n)| hop(k, n)).collect();
            let server = ServerKey::generate();
            let built = build(
                &path,
                &Destination::Server(server_target(&server)),
                b"inner",
                enc,
                &mut Random,
            )
            .unwrap();
            let (data, info) = peel(&keys[0], &built.guard_body);
            assert_eq!(info["destination"], path[1].ed25519_hex());
            assert_eq!(info["enc_type"], enc.name());
            let (data, info) = peel(&keys[1], &forward(&data, &info));
            assert_eq!(info["destination"], path[2].ed25519_hex());
            let relay = forward(&data, &info);
            let (plain, _) = open_request(&keys[2], &relay).unwrap();
            let (_, info) = unframe(&plain).unwrap();
            assert_eq!(info["host"], "127.0.0.1");
            let (inner, server_key) = open_request(&server, &plain).unwrap();
            assert_eq!(inner, b"inner");
            let reply = server_key.seal(b"reply");
            assert_eq!(built.reply_key.open(&reply).unwrap(), b"reply");
        }
    }

    #[test]
    fn a_node_destination_gets_the_body_with_empty_headers_and_its_reply_opens() {
        use base64::Engine;
        let keys: Vec<ServerKey> = (0..4).map(|_| ServerKey::generate()).collect();
        let path: Vec<ServiceNode> = keys[..3]
            .iter()
            .zip(2u8..)
            .map(|(k, n)| hop(k, n))
            .collect();
        let dest = hop(&keys[3], 9);
        let built = build(
            &path,
            &Destination::Node(dest.clone()),
            br#"{"method":"info","params":{}}"#,
            EncType::XChaCha20Poly1305,
            &mut Random,
        )
        .unwrap();
        let (data, info) = peel(&keys[0], &built.guard_body);
        let (data, info) = peel(&keys[1], &forward(&data, &info));
        let (data, info) = peel(&keys[2], &forward(&data, &info));
        assert_eq!(info["destination"], dest.ed25519_hex());
        let (plain, dest_key) = open_request(&keys[3], &forward(&data, &info)).unwrap();
        let (body, meta) = unframe(&plain).unwrap();
        assert_eq!(body, br#"{"method":"info","params":{}}"#);
        assert_eq!(meta, json!({"headers": {}}));
        let sealed = dest_key.seal(br#"{"status":200,"body":"{\"hf\":[2,8]}"}"#);
        let encoded = base64::engine::general_purpose::STANDARD.encode(sealed);
        let reply = open_node_reply(&built.reply_key, encoded.as_bytes()).unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, json!({"hf": [2, 8]}));
        let wrapped = json!({"result": encoded}).to_string();
        assert_eq!(
            open_node_reply(&built.reply_key, wrapped.as_bytes())
                .unwrap()
                .status,
            200
        );
    }

    #[test]
    fn paths_that_repeat_a_node_or_pass_through_the_destination_are_refused() {
        let key = ServerKey::generate();
        let a = hop(&key, 2);
        let b = hop(&key, 3);
        let server = Destination::Server(server_target(&key));
        let err = build(
            &[a.clone(), b.clone(), a.clone()],
            &server,
            b"x",
            EncType::Aes256Gcm,
            &mut Random,
        )
        .unwrap_err();
        assert!(matches!(err, SnodeError::NoPath(_)), "{err}");
        let err = build(
            &[a.clone(), b.clone()],
            &Destination::Node(b.clone()),
            b"x",
            EncType::Aes256Gcm,
            &mut Random,
        )
        .unwrap_err();
        assert!(matches!(err, SnodeError::NoPath(_)), "{err}");
        assert!(build(&[], &server, b"x", EncType::Aes256Gcm, &mut Random).is_err());
    }

    #[test]
    fn malformed_layers_and_replies_are_clear_errors() {
        for bad in [
            &b""[..],
            b"\x01\x00",
            b"\x09\x00\x00\x00abc{}",
            b"\x01\x00\x00\x00xnot json",
            b"\x01\x00\x00\x00x[1]",
        ] {
            assert!(
                matches!(unframe(bad), Err(SnodeError::BadLayer(_))),
                "{bad:?}"
            );
        }
        let key = OnionKey::derive(
            &[1; 32],
            &[2; 32],
            &ServerPublicKey::from_bytes([3; 32]),
            EncType::Aes256Gcm,
        );
        for bad in [&b"\xff"[..], b"!!!", b"{\"result\": 5}", b"AAAA"] {
            assert!(open_node_reply(&key, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn server_urls_become_targets_with_default_ports() {
        let pk = ServerPublicKey::from_bytes([1; 32]);
        let t = ServerTarget::from_url("https://sogs.example", pk).unwrap();
        assert_eq!(
            (t.protocol.as_str(), t.host.as_str(), t.port),
            ("https", "sogs.example", 443)
        );
        let t = ServerTarget::from_url("http://127.0.0.1:8080/", pk).unwrap();
        assert_eq!(
            (t.protocol.as_str(), t.host.as_str(), t.port),
            ("http", "127.0.0.1", 8080)
        );
        for bad in [
            "sogs.example",
            "ftp://x",
            "http://",
            "http://h:port",
            "http://h:99999",
        ] {
            assert!(ServerTarget::from_url(bad, pk).is_err(), "{bad}");
        }
    }
}
