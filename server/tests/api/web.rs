//! The web pages (spec §5.8): room index, room page with join URL, invite QR code.

use crate::rooms::{defaults, room};
use crate::support::{Backend, spawn_app, spawn_app_with};

both_backends!(
    the_index_lists_public_rooms_and_each_page_shows_its_join_url_and_qr_code,
    private_unknown_and_malformed_rooms_get_no_page,
);

async fn the_index_lists_public_rooms_and_each_page_shows_its_join_url_and_qr_code(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let empty = app.get("/").await;
    assert_eq!(empty.status(), 200);
    assert!(
        empty.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(empty.text().await.unwrap().contains("sogs-admin room add"));

    let lobby = room(&app, "Lobby").await;
    let hidden = room(&app, "staff").await;
    defaults(&app, &hidden, false, false, false).await;
    let index = app.get("/").await.text().await.unwrap();
    assert!(index.contains("href=\"/r/Lobby/\""), "{index}");
    assert!(!index.contains("staff"), "{index}");

    let page = app.get("/r/lobby/").await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let url = format!(
        "{}/Lobby?public_key={}",
        app.config.server.base_url,
        app.state.key.public_key().to_hex()
    );
    assert!(page.contains(&url), "{page}");
    assert!(page.contains(&lobby.name));

    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let bare = no_redirects
        .get(format!("{}/r/lobby", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 308);
    assert_eq!(bare.headers()["location"], "/r/lobby/");

    let png = app.get("/r/Lobby/invite.png").await;
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    let bytes = png.bytes().await.unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes.to_vec()));
    let reader = decoder.read_info().unwrap();
    assert_eq!((reader.info().width, reader.info().height), (512, 512));
}

async fn private_unknown_and_malformed_rooms_get_no_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let staff = room(&app, "staff").await;
    defaults(&app, &staff, false, true, false).await;
    for path in ["/r/staff/", "/r/staff/invite.png"] {
        assert_eq!(app.get(path).await.status(), 403, "{path}");
    }
    for path in [
        "/r/nope/",
        "/r/nope/invite.png",
        "/r/nope",
        "/r/bad%20token/",
        "/r/bad%20token",
        &format!("/r/{}/", "x".repeat(65)),
    ] {
        assert_eq!(app.get(path).await.status(), 404, "{path}");
    }

    let quiet = spawn_app_with(backend, |c| c.server.show_index = false).await;
    assert_eq!(quiet.get("/").await.status(), 403);
}

/// A Session `Content` protobuf: a data message with a body, attachments by file name and
/// the sender's display name (the fields the room page reads).
pub fn session_message(body: &str, attachments: &[&str], name: &str) -> Vec<u8> {
    fn field(number: u64, payload: &[u8], out: &mut Vec<u8>) {
        let varint = |mut v: u64, out: &mut Vec<u8>| {
            while v >= 0x80 {
                out.push((v as u8) | 0x80);
                v >>= 7;
            }
            out.push(v as u8);
        };
        varint(number << 3 | 2, out);
        varint(payload.len() as u64, out);
        out.extend_from_slice(payload);
    }
    let mut data = Vec::new();
    field(1, body.as_bytes(), &mut data);
    for file in attachments {
        let mut pointer = Vec::new();
        field(7, file.as_bytes(), &mut pointer);
        field(2, &pointer, &mut data);
    }
    let mut profile = Vec::new();
    field(1, name.as_bytes(), &mut profile);
    field(101, &profile, &mut data);
    let mut content = Vec::new();
    field(1, &data, &mut content);
    // Padded as Session clients send it.
    content.push(0x80);
    content.resize(content.len() + 13, 0);
    content
}

async fn post(user: &sogs::client::SogsClient, token: &str, data: &[u8]) {
    let res = user
        .post_json(&format!("/room/{token}/message"), &user.message_json(data))
        .await
        .unwrap();
    assert_eq!(res.status, 201, "{}", res.text());
}

/// A 64×64 PNG in one colour.
fn png_image(rgb: [u8; 3]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 64, 64);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&rgb.repeat(64 * 64)).unwrap();
    writer.finish().unwrap();
    out
}

/// Gives `room` an image as `sogs-admin room update --image` does: a file of the room,
/// kept forever.
async fn set_image(app: &crate::support::app::TestApp, room: &sogs::store::Room, bytes: &[u8]) {
    let uploader = app
        .state
        .store
        .get_or_create_user(&app.user().id(), 1.0)
        .await
        .unwrap();
    let file = app
        .state
        .store
        .add_file(
            &sogs::store::NewFile {
                room: room.id,
                uploader: uploader.id,
                size: bytes.len() as i64,
                filename: Some("lobby.png"),
                expiry: None,
            },
            |id| sogs::blobs::BlobKey::for_file(id).to_string(),
            1.0,
        )
        .await
        .unwrap();
    app.state
        .blobs
        .put(&sogs::blobs::BlobKey::for_file(file.id), bytes)
        .await
        .unwrap();
    let update = sogs::store::RoomUpdate {
        image: Some(Some(file.id)),
        ..Default::default()
    };
    app.state
        .store
        .update_room_details(room.id, &update, 0.0)
        .await
        .unwrap();
    app.invalidate_caches();
}

both_backends!(
    a_room_shows_its_recent_messages_only_when_the_operator_enables_it,
    the_room_image_is_served_only_as_an_image,
);

async fn a_room_shows_its_recent_messages_only_when_the_operator_enables_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let lobby = room(&app, "lobby").await;
    let user = app.user();
    post(
        &user,
        "lobby",
        &session_message("hello <b>world</b>", &["cat.jpg"], "Alice"),
    )
    .await;
    // Whispers and undecodable posts never appear.
    let mod_user = crate::rooms::room_mod(&app, &lobby, false, true).await;
    post(
        &mod_user,
        "lobby",
        &session_message("mods only", &[], "Mod"),
    )
    .await;
    let mut body = mod_user.message_json(&session_message("psst", &[], "Mod"));
    body["whisper_mods"] = serde_json::json!(true);
    let res = mod_user
        .post_json("/room/lobby/message", &body)
        .await
        .unwrap();
    assert_eq!(res.status, 201, "{}", res.text());
    post(&user, "lobby", b"not a protobuf").await;

    // Off by default: the page has no messages and the JSON does not exist.
    let page = app.get("/r/lobby/").await.text().await.unwrap();
    assert!(!page.contains("hello"), "{page}");
    assert_eq!(app.get("/r/lobby/messages.json").await.status(), 404);

    app.state
        .store
        .set_room_web_messages(lobby.id, true)
        .await
        .unwrap();
    app.invalidate_caches();
    let res = app.get("/r/lobby/").await;
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    let page = res.text().await.unwrap();
    // Without JavaScript the messages are in the HTML, escaped.
    assert!(page.contains("hello &lt;b&gt;world&lt;/b&gt;"), "{page}");
    assert!(page.contains("cat.jpg"), "{page}");
    assert!(page.contains(">Alice<"), "{page}");
    assert!(page.contains("mods only"), "{page}");
    assert!(!page.contains("psst"), "whisper shown: {page}");

    let json: serde_json::Value = app
        .get("/r/lobby/messages.json")
        .await
        .json()
        .await
        .unwrap();
    let messages = json["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{json}");
    assert_eq!(messages[1]["text"], "hello <b>world</b>");
    assert_eq!(messages[1]["author"], "Alice");
    assert_eq!(messages[1]["attachments"], serde_json::json!(["cat.jpg"]));
    assert_eq!(messages[1]["session_id"], user.id());
    assert_eq!(messages[0]["text"], "mods only");

    // A room that is not public gets no page and no messages, enabled or not.
    defaults(&app, &lobby, false, true, true).await;
    assert_eq!(app.get("/r/lobby/messages.json").await.status(), 403);
    assert_eq!(app.get("/r/nope/messages.json").await.status(), 404);
}

async fn the_room_image_is_served_only_as_an_image(backend: Backend) {
    let app = spawn_app(backend).await;
    let lobby = room(&app, "lobby").await;
    assert_eq!(app.get("/r/lobby/image").await.status(), 404);
    let png = png_image([10, 120, 80]);
    set_image(&app, &lobby, &png).await;
    let res = app.get("/r/lobby/image").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.bytes().await.unwrap().to_vec(), png);
    let page = app.get("/r/lobby/").await.text().await.unwrap();
    assert!(page.contains("src=\"image\""), "{page}");
    let index = app.get("/").await.text().await.unwrap();
    assert!(index.contains("src=\"/r/lobby/image\""), "{index}");

    // An image that is not an image format (here an HTML file) is never served.
    let dev = room(&app, "dev").await;
    set_image(&app, &dev, b"<html><script>alert(1)</script>").await;
    assert_eq!(app.get("/r/dev/image").await.status(), 404);
}

both_backends!(the_pages_work_in_a_real_browser_on_desktop_and_phone);

/// The pages as Chromium renders and runs them: every element a visitor needs is there and
/// visible, images load, the copy button works, new messages appear without a reload, the
/// text meets contrast and nothing overflows a phone screen. Screenshots are saved for a
/// person to look at (see support::browser).
async fn the_pages_work_in_a_real_browser_on_desktop_and_phone(backend: Backend) {
    use crate::support::browser::{Browser, DESKTOP, PHONE};
    let app = spawn_app(backend).await;
    let lobby = room(&app, "lobby").await;
    let update = sogs::store::RoomUpdate {
        name: Some("The Lobby".into()),
        description: Some(Some("Say hi. Be kind.\nNew here? Start below.".into())),
        ..Default::default()
    };
    app.state
        .store
        .update_room_details(lobby.id, &update, 0.0)
        .await
        .unwrap();
    set_image(&app, &lobby, &png_image([0, 110, 75])).await;
    app.state
        .store
        .set_room_web_messages(lobby.id, true)
        .await
        .unwrap();
    room(&app, "dev").await;
    app.invalidate_caches();
    let alice = app.user();
    post(
        &alice,
        "lobby",
        &session_message("Welcome, everyone!", &["rules.pdf"], "Alice"),
    )
    .await;

    let browser = Browser::start(DESKTOP).await;
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let url = format!("{}/r/lobby/", app.address);
    browser.goto(&url).await;
    browser
        .wait_for(
            "return document.getElementById('updated').textContent.startsWith('Updated');",
            15,
            "the script's first refresh",
        )
        .await;
    assert_eq!(browser.text("h1").await, "The Lobby");
    // The count comes from the activity the server flushes in the background: any number.
    let users = browser.text("#active-users").await;
    assert!(users.contains(" active user"), "{users}");
    assert!(browser.text(".description").await.contains("Be kind."));
    let join_url = format!(
        "{}/lobby?public_key={}",
        app.config.server.base_url,
        app.state.key.public_key().to_hex()
    );
    assert_eq!(
        browser
            .eval("return document.getElementById('join-url').value;")
            .await,
        serde_json::json!(join_url)
    );
    // Images loaded (not broken), with text alternatives; the QR code at full resolution.
    let images = browser
        .eval(
            "return [...document.images].map(i => [i.className, i.complete && i.naturalWidth, \
             i.getAttribute('alt')]);",
        )
        .await;
    assert_eq!(
        images,
        serde_json::json!([
            ["room-image", 64, "Image of the room The Lobby"],
            ["qr", 512, "QR code of the join URL of The Lobby"]
        ])
    );
    let messages = browser.text("#messages").await;
    assert!(messages.contains("Welcome, everyone!"), "{messages}");
    assert!(messages.contains("rules.pdf"), "{messages}");
    assert!(messages.contains("Alice"), "{messages}");
    browser.screenshot(&format!("{name}-room-desktop")).await;

    // The copy button appears with JavaScript and answers a click.
    let copy = browser
        .client
        .find(fantoccini::Locator::Id("copy"))
        .await
        .unwrap();
    assert!(copy.is_displayed().await.unwrap());
    copy.click().await.unwrap();
    browser
        .wait_for(
            "return document.getElementById('copy-status').textContent.length > 0;",
            5,
            "the copy status",
        )
        .await;

    // A new message appears without reloading the page.
    browser.eval("window.notReloaded = true;").await;
    post(
        &app.user(),
        "lobby",
        &session_message("Fresh news", &[], "Bob"),
    )
    .await;
    browser
        .wait_for(
            "return document.getElementById('messages').textContent.includes('Fresh news');",
            25,
            "the new message on the page",
        )
        .await;
    assert_eq!(
        browser.eval("return window.notReloaded === true;").await,
        serde_json::json!(true)
    );

    // Accessibility basics: one h1, labelled input, every image with an alt, text contrast.
    let checks = browser
        .eval(
            r#"
function lum(c){const v=c.match(/\d+(\.\d+)?/g).slice(0,3).map(Number).map(x=>{x/=255;
  return x<=0.03928?x/12.92:Math.pow((x+0.055)/1.055,2.4)});return 0.2126*v[0]+0.7152*v[1]+0.0722*v[2];}
function ratio(el){const s=getComputedStyle(el);let bg=el,b;
  do{b=getComputedStyle(bg).backgroundColor;bg=bg.parentElement;}while(bg&&/rgba\(0, 0, 0, 0\)/.test(b));
  if(/rgba\(0, 0, 0, 0\)/.test(b))b='rgb(255, 255, 255)';
  const a=lum(s.color),c=lum(b);return (Math.max(a,c)+0.05)/(Math.min(a,c)+0.05);}
const texts=[...document.querySelectorAll('h1,h2,p,label,a,button,.author,.sid,time,li')]
  .filter(e=>e.offsetParent!==null&&e.textContent.trim());
return {h1:document.querySelectorAll('h1').length,
  label:!!document.querySelector('label[for=join-url]'),
  noAlt:[...document.images].filter(i=>!i.hasAttribute('alt')).length,
  minContrast:Math.min(...texts.map(ratio)),
  lang:document.documentElement.lang};"#,
        )
        .await;
    assert_eq!(checks["h1"], 1, "{checks}");
    assert_eq!(checks["label"], true, "{checks}");
    assert_eq!(checks["noAlt"], 0, "{checks}");
    assert_eq!(checks["lang"], "en", "{checks}");
    assert!(
        checks["minContrast"].as_f64().unwrap() >= 4.5,
        "text contrast below WCAG AA: {checks}"
    );

    // The index lists the public rooms with images and activity.
    browser.goto(&format!("{}/", app.address)).await;
    let rooms = browser
        .eval(
            "return [...document.querySelectorAll('.rooms li')].map(li => \
             [li.querySelector('a').textContent, li.querySelector('a').getAttribute('href'), \
             li.textContent.includes('active user'), \
             !!li.querySelector('img') && li.querySelector('img').naturalWidth]);",
        )
        .await;
    assert_eq!(
        rooms,
        serde_json::json!([
            ["dev room", "/r/dev/", true, false],
            ["The Lobby", "/r/lobby/", true, 64]
        ])
    );
    browser.screenshot(&format!("{name}-index-desktop")).await;

    // A phone: nothing wider than the screen, the QR code fits, the URL can be read.
    browser.resize(PHONE).await;
    for (path, shot) in [("/r/lobby/", "room-phone"), ("/", "index-phone")] {
        browser.goto(&format!("{}{path}", app.address)).await;
        let fits = browser
            .eval(
                "return document.documentElement.scrollWidth <= window.innerWidth && \
                 [...document.images].every(i => i.getBoundingClientRect().right <= window.innerWidth);",
            )
            .await;
        assert_eq!(
            fits,
            serde_json::json!(true),
            "{path} overflows a phone screen"
        );
        browser.screenshot(&format!("{name}-{shot}")).await;
    }
    browser.close().await;
}
