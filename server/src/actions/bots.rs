//! Bots (issue 15): Session identities the operator registers for some rooms. A bot posts
//! through the ordinary signed SOGS API, so any SOGS client library can run one; in its
//! rooms the admission pipeline spares it the automatic defences aimed at users (rate
//! limits, slow mode, probation, new-user lockdowns, raid and flood detection; see
//! `admission`), it may be made a moderator (through [`moderators::set_room_moderator`]),
//! and room details list it under the namespaced `"sogs-rs"` key.
//!
//! A bot is registered by its 05 Account ID; the server computes the ids it can sign with
//! here (both 15-blinded candidates and the 25-blinded id) once, as it does for invites
//! and moderators named by 05 id. The operator may instead have an identity made: its seed
//! is handed back once and never stored.
//!
//! Operator only: `sogs-admin` and global admins through the API.

use ed25519_dalek::SigningKey;
use serde_json::{Value, json};

use crate::crypto::blinding::{blind15_candidates, blind25_id};
use crate::crypto::keys::{IdPrefix, ServerPublicKey, SessionId};
use crate::domain::bot::BotName;
use crate::store::bots::{Bot, NewBot};
use crate::store::{ModeratorRole, Room, StoreError};

use super::moderators::set_room_moderator;
use super::{ActionError, Actor, Services};

/// A bot to register.
#[derive(Debug, Clone)]
pub struct Registration {
    pub name: String,
    /// Its 05 Account ID; `None`: make a new identity.
    pub session_id: Option<SessionId>,
    pub rooms: Vec<Room>,
    /// Make it a (visible) moderator of its rooms.
    pub moderator: bool,
}

/// A registered bot, with the seed of its identity when the server made one (shown once,
/// never stored: whoever runs the bot keeps it).
#[derive(Debug, Clone)]
pub struct Registered {
    pub bot: Bot,
    pub seed: Option<[u8; 32]>,
}

/// A change to a bot: rooms to add and to leave, and whether it moderates (`None`: as it
/// is).
#[derive(Debug, Clone, Default)]
pub struct BotChange {
    pub add_rooms: Vec<Room>,
    pub remove_rooms: Vec<Room>,
    pub moderator: Option<bool>,
}

/// The moderator role a bot gets: a visible moderator, never an admin.
const BOT_ROLE: ModeratorRole = ModeratorRole {
    admin: false,
    visible: true,
};

/// The 05 Account ID of the Ed25519 identity with this seed.
/// A bot as the API and `sogs-admin --json` show it.
pub fn bot_json(bot: &Bot) -> Value {
    json!({
        "name": bot.name,
        "session_id": bot.session_id,
        "rooms": bot.rooms,
        "moderator": bot.moderator,
        "created": bot.created,
    })
}

pub fn account_id(seed: &[u8; 32]) -> SessionId {
    let key = SigningKey::from_bytes(seed);
    SessionId::new(
        IdPrefix::Session,
        key.verifying_key().to_montgomery().to_bytes(),
    )
}

/// Every id the owner of `sid` can sign with on the server with key `server_pk`: the 05 id
/// itself (servers that accept unblinded ids), both 15-blinded candidates and the
/// 25-blinded id. `None` if `sid` has no Ed25519 key behind it (nobody could sign as it).
pub fn signing_ids(sid: &SessionId, server_pk: &ServerPublicKey) -> Option<Vec<String>> {
    let candidates = blind15_candidates(sid, server_pk).ok()?;
    let blind25 = blind25_id(sid, server_pk).ok()?;
    let mut ids = vec![sid.to_string()];
    ids.extend(candidates.both().iter().map(ToString::to_string));
    ids.push(blind25.to_string());
    Some(ids)
}

fn require_operator(actor: &Actor) -> Result<(), ActionError> {
    match actor {
        Actor::Server => Ok(()),
        Actor::User(u) if u.admin => Ok(()),
        Actor::User(_) => Err(ActionError::forbidden(
            "Bots are managed by global admins only",
        )),
    }
}

fn bot_sid(bot: &Bot) -> Result<SessionId, ActionError> {
    bot.session_id
        .parse()
        .map_err(|_| ActionError::Invalid(format!("bot {} has no valid Account ID", bot.name)))
}

/// Registers a bot in its rooms (at least one).
pub async fn register_bot(
    svc: &Services<'_>,
    actor: &Actor,
    reg: Registration,
) -> Result<Registered, ActionError> {
    require_operator(actor)?;
    let name = BotName::parse(&reg.name).map_err(|e| ActionError::Invalid(e.to_string()))?;
    if reg.rooms.is_empty() {
        return Err(ActionError::Invalid("A bot needs at least one room".into()));
    }
    let (sid, seed) = match reg.session_id {
        Some(sid) if sid.prefix() == IdPrefix::Session => (sid, None),
        Some(_) => {
            return Err(ActionError::Invalid(
                "A bot is registered by its Account ID: 05 followed by 64 hex digits".into(),
            ));
        }
        None => {
            let mut seed = [0u8; 32];
            rand::fill(&mut seed);
            (account_id(&seed), Some(seed))
        }
    };
    let ids = signing_ids(&sid, &svc.key.public_key()).ok_or_else(|| {
        ActionError::Invalid(format!(
            "{sid} is not a Session Account ID (no key can sign as it)"
        ))
    })?;
    let mut room_ids: Vec<i64> = reg.rooms.iter().map(|r| r.id).collect();
    room_ids.dedup();
    let created = svc
        .store
        .create_bot(
            &NewBot {
                name: name.as_str(),
                session_id: &sid.to_string(),
                ids: &ids,
                rooms: &room_ids,
                moderator: reg.moderator,
            },
            svc.now,
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ActionError::Invalid(format!(
                "A bot named {name} or with Account ID {sid} is already registered"
            )),
            other => other.into(),
        })?;
    if reg.moderator {
        for room in &reg.rooms {
            set_room_moderator(svc, actor, room, &sid, Some(BOT_ROLE)).await?;
        }
    }
    svc.audit(
        actor,
        None,
        Some(&created.session_id),
        "bot_add",
        json!({ "name": created.name, "rooms": created.rooms, "moderator": created.moderator }),
    )
    .await;
    for room in &reg.rooms {
        svc.room_changed(room).await;
    }
    Ok(Registered { bot: created, seed })
}

async fn find(svc: &Services<'_>, name: &str) -> Result<Bot, ActionError> {
    svc.store
        .bot_by_name(name)
        .await?
        .ok_or_else(|| ActionError::NotFound(format!("no bot named {name:?}")))
}

async fn rooms_of(svc: &Services<'_>, bot: &Bot) -> Result<Vec<Room>, ActionError> {
    let mut rooms = Vec::with_capacity(bot.rooms.len());
    for token in &bot.rooms {
        if let Some(room) = svc.store.room_by_token(token).await? {
            rooms.push(room);
        }
    }
    Ok(rooms)
}

/// Removes a bot: it is an ordinary user again (its moderator rights from the
/// registration taken away).
pub async fn remove_bot(svc: &Services<'_>, actor: &Actor, name: &str) -> Result<Bot, ActionError> {
    require_operator(actor)?;
    let bot = find(svc, name).await?;
    let rooms = rooms_of(svc, &bot).await?;
    if bot.moderator {
        let sid = bot_sid(&bot)?;
        for room in &rooms {
            set_room_moderator(svc, actor, room, &sid, None).await?;
        }
    }
    svc.store.delete_bot(bot.id).await?;
    svc.audit(
        actor,
        None,
        Some(&bot.session_id),
        "bot_remove",
        json!({ "name": bot.name, "rooms": bot.rooms }),
    )
    .await;
    for room in &rooms {
        svc.room_changed(room).await;
    }
    Ok(bot)
}

/// Adds a bot to rooms, takes it out of others, and gives or takes its moderator rights.
pub async fn change_bot(
    svc: &Services<'_>,
    actor: &Actor,
    name: &str,
    change: &BotChange,
) -> Result<Bot, ActionError> {
    require_operator(actor)?;
    if change.add_rooms.is_empty() && change.remove_rooms.is_empty() && change.moderator.is_none() {
        return Err(ActionError::Invalid(
            "Name a room to add or remove, or the moderator setting".into(),
        ));
    }
    if let Some(room) = change
        .add_rooms
        .iter()
        .find(|a| change.remove_rooms.iter().any(|r| r.id == a.id))
    {
        return Err(ActionError::Invalid(format!(
            "Room {} is both added and removed",
            room.token
        )));
    }
    let bot = find(svc, name).await?;
    let sid = bot_sid(&bot)?;
    let was_in = |room: &Room| {
        bot.rooms
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&room.token))
    };
    let add: Vec<i64> = change.add_rooms.iter().map(|r| r.id).collect();
    let remove: Vec<i64> = change.remove_rooms.iter().map(|r| r.id).collect();
    svc.store.change_bot_rooms(bot.id, &add, &remove).await?;
    let moderator = change.moderator.unwrap_or(bot.moderator);
    if moderator != bot.moderator {
        svc.store.set_bot_moderator(bot.id, moderator).await?;
    }
    if bot.moderator {
        for room in change.remove_rooms.iter().filter(|r| was_in(r)) {
            set_room_moderator(svc, actor, room, &sid, None).await?;
        }
    }
    let after = find(svc, name).await?;
    for room in rooms_of(svc, &after).await? {
        let added = !was_in(&room);
        if moderator && (added || !bot.moderator) {
            set_room_moderator(svc, actor, &room, &sid, Some(BOT_ROLE)).await?;
        } else if !moderator && bot.moderator && !added {
            set_room_moderator(svc, actor, &room, &sid, None).await?;
        }
    }
    let tokens = |rooms: &[Room]| rooms.iter().map(|r| r.token.clone()).collect::<Vec<_>>();
    svc.audit(
        actor,
        None,
        Some(&bot.session_id),
        "bot_update",
        json!({
            "name": bot.name,
            "added": tokens(&change.add_rooms),
            "removed": tokens(&change.remove_rooms),
            "moderator": moderator,
        }),
    )
    .await;
    for room in change.add_rooms.iter().chain(&change.remove_rooms) {
        svc.room_changed(room).await;
    }
    Ok(after)
}

/// Every registered bot, by name.
pub async fn list_bots(svc: &Services<'_>, actor: &Actor) -> Result<Vec<Bot>, ActionError> {
    require_operator(actor)?;
    Ok(svc.store.bots().await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::blinding::BlindedKeyPair;
    use crate::crypto::keys::ServerKey;

    #[test]
    fn a_seed_gives_the_account_id_whose_blinded_ids_the_bot_signs_with() {
        let server = ServerKey::generate();
        let seed = [7u8; 32];
        let sid = account_id(&seed);
        assert_eq!(sid.prefix(), IdPrefix::Session);
        let ids = signing_ids(&sid, &server.public_key()).unwrap();
        assert_eq!(ids.len(), 4);
        assert_eq!(ids[0], sid.to_string());
        let key = SigningKey::from_bytes(&seed);
        let b15 = BlindedKeyPair::blind15(&key, &server.public_key()).id();
        let b25 = BlindedKeyPair::blind25(&key, &server.public_key()).id();
        assert!(ids.contains(&b15.to_string()), "{ids:?} lacks {b15}");
        assert!(ids.contains(&b25.to_string()), "{ids:?} lacks {b25}");
    }
}
