//! Messages the server itself posts: the moderation bot's whispers to moderators (command
//! results, raid alerts) and the content filters' replies to posters.
//!
//! A bot is a user whose Ed25519 key is derived from its name and the server key, so it is
//! stable across restarts and instances and distinct per name; its messages are real
//! Session messages (protobuf, padded, signed), so unmodified clients show them.

use ed25519_dalek::Signer;

use crate::crypto::hashing::keyed_hash;
use crate::crypto::keys::ServerKey;
use crate::domain::filters::encode_message;
use crate::domain::padding::unpad;
use crate::store::{Message, NewMessage, Store, StoreResult};

/// Who sees a bot message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The room's moderators (a moderator whisper).
    Moderators,
    /// One user (a whisper to them).
    User(i64),
    /// Everyone in the room.
    Everyone,
}

/// A bot: its display name and the key-derivation context of its family.
#[derive(Debug, Clone, Copy)]
pub struct Bot<'a> {
    pub name: &'a str,
    pub family: BotFamily,
}

/// Which key derivation a bot uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotFamily {
    /// Content-filter replies, keyed as PySOGS derives them (`sogsfiltering`).
    Filtering,
    /// The moderation bot (`sogsmoderation`).
    Moderation,
}

impl<'a> Bot<'a> {
    /// The moderation bot, named by `[antiraid] bot_name`.
    pub fn moderation(name: &'a str) -> Self {
        Self {
            name,
            family: BotFamily::Moderation,
        }
    }
}

/// Posts `body` in `room` as `bot` to `audience`.
pub async fn post_as_bot(
    store: &Store,
    key: &ServerKey,
    room: i64,
    bot: Bot<'_>,
    body: &str,
    audience: Audience,
    now: f64,
) -> StoreResult<Message> {
    // Milliseconds since the epoch, as Session clients stamp messages.
    let timestamp_ms = (now * 1000.0) as u64;
    let padded = encode_message(body, timestamp_ms, bot.name);
    let parts: [&[u8]; 2] = [bot.name.as_bytes(), &key.to_bytes()];
    let seed: [u8; 32] = match bot.family {
        BotFamily::Filtering => keyed_hash(b"sogsfiltering", &parts),
        BotFamily::Moderation => keyed_hash(b"sogsmoderation", &parts),
    };
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    let signature = signing.sign(&padded).to_bytes();
    let bot_id = format!("15{}", hex::encode(signing.verifying_key().to_bytes()));
    let author = store.get_or_create_user(&bot_id, now).await?;
    store
        .post_message(
            &NewMessage {
                room,
                author: author.id,
                data: unpad(&padded),
                data_size: i64::try_from(padded.len()).unwrap_or(i64::MAX),
                signature: &signature,
                whisper_to: match audience {
                    Audience::User(id) => Some(id),
                    _ => None,
                },
                whisper_mods: audience == Audience::Moderators,
                filtered: false,
            },
            now,
        )
        .await
}

/// Whispers `body` to the moderators of `room` from the moderation bot. A failure is
/// logged, not returned: the change it reports has happened.
pub async fn tell_moderators(
    store: &Store,
    key: &ServerKey,
    bot_name: &str,
    room: i64,
    body: &str,
    now: f64,
) {
    if let Err(e) = post_as_bot(
        store,
        key,
        room,
        Bot::moderation(bot_name),
        body,
        Audience::Moderators,
        now,
    )
    .await
    {
        tracing::warn!(error = %e, room, "could not whisper to the moderators");
    }
}
