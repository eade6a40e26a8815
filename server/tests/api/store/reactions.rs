//! Reactions (spec §6.6): every single user reaction added or removed takes a sequence
//! number and becomes the message's `seqno_reactions`.

use sogs::store::{NewMessage, ReactionChange, ReactionsRemoved, Store, StoreError};

use super::fixtures::{NOW, current, post, room, text, user};

on_both_backends!(
    adding_a_reaction_takes_a_seqno_once,
    removing_a_reaction_takes_a_seqno_once,
    only_regular_messages_take_reactions,
    the_reactions_dict_counts_orders_and_names_reactors,
    a_re_added_reaction_sorts_last,
    a_moderator_can_clear_one_or_all_reactions,
    reactors_are_listed_in_order_of_reacting,
);

async fn adding_a_reaction_takes_a_seqno_once(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    let message = post(&store, &lobby, &alice, b"hi").await;

    let added = store
        .add_reaction(lobby.id, message.id, alice.id, "👍", NOW)
        .await
        .unwrap();
    assert_eq!(
        added,
        ReactionChange {
            changed: true,
            seqno: 2
        }
    );
    let again = store
        .add_reaction(lobby.id, message.id, alice.id, "👍", NOW)
        .await
        .unwrap();
    assert_eq!(
        again,
        ReactionChange {
            changed: false,
            seqno: 2
        }
    );

    assert_eq!(current(&store, &lobby).await.message_sequence, 2);
    let message = store
        .message_by_id(lobby.id, message.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (message.seqno, message.seqno_reactions, message.seqno_data),
        (2, 2, 1)
    );
}

async fn removing_a_reaction_takes_a_seqno_once(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    let bob = user(&store, 2).await;
    let message = post(&store, &lobby, &alice, b"hi").await;
    store
        .add_reaction(lobby.id, message.id, alice.id, "👍", NOW)
        .await
        .unwrap();
    store
        .add_reaction(lobby.id, message.id, bob.id, "👍", NOW)
        .await
        .unwrap();

    let removed = store
        .remove_reaction(lobby.id, message.id, alice.id, "👍", 0.0)
        .await
        .unwrap();
    assert_eq!(
        removed,
        ReactionChange {
            changed: true,
            seqno: 4
        }
    );
    let again = store
        .remove_reaction(lobby.id, message.id, alice.id, "👍", 0.0)
        .await
        .unwrap();
    assert_eq!(
        again,
        ReactionChange {
            changed: false,
            seqno: 4
        }
    );
    let never = store
        .remove_reaction(lobby.id, message.id, alice.id, "🙈", 0.0)
        .await
        .unwrap();
    assert_eq!(
        never,
        ReactionChange {
            changed: false,
            seqno: 4
        }
    );

    let dict = store
        .reactions_for(&[message.id], Some(alice.id), 5)
        .await
        .unwrap();
    let thumbs = &dict[&message.id][0];
    assert_eq!((thumbs.count, thumbs.you), (1, false));
    assert_eq!(thumbs.reactors, [bob.session_id.as_str()]);
    assert_eq!(current(&store, &lobby).await.message_sequence, 4);
}

async fn only_regular_messages_take_reactions(store: Store) {
    let lobby = room(&store, "lobby").await;
    let other = room(&store, "other").await;
    let alice = user(&store, 1).await;
    let whisper = NewMessage {
        whisper_mods: true,
        ..text(&lobby, &alice, b"psst")
    };
    let whisper = store.post_message(&whisper, NOW).await.unwrap();
    let filtered = NewMessage {
        filtered: true,
        ..text(&lobby, &alice, b"rude")
    };
    let filtered = store.post_message(&filtered, NOW).await.unwrap();
    let deleted = post(&store, &lobby, &alice, b"gone").await;
    store
        .delete_message(lobby.id, deleted.id, NOW)
        .await
        .unwrap();
    let elsewhere = post(&store, &other, &alice, b"elsewhere").await;
    let sequence = current(&store, &lobby).await.message_sequence;

    for id in [whisper.id, filtered.id, deleted.id, elsewhere.id, 9999] {
        let err = store
            .add_reaction(lobby.id, id, alice.id, "👍", NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::NotFound("message")),
            "{id}: {err:?}"
        );
        let err = store
            .remove_reaction(lobby.id, id, alice.id, "👍", 0.0)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::NotFound("message")),
            "{id}: {err:?}"
        );
    }
    assert_eq!(current(&store, &lobby).await.message_sequence, sequence);
}

async fn the_reactions_dict_counts_orders_and_names_reactors(store: Store) {
    let lobby = room(&store, "lobby").await;
    let users = [
        user(&store, 1).await,
        user(&store, 2).await,
        user(&store, 3).await,
    ];
    let first = post(&store, &lobby, &users[0], b"first").await;
    let second = post(&store, &lobby, &users[0], b"second").await;
    let quiet = post(&store, &lobby, &users[0], b"quiet").await;
    // Reactors react at NOW+0, NOW+1, NOW+2; "🎉" is added before "👍".
    let react = |message: i64, who: usize, reaction: &'static str, at: f64| {
        let store = store.clone();
        let user = users[who].id;
        let room = lobby.id;
        async move {
            store
                .add_reaction(room, message, user, reaction, at)
                .await
                .unwrap()
        }
    };
    react(first.id, 2, "🎉", NOW).await;
    react(first.id, 1, "👍", NOW + 1.0).await;
    react(first.id, 0, "👍", NOW + 2.0).await;
    react(first.id, 2, "👍", NOW + 3.0).await;
    react(second.id, 1, "❤️", NOW).await;

    let ids = [first.id, second.id, quiet.id];
    let dict = store
        .reactions_for(&ids, Some(users[0].id), 2)
        .await
        .unwrap();

    assert!(!dict.contains_key(&quiet.id), "no reactions, no entry");
    let on_first = &dict[&first.id];
    assert_eq!(on_first.len(), 2);
    let (party, thumbs) = (&on_first[0], &on_first[1]);
    assert_eq!(
        (party.reaction.as_str(), party.index, party.count),
        ("🎉", 0, 1)
    );
    assert_eq!(party.reactors, [users[2].session_id.as_str()]);
    assert!(!party.you);
    assert_eq!(
        (thumbs.reaction.as_str(), thumbs.index, thumbs.count),
        ("👍", 1, 3)
    );
    assert_eq!(
        thumbs.reactors,
        [users[1].session_id.as_str(), users[0].session_id.as_str()]
    );
    assert!(thumbs.you);
    let on_second = &dict[&second.id];
    assert_eq!(
        (on_second[0].reaction.as_str(), on_second[0].index),
        ("❤️", 0)
    );
    assert!(!on_second[0].you);

    let anonymous = store.reactions_for(&ids, None, 0).await.unwrap();
    let thumbs = &anonymous[&first.id][1];
    assert!(thumbs.reactors.is_empty(), "reactors=0 lists nobody");
    assert!(!thumbs.you);
    assert_eq!(thumbs.count, 3);
    assert!(store.reactions_for(&[], None, 5).await.unwrap().is_empty());
}

async fn a_re_added_reaction_sorts_last(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    let message = post(&store, &lobby, &alice, b"hi").await;
    for reaction in ["a", "b", "c"] {
        store
            .add_reaction(lobby.id, message.id, alice.id, reaction, NOW)
            .await
            .unwrap();
    }
    store
        .remove_reaction(lobby.id, message.id, alice.id, "a", 0.0)
        .await
        .unwrap();
    store
        .add_reaction(lobby.id, message.id, alice.id, "a", NOW)
        .await
        .unwrap();

    let dict = store.reactions_for(&[message.id], None, 0).await.unwrap();
    let order: Vec<(&str, i64)> = dict[&message.id]
        .iter()
        .map(|r| (r.reaction.as_str(), r.index))
        .collect();
    assert_eq!(order, [("b", 0), ("c", 1), ("a", 2)]);
}

async fn a_moderator_can_clear_one_or_all_reactions(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    let bob = user(&store, 2).await;
    let message = post(&store, &lobby, &alice, b"hi").await;
    for who in [&alice, &bob] {
        for reaction in ["x", "y"] {
            store
                .add_reaction(lobby.id, message.id, who.id, reaction, NOW)
                .await
                .unwrap();
        }
    }
    assert_eq!(current(&store, &lobby).await.message_sequence, 5);

    let cleared = store
        .remove_reactions(lobby.id, message.id, Some("x"), 0.0)
        .await
        .unwrap();
    assert_eq!(
        cleared,
        ReactionsRemoved {
            removed: 2,
            seqno: 7
        }
    );
    let cleared = store
        .remove_reactions(lobby.id, message.id, None, 0.0)
        .await
        .unwrap();
    assert_eq!(
        cleared,
        ReactionsRemoved {
            removed: 2,
            seqno: 9
        }
    );
    let cleared = store
        .remove_reactions(lobby.id, message.id, None, 0.0)
        .await
        .unwrap();
    assert_eq!(
        cleared,
        ReactionsRemoved {
            removed: 0,
            seqno: 9
        }
    );

    assert_eq!(current(&store, &lobby).await.message_sequence, 9);
    assert!(
        store
            .reactions_for(&[message.id], None, 1)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn reactors_are_listed_in_order_of_reacting(store: Store) {
    let lobby = room(&store, "lobby").await;
    let users = [
        user(&store, 1).await,
        user(&store, 2).await,
        user(&store, 3).await,
    ];
    let message = post(&store, &lobby, &users[0], b"hi").await;
    for (i, who) in users.iter().enumerate().rev() {
        let at = NOW + 10.0 - i as f64;
        store
            .add_reaction(lobby.id, message.id, who.id, "🔥", at)
            .await
            .unwrap();
    }

    let all = store.reactors(message.id, "🔥", None).await.unwrap();
    let order: Vec<(&str, f64)> = all.iter().map(|r| (r.session_id.as_str(), r.at)).collect();
    assert_eq!(
        order,
        [
            (users[2].session_id.as_str(), NOW + 8.0),
            (users[1].session_id.as_str(), NOW + 9.0),
            (users[0].session_id.as_str(), NOW + 10.0),
        ]
    );
    assert_eq!(
        store
            .reactors(message.id, "🔥", Some(2))
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store
            .reactors(message.id, "🔥", Some(0))
            .await
            .unwrap()
            .len(),
        3
    );
    assert!(
        store
            .reactors(message.id, "💧", None)
            .await
            .unwrap()
            .is_empty()
    );
}
