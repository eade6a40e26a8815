//! Request authentication (spec §2), with PySOGS's first quirk fixed.
//!
//! PySOGS creates the user row and burns the nonce before it checks the signature, so a
//! forged request costs the server a write and can block a real one. Here the headers are
//! parsed and the signature verified first (pure CPU); only a verified request touches
//! storage: user lookup, the ban check, then the replay check.

use crate::cluster::NonceVerdict;
use crate::crypto::blinding::blind15_abs;
use crate::crypto::keys::{BlindedId, SessionId};
use crate::crypto::request_signature::{
    AuthError, AuthPolicy, RawAuthHeaders, SignedHeaders, SignedRequest,
};
use crate::store::User;

use super::error::ApiError;
use super::request::ApiRequest;
use super::state::AppState;

/// Who is making a request.
#[derive(Debug, Clone, Default)]
pub enum Identity {
    #[default]
    Anonymous,
    User(Box<AuthedUser>),
}

/// A user whose request signature verified.
#[derive(Debug, Clone)]
pub struct AuthedUser {
    /// The user row (global flags as of this request).
    pub user: User,
    /// The id the user signed with: `15…`/`25…` blinded, or `05…` unblinded.
    pub session_id: SessionId,
}

impl Identity {
    /// The authenticated user, if any.
    pub fn user(&self) -> Option<&AuthedUser> {
        match self {
            Identity::Anonymous => None,
            Identity::User(u) => Some(u),
        }
    }

    /// The authenticated user, or 401 as PySOGS's `user_required`.
    pub fn require_user(&self) -> Result<&AuthedUser, ApiError> {
        self.user().ok_or_else(|| {
            ApiError::Unauthorized("X-SOGS-* request authentication required".into())
        })
    }

    /// The authenticated user with a blinded id, or 401 as PySOGS's `blind_user_required`.
    pub fn require_blinded_user(&self) -> Result<&AuthedUser, ApiError> {
        let user = self.require_user()?;
        if user.session_id.to_string().starts_with("05") {
            return Err(ApiError::Unauthorized(
                "This endpoint requires blinded pubkeys be used".into(),
            ));
        }
        Ok(user)
    }
}

/// The server's policy from its configuration: blinded ids required by default; libsession's
/// newer 25-blinded ids accepted as well as PySOGS's 15.
pub fn policy(state: &AppState) -> AuthPolicy {
    AuthPolicy {
        require_blind_keys: state.config.users.require_blind_keys,
        accept_blind25: true,
    }
}

/// The user row for a verified id, from the cache when it can be trusted. A new 15-blinded
/// user takes over the standing of a 05 user waiting for that blinded id (spec §4.5).
async fn user_row(state: &AppState, session_id: &SessionId, now: f64) -> Result<User, ApiError> {
    let sid = session_id.to_string();
    if let Some(user) = state.cluster.caches.user(&sid) {
        return Ok(user);
    }
    let seen = state.cluster.caches.generation();
    let user = match BlindedId::try_from(*session_id) {
        Ok(blinded) if sid.starts_with("15") => {
            let abs = blind15_abs(&blinded);
            state
                .store
                .get_or_create_blinded_user(&sid, &SessionId::from(abs).to_string(), now)
                .await?
        }
        _ => state.store.get_or_create_user(&sid, now).await?,
    };
    state.cluster.caches.put_user(&user, seen);
    Ok(user)
}

/// A metric label for why authentication refused a request: one of a fixed set of names,
/// never text from the request.
pub fn failure_reason(error: &ApiError) -> &'static str {
    match error {
        ApiError::Auth(e) => match e {
            AuthError::MissingHeaders(_) => "missing_headers",
            AuthError::PubkeyEncoding | AuthError::PubkeyPrefix | AuthError::InvalidPubkey => {
                "bad_pubkey"
            }
            AuthError::BlindingRequired => "blinding_required",
            AuthError::NonceEncoding => "bad_nonce",
            AuthError::SignatureEncoding => "bad_signature_encoding",
            AuthError::TimestampFormat | AuthError::TimestampOutOfRange => "bad_timestamp",
            AuthError::Banned => "banned",
            AuthError::NonceReused => "nonce_reused",
            AuthError::NonceUnverifiable => "nonce_unverifiable",
            AuthError::SignatureInvalid => "bad_signature",
        },
        ApiError::Unavailable => "unavailable",
        _ => "other",
    }
}

/// Authenticates `req` from its own `X-SOGS-*` headers.
pub async fn authenticate(state: &AppState, req: &ApiRequest) -> Result<Identity, ApiError> {
    let header = |name: &str| req.headers.get(name).map(str::as_bytes);
    let raw = RawAuthHeaders {
        pubkey: header("x-sogs-pubkey"),
        nonce: header("x-sogs-nonce"),
        timestamp: header("x-sogs-timestamp"),
        signature: header("x-sogs-signature"),
    };
    let Some(signed) = SignedHeaders::parse(&raw, &policy(state))? else {
        return Ok(Identity::Anonymous);
    };
    let now = state.clock.now();
    signed.check_timestamp(now)?;
    let server_pk = state.key.public_key();
    signed.verify(
        &server_pk,
        &SignedRequest {
            method: req.method.as_str(),
            path: &req.path,
            query: &req.query,
            body: &req.body,
        },
    )?;
    let session_id = *signed.session_id();
    let user = user_row(state, &session_id, now).await?;
    if user.banned {
        return Err(AuthError::Banned.into());
    }
    let verdict = state
        .cluster
        .remember_nonce(
            &state.store,
            signed.nonce(),
            user.id,
            signed.timestamp() as f64,
            now,
        )
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "replay check unavailable");
            ApiError::Unavailable
        })?;
    match verdict {
        NonceVerdict::Fresh => {}
        NonceVerdict::Reused => return Err(AuthError::NonceReused.into()),
        NonceVerdict::Unverifiable => return Err(AuthError::NonceUnverifiable.into()),
    }
    state.activity.user_seen(user.id, now);
    Ok(Identity::User(Box::new(AuthedUser { user, session_id })))
}
