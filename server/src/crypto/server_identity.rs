//! The server's own Session identity, for the DMs it sends (greetings, captcha challenges,
//! operator messages) and the answers it reads.
//!
//! Session clients DM a community user by blinded id, so the server needs an Ed25519
//! identity of its own, blinded for itself like any user's. It is *derived* from the server
//! key rather than stored: `seed = BLAKE2b-256(key = "sogs-rs server DM identity",
//! server X25519 private key)`. So every instance sharing the key file (or secret) speaks
//! as the same identity, a restart or a move to another database keeps it, an imported
//! PySOGS key gets one without a migration, and there is no second secret to back up. It is
//! kept apart from the X25519 onion key and from the legacy Ed25519 key (the same raw bytes
//! used as a seed): knowing the identity's keys reveals nothing about either.
//!
//! The identity has two ids here: its 15-blinded id (what it writes to 15-blinded users from)
//! and its 25-blinded id (for 25-blinded users); a user's reply comes to the one they were
//! written from. Session apps learn its account id (`05…`, [`ServerIdentity::session_id`])
//! from the first DM and answer there, through the service-node network, so the server also
//! opens messages sealed to that account ([`ServerIdentity::open_sealed`]).

use ed25519_dalek::{Signer, SigningKey};

use super::blinding::BlindedKeyPair;
use super::direct_message::{self, DmError, Opened};
use super::hashing::keyed_hash;
use super::keys::{BlindedId, IdPrefix, ServerKey, ServerPublicKey, SessionId};
use super::session_message::{self, OpenedSealed, SealedError};

/// The BLAKE2b key that derives the identity's seed from the server key.
const IDENTITY_KEY: &[u8; 26] = b"sogs-rs server DM identity";

/// The server's Session identity, blinded for this server.
#[derive(Clone)]
pub struct ServerIdentity {
    signing: SigningKey,
    server_pk: ServerPublicKey,
    id15: BlindedId,
    id25: BlindedId,
}

impl ServerIdentity {
    /// The identity that belongs to `key`.
    pub fn of(key: &ServerKey) -> Self {
        let seed: [u8; 32] = keyed_hash::<32, 26>(IDENTITY_KEY, &[&key.to_bytes()]);
        let signing = SigningKey::from_bytes(&seed);
        let server_pk = key.public_key();
        Self {
            id15: BlindedKeyPair::blind15(&signing, &server_pk).id(),
            id25: BlindedKeyPair::blind25(&signing, &server_pk).id(),
            signing,
            server_pk,
        }
    }

    /// The id the server writes to `recipient` from (blinded like the recipient).
    pub fn id_for(&self, recipient: &BlindedId) -> Option<BlindedId> {
        match recipient.prefix() {
            IdPrefix::Blinded15 => Some(self.id15),
            IdPrefix::Blinded25 => Some(self.id25),
            _ => None,
        }
    }

    /// Both of the server's ids (15, 25).
    pub fn ids(&self) -> [BlindedId; 2] {
        [self.id15, self.id25]
    }

    /// Whether `id` is one of the server's own.
    pub fn owns(&self, id: &BlindedId) -> bool {
        *id == self.id15 || *id == self.id25
    }

    /// `message` encrypted for `recipient` as a Session client would, from [`Self::id_for`].
    pub fn seal(&self, recipient: &BlindedId, message: &[u8]) -> Result<Vec<u8>, DmError> {
        direct_message::encrypt(&self.signing, &self.server_pk, recipient, message)
    }

    /// The identity's own account id, `05 || X25519 key`: where Session apps send their
    /// answers to the server's DMs.
    pub fn session_id(&self) -> SessionId {
        SessionId::new(
            IdPrefix::Session,
            self.signing.verifying_key().to_montgomery().to_bytes(),
        )
    }

    /// The identity's Ed25519 public key (hex), as the service nodes want it beside a
    /// signature.
    pub fn ed25519_hex(&self) -> String {
        hex::encode(self.signing.verifying_key().as_bytes())
    }

    /// Signs `message` as the identity (the service nodes' proof that the server may read
    /// its own messages).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// Opens a message a Session app sealed to [`Self::session_id`].
    pub fn open_sealed(&self, sealed: &[u8]) -> Result<OpenedSealed, SealedError> {
        session_message::open(&self.signing, sealed)
    }

    /// Opens a DM `sender` wrote to `recipient`, one of the server's ids.
    pub fn open(
        &self,
        sender: &BlindedId,
        recipient: &BlindedId,
        payload: &[u8],
    ) -> Result<Opened, DmError> {
        direct_message::decrypt(&self.signing, sender, recipient, &self.server_pk, payload)
    }
}

impl std::fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerIdentity")
            .field("id15", &self.id15)
            .field("id25", &self.id25)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_is_fixed_by_the_server_key_and_differs_between_servers() {
        let key = ServerKey::from_bytes([9; 32]);
        let (a, b) = (ServerIdentity::of(&key), ServerIdentity::of(&key.clone()));
        assert_eq!(a.ids(), b.ids());
        assert_eq!(a.ids()[0].prefix(), IdPrefix::Blinded15);
        assert_eq!(a.ids()[1].prefix(), IdPrefix::Blinded25);
        let other = ServerIdentity::of(&ServerKey::from_bytes([8; 32]));
        assert_ne!(a.ids(), other.ids());
        // Not the legacy key that the same raw bytes seed.
        assert_ne!(a.signing.as_bytes(), key.legacy_signing_key().as_bytes());
    }

    #[test]
    fn users_read_the_server_and_the_server_reads_their_replies() {
        let key = ServerKey::generate();
        let server = ServerIdentity::of(&key);
        let pk = key.public_key();
        for (seed, pair) in [
            ([3u8; 32], BlindedKeyPair::blind15 as fn(&_, &_) -> _),
            ([4u8; 32], BlindedKeyPair::blind25),
        ] {
            let user = SigningKey::from_bytes(&seed);
            let user_id = pair(&user, &pk).id();
            let from = server.id_for(&user_id).unwrap();
            assert!(server.owns(&from));
            let sealed = server.seal(&user_id, b"welcome").unwrap();
            let opened = direct_message::decrypt(&user, &from, &user_id, &pk, &sealed).unwrap();
            assert_eq!(opened.message, b"welcome");

            // The app learns the server's account id from the DM and answers there.
            let account = SessionId::new(
                IdPrefix::Session,
                ed25519_dalek::VerifyingKey::from_bytes(&opened.sender_ed25519)
                    .unwrap()
                    .to_montgomery()
                    .to_bytes(),
            );
            assert_eq!(account, server.session_id());
            let sealed = session_message::seal(&user, &account, b"7319").unwrap();
            let answer = server.open_sealed(&sealed).unwrap();
            assert_eq!(answer.plaintext, b"7319");
            assert_eq!(
                answer.sender.key(),
                &user.verifying_key().to_montgomery().to_bytes()
            );

            let reply = direct_message::encrypt(&user, &pk, &from, b"4821").unwrap();
            assert_eq!(
                server.open(&user_id, &from, &reply).unwrap().message,
                b"4821"
            );
        }
    }
}
