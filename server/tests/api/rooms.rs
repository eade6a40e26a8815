//! Rooms over HTTP (spec §5.2): the room object as each kind of requester sees it,
//! `GET /rooms`, `GET|PUT /room/{token}` and `pollInfo`.

use serde_json::{Value, json};
use sogs::client::SogsClient;
use sogs::store::{ModeratorRole, NewFile, NewMessage, Room, User};

use crate::support::app::TestApp;
use crate::support::{Backend, spawn_app};

/// A fixed creation time, so `created` can be checked to the byte.
pub const CREATED: f64 = 1_700_000_000.0;

pub async fn room(app: &TestApp, token: &str) -> Room {
    app.state
        .store
        .create_room(token, &format!("{token} room"), None, CREATED)
        .await
        .unwrap()
}

/// The user row of a client (created now if the server has not seen them yet).
pub async fn row(app: &TestApp, client: &SogsClient) -> User {
    app.state
        .store
        .get_or_create_user(&client.id(), CREATED)
        .await
        .unwrap()
}

/// A new user who is a moderator (or admin) of `room`.
pub async fn room_mod(app: &TestApp, room: &Room, admin: bool, visible: bool) -> SogsClient {
    let client = app.user();
    let user = row(app, &client).await;
    app.state
        .store
        .set_room_moderator(room.id, user.id, Some(ModeratorRole { admin, visible }))
        .await
        .unwrap();
    app.invalidate_caches();
    client
}

/// A new user who is a global moderator (or admin).
pub async fn global_mod(app: &TestApp, admin: bool, visible: bool) -> SogsClient {
    let client = app.user();
    let user = row(app, &client).await;
    app.state
        .store
        .set_global_moderator(user.id, Some(ModeratorRole { admin, visible }))
        .await
        .unwrap();
    app.invalidate_caches();
    client
}

/// Sets a room's default permissions directly.
pub async fn defaults(app: &TestApp, room: &Room, read: bool, accessible: bool, write: bool) {
    let update = sogs::store::RoomUpdate {
        default_read: Some(read),
        default_accessible: Some(accessible),
        default_write: Some(write),
        ..Default::default()
    };
    app.state
        .store
        .update_room_details(room.id, &update, 0.0)
        .await
        .unwrap();
    app.invalidate_caches();
}

pub async fn current(app: &TestApp, room: &Room) -> Room {
    app.state.store.room_by_id(room.id).await.unwrap().unwrap()
}

fn keys(v: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

async fn get(client: &SogsClient, path: &str) -> (u16, Value) {
    let res = client.get(path).await.unwrap();
    (res.status, res.json())
}

async fn status_and_text(
    client: &SogsClient,
    method: &str,
    path: &str,
    body: &[u8],
) -> (u16, String) {
    let req = client.build(method, path, body.to_vec(), Some("application/json"));
    let res = client.send(&req).await.unwrap();
    (res.status, res.text())
}

const ALWAYS: [&str; 12] = [
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
    "write",
];

async fn anonymous_and_plain_users_see_exactly_the_public_room_object(backend: Backend) {
    let app = spawn_app(backend).await;
    let lobby = room(&app, "lobby").await;
    let res = app.client().get("/room/lobby").await.unwrap();
    assert_eq!(res.status, 200);
    assert!(
        res.text().contains("\"created\":1700000000.0"),
        "created must be a float: {}",
        res.text()
    );
    let lobby = current(&app, &lobby).await;
    assert_eq!(
        res.json(),
        json!({
            "token": "lobby",
            "name": "lobby room",
            "info_updates": lobby.info_updates,
            "message_sequence": 0,
            "created": CREATED,
            "active_users": 0,
            "active_users_cutoff": 604800,
            "moderators": [],
            "admins": [],
            "read": true,
            "write": true,
            "upload": true,
        })
    );
    let (status, as_user) = get(&app.user(), "/room/lobby").await;
    assert_eq!(status, 200);
    assert_eq!(as_user, res.json(), "a plain user sees what anonymous does");
}
both_backends!(anonymous_and_plain_users_see_exactly_the_public_room_object);

async fn optional_keys_appear_once_set(backend: Backend) {
    let app = spawn_app(backend).await;
    let store = &app.state.store;
    let lobby = store
        .create_room("lobby", "Lobby", Some("All about it"), CREATED)
        .await
        .unwrap();
    defaults(&app, &lobby, true, true, false).await;
    let author = row(&app, &app.user()).await;
    let admin = room_mod(&app, &lobby, true, true).await;
    let admin_row = row(&app, &admin).await;
    let mut ids = Vec::new();
    for data in [b"one".as_slice(), b"two"] {
        let message = store
            .post_message(
                &NewMessage {
                    room: lobby.id,
                    author: author.id,
                    data,
                    data_size: 3,
                    signature: &[0; 64],
                    whisper_to: None,
                    whisper_mods: false,
                    filtered: false,
                },
                CREATED,
            )
            .await
            .unwrap();
        ids.push(message.id);
    }
    store
        .pin_message(lobby.id, ids[1], admin_row.id, CREATED + 1.0)
        .await
        .unwrap();
    store
        .pin_message(lobby.id, ids[0], admin_row.id, CREATED + 2.5)
        .await
        .unwrap();

    let (status, v) = get(&app.client(), "/room/lobby").await;
    assert_eq!(status, 200);
    let mut expected = ALWAYS.to_vec();
    expected.extend(["description", "pinned_messages"]);
    expected.sort_unstable();
    assert_eq!(keys(&v), expected);
    assert_eq!(v["description"], json!("All about it"));
    assert_eq!(v["write"], json!(false));
    assert_eq!(v["upload"], json!(false), "upload needs write");
    assert_eq!(v["message_sequence"], json!(2));
    assert_eq!(
        v["pinned_messages"],
        json!([
            // Whole seconds as integers, where PySOGS sends the stored float (1700000002.5),
            // which Session Android cannot decode.
            {"id": ids[1], "pinned_at": 1_700_000_001_i64, "pinned_by": admin.id()},
            {"id": ids[0], "pinned_at": 1_700_000_002_i64, "pinned_by": admin.id()},
        ])
    );
    assert_eq!(v["admins"], json!([admin.id()]));
}
both_backends!(optional_keys_appear_once_set);

async fn moderator_lists_and_role_keys_depend_on_the_requester(backend: Backend) {
    let app = spawn_app(backend).await;
    let lobby = room(&app, "lobby").await;
    let visible_mod = room_mod(&app, &lobby, false, true).await;
    let hidden_mod = room_mod(&app, &lobby, false, false).await;
    let visible_admin = room_mod(&app, &lobby, true, true).await;
    let hidden_global_admin = global_mod(&app, true, false).await;
    let visible_global_mod = global_mod(&app, false, true).await;
    // Room-level visibility wins over global: a hidden global mod who is a visible room mod.
    let both = global_mod(&app, false, false).await;
    let both_row = row(&app, &both).await;
    app.state
        .store
        .set_room_moderator(
            lobby.id,
            both_row.id,
            Some(ModeratorRole {
                admin: false,
                visible: true,
            }),
        )
        .await
        .unwrap();
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        json!(ids)
    };
    let public_mods = sorted(vec![visible_mod.id(), visible_global_mod.id(), both.id()]);

    let (_, anon) = get(&app.client(), "/room/lobby").await;
    assert_eq!(
        keys(&anon),
        ALWAYS,
        "no hidden lists or roles for anonymous"
    );
    assert_eq!(anon["moderators"], public_mods);
    assert_eq!(anon["admins"], json!([visible_admin.id()]));
    let system = app.state.key.system_session_id().to_string();
    assert!(
        !anon.to_string().contains(&system),
        "system user is never listed"
    );

    let (_, as_mod) = get(&visible_mod, "/room/lobby").await;
    let mut expected = ALWAYS.to_vec();
    expected.extend([
        "hidden_moderators",
        "hidden_admins",
        "moderator",
        "default_read",
        "default_accessible",
        "default_write",
        "default_upload",
    ]);
    expected.sort_unstable();
    assert_eq!(keys(&as_mod), expected);
    assert_eq!(as_mod["moderators"], public_mods);
    assert_eq!(as_mod["hidden_moderators"], json!([hidden_mod.id()]));
    assert_eq!(as_mod["hidden_admins"], json!([hidden_global_admin.id()]));
    assert_eq!(as_mod["moderator"], json!(true));
    assert_eq!(as_mod["default_accessible"], json!(true));
    assert!(!as_mod.to_string().contains(&system));

    let (_, as_admin) = get(&visible_admin, "/room/lobby").await;
    assert_eq!(as_admin["admin"], json!(true));
    assert_eq!(as_admin["moderator"], json!(true));
    assert!(as_admin.get("global_moderator").is_none());

    let (_, as_global) = get(&hidden_global_admin, "/room/lobby").await;
    for key in ["moderator", "admin", "global_moderator", "global_admin"] {
        assert_eq!(as_global[key], json!(true), "{key}");
    }
    let (_, as_global_mod) = get(&visible_global_mod, "/room/lobby").await;
    assert_eq!(as_global_mod["global_moderator"], json!(true));
    assert!(as_global_mod.get("global_admin").is_none());
    assert!(as_global_mod.get("admin").is_none());
}
both_backends!(moderator_lists_and_role_keys_depend_on_the_requester);

async fn the_room_list_holds_accessible_rooms_sorted_by_token(backend: Backend) {
    let app = spawn_app(backend).await;
    room(&app, "beta").await;
    room(&app, "Alpha").await;
    let secret = room(&app, "c-secret").await;
    defaults(&app, &secret, false, false, true).await;
    let lounge = room(&app, "d-lounge").await;
    defaults(&app, &lounge, false, true, true).await;
    let banned_from = room(&app, "e-banned").await;

    let tokens = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["token"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, anon) = get(&app.client(), "/rooms").await;
    assert_eq!(status, 200);
    assert_eq!(tokens(&anon), ["Alpha", "beta", "d-lounge", "e-banned"]);
    assert_eq!(anon[2]["read"], json!(false), "accessible without read");
    assert_eq!(keys(&anon[0]), ALWAYS);

    let user = app.user();
    let user_row = row(&app, &user).await;
    app.state
        .store
        .ban_from_room(banned_from.id, user_row.id, None, 0.0)
        .await
        .unwrap();
    let (_, listed) = get(&user, "/rooms").await;
    assert_eq!(tokens(&listed), ["Alpha", "beta", "d-lounge"]);

    // Deliberately unlike PySOGS: a room-only moderator sees the secret room listed, as
    // GET /room/c-secret also lets them in.
    let moderator = room_mod(&app, &secret, false, true).await;
    let (_, listed) = get(&moderator, "/rooms").await;
    assert_eq!(
        tokens(&listed),
        ["Alpha", "beta", "c-secret", "d-lounge", "e-banned"]
    );
    assert_eq!(listed[2]["moderator"], json!(true));
    assert!(listed[0].get("moderator").is_none());
    let (_, global) = get(&global_mod(&app, false, false).await, "/rooms").await;
    assert_eq!(tokens(&global).len(), 5);

    assert_eq!(app.client().get("/rooms/").await.unwrap().status, 404);
    assert_eq!(
        app.client()
            .send(&app.client().build("POST", "/rooms", b"{}".to_vec(), None))
            .await
            .unwrap()
            .status,
        405
    );
}
both_backends!(the_room_list_holds_accessible_rooms_sorted_by_token);

async fn a_room_that_cannot_be_accessed_is_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let secret = room(&app, "secret").await;
    defaults(&app, &secret, false, false, false).await;
    let lobby = room(&app, "lobby").await;
    let banned = app.user();
    let banned_row = row(&app, &banned).await;
    app.state
        .store
        .ban_from_room(lobby.id, banned_row.id, None, 0.0)
        .await
        .unwrap();
    let user = app.user();

    for (client, path) in [
        (&app.client(), "/room/secret"),
        (&user, "/room/secret"),
        (&banned, "/room/lobby"),
        (&user, "/room/nope"),
        (&user, "/room/lobby/"),
        (&user, "/room/"),
        (&user, "/room/a.b"),
        (&user, "/room/a%20b"),
    ] {
        let res = client.get(path).await.unwrap();
        assert_eq!(res.status, 404, "{path}: {}", res.text());
    }
    let long = format!("/room/{}", "x".repeat(65));
    assert_eq!(user.get(&long).await.unwrap().status, 404);
    // Tokens are case-insensitive.
    let (status, v) = get(&user, "/room/LOBBY").await;
    assert_eq!((status, v["token"].clone()), (200, json!("lobby")));
    // Moderators pass every check, the invisible room's included.
    let moderator = room_mod(&app, &secret, false, false).await;
    let (status, v) = get(&moderator, "/room/secret").await;
    assert_eq!(status, 200);
    assert_eq!(v["read"], json!(true));
    assert_eq!(v["default_read"], json!(false));
    assert_eq!(
        app.client().delete("/room/lobby").await.unwrap().status,
        405
    );
}
both_backends!(a_room_that_cannot_be_accessed_is_not_found);

async fn an_admin_updates_the_room_details_and_defaults(backend: Backend) {
    let app = spawn_app(backend).await;
    let lobby = room(&app, "lobby").await;
    let admin = room_mod(&app, &lobby, true, true).await;
    let before = current(&app, &lobby).await.info_updates;

    let res = admin
        .put_json(
            "/room/lobby",
            &json!({"name": "New\nName\u{0}", "description": "Line 1\nLine\t2\r\u{7}"}),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), json!({"info_updates": before + 2}));
    let (_, v) = get(&app.client(), "/room/lobby").await;
    assert_eq!(v["name"], json!("NewName"));
    assert_eq!(v["description"], json!("Line 1\nLine\t2"));
    assert_eq!(v["info_updates"], json!(before + 2));

    // Default permissions change silently; integers count as booleans.
    let res = admin
        .put_json(
            "/room/lobby",
            &json!({"default_write": false, "default_upload": 0, "default_read": null}),
        )
        .await
        .unwrap();
    assert_eq!(res.json(), json!({"info_updates": before + 2}));
    let (_, v) = get(&admin, "/room/lobby").await;
    assert_eq!(
        (
            &v["default_read"],
            &v["default_write"],
            &v["default_upload"]
        ),
        (&json!(true), &json!(false), &json!(false))
    );
    let (_, v) = get(&app.user(), "/room/lobby").await;
    assert_eq!((&v["write"], &v["upload"]), (&json!(false), &json!(false)));

    // An empty description removes it.
    let res = admin
        .put_json("/room/lobby", &json!({"description": "\u{1}"}))
        .await
        .unwrap();
    assert_eq!(res.json(), json!({"info_updates": before + 3}));
    let (_, v) = get(&app.client(), "/room/lobby").await;
    assert!(v.get("description").is_none());

    let global_admin = global_mod(&app, true, false).await;
    let res = global_admin
        .put_json("/room/lobby", &json!({"name": "By global"}))
        .await
        .unwrap();
    assert_eq!(res.status, 200);

    let audit = app
        .state
        .store
        .audit_log(&sogs::store::AuditFilter {
            action: Some("update_room".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 4);
    assert_eq!(audit[3].actor.as_deref(), Some(admin.id().as_str()));
}
both_backends!(an_admin_updates_the_room_details_and_defaults);

async fn only_admins_may_update_a_room_and_auth_comes_before_permission(backend: Backend) {
    let app = spawn_app(backend).await;
    let lobby = room(&app, "lobby").await;
    let moderator = room_mod(&app, &lobby, false, true).await;
    let body = br#"{"name": "x"}"#;
    assert_eq!(
        status_and_text(&app.client(), "PUT", "/room/lobby", body).await,
        (401, "X-SOGS-* request authentication required".into())
    );
    for client in [&app.user(), &moderator] {
        assert_eq!(
            status_and_text(client, "PUT", "/room/lobby", body).await,
            (403, "This endpoint requires admin room permissions".into())
        );
    }
    // An unknown room is a routing failure, reported before the decorators run.
    assert_eq!(
        status_and_text(&app.client(), "PUT", "/room/nope", body)
            .await
            .0,
        404
    );
    // A non-admin's malformed body is still a 403: permission comes first.
    assert_eq!(
        status_and_text(&moderator, "PUT", "/room/lobby", b"not json")
            .await
            .0,
        403
    );
    assert_eq!(current(&app, &lobby).await.name, "lobby room");
}
both_backends!(only_admins_may_update_a_room_and_auth_comes_before_permission);

async fn malformed_room_updates_are_400_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let lobby = room(&app, "lobby").await;
    let admin = room_mod(&app, &lobby, true, true).await;
    let before = current(&app, &lobby).await;
    for body in [
        b"not json".as_slice(),
        b"",
        b"[]",
        b"\"name\"",
        b"null",
        b"{}",
        br#"{"unknown": 1}"#,
        br#"{"default_read": null}"#,
        br#"{"name": 5}"#,
        br#"{"name": null}"#,
        br#"{"description": 5}"#,
        br#"{"image": "1"}"#,
        br#"{"image": 1.5}"#,
        br#"{"image": true}"#,
        br#"{"image": null}"#,
        br#"{"default_read": "yes"}"#,
        br#"{"default_write": 0.5}"#,
        br#"{"name": "ok", "default_upload": []}"#,
        br#"{"name": "\ud800"}"#,
        b"{\"name\": \"x\"",
    ] {
        let (status, text) = status_and_text(&admin, "PUT", "/room/lobby", body).await;
        assert_eq!(status, 400, "{}: {text}", String::from_utf8_lossy(body));
    }
    assert_eq!(current(&app, &lobby).await, before);
}
both_backends!(malformed_room_updates_are_400_and_change_nothing);

async fn the_room_image_must_be_a_file_uploaded_to_the_room(backend: Backend) {
    let app = spawn_app(backend).await;
    let store = &app.state.store;
    let lobby = room(&app, "lobby").await;
    let other = room(&app, "other").await;
    let admin = room_mod(&app, &lobby, true, true).await;
    let uploader = row(&app, &admin).await;
    let upload = |room: i64| NewFile {
        room,
        uploader: uploader.id,
        size: 10,
        filename: Some("icon.png"),
        expiry: Some(CREATED + 3600.0),
    };
    let theirs = store
        .add_file(&upload(other.id), |id| format!("other/{id}"), CREATED)
        .await
        .unwrap();
    let ours = store
        .add_file(&upload(lobby.id), |id| format!("lobby/{id}"), CREATED)
        .await
        .unwrap();
    let before = current(&app, &lobby).await;
    for image in [
        json!(theirs.id),
        json!(ours.id + 100),
        json!(-1),
        json!(0),
        json!(i64::MAX),
        json!(u64::MAX),
    ] {
        let res = admin
            .put_json("/room/lobby", &json!({ "image": image, "name": "changed" }))
            .await
            .unwrap();
        assert_eq!(res.status, 406, "image {image}: {}", res.text());
    }
    assert_eq!(current(&app, &lobby).await, before, "nothing applied");

    let res = admin
        .put_json("/room/lobby", &json!({ "image": ours.id }))
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({"info_updates": before.info_updates + 1}));
    let (_, v) = get(&app.client(), "/room/lobby").await;
    assert_eq!(v["image_id"], json!(ours.id));
    let file = store.file_by_id(ours.id).await.unwrap().unwrap();
    assert_eq!(file.expiry, None, "a room image never expires");
}
both_backends!(the_room_image_must_be_a_file_uploaded_to_the_room);

async fn poll_info_sends_details_only_when_the_client_is_behind(backend: Backend) {
    let app = spawn_app(backend).await;
    let lobby = room(&app, "lobby").await;
    let info = current(&app, &lobby).await.info_updates;
    let user = app.user();

    let (status, v) = get(&user, &format!("/room/lobby/pollInfo/{info}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        v,
        json!({"token": "lobby", "active_users": 0, "read": true, "write": true, "upload": true})
    );
    let user_row = row(&app, &user).await;
    // Activity is gathered in memory and written in bulk; write it now to look at it.
    app.state.activity.flush(&app.state.store).await.unwrap();
    assert!(
        app.state
            .store
            .room_activity(lobby.id, user_row.id)
            .await
            .unwrap()
            .is_some(),
        "polling counts as room activity"
    );

    let (_, full) = get(&user, "/room/lobby").await;
    for stale in [info + 1, info + 7, i64::MAX] {
        let (status, v) = get(&user, &format!("/room/lobby/pollInfo/{stale}")).await;
        assert_eq!(status, 200);
        assert_eq!(
            keys(&v),
            [
                "active_users",
                "details",
                "read",
                "token",
                "upload",
                "write"
            ]
        );
        assert_eq!(v["details"], full);
    }

    let (_, anon) = get(&app.client(), &format!("/room/lobby/pollInfo/{info}")).await;
    assert_eq!(
        keys(&anon),
        ["active_users", "read", "token", "upload", "write"]
    );

    let admin = room_mod(&app, &lobby, true, false).await;
    let info = current(&app, &lobby).await.info_updates;
    let (_, v) = get(&admin, &format!("/room/lobby/pollInfo/{info}")).await;
    assert_eq!(
        v,
        json!({"token": "lobby", "active_users": 0, "read": true, "write": true, "upload": true,
               "moderator": true, "admin": true, "default_read": true,
               "default_accessible": true, "default_write": true, "default_upload": true})
    );
    let global = global_mod(&app, false, true).await;
    let info = current(&app, &lobby).await.info_updates;
    let (_, v) = get(&global, &format!("/room/lobby/pollInfo/{info}")).await;
    assert_eq!(v["global_moderator"], json!(true));
    assert_eq!(v["moderator"], json!(true));
    assert!(v.get("admin").is_none() && v.get("details").is_none());

    // The way clients poll: inside a batch.
    let res = user
        .batch(&SogsClient::poll_batch(&[("lobby", info, 0)])[1..2])
        .await
        .unwrap();
    assert_eq!(res.json()[0]["code"], json!(200));
    assert_eq!(res.json()[0]["body"]["token"], json!("lobby"));
}
both_backends!(poll_info_sends_details_only_when_the_client_is_behind);

async fn poll_info_needs_read_permission_and_a_well_formed_path(backend: Backend) {
    let app = spawn_app(backend).await;
    let lounge = room(&app, "lounge").await;
    defaults(&app, &lounge, false, true, true).await;
    let secret = room(&app, "secret").await;
    defaults(&app, &secret, false, false, false).await;
    let lobby = room(&app, "lobby").await;
    let banned = app.user();
    let banned_row = row(&app, &banned).await;
    app.state
        .store
        .ban_from_room(lobby.id, banned_row.id, None, 0.0)
        .await
        .unwrap();
    let read_message = "This endpoint requires room message 'read' permission".to_string();
    for (client, path) in [
        (app.client(), "/room/lounge/pollInfo/0"),
        (app.user(), "/room/lounge/pollInfo/0"),
        (app.user(), "/room/secret/pollInfo/0"),
        (banned.clone(), "/room/lobby/pollInfo/0"),
    ] {
        assert_eq!(
            status_and_text(&client, "GET", path, b"").await,
            (403, read_message.clone()),
            "{path}"
        );
    }
    let user = app.user();
    for path in [
        "/room/nope/pollInfo/0",
        "/room/lobby/pollInfo/-1",
        "/room/lobby/pollInfo/99999999999999999999",
        "/room/lobby/pollInfo/1.5",
        "/room/lobby/pollInfo/",
        "/room/lobby/pollInfo",
        "/room/lobby/pollInfo/1/",
        "/room/lobby/pollInfo/x",
    ] {
        assert_eq!(user.get(path).await.unwrap().status, 404, "{path}");
    }
    let post = user.build("POST", "/room/lobby/pollInfo/1", b"{}".to_vec(), None);
    assert_eq!(user.send(&post).await.unwrap().status, 405);
    let moderator = room_mod(&app, &lounge, false, true).await;
    assert_eq!(get(&moderator, "/room/lounge/pollInfo/0").await.0, 200);
}
both_backends!(poll_info_needs_read_permission_and_a_well_formed_path);
