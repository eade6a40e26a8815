//! `POST /sogs-rs/room/{token}/retention` (issue 15): the room's retention, set by an admin
//! of the room through the same action as `/retention` and `sogs-admin retention`.

use serde::Deserialize;

use crate::actions::retention::{self, retention_json};
use crate::api::context::Ctx;
use crate::api::error::ApiError;
use crate::api::request::ApiResponse;
use crate::domain::retention::Retention;

use super::antiraid::{actor, object_body, setup};

fn keep_pinned_default() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionBody {
    /// Messages older than this many seconds are deleted (absent or null: no age limit).
    #[serde(default)]
    max_age: Option<f64>,
    /// Only the newest this many messages are kept (absent or null: no count limit).
    #[serde(default)]
    keep_last: Option<u64>,
    /// The room's uploads are removed this many seconds after upload.
    #[serde(default)]
    file_expiry: Option<f64>,
    /// Pinned messages and their files are kept (the default) or expire like the rest.
    #[serde(default = "keep_pinned_default")]
    keep_pinned: bool,
}

/// `POST /sogs-rs/room/{token}/retention` `{"max_age": 2592000, "keep_last": 10000,
/// "file_expiry": 604800, "keep_pinned": true}`: replaces the room's retention as a whole
/// (`{}` turns it off); needs admin rights in the room (403 for moderators). Answers the
/// retention now in force, in the same shape.
pub async fn set_retention(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let body: RetentionBody = object_body(ctx)?;
    let wanted = Retention {
        max_age_secs: body.max_age,
        keep_last: body.keep_last,
        file_expiry_secs: body.file_expiry,
        keep_pinned: body.keep_pinned,
    };
    let (room, caller, svc) = setup(ctx).await?;
    let now = retention::set_retention(&svc, &actor(caller), &room, &wanted).await?;
    Ok(ApiResponse::json(retention_json(&now)))
}
