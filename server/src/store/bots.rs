//! Bots: Session identities the operator registers, the ids each can sign with on this
//! server, and the rooms each serves. Adding a bot to a room or taking it away bumps the
//! room's `info_updates` in the same transaction, since room details list its bots.

use super::sequence::bump_info_updates;
use super::{Store, StoreError, StoreResult, with_pool, write_tx};

/// A registered bot with the tokens of its rooms (sorted).
#[derive(Debug, Clone, PartialEq)]
pub struct Bot {
    pub id: i64,
    pub name: String,
    /// The bot's 05 Account ID.
    pub session_id: String,
    pub created: f64,
    /// Whether it moderates its rooms.
    pub moderator: bool,
    pub rooms: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct BotRow {
    id: i64,
    name: String,
    session_id: String,
    created: f64,
    moderator: bool,
}

/// A bot to register.
#[derive(Debug, Clone)]
pub struct NewBot<'a> {
    pub name: &'a str,
    /// The 05 id.
    pub session_id: &'a str,
    /// Every id it can sign with here (its 05 id and its blinded ids).
    pub ids: &'a [String],
    pub rooms: &'a [i64],
    pub moderator: bool,
}

/// A bot as room details show it: its name and the blinded ids it posts under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomBot {
    pub name: String,
    pub ids: Vec<String>,
}

macro_rules! bot_select {
    () => {
        "SELECT id, name, session_id, created, moderator FROM bots "
    };
}

impl Store {
    /// Registers a bot in its rooms. [`StoreError::Conflict`] if the name or the Account
    /// ID is taken.
    #[tracing::instrument(skip_all)]
    pub async fn create_bot(&self, new: &NewBot<'_>, now: f64) -> StoreResult<Bot> {
        const INSERT: &str = "INSERT INTO bots (name, session_id, created, moderator) \
             VALUES ($1, $2, $3, $4) RETURNING id";
        const INSERT_ID: &str = "INSERT INTO bot_ids (session_id, bot) VALUES ($1, $2)";
        const INSERT_ROOM: &str =
            "INSERT INTO bot_rooms (bot, room) VALUES ($1, $2) ON CONFLICT DO NOTHING";
        write_tx!(self, |tx| {
            let id = sqlx::query_scalar::<_, i64>(INSERT)
                .bind(new.name)
                .bind(new.session_id)
                .bind(now)
                .bind(new.moderator)
                .fetch_one(&mut *tx)
                .await?;
            for sid in new.ids {
                sqlx::query(INSERT_ID)
                    .bind(sid)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            for &room in new.rooms {
                bump_info_updates!(tx, room, 1_i64);
                sqlx::query(INSERT_ROOM)
                    .bind(id)
                    .bind(room)
                    .execute(&mut *tx)
                    .await?;
            }
            Ok(())
        })?;
        self.bot_by_name(new.name)
            .await?
            .ok_or(StoreError::NotFound("bot"))
    }

    /// Removes a bot; its rooms' details stop listing it.
    #[tracing::instrument(skip_all)]
    pub async fn delete_bot(&self, bot: i64) -> StoreResult<()> {
        const ROOMS: &str = "SELECT room FROM bot_rooms WHERE bot = $1";
        const DELETE: &str = "DELETE FROM bots WHERE id = $1";
        write_tx!(self, |tx| {
            let rooms = sqlx::query_scalar::<_, i64>(ROOMS)
                .bind(bot)
                .fetch_all(&mut *tx)
                .await?;
            for room in rooms {
                bump_info_updates!(tx, room, 1_i64);
            }
            let done = sqlx::query(DELETE).bind(bot).execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("bot"));
            }
            Ok(())
        })
    }

    /// Adds the bot to rooms and takes it out of others, in one transaction; rooms whose
    /// list of bots changes get an `info_updates` bump.
    #[tracing::instrument(skip_all)]
    pub async fn change_bot_rooms(&self, bot: i64, add: &[i64], remove: &[i64]) -> StoreResult<()> {
        const ADD: &str =
            "INSERT INTO bot_rooms (bot, room) VALUES ($1, $2) ON CONFLICT DO NOTHING";
        const REMOVE: &str = "DELETE FROM bot_rooms WHERE bot = $1 AND room = $2";
        write_tx!(self, |tx| {
            for (sql, rooms) in [(ADD, add), (REMOVE, remove)] {
                for &room in rooms {
                    bump_info_updates!(tx, room, 0_i64);
                    let done = sqlx::query(sql)
                        .bind(bot)
                        .bind(room)
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() > 0 {
                        bump_info_updates!(tx, room, 1_i64);
                    }
                }
            }
            Ok(())
        })
    }

    /// Records whether the bot moderates its rooms (the rights themselves are granted by
    /// the moderator action).
    pub async fn set_bot_moderator(&self, bot: i64, moderator: bool) -> StoreResult<()> {
        const SQL: &str = "UPDATE bots SET moderator = $2 WHERE id = $1";
        with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(bot)
                .bind(moderator)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Every bot, by name.
    pub async fn bots(&self) -> StoreResult<Vec<Bot>> {
        const SQL: &str = concat!(bot_select!(), "ORDER BY name");
        let rows = with_pool!(self, |pool| {
            Ok::<_, StoreError>(sqlx::query_as::<_, BotRow>(SQL).fetch_all(pool).await?)
        })?;
        let mut bots = Vec::with_capacity(rows.len());
        for row in rows {
            bots.push(self.with_rooms(row).await?);
        }
        Ok(bots)
    }

    /// The bot with this name.
    pub async fn bot_by_name(&self, name: &str) -> StoreResult<Option<Bot>> {
        const SQL: &str = concat!(bot_select!(), "WHERE name = $1");
        let row = with_pool!(self, |pool| {
            Ok::<_, StoreError>(
                sqlx::query_as::<_, BotRow>(SQL)
                    .bind(name)
                    .fetch_optional(pool)
                    .await?,
            )
        })?;
        match row {
            Some(row) => Ok(Some(self.with_rooms(row).await?)),
            None => Ok(None),
        }
    }

    async fn with_rooms(&self, row: BotRow) -> StoreResult<Bot> {
        const ROOMS: &str = "SELECT r.token FROM bot_rooms b JOIN rooms r ON r.id = b.room \
             WHERE b.bot = $1 ORDER BY r.token";
        let rooms = with_pool!(self, |pool| {
            Ok::<_, StoreError>(
                sqlx::query_scalar::<_, String>(ROOMS)
                    .bind(row.id)
                    .fetch_all(pool)
                    .await?,
            )
        })?;
        Ok(Bot {
            id: row.id,
            name: row.name,
            session_id: row.session_id,
            created: row.created,
            moderator: row.moderator,
            rooms,
        })
    }

    /// Whether the user who signs as `session_id` is a bot registered in `room`: one
    /// indexed lookup, asked once per post by the admission pipeline.
    pub async fn is_bot_in_room(&self, session_id: &str, room: i64) -> StoreResult<bool> {
        const SQL: &str = "SELECT i.bot FROM bot_ids i \
             JOIN bot_rooms r ON r.bot = i.bot AND r.room = $2 WHERE i.session_id = $1";
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar::<_, i64>(SQL)
                .bind(session_id)
                .bind(room)
                .fetch_optional(pool)
                .await?
                .is_some())
        })
    }

    /// Whether the user who signs as `session_id` is a registered bot (in any room).
    pub async fn is_bot(&self, session_id: &str) -> StoreResult<bool> {
        const SQL: &str = "SELECT bot FROM bot_ids WHERE session_id = $1";
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar::<_, i64>(SQL)
                .bind(session_id)
                .fetch_optional(pool)
                .await?
                .is_some())
        })
    }

    /// The bots of a room with the blinded ids each may post under (its 05 id left out:
    /// the room knows its members by blinded ids only), by name.
    pub async fn room_bots(&self, room: i64) -> StoreResult<Vec<RoomBot>> {
        const SQL: &str = "SELECT b.name, i.session_id FROM bot_rooms r \
             JOIN bots b ON b.id = r.bot JOIN bot_ids i ON i.bot = b.id \
             WHERE r.room = $1 AND i.session_id <> b.session_id \
             ORDER BY b.name, i.session_id";
        let rows = with_pool!(self, |pool| {
            Ok::<_, StoreError>(
                sqlx::query_as::<_, (String, String)>(SQL)
                    .bind(room)
                    .fetch_all(pool)
                    .await?,
            )
        })?;
        let mut bots: Vec<RoomBot> = Vec::new();
        for (name, id) in rows {
            match bots.last_mut() {
                Some(last) if last.name == name => last.ids.push(id),
                _ => bots.push(RoomBot {
                    name,
                    ids: vec![id],
                }),
            }
        }
        Ok(bots)
    }
}
