//! Invite links for private rooms: creating, listing, revoking, and redeeming one, which
//! grants its permissions and counts the use in one transaction.

use super::permissions::{
    DELETE_EMPTY_OVERRIDE, ENSURE_OVERRIDE, UPDATE_PERMISSIONS, apply_permission_change,
};
use super::webhooks::permissions_event;
use super::{PermissionChange, Store, StoreError, StoreResult, with_pool, write_tx};

/// An invite, with its room's token.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Invite {
    pub id: i64,
    pub room: i64,
    pub room_token: String,
    pub code: String,
    pub created_by: String,
    pub created: f64,
    pub expires: Option<f64>,
    pub max_uses: Option<i64>,
    pub uses: i64,
    pub grant_read: bool,
    pub grant_write: bool,
    pub grant_upload: bool,
    pub revoked: Option<f64>,
}

/// A new invite's settings.
#[derive(Debug, Clone)]
pub struct NewInvite<'a> {
    pub room: i64,
    pub code: &'a str,
    pub created_by: &'a str,
    pub expires: Option<f64>,
    pub max_uses: Option<i64>,
    pub read: bool,
    pub write: bool,
    pub upload: bool,
}

/// One redemption.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Redemption {
    pub session_id: String,
    pub at: f64,
}

macro_rules! invite_select {
    () => {
        "SELECT i.id, i.room, r.token AS room_token, i.code, i.created_by, i.created, \
         i.expires, i.max_uses, i.uses, i.grant_read, i.grant_write, i.grant_upload, i.revoked \
         FROM room_invites i JOIN rooms r ON r.id = i.room "
    };
}

impl Store {
    #[tracing::instrument(skip_all, fields(room = new.room))]
    pub async fn create_invite(&self, new: &NewInvite<'_>, now: f64) -> StoreResult<Invite> {
        const SQL: &str = "INSERT INTO room_invites (room, code, created_by, created, expires, \
             max_uses, grant_read, grant_write, grant_upload) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(new.room)
                .bind(new.code)
                .bind(new.created_by)
                .bind(now)
                .bind(new.expires)
                .bind(new.max_uses)
                .bind(new.read)
                .bind(new.write)
                .bind(new.upload)
                .execute(pool)
                .await?;
            Ok::<_, StoreError>(())
        })?;
        self.invite_by_code(new.code)
            .await?
            .ok_or(StoreError::NotFound("invite"))
    }

    pub async fn invite_by_code(&self, code: &str) -> StoreResult<Option<Invite>> {
        const SQL: &str = concat!(invite_select!(), "WHERE i.code = $1");
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, Invite>(SQL)
                .bind(code)
                .fetch_optional(pool)
                .await?)
        })
    }

    /// A room's invites (every room's with `None`), newest first.
    pub async fn invites(&self, room: Option<i64>) -> StoreResult<Vec<Invite>> {
        const SQL: &str = concat!(
            invite_select!(),
            "WHERE ($1 IS NULL OR i.room = $1) ORDER BY i.id DESC"
        );
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, Invite>(SQL)
                .bind(room)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Revokes an invite; [`StoreError::NotFound`] if there is none with this code.
    #[tracing::instrument(skip_all)]
    pub async fn revoke_invite(&self, code: &str, now: f64) -> StoreResult<()> {
        const SQL: &str = "UPDATE room_invites SET revoked = COALESCE(revoked, $2) WHERE code = $1";
        with_pool!(self, |pool| {
            let done = sqlx::query(SQL).bind(code).bind(now).execute(pool).await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("invite"));
            }
            Ok(())
        })
    }

    /// Redeems invite `invite` for `account` (the 05 id given), granting its permissions to
    /// each of `users` (the account's blinded users), all in one transaction. `false`, and
    /// nothing changed, if the invite could no longer be used at `now` (revoked, expired,
    /// used up meanwhile): the use is counted by a guarded UPDATE, so two people racing for
    /// the last use cannot both get it.
    #[tracing::instrument(skip_all, fields(invite = invite))]
    pub async fn redeem_invite(
        &self,
        invite: i64,
        account: &str,
        users: &[i64],
        now: f64,
    ) -> StoreResult<bool> {
        const TAKE_USE: &str = "UPDATE room_invites SET uses = uses + 1 WHERE id = $1 \
             AND revoked IS NULL AND (expires IS NULL OR expires > $2) \
             AND (max_uses IS NULL OR uses < max_uses) \
             RETURNING room, grant_read, grant_write, grant_upload";
        const RECORD: &str =
            "INSERT INTO room_invite_redemptions (invite, session_id, at) VALUES ($1, $2, $3)";
        write_tx!(self, |tx| {
            let Some((room, read, write, upload)) =
                sqlx::query_as::<_, (i64, bool, bool, bool)>(TAKE_USE)
                    .bind(invite)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?
            else {
                return Ok(false);
            };
            let grant = |on: bool| on.then_some(Some(true));
            let change = PermissionChange {
                read: grant(read),
                // Reading needs the room to be accessible too.
                accessible: grant(read),
                write: grant(write),
                upload: grant(upload),
                unschedule: false,
            };
            for &user in users {
                apply_permission_change!(tx, room, user, &change, now);
            }
            sqlx::query(RECORD)
                .bind(invite)
                .bind(account)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            Ok(true)
        })
    }

    /// Who redeemed an invite, oldest first.
    pub async fn invite_redemptions(&self, invite: i64) -> StoreResult<Vec<Redemption>> {
        const SQL: &str = "SELECT session_id, at FROM room_invite_redemptions \
             WHERE invite = $1 ORDER BY id";
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, Redemption>(SQL)
                .bind(invite)
                .fetch_all(pool)
                .await?)
        })
    }
}
