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
