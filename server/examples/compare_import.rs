//! Differential check of `sogs-admin import-pysogs` against a real PySOGS.
//!
//! 0. `compare_import admin-id PUBKEY` prints the admin's id, for PySOGS's `ADMIN_SID`.
//! 1. `compare_import story URL PUBKEY ROOM`: plays a community's life on a running PySOGS
//!    (whose global admin is the user of seed [1; 32]): posts, an edit, a deletion,
//!    whispers, reactions, an attachment and a pin, a room image, a hidden room moderator
//!    and a visible global moderator, a timed ban, a scheduled permission change and a DM.
//! 2. Stop PySOGS, import its database, uploads and key with `sogs-admin import-pysogs`,
//!    start sogs-server on the result and PySOGS again on its own data.
//! 3. `compare_import compare URL_A URL_B PUBKEY ROOM`: sends the same GETs, as the same
//!    users, to both and prints every answer that differs (nothing is masked: the key,
//!    ids and times must all be the same). Exits non-zero on any difference but those the
//!    README's "Compatibility notes" document (listed as KNOWN).
//!
//! `scripts/pysogs-compare` runs all of it (CI runs that script).

use serde_json::{Value, json};
use sogs::client::{ClientResponse, SogsClient};
use sogs::crypto::keys::ServerPublicKey;

type Error = Box<dyn std::error::Error>;

const ADMIN: [u8; 32] = [1; 32];
const BOB: [u8; 32] = [2; 32];
const CAROL: [u8; 32] = [3; 32];
const DAVE: [u8; 32] = [4; 32];
const ERIN: [u8; 32] = [5; 32];

fn check(what: &str, res: &ClientResponse) -> Result<Value, Error> {
    if res.status >= 300 {
        return Err(format!("{what}: {} {}", res.status, res.text()).into());
    }
    Ok(res.json())
}

async fn upload(who: &SogsClient, room: &str, name: &str, data: &[u8]) -> Result<i64, Error> {
    let mut req = who.build(
        "POST",
        &format!("/room/{room}/file"),
        data.to_vec(),
        Some("application/octet-stream"),
    );
    req.headers.push((
        "Content-Disposition".into(),
        format!("attachment; filename=\"{name}\""),
    ));
    let body = check("upload", &who.send(&req).await?)?;
    body["id"]
        .as_i64()
        .ok_or_else(|| "upload gave no id".into())
}

async fn story(url: &str, pk: ServerPublicKey, room: &str) -> Result<(), Error> {
    let user = |seed| SogsClient::new(url, pk).with_user_seed(seed);
    let (admin, bob, carol, dave, erin) =
        (user(ADMIN), user(BOB), user(CAROL), user(DAVE), user(ERIN));
    let r = |p: &str| format!("/room/{room}{p}");
    // Everyone shows up once, so the user rows exist.
    for who in [&admin, &bob, &carol, &dave, &erin] {
        check("hello", &who.get(&r("/messages/recent")).await?)?;
    }
    let image = upload(&admin, room, "logo.png", b"\x89PNG image").await?;
    check(
        "room details",
        &admin
            .put_json(&r(""), &json!({"description": "Say hi", "image": image}))
            .await?,
    )?;
    check(
        "room mod",
        &admin
            .post_json(
                &format!("/user/{}/moderator", carol.id()),
                &json!({"rooms": [room], "moderator": true, "visible": false}),
            )
            .await?,
    )?;
    check(
        "global mod",
        &admin
            .post_json(
                &format!("/user/{}/moderator", dave.id()),
                &json!({"global": true, "moderator": true, "visible": true}),
            )
            .await?,
    )?;
    let post = |who: &SogsClient, body: Value| {
        let who = who.clone();
        let path = r("/message");
        async move { check("post", &who.post_json(&path, &body).await?) }
    };
    let hello = post(&bob, bob.message_json(b"hello\x80\x00\x00")).await?["id"].clone();
    let edited = post(&carol, carol.message_json(b"helo")).await?["id"].clone();
    check(
        "edit",
        &carol
            .put_json(
                &r(&format!("/message/{edited}")),
                &carol.message_json(b"hello world"),
            )
            .await?,
    )?;
    let gone = post(&bob, bob.message_json(b"oops")).await?["id"].clone();
    check(
        "delete",
        &bob.delete(&r(&format!("/message/{gone}"))).await?,
    )?;
    let mut whisper = carol.message_json(b"psst bob");
    whisper["whisper_to"] = json!(bob.id());
    post(&carol, whisper).await?;
    let mut mods_only = carol.message_json(b"mods only");
    mods_only["whisper_mods"] = json!(true);
    post(&carol, mods_only).await?;
    let file = upload(&bob, room, "cat.txt", b"meow!").await?;
    let mut with_file = bob.message_json(b"look: a cat");
    with_file["files"] = json!([file]);
    let cat = post(&bob, with_file).await?["id"].clone();
    check(
        "pin",
        &admin
            .post_json(&r(&format!("/pin/{cat}")), &json!({}))
            .await?,
    )?;
    for (who, reaction) in [(&bob, "👍"), (&dave, "👍"), (&admin, "❤")] {
        check(
            "react",
            &who.put_json(&r(&format!("/reaction/{hello}/{reaction}")), &json!({}))
                .await?,
        )?;
    }
    check(
        "timed ban",
        &admin
            .post_json(
                &format!("/user/{}/ban", erin.id()),
                &json!({"rooms": [room], "timeout": 86400}),
            )
            .await?,
    )?;
    check(
        "future permission",
        &admin
            .post_json(
                &r(&format!("/futurePermissions/{}", bob.id())),
                &json!({"write": false, "in": 100000}),
            )
            .await?,
    )?;
    let recipient = admin.id().parse()?;
    check(
        "dm",
        &bob.post_json(
            &format!("/inbox/{}", admin.id()),
            &bob.dm_json(&recipient, b"hi admin")?,
        )
        .await?,
    )?;
    println!("story played; message ids {hello} {edited} {gone} {cat}, files {image} {file}");
    Ok(())
}

async fn compare(url_a: &str, url_b: &str, pk: ServerPublicKey, room: &str) -> Result<(), Error> {
    let mut differences = 0;
    let mut compared = 0;
    let viewers: [(&str, Option<[u8; 32]>); 6] = [
        ("anonymous", None),
        ("admin", Some(ADMIN)),
        ("bob", Some(BOB)),
        ("carol (room mod)", Some(CAROL)),
        ("dave (global mod)", Some(DAVE)),
        ("erin (banned)", Some(ERIN)),
    ];
    let a = SogsClient::new(url_a, pk);
    let recent = a
        .clone()
        .with_user_seed(ADMIN)
        .get(&format!("/room/{room}/messages/since/0"))
        .await?
        .json();
    let ids: Vec<i64> = recent
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["id"].as_i64()).collect())
        .unwrap_or_default();
    wait_for_active_user_counts(&a, &SogsClient::new(url_b, pk), room).await;
    let mut paths = vec![
        "/capabilities".to_string(),
        "/rooms".to_string(),
        format!("/room/{room}"),
        format!("/room/{room}/pollInfo/0"),
        format!("/room/{room}/messages/recent"),
        format!("/room/{room}/messages/since/0"),
        format!("/room/{room}/messages/since/0?t=r"),
        format!("/room/{room}/messages/since/3"),
        format!("/room/{room}/messages/since/3?t=r&reactors=1"),
        format!("/room/{room}/permissions"),
        format!("/room/{room}/futurePermissions"),
        "/inbox".to_string(),
        "/outbox".to_string(),
    ];
    for id in 1..=8 {
        paths.push(format!("/room/{room}/file/{id}"));
    }
    for id in &ids {
        paths.push(format!("/room/{room}/message/{id}"));
    }
    for (who, seed) in viewers {
        for path in &paths {
            let client = |url| {
                let c = SogsClient::new(url, pk);
                match seed {
                    Some(seed) => c.with_user_seed(seed),
                    None => c,
                }
            };
            let ra = client(url_a).get(path).await?;
            let rb = client(url_b).get(path).await?;
            compared += 1;
            let (ja, jb) = (ra.json(), rb.json());
            // Error pages are Flask's HTML on one side; only their status matters here.
            let same_body = if ra.status >= 400 {
                true
            } else if ja.is_null() && jb.is_null() {
                ra.body == rb.body
            } else {
                ja == jb
            };
            if ra.status != rb.status || !same_body {
                if ra.status != rb.status || ja.is_null() || jb.is_null() {
                    differences += 1;
                    println!("DIFF {who} GET {path}");
                    println!("  A {}: {}", ra.status, body_text(&ra));
                    println!("  B {}: {}", rb.status, body_text(&rb));
                } else {
                    let mut out = Vec::new();
                    leaf_differences("", &ja, &jb, &mut out);
                    let (known, unknown): (Vec<_>, Vec<_>) =
                        out.into_iter().partition(|d| d.known.is_some());
                    for d in &known {
                        println!(
                            "KNOWN {who} GET {path} {}: {}",
                            d.text,
                            d.known.unwrap_or("")
                        );
                    }
                    if !unknown.is_empty() {
                        differences += 1;
                        println!("DIFF {who} GET {path}");
                        for d in unknown {
                            println!("  {}", d.text);
                        }
                    }
                }
            }
        }
    }
    println!("{compared} requests compared, {differences} differ");
    if differences > 0 {
        return Err("answers differ".into());
    }
    Ok(())
}

/// One place where the answers differ.
struct Difference {
    text: String,
    /// Why the difference is intended (README, "Compatibility notes"), if it is.
    known: Option<&'static str>,
}

/// The differences the README documents as intended: this server sends `pinned_at` as
/// whole seconds and flags as JSON booleans (what every Session client parses), and
/// announces one capability more.
fn known_difference(path: &str, a: &Value, b: &Value) -> Option<&'static str> {
    let key = path.rsplit('.').next().unwrap_or("");
    match (key, a, b) {
        ("pinned_at", Value::Number(x), Value::Number(y))
            if y.is_u64() && x.as_f64().map(f64::floor) == y.as_f64() =>
        {
            Some("pinned_at in whole seconds")
        }
        ("whisper_mods", Value::Number(x), Value::Bool(y)) if x.as_u64() == Some(u64::from(*y)) => {
            Some("flags as JSON booleans")
        }
        ("capabilities", Value::Array(x), Value::Array(y)) => {
            let mut with_ours = x.clone();
            with_ours.push(Value::String("sogs-rs-moderation".into()));
            (with_ours == *y).then_some("the sogs-rs-moderation capability")
        }
        _ => None,
    }
}

/// The JSON paths at which `a` and `b` differ, with both values.
fn leaf_differences(path: &str, a: &Value, b: &Value, out: &mut Vec<Difference>) {
    if let Some(known) = known_difference(path, a, b) {
        out.push(Difference {
            text: format!("{path}: A {a} / B {b}"),
            known: Some(known),
        });
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let (va, vb) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                leaf_differences(&format!("{path}.{k}"), va, vb, out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                leaf_differences(&format!("{path}[{i}]"), va, vb, out);
            }
        }
        _ if a != b => out.push(Difference {
            text: format!("{path}: A {a} / B {b}"),
            known: None,
        }),
        _ => {}
    }
}

/// Both servers count active users in a periodic cleanup (PySOGS's every few seconds, in
/// its mule); after a restart each has to run it once before the counts mean the same.
/// Waits, up to a minute, until the two agree; if they never do, the comparison shows it.
async fn wait_for_active_user_counts(a: &SogsClient, b: &SogsClient, room: &str) {
    let path = format!("/room/{room}");
    for _ in 0..120 {
        let count = |c: &SogsClient| {
            let c = c.clone();
            let path = path.clone();
            async move {
                c.get(&path)
                    .await
                    .ok()
                    .map(|r| r.json()["active_users"].clone())
            }
        };
        if let (Some(x), Some(y)) = (count(a).await, count(b).await)
            && x == y
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

fn body_text(res: &ClientResponse) -> String {
    let json = res.json();
    if json.is_null() {
        format!("{:?}", String::from_utf8_lossy(&res.body))
    } else {
        json.to_string()
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["admin-id", pk] => {
            let pk: ServerPublicKey = pk.parse().map_err(|_| "bad public key")?;
            println!("{}", SogsClient::new("http://unused", pk).with_user_seed(ADMIN).id());
            Ok(())
        }
        ["story", url, pk, room] => {
            story(url, pk.parse().map_err(|_| "bad public key")?, room).await
        }
        ["compare", url_a, url_b, pk, room] => {
            compare(
                url_a,
                url_b,
                pk.parse().map_err(|_| "bad public key")?,
                room,
            )
            .await
        }
        _ => Err(
            "usage: compare_import admin-id PUBKEY | story URL PUBKEY ROOM | compare URL_A URL_B PUBKEY ROOM".into(),
        ),
    }
}
