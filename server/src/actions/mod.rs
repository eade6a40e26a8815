//! One path for every change: each moderation change, and posting itself, is ONE function
//! here that every door calls.
//!
//! The three doors (the signed moderator API in `api`, commands typed in a room, and
//! `sogs-admin`) only parse their input into an action's arguments and render its result;
//! none of them calls the store for a change directly. Every action:
//!
//! 1. takes the [`Actor`] (a user, whose rank is looked up per room, or the operator);
//! 2. checks authority with the rules in `domain`;
//! 3. makes the change in the store (one transaction per store call);
//! 4. records the audit entry (with the door it came through) and counts it in metrics;
//! 5. tells every instance through [`RoomEvents`] (cache invalidation over Redis, or the
//!    change marker from `sogs-admin`).
//!
//! Posting goes through [`post::post_message`], which runs the one admission pipeline
//! ([`admission`]) before the write and turns moderators' room commands into actions.

pub mod admission;
pub mod bots;
pub mod captcha;
pub mod commands;
pub mod detectors;
pub mod hash_bans;
pub mod invites;
pub mod moderation;
pub mod moderators;
pub mod notify;
pub mod policy;
pub mod post;
pub mod reports;
pub mod retention;
pub mod server_dm;
pub mod webhooks;

use futures::future::BoxFuture;
use serde_json::Value;

use crate::cluster::Cluster;
use crate::cluster::cache::Invalidation;
use crate::config::Config;
use crate::crypto::keys::ServerKey;
use crate::domain::Permissions;
use crate::metrics::Metrics;
use crate::store::{NewAuditEntry, Room, Store, StoreError, User};

/// How instances learn of a change: the server publishes cache invalidations through the
/// cluster; `sogs-admin` through Redis or the data directory's change marker.
pub trait RoomEvents: Send + Sync {
    fn changed(&self, what: Invalidation) -> BoxFuture<'_, ()>;
}

impl RoomEvents for Cluster {
    fn changed(&self, what: Invalidation) -> BoxFuture<'_, ()> {
        Box::pin(self.invalidate(what))
    }
}

/// Which door an action came through (audit details and metrics labels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// The signed moderator API.
    Api,
    /// A command typed in the room.
    Command,
    /// `sogs-admin`.
    Admin,
    /// The server itself (the raid detector).
    Automatic,
}

impl Door {
    pub fn name(self) -> &'static str {
        match self {
            Door::Api => "api",
            Door::Command => "command",
            Door::Admin => "admin",
            Door::Automatic => "automatic",
        }
    }
}

/// Who acts.
#[derive(Debug, Clone)]
pub enum Actor {
    /// The operator (`sogs-admin`) or the server itself: the server's own authority, a
    /// global admin's. Audit entries name the server's system user.
    Server,
    /// A signed-in user; their standing is looked up in each room acted on.
    User(User),
}

/// What every action needs: storage, configuration, the server key (for the moderation
/// bot's whispers and for resolving ids), the time read once, and how to tell instances.
pub struct Services<'a> {
    pub store: &'a Store,
    pub config: &'a Config,
    pub key: &'a ServerKey,
    pub now: f64,
    pub events: &'a dyn RoomEvents,
    /// `None` in `sogs-admin`, which has no metrics endpoint.
    pub metrics: Option<&'a Metrics>,
    pub door: Door,
}

/// Why an action did not happen; `api::error` maps it to a status, the room-command door
/// whispers its text, `sogs-admin` prints it.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// Bad arguments (400).
    #[error("{0}")]
    Invalid(String),
    /// Not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such thing (404).
    #[error("{0}")]
    NotFound(String),
    /// Too fast (429 with `Retry-After` when known).
    #[error("{reason}")]
    TooFast {
        reason: String,
        retry_after: Option<u64>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ActionError {
    fn forbidden(message: &str) -> Self {
        ActionError::Forbidden(message.to_string())
    }
}

/// The permissions the server's own authority has everywhere.
pub fn server_authority() -> Permissions {
    Permissions::combine(false, false, true, true, true, true, true, true, true, true)
}

impl Services<'_> {
    /// The actor's standing in `room`.
    pub async fn authority_in(
        &self,
        actor: &Actor,
        room: &Room,
    ) -> Result<Permissions, ActionError> {
        match actor {
            Actor::Server => Ok(server_authority()),
            Actor::User(user) => Ok(self
                .store
                .user_permissions(room.id, user.id)
                .await?
                .map(|p| Permissions::from(&p))
                .unwrap_or_default()),
        }
    }

    /// The actor's standing in `room` if they moderate it; 403 otherwise.
    pub async fn require_moderator(
        &self,
        actor: &Actor,
        room: &Room,
    ) -> Result<Permissions, ActionError> {
        let perms = self.authority_in(actor, room).await?;
        if !perms.moderator {
            return Err(ActionError::forbidden(
                "This needs moderator permissions in the room",
            ));
        }
        Ok(perms)
    }

    /// Whether the actor is a global moderator (or the server).
    pub fn is_global_moderator(actor: &Actor) -> bool {
        match actor {
            Actor::Server => true,
            Actor::User(u) => u.moderator || u.admin,
        }
    }

    /// The user a moderation action names, resolved as the moderation endpoints always
    /// have (a 05 id stands for its known blinded user).
    pub async fn target(&self, sid: &crate::crypto::keys::SessionId) -> Result<User, ActionError> {
        Ok(self
            .store
            .moderation_target(
                sid,
                &self.key.public_key(),
                self.config.users.require_blind_keys,
                self.now,
            )
            .await?)
    }

    /// Records an action in the audit log and counts it. The change has happened, so a
    /// failure to record it is logged rather than undoing it.
    pub async fn audit(
        &self,
        actor: &Actor,
        room: Option<&Room>,
        target: Option<&str>,
        action: &str,
        mut details: Value,
    ) {
        if let Some(obj) = details.as_object_mut() {
            obj.insert("door".into(), Value::from(self.door.name()));
        }
        let actor_id = match actor {
            Actor::Server => self.key.system_session_id().to_string(),
            Actor::User(u) => u.session_id.clone(),
        };
        let entry = NewAuditEntry {
            at: self.now,
            room: room.map(|r| r.token.clone()),
            actor: Some(actor_id),
            target: target.map(str::to_string),
            action: action.to_string(),
            details: Some(details),
        };
        if let Err(e) = self.store.record_audit(&entry).await {
            tracing::warn!(error = %e, action, "could not record a moderation action");
        }
        if let Some(metrics) = self.metrics {
            metrics.observe_moderation(action, self.door.name());
        }
    }

    /// Tells every instance that `room` changed (its row, permissions or policy).
    pub async fn room_changed(&self, room: &Room) {
        self.events
            .changed(Invalidation::Room(room.token.to_lowercase()))
            .await;
    }

    /// Tells every instance that anything may have changed (global bans, several rooms).
    pub async fn all_changed(&self) {
        self.events.changed(Invalidation::All).await;
    }
}
