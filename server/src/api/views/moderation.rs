//! The bodies of `POST /user/{sid}/moderator`, `/ban` and `/unban` (spec §5.6), parsed into
//! what they ask for. Every malformed body is a 400 here, before any permission is checked.

use serde_json::{Map, Value};

use crate::domain::moderation::{InvalidRoleChange, RoleChange};

use super::{InvalidBody, flag};

/// Where a moderation request applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every room, at the server level (`global: true`).
    Global,
    /// `rooms: ["*"]`: every room where the requester has the standing the action needs.
    AllMyRooms,
    /// These room tokens, without repeats, in the order given.
    Rooms(Vec<String>),
}

/// A `POST /user/{sid}/moderator` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeratorRequest {
    pub scope: Scope,
    pub change: RoleChange,
    /// `None`: the default (listed for room moderators, hidden for global ones).
    pub visible: Option<bool>,
}

/// A `POST /user/{sid}/ban` body.
#[derive(Debug, Clone, PartialEq)]
pub struct BanRequest {
    pub scope: Scope,
    /// Seconds until the ban is lifted; `None` is permanent. Negative values are kept:
    /// the unban is then already due, and the next cleanup applies it.
    pub timeout: Option<f64>,
}

/// Parses a `POST /user/{sid}/moderator` body.
pub fn parse_moderator_request(body: &Value) -> Result<ModeratorRequest, InvalidBody> {
    let body = body.as_object().ok_or(InvalidBody::NotAnObject)?;
    let scope = parse_scope(body)?;
    let admin = optional_flag(body, "admin")?;
    let moderator = optional_flag(body, "moderator")?;
    let change = RoleChange::from_flags(admin, moderator).map_err(|e| {
        InvalidBody::Rule(match e {
            InvalidRoleChange::AdminWithoutModerator => {
                "Cannot make an admin who is not a moderator"
            }
            InvalidRoleChange::Nothing => "One of 'admin' or 'moderator' must be given",
        })
    })?;
    Ok(ModeratorRequest {
        scope,
        change,
        visible: optional_flag(body, "visible")?,
    })
}

/// Parses a `POST /user/{sid}/ban` body. A `timeout` of 0, like null, bans for good
/// (PySOGS tests it for truthiness; spec quirk 16).
pub fn parse_ban_request(body: &Value) -> Result<BanRequest, InvalidBody> {
    let body = body.as_object().ok_or(InvalidBody::NotAnObject)?;
    let scope = parse_scope(body)?;
    let timeout = match body.get("timeout") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64().filter(|t| *t != 0.0),
        Some(_) => {
            return Err(InvalidBody::WrongType {
                field: "timeout",
                expected: "a number of seconds or null",
            });
        }
    };
    Ok(BanRequest { scope, timeout })
}

/// Parses a `POST /user/{sid}/unban` body: only the scope.
pub fn parse_unban_request(body: &Value) -> Result<Scope, InvalidBody> {
    parse_scope(body.as_object().ok_or(InvalidBody::NotAnObject)?)
}

/// `rooms` (a non-empty list of tokens, or `["*"]`) or `global: true`, exactly one of them.
fn parse_scope(body: &Map<String, Value>) -> Result<Scope, InvalidBody> {
    let global = optional_flag(body, "global")?.unwrap_or(false);
    let rooms = match body.get("rooms") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(token) => Ok(token.clone()),
                _ => Err(InvalidBody::WrongType {
                    field: "rooms",
                    expected: "a list of room tokens",
                }),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => {
            return Err(InvalidBody::WrongType {
                field: "rooms",
                expected: "a list of room tokens",
            });
        }
    };
    match (rooms.is_empty(), global) {
        (false, true) => Err(InvalidBody::Rule(
            "Cannot specify both 'rooms' and 'global'",
        )),
        (true, false) => Err(InvalidBody::Rule("Either 'rooms' or 'global' is required")),
        (true, true) => Ok(Scope::Global),
        (false, false) if rooms.iter().any(|t| t == "*") => {
            if rooms.len() == 1 {
                Ok(Scope::AllMyRooms)
            } else {
                Err(InvalidBody::Rule("'*' cannot be combined with room tokens"))
            }
        }
        (false, false) => {
            let mut unique: Vec<String> = Vec::with_capacity(rooms.len());
            for token in rooms {
                if !unique.contains(&token) {
                    unique.push(token);
                }
            }
            Ok(Scope::Rooms(unique))
        }
    }
}

/// A flag that may be absent or null (`None`), a bool, or an integer as C-style truth.
fn optional_flag(
    body: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<bool>, InvalidBody> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => flag(value).map(Some).ok_or(InvalidBody::WrongType {
            field,
            expected: "true, false or null",
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn scope(body: Value) -> Result<Scope, InvalidBody> {
        parse_unban_request(&body)
    }

    #[test]
    fn exactly_one_of_rooms_or_global_is_required() {
        assert_eq!(scope(json!({"global": true})), Ok(Scope::Global));
        assert_eq!(
            scope(json!({"rooms": ["a", "b", "a"]})),
            Ok(Scope::Rooms(vec!["a".into(), "b".into()]))
        );
        assert_eq!(
            scope(json!({"rooms": ["*"], "global": false})),
            Ok(Scope::AllMyRooms)
        );
        for bad in [
            json!({}),
            json!({"rooms": []}),
            json!({"rooms": null}),
            json!({"global": false}),
            json!({"rooms": [], "global": false}),
            json!({"rooms": ["a"], "global": true}),
            json!({"rooms": ["*", "a"]}),
            json!({"rooms": "a"}),
            json!({"rooms": [1]}),
            json!({"global": "yes"}),
            json!([]),
        ] {
            assert!(scope(bad.clone()).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn moderator_bodies_need_a_meaningful_admin_moderator_pair() {
        let parsed =
            parse_moderator_request(&json!({"rooms": ["a"], "moderator": true})).expect("valid");
        assert_eq!(parsed.change, RoleChange::MakeModerator);
        assert_eq!(parsed.visible, None);
        let parsed =
            parse_moderator_request(&json!({"global": true, "admin": true, "visible": false}))
                .expect("valid");
        assert_eq!(parsed.change, RoleChange::MakeAdmin);
        assert_eq!(parsed.visible, Some(false));
        for bad in [
            json!({"rooms": ["a"]}),
            json!({"rooms": ["a"], "admin": true, "moderator": false}),
            json!({"rooms": ["a"], "moderator": "yes"}),
            json!({"rooms": ["a"], "moderator": true, "visible": "no"}),
        ] {
            assert!(parse_moderator_request(&bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn a_zero_or_null_timeout_bans_for_good_and_a_negative_one_is_kept() {
        let timeout = |body: Value| parse_ban_request(&body).map(|b| b.timeout);
        assert_eq!(timeout(json!({"global": true})), Ok(None));
        assert_eq!(timeout(json!({"global": true, "timeout": null})), Ok(None));
        assert_eq!(timeout(json!({"global": true, "timeout": 0})), Ok(None));
        assert_eq!(timeout(json!({"global": true, "timeout": 0.0})), Ok(None));
        assert_eq!(
            timeout(json!({"global": true, "timeout": 60})),
            Ok(Some(60.0))
        );
        assert_eq!(
            timeout(json!({"global": true, "timeout": 1.5})),
            Ok(Some(1.5))
        );
        assert_eq!(
            timeout(json!({"global": true, "timeout": -5})),
            Ok(Some(-5.0))
        );
        for bad in [json!("60"), json!(true), json!([60])] {
            assert!(
                timeout(json!({"global": true, "timeout": bad})).is_err(),
                "{bad} accepted"
            );
        }
    }
}
