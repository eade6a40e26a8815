//! The moderation audit log.

use serde_json::json;
use sogs::store::{AuditFilter, NewAuditEntry, Store};

use super::fixtures::NOW;

on_both_backends!(audit_entries_are_listed_newest_first_and_filtered);

fn entry(at: f64, room: Option<&str>, target: &str, action: &str) -> NewAuditEntry {
    NewAuditEntry {
        at,
        room: room.map(String::from),
        actor: Some("15aa".into()),
        target: Some(target.into()),
        action: action.into(),
        details: Some(json!({ "timeout": null, "reason": "spam" })),
    }
}

async fn audit_entries_are_listed_newest_first_and_filtered(store: Store) {
    let ban = store
        .record_audit(&entry(NOW, Some("lobby"), "15bb", "ban"))
        .await
        .unwrap();
    let del = entry(NOW + 1.0, Some("lobby"), "15cc", "delete_message");
    let del = store.record_audit(&del).await.unwrap();
    let global = NewAuditEntry {
        actor: None,
        details: None,
        ..entry(NOW + 2.0, None, "15bb", "ban")
    };
    let global = store.record_audit(&global).await.unwrap();

    let all = store.audit_log(&AuditFilter::default()).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.id).collect::<Vec<_>>(),
        [global, del, ban]
    );
    let first = &all[2];
    assert_eq!(first.at, NOW);
    assert_eq!(first.room.as_deref(), Some("lobby"));
    assert_eq!(first.actor.as_deref(), Some("15aa"));
    assert_eq!(first.target.as_deref(), Some("15bb"));
    assert_eq!(first.action, "ban");
    assert_eq!(
        first.details,
        Some(json!({ "timeout": null, "reason": "spam" }))
    );
    assert_eq!(
        (all[0].actor.as_deref(), all[0].details.as_ref()),
        (None, None)
    );

    let ids = |filter: AuditFilter| {
        let store = store.clone();
        async move {
            let entries = store.audit_log(&filter).await.unwrap();
            entries.iter().map(|e| e.id).collect::<Vec<_>>()
        }
    };
    let room = AuditFilter {
        room: Some("lobby".into()),
        ..AuditFilter::default()
    };
    assert_eq!(ids(room).await, [del, ban]);
    let target = AuditFilter {
        target: Some("15bb".into()),
        ..AuditFilter::default()
    };
    assert_eq!(ids(target).await, [global, ban]);
    let action = AuditFilter {
        action: Some("ban".into()),
        ..AuditFilter::default()
    };
    assert_eq!(ids(action).await, [global, ban]);
    let actor = AuditFilter {
        actor: Some("15aa".into()),
        ..AuditFilter::default()
    };
    assert_eq!(ids(actor).await, [del, ban]);
    let since = AuditFilter {
        since: Some(NOW + 1.0),
        ..AuditFilter::default()
    };
    assert_eq!(ids(since).await, [global, del]);
    let page = AuditFilter {
        before_id: Some(global),
        limit: 1,
        ..AuditFilter::default()
    };
    assert_eq!(ids(page).await, [del]);
}
