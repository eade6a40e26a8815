//! Invite links for private rooms (issue 15) over real HTTP, on both backends: the invite
//! page as a browser sends it (a plain form POST), what it grants to each blinded id of the
//! Account ID, and the clear pages for bad codes and bad Account IDs, after which nothing
//! changed.

use ed25519_dalek::SigningKey;
use sogs::actions::invites::{InviteTerms, create_invite, list_invites, revoke_invite};
use sogs::actions::{Actor, Door};
use sogs::client::SogsClient;
use sogs::domain::invite::Grant;
use sogs::store::RoomUpdate;
use sogs::store::invites::Invite;

use crate::community::{Community, TOKEN, now};
use crate::support::Backend;

both_backends!(
    an_invite_lets_an_account_into_a_private_room_with_both_blinded_ids,
    bad_codes_and_bad_account_ids_get_a_clear_page_and_change_nothing,
    only_moderators_create_invites_and_revoking_stops_the_link,
    moderators_manage_invites_through_the_api,
);

/// The lobby made private: nobody reads, writes or uploads unless granted.
async fn private(backend: Backend) -> Community {
    let c = Community::new(backend).await;
    c.update_room(RoomUpdate {
        default_read: Some(false),
        default_accessible: Some(false),
        default_write: Some(false),
        default_upload: Some(false),
        ..RoomUpdate::default()
    })
    .await;
    c
}

async fn invite(c: &Community, uses: Option<i64>, expires_in: Option<f64>) -> Invite {
    invite_made_at(c, now(), uses, expires_in).await
}

/// An invite as if made at `at`: one made in the past with a short life is already
/// expired, with no waiting for it.
async fn invite_made_at(
    c: &Community,
    at: f64,
    uses: Option<i64>,
    expires_in: Option<f64>,
) -> Invite {
    create_invite(
        &c.app.state.services(at, Door::Admin),
        &Actor::Server,
        &c.room,
        InviteTerms {
            grant: Grant::parse("read,write").unwrap(),
            uses,
            expires_in,
        },
    )
    .await
    .unwrap()
}

/// A Session identity: its 15- and 25-blinded clients of this server and its Account ID.
fn identity(c: &Community) -> (SogsClient, SogsClient, String) {
    let seed: [u8; 32] = rand::random();
    let account = format!(
        "05{}",
        hex::encode(
            SigningKey::from_bytes(&seed)
                .verifying_key()
                .to_montgomery()
                .to_bytes()
        )
    );
    (
        c.app.client().with_user_seed(seed),
        c.app.client().with_user_seed_blind25(seed),
        account,
    )
}

async fn page(c: &Community, code: &str) -> (u16, String) {
    let res = c.app.get(&format!("/invite/{code}")).await;
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn redeem(c: &Community, code: &str, account: &str) -> (u16, String) {
    let res = c
        .app
        .http
        .post(format!("{}/invite/{code}", c.app.address))
        .form(&[("account_id", account)])
        .send()
        .await
        .unwrap();
    let csp = res
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("form-action 'self'"), "{csp}");
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn reads(client: &SogsClient) -> u16 {
    client.get(&format!("/room/{TOKEN}")).await.unwrap().status
}

async fn an_invite_lets_an_account_into_a_private_room_with_both_blinded_ids(backend: Backend) {
    let c = private(backend).await;
    let (blind15, blind25, account) = identity(&c);
    assert_eq!(reads(&blind15).await, 404, "a private room is hidden");
    let invite = invite(&c, Some(1), None).await;

    let (status, form) = page(&c, &invite.code).await;
    assert_eq!(status, 200, "{form}");
    assert!(form.contains("You are invited to Lobby"), "{form}");
    assert!(
        form.contains("read, write") && form.contains("1 of 1 uses left"),
        "{form}"
    );
    assert!(form.contains("name=\"account_id\""));

    // Surrounding spaces, as a paste may bring, are fine.
    let (status, done) = redeem(&c, &invite.code, &format!("  {account} ")).await;
    assert_eq!(status, 200, "{done}");
    let join = format!(
        "{}/{TOKEN}?public_key={}",
        c.app.config.server.base_url.trim_end_matches('/'),
        c.app.state.key.public_key().to_hex()
    );
    assert!(done.contains(&join), "{done}");
    assert!(done.contains("src=\"data:image/png;base64,"), "{done}");

    c.changed();
    assert_eq!(reads(&blind15).await, 200);
    assert_eq!(reads(&blind25).await, 200);
    let posted = blind15
        .post_json(
            &format!("/room/{TOKEN}/message"),
            &blind15.message_json(b"hi"),
        )
        .await
        .unwrap();
    assert_eq!(posted.status, 201, "{}", posted.text());
    // Someone else is still outside.
    let (stranger, _, other_account) = identity(&c);
    assert_eq!(reads(&stranger).await, 404);

    // The one use is spent: the next person gets a clear page and nothing.
    let (status, text) = redeem(&c, &invite.code, &other_account).await;
    assert_eq!(status, 410, "{text}");
    assert!(text.contains("used as many times as it allows"), "{text}");
    c.changed();
    assert_eq!(reads(&stranger).await, 404);

    let listed = list_invites(
        &c.app.state.services(now(), Door::Admin),
        &Actor::Server,
        Some(&c.room),
    )
    .await
    .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0.uses, 1);
    let redeemed: Vec<&str> = listed[0].1.iter().map(|r| r.session_id.as_str()).collect();
    assert_eq!(redeemed, [account.as_str()]);
}

async fn bad_codes_and_bad_account_ids_get_a_clear_page_and_change_nothing(backend: Backend) {
    let c = private(backend).await;
    let (blind15, _, account) = identity(&c);
    for code in ["doesnotexist12345", "x", "a%20b%20c%20d%20e"] {
        let (status, text) = page(&c, code).await;
        assert_eq!(status, 404, "{code}: {text}");
        assert!(text.contains("There is no such invite"), "{text}");
        let (status, _) = redeem(&c, code, &account).await;
        assert_eq!(status, 404);
    }

    let open = invite(&c, Some(2), None).await;
    for bad in [
        "",
        "hello",
        "05zz",
        &format!("15{}", &account[2..]),
        &format!("{account}00"),
    ] {
        let (status, text) = redeem(&c, &open.code, bad).await;
        assert_eq!(status, 400, "{bad:?}: {text}");
        assert!(text.contains("not an Account ID"), "{text}");
        assert!(
            text.contains("name=\"account_id\""),
            "the form is shown again"
        );
    }
    let after = c
        .app
        .state
        .store
        .invite_by_code(&open.code)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.uses, 0, "bad Account IDs spend no use");

    // Made a minute ago, with half a second to live.
    let expiring = invite_made_at(&c, now() - 60.0, None, Some(0.5)).await;
    let (status, text) = page(&c, &expiring.code).await;
    assert_eq!(status, 410, "{text}");
    assert!(text.contains("expired"), "{text}");
    let (status, _) = redeem(&c, &expiring.code, &account).await;
    assert_eq!(status, 410);

    revoke_invite(
        &c.app.state.services(now(), Door::Admin),
        &Actor::Server,
        &open.code,
    )
    .await
    .unwrap();
    let (status, text) = redeem(&c, &open.code, &account).await;
    assert_eq!(status, 410, "{text}");
    assert!(text.contains("revoked"), "{text}");

    c.changed();
    assert_eq!(reads(&blind15).await, 404, "nothing was granted");
}

async fn only_moderators_create_invites_and_revoking_stops_the_link(backend: Backend) {
    let c = private(backend).await;
    let member = c.user().await;
    let user = c.known(&member).await;
    let svc = c.app.state.services(now(), Door::Api);
    let terms = InviteTerms {
        grant: Grant::parse("read").unwrap(),
        uses: None,
        expires_in: None,
    };
    let refused = create_invite(&svc, &Actor::User(user), &c.room, terms).await;
    assert!(
        matches!(refused, Err(sogs::actions::ActionError::Forbidden(_))),
        "{:?}",
        refused.map(|i| i.code)
    );
    let moderator = c.moderator().await;
    let moderator = c.known(&moderator).await;
    let made = create_invite(&svc, &Actor::User(moderator.clone()), &c.room, terms)
        .await
        .unwrap();
    assert_eq!((made.max_uses, made.expires), (None, None));
    assert_eq!(made.created_by, moderator.session_id);
    for bad in [
        InviteTerms {
            uses: Some(0),
            ..terms
        },
        InviteTerms {
            expires_in: Some(-1.0),
            ..terms
        },
    ] {
        assert!(matches!(
            create_invite(&svc, &Actor::User(moderator.clone()), &c.room, bad).await,
            Err(sogs::actions::ActionError::Invalid(_))
        ));
    }
    // Unlimited: two accounts in, then revoked: the third is refused.
    for _ in 0..2 {
        let (_, _, account) = identity(&c);
        assert_eq!(redeem(&c, &made.code, &account).await.0, 200);
    }
    revoke_invite(&svc, &Actor::User(moderator), &made.code)
        .await
        .unwrap();
    let (_, _, account) = identity(&c);
    assert_eq!(redeem(&c, &made.code, &account).await.0, 410);
}

async fn moderators_manage_invites_through_the_api(backend: Backend) {
    // A public room, so that a member reaches the moderator check (a private room is
    // hidden from them: 404).
    let c = Community::new(backend).await;
    let moderator = c.moderator().await;
    let member = c.user().await;
    let path = format!("/sogs-rs/room/{TOKEN}/invites");

    let refused = member
        .post_json(&path, &serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert_eq!(c.anonymous().get(&path).await.unwrap().status, 401);
    for bad in [
        serde_json::json!({"grant": ["read", "fly"]}),
        serde_json::json!({"uses": 0}),
        serde_json::json!({"uses": "many"}),
        serde_json::json!({"colour": "red"}),
    ] {
        let res = moderator.post_json(&path, &bad).await.unwrap();
        assert_eq!(res.status, 400, "{bad}: {}", res.text());
    }

    let made = moderator
        .post_json(
            &path,
            &serde_json::json!({"uses": 2, "expires_in": 3600, "grant": ["read"]}),
        )
        .await
        .unwrap();
    assert_eq!(made.status, 201, "{}", made.text());
    let made = made.json();
    let code = made["code"].as_str().unwrap().to_string();
    assert!(
        made["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/invite/{code}"))
    );
    assert_eq!(
        made["grant"],
        serde_json::json!({"read": true, "write": false, "upload": false})
    );

    let (_, _, account) = identity(&c);
    assert_eq!(redeem(&c, &code, &account).await.0, 200);
    let listed = moderator.get(&path).await.unwrap();
    assert_eq!(listed.status, 200);
    let listed = listed.json();
    assert_eq!(listed[0]["uses"], 1);
    assert_eq!(listed[0]["redeemed_by"][0]["session_id"], account);

    let revoke = format!("{path}/revoke");
    assert_eq!(
        member
            .post_json(&revoke, &serde_json::json!({"code": code}))
            .await
            .unwrap()
            .status,
        403
    );
    assert_eq!(
        moderator
            .post_json(&revoke, &serde_json::json!({"code": "nosuchcode123"}))
            .await
            .unwrap()
            .status,
        404
    );
    let done = moderator
        .post_json(&revoke, &serde_json::json!({"code": code}))
        .await
        .unwrap();
    assert_eq!(done.status, 200, "{}", done.text());
    let (_, _, later) = identity(&c);
    assert_eq!(redeem(&c, &code, &later).await.0, 410);
}

both_backends!(the_invite_page_works_in_a_real_browser);

/// The invite page as a person uses it, in headless Chromium: the form, an Account ID
/// typed and submitted, then the join URL and a QR code that loaded; the same link once
/// used up, and an unknown code, each a clear page. Screenshots are saved (see
/// support::browser) for a person to look at.
async fn the_invite_page_works_in_a_real_browser(backend: Backend) {
    use crate::support::browser::{Browser, DESKTOP, PHONE};
    use fantoccini::Locator;
    let c = private(backend).await;
    let (blind15, _, account) = identity(&c);
    let invite = invite(&c, Some(1), None).await;
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };

    let browser = Browser::start(DESKTOP).await;
    let url = format!("{}/invite/{}", c.app.address, invite.code);
    browser.goto(&url).await;
    assert_eq!(browser.text("h1").await, "You are invited to Lobby");
    browser.screenshot(&format!("{name}-invite-form")).await;
    let field = browser
        .client
        .find(Locator::Id("account_id"))
        .await
        .unwrap();
    field.send_keys(&account).await.unwrap();
    browser
        .client
        .find(Locator::Id("redeem"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_for(
            "return !!document.getElementById('join-url');",
            15,
            "the page after accepting the invite",
        )
        .await;
    assert_eq!(browser.text("h1").await, "Welcome to Lobby");
    let join = format!(
        "{}/{TOKEN}?public_key={}",
        c.app.config.server.base_url.trim_end_matches('/'),
        c.app.state.key.public_key().to_hex()
    );
    assert_eq!(browser.text("#join-url").await, join);
    // The QR code is an image that decoded (inline, allowed by the page's policy).
    let qr = browser
        .eval(
            "const q = document.getElementById('qr'); \
             return [q.complete, q.naturalWidth > 0, q.getBoundingClientRect().width];",
        )
        .await;
    assert_eq!(qr[0], serde_json::json!(true), "{qr}");
    assert_eq!(qr[1], serde_json::json!(true), "{qr}");
    assert_eq!(qr[2].as_f64(), Some(256.0), "{qr}");
    browser.screenshot(&format!("{name}-invite-accepted")).await;
    c.changed();
    assert_eq!(reads(&blind15).await, 200, "the typed account got in");

    // The one use is spent: the same link now says so, on a phone too.
    browser.resize(PHONE).await;
    browser.goto(&url).await;
    assert_eq!(browser.text("h1").await, "This invite cannot be used");
    let why = browser.text("#error").await;
    assert!(why.contains("used as many times as it allows"), "{why}");
    assert_eq!(
        browser
            .eval("return document.querySelectorAll('form, #account_id').length;")
            .await,
        serde_json::json!(0),
        "no form to submit"
    );
    let fits = browser
        .eval("return document.documentElement.scrollWidth <= window.innerWidth;")
        .await;
    assert_eq!(fits, serde_json::json!(true), "fits a phone screen");
    browser
        .screenshot(&format!("{name}-invite-used-up-phone"))
        .await;

    browser
        .goto(&format!("{}/invite/doesnotexist12345", c.app.address))
        .await;
    assert_eq!(browser.text("h1").await, "This invite cannot be used");
    assert!(
        browser
            .text("#error")
            .await
            .contains("There is no such invite")
    );
    browser.close().await;
}
