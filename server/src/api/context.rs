//! What a handler receives: the request, its path captures, the requester, the app state,
//! and helpers that parse input into domain values with the right error status.

use serde::de::DeserializeOwned;

use super::auth::Identity;
use super::error::ApiError;
use super::request::ApiRequest;
use super::router::Params;
use super::state::AppState;

/// One request being handled.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub req: &'a ApiRequest,
    pub params: Params,
    pub identity: &'a Identity,
}

impl Ctx<'_> {
    /// The JSON body as `T`; malformed or wrongly typed JSON is a 400 naming the problem.
    pub fn json_body<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_slice(&self.req.body)
            .map_err(|e| ApiError::BadRequest(format!("Invalid JSON body: {e}")))
    }

    /// The JSON body as a generic value (for handlers that check types key by key).
    pub fn json_value(&self) -> Result<serde_json::Value, ApiError> {
        self.json_body()
    }

    /// An integer query parameter; absent gives `default`, non-integer gives 400.
    pub fn query_int(&self, name: &str, default: i64) -> Result<i64, ApiError> {
        match self.req.query_param(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| ApiError::BadRequest(format!("Invalid {name} parameter"))),
        }
    }

    /// Records that the requester (if authenticated) read or polled `room`. Kept in memory
    /// and written in bulk, so polls cost no SQL write.
    pub fn note_room_activity(&self, room: i64) {
        if let Some(user) = self.identity.user() {
            self.state
                .activity
                .room_seen(room, user.user.id, self.now());
        }
    }

    /// The current time from the injected clock.
    pub fn now(&self) -> f64 {
        self.state.clock.now()
    }
}
