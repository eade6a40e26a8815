//! The recommended encryption of direct messages between 15-blinded ids (spec §5.7).
//!
//! The server never sees these keys; this is for our client and tests, so that a test can
//! send a real, encrypted DM from one blinded user and read it as the other.
//!
//! * key `E = H32(a·kB || kA || kB)` on the sender's side, `H32(b·kA || kA || kB)` on the
//!   recipient's, where `a`/`b` are the users' *unblinded* Ed25519 scalars and `kA`/`kB`
//!   their blinded keys (sender first in both). The two agree because 15-blinding uses
//!   one factor `k` for everyone: `a·k·B = b·k·A`.
//! * plaintext `message || A` (the sender's unblinded Ed25519 key, so the recipient learns
//!   who wrote and can check that it blinds to `kA`);
//! * XChaCha20-Poly1305 with a random 24-byte nonce; payload `0x00 || ciphertext || nonce`.
//!
//! 25-blinded ids have a per-user factor, so this formula does not agree for them; they
//! are refused with [`DmError::Unsupported`].

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use ed25519_dalek::SigningKey;

use super::blinding::blind15_factor;
use super::hashing::h32;
use super::keys::{BlindedId, IdPrefix, ServerPublicKey};

/// The version byte that starts every payload.
pub const VERSION: u8 = 0x00;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Why a DM could not be encrypted or decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DmError {
    #[error("only 15-blinded ids are supported")]
    Unsupported,
    #[error("a blinded key is not a valid curve point")]
    InvalidKey,
    #[error("payload too short")]
    TooShort,
    #[error("unknown payload version {0}")]
    UnknownVersion(u8),
    #[error("decryption failed")]
    DecryptionFailed,
    #[error("the sender's key does not blind to the sender id")]
    SenderMismatch,
}

/// A decrypted DM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub message: Vec<u8>,
    /// The sender's unblinded Ed25519 public key.
    pub sender_ed25519: [u8; 32],
}

/// Encrypts `message` from `sender` (the unblinded identity behind `sender_id`) to
/// `recipient_id`.
pub fn encrypt(
    sender: &SigningKey,
    sender_id: &BlindedId,
    recipient_id: &BlindedId,
    message: &[u8],
) -> Result<Vec<u8>, DmError> {
    let key = shared_key(sender, recipient_id, sender_id, recipient_id)?;
    let mut plaintext = Vec::with_capacity(message.len() + 32);
    plaintext.extend_from_slice(message);
    plaintext.extend_from_slice(sender.verifying_key().as_bytes());
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce);
    let ciphertext = XChaCha20Poly1305::new(&key.into())
        .encrypt(&nonce.into(), plaintext.as_slice())
        .map_err(|_| DmError::DecryptionFailed)?;
    let mut out = Vec::with_capacity(1 + ciphertext.len() + NONCE_LEN);
    out.push(VERSION);
    out.extend_from_slice(&ciphertext);
    out.extend_from_slice(&nonce);
    Ok(out)
}

/// Decrypts `payload` sent by `sender_id` to `recipient` (the unblinded identity behind
/// `recipient_id`), and checks that the enclosed sender key blinds to `sender_id`.
pub fn decrypt(
    recipient: &SigningKey,
    sender_id: &BlindedId,
    recipient_id: &BlindedId,
    server_pk: &ServerPublicKey,
    payload: &[u8],
) -> Result<Opened, DmError> {
    let (&version, rest) = payload.split_first().ok_or(DmError::TooShort)?;
    if version != VERSION {
        return Err(DmError::UnknownVersion(version));
    }
    if rest.len() < NONCE_LEN + TAG_LEN + 32 {
        return Err(DmError::TooShort);
    }
    let (ciphertext, nonce) = rest.split_at(rest.len() - NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| DmError::TooShort)?;
    let key = shared_key(recipient, sender_id, sender_id, recipient_id)?;
    let mut plaintext = XChaCha20Poly1305::new(&key.into())
        .decrypt(&nonce.into(), ciphertext)
        .map_err(|_| DmError::DecryptionFailed)?;
    let split = plaintext.len() - 32;
    let sender_ed25519: [u8; 32] = plaintext[split..]
        .try_into()
        .map_err(|_| DmError::TooShort)?;
    plaintext.truncate(split);
    let sender_point = point(&sender_ed25519)?;
    let blinded = (blind15_factor(server_pk) * sender_point)
        .compress()
        .to_bytes();
    if &blinded != sender_id.key() {
        return Err(DmError::SenderMismatch);
    }
    Ok(Opened {
        message: plaintext,
        sender_ed25519,
    })
}

/// `H32(own·other || kA || kB)` with `own` the unblinded scalar of `identity`.
fn shared_key(
    identity: &SigningKey,
    other: &BlindedId,
    sender_id: &BlindedId,
    recipient_id: &BlindedId,
) -> Result<[u8; 32], DmError> {
    if [sender_id, recipient_id]
        .iter()
        .any(|id| id.prefix() != IdPrefix::Blinded15)
    {
        return Err(DmError::Unsupported);
    }
    let own: Scalar = identity.to_scalar();
    let shared = own * point(other.key())?;
    if shared.is_identity() {
        return Err(DmError::InvalidKey);
    }
    Ok(h32(&[
        shared.compress().as_bytes(),
        sender_id.key(),
        recipient_id.key(),
    ]))
}

fn point(bytes: &[u8; 32]) -> Result<EdwardsPoint, DmError> {
    CompressedEdwardsY(*bytes)
        .decompress()
        .filter(|p| !p.is_small_order())
        .ok_or(DmError::InvalidKey)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::blinding::BlindedKeyPair;
    use crate::crypto::keys::ServerKey;

    struct Party {
        identity: SigningKey,
        id: BlindedId,
    }

    fn party(seed: u8, server: &ServerPublicKey) -> Party {
        let identity = SigningKey::from_bytes(&[seed; 32]);
        let id = BlindedKeyPair::blind15(&identity, server).id();
        Party { identity, id }
    }

    #[test]
    fn the_recipient_reads_what_the_sender_wrote() {
        let server = ServerKey::generate().public_key();
        let (alice, bob) = (party(1, &server), party(2, &server));
        let payload = encrypt(&alice.identity, &alice.id, &bob.id, b"hello bob").unwrap();
        assert_eq!(payload[0], VERSION);
        assert_eq!(payload.len(), 1 + 9 + 32 + TAG_LEN + NONCE_LEN);
        let opened = decrypt(&bob.identity, &alice.id, &bob.id, &server, &payload).unwrap();
        assert_eq!(opened.message, b"hello bob");
        assert_eq!(
            &opened.sender_ed25519,
            alice.identity.verifying_key().as_bytes()
        );
    }

    #[test]
    fn nobody_else_can_read_it_and_tampering_is_detected() {
        let server = ServerKey::generate().public_key();
        let (alice, bob, eve) = (party(1, &server), party(2, &server), party(3, &server));
        let payload = encrypt(&alice.identity, &alice.id, &bob.id, b"secret").unwrap();
        assert_eq!(
            decrypt(&eve.identity, &alice.id, &bob.id, &server, &payload),
            Err(DmError::DecryptionFailed)
        );
        let mut tampered = payload.clone();
        tampered[5] ^= 1;
        assert_eq!(
            decrypt(&bob.identity, &alice.id, &bob.id, &server, &tampered),
            Err(DmError::DecryptionFailed)
        );
        let mut versioned = payload.clone();
        versioned[0] = 1;
        assert_eq!(
            decrypt(&bob.identity, &alice.id, &bob.id, &server, &versioned),
            Err(DmError::UnknownVersion(1))
        );
        assert_eq!(
            decrypt(&bob.identity, &alice.id, &bob.id, &server, &payload[..40]),
            Err(DmError::TooShort)
        );
        assert_eq!(
            decrypt(&bob.identity, &alice.id, &bob.id, &server, &[]),
            Err(DmError::TooShort)
        );
    }

    #[test]
    fn an_enclosed_key_that_does_not_blind_to_the_sender_id_is_caught() {
        let server = ServerKey::generate().public_key();
        let (alice, bob, eve) = (party(1, &server), party(2, &server), party(3, &server));
        // A correctly keyed payload from Alice that encloses Eve's key instead of hers.
        let key = shared_key(&alice.identity, &bob.id, &alice.id, &bob.id).unwrap();
        let mut plaintext = b"hi".to_vec();
        plaintext.extend_from_slice(eve.identity.verifying_key().as_bytes());
        let nonce = [7u8; NONCE_LEN];
        let mut payload = vec![VERSION];
        payload.extend(
            XChaCha20Poly1305::new(&key.into())
                .encrypt(&nonce.into(), plaintext.as_slice())
                .unwrap(),
        );
        payload.extend_from_slice(&nonce);
        assert_eq!(
            decrypt(&bob.identity, &alice.id, &bob.id, &server, &payload),
            Err(DmError::SenderMismatch)
        );
    }

    #[test]
    fn twenty_five_blinded_ids_are_refused() {
        let server = ServerKey::generate().public_key();
        let alice = party(1, &server);
        let bob25 = BlindedKeyPair::blind25(&SigningKey::from_bytes(&[2; 32]), &server).id();
        assert_eq!(
            encrypt(&alice.identity, &alice.id, &bob25, b"x"),
            Err(DmError::Unsupported)
        );
    }
}
