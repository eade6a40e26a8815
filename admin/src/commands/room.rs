//! `sogs-admin room …`: rooms as the operator manages them.

use std::io::Write;

use sogs::domain::{RoomToken, join_url};
use sogs::store::{Room, StoreError};

use super::{AdminError, Context, say};

/// `room add TOKEN [--name] [--description]`: creates the room and prints its join URL.
pub async fn add(
    ctx: &Context,
    token: &str,
    name: Option<&str>,
    description: Option<&str>,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let token = RoomToken::parse(token).map_err(|e| AdminError::Usage(e.to_string()))?;
    let name = name.unwrap_or(token.as_str());
    if name.trim().is_empty() {
        return Err(AdminError::Usage("room name must not be empty".into()));
    }
    let key = ctx.server_key()?;
    let room = ctx
        .store
        .create_room(token.as_str(), name, description, ctx.clock.now())
        .await
        .map_err(|e| match e {
            StoreError::Conflict(msg) => AdminError::Usage(msg),
            other => AdminError::Failed(other.into()),
        })?;
    print_room(
        &room,
        &join_url(
            &ctx.config.server.base_url,
            &room.token,
            &key.public_key().to_hex(),
        ),
        out,
    );
    Ok(())
}

fn print_room(room: &Room, url: &str, out: &mut impl Write) {
    say(out, format!("Room {}", room.token));
    say(out, format!("  name:        {}", room.name));
    if let Some(d) = &room.description {
        say(out, format!("  description: {d}"));
    }
    let perms: String = [
        (room.default_read, 'r'),
        (room.default_write, 'w'),
        (room.default_upload, 'u'),
        (room.default_accessible, 'a'),
    ]
    .iter()
    .map(|&(on, c)| if on { c } else { '-' })
    .collect();
    say(out, format!("  permissions: {perms}"));
    say(out, format!("  join URL:    {url}"));
}

#[cfg(test)]
mod tests {
    use super::super::test_env::TestEnv;
    use super::*;

    async fn adding_a_room_stores_it_and_prints_its_join_url(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        let mut out = Vec::new();
        add(&ctx, "lobby", Some("The Lobby"), Some("Say hi"), &mut out)
            .await
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        let key = ctx.server_key().unwrap();
        assert!(
            text.contains(&format!(
                "http://sogs.test/lobby?public_key={}",
                key.public_key().to_hex()
            )),
            "{text}"
        );
        let room = ctx.store.room_by_token("LOBBY").await.unwrap().unwrap();
        assert_eq!(room.name, "The Lobby");
        assert_eq!(room.description.as_deref(), Some("Say hi"));
    }

    async fn a_duplicate_or_invalid_token_is_a_usage_error(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        add(&ctx, "lobby", None, None, &mut Vec::new())
            .await
            .unwrap();
        let dup = add(&ctx, "Lobby", None, None, &mut Vec::new())
            .await
            .unwrap_err();
        assert_eq!(dup.exit_code(), 1);
        assert!(dup.to_string().contains("already exists"), "{dup}");
        let bad = add(&ctx, "no spaces", None, None, &mut Vec::new())
            .await
            .unwrap_err();
        assert!(matches!(bad, AdminError::Usage(_)));
        let empty = add(&ctx, "x", Some(" "), None, &mut Vec::new())
            .await
            .unwrap_err();
        assert!(matches!(empty, AdminError::Usage(_)));
    }

    #[tokio::test]
    async fn room_add_on_sqlite() {
        adding_a_room_stores_it_and_prints_its_join_url(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn room_add_on_postgres() {
        adding_a_room_stores_it_and_prints_its_join_url(TestEnv::postgres().await).await;
    }

    #[tokio::test]
    async fn room_add_refuses_duplicates_and_bad_tokens_on_sqlite() {
        a_duplicate_or_invalid_token_is_a_usage_error(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn room_add_refuses_duplicates_and_bad_tokens_on_postgres() {
        a_duplicate_or_invalid_token_is_a_usage_error(TestEnv::postgres().await).await;
    }
}
