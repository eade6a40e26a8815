//! Messages: the sequence effects of posting, editing and deleting (spec §6.4), and the
//! polling queries with their visibility rules.

use sogs::store::{MessageEdit, NewFile, NewMessage, Store, StoreError, Viewer};

use super::fixtures::{NOW, current, post, room, text, user};

on_both_backends!(
    each_post_takes_the_next_sequence_number,
    message_ids_are_global_but_seqnos_are_per_room,
    an_edit_keeps_the_old_version_and_takes_a_new_seqno,
    only_live_messages_of_the_room_can_be_edited,
    deleting_a_message_with_n_reactions_advances_the_sequence_by_one_plus_n,
    deleting_unpins_and_expires_attachments,
    deleted_messages_cannot_be_deleted_again,
    since_returns_new_edited_and_seen_deleted_messages_in_seqno_order,
    since_returns_reaction_only_changes_only_when_asked,
    since_pages_by_limit,
    whispers_are_shown_only_to_their_audience,
    filtered_messages_are_stored_but_never_shown,
    recent_and_before_page_backwards_through_live_messages,
    recent_posts_count_deleted_ones_too,
    deleting_all_of_a_users_messages_takes_one_seqno_each,
    wiping_a_user_from_a_room_deletes_their_posts_and_expires_their_uploads_but_not_the_room_image,
    a_fill_numbers_its_messages_as_posts_and_is_all_or_nothing,
);

async fn each_post_takes_the_next_sequence_number(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;

    let first = post(&store, &lobby, &alice, b"one").await;
    let second = post(&store, &lobby, &alice, b"two").await;

    assert_eq!((first.seqno, second.seqno), (1, 2));
    assert_eq!(
        (
            second.seqno_data,
            second.seqno_creation,
            second.seqno_reactions
        ),
        (2, 2, 0)
    );
    assert_eq!(second.room, lobby.id);
    assert_eq!(second.user_id, alice.id);
    assert_eq!(second.session_id, alice.session_id);
    assert_eq!(second.posted, NOW);
    assert_eq!(second.edited, None);
    assert_eq!(second.data.as_deref(), Some(&b"two"[..]));
    assert_eq!(second.data_size, Some(3));
    assert_eq!(second.signature.as_deref(), Some(&[0_u8; 64][..]));
    assert!(!second.filtered && !second.is_whisper() && !second.is_deleted());
    assert_eq!(current(&store, &lobby).await.message_sequence, 2);
    assert_eq!(
        current(&store, &lobby).await.info_updates,
        0,
        "posts do not bump info"
    );
}

async fn message_ids_are_global_but_seqnos_are_per_room(store: Store) {
    let a = room(&store, "a").await;
    let b = room(&store, "b").await;
    let alice = user(&store, 1).await;

    let in_a = post(&store, &a, &alice, b"x").await;
    let in_b = post(&store, &b, &alice, b"y").await;

    assert!(in_b.id > in_a.id);
    assert_eq!((in_a.seqno, in_b.seqno), (1, 1));
    let err = store.post_message(&text(&a, &alice, b"z"), NOW).await;
    assert_eq!(err.unwrap().seqno, 2);
    let mut missing_room = text(&a, &alice, b"z");
    missing_room.room = 9999;
    let err = store.post_message(&missing_room, NOW).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound("room")), "{err:?}");
}

async fn an_edit_keeps_the_old_version_and_takes_a_new_seqno(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    let original = post(&store, &lobby, &alice, b"helo").await;
    post(&store, &lobby, &alice, b"other").await;

    let edit = MessageEdit {
        room: lobby.id,
        message: original.id,
        data: b"hello",
        data_size: 5,
        signature: &[1_u8; 64],
    };
    let edited = store.edit_message(&edit, NOW + 10.0).await.unwrap();

    assert_eq!(edited.data.as_deref(), Some(&b"hello"[..]));
    assert_eq!(edited.signature.as_deref(), Some(&[1_u8; 64][..]));
    assert_eq!(edited.data_size, Some(5));
    assert_eq!(edited.posted, NOW, "posted stays");
    assert_eq!(edited.edited, Some(NOW + 10.0));
    assert_eq!(
        (edited.seqno, edited.seqno_data, edited.seqno_creation),
        (3, 3, 1)
    );
    assert_eq!(current(&store, &lobby).await.message_sequence, 3);

    let history = store.message_history(original.id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].data, b"helo");
    assert_eq!(history[0].signature, [0_u8; 64]);
    assert_eq!(history[0].replaced, NOW + 10.0);
}

async fn only_live_messages_of_the_room_can_be_edited(store: Store) {
    let lobby = room(&store, "lobby").await;
    let other = room(&store, "other").await;
    let alice = user(&store, 1).await;
    let message = post(&store, &lobby, &alice, b"x").await;
    let edit = |room: i64, message: i64| MessageEdit {
        room,
        message,
        data: b"y",
        data_size: 1,
        signature: &[0_u8; 64],
    };

    let err = store
        .edit_message(&edit(other.id, message.id), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound("message")), "{err:?}");
    let err = store
        .edit_message(&edit(lobby.id, 9999), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound("message")), "{err:?}");
    store
        .delete_message(lobby.id, message.id, NOW)
        .await
        .unwrap();
    let err = store
        .edit_message(&edit(lobby.id, message.id), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound("message")), "{err:?}");

    // Failed edits took no sequence numbers: only the post and the deletion did.
    assert_eq!(current(&store, &lobby).await.message_sequence, 2);
    assert_eq!(current(&store, &other).await.message_sequence, 0);
    assert!(store.message_history(message.id).await.unwrap().is_empty());
}

async fn deleting_a_message_with_n_reactions_advances_the_sequence_by_one_plus_n(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    let message = post(&store, &lobby, &alice, b"popular").await;
    for n in 2..=4 {
        let reactor = user(&store, n).await;
        store
            .add_reaction(lobby.id, message.id, reactor.id, "👍", NOW)
            .await
            .unwrap();
    }
    store
        .add_reaction(lobby.id, message.id, alice.id, "🎉", NOW)
        .await
        .unwrap();
    let before = current(&store, &lobby).await.message_sequence;
    assert_eq!(before, 5);

    let deleted = store
        .delete_message(lobby.id, message.id, NOW + 5.0)
        .await
        .unwrap();

    assert_eq!(
        current(&store, &lobby).await.message_sequence,
        before + 1 + 4
    );
    assert!(deleted.is_deleted());
    assert_eq!((deleted.data_size, deleted.signature), (None, None));
    assert_eq!(
        deleted.edited,
        Some(NOW + 5.0),
        "deletion counts as an edit"
    );
    assert_eq!(deleted.seqno_data, before + 1, "the data went first");
    assert_eq!(deleted.seqno_reactions, before + 5, "then each reaction");
    assert_eq!(deleted.seqno, before + 5);
    assert_eq!(deleted.seqno_creation, 1);
    let reactions = store.reactions_for(&[message.id], None, 5).await.unwrap();
    assert!(reactions.is_empty());

    // Without reactions, a deletion takes exactly one number.
    let plain = post(&store, &lobby, &alice, b"plain").await;
    let deleted = store.delete_message(lobby.id, plain.id, NOW).await.unwrap();
    assert_eq!(deleted.seqno, plain.seqno + 1);
    assert_eq!(deleted.seqno_reactions, 0);
}

async fn deleting_unpins_and_expires_attachments(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    let upload = NewFile {
        room: lobby.id,
        uploader: alice.id,
        size: 4,
        filename: Some("a.jpg"),
        expiry: Some(NOW + 3600.0),
    };
    let file = store
        .add_file(&upload, |id| format!("lobby/{id}"), NOW)
        .await
        .unwrap();
    let message = post(&store, &lobby, &alice, b"look").await;
    let attached = store
        .attach_files(
            lobby.id,
            alice.id,
            message.id,
            &[file.id],
            Some(NOW + 86400.0),
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(attached, 1);
    store
        .pin_message(lobby.id, message.id, alice.id, NOW)
        .await
        .unwrap();
    assert_eq!(current(&store, &lobby).await.info_updates, 1);

    store
        .delete_message(lobby.id, message.id, NOW)
        .await
        .unwrap();

    assert!(store.pinned_messages(lobby.id).await.unwrap().is_empty());
    assert_eq!(
        current(&store, &lobby).await.info_updates,
        2,
        "unpinning is an info update"
    );
    let file = store.file_by_id(file.id).await.unwrap().unwrap();
    assert_eq!(file.expiry, Some(0.0));
    assert_eq!(file.message, Some(message.id));
}

async fn deleted_messages_cannot_be_deleted_again(store: Store) {
    let lobby = room(&store, "lobby").await;
    let other = room(&store, "other").await;
    let alice = user(&store, 1).await;
    let message = post(&store, &lobby, &alice, b"x").await;

    let err = store
        .delete_message(other.id, message.id, NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound("message")), "{err:?}");
    store
        .delete_message(lobby.id, message.id, NOW)
        .await
        .unwrap();
    let err = store
        .delete_message(lobby.id, message.id, NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound("message")), "{err:?}");
    assert_eq!(current(&store, &lobby).await.message_sequence, 2);
}

async fn since_returns_new_edited_and_seen_deleted_messages_in_seqno_order(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    let anyone = Viewer::anonymous();
    let old = post(&store, &lobby, &alice, b"old").await; // 1
    let to_edit = post(&store, &lobby, &alice, b"to edit").await; // 2
    let to_delete = post(&store, &lobby, &alice, b"to delete").await; // 3
    let seen = current(&store, &lobby).await.message_sequence;

    let unseen = post(&store, &lobby, &alice, b"unseen").await; // 4
    let edit = MessageEdit {
        room: lobby.id,
        message: to_edit.id,
        data: b"edited",
        data_size: 6,
        signature: &[0_u8; 64],
    };
    store.edit_message(&edit, NOW).await.unwrap(); // 5
    store
        .delete_message(lobby.id, to_delete.id, NOW)
        .await
        .unwrap(); // 6
    store
        .delete_message(lobby.id, unseen.id, NOW)
        .await
        .unwrap(); // 7

    let since = store
        .messages_since(lobby.id, seen, sogs::store::Page::of(100), false, anyone)
        .await
        .unwrap();
    let got: Vec<(i64, i64, bool)> = since
        .iter()
        .map(|m| (m.id, m.seqno, m.is_deleted()))
        .collect();
    // The unseen message was created and deleted after `seen`: the client never needs it.
    assert_eq!(got, [(to_edit.id, 5, false), (to_delete.id, 6, true)]);

    let everything = store
        .messages_since(lobby.id, 0, sogs::store::Page::of(100), false, anyone)
        .await
        .unwrap();
    let ids: Vec<i64> = everything.iter().map(|m| m.id).collect();
    assert_eq!(
        ids,
        [old.id, to_edit.id],
        "from 0, deleted messages are not news"
    );

    let nothing = store
        .messages_since(lobby.id, 7, sogs::store::Page::of(100), false, anyone)
        .await
        .unwrap();
    assert!(nothing.is_empty());
}

async fn since_returns_reaction_only_changes_only_when_asked(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    let message = post(&store, &lobby, &alice, b"react to me").await; // 1
    let change = store
        .add_reaction(lobby.id, message.id, alice.id, "❤️", NOW)
        .await
        .unwrap();
    assert_eq!(change.seqno, 2);

    let plain = store
        .messages_since(
            lobby.id,
            1,
            sogs::store::Page::of(100),
            false,
            Viewer::anonymous(),
        )
        .await
        .unwrap();
    assert!(plain.is_empty());
    let with = store
        .messages_since(
            lobby.id,
            1,
            sogs::store::Page::of(100),
            true,
            Viewer::anonymous(),
        )
        .await
        .unwrap();
    assert_eq!(with.len(), 1);
    assert_eq!(
        (with[0].id, with[0].seqno, with[0].seqno_data),
        (message.id, 2, 1)
    );
    assert!(
        with[0].seqno_data <= 1,
        "the caller sees it is a reaction-only row"
    );
}

async fn since_pages_by_limit(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    for n in 0..5_u8 {
        post(&store, &lobby, &alice, &[n]).await;
    }
    let anyone = Viewer::anonymous();
    let page = store
        .messages_since(lobby.id, 0, sogs::store::Page::of(2), false, anyone)
        .await
        .unwrap();
    assert_eq!(page.iter().map(|m| m.seqno).collect::<Vec<_>>(), [1, 2]);
    let page = store
        .messages_since(lobby.id, 2, sogs::store::Page::of(2), false, anyone)
        .await
        .unwrap();
    assert_eq!(page.iter().map(|m| m.seqno).collect::<Vec<_>>(), [3, 4]);
    let page = store
        .messages_since(lobby.id, 4, sogs::store::Page::of(2), false, anyone)
        .await
        .unwrap();
    assert_eq!(page.iter().map(|m| m.seqno).collect::<Vec<_>>(), [5]);
}

async fn whispers_are_shown_only_to_their_audience(store: Store) {
    let lobby = room(&store, "lobby").await;
    let (mod_a, mod_b) = (user(&store, 1).await, user(&store, 2).await);
    let (bob, carol) = (user(&store, 3).await, user(&store, 4).await);
    let whisper = |data: &'static [u8], to: Option<i64>, mods: bool| NewMessage {
        whisper_to: to,
        whisper_mods: mods,
        ..text(&lobby, &mod_a, data)
    };
    let public = post(&store, &lobby, &bob, b"public").await;
    let to_bob = store
        .post_message(&whisper(b"to bob", Some(bob.id), false), NOW)
        .await
        .unwrap();
    let to_mods = store
        .post_message(&whisper(b"mods", None, true), NOW)
        .await
        .unwrap();
    let both = store
        .post_message(&whisper(b"both", Some(bob.id), true), NOW)
        .await
        .unwrap();
    let to_carol = store
        .post_message(&whisper(b"carol", Some(carol.id), false), NOW)
        .await
        .unwrap();
    assert!(to_bob.is_whisper() && to_mods.is_whisper());
    assert_eq!(to_bob.whisper_to.as_deref(), Some(bob.session_id.as_str()));
    assert_eq!(to_bob.whisper_to_id, Some(bob.id));

    let room_id = lobby.id;
    let sees = |viewer: Viewer| {
        let store = store.clone();
        async move {
            let since = store
                .messages_since(room_id, 0, sogs::store::Page::of(100), false, viewer)
                .await
                .unwrap();
            let recent = store
                .recent_messages(room_id, sogs::store::Page::of(100), viewer)
                .await
                .unwrap();
            let mut from_recent: Vec<i64> = recent.iter().map(|m| m.id).collect();
            from_recent.reverse();
            let ids: Vec<i64> = since.iter().map(|m| m.id).collect();
            assert_eq!(ids, from_recent, "since and recent agree");
            ids
        }
    };

    assert_eq!(sees(Viewer::anonymous()).await, [public.id]);
    assert_eq!(
        sees(Viewer::user(bob.id)).await,
        [public.id, to_bob.id, both.id]
    );
    assert_eq!(sees(Viewer::user(carol.id)).await, [public.id, to_carol.id]);
    // A moderator sees mod whispers, whispers they sent, and whispers to them.
    let everything = [public.id, to_bob.id, to_mods.id, both.id, to_carol.id];
    assert_eq!(sees(Viewer::moderator(mod_a.id)).await, everything);
    assert_eq!(
        sees(Viewer::moderator(mod_b.id)).await,
        [public.id, to_mods.id, both.id]
    );

    let single = store
        .visible_message(lobby.id, to_bob.id, Viewer::user(carol.id))
        .await;
    assert_eq!(single.unwrap(), None);
    let single = store
        .visible_message(lobby.id, to_bob.id, Viewer::user(bob.id))
        .await;
    assert_eq!(single.unwrap().map(|m| m.id), Some(to_bob.id));
}

async fn filtered_messages_are_stored_but_never_shown(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    let filtered = NewMessage {
        filtered: true,
        ..text(&lobby, &alice, b"rude")
    };
    let message = store.post_message(&filtered, NOW).await.unwrap();
    assert!(message.filtered);
    assert_eq!(message.seqno, 1);

    let moderator = Viewer::moderator(alice.id);
    assert!(
        store
            .messages_since(lobby.id, 0, sogs::store::Page::of(10), true, moderator)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .recent_messages(lobby.id, sogs::store::Page::of(10), moderator)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .visible_message(lobby.id, message.id, moderator)
            .await
            .unwrap(),
        None
    );
    let raw = store.message_by_id(lobby.id, message.id).await.unwrap();
    assert_eq!(raw.map(|m| m.filtered), Some(true), "kept for moderation");
}

async fn recent_and_before_page_backwards_through_live_messages(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    let mut ids = Vec::new();
    for n in 0..6_u8 {
        ids.push(post(&store, &lobby, &alice, &[n]).await.id);
    }
    store.delete_message(lobby.id, ids[4], NOW).await.unwrap();
    let anyone = Viewer::anonymous();

    let recent = store
        .recent_messages(lobby.id, sogs::store::Page::of(3), anyone)
        .await
        .unwrap();
    let got: Vec<i64> = recent.iter().map(|m| m.id).collect();
    assert_eq!(got, [ids[5], ids[3], ids[2]]);

    let before = store
        .messages_before(lobby.id, ids[2], sogs::store::Page::of(10), anyone)
        .await
        .unwrap();
    let got: Vec<i64> = before.iter().map(|m| m.id).collect();
    assert_eq!(got, [ids[1], ids[0]]);

    let shown = store
        .visible_message(lobby.id, ids[4], anyone)
        .await
        .unwrap();
    assert_eq!(shown, None, "deleted messages are not shown singly");
}

async fn recent_posts_count_deleted_ones_too(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    let bob = user(&store, 2).await;
    store
        .post_message(&text(&lobby, &alice, b"early"), NOW - 100.0)
        .await
        .unwrap();
    let late = store
        .post_message(&text(&lobby, &alice, b"late"), NOW)
        .await
        .unwrap();
    store
        .post_message(&text(&lobby, &alice, b"later"), NOW + 1.0)
        .await
        .unwrap();
    post(&store, &lobby, &bob, b"bob").await;
    store
        .delete_message(lobby.id, late.id, NOW + 2.0)
        .await
        .unwrap();

    assert_eq!(
        store
            .count_recent_posts(lobby.id, alice.id, NOW - 16.0)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .count_recent_posts(lobby.id, alice.id, 0.0)
            .await
            .unwrap(),
        3
    );
}

async fn deleting_all_of_a_users_messages_takes_one_seqno_each(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    let bob = user(&store, 2).await;
    let a1 = post(&store, &lobby, &alice, b"a1").await;
    let b1 = post(&store, &lobby, &bob, b"b1").await;
    let a2 = post(&store, &lobby, &alice, b"a2").await;
    store
        .add_reaction(lobby.id, a2.id, bob.id, "👀", NOW)
        .await
        .unwrap();
    assert_eq!(current(&store, &lobby).await.message_sequence, 4);

    let deleted = store
        .delete_user_messages(lobby.id, alice.id, NOW)
        .await
        .unwrap();

    assert_eq!(deleted, [a1.id, a2.id]);
    assert_eq!(current(&store, &lobby).await.message_sequence, 4 + 2 + 1);
    let b1_now = store.message_by_id(lobby.id, b1.id).await.unwrap().unwrap();
    assert_eq!(b1_now, b1);
    assert!(
        store
            .delete_user_messages(lobby.id, alice.id, NOW)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn wiping_a_user_from_a_room_deletes_their_posts_and_expires_their_uploads_but_not_the_room_image(
    store: Store,
) {
    let lobby = room(&store, "lobby").await;
    let other = room(&store, "other").await;
    let alice = user(&store, 1).await;
    let bob = user(&store, 2).await;
    let upload = |room: i64, uploader: i64| NewFile {
        room,
        uploader,
        size: 4,
        filename: None,
        expiry: Some(NOW + 3600.0),
    };
    let add = |file: NewFile<'static>| {
        let store = store.clone();
        async move {
            store
                .add_file(&file, |id| format!("f/{id}"), NOW)
                .await
                .unwrap()
        }
    };
    let loose = add(upload(lobby.id, alice.id)).await;
    let image = add(upload(lobby.id, alice.id)).await;
    let elsewhere = add(upload(other.id, alice.id)).await;
    let bobs = add(upload(lobby.id, bob.id)).await;
    store
        .update_room_details(
            lobby.id,
            &sogs::store::RoomUpdate {
                image: Some(Some(image.id)),
                ..Default::default()
            },
            0.0,
        )
        .await
        .unwrap();
    let a1 = post(&store, &lobby, &alice, b"a1").await;
    let a_other = post(&store, &other, &alice, b"a2").await;
    let b1 = post(&store, &lobby, &bob, b"b1").await;
    store
        .add_reaction(lobby.id, a1.id, bob.id, "👀", NOW)
        .await
        .unwrap();
    let before = current(&store, &lobby).await.message_sequence;

    let deleted = store
        .delete_user_posts_and_uploads(lobby.id, alice.id, NOW)
        .await
        .unwrap();

    assert_eq!(deleted, [a1.id]);
    assert_eq!(current(&store, &lobby).await.message_sequence, before + 2);
    let expiry = |id: i64| {
        let store = store.clone();
        async move { store.file_by_id(id).await.unwrap().unwrap().expiry }
    };
    assert_eq!(expiry(loose.id).await, Some(0.0));
    assert_eq!(expiry(image.id).await, None, "the room image stays");
    assert_eq!(expiry(elsewhere.id).await, Some(NOW + 3600.0));
    assert_eq!(expiry(bobs.id).await, Some(NOW + 3600.0));
    for (room, id) in [(other.id, a_other.id), (lobby.id, b1.id)] {
        assert!(
            !store
                .message_by_id(room, id)
                .await
                .unwrap()
                .unwrap()
                .is_deleted()
        );
    }
    assert!(
        store
            .delete_user_posts_and_uploads(lobby.id, alice.id, NOW)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_fill_numbers_its_messages_as_posts_and_is_all_or_nothing(store: Store) {
    let lobby = room(&store, "lobby").await;
    let alice = user(&store, 1).await;
    post(&store, &lobby, &alice, b"before").await;

    let batch = [
        text(&lobby, &alice, b"one"),
        text(&lobby, &alice, b"two"),
        text(&lobby, &alice, b"three"),
    ];
    store.fill_messages(&batch, NOW).await.unwrap();
    assert_eq!(current(&store, &lobby).await.message_sequence, 4);
    assert_eq!(store.count_room_messages(lobby.id).await.unwrap(), 4);
    let after = post(&store, &lobby, &alice, b"after").await;
    assert_eq!(after.seqno, 5);

    // A batch with a message for a room that does not exist stores none of them.
    let mut missing = text(&lobby, &alice, b"lost");
    missing.room = 9999;
    let err = store
        .fill_messages(&[text(&lobby, &alice, b"kept?"), missing], NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound("room")), "{err:?}");
    assert_eq!(store.count_room_messages(lobby.id).await.unwrap(), 5);
    assert_eq!(current(&store, &lobby).await.message_sequence, 5);
}
