//! Per-user room permissions over HTTP (spec §5.2): the `permissions` and
//! `futurePermissions` routes, for moderators only.

use serde_json::{Value, json};
use sogs::client::SogsClient;
use sogs::clock::Clock;
use sogs::store::ModeratorRole;

use crate::rooms::{global_mod, room, room_mod, row};
use crate::support::app::TestApp;
use crate::support::{Backend, spawn_app, spawn_app_with};

async fn call(client: &SogsClient, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let req = client.build(method, path, body.to_vec(), Some("application/json"));
    let res = client.send(&req).await.unwrap();
    (res.status, res.text())
}

async fn post(client: &SogsClient, path: &str, body: Value) -> (u16, Value) {
    let res = client.post_json(path, &body).await.unwrap();
    (res.status, res.json())
}

async fn get(client: &SogsClient, path: &str) -> (u16, Value) {
    let res = client.get(path).await.unwrap();
    (res.status, res.json())
}

/// A blinded id the server has never seen.
fn stranger(app: &TestApp) -> String {
    app.user().id()
}

async fn every_permission_route_needs_a_moderator(backend: Backend) {
    let app = spawn_app(backend).await;
    let lobby = room(&app, "lobby").await;
    let sid = stranger(&app);
    let routes = [
        ("GET", "/room/lobby/permissions".to_string(), "".as_bytes()),
        ("GET", format!("/room/lobby/permissions/{sid}"), b""),
        (
            "POST",
            format!("/room/lobby/permissions/{sid}"),
            br#"{"read": false}"#,
        ),
        ("GET", "/room/lobby/futurePermissions".to_string(), b""),
        ("GET", format!("/room/lobby/futurePermissions/{sid}"), b""),
        (
            "POST",
            format!("/room/lobby/futurePermissions/{sid}"),
            br#"{"read": true, "in": 60}"#,
        ),
    ];
    let moderator = room_mod(&app, &lobby, false, false).await;
    let admin = room_mod(&app, &lobby, true, true).await;
    let global = global_mod(&app, false, false).await;
    for (method, path, body) in &routes {
        assert_eq!(
            call(&app.client(), method, path, body).await,
            (401, "X-SOGS-* request authentication required".into()),
            "{method} {path}"
        );
        assert_eq!(
            call(&app.user(), method, path, body).await,
            (
                403,
                "This endpoint requires moderator room permissions".into()
            ),
            "{method} {path}"
        );
        let elsewhere = path.replace("/lobby/", "/nope/");
        assert_eq!(
            call(&app.client(), method, &elsewhere, body).await.0,
            404,
            "{method} {elsewhere}"
        );
        for staff in [&moderator, &admin, &global] {
            let (status, text) = call(staff, method, path, body).await;
            assert_eq!(status, 200, "{method} {path}: {text}");
        }
        assert_eq!(
            call(&moderator, method, &format!("{path}/"), body).await.0,
            404,
            "{method} {path}/"
        );
    }
    // A non-moderator's malformed body is a 403, not a 400.
    assert_eq!(
        call(
            &app.user(),
            "POST",
            &format!("/room/lobby/permissions/{sid}"),
            b"oops"
        )
        .await
        .0,
        403
    );
    let wrong = call(&moderator, "DELETE", "/room/lobby/permissions", b"").await;
    assert_eq!(wrong.0, 405);
}
both_backends!(every_permission_route_needs_a_moderator);

async fn a_moderator_sets_returns_to_default_and_reads_permissions(backend: Backend) {
    let app = spawn_app(backend).await;
    let lobby = room(&app, "lobby").await;
    let moderator = room_mod(&app, &lobby, false, true).await;
    let target = app.user();
    let path = format!("/room/lobby/permissions/{}", target.id());

    // The target has never connected: the row is created for them.
    let (status, v) = post(&moderator, &path, json!({"read": false, "write": 1})).await;
    assert_eq!(status, 200);
    assert_eq!(v, json!({"read": false, "write": true}));
    assert_eq!(get(&moderator, &path).await, (200, v.clone()));
    assert_eq!(
        get(&target, "/room/lobby/pollInfo/0").await.0,
        403,
        "the override applies"
    );
    assert_eq!(get(&target, "/room/lobby").await.0, 200, "still accessible");

    let (_, all) = get(&moderator, "/room/lobby/permissions").await;
    assert_eq!(
        all,
        json!({ target.id(): {"read": false, "write": true}, moderator.id(): {"moderator": true} })
    );

    let (_, v) = post(
        &moderator,
        &path,
        json!({"default_read": true, "accessible": false, "upload": null}),
    )
    .await;
    assert_eq!(v, json!({"accessible": false, "write": true}));
    let (_, v) = post(
        &moderator,
        &path,
        json!({"default_accessible": 1, "default_write": "yes"}),
    )
    .await;
    assert_eq!(v, json!({}), "nothing left: the row is gone");
    let (_, all) = get(&moderator, "/room/lobby/permissions").await;
    assert_eq!(all, json!({ moderator.id(): {"moderator": true} }));

    let audit = app
        .state
        .store
        .audit_log(&sogs::store::AuditFilter {
            action: Some("set_permissions".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 3);
    assert_eq!(audit[0].target.as_deref(), Some(target.id().as_str()));
}
both_backends!(a_moderator_sets_returns_to_default_and_reads_permissions);

async fn the_perms_dict_shows_one_role_hidden_staff_and_bans(backend: Backend) {
    let app = spawn_app(backend).await;
    let lobby = room(&app, "lobby").await;
    let moderator = room_mod(&app, &lobby, false, true).await;
    let hidden_admin = room_mod(&app, &lobby, true, false).await;
    let banned = app.user();
    let banned_row = row(&app, &banned).await;
    app.state
        .store
        .ban_from_room(lobby.id, banned_row.id, None, 0.0)
        .await
        .unwrap();
    let path = |c: &SogsClient| format!("/room/lobby/permissions/{}", c.id());
    assert_eq!(
        get(&moderator, &path(&hidden_admin)).await,
        (200, json!({"admin": true, "hidden": true}))
    );
    assert_eq!(
        get(&moderator, &path(&moderator)).await.1,
        json!({"moderator": true})
    );
    assert_eq!(
        get(&moderator, &path(&banned)).await.1,
        json!({"banned": true})
    );
    // Overrides on another moderator are allowed; moderators bypass them anyway.
    let (status, v) = post(&moderator, &path(&hidden_admin), json!({"write": false})).await;
    assert_eq!(status, 200);
    assert_eq!(v, json!({"write": false, "admin": true, "hidden": true}));
}
both_backends!(the_perms_dict_shows_one_role_hidden_staff_and_bans);

async fn unknown_users_have_nothing_and_are_not_created_by_looking(backend: Backend) {
    let app = spawn_app(backend).await;
    let lobby = room(&app, "lobby").await;
    let moderator = room_mod(&app, &lobby, false, true).await;
    let sid = stranger(&app);
    assert_eq!(
        get(&moderator, &format!("/room/lobby/permissions/{sid}")).await,
        (200, json!({}))
    );
    assert_eq!(
        get(&moderator, &format!("/room/lobby/futurePermissions/{sid}")).await,
        (200, json!([]))
    );
    assert!(
        app.state
            .store
            .user_by_session_id(&sid)
            .await
            .unwrap()
            .is_none()
    );
}
both_backends!(unknown_users_have_nothing_and_are_not_created_by_looking);

async fn session_ids_are_case_insensitive_and_unblinded_ones_need_blinding_off(backend: Backend) {
    let app = spawn_app(backend).await;
    let lobby = room(&app, "lobby").await;
    let moderator = room_mod(&app, &lobby, false, true).await;
    let target = app.user();
    let upper = format!("15{}", target.id()[2..].to_uppercase());
    let (status, _) = post(
        &moderator,
        &format!("/room/lobby/permissions/{upper}"),
        json!({"upload": false}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        get(
            &moderator,
            &format!("/room/lobby/permissions/{}", target.id())
        )
        .await
        .1,
        json!({"upload": false}),
        "the upper-case id named the same user"
    );
    let unblinded = format!("05{}", &target.id()[2..]);
    for path in [
        format!("/room/lobby/permissions/{unblinded}"),
        format!("/room/lobby/futurePermissions/{unblinded}"),
        format!("/room/lobby/permissions/25{}", &target.id()[2..]),
        format!("/room/lobby/permissions/{}", &target.id()[..64]),
        format!("/room/lobby/permissions/{}0", target.id()),
    ] {
        assert_eq!(get(&moderator, &path).await.0, 404, "{path}");
    }

    let open = spawn_app_with(backend, |c| c.users.require_blind_keys = false).await;
    let lobby = room(&open, "lobby").await;
    let moderator = room_mod(&open, &lobby, false, true).await;
    let (status, v) = post(
        &moderator,
        &format!("/room/lobby/permissions/{unblinded}"),
        json!({"write": false}),
    )
    .await;
    assert_eq!((status, v), (200, json!({"write": false})));
}
both_backends!(session_ids_are_case_insensitive_and_unblinded_ones_need_blinding_off);

async fn malformed_permission_changes_are_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let lobby = room(&app, "lobby").await;
    let moderator = room_mod(&app, &lobby, false, true).await;
    let sid = stranger(&app);
    let path = format!("/room/lobby/permissions/{sid}");
    for body in [
        b"not json".as_slice(),
        b"",
        b"[]",
        b"null",
        b"{}",
        br#"{"unschedule": false}"#,
        br#"{"read": true, "default_read": true}"#,
        br#"{"write": false, "default_write": 2}"#,
        br#"{"read": "no"}"#,
        br#"{"upload": 0.5}"#,
        br#"{"accessible": {}}"#,
    ] {
        let (status, text) = call(&moderator, "POST", &path, body).await;
        assert_eq!(status, 400, "{}: {text}", String::from_utf8_lossy(body));
    }
    assert!(
        app.state
            .store
            .user_by_session_id(&sid)
            .await
            .unwrap()
            .is_none(),
        "a refused change creates no user"
    );
}
both_backends!(malformed_permission_changes_are_400);

async fn futures_are_scheduled_listed_and_cancelled_by_a_permission_change(backend: Backend) {
    let app = spawn_app(backend).await;
    let lobby = room(&app, "lobby").await;
    let moderator = room_mod(&app, &lobby, false, true).await;
    let target = app.user();
    let other = app.user();
    let future_path = |c: &SogsClient| format!("/room/lobby/futurePermissions/{}", c.id());
    let at = |v: &Value| v["at"].as_f64().unwrap();

    let before = Clock::system().now();
    let (status, v) = post(
        &moderator,
        &future_path(&target),
        json!({"write": true, "in": 3600}),
    )
    .await;
    assert_eq!(status, 200);
    let write_at = at(&v[0]);
    assert!(
        (before + 3600.0..before + 3660.0).contains(&write_at),
        "{v}"
    );
    assert_eq!(v, json!([{"at": write_at, "write": true}]));
    let (_, v) = post(
        &moderator,
        &future_path(&target),
        json!({"read": false, "upload": 1, "in": 60.5}),
    )
    .await;
    let read_at = at(&v[0]);
    assert!(read_at < write_at);
    assert_eq!(
        v,
        json!([
            {"at": read_at, "read": false, "upload": true},
            {"at": write_at, "write": true},
        ])
    );
    let other_row = row(&app, &other).await;
    let unban_at = read_at + 60.0;
    app.state
        .store
        .ban_from_room(lobby.id, other_row.id, Some(unban_at), 0.0)
        .await
        .unwrap();

    let (status, all) = get(&moderator, "/room/lobby/futurePermissions").await;
    assert_eq!(status, 200);
    assert_eq!(
        all,
        json!([
            {"session_id": target.id(), "at": read_at, "read": false, "upload": true},
            {"session_id": other.id(), "at": unban_at, "banned": false},
            {"session_id": target.id(), "at": write_at, "write": true},
        ])
    );
    assert_eq!(
        get(&moderator, &future_path(&other)).await.1,
        json!([{"at": unban_at, "banned": false}])
    );

    // Setting write now with unschedule off keeps the scheduled write change...
    let perms_path = format!("/room/lobby/permissions/{}", target.id());
    let (status, _) = post(
        &moderator,
        &perms_path,
        json!({"write": false, "unschedule": false}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, listed) = get(&moderator, &future_path(&target)).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    // ...and by default cancels it, as well as the scheduled read change.
    post(
        &moderator,
        &perms_path,
        json!({"write": false, "default_read": true}),
    )
    .await;
    assert_eq!(
        get(&moderator, &future_path(&target)).await.1,
        json!([{"at": read_at, "upload": true}])
    );

    // The cleanup applies what is due; a value equal to the default clears the override.
    app.state
        .store
        .apply_due_futures(read_at + 1.0)
        .await
        .unwrap();
    assert_eq!(
        get(&moderator, &perms_path).await.1,
        json!({"write": false})
    );
    assert_eq!(get(&moderator, &future_path(&target)).await.1, json!([]));
}
both_backends!(futures_are_scheduled_listed_and_cancelled_by_a_permission_change);

async fn malformed_future_changes_are_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let lobby = room(&app, "lobby").await;
    let moderator = room_mod(&app, &lobby, false, true).await;
    let path = format!("/room/lobby/futurePermissions/{}", stranger(&app));
    for body in [
        b"not json".as_slice(),
        b"[]",
        br#"{"in": 60}"#,
        br#"{"read": null, "in": 60}"#,
        br#"{"accessible": true, "in": 60}"#,
        br#"{"read": true}"#,
        br#"{"read": true, "in": null}"#,
        br#"{"read": true, "in": "60"}"#,
        br#"{"read": true, "in": true}"#,
        br#"{"read": true, "in": 0}"#,
        br#"{"read": true, "in": -1}"#,
        br#"{"read": true, "in": 1000000000}"#,
        br#"{"read": true, "in": 1e400}"#,
        br#"{"read": true, "in": 99999999999999999999999}"#,
        br#"{"read": "x", "in": 60}"#,
    ] {
        let (status, text) = call(&moderator, "POST", &path, body).await;
        assert_eq!(status, 400, "{}: {text}", String::from_utf8_lossy(body));
    }
    let (_, listed) = get(&moderator, "/room/lobby/futurePermissions").await;
    assert_eq!(listed, json!([]));
    // Still fine for a global admin who is also a hidden room moderator.
    let both = global_mod(&app, true, false).await;
    let both_row = row(&app, &both).await;
    app.state
        .store
        .set_room_moderator(
            lobby.id,
            both_row.id,
            Some(ModeratorRole {
                admin: false,
                visible: false,
            }),
        )
        .await
        .unwrap();
    assert_eq!(get(&both, "/room/lobby/futurePermissions").await.0, 200);
}
both_backends!(malformed_future_changes_are_400);
