//! The moderation audit log records what moderators do to messages: deleting someone
//! else's post, wiping a user's posts, pinning and unpinning, clearing reactions. A user
//! deleting their own post is not moderation and is not logged.

use serde_json::json;
use sogs::store::AuditFilter;

use crate::community::{Community, id_of};
use crate::support::Backend;

async fn actions(c: &Community) -> Vec<(String, Option<String>, Option<String>)> {
    let mut entries = c
        .app
        .state
        .store
        .audit_log(&AuditFilter::default())
        .await
        .unwrap();
    entries.reverse();
    entries
        .into_iter()
        .map(|e| (e.action, e.actor, e.target))
        .collect()
}

async fn moderation_of_messages_is_recorded_in_the_audit_log(backend: Backend) {
    let c = Community::new(backend).await;
    let user = c.user().await;
    let moderator = c.moderator().await;
    let admin = c.admin().await;

    let own = id_of(&c.post(&user, b"mine").await);
    let res = user
        .delete(&c.path(&format!("/message/{own}")))
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    assert!(
        actions(&c).await.is_empty(),
        "deleting one's own post is not moderation"
    );

    let theirs = id_of(&c.post(&user, b"rude").await);
    let res = moderator
        .delete(&c.path(&format!("/message/{theirs}")))
        .await
        .unwrap();
    assert_eq!(res.status, 200);

    let liked = id_of(&c.post(&admin, b"liked").await);
    c.react(&user, liked, "👍").await;
    let res = moderator
        .delete(&c.path(&format!("/reactions/{liked}")))
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());

    let res = admin
        .post_json(&c.path(&format!("/pin/{liked}")), &json!({}))
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    let res = admin
        .post_json(&c.path(&format!("/unpin/{liked}")), &json!({}))
        .await
        .unwrap();
    assert_eq!(res.status, 200);

    c.post(&user, b"more").await;
    let res = moderator
        .delete(&c.path(&format!("/all/{}", user.id())))
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());

    let log = actions(&c).await;
    let names: Vec<&str> = log.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(
        names,
        [
            "delete_message",
            "clear_reactions",
            "pin",
            "unpin",
            "delete_all_posts"
        ]
    );
    assert_eq!(log[0].1.as_deref(), Some(moderator.id().as_str()));
    assert_eq!(log[0].2.as_deref(), Some(user.id().as_str()));
    assert_eq!(log[2].1.as_deref(), Some(admin.id().as_str()));
    assert_eq!(log[4].2.as_deref(), Some(user.id().as_str()));
}
both_backends!(moderation_of_messages_is_recorded_in_the_audit_log);
