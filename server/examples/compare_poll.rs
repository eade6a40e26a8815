//! Sends the same Session-client poll to two SOGS servers (ours and PySOGS, say) and prints
//! both answers with volatile values (ids, keys, times) masked, so the shapes can be diffed.
//!
//! Usage: `cargo run --example compare_poll -- URL_A PUBKEY_A URL_B PUBKEY_B ROOM`
//! Each server must have room ROOM. A new user posts one message to each, then a second
//! new user sends the poll batch (capabilities; pollInfo and since for ROOM; inbox; outbox).
//! Exits non-zero when the masked answers differ beyond what the README documents
//! (`scripts/pysogs-compare` runs it in CI).

use serde_json::Value;
use sogs::client::SogsClient;
use sogs::crypto::keys::ServerPublicKey;

fn mask(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let masked = match (k.as_str(), v) {
                        (
                            "session_id" | "signature" | "token" | "name" | "pinned_by",
                            Value::String(_),
                        ) => Value::String(format!("<{k}>")),
                        (
                            "created" | "posted" | "edited" | "at" | "pinned_at",
                            Value::Number(n),
                        ) => Value::String(if n.is_f64() { "<float>" } else { "<int>" }.into()),
                        _ => mask(v),
                    };
                    (k.clone(), masked)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(mask).collect()),
        other => other.clone(),
    }
}

/// Folds away the differences the README documents as intended ("Compatibility notes"):
/// `pinned_at` in whole seconds, flags as JSON booleans rather than 0/1, and this server's
/// extra `sogs-rs-moderation` capability.
fn documented(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let folded = match (k.as_str(), v) {
                        ("pinned_at", Value::String(_)) => Value::String("<time>".into()),
                        ("whisper_mods", Value::Number(n)) => Value::Bool(n.as_u64() == Some(1)),
                        ("capabilities", Value::Array(caps)) => Value::Array(
                            caps.iter()
                                .filter(|c| c.as_str() != Some("sogs-rs-moderation"))
                                .cloned()
                                .collect(),
                        ),
                        _ => documented(v),
                    };
                    (k.clone(), folded)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(documented).collect()),
        other => other.clone(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url_a, pk_a, url_b, pk_b, room] = args.as_slice() else {
        return Err("usage: compare_poll URL_A PUBKEY_A URL_B PUBKEY_B ROOM".into());
    };
    let mut answers = Vec::new();
    for (url, pk) in [(url_a, pk_a), (url_b, pk_b)] {
        let server: ServerPublicKey = pk.parse().map_err(|_| "bad public key")?;
        let poster = SogsClient::new(url, server).with_user_seed([1; 32]);
        let posted = poster
            .post_json(
                &format!("/room/{room}/message"),
                &poster.message_json(b"\x0a\x02hi\x80\x00\x00"),
            )
            .await?;
        let reader = SogsClient::new(url, server).with_user_seed([2; 32]);
        let batch = SogsClient::poll_batch(&[(room.as_str(), 0, 0)]);
        let res = reader.batch(&batch).await?;
        println!("== {url}: post {} poll {}", posted.status, res.status);
        let masked = mask(&res.json());
        println!("{}", serde_json::to_string_pretty(&masked)?);
        answers.push((posted.status, res.status, documented(&masked)));
    }
    if answers[0] != answers[1] {
        return Err("the two servers answer the poll differently (see above)".into());
    }
    println!("== the same answer from both");
    Ok(())
}
