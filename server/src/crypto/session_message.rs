//! One-to-one Session messages as the apps send them through the service-node network
//! (not through a community's `/inbox`): the padded `Content` protobuf, followed by the
//! sender's Ed25519 key and their signature over `message || sender Ed25519 key ||
//! recipient X25519 key`, sealed to the recipient's X25519 key with NaCl's
//! `crypto_box_seal` (an ephemeral X25519 key, XSalsa20-Poly1305). The recipient's account id
//! is `05 || X25519 key`. The signature binds the message to its sender and its recipient,
//! so a message cannot be passed off as someone else's or replayed to another account.
//!
//! The server reads these because a Session app answers a DM from the server's blinded id in
//! a conversation with the server's own account id (`crate::server_inbox`).

use crypto_box::{PublicKey, SecretKey};
use ed25519_dalek::{Signer, SigningKey};

use super::keys::{Ed25519PublicKey, IdPrefix, SessionId};

/// Why a sealed message could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealedError {
    #[error("the message does not open with this account's key")]
    DoesNotOpen,
    #[error("the opened message is too short to hold a sender and a signature")]
    TooShort,
    #[error("the sender's key is not a valid Ed25519 key")]
    BadSenderKey,
    #[error("the sender's signature does not verify")]
    BadSignature,
    #[error("cannot seal: {0}")]
    Seal(&'static str),
}

/// An opened message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedSealed {
    /// The (padded) `Content` protobuf.
    pub plaintext: Vec<u8>,
    /// The sender's account id (`05…`).
    pub sender: SessionId,
}

const KEY_LEN: usize = 32;
const SIGNATURE_LEN: usize = 64;

/// Opens a message sealed to `recipient` (an account's Ed25519 identity) and checks the
/// sender's signature.
pub fn open(recipient: &SigningKey, sealed: &[u8]) -> Result<OpenedSealed, SealedError> {
    let recipient_x25519 = recipient.verifying_key().to_montgomery().to_bytes();
    let secret = SecretKey::from(recipient.to_scalar_bytes());
    let opened = secret
        .unseal(sealed)
        .map_err(|_| SealedError::DoesNotOpen)?;
    let split = opened
        .len()
        .checked_sub(KEY_LEN + SIGNATURE_LEN)
        .ok_or(SealedError::TooShort)?;
    let (plaintext, rest) = opened.split_at(split);
    let (sender_key, signature) = rest.split_at(KEY_LEN);
    let sender_key: [u8; KEY_LEN] = sender_key.try_into().map_err(|_| SealedError::TooShort)?;
    let signature: [u8; SIGNATURE_LEN] = signature.try_into().map_err(|_| SealedError::TooShort)?;
    let sender =
        Ed25519PublicKey::from_bytes(&sender_key).map_err(|_| SealedError::BadSenderKey)?;
    let signed = [plaintext, &sender_key[..], &recipient_x25519[..]].concat();
    if !sender.verify(&signed, &signature) {
        return Err(SealedError::BadSignature);
    }
    Ok(OpenedSealed {
        plaintext: plaintext.to_vec(),
        sender: SessionId::new(IdPrefix::Session, sender.to_x25519()),
    })
}

/// Seals `plaintext` from `sender` to the account `recipient` (`05…`), as a Session app
/// does. The server never sends this way (it answers through the community's inbox); tests
/// and the simulated network play the app with it.
pub fn seal(
    sender: &SigningKey,
    recipient: &SessionId,
    plaintext: &[u8],
) -> Result<Vec<u8>, SealedError> {
    if recipient.prefix() != IdPrefix::Session {
        return Err(SealedError::Seal(
            "only 05 account ids receive sealed messages",
        ));
    }
    let recipient_x25519: [u8; KEY_LEN] = *recipient.key();
    let sender_key = sender.verifying_key().to_bytes();
    let signed = [plaintext, &sender_key[..], &recipient_x25519[..]].concat();
    let signature = sender.sign(&signed).to_bytes();
    let message = [plaintext, &sender_key[..], &signature[..]].concat();
    PublicKey::from(recipient_x25519)
        .seal(&mut crypto_box::aead::OsRng, &message)
        .map_err(|_| SealedError::Seal("encryption failed"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn account(seed: u8) -> (SigningKey, SessionId) {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let id = SessionId::new(
            IdPrefix::Session,
            key.verifying_key().to_montgomery().to_bytes(),
        );
        (key, id)
    }

    #[test]
    fn a_sealed_message_opens_for_its_recipient_and_names_its_sender() {
        let (alice, alice_id) = account(1);
        let (server, server_id) = account(2);
        let sealed = seal(&alice, &server_id, b"content").unwrap();
        let opened = open(&server, &sealed).unwrap();
        assert_eq!(opened.plaintext, b"content");
        assert_eq!(opened.sender, alice_id);
    }

    /// Sealed by libsodium (PyNaCl's `crypto_box_seal`), as Session apps seal: sender seed
    /// `07…07`, recipient seed `08…08`.
    #[test]
    fn a_message_sealed_by_libsodium_opens() {
        const SEALED: &str = "65bc37f54dcaffcb955ca06ccd72d6da702f24e87e821ab442428e8b6915a1045cb7a2a4c2fccfd3289e5b7c7730b6b522cc539d2a638fe41fd2ed07591d9409534b152d0379fb621d37e88dee3e9b6cf69fcd81b66f079ee727cc83e5d47716b52c6002109b8370e3e661b4f4105508d5bab3ba597a21f1dc59a41d28e0065d408c491a174ce8a7d73c9fc78b9957f67d8caec0ecd6abca39e97d8b319bf81470";
        let (server, _) = account(8);
        let opened = open(&server, &hex::decode(SEALED).unwrap()).unwrap();
        assert_eq!(opened.plaintext, b"libsodium says hi");
        assert_eq!(
            opened.sender.to_string(),
            "05761d88ec830413919dfe9d4d1d56f17e653c8c994082df5b137b90a0ae6edf74"
        );
        assert_eq!(opened.sender, account(7).1);
    }

    #[test]
    fn another_account_cannot_open_it_and_damage_is_refused() {
        let (alice, _) = account(1);
        let (server, server_id) = account(2);
        let (eve, _) = account(3);
        let sealed = seal(&alice, &server_id, b"content").unwrap();
        assert_eq!(open(&eve, &sealed), Err(SealedError::DoesNotOpen));
        let mut damaged = sealed.clone();
        damaged[40] ^= 1;
        assert_eq!(open(&server, &damaged), Err(SealedError::DoesNotOpen));
        for bad in [&[][..], &sealed[..31], &sealed[..48]] {
            assert_eq!(open(&server, bad), Err(SealedError::DoesNotOpen));
        }
    }

    /// A message signed for another recipient and re-sealed to the server (a forwarded or
    /// replayed message) fails the signature, as does a forged sender key.
    #[test]
    fn a_signature_for_another_recipient_or_a_forged_sender_is_refused() {
        let (alice, _) = account(1);
        let (server, _) = account(2);
        let (_, bob_id) = account(4);
        let server_x = server.verifying_key().to_montgomery().to_bytes();
        let seal_raw = |message: &[u8]| {
            PublicKey::from(server_x)
                .seal(&mut crypto_box::aead::OsRng, message)
                .unwrap()
        };
        let key = alice.verifying_key().to_bytes();
        let for_bob = [&b"hi"[..], &key[..], &bob_id.key()[..]].concat();
        let signature = alice.sign(&for_bob).to_bytes();
        let forwarded = seal_raw(&[&b"hi"[..], &key[..], &signature[..]].concat());
        assert_eq!(open(&server, &forwarded), Err(SealedError::BadSignature));

        let (mallory, _) = account(5);
        let for_server = [&b"hi"[..], &key[..], &server_x[..]].concat();
        let forged = mallory.sign(&for_server).to_bytes();
        let forged = seal_raw(&[&b"hi"[..], &key[..], &forged[..]].concat());
        assert_eq!(open(&server, &forged), Err(SealedError::BadSignature));

        assert_eq!(
            open(&server, &seal_raw(&[0u8; 95])),
            Err(SealedError::TooShort)
        );
        let small_order = [&[1u8][..], &[0u8; 31][..]].concat();
        let bad_key = seal_raw(&[&b"hi"[..], &small_order[..], &[0u8; 64][..]].concat());
        assert_eq!(open(&server, &bad_key), Err(SealedError::BadSenderKey));
    }

    #[test]
    fn only_account_ids_are_sealed_to() {
        let (alice, _) = account(1);
        let blinded: SessionId = format!("15{}", "ab".repeat(32)).parse().unwrap();
        assert!(matches!(
            seal(&alice, &blinded, b"x"),
            Err(SealedError::Seal(_))
        ));
    }
}
