//! The room object (spec §5.2), the `pollInfo` answer, and the body of `PUT /room/{token}`.
//!
//! Optional keys are omitted rather than sent as null, as PySOGS does: clients test for a
//! key's presence (`moderator`, `hidden_moderators`, `pinned_messages`, ...), so a null
//! where PySOGS sends nothing could change their behaviour.

use serde::Serialize;
use serde_json::Value;

use crate::domain::{Need, Permissions};
use crate::store::bots::RoomBot;
use crate::store::{PinnedMessage, Room, RoomModerator, RoomUpdate};

use super::{InvalidBody, flag};

/// The full room object of `GET /room/{token}`, `GET /rooms` and pollInfo's `details`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoomDetails {
    pub token: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub info_updates: i64,
    pub message_sequence: i64,
    /// Float seconds; serde_json writes `1700000000.0`, never `1700000000`.
    pub created: f64,
    pub active_users: i64,
    pub active_users_cutoff: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pinned_messages: Vec<PinView>,
    pub moderators: Vec<String>,
    pub admins: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hidden_moderators: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hidden_admins: Vec<String>,
    pub read: bool,
    pub write: bool,
    pub upload: bool,
    #[serde(flatten)]
    pub roles: RequesterRoles,
    /// This server's additions, under one namespaced key that Session clients skip (each
    /// decodes the keys it knows: Android with `ignoreUnknownKeys`, iOS with `Codable`,
    /// the desktop by picking named keys). Absent when there is nothing to add, so a room
    /// object is otherwise exactly what it always was.
    #[serde(rename = "sogs-rs", skip_serializing_if = "Option::is_none")]
    pub extensions: Option<RoomExtensions>,
}

/// What `"sogs-rs"` holds in the room object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomExtensions {
    /// The room's registered bots, so clients that look can mark their messages.
    pub bots: Vec<BotView>,
}

/// A bot in the room object: its name and every blinded id it may post under here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BotView {
    pub name: String,
    pub ids: Vec<String>,
}

/// The `"sogs-rs"` entry for a room with these bots; `None` for a room without any.
pub fn extensions(bots: &[RoomBot]) -> Option<RoomExtensions> {
    (!bots.is_empty()).then(|| RoomExtensions {
        bots: bots
            .iter()
            .map(|b| BotView {
                name: b.name.clone(),
                ids: b.ids.clone(),
            })
            .collect(),
    })
}

/// One pinned message in the room object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PinView {
    pub id: i64,
    /// Whole seconds, a JSON integer (PySOGS sends a float with a fraction). Session Android
    /// types it as a `Long`, so a fraction fails the decode of the whole room object and the
    /// room cannot be joined or refreshed; iOS reads a double and the desktop ignores it, and
    /// both read an integer as well.
    pub pinned_at: i64,
    pub pinned_by: String,
}

/// The keys that depend on who is asking and are only present when true: moderators
/// also see the room's default permissions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RequesterRoles {
    #[serde(skip_serializing_if = "is_false")]
    pub moderator: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_read: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_accessible: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_write: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_upload: Option<bool>,
    #[serde(skip_serializing_if = "is_false")]
    pub admin: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub global_moderator: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub global_admin: bool,
}

/// The answer to `GET /room/{token}/pollInfo/{info_updated}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PollInfo {
    pub token: String,
    pub active_users: i64,
    pub read: bool,
    pub write: bool,
    pub upload: bool,
    /// Only when the client's `info_updated` is stale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<RoomDetails>,
    #[serde(flatten)]
    pub roles: RequesterRoles,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A unix time in float seconds, rounded down to whole seconds (saturating, so a corrupt
/// stored value cannot panic).
fn whole_seconds(t: f64) -> i64 {
    // `as` saturates and maps NaN to 0: the conversion wanted for a timestamp to show.
    t.floor() as i64
}

/// The requester-dependent flags.
pub fn requester_roles(room: &Room, perms: &Permissions) -> RequesterRoles {
    let defaults = |v: bool| perms.moderator.then_some(v);
    RequesterRoles {
        moderator: perms.moderator,
        default_read: defaults(room.default_read),
        default_accessible: defaults(room.default_accessible),
        default_write: defaults(room.default_write),
        default_upload: defaults(room.default_upload),
        admin: perms.admin,
        global_moderator: perms.global_moderator,
        global_admin: perms.global_admin,
    }
}

/// The moderator lists a requester may see, each sorted by session id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModeratorLists {
    pub moderators: Vec<String>,
    pub admins: Vec<String>,
    pub hidden_moderators: Vec<String>,
    pub hidden_admins: Vec<String>,
}

/// Sorts the room's moderators (room-level and global alike, the system user already left
/// out by the store) into visible and hidden, moderators and admins. Admins are not repeated
/// among moderators; hidden ones are shown only to moderators.
pub fn moderator_lists(moderators: &[RoomModerator], requester_is_mod: bool) -> ModeratorLists {
    let mut lists = ModeratorLists::default();
    for m in moderators {
        let list = match (m.visible, m.admin) {
            (true, false) => &mut lists.moderators,
            (true, true) => &mut lists.admins,
            (false, _) if !requester_is_mod => continue,
            (false, false) => &mut lists.hidden_moderators,
            (false, true) => &mut lists.hidden_admins,
        };
        list.push(m.session_id.clone());
    }
    for list in [
        &mut lists.moderators,
        &mut lists.admins,
        &mut lists.hidden_moderators,
        &mut lists.hidden_admins,
    ] {
        list.sort();
        list.dedup();
    }
    lists
}

/// The room object as `perms`'s holder sees it.
pub fn room_details(
    room: &Room,
    perms: &Permissions,
    moderators: &[RoomModerator],
    pins: &[PinnedMessage],
    active_users_cutoff: i64,
) -> RoomDetails {
    let lists = moderator_lists(moderators, perms.moderator);
    RoomDetails {
        token: room.token.clone(),
        name: room.name.clone(),
        description: room.description.clone(),
        info_updates: room.info_updates,
        message_sequence: room.message_sequence,
        created: room.created,
        active_users: room.active_users,
        active_users_cutoff,
        image_id: room.image,
        pinned_messages: pins
            .iter()
            .map(|p| PinView {
                id: p.message,
                pinned_at: whole_seconds(p.pinned_at),
                pinned_by: p.pinned_by.clone(),
            })
            .collect(),
        moderators: lists.moderators,
        admins: lists.admins,
        hidden_moderators: lists.hidden_moderators,
        hidden_admins: lists.hidden_admins,
        read: perms.allows(Need::READ),
        write: perms.allows(Need::WRITE),
        upload: perms.effective_upload(),
        roles: requester_roles(room, perms),
        extensions: None,
    }
}

/// The pollInfo answer; `details` is the full room object when the client's copy is stale.
pub fn poll_info(room: &Room, perms: &Permissions, details: Option<RoomDetails>) -> PollInfo {
    PollInfo {
        token: room.token.clone(),
        active_users: room.active_users,
        read: perms.allows(Need::READ),
        write: perms.allows(Need::WRITE),
        upload: perms.effective_upload(),
        details,
        roles: requester_roles(room, perms),
    }
}

/// Why a `PUT /room/{token}` body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomUpdateError {
    #[error(transparent)]
    Invalid(#[from] InvalidBody),
    /// `image` is an integer no file id can have (beyond i64); like a missing file, a 406.
    #[error("No such image file in this room")]
    UnknownImage,
}

impl From<RoomUpdateError> for crate::api::ApiError {
    fn from(e: RoomUpdateError) -> Self {
        match e {
            RoomUpdateError::Invalid(e) => e.into(),
            RoomUpdateError::UnknownImage => crate::api::ApiError::NotAcceptable(e.to_string()),
        }
    }
}

/// Parses a `PUT /room/{token}` body: `name` (string; control characters removed),
/// `description` (string or null; control characters other than tab and newline removed;
/// empty means none), `image` (integer file id) and `default_{read,accessible,write,upload}`
/// (bool or integer; null leaves it alone). At least one of them must be usable.
///
/// A boolean `image` is refused, although Python's `isinstance(True, int)` let PySOGS take
/// `true` for file 1.
pub fn parse_room_update(body: &Value) -> Result<RoomUpdate, RoomUpdateError> {
    let body = body.as_object().ok_or(InvalidBody::NotAnObject)?;
    let mut update = RoomUpdate::default();
    if let Some(name) = body.get("name") {
        let name = name.as_str().ok_or(InvalidBody::WrongType {
            field: "name",
            expected: "a string",
        })?;
        update.name = Some(name.chars().filter(|&c| c >= ' ').collect());
    }
    if let Some(description) = body.get("description") {
        let description = match description {
            Value::Null => None,
            Value::String(s) => Some(
                s.chars()
                    .filter(|&c| c >= ' ' || c == '\t' || c == '\n')
                    .collect::<String>(),
            )
            .filter(|s| !s.is_empty()),
            _ => {
                return Err(InvalidBody::WrongType {
                    field: "description",
                    expected: "a string or null",
                }
                .into());
            }
        };
        update.description = Some(description);
    }
    if let Some(image) = body.get("image") {
        let id = match image {
            Value::Number(n) if n.is_i64() || n.is_u64() => {
                n.as_i64().ok_or(RoomUpdateError::UnknownImage)?
            }
            _ => {
                return Err(InvalidBody::WrongType {
                    field: "image",
                    expected: "an integer file id",
                }
                .into());
            }
        };
        update.image = Some(Some(id));
    }
    let default = |field: &'static str| -> Result<Option<bool>, InvalidBody> {
        match body.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => flag(v).map(Some).ok_or(InvalidBody::WrongType {
                field,
                expected: "a boolean or integer",
            }),
        }
    };
    update.default_read = default("default_read")?;
    update.default_accessible = default("default_accessible")?;
    update.default_write = default("default_write")?;
    update.default_upload = default("default_upload")?;
    if update == RoomUpdate::default() {
        return Err(
            InvalidBody::Rule("Room update must include at least one field to update").into(),
        );
    }
    Ok(update)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn room() -> Room {
        Room {
            id: 1,
            token: "lobby".into(),
            name: "Lobby".into(),
            description: None,
            image: None,
            created: 1_700_000_000.0,
            message_sequence: 5,
            info_updates: 3,
            active_users: 2,
            default_read: true,
            default_accessible: true,
            default_write: false,
            default_upload: true,
            post_rate_limit: None,
            post_rate_window: None,
            web_messages: false,
        }
    }

    fn mod_row(session_id: &str, admin: bool, visible: bool) -> RoomModerator {
        RoomModerator {
            session_id: session_id.into(),
            admin,
            visible,
            global: false,
        }
    }

    fn anonymous(room: &Room) -> Permissions {
        Permissions::anonymous(
            room.default_read,
            room.default_accessible,
            room.default_write,
            room.default_upload,
        )
    }

    fn moderator() -> Permissions {
        Permissions::combine(
            false, false, true, true, true, true, true, false, false, false,
        )
    }

    fn keys(v: &Value) -> Vec<&str> {
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn an_anonymous_room_object_has_exactly_the_always_present_keys() {
        let room = room();
        let v =
            serde_json::to_value(room_details(&room, &anonymous(&room), &[], &[], 604800)).unwrap();
        assert_eq!(
            keys(&v),
            [
                "active_users",
                "active_users_cutoff",
                "admins",
                "created",
                "info_updates",
                "message_sequence",
                "moderators",
                "name",
                "read",
                "token",
                "upload",
                "write"
            ]
        );
        assert_eq!(v["read"], json!(true));
        assert_eq!(v["write"], json!(false));
        assert_eq!(v["upload"], json!(false), "upload needs write too");
        assert_eq!(v["moderators"], json!([]));
    }

    #[test]
    fn created_is_written_as_a_float_even_when_integral() {
        let room = room();
        let details = room_details(&room, &anonymous(&room), &[], &[], 604800);
        let text = serde_json::to_string(&details).unwrap();
        assert!(text.contains("\"created\":1700000000.0"), "{text}");
        assert!(text.contains("\"active_users_cutoff\":604800,"), "{text}");
    }

    #[test]
    fn description_image_and_pins_appear_only_when_set() {
        let mut room = room();
        room.description = Some("About".into());
        room.image = Some(7);
        let pins = [PinnedMessage {
            message: 12,
            pinned_at: 1_700_000_100.75,
            pinned_by: "15aa".into(),
        }];
        let v =
            serde_json::to_value(room_details(&room, &anonymous(&room), &[], &pins, 1)).unwrap();
        assert_eq!(v["description"], json!("About"));
        assert_eq!(v["image_id"], json!(7));
        assert_eq!(
            v["pinned_messages"],
            json!([{"id": 12, "pinned_at": 1_700_000_100_i64, "pinned_by": "15aa"}])
        );
    }

    #[test]
    fn pinned_at_is_a_json_integer_android_decodes_as_long_unlike_pysogs_float() {
        let room = room();
        let pins = [PinnedMessage {
            message: 12,
            pinned_at: 1_700_000_100.999,
            pinned_by: "15aa".into(),
        }];
        let text =
            serde_json::to_string(&room_details(&room, &anonymous(&room), &[], &pins, 1)).unwrap();
        assert!(text.contains("\"pinned_at\":1700000100,"), "{text}");
        assert_eq!(whole_seconds(f64::NAN), 0);
        assert_eq!(whole_seconds(-0.5), -1);
    }

    #[test]
    fn hidden_moderators_are_listed_only_to_moderators_and_admins_only_among_admins() {
        let mods = [
            mod_row("15b", false, true),
            mod_row("15a", false, true),
            mod_row("15c", true, true),
            mod_row("15d", false, false),
            mod_row("15e", true, false),
        ];
        let lists = moderator_lists(&mods, false);
        assert_eq!(lists.moderators, ["15a", "15b"]);
        assert_eq!(lists.admins, ["15c"]);
        assert!(lists.hidden_moderators.is_empty() && lists.hidden_admins.is_empty());
        let lists = moderator_lists(&mods, true);
        assert_eq!(lists.hidden_moderators, ["15d"]);
        assert_eq!(lists.hidden_admins, ["15e"]);
    }

    #[test]
    fn moderators_see_roles_defaults_and_hidden_lists() {
        let room = room();
        let mods = [mod_row("15d", false, false)];
        let v = serde_json::to_value(room_details(&room, &moderator(), &mods, &[], 1)).unwrap();
        assert_eq!(v["moderator"], json!(true));
        assert_eq!(v["default_read"], json!(true));
        assert_eq!(v["default_accessible"], json!(true));
        assert_eq!(v["default_write"], json!(false));
        assert_eq!(v["default_upload"], json!(true));
        assert_eq!(v["hidden_moderators"], json!(["15d"]));
        assert_eq!(v["upload"], json!(true), "moderators pass every check");
        assert!(v.get("admin").is_none() && v.get("global_moderator").is_none());
        assert!(v.get("hidden_admins").is_none(), "empty lists are omitted");
    }

    #[test]
    fn global_admins_carry_every_role_flag() {
        let room = room();
        let perms = Permissions::combine(
            false, false, true, true, true, true, false, false, false, true,
        );
        let v = serde_json::to_value(room_details(&room, &perms, &[], &[], 1)).unwrap();
        for key in ["moderator", "admin", "global_moderator", "global_admin"] {
            assert_eq!(v[key], json!(true), "{key}");
        }
    }

    #[test]
    fn poll_info_has_details_only_when_given_and_roles_at_the_top() {
        let room = room();
        let short = serde_json::to_value(poll_info(&room, &anonymous(&room), None)).unwrap();
        assert_eq!(
            short,
            json!({"token": "lobby", "active_users": 2, "read": true, "write": false,
                   "upload": false})
        );
        let details = room_details(&room, &moderator(), &[], &[], 1);
        let long = serde_json::to_value(poll_info(&room, &moderator(), Some(details))).unwrap();
        assert_eq!(long["details"]["token"], json!("lobby"));
        assert_eq!(long["moderator"], json!(true));
        assert_eq!(long["default_write"], json!(false));
    }

    #[test]
    fn bots_appear_under_one_namespaced_key_after_every_other_key_unchanged() {
        let room = room();
        let plain = serde_json::to_value(room_details(&room, &moderator(), &[], &[], 1)).unwrap();
        assert!(plain.get("sogs-rs").is_none(), "no bots, no key");
        assert_eq!(extensions(&[]), None);
        let mut details = room_details(&room, &moderator(), &[], &[], 1);
        details.extensions = extensions(&[RoomBot {
            name: "greeter".into(),
            ids: vec!["15aa".into(), "25bb".into()],
        }]);
        let mut with = serde_json::to_value(&details).unwrap();
        assert_eq!(
            with["sogs-rs"],
            json!({"bots": [{"name": "greeter", "ids": ["15aa", "25bb"]}]})
        );
        with.as_object_mut().unwrap().remove("sogs-rs");
        assert_eq!(with, plain, "every other key as it was");
    }

    #[test]
    fn a_room_update_strips_control_characters_from_name_and_description() {
        let update = parse_room_update(&json!({
            "name": "A\u{0}b\tc\nd\u{1f}e",
            "description": "x\ty\nz\u{7}\r",
        }))
        .unwrap();
        assert_eq!(update.name.as_deref(), Some("Abcde"));
        assert_eq!(update.description, Some(Some("x\ty\nz".into())));
    }

    #[test]
    fn an_empty_or_null_description_removes_it() {
        for d in [json!(""), json!("\u{1}\r"), json!(null)] {
            let update = parse_room_update(&json!({ "description": d })).unwrap();
            assert_eq!(update.description, Some(None), "{d}");
        }
    }

    #[test]
    fn defaults_take_bools_or_integers_and_null_means_unchanged() {
        let update = parse_room_update(&json!({
            "default_read": false, "default_accessible": 0, "default_write": 2,
            "default_upload": null
        }))
        .unwrap();
        assert_eq!(update.default_read, Some(false));
        assert_eq!(update.default_accessible, Some(false));
        assert_eq!(update.default_write, Some(true));
        assert_eq!(update.default_upload, None);
    }

    #[test]
    fn an_update_with_nothing_usable_is_refused() {
        for body in [
            json!({}),
            json!({"default_read": null}),
            json!({"unknown": 1}),
            json!([]),
            json!("name"),
            json!(null),
        ] {
            assert!(
                matches!(parse_room_update(&body), Err(RoomUpdateError::Invalid(_))),
                "{body} accepted"
            );
        }
    }

    #[test]
    fn wrongly_typed_fields_are_refused() {
        for body in [
            json!({"name": null}),
            json!({"name": 5}),
            json!({"description": 5}),
            json!({"description": ["x"]}),
            json!({"image": "3"}),
            json!({"image": 3.0}),
            json!({"image": true}),
            json!({"image": null}),
            json!({"default_read": "true"}),
            json!({"default_write": 1.5}),
            json!({"name": "ok", "default_upload": {}}),
        ] {
            assert!(
                matches!(parse_room_update(&body), Err(RoomUpdateError::Invalid(_))),
                "{body} accepted"
            );
        }
    }

    #[test]
    fn an_image_id_beyond_any_file_id_is_unknown_not_malformed() {
        assert_eq!(
            parse_room_update(&json!({"image": u64::MAX})),
            Err(RoomUpdateError::UnknownImage)
        );
        assert_eq!(
            parse_room_update(&json!({"image": -4})).unwrap().image,
            Some(Some(-4))
        );
    }
}
