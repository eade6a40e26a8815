//! `sogs-admin room …`: rooms as the operator manages them.

use std::io::{BufRead, Write};
use std::path::Path;

use serde_json::json;
use sogs::blobs::BlobKey;
use sogs::domain::{FileName, RoomToken, join_url};
use sogs::store::{NewFile, Room, RoomUpdate, StoreError};

use super::{AdminError, Context, confirm, failed, say};
use crate::cli::PermissionFlags;
/// [`add_room`] with the usual defaults (everyone reads, writes and uploads), as the
/// command tests create their rooms.
#[cfg(test)]
pub async fn add(
    ctx: &Context,
    token: &str,
    name: Option<&str>,
    description: Option<&str>,
    image: Option<&Path>,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let defaults = PermissionFlags::default();
    add_room(ctx, token, name, description, image, &defaults, out).await
}

/// `room add TOKEN [--name] [--description] [--image FILE] [--no-write …]`: creates the
/// room, with its default permissions if given, and prints its join URL.
pub async fn add_room(
    ctx: &Context,
    token: &str,
    name: Option<&str>,
    description: Option<&str>,
    image: Option<&Path>,
    defaults: &PermissionFlags,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    // Read the image first: a bad path should not leave a room behind without it.
    let image = image.map(|path| read_image(ctx, path)).transpose()?;
    let token = RoomToken::parse(token).map_err(|e| AdminError::Usage(e.to_string()))?;
    let name = name.unwrap_or(token.as_str());
    if name.trim().is_empty() {
        return Err(AdminError::Usage("room name must not be empty".into()));
    }
    let room = ctx
        .store
        .create_room(token.as_str(), name, description, ctx.clock.now())
        .await
        .map_err(|e| match e {
            StoreError::Conflict(msg) => AdminError::Usage(msg),
            other => AdminError::Failed(other.into()),
        })?;
    ctx.record(
        Some(&room.token),
        None,
        "create_room",
        json!({ "name": room.name, "description": room.description }),
    )
    .await?;
    let room = match image {
        Some(image) => set_image(ctx, &room, Some(image)).await?,
        None => room,
    };
    let room = if defaults.is_empty() {
        room
    } else {
        let update = RoomUpdate {
            default_read: defaults.read(),
            default_accessible: defaults.accessible(),
            default_write: defaults.write(),
            default_upload: defaults.upload(),
            ..RoomUpdate::default()
        };
        ctx.update_room(
            &room,
            &update,
            "set_default_permissions",
            json!({
                "read": update.default_read,
                "accessible": update.default_accessible,
                "write": update.default_write,
                "upload": update.default_upload,
            }),
        )
        .await?
    };
    print_room(ctx, &room, out).await
}

/// An image file read for a room: its name and bytes, within the server's upload limit.
pub struct ImageFile {
    name: Option<FileName>,
    bytes: Vec<u8>,
}

fn read_image(ctx: &Context, path: &Path) -> Result<ImageFile, AdminError> {
    let bytes = std::fs::read(path)
        .map_err(|e| AdminError::Usage(format!("cannot read {}: {e}", path.display())))?;
    let max = ctx.config.files.max_size;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max {
        return Err(AdminError::Usage(format!(
            "{} is {} bytes; the server's file limit (files.max_size) is {max}",
            path.display(),
            bytes.len()
        )));
    }
    if bytes.is_empty() {
        return Err(AdminError::Usage(format!("{} is empty", path.display())));
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(FileName::new);
    Ok(ImageFile { name, bytes })
}

/// Stores `image` as a file of the room, uploaded by the system user, and makes it the
/// room's image (or removes the image with `None`), as a moderator's upload and
/// `PUT /room` would. The image it replaces expires.
async fn set_image(
    ctx: &Context,
    room: &Room,
    image: Option<ImageFile>,
) -> Result<Room, AdminError> {
    let file_id = match image {
        Some(image) => Some(store_file(ctx, room, image).await?),
        None => None,
    };
    let update = RoomUpdate {
        image: Some(file_id),
        ..RoomUpdate::default()
    };
    let updated = ctx
        .update_room(room, &update, "set_room_image", json!({ "file": file_id }))
        .await?;
    Ok(updated)
}

async fn store_file(ctx: &Context, room: &Room, image: ImageFile) -> Result<i64, AdminError> {
    let now = ctx.clock.now();
    let system = ctx
        .store
        .ensure_system_user(&ctx.server_key()?.system_session_id().to_string(), now)
        .await
        .map_err(failed)?;
    let blobs = sogs::blobs::from_config(&ctx.config)
        .map_err(|e| AdminError::Usage(format!("file store configuration: {e}")))?;
    let new = NewFile {
        room: room.id,
        uploader: system.id,
        size: i64::try_from(image.bytes.len()).unwrap_or(i64::MAX),
        filename: image.name.as_ref().map(FileName::as_str),
        expiry: None,
    };
    let file = ctx
        .store
        .add_file(&new, |id| BlobKey::for_file(id).to_string(), now)
        .await
        .map_err(failed)?;
    if let Err(e) = blobs.put(&BlobKey::for_file(file.id), &image.bytes).await {
        let _ = ctx.store.discard_file(file.id).await;
        return Err(AdminError::Failed(anyhow::anyhow!(
            "cannot store the image: {e}"
        )));
    }
    Ok(file.id)
}

/// `room list`: every room, as `room show` prints it.
pub async fn list(ctx: &Context, out: &mut impl Write) -> Result<(), AdminError> {
    let rooms = ctx.store.list_rooms().await.map_err(failed)?;
    if ctx.json {
        let mut all = Vec::with_capacity(rooms.len());
        for room in &rooms {
            all.push(room_json(ctx, room).await?);
        }
        super::say_json(out, &serde_json::Value::Array(all));
        return Ok(());
    }
    if rooms.is_empty() {
        say(out, "no rooms");
    }
    for room in &rooms {
        print_room(ctx, room, out).await?;
    }
    Ok(())
}

/// `room show TOKEN [--qr]`.
pub async fn show(
    ctx: &Context,
    token: &str,
    qr: bool,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let room = ctx.room(token).await?;
    if ctx.json {
        super::say_json(out, &room_json(ctx, &room).await?);
        return Ok(());
    }
    print_room(ctx, &room, out).await?;
    if qr {
        let url = join_url(
            &ctx.config.server.base_url,
            &room.token,
            &ctx.server_key()?.public_key().to_hex(),
        );
        say(out, qr_code(&url)?);
    }
    Ok(())
}

/// The URL as a QR code drawn with half-block characters, two modules per character
/// cell, light on dark so it scans on the usual dark terminal.
fn qr_code(url: &str) -> Result<String, AdminError> {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::new(url.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot encode the join URL as a QR code: {e}"))?;
    Ok(code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .build())
}

/// `room update TOKEN …`: name, description (empty removes it) and default permissions.
/// `room rate-limit TOKEN (--posts N --per SECS | --clear)`: the room's own post limit.
pub async fn rate_limit(
    ctx: &Context,
    token: &str,
    limit: Option<(u32, f64)>,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let room = ctx.room(token).await?;
    ctx.store
        .set_room_post_rate_limit(room.id, limit.map(|(n, secs)| (i64::from(n), secs)))
        .await
        .map_err(failed)?;
    let (posts, per) = limit.unzip();
    ctx.record(
        Some(&room.token),
        None,
        "set_room_rate_limit",
        json!({ "posts": posts, "per": per }),
    )
    .await?;
    match limit {
        Some((n, secs)) => say(
            out,
            format!("{}: {n} posts per {secs} s per user", room.token),
        ),
        None => say(
            out,
            format!("{}: the server's post rate limit applies", room.token),
        ),
    }
    Ok(())
}

/// What `room update` changes; `None` leaves a detail as it is.
pub struct RoomChanges<'a> {
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
    /// `Some(None)`: remove the image.
    pub image: Option<Option<&'a Path>>,
    /// Show (or stop showing) recent messages on the room's web page.
    pub web_messages: Option<bool>,
    pub permissions: &'a PermissionFlags,
}

pub async fn update(
    ctx: &Context,
    token: &str,
    changes: &RoomChanges<'_>,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let RoomChanges {
        name,
        description,
        image,
        web_messages,
        permissions,
    } = *changes;
    let room = ctx.room(token).await?;
    if name.is_none()
        && description.is_none()
        && image.is_none()
        && web_messages.is_none()
        && permissions.is_empty()
    {
        return Err(AdminError::Usage(
            "nothing to change: give --name, --description, --image, --no-image, \
             --web-messages, --no-web-messages or a permission flag"
                .into(),
        ));
    }
    let image = match image {
        Some(Some(path)) => Some(Some(read_image(ctx, path)?)),
        Some(None) => Some(None),
        None => None,
    };
    let room = match image {
        Some(image) => set_image(ctx, &room, image).await?,
        None => room,
    };
    let room = match web_messages {
        Some(shown) => {
            ctx.store
                .set_room_web_messages(room.id, shown)
                .await
                .map_err(failed)?;
            ctx.record(
                Some(&room.token),
                None,
                "set_room_web_messages",
                json!({ "shown": shown }),
            )
            .await?;
            ctx.room(&room.token).await?
        }
        None => room,
    };
    if name.is_none() && description.is_none() && permissions.is_empty() {
        return print_room(ctx, &room, out).await;
    }
    if name.is_some_and(|n| n.trim().is_empty()) {
        return Err(AdminError::Usage("room name must not be empty".into()));
    }
    let update = RoomUpdate {
        name: name.map(str::to_string),
        description: description.map(|d| Some(d.to_string()).filter(|d| !d.is_empty())),
        image: None,
        default_read: permissions.read(),
        default_accessible: permissions.accessible(),
        default_write: permissions.write(),
        default_upload: permissions.upload(),
    };
    let updated = ctx
        .update_room(
            &room,
            &update,
            "update_room",
            json!({
                "name": name,
                "description": description,
                "read": update.default_read,
                "accessible": update.default_accessible,
                "write": update.default_write,
                "upload": update.default_upload,
            }),
        )
        .await?;
    print_room(ctx, &updated, out).await
}

/// `room delete TOKEN [--yes]`: asks first, since messages cannot be brought back.
pub async fn delete(
    ctx: &Context,
    token: &str,
    yes: bool,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> Result<(), AdminError> {
    let room = ctx.room(token).await?;
    let messages = ctx
        .store
        .count_room_messages(room.id)
        .await
        .map_err(failed)?;
    print_room(ctx, &room, out).await?;
    confirm(
        &format!(
            "Delete room {} ({}) and its {messages} messages?",
            room.token, room.name
        ),
        yes,
        input,
        out,
    )?;
    ctx.store.delete_room(room.id).await.map_err(failed)?;
    ctx.record(
        Some(&room.token),
        None,
        "delete_room",
        json!({ "name": room.name, "messages": messages }),
    )
    .await?;
    say(out, format!("deleted room {}", room.token));
    Ok(())
}

/// A room as `--json` shows it ([`super::json::room`]).
async fn room_json(ctx: &Context, room: &Room) -> Result<serde_json::Value, AdminError> {
    let key = ctx.server_key()?;
    let url = join_url(
        &ctx.config.server.base_url,
        &room.token,
        &key.public_key().to_hex(),
    );
    let stats = ctx
        .store
        .room_stats(room.id, ctx.clock.now())
        .await
        .map_err(failed)?;
    let moderators = ctx.store.room_moderators(room.id).await.map_err(failed)?;
    Ok(super::json::room(room, &stats, &moderators, &url))
}

/// Prints a room's details, counts, moderators and join URL.
async fn print_room(ctx: &Context, room: &Room, out: &mut impl Write) -> Result<(), AdminError> {
    let key = ctx.server_key()?;
    let url = join_url(
        &ctx.config.server.base_url,
        &room.token,
        &key.public_key().to_hex(),
    );
    let stats = ctx
        .store
        .room_stats(room.id, ctx.clock.now())
        .await
        .map_err(failed)?;
    let moderators = ctx.store.room_moderators(room.id).await.map_err(failed)?;
    say(out, format!("Room {}", room.token));
    say(out, format!("  name:         {}", room.name));
    if let Some(d) = &room.description {
        say(out, format!("  description:  {d}"));
    }
    if let Some(image) = room.image {
        say(out, format!("  image:        file {image}"));
    }
    say(out, format!("  messages:     {}", stats.messages));
    say(
        out,
        format!(
            "  files:        {} ({} bytes)",
            stats.files, stats.file_bytes
        ),
    );
    say(
        out,
        format!(
            "  active users: {} (1d) {} (7d) {} (14d) {} (30d)",
            stats.active_1d, stats.active_7d, stats.active_14d, stats.active_30d
        ),
    );
    let perms: String = [
        (room.default_read, 'r'),
        (room.default_write, 'w'),
        (room.default_upload, 'u'),
        (room.default_accessible, 'a'),
    ]
    .iter()
    .map(|&(on, c)| if on { c } else { '-' })
    .collect();
    say(out, format!("  permissions:  {perms}"));
    let web = match (room.web_messages, room.default_read) {
        (false, _) => "room page without messages",
        (true, true) => "room page shows recent messages",
        (true, false) => "messages enabled, but the room is not public: no page",
    };
    say(out, format!("  web page:     {web}"));
    if moderators.is_empty() {
        say(out, "  moderators:   none");
    } else {
        say(out, "  moderators:");
    }
    for m in &moderators {
        say(out, format!("    {}", super::moderator::describe(m)));
    }
    say(out, format!("  join URL:     {url}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_env::TestEnv;
    use super::*;

    async fn a_room_rate_limit_is_set_and_cleared(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        add(&ctx, "lobby", None, None, None, &mut Vec::new())
            .await
            .unwrap();
        let mut out = Vec::new();
        rate_limit(&ctx, "lobby", Some((10, 30.0)), &mut out)
            .await
            .unwrap();
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains("10 posts per 30 s")
        );
        let room = ctx.store.room_by_token("lobby").await.unwrap().unwrap();
        assert_eq!(
            (room.post_rate_limit, room.post_rate_window),
            (Some(10), Some(30.0))
        );
        rate_limit(&ctx, "lobby", None, &mut Vec::new())
            .await
            .unwrap();
        let room = ctx.store.room_by_token("lobby").await.unwrap().unwrap();
        assert_eq!((room.post_rate_limit, room.post_rate_window), (None, None));
        let missing = rate_limit(&ctx, "nope", None, &mut Vec::new())
            .await
            .unwrap_err();
        assert_eq!(missing.exit_code(), 1);
    }

    #[tokio::test]
    async fn room_rate_limit_on_sqlite() {
        a_room_rate_limit_is_set_and_cleared(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn room_rate_limit_on_postgres() {
        a_room_rate_limit_is_set_and_cleared(TestEnv::postgres().await).await;
    }

    async fn adding_a_room_stores_it_and_prints_its_join_url(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        let mut out = Vec::new();
        add(
            &ctx,
            "lobby",
            Some("The Lobby"),
            Some("Say hi"),
            None,
            &mut out,
        )
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
        add(&ctx, "lobby", None, None, None, &mut Vec::new())
            .await
            .unwrap();
        let dup = add(&ctx, "Lobby", None, None, None, &mut Vec::new())
            .await
            .unwrap_err();
        assert_eq!(dup.exit_code(), 1);
        assert!(dup.to_string().contains("already exists"), "{dup}");
        let bad = add(&ctx, "no spaces", None, None, None, &mut Vec::new())
            .await
            .unwrap_err();
        assert!(matches!(bad, AdminError::Usage(_)));
        let empty = add(&ctx, "x", Some(" "), None, None, &mut Vec::new())
            .await
            .unwrap_err();
        assert!(matches!(empty, AdminError::Usage(_)));
    }

    async fn rooms_are_listed_updated_and_deleted(env: TestEnv) {
        let ctx = Context::open(env.config.clone()).await.unwrap();
        add(
            &ctx,
            "lobby",
            Some("Lobby"),
            Some("hi"),
            None,
            &mut Vec::new(),
        )
        .await
        .unwrap();
        add(&ctx, "annex", None, None, None, &mut Vec::new())
            .await
            .unwrap();

        let mut out = Vec::new();
        list(&ctx, &mut out).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        let annex = text.find("Room annex").unwrap();
        let lobby = text.find("Room lobby").unwrap();
        assert!(annex < lobby, "{text}");
        for needle in [
            "messages:     0",
            "files:        0 (0 bytes)",
            "active users: 0 (1d) 0 (7d) 0 (14d) 0 (30d)",
            "moderators:   none",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }

        let flags = PermissionFlags {
            no_write: true,
            ..Default::default()
        };
        let changes = RoomChanges {
            name: Some("Big Lobby"),
            description: Some(""),
            image: None,
            web_messages: None,
            permissions: &flags,
        };
        update(&ctx, "lobby", &changes, &mut Vec::new())
            .await
            .unwrap();
        let room = ctx.store.room_by_token("lobby").await.unwrap().unwrap();
        assert_eq!(room.name, "Big Lobby");
        assert_eq!(room.description, None);
        assert!(!room.default_write && room.default_read);
        let mut out = Vec::new();
        show(&ctx, "lobby", true, &mut out).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("permissions:  r-ua"), "{text}");
        assert!(
            text.contains('\u{2580}') || text.contains('\u{2584}'),
            "no QR code in {text}"
        );

        let no_flags = PermissionFlags::default();
        let changes = RoomChanges {
            name: None,
            description: None,
            image: None,
            web_messages: None,
            permissions: &no_flags,
        };
        let nothing = update(&ctx, "lobby", &changes, &mut Vec::new())
            .await
            .unwrap_err();
        assert!(matches!(nothing, AdminError::Usage(_)));
        let unknown = show(&ctx, "nope", false, &mut Vec::new())
            .await
            .unwrap_err();
        assert!(unknown.to_string().contains("nope"), "{unknown}");

        let declined = delete(&ctx, "lobby", false, &mut "n\n".as_bytes(), &mut Vec::new())
            .await
            .unwrap_err();
        assert_eq!(declined.exit_code(), 2);
        assert!(ctx.store.room_by_token("lobby").await.unwrap().is_some());
        delete(&ctx, "lobby", false, &mut "y\n".as_bytes(), &mut Vec::new())
            .await
            .unwrap();
        delete(&ctx, "annex", true, &mut "".as_bytes(), &mut Vec::new())
            .await
            .unwrap();
        assert!(ctx.store.list_rooms().await.unwrap().is_empty());

        let log = ctx
            .store
            .audit_log(&sogs::store::AuditFilter {
                room: Some("lobby".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let actions: Vec<_> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["delete_room", "update_room", "create_room"]);
    }

    #[tokio::test]
    async fn room_list_update_delete_on_sqlite() {
        rooms_are_listed_updated_and_deleted(TestEnv::sqlite()).await;
    }

    #[tokio::test]
    async fn room_list_update_delete_on_postgres() {
        rooms_are_listed_updated_and_deleted(TestEnv::postgres().await).await;
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
