//! `POST /oxen/v4/lsrpc`, `POST /oxen/v3/lsrpc` and `POST /loki/v3/lsrpc` (spec §3): open the
//! last onion layer, serve the inner request from the same route table as plain HTTP (it
//! authenticates with its own `X-SOGS-*` headers), and seal the reply with the same key.
//!
//! A request whose layer cannot be opened gets a plain 400; once it is open, every failure,
//! the inner request's own included, travels back inside the encrypted reply.

use crate::api::context::Ctx;
use crate::api::dispatch;
use crate::api::error::ApiError;
use crate::api::limits::Limit;
use crate::api::onion::{self, InnerError, Outcome, Padding, Rejected, Version, cipher_label};
use crate::api::request::{ApiRequest, ApiResponse, Body};
use crate::api::state::AppState;
use crate::crypto::EncType;
use crate::crypto::keys::ServerKey;
use crate::crypto::onion::OnionKey;

/// Onion v4: bencoded inner request; raw encrypted bencoded reply, padded.
#[tracing::instrument(skip_all, fields(cipher))]
pub async fn onion_v4(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let (key, inner) = open(ctx, Version::V4).await?;
    let cipher = key.enc_type();
    tracing::Span::current().record("cipher", cipher.name());
    let (response, outcome) = serve_inner(ctx.state, inner).await;
    let padding = Padding::from_config(&ctx.state.config.onion);
    let plaintext = onion::encode_v4_reply(&onion::v4_response(&response), padding, cipher);
    observe(ctx.state, Version::V4, Some(cipher), outcome);
    Ok(sealed(key.seal(&plaintext), "application/octet-stream"))
}

/// Onion v3: JSON inner request; base64 of the encrypted reply.
#[tracing::instrument(skip_all, fields(cipher))]
pub async fn onion_v3(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    use base64::Engine;
    let (key, inner) = open(ctx, Version::V3).await?;
    let cipher = key.enc_type();
    tracing::Span::current().record("cipher", cipher.name());
    let (response, outcome) = serve_inner(ctx.state, inner).await;
    let reply = key.seal(&onion::v3_reply(&response));
    observe(ctx.state, Version::V3, Some(cipher), outcome);
    let encoded = base64::engine::general_purpose::STANDARD.encode(reply);
    Ok(sealed(encoded.into_bytes(), "text/plain; charset=utf-8"))
}

/// Request bodies above this size are decrypted and parsed on the blocking pool rather than
/// on the async worker, so a large (or hostile: 80 k inner headers) onion request does not
/// stall the other requests that worker serves; a Session poll is far smaller.
const OFF_WORKER_BYTES: usize = 64 * 1024;

/// Opens the last layer and parses the inner request; a plain 400 if the layer does not open.
async fn open(
    ctx: &Ctx<'_>,
    version: Version,
) -> Result<(OnionKey, Result<ApiRequest, InnerError>), ApiError> {
    let opened = if ctx.req.body.len() > OFF_WORKER_BYTES {
        let key = ctx.state.key.clone();
        let body = ctx.req.body.clone();
        tokio::task::spawn_blocking(move || open_and_parse(&key, &body, version))
            .await
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("onion opening task failed: {e}")))?
    } else {
        open_and_parse(&ctx.state.key, &ctx.req.body, version)
    };
    opened.map_err(|Rejected { cipher, error }| {
        observe(ctx.state, version, cipher, Outcome::of_rejection(error));
        tracing::debug!(%error, "onion request refused");
        ApiError::BadRequest(format!("Invalid onion request: {error}"))
    })
}

fn open_and_parse(
    server: &ServerKey,
    body: &[u8],
    version: Version,
) -> Result<(OnionKey, Result<ApiRequest, InnerError>), Rejected> {
    let opened = onion::open(server, body)?;
    let inner = match version {
        Version::V4 => onion::parse_v4(&opened.plaintext),
        Version::V3 => onion::parse_v3(&opened.plaintext),
    };
    Ok((opened.key, inner))
}

/// Serves a parsed inner request through the dispatcher, or answers its parse error.
async fn serve_inner(
    state: &AppState,
    inner: Result<ApiRequest, InnerError>,
) -> (ApiResponse, Outcome) {
    match inner {
        Ok(request) => {
            // The dispatcher's future contains this handler's, so it is boxed to keep the
            // future type finite (nesting itself was refused above).
            let served = Box::pin(dispatch::serve(state, request)).await;
            let outcome = Outcome::of_status(served.response.status);
            (served.response, outcome)
        }
        Err(e) => {
            if e == InnerError::V4(crate::crypto::onion_v4::V4Error::MetadataTooLarge) {
                state.metrics.observe_limit(Limit::HeaderBytes.label());
            }
            tracing::debug!(error = %e, "invalid inner onion request");
            (e.response(), Outcome::BadInner)
        }
    }
}

fn observe(state: &AppState, version: Version, cipher: Option<EncType>, outcome: Outcome) {
    state
        .metrics
        .observe_onion(version.label(), cipher_label(cipher), outcome.label());
}

fn sealed(data: Vec<u8>, content_type: &str) -> ApiResponse {
    ApiResponse {
        status: 200,
        headers: Vec::new(),
        body: Body::Bytes {
            content_type: content_type.to_owned(),
            data,
        },
    }
}
