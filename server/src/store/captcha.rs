//! Greeting and captcha (issue 15): the room's settings (columns of `room_policies`) and one
//! challenge per user and room. Every change is one conditional statement, so two instances
//! handling the same user at once cannot both issue a code or both count one answer.

use super::{Store, StoreResult, with_pool, write_tx};

/// A room's captcha settings to store; `None` follows the built-in default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredCaptcha {
    pub enabled: Option<bool>,
    pub greeting: Option<String>,
    pub attempts: Option<i64>,
    pub expiry_secs: Option<f64>,
}

/// A user's challenge in a room.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CaptchaChallenge {
    pub room: i64,
    pub answer: String,
    pub issued_at: f64,
    /// Until when the code can be answered; once `locked`, until when the user waits.
    pub expires_at: f64,
    pub wrong_answers: i64,
    /// Out of tries.
    pub locked: bool,
    pub passed_at: Option<f64>,
}

/// What a wrong answer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct WrongAnswer {
    pub wrong_answers: i64,
    pub locked: bool,
}

/// The [`CaptchaChallenge`] columns.
macro_rules! challenge_columns {
    () => {
        "room, answer, issued_at, expires_at, wrong_answers, locked, passed_at"
    };
}

impl Store {
    /// Replaces the room's captcha settings.
    #[tracing::instrument(skip_all, fields(room = room))]
    pub async fn set_captcha(
        &self,
        room: i64,
        captcha: &StoredCaptcha,
        now: f64,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO room_policies (room, updated, captcha_enabled, \
             captcha_greeting, captcha_attempts, captcha_expiry_secs) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (room) DO UPDATE \
             SET captcha_enabled = excluded.captcha_enabled, \
             captcha_greeting = excluded.captcha_greeting, \
             captcha_attempts = excluded.captcha_attempts, \
             captcha_expiry_secs = excluded.captcha_expiry_secs, updated = excluded.updated";
        with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(room)
                .bind(now)
                .bind(captcha.enabled)
                .bind(captcha.greeting.as_deref())
                .bind(captcha.attempts)
                .bind(captcha.expiry_secs)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// The user's challenge in the room, if one was ever issued.
    pub async fn captcha_challenge(
        &self,
        room: i64,
        user: i64,
    ) -> StoreResult<Option<CaptchaChallenge>> {
        const SQL: &str = concat!(
            "SELECT ",
            challenge_columns!(),
            " FROM captcha_challenges WHERE room = $1 AND user_id = $2"
        );
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, CaptchaChallenge>(SQL)
                .bind(room)
                .bind(user)
                .fetch_optional(pool)
                .await?)
        })
    }

    /// Issues `answer` to the user unless they passed, or hold a challenge that has not
    /// expired (an open one, or a lock that has not ended). `true` if this call issued it.
    #[tracing::instrument(skip_all, fields(room = room, user = user))]
    pub async fn issue_captcha(
        &self,
        room: i64,
        user: i64,
        answer: &str,
        now: f64,
        expires_at: f64,
    ) -> StoreResult<bool> {
        const SQL: &str = "INSERT INTO captcha_challenges \
             (room, user_id, answer, issued_at, expires_at, wrong_answers, locked) \
             VALUES ($1, $2, $3, $4, $5, 0, FALSE) ON CONFLICT (room, user_id) DO UPDATE \
             SET answer = excluded.answer, issued_at = excluded.issued_at, \
             expires_at = excluded.expires_at, wrong_answers = 0, locked = FALSE \
             WHERE captcha_challenges.passed_at IS NULL \
             AND captcha_challenges.expires_at <= excluded.issued_at \
             RETURNING room";
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar::<_, i64>(SQL)
                .bind(room)
                .bind(user)
                .bind(answer)
                .bind(now)
                .bind(expires_at)
                .fetch_optional(pool)
                .await?
                .is_some())
        })
    }

    /// The user's challenges not yet passed (open, expired or locked), oldest first.
    pub async fn unpassed_captchas(&self, user: i64) -> StoreResult<Vec<CaptchaChallenge>> {
        const SQL: &str = concat!(
            "SELECT ",
            challenge_columns!(),
            " FROM captcha_challenges WHERE user_id = $1 AND passed_at IS NULL \
             ORDER BY issued_at"
        );
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, CaptchaChallenge>(SQL)
                .bind(user)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Marks the open challenge passed and ends the user's probation in the room, in one
    /// transaction. `false` if it was not open (passed, expired or locked meanwhile).
    #[tracing::instrument(skip_all, fields(room = room, user = user))]
    pub async fn pass_captcha(&self, room: i64, user: i64, now: f64) -> StoreResult<bool> {
        const PASS: &str = "UPDATE captcha_challenges SET passed_at = $3 \
             WHERE room = $1 AND user_id = $2 AND passed_at IS NULL AND NOT locked \
             AND expires_at > $3";
        const LIFT: &str = "INSERT INTO room_user_restrictions (room, user_id, probation_lifted) \
             VALUES ($1, $2, TRUE) ON CONFLICT (room, user_id) DO UPDATE \
             SET probation_lifted = TRUE";
        write_tx!(self, |tx| {
            let passed = sqlx::query(PASS)
                .bind(room)
                .bind(user)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0;
            if passed {
                sqlx::query(LIFT)
                    .bind(room)
                    .bind(user)
                    .execute(&mut *tx)
                    .await?;
            }
            Ok(passed)
        })
    }

    /// Counts a wrong answer to the open challenge; at `max` wrong answers it locks until
    /// `locked_until`. `None` if it was not open.
    #[tracing::instrument(skip_all, fields(room = room, user = user))]
    pub async fn wrong_captcha_answer(
        &self,
        room: i64,
        user: i64,
        max: i64,
        now: f64,
        locked_until: f64,
    ) -> StoreResult<Option<WrongAnswer>> {
        const SQL: &str = "UPDATE captcha_challenges SET wrong_answers = wrong_answers + 1, \
             locked = (wrong_answers + 1 >= $3), \
             expires_at = CASE WHEN wrong_answers + 1 >= $3 THEN $5 ELSE expires_at END \
             WHERE room = $1 AND user_id = $2 AND passed_at IS NULL AND NOT locked \
             AND expires_at > $4 RETURNING wrong_answers, locked";
        with_pool!(self, |pool| {
            Ok(sqlx::query_as::<_, WrongAnswer>(SQL)
                .bind(room)
                .bind(user)
                .bind(max)
                .bind(now)
                .bind(locked_until)
                .fetch_optional(pool)
                .await?)
        })
    }
}
