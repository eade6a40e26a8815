//! A bot for a Session community: it welcomes each new poster once ("welcome, NAME") and
//! answers `!ping` and `!help`. It uses nothing but the ordinary signed SOGS API through
//! the project's client (`sogs::client`), so its messages are real Session messages that
//! unmodified clients show, from the bot's display name.
//!
//! Register it first (this makes an identity and prints its seed, which the server does
//! not keep):
//!
//! ```sh
//! sogs-admin bot add greeter --room lobby        # prints "seed: 64 hex digits"
//! echo SEED_HEX > greeter.seed
//! cargo run --example greeter_bot -- --url http://127.0.0.1:8080 \
//!     --server-key "$(sogs-admin key show --json | jq -r .public_key)" \
//!     --room lobby --seed-file greeter.seed
//! ```
//!
//! It polls the room like a Session client (`messages/since`), starting at the newest
//! message when it starts, so it does not greet the room's whole history. It prints
//! `greeter_bot: polling ROOM as ID from seqno N` once it is listening, then one line per
//! message it sends. Registered as a bot it is spared rate limits, slow mode, probation
//! and new-user lockdowns in its rooms; unregistered it works too, as an ordinary user.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::Value;
use sogs::client::{SogsClient, message_text};
use sogs::crypto::keys::ServerPublicKey;

#[derive(Debug, Parser)]
#[command(about = "A Session community bot that greets new posters and answers !ping and !help")]
struct Args {
    /// The server's base URL.
    #[arg(long)]
    url: String,
    /// The server's public key (64 hex digits, as in the room's join URL).
    #[arg(long)]
    server_key: ServerPublicKey,
    /// The room to serve.
    #[arg(long)]
    room: String,
    /// A file holding the bot's Ed25519 seed in hex (what `sogs-admin bot add` prints).
    #[arg(long)]
    seed_file: PathBuf,
    /// The display name Session clients show for its messages.
    #[arg(long, default_value = "Greeter")]
    name: String,
    /// Milliseconds between polls.
    #[arg(long, default_value_t = 2000)]
    interval_ms: u64,
}

/// What the bot says to a message, if anything: a greeting for a first-time poster and an
/// answer to a command.
fn replies(text: &str, display_name: Option<&str>, first_post: bool) -> Vec<String> {
    let mut out = Vec::new();
    if first_post {
        out.push(format!("welcome, {}", display_name.unwrap_or("newcomer")));
    }
    match text.split_whitespace().next() {
        Some("!ping") => out.push("pong".to_string()),
        Some("!help") => out.push("I greet newcomers. Commands: !ping, !help".to_string()),
        _ => {}
    }
    out
}

fn read_seed(path: &Path) -> anyhow::Result<[u8; 32]> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the seed file {}", path.display()))?;
    let bytes = hex::decode(text.trim()).context("the seed file must hold hex digits")?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| anyhow::anyhow!("the seed must be 32 bytes, got {}", b.len()))
}

/// Where the room is now: its newest seqno and newest message id, so the bot starts from
/// now and answers only messages newer than any it has seen (an edit of an older message
/// comes back through `since` with its old id).
async fn room_now(bot: &SogsClient, room: &str) -> anyhow::Result<(i64, i64)> {
    let res = bot.get(&format!("/room/{room}")).await?;
    if res.status != 200 {
        bail!(
            "cannot read room {room}: HTTP {} {}",
            res.status,
            res.text()
        );
    }
    let seqno = res.json()["message_sequence"]
        .as_i64()
        .context("the room has no message_sequence")?;
    let recent = bot
        .get(&format!("/room/{room}/messages/recent?limit=1"))
        .await?;
    let newest = recent.json()[0]["id"].as_i64().unwrap_or(0);
    Ok((seqno, newest))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let seed = read_seed(&args.seed_file)?;
    let bot = SogsClient::new(&args.url, args.server_key).with_user_seed(seed);
    let me = bot.id();
    let (mut seqno, mut newest) = room_now(&bot, &args.room).await?;
    let mut greeted: HashSet<String> = HashSet::new();
    println!(
        "greeter_bot: polling {} as {me} from seqno {seqno}",
        args.room
    );
    loop {
        let res = bot
            .get(&format!("/room/{}/messages/since/{seqno}", args.room))
            .await;
        match res {
            Ok(res) if res.status == 200 => {
                let listed = res.json();
                for message in listed.as_array().map(Vec::as_slice).unwrap_or_default() {
                    seqno = seqno.max(message["seqno"].as_i64().unwrap_or(seqno));
                    let id = message["id"].as_i64().unwrap_or(0);
                    if id <= newest {
                        // An edit, deletion or reaction on a message already seen.
                        continue;
                    }
                    newest = id;
                    let sender = message["session_id"].as_str().unwrap_or_default();
                    if sender == me || message.get("whisper").and_then(Value::as_bool) == Some(true)
                    {
                        continue;
                    }
                    let Some(text) = message_text(message) else {
                        continue;
                    };
                    let first = greeted.insert(sender.to_string());
                    let body = text.body.unwrap_or_default();
                    for reply in replies(&body, text.display_name.as_deref(), first) {
                        let sent = bot
                            .post_json(
                                &format!("/room/{}/message", args.room),
                                &bot.text_message_json(&reply, &args.name),
                            )
                            .await?;
                        if sent.status == 201 {
                            println!("greeter_bot: said {reply:?}");
                        } else {
                            eprintln!("greeter_bot: HTTP {} {}", sent.status, sent.text());
                        }
                    }
                }
            }
            Ok(res) => eprintln!("greeter_bot: poll answered HTTP {}", res.status),
            Err(e) => eprintln!("greeter_bot: poll failed: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
}
