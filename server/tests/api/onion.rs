//! Onion requests end to end: every route of the table answers the same through onion v4
//! (both ciphers) and v3 as over plain HTTP; inner requests authenticate with their own
//! headers; malformed input gets 400 (or 413), never a 500.

use serde_json::{Value, json};
use sogs::api::dispatch::ROUTES;
use sogs::api::onion::{PAD_HEADER, is_onion_path};
use sogs::client::{BuiltRequest, ClientResponse, SogsClient};
use sogs::crypto::onion::{OnionKey, seal_request};
use sogs::crypto::onion_v4::V4Response;
use sogs::crypto::{BlindedId, EncType, ServerKey};

use crate::community::{Community, id_of};
use crate::support::{Backend, spawn_app, spawn_app_with};

const V4_PATH: &str = "/oxen/v4/lsrpc";
const V3_PATHS: [&str; 2] = ["/oxen/v3/lsrpc", "/loki/v3/lsrpc"];

/// How a request travels.
#[derive(Debug, Clone, Copy)]
enum Via {
    Plain,
    V4(EncType),
    V3(EncType),
}

/// Every onion transport.
const ONION: [Via; 4] = [
    Via::V4(EncType::Aes256Gcm),
    Via::V4(EncType::XChaCha20Poly1305),
    Via::V3(EncType::Aes256Gcm),
    Via::V3(EncType::XChaCha20Poly1305),
];

async fn send(client: &SogsClient, via: Via, req: &BuiltRequest) -> ClientResponse {
    let sent = match via {
        Via::Plain => client.send(req).await,
        Via::V4(enc) => client.send_onion_v4(req, enc).await,
        Via::V3(enc) => client.send_onion_v3(req, enc).await,
    };
    sent.unwrap_or_else(|e| panic!("{via:?} {} {}: {e}", req.method, req.target))
}

/// What a case's sender is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    User,
    Admin,
    /// A global admin (the bot routes).
    Operator,
}

/// Something made anew before each send of a case (so that every transport meets the same
/// state), substituted for `{fresh}` in its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fresh {
    Nothing,
    /// A message posted by the admin; its id.
    Message,
    /// A message posted and pinned by the admin; its id.
    PinnedMessage,
    /// A message posted by the admin, with the admin's 👍; its id.
    ReactedMessage,
    /// A new user who posted one message; their session id.
    Poster,
    /// A new user the server knows; their session id.
    User,
    /// A direct message from the peer to the sender (nothing substituted).
    DmToSender,
}

/// A request body.
#[derive(Debug, Clone)]
enum CaseBody {
    None,
    Json(Value),
    Bytes(&'static [u8], &'static str),
}

/// One request to send every way, under the route pattern it exercises.
#[derive(Debug, Clone)]
struct Case {
    route: &'static str,
    who: Who,
    method: &'static str,
    target: String,
    body: CaseBody,
    fresh: Fresh,
    /// The status plain HTTP answers (a check that the fixtures do what the case means).
    status: u16,
}

impl Case {
    fn new(route: &'static str, who: Who, method: &'static str, target: &str) -> Self {
        Self {
            route,
            who,
            method,
            target: target.to_string(),
            body: CaseBody::None,
            fresh: Fresh::Nothing,
            status: 200,
        }
    }

    fn answers(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    fn json(mut self, json: Value) -> Self {
        self.body = CaseBody::Json(json);
        self
    }

    fn bytes(mut self, data: &'static [u8], content_type: &'static str) -> Self {
        self.body = CaseBody::Bytes(data, content_type);
        self
    }

    fn fresh(mut self, fresh: Fresh) -> Self {
        self.fresh = fresh;
        self
    }

    /// A freshly signed request (a new nonce each time, so none is a replay).
    fn build(&self, client: &SogsClient, fresh: &str) -> BuiltRequest {
        let target = self.target.replace("{fresh}", fresh);
        match &self.body {
            CaseBody::None => client.build(self.method, &target, Vec::new(), None),
            CaseBody::Json(json) => client.build_json(self.method, &target, json),
            CaseBody::Bytes(data, ct) => {
                client.build(self.method, &target, data.to_vec(), Some(ct))
            }
        }
    }
}

/// A community with what the cases need: a room with a message (with a 👍 from the user) and
/// a file, a user, an admin and a peer for direct messages.
struct World {
    c: Community,
    anonymous: SogsClient,
    user: SogsClient,
    admin: SogsClient,
    operator: SogsClient,
    peer: SogsClient,
    message: i64,
    file: i64,
}

impl World {
    async fn new(backend: Backend) -> Self {
        let c = Community::new(backend).await;
        let anonymous = c.anonymous();
        let user = c.user().await;
        let admin = c.admin().await;
        let operator = c.user().await;
        let operator_row = c.known(&operator).await;
        c.app
            .state
            .store
            .set_global_moderator(
                operator_row.id,
                Some(sogs::store::ModeratorRole {
                    admin: true,
                    visible: false,
                }),
            )
            .await
            .unwrap();
        c.changed();
        let peer = c.user().await;
        let message = id_of(&c.post(&admin, b"the first message").await);
        c.react(&user, message, "👍").await;
        let upload = admin
            .send(&admin.build(
                "POST",
                &c.path("/file"),
                b"file contents".to_vec(),
                Some("application/octet-stream"),
            ))
            .await
            .unwrap();
        assert_eq!(upload.status, 201, "{}", upload.text());
        let file = upload.json()["id"].as_i64().unwrap();
        let dm = peer.dm_json(&blinded(&user), b"hello").unwrap();
        let sent = peer
            .post_json(&format!("/inbox/{}", user.id()), &dm)
            .await
            .unwrap();
        assert_eq!(sent.status, 201, "{}", sent.text());
        Self {
            c,
            anonymous,
            user,
            admin,
            operator,
            peer,
            message,
            file,
        }
    }

    fn client(&self, who: Who) -> &SogsClient {
        match who {
            Who::Anonymous => &self.anonymous,
            Who::User => &self.user,
            Who::Admin => &self.admin,
            Who::Operator => &self.operator,
        }
    }

    /// Makes what `fresh` names, over plain HTTP, and returns the text for `{fresh}`.
    async fn make(&self, fresh: Fresh, sender: &SogsClient) -> String {
        let c = &self.c;
        match fresh {
            Fresh::Nothing => String::new(),
            Fresh::Message => id_of(&c.post(&self.admin, b"fresh").await).to_string(),
            Fresh::PinnedMessage => {
                let id = id_of(&c.post(&self.admin, b"to pin").await);
                let res = self
                    .admin
                    .post_json(&c.path(&format!("/pin/{id}")), &json!({}))
                    .await
                    .unwrap();
                assert_eq!(res.status, 200, "{}", res.text());
                id.to_string()
            }
            Fresh::ReactedMessage => {
                let id = id_of(&c.post(&self.admin, b"to react to").await);
                c.react(&self.admin, id, "👍").await;
                id.to_string()
            }
            Fresh::Poster => {
                let poster = c.user().await;
                c.post(&poster, b"mine").await;
                poster.id()
            }
            Fresh::User => c.user().await.id(),
            Fresh::DmToSender => {
                let dm = self.peer.dm_json(&blinded(sender), b"hi").unwrap();
                let res = self
                    .peer
                    .post_json(&format!("/inbox/{}", sender.id()), &dm)
                    .await
                    .unwrap();
                assert_eq!(res.status, 201, "{}", res.text());
                String::new()
            }
        }
    }
}

fn blinded(client: &SogsClient) -> BlindedId {
    BlindedId::try_from(client.session_id().unwrap()).unwrap()
}

/// Keys whose numbers differ between two sends of the same request for reasons unrelated to
/// the transport: ids and sequence numbers of fresh objects, timestamps, counters.
const VOLATILE: &[&str] = &[
    "id",
    "seqno",
    "posted",
    "edited",
    "created",
    "expires",
    "expiry",
    "expires_at",
    "posted_at",
    "at",
    "pinned_at",
    "message_sequence",
    "info_updates",
    "active_users",
    // Moderation answers map room tokens to their info_updates.
    crate::community::TOKEN,
];

/// The body as JSON when it is JSON, else as text, with volatile numbers zeroed and the fresh
/// value replaced by a marker.
fn normalized(response: &ClientResponse, fresh: &str) -> Value {
    let body =
        serde_json::from_slice(&response.body).unwrap_or_else(|_| Value::String(response.text()));
    mask(body, fresh)
}

fn mask(value: Value, fresh: &str) -> Value {
    match value {
        Value::String(s) if !fresh.is_empty() && s == fresh => Value::String("<fresh>".into()),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| mask(v, fresh)).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::Number(_) if VOLATILE.contains(&k.as_str()) => json!(0),
                        other => mask(other, fresh),
                    };
                    let k = if !fresh.is_empty() && k == fresh {
                        "<fresh>".into()
                    } else {
                        k
                    };
                    (k, v)
                })
                .collect(),
        ),
        other => other,
    }
}

/// Sends `case` over plain HTTP and through every onion transport (making its fresh state
/// anew before each) and checks they agree: the same status, and the same body once volatile
/// numbers are masked (v3 carries only the body of a 2xx, and not which 2xx it was). Returns
/// the plain response.
async fn assert_same_everywhere(w: &World, case: &Case) -> ClientResponse {
    let client = w.client(case.who);
    let fresh = w.make(case.fresh, client).await;
    let plain = send(client, Via::Plain, &case.build(client, &fresh)).await;
    assert_ne!(plain.status, 500, "{case:?}");
    let expected = normalized(&plain, &fresh);
    for via in ONION {
        let fresh = w.make(case.fresh, client).await;
        let got = send(client, via, &case.build(client, &fresh)).await;
        // v3 replies carry a 2xx body without its status.
        let status = match via {
            Via::V3(_) if (200..300).contains(&plain.status) => 200,
            _ => plain.status,
        };
        assert_eq!(got.status, status, "{via:?} {case:?}: {}", got.text());
        match via {
            Via::V3(_) if !(200..300).contains(&plain.status) => {
                assert!(got.body.is_empty(), "{via:?} {case:?}")
            }
            _ => assert_eq!(normalized(&got, &fresh), expected, "{via:?} {case:?}"),
        }
    }
    plain
}

/// Requests for every route in the table. A route added to `dispatch::ROUTES` must get a
/// case here (`every_route_in_the_table_has_onion_cases` checks).
fn cases(w: &World) -> Vec<Case> {
    use Who::{Admin, Anonymous, User};
    let room = |rest: &str| w.c.path(rest);
    let (msg, file, user, peer) = (w.message, w.file, w.user.id(), w.peer.id());
    let admin_dm = w
        .admin
        .dm_json(&blinded(&w.peer), b"from the admin")
        .unwrap();
    vec![
        // General (§5.1).
        Case::new("/capabilities", Anonymous, "GET", "/capabilities"),
        Case::new(
            "/capabilities",
            User,
            "GET",
            "/capabilities?required=sogs,blind",
        ),
        Case::new(
            "/capabilities",
            Anonymous,
            "GET",
            "/capabilities?required=sogs,nope,,nope",
        )
        .answers(412),
        Case::new("/batch", User, "POST", "/batch")
            .json(Value::Array(SogsClient::poll_batch(&[("lobby", 0, 0)]))),
        Case::new("/batch", Anonymous, "POST", "/batch").json(json!([
            {"method": "GET", "path": "/capabilities?required=x"},
            {"method": "POST", "path": "/batch", "json": []},
            {"method": "POST", "path": "/oxen/v4/lsrpc", "b64": "AAAA"},
            {"method": "GET", "path": "/no/such/route"},
        ])),
        Case::new("/batch", User, "POST", "/batch")
            .json(json!({"not": "a list"}))
            .answers(400),
        Case::new("/sequence", User, "POST", "/sequence").json(json!([
            {"method": "GET", "path": "/capabilities"},
            {"method": "GET", "path": "/capabilities?required=zzz"},
            {"method": "GET", "path": "/capabilities"},
        ])),
        Case::new("unmatched", User, "GET", "/no/such/route").answers(404),
        Case::new("unmatched", Anonymous, "GET", "/r%C3%A9sum%C3%A9?x=%20").answers(404),
        Case::new("unmatched", User, "DELETE", "/capabilities").answers(405),
        Case::new("unmatched", User, "GET", "/capabilities/").answers(404),
        // Rooms and permissions (§5.2).
        Case::new("/rooms", User, "GET", "/rooms"),
        Case::new("/room/{token}", Anonymous, "GET", &room("")),
        Case::new("/room/{token}", User, "GET", &room("")),
        Case::new("/room/{token}", User, "GET", "/room/nowhere").answers(404),
        Case::new("/room/{token}", Admin, "PUT", &room(""))
            .json(json!({"description": "Set through every transport"})),
        Case::new("/room/{token}", User, "PUT", &room(""))
            .json(json!({"name": "x"}))
            .answers(403),
        Case::new(
            "/room/{token}/pollInfo/{info_updated:int}",
            User,
            "GET",
            &room("/pollInfo/0"),
        ),
        Case::new(
            "/room/{token}/permissions",
            Admin,
            "GET",
            &room("/permissions"),
        ),
        Case::new(
            "/room/{token}/permissions/{sid:sid}",
            Admin,
            "GET",
            &room(&format!("/permissions/{user}")),
        ),
        Case::new(
            "/room/{token}/permissions/{sid:sid}",
            Admin,
            "POST",
            &room("/permissions/{fresh}"),
        )
        .json(json!({"write": false}))
        .fresh(Fresh::User),
        Case::new(
            "/room/{token}/futurePermissions",
            Admin,
            "GET",
            &room("/futurePermissions"),
        ),
        Case::new(
            "/room/{token}/futurePermissions/{sid:sid}",
            Admin,
            "GET",
            &room(&format!("/futurePermissions/{user}")),
        ),
        Case::new(
            "/room/{token}/futurePermissions/{sid:sid}",
            Admin,
            "POST",
            &room("/futurePermissions/{fresh}"),
        )
        .json(json!({"in": 3600, "write": false}))
        .fresh(Fresh::User),
        // Messages (§5.3).
        Case::new(
            "/room/{token}/messages/since/{seqno:int}",
            User,
            "GET",
            &room("/messages/since/0?t=r&reactors=5"),
        ),
        Case::new(
            "/room/{token}/messages/recent",
            Anonymous,
            "GET",
            &room("/messages/recent"),
        ),
        Case::new(
            "/room/{token}/messages/before/{id:int}",
            User,
            "GET",
            &room(&format!("/messages/before/{}", msg + 1_000_000)),
        ),
        Case::new(
            "/room/{token}/message/{id:int}",
            User,
            "GET",
            &room(&format!("/message/{msg}")),
        ),
        Case::new(
            "/room/{token}/message/{id:int}",
            User,
            "GET",
            &room("/message/999999"),
        )
        .answers(404),
        Case::new(
            "/room/{token}/message/{id:int}",
            Admin,
            "PUT",
            &room("/message/{fresh}"),
        )
        .json(w.admin.message_json(b"edited"))
        .fresh(Fresh::Message),
        Case::new(
            "/room/{token}/message/{id:int}",
            Admin,
            "DELETE",
            &room("/message/{fresh}"),
        )
        .fresh(Fresh::Message),
        Case::new("/room/{token}/message", Admin, "POST", &room("/message"))
            .json(w.admin.message_json(b"posted through every transport"))
            .answers(201),
        Case::new(
            "/room/{token}/message",
            Anonymous,
            "POST",
            &room("/message"),
        )
        .json(w.user.message_json(b"anonymous"))
        .answers(401),
        Case::new(
            "/room/{token}/all/{sid:sid}",
            Admin,
            "DELETE",
            &room("/all/{fresh}"),
        )
        .fresh(Fresh::Poster),
        Case::new(
            "/rooms/all/{sid:sid}",
            Admin,
            "DELETE",
            "/rooms/all/{fresh}",
        )
        .fresh(Fresh::Poster),
        // Reactions (§5.4).
        Case::new(
            "/room/{token}/reaction/{id:int}/{reaction:tail}",
            User,
            "PUT",
            &room("/reaction/{fresh}/👍"),
        )
        .json(json!({}))
        .fresh(Fresh::Message),
        Case::new(
            "/room/{token}/reaction/{id:int}/{reaction:tail}",
            Admin,
            "DELETE",
            &room("/reaction/{fresh}/👍"),
        )
        .fresh(Fresh::ReactedMessage),
        Case::new(
            "/room/{token}/reactions/{id:int}",
            Admin,
            "DELETE",
            &room("/reactions/{fresh}"),
        )
        .fresh(Fresh::ReactedMessage),
        Case::new(
            "/room/{token}/reactions/{id:int}/{reaction:tail}",
            Admin,
            "DELETE",
            &room("/reactions/{fresh}/%F0%9F%91%8D"),
        )
        .fresh(Fresh::ReactedMessage),
        Case::new(
            "/room/{token}/reactors/{id:int}/{reaction:tail}",
            User,
            "GET",
            &room(&format!("/reactors/{msg}/👍?limit=5")),
        ),
        // Pins (unpinning first: pins left by the pin cases would change what unpin/all
        // reports).
        Case::new(
            "/room/{token}/unpin/{id:int}",
            Admin,
            "POST",
            &room("/unpin/{fresh}"),
        )
        .json(json!({}))
        .fresh(Fresh::PinnedMessage),
        Case::new(
            "/room/{token}/unpin/all",
            Admin,
            "POST",
            &room("/unpin/all"),
        )
        .json(json!({}))
        .fresh(Fresh::PinnedMessage),
        Case::new(
            "/room/{token}/pin/{id:int}",
            Admin,
            "POST",
            &room("/pin/{fresh}"),
        )
        .json(json!({}))
        .fresh(Fresh::Message),
        Case::new(
            "/room/{token}/pin/{id:int}",
            User,
            "POST",
            &room(&format!("/pin/{msg}")),
        )
        .json(json!({}))
        .answers(403),
        // Files (§5.5).
        Case::new("/room/{token}/file", User, "POST", &room("/file"))
            .bytes(
                b"uploaded through every transport",
                "application/octet-stream",
            )
            .answers(201),
        Case::new(
            "/room/{token}/file/{id:int}",
            User,
            "GET",
            &room(&format!("/file/{file}")),
        ),
        Case::new(
            "/room/{token}/file/{id:int}",
            Anonymous,
            "GET",
            &room("/file/999999"),
        )
        .answers(404),
        Case::new(
            "/room/{token}/file/{id:int}/{name:tail}",
            User,
            "GET",
            &room(&format!("/file/{file}/notes.txt")),
        ),
        // Direct messages (§5.7).
        Case::new("/inbox", User, "GET", "/inbox"),
        Case::new("/inbox", Anonymous, "GET", "/inbox").answers(401),
        // The admin, whose inbox holds only what the fresh step puts there.
        Case::new("/inbox", Admin, "DELETE", "/inbox").fresh(Fresh::DmToSender),
        Case::new("/inbox/since/{id:int}", User, "GET", "/inbox/since/0"),
        Case::new(
            "/inbox/{sid:blinded}",
            Admin,
            "POST",
            &format!("/inbox/{peer}"),
        )
        .json(admin_dm)
        .answers(201),
        Case::new("/outbox", Admin, "GET", "/outbox"),
        Case::new("/outbox/since/{id:int}", Admin, "GET", "/outbox/since/0"),
        // Moderators and bans (§5.6), on a fresh user each time.
        Case::new(
            "/user/{sid:any_sid}/moderator",
            Admin,
            "POST",
            "/user/{fresh}/moderator",
        )
        .json(json!({"rooms": [crate::community::TOKEN], "moderator": true}))
        .fresh(Fresh::User),
        Case::new(
            "/user/{sid:any_sid}/ban",
            Admin,
            "POST",
            "/user/{fresh}/ban",
        )
        .json(json!({"rooms": [crate::community::TOKEN], "timeout": 3600}))
        .fresh(Fresh::User),
        Case::new(
            "/user/{sid:any_sid}/ban",
            Anonymous,
            "POST",
            "/user/{fresh}/ban",
        )
        .json(json!({"rooms": [crate::community::TOKEN]}))
        .fresh(Fresh::User)
        .answers(401),
        Case::new(
            "/user/{sid:any_sid}/unban",
            Admin,
            "POST",
            "/user/{fresh}/unban",
        )
        .json(json!({"rooms": [crate::community::TOKEN]}))
        .fresh(Fresh::User),
    ]
    .into_iter()
    .chain(defence_cases(&peer.to_string()))
    .chain(bot_cases())
    .collect()
}

/// The bot routes (global admins only): a listing, and refusals that change nothing, so
/// every transport meets the same state. Their effects are tested in `bots.rs`.
fn bot_cases() -> Vec<Case> {
    use Who::{Anonymous, Operator as Admin, User};
    let t = crate::community::TOKEN;
    vec![
        Case::new("/sogs-rs/bots", Admin, "GET", "/sogs-rs/bots"),
        Case::new("/sogs-rs/bots", User, "GET", "/sogs-rs/bots").answers(403),
        Case::new("/sogs-rs/bots", Anonymous, "GET", "/sogs-rs/bots").answers(401),
        Case::new("/sogs-rs/bots", User, "POST", "/sogs-rs/bots")
            .json(json!({"name": "greeter", "rooms": [t]}))
            .answers(403),
        Case::new("/sogs-rs/bots", Admin, "POST", "/sogs-rs/bots")
            .json(json!([]))
            .answers(400),
        Case::new("/sogs-rs/bots", Admin, "POST", "/sogs-rs/bots")
            .json(json!({"name": "bad name", "rooms": [t]}))
            .answers(400),
        Case::new("/sogs-rs/bots", Admin, "POST", "/sogs-rs/bots")
            .json(json!({"name": "greeter", "rooms": ["nowhere"]}))
            .answers(400),
        Case::new(
            "/sogs-rs/bots/{name}",
            Admin,
            "POST",
            "/sogs-rs/bots/nobody",
        )
        .json(json!({"moderator": true}))
        .answers(404),
        Case::new("/sogs-rs/bots/{name}", User, "POST", "/sogs-rs/bots/nobody")
            .json(json!({"moderator": true}))
            .answers(403),
        Case::new(
            "/sogs-rs/bots/{name}",
            Admin,
            "DELETE",
            "/sogs-rs/bots/nobody",
        )
        .answers(404),
        Case::new(
            "/sogs-rs/bots/{name}",
            User,
            "DELETE",
            "/sogs-rs/bots/nobody",
        )
        .answers(403),
    ]
}

/// The room-defence routes (`/sogs-rs/…`), as a member who is no moderator or an anonymous
/// caller sends them: each answer (400 for a body that is not an object, 401, 403) leaves
/// the room as it was, so every transport meets the same state. Their effects are tested
/// in `antiraid.rs` and `detectors.rs`.
fn defence_cases(peer: &str) -> Vec<Case> {
    use Who::{Anonymous, User};
    let t = crate::community::TOKEN;
    let at = |rest: &str| format!("/sogs-rs/room/{t}/{rest}");
    let not_an_object = || json!([]);
    vec![
        Case::new("/sogs-rs/room/{token}/policy", User, "GET", &at("policy")).answers(403),
        Case::new("/sogs-rs/room/{token}/invites", User, "GET", &at("invites")).answers(403),
        Case::new(
            "/sogs-rs/room/{token}/invites",
            User,
            "POST",
            &at("invites"),
        )
        .json(not_an_object())
        .answers(400),
        Case::new(
            "/sogs-rs/room/{token}/invites/revoke",
            User,
            "POST",
            &at("invites/revoke"),
        )
        .json(not_an_object())
        .answers(400),
        Case::new(
            "/sogs-rs/room/{token}/slowmode",
            User,
            "POST",
            &at("slowmode"),
        )
        .json(not_an_object())
        .answers(400),
        Case::new(
            "/sogs-rs/room/{token}/lockdown",
            User,
            "POST",
            &at("lockdown"),
        )
        .json(not_an_object())
        .answers(400),
        Case::new("/sogs-rs/room/{token}/unlock", User, "POST", &at("unlock")).answers(403),
        Case::new(
            "/sogs-rs/room/{token}/raid-detection",
            User,
            "POST",
            &at("raid-detection"),
        )
        .json(not_an_object())
        .answers(400),
        Case::new(
            "/sogs-rs/room/{token}/flood-detection",
            User,
            "POST",
            &at("flood-detection"),
        )
        .json(not_an_object())
        .answers(400),
        Case::new(
            "/sogs-rs/room/{token}/retention",
            User,
            "POST",
            &at("retention"),
        )
        .json(json!({"max_age": 86400}))
        .answers(403),
        Case::new(
            "/sogs-rs/room/{token}/probation",
            User,
            "POST",
            &at("probation"),
        )
        .json(not_an_object())
        .answers(400),
        Case::new(
            "/sogs-rs/room/{token}/captcha",
            User,
            "POST",
            &at("captcha"),
        )
        .json(serde_json::json!({ "enabled": true }))
        .answers(403),
        Case::new(
            "/sogs-rs/room/{token}/captcha",
            User,
            "POST",
            &at("captcha"),
        )
        .json(not_an_object())
        .answers(400),
        Case::new(
            "/sogs-rs/dm/{sid:any_sid}",
            Who::Admin,
            "POST",
            &format!("/sogs-rs/dm/{peer}"),
        )
        .json(serde_json::json!({ "message": "from the server" }))
        .answers(403),
        Case::new(
            "/sogs-rs/dm/{sid:any_sid}",
            Anonymous,
            "POST",
            &format!("/sogs-rs/dm/{peer}"),
        )
        .json(serde_json::json!({ "message": "from the server" }))
        .answers(401),
        Case::new(
            "/sogs-rs/room/{token}/probation/lift/{sid:any_sid}",
            User,
            "POST",
            &at(&format!("probation/lift/{peer}")),
        )
        .answers(403),
        Case::new("/sogs-rs/room/{token}/media", User, "POST", &at("media"))
            .json(not_an_object())
            .answers(400),
        Case::new(
            "/sogs-rs/room/{token}/media/{sid:any_sid}",
            User,
            "POST",
            &at(&format!("media/{peer}")),
        )
        .json(not_an_object())
        .answers(400),
        Case::new("/sogs-rs/room/{token}/joins", User, "GET", &at("joins")).answers(403),
        Case::new(
            "/sogs-rs/room/{token}/ban-first-seen",
            User,
            "POST",
            &at("ban-first-seen"),
        )
        .json(not_an_object())
        .answers(400),
        Case::new(
            "/sogs-rs/room/{token}/timeout/{sid:any_sid}",
            User,
            "POST",
            &at(&format!("timeout/{peer}")),
        )
        .json(not_an_object())
        .answers(400),
        Case::new(
            "/sogs-rs/room/{token}/timeout/{sid:any_sid}",
            User,
            "DELETE",
            &at(&format!("timeout/{peer}")),
        )
        .answers(403),
        Case::new(
            "/sogs-rs/user/{sid:any_sid}/purge",
            Anonymous,
            "POST",
            &format!("/sogs-rs/user/{peer}/purge"),
        )
        .json(json!({"rooms": [t]}))
        .answers(401),
        Case::new(
            "/sogs-rs/room/{token}/hash-bans",
            User,
            "POST",
            &at("hash-bans"),
        )
        .json(not_an_object())
        .answers(400),
        Case::new(
            "/sogs-rs/room/{token}/hash-bans",
            User,
            "GET",
            &at("hash-bans"),
        )
        .answers(403),
        Case::new(
            "/sogs-rs/room/{token}/hash-bans/{id:int}",
            User,
            "DELETE",
            &at("hash-bans/1"),
        )
        .answers(403),
        Case::new(
            "/sogs-rs/room/{token}/message/{id:int}/report",
            User,
            "POST",
            &at("message/999999/report"),
        )
        .json(json!({"reason": "spam"}))
        .answers(404),
        Case::new(
            "/sogs-rs/room/{token}/message/{id:int}/report",
            User,
            "POST",
            &at("message/999999/report"),
        )
        .json(not_an_object())
        .answers(400),
        Case::new(
            "/sogs-rs/room/{token}/message/{id:int}/report",
            Anonymous,
            "POST",
            &at("message/1/report"),
        )
        .json(json!({}))
        .answers(401),
        Case::new("/sogs-rs/room/{token}/reports", User, "GET", &at("reports")).answers(403),
        Case::new(
            "/sogs-rs/room/{token}/reports/{id:int}",
            User,
            "POST",
            &at("reports/1"),
        )
        .json(json!({"action": "delete"}))
        .answers(403),
        Case::new(
            "/sogs-rs/room/{token}/reports/{id:int}",
            User,
            "POST",
            &at("reports/1"),
        )
        .json(json!({"action": "nuke"}))
        .answers(400),
        Case::new(
            "/sogs-rs/room/{token}/report-policy",
            User,
            "POST",
            &at("report-policy"),
        )
        .json(json!({"hide_after": 3}))
        .answers(403),
        Case::new(
            "/sogs-rs/room/{token}/report-policy",
            User,
            "POST",
            &at("report-policy"),
        )
        .json(not_an_object())
        .answers(400),
    ]
}

async fn every_route_in_the_table_has_onion_cases(backend: Backend) {
    let w = World::new(backend).await;
    let covered: Vec<&str> = cases(&w).iter().map(|case| case.route).collect();
    for (_, pattern, _) in ROUTES {
        assert!(
            is_onion_path(pattern) || covered.contains(pattern),
            "route {pattern} has no case in tests/api/onion.rs `cases()`: add one so it is \
             checked through onion v4 and v3 against plain HTTP"
        );
    }
}
both_backends!(every_route_in_the_table_has_onion_cases);

async fn every_route_answers_the_same_through_onion_as_over_plain_http(backend: Backend) {
    let w = World::new(backend).await;
    for case in cases(&w) {
        let plain = assert_same_everywhere(&w, &case).await;
        assert_eq!(plain.status, case.status, "{case:?}: {}", plain.text());
    }
    let all = cases(&w);
    let caps = assert_same_everywhere(&w, &all[0]).await;
    assert_eq!(caps.status, 200);
    assert_eq!(
        caps.json(),
        json!({"capabilities": ["blind", "reactions", "sogs", "sogs-rs-moderation"]})
    );
    let missing = assert_same_everywhere(&w, &all[2]).await;
    assert_eq!(missing.status, 412);
    assert_eq!(missing.json()["missing"], json!(["nope", "", "nope"]));
    let poll = assert_same_everywhere(&w, &all[3]).await;
    let codes: Vec<i64> = poll
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [200, 200, 200, 200, 200], "{}", poll.text());
}
both_backends!(every_route_answers_the_same_through_onion_as_over_plain_http);

async fn signed_requests_authenticate_from_their_inner_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    for via in ONION {
        let user = app.user();
        let res = send(
            &user,
            via,
            &user.build("GET", "/capabilities", vec![], None),
        )
        .await;
        assert_eq!(res.status, 200, "{via:?}");
        let row = app
            .state
            .store
            .user_by_session_id(&user.id())
            .await
            .unwrap();
        assert!(row.is_some(), "{via:?}: the inner headers created the user");

        // A signature for another request fails inside, as it would over plain HTTP.
        let mut forged = user.build("GET", "/capabilities", vec![], None);
        let other = user.build("GET", "/capabilities?required=sogs", vec![], None);
        for (name, value) in &mut forged.headers {
            if name.eq_ignore_ascii_case("X-SOGS-Signature") {
                *value = other
                    .headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("X-SOGS-Signature"))
                    .unwrap()
                    .1
                    .clone();
            }
        }
        assert_eq!(send(&user, via, &forged).await.status, 401, "{via:?}");

        // Some but not all of the four headers: 400.
        let mut partial = user.build("GET", "/capabilities", vec![], None);
        partial
            .headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("X-SOGS-Nonce"));
        assert_eq!(send(&user, via, &partial).await.status, 400, "{via:?}");
    }
}
both_backends!(signed_requests_authenticate_from_their_inner_headers);

async fn a_replayed_inner_request_is_refused_with_425(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.user();
    // The same signed request in fresh onion layers: only the first is served.
    let req = user.build("GET", "/capabilities", vec![], None);
    let first = user.send_onion_v4(&req, EncType::Aes256Gcm).await.unwrap();
    assert_eq!(first.status, 200);
    for via in [
        Via::V4(EncType::Aes256Gcm),
        Via::V4(EncType::XChaCha20Poly1305),
        Via::V3(EncType::Aes256Gcm),
        Via::Plain,
    ] {
        assert_eq!(send(&user, via, &req).await.status, 425, "{via:?}");
    }
    // And a request first seen over plain HTTP cannot be replayed through onion.
    let req = user.build_json("POST", "/batch", &json!([]));
    assert_eq!(user.send(&req).await.unwrap().status, 200);
    for via in ONION {
        assert_eq!(send(&user, via, &req).await.status, 425, "{via:?}");
    }
}
both_backends!(a_replayed_inner_request_is_refused_with_425);

async fn a_session_poll_batch_runs_inside_onion(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.user();
    let poll = Value::Array(SogsClient::poll_batch(&[]));
    let plain = user
        .send(&user.build_json("POST", "/batch", &poll))
        .await
        .unwrap();
    assert_eq!(plain.status, 200);
    for via in ONION {
        let res = send(&user, via, &user.build_json("POST", "/batch", &poll)).await;
        assert_eq!(res.status, 200, "{via:?}");
        let items = res.json();
        assert_eq!(items, plain.json(), "{via:?}");
        assert_eq!(items[0]["code"], 200);
        assert_eq!(items[0]["body"]["capabilities"][0], "blind");
    }
}
both_backends!(a_session_poll_batch_runs_inside_onion);

/// A valid v4 frame for the server of `client`, with its plaintext.
fn sealed_frame(client: &SogsClient, enc: EncType, plaintext: &[u8]) -> (Vec<u8>, OnionKey) {
    seal_request(client.server_pk(), enc, plaintext).unwrap()
}

fn frame(ciphertext: &[u8], metadata: &str) -> Vec<u8> {
    let mut out = (ciphertext.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(ciphertext);
    out.extend_from_slice(metadata.as_bytes());
    out
}

async fn malformed_onion_requests_are_400_and_never_500(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.client();
    let key_hex = "8167e97672005c669a48858c69895f395ca235219ac3f7a4210022b1f910e652";
    let (valid, _) = sealed_frame(&client, EncType::Aes256Gcm, b"l2:{}e");
    let mut tampered = valid.clone();
    tampered[10] ^= 1;
    let mut tampered_tag = valid.clone();
    let ct_end = 4 + u32::from_le_bytes(valid[..4].try_into().unwrap()) as usize;
    tampered_tag[ct_end - 1] ^= 0x80;
    let stranger = ServerKey::generate().public_key();
    let (for_another_server, _) =
        seal_request(&stranger, EncType::XChaCha20Poly1305, b"x").unwrap();
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated length", vec![1, 0, 0]),
        ("empty metadata object", frame(b"", "{}")),
        ("length prefix larger than body", {
            let mut b = vec![0xff, 0xff, 0, 0];
            b.extend_from_slice(b"{\"ephemeral_key\":\"00\"}");
            b
        }),
        ("truncated frame", valid[..valid.len() / 2].to_vec()),
        ("metadata not JSON", frame(&[0u8; 40], "not json")),
        ("metadata not an object", frame(&[0u8; 40], "[1,2]")),
        (
            "missing ephemeral_key",
            frame(&[0u8; 40], r#"{"enc_type":"aes-gcm"}"#),
        ),
        (
            "short ephemeral_key",
            frame(&[0u8; 40], r#"{"ephemeral_key":"abcd"}"#),
        ),
        (
            "non-hex ephemeral_key",
            frame(
                &[0u8; 40],
                &format!(r#"{{"ephemeral_key":"{}"}}"#, "zz".repeat(32)),
            ),
        ),
        (
            "small-order ephemeral_key",
            frame(
                &[0u8; 40],
                &format!(r#"{{"ephemeral_key":"{}"}}"#, "00".repeat(32)),
            ),
        ),
        (
            "unknown enc_type",
            frame(
                &[0u8; 40],
                &format!(r#"{{"ephemeral_key":"{key_hex}","enc_type":"rot13"}}"#),
            ),
        ),
        (
            "ciphertext too short",
            frame(&[0u8; 3], &format!(r#"{{"ephemeral_key":"{key_hex}"}}"#)),
        ),
        ("ciphertext tampered", tampered),
        ("tag tampered", tampered_tag),
        ("sealed for another server", for_another_server),
    ];
    for path in [V4_PATH, V3_PATHS[0], V3_PATHS[1]] {
        for (what, body) in &bodies {
            let res = client.post_raw(path, body.clone()).await.unwrap();
            assert_eq!(res.status, 400, "{path}: {what}: {}", res.text());
        }
        let res = app.get(path).await;
        assert_eq!(res.status(), 405, "GET {path}");
    }
    let metrics = app.state.metrics.render();
    for outcome in ["bad_frame", "bad_key", "decryption_failed"] {
        assert!(
            metrics.contains(&format!(r#"outcome="{outcome}",version="v4""#)),
            "{outcome}: {metrics}"
        );
    }
    assert!(metrics.contains(r#"cipher="unknown",outcome="bad_frame",version="v3""#));
}
both_backends!(malformed_onion_requests_are_400_and_never_500);

/// Posts `plaintext` sealed with `enc` to the v4 endpoint and opens the reply.
async fn v4_exchange(client: &SogsClient, enc: EncType, plaintext: &[u8]) -> ClientResponse {
    let (body, key) = sealed_frame(client, enc, plaintext);
    let res = client.post_raw(V4_PATH, body).await.unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    SogsClient::open_v4_reply(&key, &res.body).unwrap()
}

async fn v3_exchange(client: &SogsClient, path: &str, plaintext: &[u8]) -> ClientResponse {
    let (body, key) = sealed_frame(client, EncType::XChaCha20Poly1305, plaintext);
    let res = client.post_raw(path, body).await.unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    SogsClient::open_v3_reply(&key, &res.body).unwrap()
}

async fn undecodable_inner_requests_get_an_encrypted_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.client();
    let bencode = |meta: &str| format!("l{}:{}e", meta.len(), meta).into_bytes();
    for enc in [EncType::Aes256Gcm, EncType::XChaCha20Poly1305] {
        for plaintext in [
            b"".to_vec(),
            b"not bencode".to_vec(),
            b"l5:abce".to_vec(),
            b"l3:abc".to_vec(),
            b"li1ee".to_vec(),
            b"l2:{}e trailing".to_vec(),
            bencode("not json"),
            bencode(r#"{"method":"GET"}"#),
            bencode(r#"{"method":"GET","endpoint":"capabilities"}"#),
            bencode(r#"{"method":"GET","endpoint":"/capabilities","headers":[]}"#),
            b"l2:{}1:a1:be".to_vec(),
        ] {
            let res = v4_exchange(&client, enc, &plaintext).await;
            assert_eq!(res.status, 400, "{}", String::from_utf8_lossy(&plaintext));
            assert_eq!(res.text(), "Invalid v4 onion request");
            assert_eq!(
                res.header("content-type"),
                Some("text/plain; charset=utf-8")
            );
        }
        let nested = bencode(r#"{"method":"POST","endpoint":"/oxen/v4/lsrpc"}"#);
        let res = v4_exchange(&client, enc, &nested).await;
        assert_eq!(res.status, 400);
        let patch = bencode(r#"{"method":"PATCH","endpoint":"/capabilities"}"#);
        assert_eq!(v4_exchange(&client, enc, &patch).await.status, 405);
    }
    for path in V3_PATHS {
        for plaintext in [
            &b""[..],
            b"not json",
            b"[]",
            b"{\"method\":\"GET\"}",
            b"{\"method\":\"GET\",\"endpoint\":\"/capabilities\",\"body\":\"x\"}",
            b"{\"method\":\"POST\",\"endpoint\":\"/loki/v3/lsrpc\",\"body\":\"x\"}",
        ] {
            let res = v3_exchange(&client, path, plaintext).await;
            assert_eq!(
                res.status,
                400,
                "{path} {}",
                String::from_utf8_lossy(plaintext)
            );
        }
        // Android's GET with the body "null" is served.
        let android = br#"{"method":"GET","endpoint":"/capabilities","body":"null"}"#;
        let res = v3_exchange(&client, path, android).await;
        assert_eq!(res.status, 200);
        assert_eq!(res.json()["capabilities"][2], "sogs");
    }
    let metrics = app.state.metrics.render();
    assert!(metrics.contains(r#"outcome="bad_inner_request",version="v4""#));
    assert!(metrics.contains(r#"outcome="bad_inner_request",version="v3""#));
}
both_backends!(undecodable_inner_requests_get_an_encrypted_400);

async fn bodies_over_the_limit_are_413(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.server.max_request_bytes = 64 * 1024).await;
    let client = app.client();
    for path in [V4_PATH, V3_PATHS[0]] {
        let res = client.post_raw(path, vec![0u8; 200 * 1024]).await.unwrap();
        assert_eq!(res.status, 413, "{path}");
    }
    // Just under the limit is served.
    let user = app.user();
    let big = json!([{"method": "POST", "path": "/capabilities", "bytes": "x".repeat(40_000)}]);
    let res = user
        .send_onion_v4(&user.build_json("POST", "/batch", &big), EncType::Aes256Gcm)
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(res.json()[0]["code"], 405);
}
both_backends!(bodies_over_the_limit_are_413);

/// The raw sealed length of the v4 reply to `req`, and the reply.
async fn v4_reply_len(
    client: &SogsClient,
    enc: EncType,
    req: &BuiltRequest,
) -> (usize, V4Response) {
    let (body, key) = client.onion_v4_body(req, enc).unwrap();
    let res = client.post_raw(V4_PATH, body).await.unwrap();
    assert_eq!(res.status, 200);
    let reply = V4Response::decode(&key.open(&res.body).unwrap()).unwrap();
    (res.body.len(), reply)
}

async fn v4_replies_are_padded_so_polls_and_posts_look_alike(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.user();
    let poll = Value::Array(SogsClient::poll_batch(&[]));
    let big_batch = Value::Array(vec![json!({"method": "GET", "path": "/capabilities"}); 12]);
    for enc in [EncType::Aes256Gcm, EncType::XChaCha20Poly1305] {
        let requests = [
            user.build("GET", "/capabilities", vec![], None),
            user.build("GET", "/no/such/route", vec![], None),
            user.build_json("POST", "/batch", &poll),
            user.build_json("POST", "/batch", &big_batch),
        ];
        for req in &requests {
            let (len, reply) = v4_reply_len(&user, enc, req).await;
            assert_eq!(len, 4096, "{enc:?} {}", req.target);
            assert!(reply.headers.iter().any(|(n, _)| n == PAD_HEADER));
        }
    }
    // Unpadded, the same replies differ in size.
    let app = spawn_app_with(backend, |c| c.onion.pad_replies = false).await;
    let user = app.user();
    let (small, reply) = v4_reply_len(
        &user,
        EncType::Aes256Gcm,
        &user.build("GET", "/capabilities", vec![], None),
    )
    .await;
    assert!(reply.headers.iter().all(|(n, _)| n != PAD_HEADER));
    let (large, _) = v4_reply_len(
        &user,
        EncType::Aes256Gcm,
        &user.build_json("POST", "/batch", &big_batch),
    )
    .await;
    assert!(small < large && large < 4096, "{small} {large}");
}
both_backends!(v4_replies_are_padded_so_polls_and_posts_look_alike);

async fn onion_requests_are_counted_by_version_cipher_and_outcome(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.user();
    for via in ONION {
        send(
            &user,
            via,
            &user.build("GET", "/capabilities", vec![], None),
        )
        .await;
        send(&user, via, &user.build("GET", "/nowhere", vec![], None)).await;
    }
    let metrics = app.state.metrics.render();
    for (cipher, version) in [
        ("aes-gcm", "v4"),
        ("xchacha20", "v4"),
        ("aes-gcm", "v3"),
        ("xchacha20", "v3"),
    ] {
        for outcome in ["ok", "inner_4xx"] {
            let line = format!(
                r#"sogs_onion_requests_total{{cipher="{cipher}",outcome="{outcome}",version="{version}"}} 1"#
            );
            assert!(metrics.contains(&line), "{line} missing from\n{metrics}");
        }
    }
    // The HTTP metrics label onion requests by their endpoint.
    assert!(metrics.contains(r#"route="/oxen/v4/lsrpc""#), "{metrics}");
}
both_backends!(onion_requests_are_counted_by_version_cipher_and_outcome);
