//! `ApiError`: the single place where an error becomes an HTTP status.
//!
//! Clients look at status codes only, but operators read bodies, so client errors carry a
//! short plain-text reason (PySOGS's exact text where clients or tests know it), while
//! internal failures are logged and never leaked.

use crate::blobs::BlobError;
use crate::crypto::request_signature::AuthError;
use crate::store::StoreError;

use super::limits::LimitExceeded;
use super::request::ApiResponse;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    /// Authentication failed at one of the spec's steps; carries its own status.
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("Not found")]
    NotFound,
    #[error("Method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{0}")]
    RateLimited(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 429 with a `Retry-After` header (whole seconds).
    #[error("{reason}")]
    TooFast { reason: String, retry_after: u64 },
    /// A count or size over one of the `[limits]`; carries its own status.
    #[error(transparent)]
    Limit(#[from] LimitExceeded),
    #[error("Service unavailable")]
    Unavailable,
    /// The object store holding uploads refused or could not be reached: 503, the client
    /// may try again. The cause is logged, never sent.
    #[error("File storage unavailable; try again later")]
    FileStorageUnavailable(#[source] BlobError),
    /// The object store did not answer within `[files] s3_timeout_secs`: 504.
    #[error("File storage did not answer in time; try again later")]
    FileStorageTimeout(#[source] BlobError),
    #[error("Internal server error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// 403 with PySOGS's body for permission failures.
    pub fn permission_denied() -> Self {
        ApiError::Forbidden("Permission denied".into())
    }

    /// The status code for this error.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Auth(e) => e.status_code(),
            ApiError::Unauthorized(_) => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound => 404,
            ApiError::MethodNotAllowed => 405,
            ApiError::NotAcceptable(_) => 406,
            ApiError::PayloadTooLarge(_) => 413,
            ApiError::Limit(e) => e.status(),
            ApiError::RateLimited(_) | ApiError::TooFast { .. } => 429,
            ApiError::Internal(_) => 500,
            ApiError::Unavailable | ApiError::FileStorageUnavailable(_) => 503,
            ApiError::FileStorageTimeout(_) => 504,
        }
    }

    /// The response sent for this error.
    pub fn into_response(self) -> ApiResponse {
        match &self {
            ApiError::Internal(e) => tracing::error!(error = ?e, "internal error"),
            ApiError::Unavailable => tracing::warn!("request failed: database unavailable"),
            ApiError::FileStorageUnavailable(e) | ApiError::FileStorageTimeout(e) => {
                tracing::warn!(error = %e, "request failed: file storage")
            }
            _ => {}
        }
        let mut response = ApiResponse::text(self.status(), self.to_string());
        let retry_after = match &self {
            ApiError::TooFast { retry_after, .. } => Some(*retry_after),
            ApiError::Limit(e) => e.retry_after(),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers
                .push(("retry-after".into(), secs.to_string()));
        }
        response
    }
}

/// A local uploads directory that fails is this server's fault (500); an object store that
/// fails is a dependency's (503, or 504 when it did not answer in time).
impl From<BlobError> for ApiError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::Io { .. } => ApiError::Internal(e.into()),
            BlobError::Timeout { .. } => ApiError::FileStorageTimeout(e),
            BlobError::Request { .. } | BlobError::Status { .. } => {
                ApiError::FileStorageUnavailable(e)
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => ApiError::NotFound,
            StoreError::Unavailable(_) => ApiError::Unavailable,
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<crate::actions::ActionError> for ApiError {
    fn from(e: crate::actions::ActionError) -> Self {
        use crate::actions::ActionError as A;
        match e {
            A::Invalid(m) => ApiError::BadRequest(m),
            A::Forbidden(m) => ApiError::Forbidden(m),
            A::NotFound(_) => ApiError::NotFound,
            A::TooFast {
                reason,
                retry_after: Some(retry_after),
            } => ApiError::TooFast {
                reason,
                retry_after,
            },
            A::TooFast {
                reason,
                retry_after: None,
            } => ApiError::RateLimited(reason),
            A::Store(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_maps_to_its_status() {
        assert_eq!(ApiError::BadRequest("x".into()).status(), 400);
        assert_eq!(ApiError::Auth(AuthError::SignatureInvalid).status(), 401);
        assert_eq!(ApiError::Auth(AuthError::NonceReused).status(), 425);
        assert_eq!(ApiError::Auth(AuthError::Banned).status(), 403);
        assert_eq!(ApiError::permission_denied().status(), 403);
        assert_eq!(ApiError::NotFound.status(), 404);
        assert_eq!(ApiError::RateLimited("Rate limited".into()).status(), 429);
        assert_eq!(ApiError::Unavailable.status(), 503);
        let key = || "files/1".to_string();
        let timeout = BlobError::Timeout {
            key: key(),
            after: std::time::Duration::from_secs(1),
        };
        assert_eq!(ApiError::from(timeout).status(), 504);
        let refused = BlobError::Status {
            key: key(),
            status: 403,
        };
        assert_eq!(ApiError::from(refused).status(), 503);
        let disk = BlobError::Io {
            key: key(),
            source: std::io::Error::other("disk full"),
        };
        assert_eq!(ApiError::from(disk).status(), 500);
    }

    #[test]
    fn file_storage_errors_do_not_leak_their_cause() {
        let timeout = BlobError::Timeout {
            key: "files/1".into(),
            after: std::time::Duration::from_secs(1),
        };
        let response = ApiError::from(timeout).into_response();
        let body = String::from_utf8_lossy(&response.body_bytes()).to_string();
        assert!(!body.contains("files/1"), "{body}");
        assert!(body.contains("in time"), "{body}");
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let response = ApiError::Internal(anyhow::anyhow!("secret detail")).into_response();
        assert_eq!(response.status, 500);
        assert!(!String::from_utf8_lossy(&response.body_bytes()).contains("secret"));
    }

    #[test]
    fn auth_errors_carry_pysogs_text() {
        let response = ApiError::Auth(AuthError::NonceReused).into_response();
        assert_eq!(
            response.body_bytes(),
            b"Invalid authentication: X-SOGS-Nonce cannot be reused"
        );
    }
}
