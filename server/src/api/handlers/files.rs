//! Room files (spec §5.5): upload raw bytes into a room, download them by id.
//!
//! The row (store) and the bytes (blobs) are written in that order: the row gives the id
//! the blob key is derived from; if the bytes then cannot be stored, the row is discarded
//! so no file id ever points at nothing. Unlike PySOGS, uploads are limited to
//! `[files] max_size` (413). An object store that refuses or is unreachable is a 503, one
//! that does not answer within `[files] s3_timeout_secs` a 504 (see `ApiError`).

use std::time::{Duration, UNIX_EPOCH};

use serde_json::json;

use crate::api::context::Ctx;
use crate::api::error::ApiError;
use crate::api::request::{ApiResponse, Body};
use crate::blobs::BlobKey;
use crate::clock::DAY;
use crate::domain::filename::download_disposition;
use crate::domain::room_policy::MediaKind;
use crate::domain::{FileName, Need};
use crate::store::NewFile;

/// The last second `httpdate` can format (31 Dec 9999).
const LAST_HTTP_DATE: f64 = 253_402_300_799.0;

/// `POST /room/{token}/file`: stores the raw body as a file of the room; 201 `{"id"}`.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn upload_file(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    // An unknown room is 404 before anything else, as PySOGS's routing does.
    let access = ctx.room_access().await?;
    let user = ctx.identity.require_user()?;
    access.require(Need::UPLOAD)?;
    let data = &ctx.req.body;
    let max = ctx.state.config.files.max_size;
    let size = u64::try_from(data.len()).unwrap_or(u64::MAX);
    if size > max {
        return Err(ApiError::PayloadTooLarge(format!(
            "File too large: the limit is {max} bytes"
        )));
    }
    let now = ctx.now();
    let store = &ctx.state.store;
    let size_i64 = i64::try_from(size).unwrap_or(i64::MAX);
    let quota = ctx.state.config.files.daily_quota_bytes;
    if quota > 0 {
        let used = store.uploaded_bytes_since(user.user.id, now - DAY).await?;
        let total = u64::try_from(used.saturating_add(size_i64)).unwrap_or(u64::MAX);
        if total > quota {
            return Err(ApiError::RateLimited(format!(
                "Upload quota exceeded: {quota} bytes per day"
            )));
        }
    }
    let filename = ctx
        .req
        .headers
        .get("content-disposition")
        .and_then(FileName::from_content_disposition);
    let name = filename.as_ref().map(FileName::as_str);
    crate::actions::post::admit(
        &ctx.state.admission_env(),
        &ctx.state.admission,
        &crate::actions::post::Attempted {
            attempt: crate::domain::admission::Attempt::Upload,
            room: &access.room,
            sender: &user.user,
            perms: &access.perms,
            upload: Some(crate::actions::admission::Upload {
                bytes: data,
                filename: name,
                kind: MediaKind::sniff(data).unwrap_or_else(|| MediaKind::of_file_name(name)),
            }),
        },
        now,
    )
    .await?;
    let unattached = ctx.state.config.files.unattached_expiry_secs as f64;
    let new = NewFile {
        room: access.room.id,
        uploader: user.user.id,
        size: size_i64,
        filename: filename.as_ref().map(FileName::as_str),
        expiry: Some(now + unattached),
    };
    let file = store
        .add_file(&new, |id| BlobKey::for_file(id).to_string(), now)
        .await?;
    let key = BlobKey::for_file(file.id);
    if let Err(e) = ctx.state.blobs.put(&key, data).await {
        if let Err(discard) = store.discard_file(file.id).await {
            tracing::warn!(file = file.id, error = %discard, "cannot discard a file row without bytes; cleanup will remove it");
        }
        return Err(e.into());
    }
    if quota > 0 {
        store.record_upload(user.user.id, size_i64, now).await?;
    }
    crate::actions::detectors::uploaded(&ctx.state.admission_env(), file.id, data).await?;
    Ok(ApiResponse::json_status(201, json!({ "id": file.id })))
}

/// `GET /room/{token}/file/{id}` (and `/{id}/{name}`, name ignored): the bytes, with the
/// headers PySOGS sends. 404 for a file of another room, an expired one, or one whose
/// bytes are gone.
#[tracing::instrument(skip_all, fields(room = %ctx.params.get("token")))]
pub async fn get_file(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let access = ctx.readable_room().await?;
    let id = ctx.params.int("id");
    let now = ctx.now();
    let file = ctx
        .state
        .store
        .file_by_id(id)
        .await?
        .filter(|f| f.room == Some(access.room.id))
        .filter(|f| f.expiry.is_none_or(|expiry| expiry > now))
        .ok_or(ApiError::NotFound)?;
    let key = BlobKey::parse(&file.path).map_err(|e| {
        tracing::warn!(file = file.id, error = %e, "file row with an unusable path");
        ApiError::NotFound
    })?;
    let data = ctx.state.blobs.get(&key).await?.ok_or_else(|| {
        tracing::warn!(file = file.id, "file row whose bytes are missing");
        ApiError::NotFound
    })?;
    let mut response = ApiResponse {
        status: 200,
        headers: Vec::new(),
        body: Body::Bytes {
            content_type: "application/octet-stream".into(),
            data,
        },
    }
    .with_header(
        "content-disposition",
        download_disposition(file.filename.as_deref()),
    )
    .with_header("date", http_date(file.uploaded));
    if let Some(expiry) = file.expiry {
        response = response.with_header("expires", http_date(expiry));
    }
    Ok(response)
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`) for a SOGS timestamp, clamped to the
/// years HTTP dates can express so that no stored value can make formatting fail.
fn http_date(timestamp: f64) -> String {
    let seconds = if timestamp.is_nan() {
        0.0
    } else {
        timestamp.clamp(0.0, LAST_HTTP_DATE)
    };
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_are_imf_fixdates_and_never_fail() {
        assert_eq!(http_date(784_111_777.0), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(784_111_777.9), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(-5.0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(f64::NAN), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(f64::INFINITY), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(http_date(1e300), "Fri, 31 Dec 9999 23:59:59 GMT");
    }
}
