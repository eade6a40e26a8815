//! `sogs-admin retention ROOM …` (issue 15): how long a room keeps its messages and
//! uploads, set through the same action as the API and the `/retention` command, with the
//! server's authority. The cleanup of the running server applies it.

use std::io::Write;

use clap::Args;
use sogs::actions::Actor;
use sogs::actions::{policy, retention};
use sogs::domain::retention::Retention;

use super::{AdminError, Context, refused, say};
use crate::cli::parse_duration;

/// The room's retention, replaced as a whole by the options given; none shows it.
#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// The room's token.
    pub token: String,
    /// Delete messages posted longer ago than this (1h to 3660d).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub max_age: Option<f64>,
    /// Keep only the newest N messages.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub keep: Option<u64>,
    /// Remove the room's uploads this long after upload (1h to 3660d).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub file_expiry: Option<f64>,
    /// Let pinned messages (and their files) expire too; by default they are kept.
    #[arg(long)]
    pub expire_pinned: bool,
    /// Turn retention off: keep everything.
    #[arg(long, conflicts_with_all = ["max_age", "keep", "file_expiry", "expire_pinned"])]
    pub off: bool,
}

impl RetentionArgs {
    /// The setting the options ask for; `None` when they only ask to see it.
    fn wanted(&self) -> Option<Retention> {
        let set = self.off
            || self.max_age.is_some()
            || self.keep.is_some()
            || self.file_expiry.is_some()
            || self.expire_pinned;
        set.then_some(Retention {
            max_age_secs: self.max_age,
            keep_last: self.keep,
            file_expiry_secs: self.file_expiry,
            keep_pinned: !self.expire_pinned,
        })
    }
}

/// Shows or sets the room's retention.
pub async fn run(
    ctx: &Context,
    args: &RetentionArgs,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let key = ctx.server_key()?;
    let svc = ctx.services(&key);
    let room = ctx.room(&args.token).await?;
    let now = match args.wanted() {
        Some(wanted) => retention::set_retention(&svc, &Actor::Server, &room, &wanted)
            .await
            .map_err(refused)?,
        None => {
            policy::room_policy(&svc, &room)
                .await
                .map_err(refused)?
                .retention
        }
    };
    say(
        out,
        format!("retention in {}: {}", args.token, now.describe()),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_env::TestEnv;
    use super::*;
    use clap::Parser;
    use sogs::store::AuditFilter;

    fn args(line: &[&str]) -> Result<RetentionArgs, clap::Error> {
        #[derive(Parser)]
        struct Line {
            #[command(flatten)]
            args: RetentionArgs,
        }
        Line::try_parse_from(std::iter::once("retention").chain(line.iter().copied()))
            .map(|l| l.args)
    }

    async fn run_text(ctx: &Context, line: &[&str]) -> Result<String, AdminError> {
        let mut out = Vec::new();
        run(ctx, &args(line).unwrap(), &mut out).await?;
        Ok(String::from_utf8(out).unwrap())
    }

    async fn retention_is_set_shown_and_audited_from_the_command_line(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        super::super::room::add(&ctx, "lobby", None, None, None, &mut Vec::new())
            .await
            .unwrap();
        let room = ctx.store.room_by_token("lobby").await.unwrap().unwrap();

        let shown = run_text(&ctx, &["lobby"]).await.unwrap();
        assert_eq!(shown.trim(), "retention in lobby: off (everything is kept)");
        let set = run_text(
            &ctx,
            &[
                "lobby",
                "--max-age",
                "30d",
                "--keep",
                "1000",
                "--file-expiry",
                "1w",
                "--expire-pinned",
            ],
        )
        .await
        .unwrap();
        assert_eq!(
            set.trim(),
            "retention in lobby: messages older than 30 days are deleted; only the newest 1000 \
             messages are kept; uploads are removed 7 days after upload; pinned messages expire \
             too"
        );
        let stored = ctx.store.room_policy(room.id).await.unwrap();
        assert_eq!(stored.retention_max_age_secs, Some(30.0 * 86_400.0));
        assert_eq!(stored.retention_keep_last, Some(1000));
        assert_eq!(stored.retention_file_expiry_secs, Some(604_800.0));
        assert!(!stored.retention_keep_pinned);
        assert!(
            run_text(&ctx, &["lobby"])
                .await
                .unwrap()
                .contains("only the newest 1000")
        );

        let off = run_text(&ctx, &["lobby", "--off"]).await.unwrap();
        assert!(off.contains("off (everything is kept)"), "{off}");
        let stored = ctx.store.room_policy(room.id).await.unwrap();
        assert_eq!(stored.retention_keep_last, None);
        assert!(stored.retention_keep_pinned);

        let log = ctx
            .store
            .audit_log(&AuditFilter {
                action: Some("retention".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(log.len(), 2);
        assert!(
            log.iter()
                .all(|e| e.details.as_ref().unwrap()["door"] == "admin")
        );
    }

    async fn bad_retention_input_is_a_usage_error_and_changes_nothing(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        super::super::room::add(&ctx, "lobby", None, None, None, &mut Vec::new())
            .await
            .unwrap();
        let room = ctx.store.room_by_token("lobby").await.unwrap().unwrap();
        for line in [
            &["lobby", "--max-age", "10m"][..],
            &["lobby", "--file-expiry", "20000d"],
        ] {
            let refused = run_text(&ctx, line).await.unwrap_err();
            assert!(
                matches!(refused, AdminError::Usage(_)),
                "{line:?}: {refused}"
            );
            assert!(
                refused
                    .to_string()
                    .contains("between an hour and ten years")
            );
        }
        let refused = run_text(&ctx, &["nowhere", "--keep", "5"])
            .await
            .unwrap_err();
        assert!(matches!(refused, AdminError::Usage(_)), "{refused}");
        // Malformed flags never reach the database.
        for line in [
            &["lobby", "--keep", "0"][..],
            &["lobby", "--keep", "-3"],
            &["lobby", "--keep", "many"],
            &["lobby", "--max-age", "30 days"],
            &["lobby", "--off", "--keep", "5"],
            &["lobby", "--forever"],
        ] {
            assert!(args(line).is_err(), "{line:?}");
        }
        assert_eq!(
            ctx.store.room_policy(room.id).await.unwrap(),
            sogs::store::StoredRoomPolicy::default()
        );
    }

    #[tokio::test]
    async fn retention_on_sqlite() {
        retention_is_set_shown_and_audited_from_the_command_line(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn retention_on_postgres() {
        retention_is_set_shown_and_audited_from_the_command_line(TestEnv::postgres().await).await;
    }

    #[tokio::test]
    async fn bad_retention_input_on_sqlite() {
        bad_retention_input_is_a_usage_error_and_changes_nothing(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn bad_retention_input_on_postgres() {
        bad_retention_input_is_a_usage_error_and_changes_nothing(TestEnv::postgres().await).await;
    }
}
