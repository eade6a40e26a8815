//! Bounds on what one request may ask of the server (`[limits]` in the configuration).
//!
//! Every count and size an attacker controls has a limit here, checked before the work it
//! would cause: the shape of every request (headers, path, query) once in the dispatcher,
//! whatever door it came through; sub-requests and the reply size in `/batch`; message size
//! and attachments where a message body is parsed. A refusal is a [`LimitExceeded`], which
//! names the limit (for the `sogs_limit_rejections_total{limit}` metric) and picks the 4xx.

use crate::config::LimitsConfig;

use super::error::ApiError;
use super::request::ApiRequest;
use super::state::AppState;

/// Which limit a request went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Headers,
    HeaderBytes,
    PathBytes,
    QueryBytes,
    SubRequests,
    ReplyBytes,
    MessageBytes,
    FilesPerMessage,
    RequestBytes,
    BodyTimeout,
    /// A large body waited `body_timeout_secs` for a turn (`large_requests_at_once`).
    LargeRequests,
}

impl Limit {
    /// The metrics label and the configuration key's stem.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Headers => "headers",
            Self::HeaderBytes => "header_bytes",
            Self::PathBytes => "path_bytes",
            Self::QueryBytes => "query_bytes",
            Self::SubRequests => "sub_requests",
            Self::ReplyBytes => "reply_bytes",
            Self::MessageBytes => "message_bytes",
            Self::FilesPerMessage => "files_per_message",
            Self::RequestBytes => "request_bytes",
            Self::BodyTimeout => "body_timeout",
            Self::LargeRequests => "large_requests",
        }
    }

    /// What the limit bounds, for the refusal text.
    const fn what(self) -> &'static str {
        match self {
            Self::Headers => "Number of headers",
            Self::HeaderBytes => "Size of the headers",
            Self::PathBytes => "Length of the path",
            Self::QueryBytes => "Length of the query string",
            Self::SubRequests => "Number of sub-requests",
            Self::ReplyBytes => "Size of the batch reply",
            Self::MessageBytes => "Size of the message",
            Self::FilesPerMessage => "Number of attached files",
            Self::RequestBytes => "Size of the request body",
            Self::BodyTimeout => "Time to send the request body, in seconds,",
            Self::LargeRequests => "Number of large requests served at once",
        }
    }
}

/// A request went over one of the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{} exceeds the limit of {max}", .limit.what())]
pub struct LimitExceeded {
    pub limit: Limit,
    pub max: u64,
}

impl LimitExceeded {
    pub const fn new(limit: Limit, max: u64) -> Self {
        Self { limit, max }
    }

    /// The status: 431 for headers, 414 for paths and queries, 408 for a body sent too
    /// slowly, 503 (try again) when every turn for large bodies stayed taken, 413 for every
    /// other count or size.
    pub const fn status(&self) -> u16 {
        match self.limit {
            Limit::Headers | Limit::HeaderBytes => 431,
            Limit::PathBytes | Limit::QueryBytes => 414,
            Limit::BodyTimeout => 408,
            Limit::LargeRequests => 503,
            _ => 413,
        }
    }

    /// Seconds a client should wait before trying again, for refusals that pass.
    pub const fn retry_after(&self) -> Option<u64> {
        match self.limit {
            Limit::LargeRequests => Some(5),
            _ => None,
        }
    }
}

/// Counts a refusal in `sogs_limit_rejections_total` and turns it into the API error. A
/// refusal is the client's doing, so it is logged at debug level only.
pub fn refuse(state: &AppState, e: LimitExceeded) -> ApiError {
    state.metrics.observe_limit(e.limit.label());
    tracing::debug!(
        limit = e.limit.label(),
        max = e.max,
        "request over a limit refused"
    );
    ApiError::Limit(e)
}

fn len_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Refuses `actual` above `max` as `limit`.
pub fn at_most(limit: Limit, actual: usize, max: u64) -> Result<(), LimitExceeded> {
    if len_u64(actual) > max {
        Err(LimitExceeded::new(limit, max))
    } else {
        Ok(())
    }
}

/// Checks the shape every request has, whichever door it came through: header count and
/// bytes, path and query length. Linear in the request's size.
pub fn check_request(req: &ApiRequest, limits: &LimitsConfig) -> Result<(), LimitExceeded> {
    at_most(Limit::PathBytes, req.path.len(), limits.max_path_bytes)?;
    at_most(Limit::QueryBytes, req.query.len(), limits.max_query_bytes)?;
    at_most(Limit::Headers, req.headers.len(), limits.max_headers)?;
    let header_bytes = req
        .headers
        .iter()
        .map(|(n, v)| n.len().saturating_add(v.len()))
        .fold(0usize, usize::saturating_add);
    at_most(Limit::HeaderBytes, header_bytes, limits.max_header_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::request::{Headers, Method};

    fn request(path: &str, headers: usize) -> ApiRequest {
        let mut h = Headers::new();
        for i in 0..headers {
            h.set(&format!("x-{i}"), "v");
        }
        ApiRequest::from_target(Method::Get, path, h, Vec::new()).unwrap()
    }

    #[test]
    fn a_session_poll_is_within_every_limit() {
        let req = request("/room/lobby/messages/since/10?t=r&reactors=5", 6);
        assert_eq!(check_request(&req, &LimitsConfig::default()), Ok(()));
    }

    #[test]
    fn each_shape_limit_is_refused_with_its_status() {
        let limits = LimitsConfig {
            max_headers: 3,
            max_header_bytes: 20,
            max_path_bytes: 10,
            max_query_bytes: 5,
            ..LimitsConfig::default()
        };
        let refused = |req: ApiRequest| check_request(&req, &limits).unwrap_err();
        let e = refused(request("/a", 4));
        assert_eq!((e.limit, e.status()), (Limit::Headers, 431));
        let mut h = Headers::new();
        h.set("x-long", "v".repeat(30));
        let e = refused(ApiRequest::from_target(Method::Get, "/a", h, vec![]).unwrap());
        assert_eq!((e.limit, e.status()), (Limit::HeaderBytes, 431));
        let e = refused(request("/abcdefghijk", 0));
        assert_eq!((e.limit, e.status()), (Limit::PathBytes, 414));
        let e = refused(request("/a?abcdef", 0));
        assert_eq!((e.limit, e.status()), (Limit::QueryBytes, 414));
        assert_eq!(
            check_request(&request("/abcdefghi?abcde", 3), &limits),
            Ok(())
        );
    }

    #[test]
    fn refusals_name_the_limit() {
        let e = LimitExceeded::new(Limit::SubRequests, 256);
        assert_eq!(
            e.to_string(),
            "Number of sub-requests exceeds the limit of 256"
        );
        assert_eq!(e.status(), 413);
        assert_eq!(LimitExceeded::new(Limit::BodyTimeout, 20).status(), 408);
    }
}
