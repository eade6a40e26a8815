//! Reports (issue 14) in the `/sogs-rs/` namespace: any reader reports a message; the
//! room's moderators list the queue, dismiss a report or act on it, and set when reported
//! messages hide. Signed requests (401 anonymous); 403 for non-moderators on the queue;
//! 400 for a malformed body. Each handler parses, calls one action in `actions::reports`,
//! and renders its result.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::actions::reports::{self, QUEUE_LIMIT, Verdict};
use crate::actions::{Actor, Door};
use crate::api::context::Ctx;
use crate::api::error::ApiError;
use crate::api::request::ApiResponse;
use crate::domain::Need;

/// A JSON object body as `T`; an empty body reads as `{}`.
fn object_body<T: serde::de::DeserializeOwned>(ctx: &Ctx<'_>) -> Result<T, ApiError> {
    let value = if ctx.req.body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        ctx.json_value()?
    };
    if !value.is_object() {
        return Err(ApiError::BadRequest("Expected a JSON object".into()));
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::BadRequest(format!("Invalid JSON body: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportBody {
    reason: Option<String>,
}

/// `POST /sogs-rs/room/{token}/message/{id}/report` `{"reason": "spam"}` (the reason is
/// optional): 200 `{"message": id, "new": bool}`; 404 for a message the caller cannot
/// see, 400 for their own, 429 past `[antiraid] reports_per_hour`.
pub async fn report_message(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let body: ReportBody = object_body(ctx)?;
    let access = ctx.room_access().await?;
    let caller = ctx.identity.require_user()?;
    access.require(Need::READ)?;
    let svc = ctx.state.services(ctx.now(), Door::Api);
    let done = reports::report(
        &svc,
        &caller.user,
        &access.perms,
        &access.room,
        ctx.params.int("id"),
        body.reason.as_deref(),
    )
    .await?;
    Ok(ApiResponse::json(
        json!({ "message": done.message, "new": done.new }),
    ))
}

/// `GET /sogs-rs/room/{token}/reports[?all=1&limit=N]`: the reported messages waiting for a
/// moderator (hidden ones included), most reported first; with `all`, handled ones too.
pub async fn list_reports(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let all = match ctx.req.query_param("all").as_deref().map(str::trim) {
        None | Some("0" | "false" | "") => false,
        Some("1" | "true") => true,
        Some(_) => return Err(ApiError::BadRequest("Invalid all parameter".into())),
    };
    let limit = ctx.query_int_clamped("limit", 100, 1..=QUEUE_LIMIT)?;
    let room = ctx.room().await?;
    let caller = ctx.identity.require_user()?;
    let svc = ctx.state.services(ctx.now(), Door::Api);
    let entries =
        reports::queue(&svc, &Actor::User(caller.user.clone()), &room, all, limit).await?;
    Ok(ApiResponse::json(Value::Array(
        entries.iter().map(|e| e.json()).collect(),
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActBody {
    /// `dismiss`, `delete`, `ban` or `purge`.
    action: String,
    /// For `ban`: seconds (absent: for good).
    seconds: Option<f64>,
}

/// `POST /sogs-rs/room/{token}/reports/{id}` `{"action": "delete"}` (or `dismiss`, `ban`
/// with optional `seconds`, `purge`): handles the report of message `id`; 200 with what
/// was done; 404 when there is no open report of it.
pub async fn resolve_report(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let body: ActBody = object_body(ctx)?;
    let verdict = match body.action.to_ascii_lowercase().as_str() {
        "dismiss" => Verdict::Dismiss,
        "delete" => Verdict::Delete,
        "ban" => Verdict::Ban {
            duration: body.seconds,
        },
        "purge" => Verdict::Purge,
        other => {
            return Err(ApiError::BadRequest(format!(
                "Unknown action {other:?}: dismiss, delete, ban or purge"
            )));
        }
    };
    if body.seconds.is_some() && !matches!(verdict, Verdict::Ban { .. }) {
        return Err(ApiError::BadRequest(
            "\"seconds\" goes only with \"ban\"".into(),
        ));
    }
    let room = ctx.room().await?;
    let caller = ctx.identity.require_user()?;
    let svc = ctx.state.services(ctx.now(), Door::Api);
    let done = reports::resolve(
        &svc,
        &Actor::User(caller.user.clone()),
        &room,
        ctx.params.int("id"),
        verdict,
    )
    .await?;
    Ok(ApiResponse::json(json!({
        "message": done.message,
        "author": done.author,
        "resolution": done.resolution.name(),
        "deleted": done.deleted,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HideAfterBody {
    /// Distinct established reporters that hide a message; 0 never; `null` the default.
    hide_after: Option<u32>,
}

/// `POST /sogs-rs/room/{token}/report-policy` `{"hide_after": 3}` (0: never, `null`: the
/// server default): `{}`.
pub async fn set_report_policy(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let value = ctx.json_value()?;
    let Some(obj) = value.as_object() else {
        return Err(ApiError::BadRequest("Expected a JSON object".into()));
    };
    if !obj.contains_key("hide_after") {
        return Err(ApiError::BadRequest(
            "Give \"hide_after\": a number of reporters, 0 (never) or null (default)".into(),
        ));
    }
    let body: HideAfterBody = serde_json::from_value(value)
        .map_err(|e| ApiError::BadRequest(format!("Invalid JSON body: {e}")))?;
    let room = ctx.room().await?;
    let caller = ctx.identity.require_user()?;
    let svc = ctx.state.services(ctx.now(), Door::Api);
    reports::set_hide_after(
        &svc,
        &Actor::User(caller.user.clone()),
        &room,
        body.hide_after,
    )
    .await?;
    Ok(ApiResponse::json(json!({})))
}
