//! Moderation that must hold in time and across instances: timed bans and scheduled
//! permission changes take effect by themselves on the next pass of the server's futures
//! loop (it runs every second) after their time (on an injected clock, no sleeping through
//! minutes, and no wall-clock window: the test waits for the loop's pass), and a ban or a
//! rate limit on one instance holds on another from the very next request.

use serde_json::json;
use sogs::client::SogsClient;
use sogs::clock::Clock;

use crate::rooms::{room, room_mod};
use crate::support::app::{spawn_app_with_clock, wait_until};
use crate::support::{Backend, spawn_app_with, use_redis};

async fn post_status(client: &SogsClient, body: &[u8]) -> u16 {
    client
        .post_json("/room/lobby/message", &client.message_json(body))
        .await
        .unwrap()
        .status
}

async fn a_timed_ban_ends_by_itself_on_the_next_pass_after_its_time(backend: Backend) {
    let clock = Clock::manual(Clock::system().now());
    let app = spawn_app_with_clock(backend, clock.clone(), |_| {}).await;
    let lobby = room(&app, "lobby").await;
    let moderator = room_mod(&app, &lobby, false, true)
        .await
        .with_clock(clock.clone());
    let user = app.user().with_clock(clock.clone());
    assert_eq!(post_status(&user, b"before").await, 201);
    let res = moderator
        .post_json(
            &format!("/user/{}/ban", user.id()),
            &json!({"rooms": ["lobby"], "timeout": 3600}),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(post_status(&user, b"banned").await, 403);

    clock.advance(3601.0);
    app.next_pass_of("futures").await;
    assert_eq!(
        post_status(&user, b"after").await,
        201,
        "the ban was not lifted by the first pass after its end"
    );
}
both_backends!(a_timed_ban_ends_by_itself_on_the_next_pass_after_its_time);

async fn a_scheduled_permission_change_applies_on_the_next_pass_after_its_time(backend: Backend) {
    let clock = Clock::manual(Clock::system().now());
    let app = spawn_app_with_clock(backend, clock.clone(), |_| {}).await;
    let lobby = room(&app, "lobby").await;
    let moderator = room_mod(&app, &lobby, false, true)
        .await
        .with_clock(clock.clone());
    let user = app.user().with_clock(clock.clone());
    assert_eq!(post_status(&user, b"allowed").await, 201);
    let res = moderator
        .post_json(
            &format!("/room/lobby/futurePermissions/{}", user.id()),
            &json!({"write": false, "in": 600}),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(post_status(&user, b"still allowed").await, 201);

    clock.advance(601.0);
    app.next_pass_of("futures").await;
    assert_eq!(
        post_status(&user, b"too late").await,
        403,
        "the scheduled change did not apply on the first pass after its time"
    );
}
both_backends!(a_scheduled_permission_change_applies_on_the_next_pass_after_its_time);

/// Two instances on one PostgreSQL and Redis: a ban made through one is enforced by the
/// other on the next request, and the post rate limit counts posts made through both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ban_and_a_rate_limit_made_on_one_instance_hold_on_another() {
    let a = spawn_app_with(Backend::Postgres, use_redis).await;
    // The same configuration: the same Redis and key prefix, as one community's are.
    let b = a.another_instance(|_| {}).await;
    for app in [&a, &b] {
        wait_until("the instance subscribed to invalidations", || async {
            app.state.cluster.caches.enabled()
        })
        .await;
    }
    let lobby = room(&a, "lobby").await;
    let moderator = room_mod(&a, &lobby, false, true).await;
    let user = a.user();
    let on_b = b.client().with_signer(user.signer().unwrap().clone());
    b.invalidate_caches();

    // Warm B's caches with the user allowed, then ban through A.
    assert_eq!(post_status(&on_b, b"hello from b").await, 201);
    let res = moderator
        .post_json(
            &format!("/user/{}/ban", user.id()),
            &json!({"rooms": ["lobby"]}),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(
        post_status(&on_b, b"banned?").await,
        403,
        "instance B served a banned user on the next request"
    );
    let res = moderator
        .post_json(
            &format!("/user/{}/unban", user.id()),
            &json!({"rooms": ["lobby"]}),
        )
        .await
        .unwrap();
    assert_eq!(res.status, 200);

    // The rate limit (5 posts / 16 s) counts posts made through either instance.
    let poster = a.user();
    let poster_on_b = b.client().with_signer(poster.signer().unwrap().clone());
    for i in 0..5u8 {
        let via = if i % 2 == 0 { &poster } else { &poster_on_b };
        assert_eq!(post_status(via, &[i]).await, 201);
    }
    assert_eq!(post_status(&poster_on_b, b"sixth").await, 429);
    assert_eq!(post_status(&poster, b"seventh").await, 429);
    a.assert_redis_used().await;
    b.assert_redis_used().await;
}

/// An operator may give one room its own post rate limit; other rooms keep the server's.
async fn a_room_can_have_its_own_post_rate_limit(backend: Backend) {
    let c = crate::community::Community::new(backend).await;
    let other = c.add_room("other").await;
    c.app
        .state
        .store
        .set_room_post_rate_limit(c.room.id, Some((2, 60.0)))
        .await
        .unwrap();
    c.changed();
    let user = c.user().await;
    assert_eq!(post_status(&user, b"1").await, 201);
    assert_eq!(post_status(&user, b"2").await, 201);
    assert_eq!(post_status(&user, b"3").await, 429);
    for i in 0..5u8 {
        let res = user
            .post_json(
                &format!("/room/{}/message", other.token),
                &user.message_json(&[i]),
            )
            .await
            .unwrap();
        assert_eq!(res.status, 201, "the server's limit of 5 applies elsewhere");
    }
    c.app
        .state
        .store
        .set_room_post_rate_limit(c.room.id, None)
        .await
        .unwrap();
    c.changed();
    assert_eq!(
        post_status(&user, b"4").await,
        201,
        "back to the server's 5"
    );
}
both_backends!(a_room_can_have_its_own_post_rate_limit);
