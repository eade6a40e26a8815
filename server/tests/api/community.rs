//! Setup shared by the message, reaction and pin stories: a running server with a room
//! `lobby`, and clients of each standing in it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use sogs::client::{ClientResponse, SogsClient};
use sogs::cluster::cache::Invalidation;
use sogs::store::{ModeratorRole, NewFile, Room, RoomUpdate, User};

use crate::support::Backend;
use crate::support::app::TestApp;

pub const TOKEN: &str = "lobby";

/// A server with one room.
pub struct Community {
    pub app: TestApp,
    pub room: Room,
}

pub fn now() -> f64 {
    sogs::clock::Clock::system().now()
}

pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

impl Community {
    pub async fn new(backend: Backend) -> Self {
        Self::with_config(backend, |_| {}).await
    }

    /// A server with one room, its configuration adjusted first.
    pub async fn with_config(
        backend: Backend,
        adjust: impl FnOnce(&mut sogs::config::Config),
    ) -> Self {
        let app = crate::support::spawn_app_with(backend, adjust).await;
        let room = app
            .state
            .store
            .create_room(TOKEN, "Lobby", None, now())
            .await
            .unwrap();
        Self { app, room }
    }

    /// Another room on the same server.
    pub async fn add_room(&self, token: &str) -> Room {
        self.app
            .state
            .store
            .create_room(token, token, None, now())
            .await
            .unwrap()
    }

    /// `/room/lobby` followed by `rest`.
    pub fn path(&self, rest: &str) -> String {
        format!("/room/{TOKEN}{rest}")
    }

    /// The room as stored now.
    pub async fn room_now(&self) -> Room {
        self.app
            .state
            .store
            .room_by_id(self.room.id)
            .await
            .unwrap()
            .unwrap()
    }

    /// Forgets what the server cached: the stories change rooms, bans and moderators
    /// straight in the store, which (unlike the API) publishes no invalidation.
    pub fn changed(&self) {
        self.app.state.cluster.caches.apply(&Invalidation::All);
    }

    /// An anonymous client.
    pub fn anonymous(&self) -> SogsClient {
        self.app.client()
    }

    /// A new user the server already knows.
    pub async fn user(&self) -> SogsClient {
        let client = self.app.user();
        self.known(&client).await;
        client
    }

    /// The user row of `client`, created if the server has not seen them yet.
    pub async fn known(&self, client: &SogsClient) -> User {
        self.app
            .state
            .store
            .get_or_create_user(&client.id(), now())
            .await
            .unwrap()
    }

    async fn with_room_role(&self, room: &Room, admin: bool) -> SogsClient {
        let client = self.user().await;
        let user = self.known(&client).await;
        self.app
            .state
            .store
            .set_room_moderator(
                room.id,
                user.id,
                Some(ModeratorRole {
                    admin,
                    visible: true,
                }),
            )
            .await
            .unwrap();
        self.changed();
        client
    }

    /// A moderator (not admin) of the lobby.
    pub async fn moderator(&self) -> SogsClient {
        self.with_room_role(&self.room, false).await
    }

    /// An admin of the lobby.
    pub async fn admin(&self) -> SogsClient {
        self.with_room_role(&self.room, true).await
    }

    /// A moderator of another room.
    pub async fn moderator_of(&self, room: &Room) -> SogsClient {
        self.with_room_role(room, false).await
    }

    /// Bans `client` from the lobby.
    pub async fn ban(&self, client: &SogsClient) {
        let user = self.known(client).await;
        self.app
            .state
            .store
            .ban_from_room(self.room.id, user.id, None, 0.0)
            .await
            .unwrap();
        self.changed();
    }

    /// Changes the lobby's defaults.
    pub async fn update_room(&self, update: RoomUpdate) {
        self.app
            .state
            .store
            .update_room_details(self.room.id, &update, 0.0)
            .await
            .unwrap();
        self.changed();
    }

    /// `POST /room/lobby/message` with `data` signed by `client`.
    pub async fn try_post(&self, client: &SogsClient, data: &[u8]) -> ClientResponse {
        client
            .post_json(&self.path("/message"), &client.message_json(data))
            .await
            .unwrap()
    }

    /// Posts `data` and returns the created message object (asserting 201).
    pub async fn post(&self, client: &SogsClient, data: &[u8]) -> Value {
        let res = self.try_post(client, data).await;
        assert_eq!(res.status, 201, "{}", res.text());
        res.json()
    }

    /// Posts with extra body fields (whispers, files).
    pub async fn post_with(
        &self,
        client: &SogsClient,
        data: &[u8],
        extra: Value,
    ) -> ClientResponse {
        let mut body = client.message_json(data);
        if let (Some(obj), Value::Object(more)) = (body.as_object_mut(), extra) {
            obj.extend(more);
        }
        client
            .post_json(&self.path("/message"), &body)
            .await
            .unwrap()
    }

    /// Sends `body` as-is (any bytes) to `method path`, JSON content type.
    pub async fn raw(
        &self,
        client: &SogsClient,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> ClientResponse {
        let req = client.build(method, path, body.to_vec(), Some("application/json"));
        client.send(&req).await.unwrap()
    }

    /// `GET path` as `client`: status and JSON body.
    pub async fn get(&self, client: &SogsClient, path: &str) -> (u16, Value) {
        let res = client.get(path).await.unwrap();
        (res.status, res.json())
    }

    /// `GET /room/lobby/messages/recent` as `client`; the ids, newest first.
    pub async fn recent_ids(&self, client: &SogsClient) -> Vec<i64> {
        let (status, body) = self.get(client, &self.path("/messages/recent")).await;
        assert_eq!(status, 200, "{body}");
        ids(&body)
    }

    /// `PUT /room/lobby/reaction/{id}/{reaction}` as `client` (asserting 200).
    pub async fn react(&self, client: &SogsClient, id: i64, reaction: &str) -> Value {
        let res = client
            .put_json(
                &self.path(&format!("/reaction/{id}/{reaction}")),
                &json!({}),
            )
            .await
            .unwrap();
        assert_eq!(res.status, 200, "{}", res.text());
        res.json()
    }

    /// Records an upload by `client` to `room` (as the upload endpoint would), expiring in
    /// an hour.
    pub async fn upload(&self, client: &SogsClient, room: &Room) -> i64 {
        let user = self.known(client).await;
        let file = NewFile {
            room: room.id,
            uploader: user.id,
            size: 3,
            filename: Some("a.txt"),
            expiry: Some(now() + 3600.0),
        };
        self.app
            .state
            .store
            .add_file(&file, |id| format!("{}/{id}", room.token), now())
            .await
            .unwrap()
            .id
    }

    /// A file's expiry as stored.
    pub async fn file_expiry(&self, id: i64) -> Option<f64> {
        self.app
            .state
            .store
            .file_by_id(id)
            .await
            .unwrap()
            .unwrap()
            .expiry
    }
}

/// The `id`s of a list of message objects, in order.
pub fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

/// The `id` of a message object.
pub fn id_of(message: &Value) -> i64 {
    message["id"].as_i64().unwrap()
}

/// The keys of a JSON object, sorted.
pub fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}
