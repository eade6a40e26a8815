//! The encryption of direct messages between blinded ids (spec §5.7), as Session clients
//! (libsession's `encrypt_for_blinded_recipient`) do it, for both 15- and 25-blinded ids.
//!
//! The server stores DMs as opaque bytes; this is for our client and tests, and for the
//! server's own identity ([`super::server_identity`]), which greets and challenges users by
//! DM and reads their answers.
//!
//! * Both ids carry the same prefix. The sender's own id is its key blinded the same way as
//!   the recipient's (a 15 recipient is written to from the sender's 15 id, a 25 one from
//!   its 25 id).
//! * key `E = H32(s·jR || kS || jR)` on the sender's side and `H32(r·kS || kS || jR)` on the
//!   recipient's, with `kS`/`jR` the blinded keys (sender first in both). For 15-blinding
//!   `s`/`r` are the *unblinded* Ed25519 scalars: every user shares one factor `k`, so
//!   `s·k·R = r·k·S`. For 25-blinding each user has their own factor, so `s`/`r` are the
//!   *blinded* scalars (`±k's`): `k's·j'R = j'r·k'S`.
//! * plaintext `message || S` (the sender's unblinded Ed25519 key, so the recipient learns
//!   who wrote and can check that it blinds to `kS`);
//! * XChaCha20-Poly1305 with a random 24-byte nonce; payload `0x00 || ciphertext || nonce`.

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use ed25519_dalek::SigningKey;

use super::blinding::{BlindedKeyPair, blind15_factor, blind25_id};
use super::hashing::h32;
use super::keys::{BlindedId, IdPrefix, ServerPublicKey, SessionId};

/// The version byte that starts every payload.
pub const VERSION: u8 = 0x00;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Why a DM could not be encrypted or decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DmError {
    #[error("only 15- and 25-blinded ids with the same prefix can exchange DMs")]
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

/// `identity` blinded the way `prefix` says: the scalar its side of the shared key uses,
/// and its blinded id.
fn blinded_side(
    identity: &SigningKey,
    server_pk: &ServerPublicKey,
    prefix: IdPrefix,
) -> Result<(Scalar, BlindedId), DmError> {
    match prefix {
        IdPrefix::Blinded15 => Ok((
            identity.to_scalar(),
            BlindedKeyPair::blind15(identity, server_pk).id(),
        )),
        IdPrefix::Blinded25 => {
            let pair = BlindedKeyPair::blind25(identity, server_pk);
            Ok((*pair.scalar(), pair.id()))
        }
        _ => Err(DmError::Unsupported),
    }
}

/// The id `identity` writes to `recipient_id` from: its key blinded like the recipient's.
pub fn sender_id_for(
    identity: &SigningKey,
    server_pk: &ServerPublicKey,
    recipient_id: &BlindedId,
) -> Result<BlindedId, DmError> {
    Ok(blinded_side(identity, server_pk, recipient_id.prefix())?.1)
}

/// Encrypts `message` from `sender` (an unblinded identity, writing from its id blinded like
/// `recipient_id`) to `recipient_id`.
pub fn encrypt(
    sender: &SigningKey,
    server_pk: &ServerPublicKey,
    recipient_id: &BlindedId,
    message: &[u8],
) -> Result<Vec<u8>, DmError> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce);
    encrypt_with_nonce(sender, server_pk, recipient_id, message, nonce)
}

fn encrypt_with_nonce(
    sender: &SigningKey,
    server_pk: &ServerPublicKey,
    recipient_id: &BlindedId,
    message: &[u8],
    nonce: [u8; NONCE_LEN],
) -> Result<Vec<u8>, DmError> {
    let (own, sender_id) = blinded_side(sender, server_pk, recipient_id.prefix())?;
    let key = shared_key(&own, recipient_id, &sender_id, recipient_id)?;
    let mut plaintext = Vec::with_capacity(message.len() + 32);
    plaintext.extend_from_slice(message);
    plaintext.extend_from_slice(sender.verifying_key().as_bytes());
    let ciphertext = XChaCha20Poly1305::new(&key.into())
        .encrypt(&nonce.into(), plaintext.as_slice())
        .map_err(|_| DmError::DecryptionFailed)?;
    let mut out = Vec::with_capacity(1 + ciphertext.len() + NONCE_LEN);
    out.push(VERSION);
    out.extend_from_slice(&ciphertext);
    out.extend_from_slice(&nonce);
    Ok(out)
}

/// Decrypts `payload` sent by `sender_id` to `recipient_id`, which must be `recipient`'s
/// key blinded the same way, and checks that the enclosed sender key blinds to `sender_id`.
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
    let (own, own_id) = blinded_side(recipient, server_pk, recipient_id.prefix())?;
    if own_id != *recipient_id {
        return Err(DmError::DecryptionFailed);
    }
    let (ciphertext, nonce) = rest.split_at(rest.len() - NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| DmError::TooShort)?;
    let key = shared_key(&own, sender_id, sender_id, recipient_id)?;
    let mut plaintext = XChaCha20Poly1305::new(&key.into())
        .decrypt(&nonce.into(), ciphertext)
        .map_err(|_| DmError::DecryptionFailed)?;
    let split = plaintext.len() - 32;
    let sender_ed25519: [u8; 32] = plaintext[split..]
        .try_into()
        .map_err(|_| DmError::TooShort)?;
    plaintext.truncate(split);
    if !blinds_to(&sender_ed25519, sender_id, server_pk)? {
        return Err(DmError::SenderMismatch);
    }
    Ok(Opened {
        message: plaintext,
        sender_ed25519,
    })
}

/// Whether the Ed25519 key `ed25519` blinds to `id` on this server.
fn blinds_to(
    ed25519: &[u8; 32],
    id: &BlindedId,
    server_pk: &ServerPublicKey,
) -> Result<bool, DmError> {
    let point = point(ed25519)?;
    match id.prefix() {
        IdPrefix::Blinded15 => {
            Ok((blind15_factor(server_pk) * point).compress().as_bytes() == id.key())
        }
        IdPrefix::Blinded25 => {
            let session = SessionId::new(IdPrefix::Session, point.to_montgomery().to_bytes());
            Ok(blind25_id(&session, server_pk).map_err(|_| DmError::InvalidKey)? == *id)
        }
        _ => Err(DmError::Unsupported),
    }
}

/// `H32(own·other || kS || jR)`.
fn shared_key(
    own: &Scalar,
    other: &BlindedId,
    sender_id: &BlindedId,
    recipient_id: &BlindedId,
) -> Result<[u8; 32], DmError> {
    if sender_id.prefix() != recipient_id.prefix()
        || !matches!(
            sender_id.prefix(),
            IdPrefix::Blinded15 | IdPrefix::Blinded25
        )
    {
        return Err(DmError::Unsupported);
    }
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
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::crypto::hashing::h64;
    use crate::crypto::keys::ServerKey;
    use sha2::{Digest, Sha512};

    struct Party {
        identity: SigningKey,
        id: BlindedId,
    }

    fn party(seed: u8, server: &ServerPublicKey, prefix: IdPrefix) -> Party {
        let identity = SigningKey::from_bytes(&[seed; 32]);
        let id = blinded_side(&identity, server, prefix).unwrap().1;
        Party { identity, id }
    }

    #[test]
    fn the_recipient_reads_what_the_sender_wrote_with_15_and_25_ids() {
        let server = ServerKey::generate().public_key();
        for prefix in [IdPrefix::Blinded15, IdPrefix::Blinded25] {
            // Seeds 1..=8 include keys of both signs, which 25-blinding treats differently.
            for (a, b) in [(1, 2), (3, 4), (5, 6), (7, 8)] {
                let (alice, bob) = (party(a, &server, prefix), party(b, &server, prefix));
                let payload = encrypt(&alice.identity, &server, &bob.id, b"hello bob").unwrap();
                assert_eq!(payload[0], VERSION);
                assert_eq!(payload.len(), 1 + 9 + 32 + TAG_LEN + NONCE_LEN);
                let opened = decrypt(&bob.identity, &alice.id, &bob.id, &server, &payload)
                    .unwrap_or_else(|e| panic!("{prefix:?} {a}->{b}: {e}"));
                assert_eq!(opened.message, b"hello bob");
                assert_eq!(
                    &opened.sender_ed25519,
                    alice.identity.verifying_key().as_bytes()
                );
                assert_eq!(
                    sender_id_for(&alice.identity, &server, &bob.id).unwrap(),
                    alice.id
                );
            }
        }
    }

    /// The 25-blinded key recomputed step by step the way libsession's
    /// `blinded_shared_secret` does (`a` from the clamped SHA-512 of the seed, the
    /// per-user factor negated for a negative key, `ka·jB`), without `BlindedKeyPair`.
    #[test]
    fn a_25_blinded_payload_opens_with_the_key_computed_as_libsession_does() {
        let server = ServerKey::generate().public_key();
        for seed in 1..=6u8 {
            let sender = SigningKey::from_bytes(&[seed; 32]);
            let bob = party(seed + 40, &server, IdPrefix::Blinded25);
            let payload = encrypt(&sender, &server, &bob.id, b"code 4821").unwrap();

            let digest = Sha512::digest([seed; 32]);
            let mut clamped = [0u8; 32];
            clamped.copy_from_slice(&digest[..32]);
            clamped[0] &= 248;
            clamped[31] &= 127;
            clamped[31] |= 64;
            let a = Scalar::from_bytes_mod_order(clamped);
            let pk = sender.verifying_key();
            let x25519 = pk.to_montgomery().to_bytes();
            let mut k =
                Scalar::from_bytes_mod_order_wide(&h64(&[&[0x05], &x25519, server.as_bytes()]));
            if pk.as_bytes()[31] & 0x80 != 0 {
                k = -k;
            }
            let ka = a * k;
            let k_a = EdwardsPoint::mul_base(&ka).compress().to_bytes();
            let j_b = CompressedEdwardsY(*bob.id.key()).decompress().unwrap();
            let shared = (ka * j_b).compress().to_bytes();
            let key = h32(&[&shared, &k_a, bob.id.key()]);
            let (body, nonce) = payload[1..].split_at(payload.len() - 1 - NONCE_LEN);
            let nonce: [u8; NONCE_LEN] = nonce.try_into().unwrap();
            let plain = XChaCha20Poly1305::new(&key.into())
                .decrypt(&nonce.into(), body)
                .expect("the libsession-style key opens it");
            assert_eq!(&plain[..9], b"code 4821");
            assert_eq!(&plain[9..], pk.as_bytes());
        }
    }

    #[test]
    fn nobody_else_can_read_it_and_tampering_is_detected() {
        let server = ServerKey::generate().public_key();
        let p = IdPrefix::Blinded15;
        let (alice, bob, eve) = (
            party(1, &server, p),
            party(2, &server, p),
            party(3, &server, p),
        );
        let payload = encrypt(&alice.identity, &server, &bob.id, b"secret").unwrap();
        assert_eq!(
            decrypt(&eve.identity, &alice.id, &bob.id, &server, &payload),
            Err(DmError::DecryptionFailed)
        );
        assert_eq!(
            decrypt(&eve.identity, &alice.id, &eve.id, &server, &payload),
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
        for prefix in [IdPrefix::Blinded15, IdPrefix::Blinded25] {
            let (alice, bob, eve) = (
                party(1, &server, prefix),
                party(2, &server, prefix),
                party(3, &server, prefix),
            );
            // A correctly keyed payload from Alice that encloses Eve's key instead of hers.
            let own = blinded_side(&alice.identity, &server, prefix).unwrap().0;
            let key = shared_key(&own, &bob.id, &alice.id, &bob.id).unwrap();
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
    }

    #[test]
    fn mixed_prefixes_and_unblinded_ids_are_refused() {
        let server = ServerKey::generate().public_key();
        let alice15 = party(1, &server, IdPrefix::Blinded15);
        let bob25 = party(2, &server, IdPrefix::Blinded25);
        let payload = encrypt(&alice15.identity, &server, &bob25.id, b"x").unwrap();
        // Written from Alice's 25 id, so reading it as from her 15 id fails.
        assert_eq!(
            decrypt(&bob25.identity, &alice15.id, &bob25.id, &server, &payload),
            Err(DmError::Unsupported)
        );
        assert_eq!(
            blinded_side(&alice15.identity, &server, IdPrefix::Session).err(),
            Some(DmError::Unsupported)
        );
    }
}
