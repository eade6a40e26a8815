//! Per-user room permissions on the wire (spec §5.2): the perms dict of the `permissions`
//! routes, the scheduled-change lists of `futurePermissions`, and the bodies that change
//! them.

use serde::Serialize;
use serde_json::Value;

use crate::store::{BanFuture, PermissionChange, PermissionFuture, PermissionOverride};

use super::{InvalidBody, flag, truthy};

/// A user's override row as moderators see it (PySOGS's `addExtraPermInfo`): only what is
/// set, one of `admin`/`moderator` for staff, `hidden` for staff not listed publicly, and
/// `banned` only when true.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PermsView {
    #[serde(skip_serializing_if = "is_false")]
    pub banned: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accessible: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<bool>,
    #[serde(skip_serializing_if = "is_false")]
    pub moderator: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub admin: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub hidden: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The perms dict of an override row; `None` (no row) gives `{}`.
pub fn perms_view(row: Option<&PermissionOverride>) -> PermsView {
    let Some(row) = row else {
        return PermsView::default();
    };
    let staff = row.moderator || row.admin;
    PermsView {
        banned: row.banned,
        read: row.read,
        accessible: row.accessible,
        write: row.write,
        upload: row.upload,
        moderator: staff && !row.admin,
        admin: staff && row.admin,
        hidden: staff && !row.visible_mod,
    }
}

/// One scheduled change: a permission future or a room ban future.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FutureView {
    /// Present in the room-wide list, absent in a single user's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    pub at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banned: Option<bool>,
}

/// Permission and ban futures merged into one list by time (permission changes first on a
/// tie), with session ids when `with_session_id`.
pub fn futures_view(
    permissions: &[PermissionFuture],
    bans: &[BanFuture],
    with_session_id: bool,
) -> Vec<FutureView> {
    let id = |s: &str| with_session_id.then(|| s.to_string());
    let mut list: Vec<FutureView> = permissions
        .iter()
        .map(|f| FutureView {
            session_id: id(&f.session_id),
            at: f.at,
            read: f.read,
            write: f.write,
            upload: f.upload,
            banned: None,
        })
        .chain(bans.iter().map(|f| FutureView {
            session_id: id(&f.session_id),
            at: f.at,
            read: None,
            write: None,
            upload: None,
            banned: Some(f.banned),
        }))
        .collect();
    // Stable: equal times keep the order above.
    list.sort_by(|a, b| a.at.total_cmp(&b.at));
    list
}

/// Parses a `POST /room/{token}/permissions/{sid}` body.
///
/// Each of `accessible`, `read`, `write`, `upload` may be set (bool or integer; null leaves
/// it alone), or returned to the room default with a truthy `default_<perm>`; doing both is
/// an error. Scheduled changes of the touched permissions are cancelled unless
/// `unschedule` is exactly `false`. A body that changes nothing is refused (PySOGS fails
/// with a 500 there).
pub fn parse_permission_change(body: &Value) -> Result<PermissionChange, InvalidBody> {
    let body = body.as_object().ok_or(InvalidBody::NotAnObject)?;
    let field = |name: &'static str, default: &'static str| {
        let value = body.get(name).filter(|v| !v.is_null());
        let to_default = body.get(default).is_some_and(truthy);
        match (value, to_default) {
            (Some(_), true) => Err(InvalidBody::Rule(
                "Cannot set a permission and return it to the default at once",
            )),
            (Some(v), false) => flag(v)
                .map(|b| Some(Some(b)))
                .ok_or(InvalidBody::WrongType {
                    field: name,
                    expected: "a boolean or null",
                }),
            (None, true) => Ok(Some(None)),
            (None, false) => Ok(None),
        }
    };
    let change = PermissionChange {
        accessible: field("accessible", "default_accessible")?,
        read: field("read", "default_read")?,
        write: field("write", "default_write")?,
        upload: field("upload", "default_upload")?,
        unschedule: body.get("unschedule") != Some(&Value::Bool(false)),
    };
    if change.accessible.is_none()
        && change.read.is_none()
        && change.write.is_none()
        && change.upload.is_none()
    {
        return Err(InvalidBody::Rule(
            "At least one of accessible, read, write, upload must be given",
        ));
    }
    Ok(change)
}

/// The longest delay `futurePermissions` accepts; larger values are most likely a Unix
/// timestamp sent by mistake.
pub const MAX_FUTURE_DELAY: f64 = 1e9;

/// A permission change to apply `delay` seconds from now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FutureChange {
    pub change: PermissionChange,
    pub delay: f64,
}

/// Parses a `POST /room/{token}/futurePermissions/{sid}` body: at least one of `read`,
/// `write`, `upload` (bool or integer; null means no change) and `in`, a number of seconds
/// with `0 < in < 1e9`.
pub fn parse_future_change(body: &Value) -> Result<FutureChange, InvalidBody> {
    let body = body.as_object().ok_or(InvalidBody::NotAnObject)?;
    let field = |name: &'static str| match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => flag(v)
            .map(|b| Some(Some(b)))
            .ok_or(InvalidBody::WrongType {
                field: name,
                expected: "a boolean or null",
            }),
    };
    let change = PermissionChange {
        read: field("read")?,
        write: field("write")?,
        upload: field("upload")?,
        ..PermissionChange::default()
    };
    if change.read.is_none() && change.write.is_none() && change.upload.is_none() {
        return Err(InvalidBody::Rule(
            "At least one of read, write, upload must be given",
        ));
    }
    let delay = match body.get("in") {
        Some(Value::Number(n)) => n.as_f64(),
        _ => None,
    }
    .ok_or(InvalidBody::WrongType {
        field: "in",
        expected: "a number of seconds",
    })?;
    if !(delay > 0.0 && delay < MAX_FUTURE_DELAY) {
        return Err(InvalidBody::Rule(
            "`in` must be more than 0 and less than 1e9 seconds",
        ));
    }
    Ok(FutureChange { change, delay })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn row() -> PermissionOverride {
        PermissionOverride {
            room: 1,
            user_id: 2,
            session_id: "15ab".into(),
            banned: false,
            read: None,
            accessible: None,
            write: None,
            upload: None,
            moderator: false,
            admin: false,
            visible_mod: true,
        }
    }

    fn view(row: &PermissionOverride) -> Value {
        serde_json::to_value(perms_view(Some(row))).unwrap()
    }

    #[test]
    fn no_override_row_is_an_empty_dict() {
        assert_eq!(serde_json::to_value(perms_view(None)).unwrap(), json!({}));
    }

    #[test]
    fn set_permissions_show_and_defaults_do_not() {
        let row = PermissionOverride {
            read: Some(true),
            write: Some(false),
            ..row()
        };
        assert_eq!(view(&row), json!({"read": true, "write": false}));
    }

    #[test]
    fn staff_show_one_role_and_hidden_only_when_not_visible() {
        let moderator = PermissionOverride {
            moderator: true,
            ..row()
        };
        assert_eq!(view(&moderator), json!({"moderator": true}));
        let hidden_admin = PermissionOverride {
            moderator: true,
            admin: true,
            visible_mod: false,
            ..row()
        };
        assert_eq!(view(&hidden_admin), json!({"admin": true, "hidden": true}));
        let banned = PermissionOverride {
            banned: true,
            visible_mod: false,
            ..row()
        };
        assert_eq!(
            view(&banned),
            json!({"banned": true}),
            "not staff: no hidden"
        );
    }

    #[test]
    fn futures_merge_by_time_with_only_set_keys() {
        let perm = |at: f64| PermissionFuture {
            id: 1,
            room: 1,
            user_id: 2,
            session_id: "15ab".into(),
            at,
            read: None,
            write: Some(true),
            upload: None,
        };
        let ban = BanFuture {
            id: 1,
            room: Some(1),
            user_id: 3,
            session_id: "15cd".into(),
            at: 5.0,
            banned: false,
        };
        let list =
            serde_json::to_value(futures_view(&[perm(9.0), perm(5.0)], &[ban], true)).unwrap();
        assert_eq!(
            list,
            json!([
                {"session_id": "15ab", "at": 5.0, "write": true},
                {"session_id": "15cd", "at": 5.0, "banned": false},
                {"session_id": "15ab", "at": 9.0, "write": true},
            ])
        );
        let one = serde_json::to_value(futures_view(&[perm(1.0)], &[], false)).unwrap();
        assert_eq!(one, json!([{"at": 1.0, "write": true}]));
    }

    #[test]
    fn a_permission_change_sets_clears_and_unschedules() {
        let change = parse_permission_change(&json!({
            "read": false, "write": 1, "default_upload": true, "accessible": null
        }))
        .unwrap();
        assert_eq!(change.read, Some(Some(false)));
        assert_eq!(change.write, Some(Some(true)));
        assert_eq!(change.upload, Some(None));
        assert_eq!(change.accessible, None);
        assert!(change.unschedule);
        let keep = parse_permission_change(&json!({"read": true, "unschedule": false})).unwrap();
        assert!(!keep.unschedule);
        let falsy = parse_permission_change(&json!({"read": true, "unschedule": 0})).unwrap();
        assert!(falsy.unschedule, "only an explicit false keeps futures");
    }

    #[test]
    fn a_falsy_default_flag_changes_nothing() {
        let change =
            parse_permission_change(&json!({"default_read": false, "write": true})).unwrap();
        assert_eq!(change.read, None);
    }

    #[test]
    fn malformed_permission_changes_are_refused() {
        for body in [
            json!({"read": true, "default_read": true}),
            json!({"write": false, "default_write": 1}),
            json!({"read": "yes"}),
            json!({"upload": 0.5}),
            json!({}),
            json!({"unschedule": false}),
            json!({"default_read": false}),
            json!([{"read": true}]),
            json!(null),
        ] {
            assert!(parse_permission_change(&body).is_err(), "{body} accepted");
        }
    }

    #[test]
    fn a_future_change_needs_a_permission_and_a_sane_delay() {
        let f = parse_future_change(&json!({"write": true, "in": 86400})).unwrap();
        assert_eq!(f.change.write, Some(Some(true)));
        assert_eq!(f.change.read, None);
        assert_eq!(f.delay, 86400.0);
        assert_eq!(
            parse_future_change(&json!({"read": false, "in": 0.5}))
                .unwrap()
                .delay,
            0.5
        );
    }

    #[test]
    fn malformed_future_changes_are_refused() {
        for body in [
            json!({"in": 60}),
            json!({"read": null, "in": 60}),
            json!({"read": true}),
            json!({"read": true, "in": "60"}),
            json!({"read": true, "in": true}),
            json!({"read": true, "in": 0}),
            json!({"read": true, "in": -5}),
            json!({"read": true, "in": 1e9}),
            json!({"read": true, "in": 1_700_000_000}),
            json!({"read": true, "in": u64::MAX}),
            json!({"read": "no", "in": 60}),
            json!({"accessible": true, "in": 60}),
            json!("read"),
        ] {
            assert!(parse_future_change(&body).is_err(), "{body} accepted");
        }
    }
}
