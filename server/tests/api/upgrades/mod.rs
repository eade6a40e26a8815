//! Upgrades: every migration applied to a database that an older release filled.
//!
//! A community is built through today's HTTP API (rooms, moderators, posts with edits and
//! deletions, whispers, reactions, pins, uploads, a room image, room and global bans,
//! scheduled permission and ban changes, direct messages, activity), and what each kind of
//! user sees is recorded. Then, for every migration version `V` this binary embeds, a fresh
//! database is migrated only up to `V` (as the release whose newest migration was `V` left
//! it), the community's rows are moved into it (each table limited to the columns it had
//! then, see `support::old_schema`), and a server starts on it, which applies the rest of the
//! migrations the way an operator's upgrade does. Every recorded answer must come back the
//! same, and then the features added since must work on the old data: editing, reacting and
//! pinning old messages, the web page showing old messages, slow mode and hash bans on an
//! old room, scheduled changes made before the upgrade taking effect after it.

mod rollout;

use std::path::Path;

use serde_json::{Value, json};
use sogs::client::{ClientResponse, SogsClient};
use sogs::clock::Clock;
use sogs::crypto::keys::BlindedId;
use sogs::store::{ModeratorRole, PermissionChange, RoomUpdate};

use crate::support::app::{TestApp, start_with_clock, test_config};
use crate::support::db::Schema;
use crate::support::old_schema::copy_rows;
use crate::support::{Backend, TestDb, spawn_app_with_clock};
use crate::web::session_message;

/// When the community was built (a fixed time, so answers compare to the byte).
const T0: f64 = 1_790_000_000.0;

/// The people of the story; each has a fixed key, so every server sees the same ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    Admin,
    Moderator,
    Alice,
    Bob,
    /// Banned from the lobby.
    Carol,
    /// Loses the right to post in the lobby at T0 + 1 h (scheduled before the upgrade).
    Erin,
    /// Banned everywhere until T0 + 2 h.
    Frank,
}

const EVERYONE: [Who; 7] = [
    Who::Admin,
    Who::Moderator,
    Who::Alice,
    Who::Bob,
    Who::Carol,
    Who::Erin,
    Who::Frank,
];

impl Who {
    fn seed(self) -> [u8; 32] {
        [10 + self as u8; 32]
    }
}

/// One server of the story, the clock it runs on, and a client for each person (made
/// once: blinding a key is slow in a debug build).
struct Server {
    app: TestApp,
    clock: Clock,
    clients: std::collections::HashMap<Who, SogsClient>,
}

impl Server {
    fn new(app: TestApp, clock: Clock) -> Self {
        let clients = EVERYONE
            .iter()
            .map(|&who| {
                let client = app
                    .client()
                    .with_user_seed(who.seed())
                    .with_clock(clock.clone());
                (who, client)
            })
            .collect();
        Self {
            app,
            clock,
            clients,
        }
    }

    fn client(&self, who: Who) -> SogsClient {
        self.clients[&who].clone()
    }

    fn id(&self, who: Who) -> String {
        self.client(who).id()
    }

    /// Writes what the server holds in memory and runs the cleanup (active users, due
    /// futures) now, so what follows does not depend on when the background tasks ran.
    async fn settle(&self) {
        self.app
            .state
            .activity
            .flush(&self.app.state.store)
            .await
            .unwrap();
        sogs::tasks::run_cleanup(&self.app.state).await.unwrap();
        self.app.invalidate_caches();
    }
}

/// Ids of what the story created, to address it later.
#[derive(Debug, Clone)]
struct Made {
    hello: i64,
    reply: i64,
    deleted: i64,
    /// The sequence number at which `deleted` was posted: a client polling from there is
    /// told of the deletion.
    deleted_seqno: i64,
    with_file: i64,
    file: i64,
    image: i64,
    spam: i64,
}

fn ok(res: ClientResponse, what: &str) -> Value {
    assert!(
        (200..300).contains(&res.status),
        "{what}: {} {}",
        res.status,
        res.text()
    );
    if res.body.is_empty() {
        Value::Null
    } else {
        res.json()
    }
}

async fn post(s: &Server, who: Who, token: &str, body: Value) -> ClientResponse {
    s.client(who)
        .post_json(&format!("/room/{token}/message"), &body)
        .await
        .unwrap()
}

fn message(s: &Server, who: Who, text: &str, name: &str) -> Value {
    s.client(who)
        .message_json(&session_message(text, &[], name))
}

async fn posted(s: &Server, who: Who, token: &str, body: Value) -> i64 {
    let res = post(s, who, token, body).await;
    ok(res, "post")["id"].as_i64().unwrap()
}

async fn upload(s: &Server, who: Who, token: &str, data: &[u8], name: &str) -> i64 {
    let client = s.client(who);
    let mut req = client.build(
        "POST",
        &format!("/room/{token}/file"),
        data.to_vec(),
        Some("application/octet-stream"),
    );
    req.headers.push((
        "Content-Disposition".into(),
        format!("attachment; filename=\"{name}\""),
    ));
    ok(client.send(&req).await.unwrap(), "upload")["id"]
        .as_i64()
        .unwrap()
}

/// Builds the community on today's server, through its API wherever a client or a
/// moderator would, and through the store where `sogs-admin` would.
async fn build_community(s: &Server) -> Made {
    let store = &s.app.state.store;
    let lobby = store
        .create_room("lobby", "Lobby", Some("Where everyone meets"), T0)
        .await
        .unwrap();
    let private = store
        .create_room("private", "Private", None, T0)
        .await
        .unwrap();
    store
        .update_room_details(
            private.id,
            &RoomUpdate {
                default_read: Some(false),
                default_write: Some(false),
                ..RoomUpdate::default()
            },
            T0,
        )
        .await
        .unwrap();
    let notices = store
        .create_room("notices", "Notices", None, T0)
        .await
        .unwrap();
    store
        .update_room_details(
            notices.id,
            &RoomUpdate {
                default_write: Some(false),
                ..RoomUpdate::default()
            },
            T0,
        )
        .await
        .unwrap();
    let mut users = std::collections::HashMap::new();
    for who in EVERYONE {
        let user = store.get_or_create_user(&s.id(who), T0).await.unwrap();
        users.insert(who, user.id);
    }
    store
        .set_global_moderator(
            users[&Who::Admin],
            Some(ModeratorRole {
                admin: true,
                visible: true,
            }),
        )
        .await
        .unwrap();
    store
        .set_permissions(
            private.id,
            users[&Who::Alice],
            &PermissionChange {
                read: Some(Some(true)),
                write: Some(Some(true)),
                ..PermissionChange::default()
            },
            T0,
        )
        .await
        .unwrap();
    s.app.invalidate_caches();

    let admin = Who::Admin;
    let res = s
        .client(admin)
        .post_json(
            &format!("/user/{}/moderator", s.id(Who::Moderator)),
            &json!({"rooms": ["lobby"], "moderator": true, "visible": true}),
        )
        .await
        .unwrap();
    ok(res, "appoint the moderator");

    s.clock.advance(60.0);
    let hello = posted(
        s,
        Who::Alice,
        "lobby",
        message(s, Who::Alice, "hello everyone", "Alice"),
    )
    .await;
    s.clock.advance(20.0);
    let reply = posted(
        s,
        Who::Bob,
        "lobby",
        message(s, Who::Bob, "hi alice", "Bob"),
    )
    .await;
    s.clock.advance(20.0);
    let edit = message(s, Who::Alice, "hello everyone (edited)", "Alice");
    let res = s
        .client(Who::Alice)
        .put_json(&format!("/room/lobby/message/{hello}"), &edit)
        .await
        .unwrap();
    ok(res, "edit");
    let res = post(
        s,
        Who::Alice,
        "lobby",
        message(s, Who::Alice, "oops", "Alice"),
    )
    .await;
    let oops = ok(res, "post");
    let (deleted, deleted_seqno) = (
        oops["id"].as_i64().unwrap(),
        oops["seqno"].as_i64().unwrap(),
    );
    let res = s
        .client(Who::Alice)
        .delete(&format!("/room/lobby/message/{deleted}"))
        .await
        .unwrap();
    ok(res, "delete");
    s.clock.advance(20.0);
    let file = upload(
        s,
        Who::Bob,
        "lobby",
        b"the bytes of a cat picture",
        "cat.jpg",
    )
    .await;
    let mut with_file =
        s.client(Who::Bob)
            .message_json(&session_message("look at my cat", &["cat.jpg"], "Bob"));
    with_file["files"] = json!([file]);
    let with_file = posted(s, Who::Bob, "lobby", with_file).await;
    let image = upload(s, admin, "lobby", b"\x89PNG room image", "room.png").await;
    let res = s
        .client(admin)
        .put_json("/room/lobby", &json!({"image": image}))
        .await
        .unwrap();
    ok(res, "set the room image");

    let mut whisper = message(s, Who::Moderator, "psst, alice", "Mod");
    whisper["whisper_to"] = json!(s.id(Who::Alice));
    posted(s, Who::Moderator, "lobby", whisper).await;
    let mut to_mods = message(s, Who::Moderator, "mods only", "Mod");
    to_mods["whisper_mods"] = json!(true);
    posted(s, Who::Moderator, "lobby", to_mods).await;

    s.clock.advance(20.0);
    let spam = posted(
        s,
        Who::Carol,
        "lobby",
        message(
            s,
            Who::Carol,
            "buy cheap crypto coins now at the best prices",
            "Carol",
        ),
    )
    .await;
    let res = s
        .client(Who::Moderator)
        .post_json(
            &format!("/user/{}/ban", s.id(Who::Carol)),
            &json!({"rooms": ["lobby"]}),
        )
        .await
        .unwrap();
    ok(res, "ban carol");
    let res = s
        .client(admin)
        .post_json(
            &format!("/user/{}/ban", s.id(Who::Frank)),
            &json!({"global": true, "timeout": 7200}),
        )
        .await
        .unwrap();
    ok(res, "ban frank for two hours");

    for (who, emoji, on) in [
        (Who::Alice, "👍", reply),
        (Who::Bob, "👍", reply),
        (Who::Bob, "❤️", hello),
    ] {
        let res = s
            .client(who)
            .put_json(&format!("/room/lobby/reaction/{on}/{emoji}"), &json!({}))
            .await
            .unwrap();
        ok(res, "react");
    }
    let res = s
        .client(Who::Admin)
        .post_json(&format!("/room/lobby/pin/{hello}"), &json!({}))
        .await
        .unwrap();
    ok(res, "pin");

    posted(
        s,
        Who::Erin,
        "lobby",
        message(s, Who::Erin, "hi from erin", "Erin"),
    )
    .await;
    store
        .schedule_permission_change(
            lobby.id,
            users[&Who::Erin],
            T0 + 3600.0,
            &PermissionChange {
                write: Some(Some(false)),
                ..PermissionChange::default()
            },
        )
        .await
        .unwrap();
    posted(
        s,
        Who::Alice,
        "private",
        message(s, Who::Alice, "secret room", "Alice"),
    )
    .await;

    let alice = BlindedId::try_from(s.client(Who::Alice).session_id().unwrap()).unwrap();
    let dm = s
        .client(Who::Bob)
        .dm_json(&alice, b"a direct message")
        .unwrap();
    let res = s
        .client(Who::Bob)
        .post_json(&format!("/inbox/{}", s.id(Who::Alice)), &dm)
        .await
        .unwrap();
    ok(res, "send a DM");

    // Everyone who may read the lobby polls it, so activity is recorded for them.
    for who in EVERYONE {
        s.client(who)
            .get("/room/lobby/messages/recent")
            .await
            .unwrap();
    }
    Made {
        hello,
        reply,
        deleted,
        deleted_seqno,
        with_file,
        file,
        image,
        spam,
    }
}

/// The requests whose answers must survive every upgrade, by who asks.
fn questions(made: &Made) -> Vec<(Option<Who>, String)> {
    let Made {
        hello,
        reply,
        file,
        image,
        deleted_seqno,
        ..
    } = made;
    let asked = vec![
        (Some(Who::Alice), "/capabilities".to_string()),
        (Some(Who::Alice), "/rooms".into()),
        (Some(Who::Alice), "/room/lobby".into()),
        (Some(Who::Moderator), "/room/lobby".into()),
        (Some(Who::Admin), "/room/lobby".into()),
        (Some(Who::Erin), "/room/lobby".into()),
        (Some(Who::Alice), "/room/lobby/pollInfo/0".into()),
        (
            Some(Who::Alice),
            "/room/lobby/messages/since/0?t=r&reactors=5".into(),
        ),
        (
            Some(Who::Alice),
            format!("/room/lobby/messages/since/{deleted_seqno}?t=r"),
        ),
        (
            Some(Who::Moderator),
            "/room/lobby/messages/recent?limit=256".into(),
        ),
        (Some(Who::Alice), "/room/lobby/messages/recent".into()),
        (Some(Who::Bob), "/room/lobby/messages/recent".into()),
        (
            Some(Who::Bob),
            format!("/room/lobby/messages/before/{reply}"),
        ),
        (Some(Who::Bob), format!("/room/lobby/message/{hello}")),
        (Some(Who::Alice), format!("/room/lobby/reactors/{reply}/👍")),
        (Some(Who::Alice), format!("/room/lobby/file/{file}")),
        (Some(Who::Alice), format!("/room/lobby/file/{image}")),
        (Some(Who::Carol), "/room/lobby/messages/recent".into()),
        (Some(Who::Frank), "/room/lobby".into()),
        (Some(Who::Alice), "/room/private".into()),
        (Some(Who::Alice), "/room/private/messages/recent".into()),
        (Some(Who::Bob), "/room/private".into()),
        (Some(Who::Bob), "/room/private/messages/recent".into()),
        (Some(Who::Bob), "/room/notices".into()),
        (Some(Who::Alice), "/inbox".into()),
        (Some(Who::Bob), "/outbox".into()),
        (Some(Who::Moderator), "/room/lobby/permissions".into()),
        (Some(Who::Moderator), "/room/lobby/futurePermissions".into()),
        (None, "/r/lobby/".into()),
        (None, "/".into()),
        (Some(Who::Moderator), "/sogs-rs/room/lobby/policy".into()),
    ];
    asked
}

/// `(status, body)` of every question, the body as JSON when it is JSON.
async fn answers(s: &Server, made: &Made) -> Vec<(String, u16, Value)> {
    let mut out = Vec::new();
    for (who, path) in questions(made) {
        let label = format!("{who:?} GET {path}");
        let (status, body) = match who {
            Some(who) => {
                let res = s.client(who).get(&path).await.unwrap();
                (res.status, res.body)
            }
            None => {
                let res = s.app.get(&path).await;
                let status = res.status().as_u16();
                (status, res.bytes().await.unwrap().to_vec())
            }
        };
        let body = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
        out.push((label, status, body));
    }
    out
}

/// The recorded answers hold what the story put in (so comparing them is not comparing
/// two empty pages).
fn check_the_record(record: &[(String, u16, Value)], made: &Made) {
    let find = |label: &str| {
        record
            .iter()
            .find(|(l, _, _)| l == label)
            .unwrap_or_else(|| panic!("no answer for {label}"))
    };
    let (_, status, lobby) = find("Some(Alice) GET /room/lobby");
    assert_eq!(*status, 200);
    assert!(lobby["active_users"].as_i64().unwrap() > 0, "{lobby}");
    assert_eq!(
        lobby["pinned_messages"][0]["id"],
        json!(made.hello),
        "{lobby}"
    );
    assert_eq!(lobby["image_id"], json!(made.image), "{lobby}");
    let (_, _, since) = find("Some(Alice) GET /room/lobby/messages/since/0?t=r&reactors=5");
    let all = since.as_array().unwrap();
    let by_id = |id: i64| all.iter().find(|m| m["id"] == json!(id)).unwrap();
    assert!(by_id(made.hello)["edited"].is_number(), "{since}");
    let (_, _, later) = find(&format!(
        "Some(Alice) GET /room/lobby/messages/since/{}?t=r",
        made.deleted_seqno
    ));
    let deletion = later
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == json!(made.deleted))
        .unwrap_or_else(|| panic!("{later}"));
    assert_eq!(deletion["deleted"], json!(true), "{later}");
    assert_eq!(
        by_id(made.reply)["reactions"]["👍"]["count"],
        json!(2),
        "{since}"
    );
    assert!(by_id(made.with_file)["data"].is_string());
    assert!(
        all.iter().any(|m| m["whisper"] == json!(true)),
        "the whisper to alice: {since}"
    );
    let (_, _, recent) = find("Some(Moderator) GET /room/lobby/messages/recent?limit=256");
    assert!(
        recent
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["whisper_mods"] == json!(true)),
        "{recent}"
    );
    assert_eq!(find("Some(Carol) GET /room/lobby/messages/recent").1, 403);
    assert_eq!(find("Some(Frank) GET /room/lobby").1, 403);
    assert_eq!(find("Some(Alice) GET /room/private").1, 200);
    assert_eq!(find("Some(Bob) GET /room/private/messages/recent").1, 403);
    let (_, _, inbox) = find("Some(Alice) GET /inbox");
    assert_eq!(inbox.as_array().unwrap().len(), 1, "{inbox}");
    let (_, status, file) = find(&format!("Some(Alice) GET /room/lobby/file/{}", made.file));
    assert_eq!(*status, 200);
    assert_eq!(file, &json!("the bytes of a cat picture"));
}

/// Starts today's server over `db` in a copy of `source_data` (key and uploads), at `now`.
async fn start_over(db: TestDb, source_data: &Path, now: f64) -> Server {
    let data_dir = tempfile::tempdir().unwrap();
    copy_dir(source_data, data_dir.path());
    let config = test_config(&db, data_dir.path());
    let clock = Clock::manual(now);
    let app = start_with_clock(config, Some(db), data_dir, clock.clone()).await;
    Server::new(app, clock)
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// What was added since the first release works on the old rooms, messages and people.
async fn new_features_work_on_old_data(s: &Server, made: &Made, had: &Tables) {
    let lobby = s
        .app
        .state
        .store
        .room_by_token("lobby")
        .await
        .unwrap()
        .unwrap();
    let sequence_before = lobby.message_sequence;

    // Edit, react to and pin old messages; post anew. The sequence carries on.
    let edit = message(s, Who::Alice, "hello everyone (edited twice)", "Alice");
    let res = s
        .client(Who::Alice)
        .put_json(&format!("/room/lobby/message/{}", made.hello), &edit)
        .await
        .unwrap();
    ok(res, "edit an old message");
    let res = s
        .client(Who::Alice)
        .put_json(
            &format!("/room/lobby/reaction/{}/😀", made.hello),
            &json!({}),
        )
        .await
        .unwrap();
    ok(res, "react to an old message");
    let res = s
        .client(Who::Admin)
        .post_json(&format!("/room/lobby/pin/{}", made.reply), &json!({}))
        .await
        .unwrap();
    ok(res, "pin an old message");
    s.clock.advance(20.0);
    let new = posted(
        s,
        Who::Bob,
        "lobby",
        message(s, Who::Bob, "after the upgrade", "Bob"),
    )
    .await;
    let since = s
        .client(Who::Alice)
        .get(&format!("/room/lobby/messages/since/{sequence_before}"))
        .await
        .unwrap()
        .json();
    let changed: Vec<i64> = since
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert!(
        changed.contains(&made.hello) && changed.contains(&new),
        "changes since the old sequence {sequence_before}: {since}"
    );

    // The room page shows the old messages once the operator turns it on.
    s.app
        .state
        .store
        .set_room_web_messages(lobby.id, true)
        .await
        .unwrap();
    s.app.invalidate_caches();
    let page: Value = s
        .app
        .get("/r/lobby/messages.json")
        .await
        .json()
        .await
        .unwrap();
    let texts: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap_or(""))
        .collect();
    assert!(texts.contains(&"hi alice"), "{page}");
    assert!(texts.contains(&"look at my cat"), "{page}");
    assert!(
        !texts
            .iter()
            .any(|t| t.contains("psst") || t.contains("oops")),
        "{page}"
    );

    // A hash ban made before the upgrade still holds (if that release had them), and a new
    // one of an old message works.
    let spam_again = message(
        s,
        Who::Bob,
        "BUY cheap crypto coins now at the best prices!",
        "Bob",
    );
    if !had.hash_bans {
        let res = s
            .client(Who::Moderator)
            .post_json(
                "/sogs-rs/room/lobby/hash-bans",
                &json!({"message": made.spam}),
            )
            .await
            .unwrap();
        ok(res, "hash-ban an old message");
    }
    s.clock.advance(20.0);
    let res = post(s, Who::Bob, "lobby", spam_again).await;
    assert_eq!(
        res.status,
        403,
        "the banned text is refused: {}",
        res.text()
    );

    // Slow mode on an old room (the quiet room kept its setting if that release had it).
    let res = s
        .client(Who::Moderator)
        .post_json("/sogs-rs/room/lobby/slowmode", &json!({"seconds": 60}))
        .await
        .unwrap();
    ok(res, "slow mode");
    s.clock.advance(20.0);
    assert_eq!(
        post(
            s,
            Who::Alice,
            "lobby",
            message(s, Who::Alice, "one", "Alice")
        )
        .await
        .status,
        201
    );
    assert_eq!(
        post(
            s,
            Who::Alice,
            "lobby",
            message(s, Who::Alice, "two", "Alice")
        )
        .await
        .status,
        429
    );
    let res = s
        .client(Who::Moderator)
        .post_json("/sogs-rs/room/lobby/slowmode", &json!({"seconds": 0}))
        .await
        .unwrap();
    ok(res, "slow mode off");

    // Changes scheduled before the upgrade take effect after it: Erin loses her voice at
    // T0 + 1 h, Frank's global ban ends at T0 + 2 h, Carol stays banned until unbanned.
    s.clock.set(T0 + 2.0 * 3600.0 + 600.0);
    s.settle().await;
    assert_eq!(
        post(
            s,
            Who::Erin,
            "lobby",
            message(s, Who::Erin, "still here?", "Erin")
        )
        .await
        .status,
        403
    );
    let frank = s.client(Who::Frank).get("/room/lobby").await.unwrap();
    assert_eq!(frank.status, 200, "{}", frank.text());
    let carol = s
        .client(Who::Carol)
        .get("/room/lobby/messages/recent")
        .await
        .unwrap();
    assert_eq!(carol.status, 403);
    let res = s
        .client(Who::Moderator)
        .post_json(
            &format!("/user/{}/unban", s.id(Who::Carol)),
            &json!({"rooms": ["lobby"]}),
        )
        .await
        .unwrap();
    ok(res, "unban carol");
    assert_eq!(
        s.client(Who::Carol)
            .get("/room/lobby/messages/recent")
            .await
            .unwrap()
            .status,
        200
    );

    // The old direct message opens, and a reply goes the other way.
    let inbox = s.client(Who::Alice).get("/inbox").await.unwrap().json();
    let opened = s.client(Who::Alice).open_dm(&inbox[0]).unwrap();
    assert_eq!(opened.message, b"a direct message");
    let bob = BlindedId::try_from(s.client(Who::Bob).session_id().unwrap()).unwrap();
    let reply = s.client(Who::Alice).dm_json(&bob, b"got it").unwrap();
    let res = s
        .client(Who::Alice)
        .post_json(&format!("/inbox/{}", s.id(Who::Bob)), &reply)
        .await
        .unwrap();
    ok(res, "reply by DM");

    // The old upload still downloads, a new one works, and the room image stays.
    let old = s
        .client(Who::Bob)
        .get(&format!("/room/lobby/file/{}", made.file))
        .await
        .unwrap();
    assert_eq!(old.body, b"the bytes of a cat picture");
    upload(s, Who::Bob, "lobby", b"a new upload", "new.txt").await;
    assert_eq!(s.app.get("/r/lobby/image").await.status(), 200);
}

/// Which tables of later releases the database had before the upgrade.
#[derive(Debug, Clone, Copy)]
struct Tables {
    hash_bans: bool,
}

async fn has_table(db: &TestDb, table: &str) -> bool {
    use sqlx::Connection;
    if db.url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
        )
        .bind(table)
        .fetch_one(&mut conn)
        .await
        .unwrap()
            > 0
    } else {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar::<_, bool>("SELECT to_regclass($1) IS NOT NULL")
            .bind(table)
            .fetch_one(&mut conn)
            .await
            .unwrap()
    }
}

async fn every_migration_keeps_what_an_older_release_stored(backend: Backend) {
    // Today's server builds the community and answers the questions.
    let clock = Clock::manual(T0);
    let app = spawn_app_with_clock(backend, clock.clone(), |_| {}).await;
    let source = Server::new(app, clock);
    let made = build_community(&source).await;
    // A hash ban of Carol's text, so that it can be seen surviving the later migrations.
    let res = source
        .client(Who::Moderator)
        .post_json(
            "/sogs-rs/room/lobby/hash-bans",
            &json!({"message": made.spam}),
        )
        .await
        .unwrap();
    ok(res, "hash-ban carol's text");
    // Asking is activity (who read which room): ask once, let it count, then record.
    answers(&source, &made).await;
    source.settle().await;
    let asked_at = source.clock.now();
    let record = answers(&source, &made).await;
    check_the_record(&record, &made);
    let source_url = source.app.db.as_ref().unwrap().url.clone();
    let (_, source_db, source_data) = source.app.stop().await;
    let source_db = source_db.unwrap();

    let versions = source_db.store.known_migrations();
    assert!(versions.len() >= 2, "{versions:?}");
    for &version in &versions {
        let db = TestDb::at(backend, Schema::UpTo(version)).await;
        let copied = copy_rows(&source_url, &db.url).await;
        assert!(
            copied > 40,
            "only {copied} rows copied into schema {version}"
        );
        let had = Tables {
            hash_bans: has_table(&db, "hash_bans").await,
        };
        let server = start_over(db, source_data.path(), asked_at).await;
        let status = server.app.state.store.schema_status().await.unwrap();
        assert!(status.pending.is_empty(), "{version}: {status:?}");
        // The activity of asking was recorded before the copy: no warm-up needed here.
        server.settle().await;
        let now = answers(&server, &made).await;
        for (before, after) in record.iter().zip(&now) {
            assert_eq!(
                before, after,
                "after upgrading from schema {version}, {} answers differently",
                before.0
            );
        }
        new_features_work_on_old_data(&server, &made, &had).await;
        let (_, db, _) = server.app.stop().await;
        db.unwrap().cleanup().await;
    }
    source_db.cleanup().await;
}
both_backends!(every_migration_keeps_what_an_older_release_stored);
