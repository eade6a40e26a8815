//! Pure cryptography: blinding, request signatures, onion layers, bencode. No IO.
//!
//! Everything here is synchronous and deterministic given its inputs (randomness is only drawn
//! where a fresh nonce or ephemeral key is the point, and each such function has a variant that
//! takes the random bytes, for tests). Parsers take hostile bytes and return typed errors; none
//! of them panics or allocates in proportion to a length field it has not checked.

pub mod bencode;
pub mod blinding;
pub mod direct_message;
pub mod hashing;
pub mod keys;
pub mod onion;
pub mod onion_v4;
pub mod request_signature;
pub mod server_identity;
pub mod session_message;

pub use blinding::{BlindedKeyPair, blind15_candidates, blind25_id};
pub use keys::{BlindedId, Ed25519PublicKey, IdPrefix, ServerKey, ServerPublicKey, SessionId};
pub use onion::{EncType, OnionKey, open_request, seal_request};
pub use onion_v4::{V4Request, V4Response};
pub use request_signature::{
    AuthError, AuthPolicy, RawAuthHeaders, RequestSigner, SignedHeaders, SignedRequest,
};
