//! `GET /capabilities`.

use serde_json::json;

use crate::api::context::Ctx;
use crate::api::error::ApiError;
use crate::api::request::ApiResponse;

/// The capabilities this server has, sorted: `blind` when blinded ids are required.
pub fn capabilities(require_blind_keys: bool) -> Vec<&'static str> {
    let mut caps = vec!["reactions", "sogs", super::antiraid::CAPABILITY];
    if require_blind_keys {
        caps.insert(0, "blind");
    }
    caps
}

/// 200 with the list; 412 with `missing` when `?required=` names capabilities we lack (in
/// the order given, duplicates kept, an empty item counting as missing).
pub async fn get_capabilities(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let caps = capabilities(ctx.state.config.users.require_blind_keys);
    if let Some(required) = ctx.req.query_param("required") {
        let missing: Vec<&str> = required.split(',').filter(|c| !caps.contains(c)).collect();
        if !missing.is_empty() {
            return Ok(ApiResponse::json_status(
                412,
                json!({ "capabilities": caps, "missing": missing }),
            ));
        }
    }
    Ok(ApiResponse::json(json!({ "capabilities": caps })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_are_sorted_and_include_blind_by_default() {
        assert_eq!(
            capabilities(true),
            ["blind", "reactions", "sogs", "sogs-rs-moderation"]
        );
        assert_eq!(
            capabilities(false),
            ["reactions", "sogs", "sogs-rs-moderation"]
        );
    }
}
