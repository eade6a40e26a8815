//! `POST /oxen/v4/lsrpc`, `POST /oxen/v3/lsrpc` and `POST /loki/v3/lsrpc` (spec §3): open the
//! last onion layer, serve the inner request from the same route table as plain HTTP (it
//! authenticates with its own `X-SOGS-*` headers), and seal the reply with the same key.
//!
//! A request whose layer cannot be opened gets a plain 400; once it is open, every failure,
//! the inner request's own included, travels back inside the encrypted reply.

use crate::api::context::Ctx;
use crate::api::dispatch;
use crate::api::error::ApiError;
use crate::api::onion::{
    self, InnerError, Opened, Outcome, Padding, Rejected, Version, cipher_label,
};
use crate::api::request::{ApiRequest, ApiResponse, Body};
use crate::api::state::AppState;
use crate::crypto::EncType;

/// Onion v4: bencoded inner request; raw encrypted bencoded reply, padded.
#[tracing::instrument(skip_all, fields(cipher))]
pub async fn onion_v4(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let opened = open(ctx, Version::V4)?;
    let cipher = opened.key.enc_type();
    tracing::Span::current().record("cipher", cipher.name());
    let (response, outcome) = serve_inner(ctx.state, onion::parse_v4(&opened.plaintext)).await;
    let padding = Padding::from_config(&ctx.state.config.onion);
    let plaintext = onion::encode_v4_reply(&onion::v4_response(&response), padding, cipher);
    observe(ctx.state, Version::V4, Some(cipher), outcome);
    Ok(sealed(
        opened.key.seal(&plaintext),
        "application/octet-stream",
    ))
}

/// Onion v3: JSON inner request; base64 of the encrypted reply.
#[tracing::instrument(skip_all, fields(cipher))]
pub async fn onion_v3(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    use base64::Engine;
    let opened = open(ctx, Version::V3)?;
    let cipher = opened.key.enc_type();
    tracing::Span::current().record("cipher", cipher.name());
    let (response, outcome) = serve_inner(ctx.state, onion::parse_v3(&opened.plaintext)).await;
    let reply = opened.key.seal(&onion::v3_reply(&response));
    observe(ctx.state, Version::V3, Some(cipher), outcome);
    let encoded = base64::engine::general_purpose::STANDARD.encode(reply);
    Ok(sealed(encoded.into_bytes(), "text/plain; charset=utf-8"))
}

fn open(ctx: &Ctx<'_>, version: Version) -> Result<Opened, ApiError> {
    onion::open(&ctx.state.key, &ctx.req.body).map_err(|Rejected { cipher, error }| {
        observe(ctx.state, version, cipher, Outcome::of_rejection(error));
        tracing::debug!(%error, "onion request refused");
        ApiError::BadRequest(format!("Invalid onion request: {error}"))
    })
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
