//! Active users as clients see them: a room's `active_users` counts the users who read or
//! polled it within `[rooms] active_threshold_days`, from real requests, as the server's own
//! background work (the activity flusher and the cleanup) keeps it; users silent for
//! `active_prune_threshold_days` are forgotten. Time moves on the injected clock.

use serde_json::Value;
use sogs::client::SogsClient;
use sogs::clock::Clock;

use crate::support::app::TestApp;
use crate::support::{Backend, spawn_app_with_clock};

const DAY: f64 = 86_400.0;

/// What the background tasks do on their ticks (the activity flusher, then one cleanup
/// pass), run now, so the test needs no sleeping. The cleanup does not invalidate cached
/// room objects (it runs every 10 s, and dropping every instance's caches that often would
/// defeat them): clients see a new count once the cached room ages out (1 s on one
/// instance, 30 s with Redis). The test drops the caches instead of sleeping through that.
async fn background_work(app: &TestApp) {
    app.state.activity.flush(&app.state.store).await.unwrap();
    sogs::tasks::run_cleanup(&app.state).await.unwrap();
    app.invalidate_caches();
}

/// `active_users` and `active_users_cutoff` of the lobby as a Session client gets them.
async fn lobby_as_seen_by(client: &SogsClient) -> (i64, i64) {
    let res = client.get("/room/lobby").await.unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    let room: Value = res.json();
    (
        room["active_users"].as_i64().unwrap(),
        room["active_users_cutoff"].as_i64().unwrap(),
    )
}

/// The count in the room's web page JSON: read anonymously, so reading it is no activity.
async fn lobby_count_on_the_web(app: &TestApp) -> i64 {
    let page: Value = app
        .get("/r/lobby/messages.json")
        .await
        .json()
        .await
        .unwrap();
    page["active_users"].as_i64().unwrap()
}

async fn poll(client: &SogsClient) {
    let res = client.get("/room/lobby/messages/recent").await.unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
}

async fn active_users_count_real_polls_within_the_threshold_and_silent_users_are_forgotten(
    backend: Backend,
) {
    let clock = Clock::manual(1_790_000_000.0);
    let app = spawn_app_with_clock(backend, clock.clone(), |c| {
        c.rooms.active_threshold_days = 7.0;
        c.rooms.active_prune_threshold_days = 60.0;
    })
    .await;
    let lobby = app
        .state
        .store
        .create_room("lobby", "Lobby", None, clock.now())
        .await
        .unwrap();
    app.state
        .store
        .set_room_web_messages(lobby.id, true)
        .await
        .unwrap();
    app.invalidate_caches();
    let user = || app.user().with_clock(clock.clone());
    let (ann, ben, cat) = (user(), user(), user());

    background_work(&app).await;
    assert_eq!(lobby_count_on_the_web(&app).await, 0, "nobody yet");

    // Ann and Ben read the recent messages; Cat polls as Session clients do (pollInfo).
    // Reading the room's details is not activity: Ann's look below counts nothing.
    poll(&ann).await;
    poll(&ben).await;
    let res = cat.get("/room/lobby/pollInfo/0").await.unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    background_work(&app).await;
    assert_eq!(lobby_as_seen_by(&ann).await, (3, 7 * 86_400));
    assert_eq!(lobby_count_on_the_web(&app).await, 3);

    // Six days on, only Ben polls again: all still within seven days.
    clock.advance(6.0 * DAY);
    poll(&ben).await;
    background_work(&app).await;
    assert_eq!(lobby_count_on_the_web(&app).await, 3);

    // Two more days: Ann and Cat last seen eight days ago, past the threshold; Ben two.
    clock.advance(2.0 * DAY);
    background_work(&app).await;
    assert_eq!(lobby_count_on_the_web(&app).await, 1, "only Ben is active");

    // Ann polls again and counts again (after the next flush and cleanup).
    poll(&ann).await;
    background_work(&app).await;
    assert_eq!(lobby_count_on_the_web(&app).await, 2);

    // 59 days after Ann's poll: nobody is active, and Ben (61 days) and Cat (67) are
    // forgotten by the 60-day prune while Ann is still remembered; two days later she is
    // forgotten too.
    let remembered = || async {
        app.state
            .store
            .active_users(Some(lobby.id), 0.0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.session_id)
            .collect::<Vec<_>>()
    };
    clock.advance(59.0 * DAY);
    background_work(&app).await;
    assert_eq!(lobby_count_on_the_web(&app).await, 0);
    assert_eq!(remembered().await, [ann.id()]);
    clock.advance(2.0 * DAY);
    background_work(&app).await;
    assert_eq!(remembered().await, Vec::<String>::new());
}
both_backends!(active_users_count_real_polls_within_the_threshold_and_silent_users_are_forgotten);
