//! Keys and ids: the server's X25519 key, Session ids, blinded ids, and Ed25519 point checks.
//!
//! Everything that arrives as hex or bytes becomes one of these types at the edge, so the rest
//! of the server never handles a bare `String` id or an unchecked curve point.

use std::fmt;
use std::str::FromStr;

use curve25519_dalek::montgomery::MontgomeryPoint;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use x25519_dalek::{PublicKey as X25519PublicKey, StaticSecret};

/// The first byte of a 33-byte Session-style id, which says what the other 32 bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdPrefix {
    /// `00`: an unblinded Ed25519 pubkey. Only seen in `X-SOGS-Pubkey`; the server maps it to
    /// the `05` id of the same user.
    Ed25519,
    /// `05`: a standard Session id, the user's X25519 pubkey.
    Session,
    /// `15`: an Ed25519 pubkey blinded for one server (pysogs and all Session clients).
    Blinded15,
    /// `25`: libsession's newer blinding; pysogs does not accept it.
    Blinded25,
    /// `ff`: the server's hidden system user, `ff` + the server's X25519 pubkey.
    System,
}

impl IdPrefix {
    /// The prefix byte as it appears on the wire.
    pub const fn byte(self) -> u8 {
        match self {
            Self::Ed25519 => 0x00,
            Self::Session => 0x05,
            Self::Blinded15 => 0x15,
            Self::Blinded25 => 0x25,
            Self::System => 0xff,
        }
    }

    /// The prefix for a wire byte, if it is one SOGS knows.
    pub const fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0x00 => Some(Self::Ed25519),
            0x05 => Some(Self::Session),
            0x15 => Some(Self::Blinded15),
            0x25 => Some(Self::Blinded25),
            0xff => Some(Self::System),
            _ => None,
        }
    }
}

/// Why a string or byte slice is not an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Ids are 66 hex digits as text, 33 bytes raw; this holds the length that was given.
    #[error("id must be 66 hex digits or 33 bytes, got length {0}")]
    WrongLength(usize),
    /// Only `0-9a-fA-F` may appear.
    #[error("id is not hex")]
    NotHex,
    /// The first byte is not one of `00`, `05`, `15`, `25`, `ff`.
    #[error("unknown id prefix {0:02x}")]
    UnknownPrefix(u8),
    /// A blinded id was expected but this one is not `15`/`25`.
    #[error("id is not blinded (expected a 15 or 25 prefix)")]
    NotBlinded,
}

/// A user id as SOGS stores it: a prefix byte and 32 key bytes, shown as 66 lowercase hex digits.
///
/// Parsing accepts either case but always prints lowercase, because pysogs stored ids "as
/// given" and an uppercase copy would otherwise become a second user.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId {
    prefix: IdPrefix,
    key: [u8; 32],
}

impl SessionId {
    /// An id from its parts.
    pub const fn new(prefix: IdPrefix, key: [u8; 32]) -> Self {
        Self { prefix, key }
    }

    /// Parses 33 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdError> {
        let bytes: &[u8; 33] = bytes
            .try_into()
            .map_err(|_| IdError::WrongLength(bytes.len()))?;
        let prefix = IdPrefix::from_byte(bytes[0]).ok_or(IdError::UnknownPrefix(bytes[0]))?;
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes[1..]);
        Ok(Self { prefix, key })
    }

    /// What kind of id this is.
    pub const fn prefix(&self) -> IdPrefix {
        self.prefix
    }

    /// The 32 key bytes after the prefix.
    pub const fn key(&self) -> &[u8; 32] {
        &self.key
    }

    /// The 33 wire bytes: prefix then key.
    pub fn to_bytes(&self) -> [u8; 33] {
        let mut out = [0u8; 33];
        out[0] = self.prefix.byte();
        out[1..].copy_from_slice(&self.key);
        out
    }

    /// True for `15` and `25` ids.
    pub const fn is_blinded(&self) -> bool {
        matches!(self.prefix, IdPrefix::Blinded15 | IdPrefix::Blinded25)
    }
}

impl FromStr for SessionId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 66 {
            return Err(IdError::WrongLength(s.len()));
        }
        let mut bytes = [0u8; 33];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| IdError::NotHex)?;
        Self::from_bytes(&bytes)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}{}", self.prefix.byte(), hex::encode(self.key))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

impl serde::Serialize for SessionId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for SessionId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A `15` or `25` id: what a user is known by on a server that requires blinding.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlindedId(SessionId);

impl BlindedId {
    /// A 15-blinded id for an already-computed blinded pubkey.
    pub const fn blind15(key: [u8; 32]) -> Self {
        Self(SessionId::new(IdPrefix::Blinded15, key))
    }

    /// A 25-blinded id for an already-computed blinded pubkey.
    pub const fn blind25(key: [u8; 32]) -> Self {
        Self(SessionId::new(IdPrefix::Blinded25, key))
    }

    /// The id as a general [`SessionId`].
    pub const fn session_id(&self) -> &SessionId {
        &self.0
    }

    /// The blinded Ed25519 pubkey bytes.
    pub const fn key(&self) -> &[u8; 32] {
        self.0.key()
    }

    /// `Blinded15` or `Blinded25`.
    pub const fn prefix(&self) -> IdPrefix {
        self.0.prefix()
    }
}

impl TryFrom<SessionId> for BlindedId {
    type Error = IdError;

    fn try_from(id: SessionId) -> Result<Self, Self::Error> {
        if id.is_blinded() {
            Ok(Self(id))
        } else {
            Err(IdError::NotBlinded)
        }
    }
}

impl From<BlindedId> for SessionId {
    fn from(id: BlindedId) -> Self {
        id.0
    }
}

impl FromStr for BlindedId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<SessionId>()?.try_into()
    }
}

impl fmt::Display for BlindedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for BlindedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindedId({})", self.0)
    }
}

impl serde::Serialize for BlindedId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for BlindedId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        SessionId::deserialize(deserializer)?
            .try_into()
            .map_err(serde::de::Error::custom)
    }
}

/// The 32 bytes are not an acceptable Ed25519 public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid Ed25519 public key")]
pub struct InvalidPublicKey;

/// An Ed25519 public key that passes libsodium's `crypto_core_ed25519_is_valid_point`:
/// canonically encoded, on the curve, in the prime-order subgroup, and not of small order.
///
/// pysogs runs exactly this check on `X-SOGS-Pubkey` (and its blinding routines refuse the same
/// points), so anything that holds this type can be used for verification and blinding.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ed25519PublicKey(VerifyingKey);

impl Ed25519PublicKey {
    /// Checks and wraps 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, InvalidPublicKey> {
        if !is_canonical_y(bytes) {
            return Err(InvalidPublicKey);
        }
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| InvalidPublicKey)?;
        let point = key.to_edwards();
        // The subgroup check costs a scalar multiplication, about as much as a verification;
        // libsodium pays it too, and it is what stops small-subgroup games with blinded keys.
        if point.is_small_order() || !point.is_torsion_free() {
            return Err(InvalidPublicKey);
        }
        Ok(Self(key))
    }

    /// The 32 encoded bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// The key for ed25519-dalek verification.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }

    /// The X25519 (Montgomery) form, `u = (1+y)/(1-y)`: libsodium's
    /// `crypto_sign_ed25519_pk_to_curve25519`, which maps an unblinded `00` key to its `05` id.
    pub fn to_x25519(&self) -> [u8; 32] {
        self.0.to_montgomery().to_bytes()
    }

    /// Strict Ed25519 verification, the closest ed25519-dalek gets to libsodium's
    /// `crypto_sign_verify_detached`: non-canonical `S`, small-order `R` and (already excluded
    /// by construction) small-order keys are all refused.
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.0
            .verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
    }
}

impl fmt::Debug for Ed25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ed25519PublicKey({})", hex::encode(self.as_bytes()))
    }
}

/// libsodium's `crypto_core_ed25519_is_valid_point`, as a yes/no.
pub fn is_valid_ed25519_point(bytes: &[u8; 32]) -> bool {
    Ed25519PublicKey::from_bytes(bytes).is_ok()
}

/// True when the y coordinate (the bytes with the sign bit cleared) is below p = 2^255 - 19.
/// curve25519-dalek reduces non-canonical encodings silently, libsodium refuses them.
fn is_canonical_y(bytes: &[u8; 32]) -> bool {
    let top_is_max = bytes[31] & 0x7f == 0x7f;
    let middle_is_max = bytes[1..31].iter().all(|&b| b == 0xff);
    !(top_is_max && middle_is_max && bytes[0] >= 0xed)
}

/// The "positive" Ed25519 key of an X25519 pubkey, `y = (u-1)/(u+1)` with the sign bit clear
/// (XEd25519). A `05` id has two Ed25519 candidates, this one and its negation; blinding works
/// from this one. Fails when the result is not a valid point (as libsodium's blinding would).
pub fn xed25519_pubkey(x25519: &[u8; 32]) -> Result<Ed25519PublicKey, InvalidPublicKey> {
    let point = MontgomeryPoint(*x25519)
        .to_edwards(0)
        .ok_or(InvalidPublicKey)?;
    Ed25519PublicKey::from_bytes(&point.compress().to_bytes())
}

/// The server's X25519 public key: the key in room URLs, in request signatures, and in blinding.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServerPublicKey([u8; 32]);

impl ServerPublicKey {
    /// Wraps 32 bytes (any 32 bytes are an X25519 public key).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw key.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// 64 lowercase hex digits, as in `?public_key=` of a room URL.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// A server pubkey string is not 64 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("server public key must be 64 hex digits")]
pub struct InvalidServerPublicKey;

impl FromStr for ServerPublicKey {
    type Err = InvalidServerPublicKey;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| InvalidServerPublicKey)?;
        Ok(Self(bytes))
    }
}

impl fmt::Display for ServerPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ServerPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerPublicKey({})", self.to_hex())
    }
}

/// A key file did not hold exactly 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("server key must be exactly 32 bytes, got {0}")]
pub struct InvalidServerKeyLength(pub usize);

/// The server's long-term key, in PySOGS's format: 32 raw bytes of X25519 private key.
///
/// The same 32 bytes are also used as an Ed25519 *seed* for legacy auth tokens, exactly as
/// pysogs does; that Ed25519 key is unrelated to the X25519 public key. Keeping the format lets
/// an operator move a PySOGS key file over and keep every room URL valid.
#[derive(Clone)]
pub struct ServerKey {
    secret: StaticSecret,
    public: ServerPublicKey,
    legacy: SigningKey,
}

impl ServerKey {
    /// The key held in 32 raw bytes.
    pub fn from_bytes(raw: [u8; 32]) -> Self {
        let secret = StaticSecret::from(raw);
        let public = ServerPublicKey(X25519PublicKey::from(&secret).to_bytes());
        let legacy = SigningKey::from_bytes(&raw);
        Self {
            secret,
            public,
            legacy,
        }
    }

    /// The key held in a slice that must be 32 bytes (a key file's contents).
    pub fn from_slice(raw: &[u8]) -> Result<Self, InvalidServerKeyLength> {
        let raw: [u8; 32] = raw
            .try_into()
            .map_err(|_| InvalidServerKeyLength(raw.len()))?;
        Ok(Self::from_bytes(raw))
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        let mut raw = [0u8; 32];
        rand::fill(&mut raw);
        Self::from_bytes(raw)
    }

    /// The 32 raw private bytes, for writing the key file.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.secret.to_bytes()
    }

    /// The X25519 public key.
    pub fn public_key(&self) -> ServerPublicKey {
        self.public
    }

    /// The hidden system user's id, `ff` + the X25519 public key.
    pub fn system_session_id(&self) -> SessionId {
        SessionId::new(IdPrefix::System, self.public.0)
    }

    /// The Ed25519 key from the same seed; only for legacy endpoints.
    pub fn legacy_signing_key(&self) -> &SigningKey {
        &self.legacy
    }

    /// A legacy auth token for `session_id`: the 64-byte Ed25519 signature of its 33 bytes
    /// followed by those 33 bytes.
    pub fn legacy_token(&self, session_id: &SessionId) -> Vec<u8> {
        let message = session_id.to_bytes();
        let signature = self.legacy.sign(&message);
        let mut token = Vec::with_capacity(64 + 33);
        token.extend_from_slice(&signature.to_bytes());
        token.extend_from_slice(&message);
        token
    }

    /// X25519 with a client's public key. `None` when the result is all zeros (a small-order
    /// client key), which libsodium's `crypto_scalarmult` also refuses.
    pub fn shared_secret(&self, their_public: &[u8; 32]) -> Option<[u8; 32]> {
        let shared = self
            .secret
            .diffie_hellman(&X25519PublicKey::from(*their_public));
        shared.was_contributory().then(|| shared.to_bytes())
    }
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use curve25519_dalek::edwards::CompressedEdwardsY;

    fn bytes32(s: &str) -> [u8; 32] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    #[test]
    fn session_ids_parse_either_case_and_print_lowercase() {
        let id: SessionId = "05C506FEE5118680107A4722F60A05DFCBB5737D6FFC4D163FB60479E279C6095D"
            .parse()
            .unwrap();
        assert_eq!(id.prefix(), IdPrefix::Session);
        assert_eq!(
            id.to_string(),
            "05c506fee5118680107a4722f60a05dfcbb5737d6ffc4d163fb60479e279c6095d"
        );
        assert_eq!(SessionId::from_bytes(&id.to_bytes()).unwrap(), id);
    }

    #[test]
    fn every_known_prefix_parses_and_others_are_refused() {
        let tail = "c506fee5118680107a4722f60a05dfcbb5737d6ffc4d163fb60479e279c6095d";
        for (p, kind) in [
            ("00", IdPrefix::Ed25519),
            ("05", IdPrefix::Session),
            ("15", IdPrefix::Blinded15),
            ("25", IdPrefix::Blinded25),
            ("ff", IdPrefix::System),
        ] {
            let id: SessionId = format!("{p}{tail}").parse().unwrap();
            assert_eq!(id.prefix(), kind);
        }
        assert_eq!(
            format!("06{tail}").parse::<SessionId>(),
            Err(IdError::UnknownPrefix(0x06))
        );
    }

    #[test]
    fn malformed_session_ids_are_refused() {
        let good = "05c506fee5118680107a4722f60a05dfcbb5737d6ffc4d163fb60479e279c6095d";
        assert_eq!(
            good[..64].parse::<SessionId>(),
            Err(IdError::WrongLength(64))
        );
        assert_eq!(
            format!("{good}00").parse::<SessionId>(),
            Err(IdError::WrongLength(68))
        );
        assert_eq!(
            format!("{}zz", &good[..64]).parse::<SessionId>(),
            Err(IdError::NotHex)
        );
        // 66 bytes but not 66 ASCII characters: a multi-byte char must not split the hex.
        assert!(format!("05é{}", &good[4..]).parse::<SessionId>().is_err());
        assert_eq!(
            SessionId::from_bytes(&[5u8; 32]),
            Err(IdError::WrongLength(32))
        );
    }

    #[test]
    fn blinded_ids_accept_only_15_and_25_prefixes() {
        let tail = "cef185d46b60a548641bd8c5baa4b7cf90b7da8e883c0ac774c703d249086479";
        assert!(format!("15{tail}").parse::<BlindedId>().is_ok());
        assert!(format!("25{tail}").parse::<BlindedId>().is_ok());
        assert_eq!(
            format!("05{tail}").parse::<BlindedId>(),
            Err(IdError::NotBlinded)
        );
    }

    #[test]
    fn ids_serialise_as_lowercase_json_strings() {
        let id: BlindedId = "15CEF185D46B60A548641BD8C5BAA4B7CF90B7DA8E883C0AC774C703D249086479"
            .parse()
            .unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(
            json,
            "\"15cef185d46b60a548641bd8c5baa4b7cf90b7da8e883c0ac774c703d249086479\""
        );
        assert_eq!(serde_json::from_str::<BlindedId>(&json).unwrap(), id);
        assert!(
            serde_json::from_str::<BlindedId>(
                "\"05cef185d46b60a548641bd8c5baa4b7cf90b7da8e883c0ac774c703d249086479\""
            )
            .is_err()
        );
    }

    #[test]
    fn small_order_points_are_not_valid_pubkeys() {
        // test-vectors.md §2d: both points fail is_valid_point on their own.
        assert!(!is_valid_ed25519_point(&[0u8; 32]));
        assert!(!is_valid_ed25519_point(&bytes32(
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"
        )));
        // The identity (y = 1) and y = -1 (order 2).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(!is_valid_ed25519_point(&identity));
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        assert!(!is_valid_ed25519_point(&minus_one));
    }

    #[test]
    fn a_real_pubkey_plus_a_small_order_point_is_not_valid() {
        // test-vectors.md §2d: adding a small-order point leaves the prime-order subgroup.
        let a = CompressedEdwardsY(bytes32(
            "f58fe1d7c341f9c3538f1a6d8d582e5d7cbc2b4101d189e13a94f08718472f02",
        ))
        .decompress()
        .unwrap();
        let t = CompressedEdwardsY(bytes32(
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        ))
        .decompress()
        .unwrap();
        assert!(is_valid_ed25519_point(&a.compress().to_bytes()));
        assert!(!is_valid_ed25519_point(&(a + t).compress().to_bytes()));
    }

    #[test]
    fn non_canonical_and_off_curve_encodings_are_not_valid() {
        // y = p + 2 encodes the same y as 2 but is not canonical.
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xef;
        non_canonical[31] = 0x7f;
        assert!(!is_valid_ed25519_point(&non_canonical));
        // y = 2 is not on the curve (x^2 is not a square).
        let mut two = [0u8; 32];
        two[0] = 2;
        assert!(!is_valid_ed25519_point(&two));
    }

    #[test]
    fn ed25519_pubkeys_convert_to_their_session_id() {
        // test-vectors.md §1 first row and §2a.
        let a = Ed25519PublicKey::from_bytes(&bytes32(
            "f58fe1d7c341f9c3538f1a6d8d582e5d7cbc2b4101d189e13a94f08718472f02",
        ))
        .unwrap();
        assert_eq!(
            hex::encode(a.to_x25519()),
            "c506fee5118680107a4722f60a05dfcbb5737d6ffc4d163fb60479e279c6095d"
        );
    }

    #[test]
    fn xed25519_of_a_session_id_is_the_positive_ed25519_key() {
        let x = bytes32("c506fee5118680107a4722f60a05dfcbb5737d6ffc4d163fb60479e279c6095d");
        let ed = xed25519_pubkey(&x).unwrap();
        assert_eq!(
            hex::encode(ed.as_bytes()),
            "f58fe1d7c341f9c3538f1a6d8d582e5d7cbc2b4101d189e13a94f08718472f02"
        );
        assert_eq!(ed.to_x25519(), x);
    }

    #[test]
    fn the_server_key_derives_pysogs_public_key_system_id_and_legacy_key() {
        // test-vectors.md §6.
        let key = ServerKey::from_bytes(bytes32(
            "2f4d1c0d28e137777ec0a316e9f4f763e3e66662a6c51994c6315c9ef34b6deb",
        ));
        assert_eq!(
            key.public_key().to_hex(),
            "8388de69bc0d4b6196133233ad9a46ba0473474bc67718aad96a3a33c257f726"
        );
        assert_eq!(
            key.system_session_id().to_string(),
            "ff8388de69bc0d4b6196133233ad9a46ba0473474bc67718aad96a3a33c257f726"
        );
        assert_eq!(
            hex::encode(key.legacy_signing_key().verifying_key().as_bytes()),
            "179306f07b02f6880d53e75b16d901ec1426c4248990c83cfc59f201c1e2ef88"
        );
        assert!(!format!("{key:?}").contains("2f4d1c0d"));
    }

    #[test]
    fn legacy_tokens_match_pysogs() {
        // test-vectors.md §6.
        let key = ServerKey::from_bytes(bytes32(
            "2f4d1c0d28e137777ec0a316e9f4f763e3e66662a6c51994c6315c9ef34b6deb",
        ));
        let sid: SessionId = "05c506fee5118680107a4722f60a05dfcbb5737d6ffc4d163fb60479e279c6095d"
            .parse()
            .unwrap();
        assert_eq!(
            hex::encode(key.legacy_token(&sid)),
            "fc23e103ba5bb8c3651177f51d15b27db49e2ddb884f18cb410c50affd0463183a9e2f80dda4453946033471b0b5e8caa898afb5906eaad499af9b4b0f457f0605c506fee5118680107a4722f60a05dfcbb5737d6ffc4d163fb60479e279c6095d"
        );
    }

    #[test]
    fn server_keys_load_only_from_exactly_32_bytes() {
        assert_eq!(
            ServerKey::from_slice(&[1u8; 31]).err(),
            Some(InvalidServerKeyLength(31))
        );
        let key = ServerKey::from_slice(&[1u8; 32]).unwrap();
        assert_eq!(key.to_bytes(), [1u8; 32]);
        let fresh = ServerKey::generate();
        assert_eq!(
            ServerKey::from_bytes(fresh.to_bytes()).public_key(),
            fresh.public_key()
        );
    }

    #[test]
    fn server_public_keys_parse_from_64_hex_digits_only() {
        let hex = "6a32c7b491f4199dd1260a4cc60ae51c6bd71dad939cc521e738409f53f943be";
        assert_eq!(hex.parse::<ServerPublicKey>().unwrap().to_string(), hex);
        assert!(hex[..62].parse::<ServerPublicKey>().is_err());
        assert!(format!("{hex}00").parse::<ServerPublicKey>().is_err());
        assert!(
            "zz32c7b491f4199dd1260a4cc60ae51c6bd71dad939cc521e738409f53f943be"
                .parse::<ServerPublicKey>()
                .is_err()
        );
    }

    #[test]
    fn a_small_order_client_key_gives_no_shared_secret() {
        let key = ServerKey::from_bytes([7u8; 32]);
        assert_eq!(key.shared_secret(&[0u8; 32]), None);
        let mut one = [0u8; 32];
        one[0] = 1;
        assert_eq!(key.shared_secret(&one), None);
    }
}
