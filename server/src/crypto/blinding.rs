//! Per-server blinded identities: 15-blinding (pysogs and every Session client) and libsession's
//! 25-blinding.
//!
//! A blinded key is the user's Ed25519 key multiplied by a factor derived from the server's
//! pubkey, so two servers cannot link the same user. The server never needs the user's secret:
//! it verifies ordinary Ed25519 signatures under the blinded key, and when a moderator names a
//! user by their `05` id it recomputes that user's blinded id from the id alone (§4.5). The
//! signing half lives here too so that our own client and tests speak the same protocol.

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha512};

use super::hashing::{h64, keyed_hash};
use super::keys::{
    BlindedId, Ed25519PublicKey, IdPrefix, InvalidPublicKey, ServerPublicKey, SessionId,
    xed25519_pubkey,
};

/// The BLAKE2b key for the 25-blinding seed hash (libsession).
const BLIND25_SEED_KEY: &[u8; 20] = b"SessCommBlind25_seed";
/// The BLAKE2b key for the 25-blinding signature nonce (libsession).
const BLIND25_SIG_KEY: &[u8; 19] = b"SessCommBlind25_sig";

/// Why an id could not be blinded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BlindingError {
    /// Only `05` ids can be blinded.
    #[error("only 05 session ids can be blinded")]
    NotASessionId,
    /// The X25519 key has no valid Ed25519 counterpart.
    #[error("session id is not a valid curve point")]
    InvalidKey,
}

impl From<InvalidPublicKey> for BlindingError {
    fn from(_: InvalidPublicKey) -> Self {
        Self::InvalidKey
    }
}

/// `k = reduce(H64(server_pk))`, the 15-blinding factor for one server.
pub fn blind15_factor(server_pk: &ServerPublicKey) -> Scalar {
    Scalar::from_bytes_mod_order_wide(&h64(&[server_pk.as_bytes()]))
}

/// `k' = reduce(H64(0x05 || X || server_pk))`, the 25-blinding factor for one user on one server.
pub fn blind25_factor(x25519: &[u8; 32], server_pk: &ServerPublicKey) -> Scalar {
    Scalar::from_bytes_mod_order_wide(&h64(&[&[0x05], x25519, server_pk.as_bytes()]))
}

/// The two 15-blinded ids a `05` user might have on a server.
///
/// A `05` id fixes the Ed25519 key only up to sign, so the blinded key is known only up to sign
/// too. pysogs calls the candidate with bit 255 cleared "abs" and the other "neg"; the user's
/// real blinded id is always one of them (test vectors §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blind15Candidates {
    /// Bit 255 cleared: what pysogs stores in `needs_blinding.blinded_abs`.
    pub abs: BlindedId,
    /// Bit 255 set.
    pub neg: BlindedId,
}

impl Blind15Candidates {
    /// Whether `id` is one of the two.
    pub fn contains(&self, id: &BlindedId) -> bool {
        *id == self.abs || *id == self.neg
    }

    /// Both, `abs` first.
    pub fn both(&self) -> [BlindedId; 2] {
        [self.abs, self.neg]
    }
}

/// The "abs" form of a 15-blinded id: bit 255 cleared. Used to look up `needs_blinding`.
pub fn blind15_abs(id: &BlindedId) -> BlindedId {
    let mut key = *id.key();
    key[31] &= 0x7f;
    BlindedId::blind15(key)
}

/// Both 15-blinded ids of a `05` user on this server: `k · xed25519(X)` with either sign.
pub fn blind15_candidates(
    session_id: &SessionId,
    server_pk: &ServerPublicKey,
) -> Result<Blind15Candidates, BlindingError> {
    let ed = session_ed25519(session_id)?;
    let mut key = scalar_mul(&blind15_factor(server_pk), &ed);
    key[31] &= 0x7f;
    let abs = BlindedId::blind15(key);
    key[31] |= 0x80;
    let neg = BlindedId::blind15(key);
    Ok(Blind15Candidates { abs, neg })
}

/// The 25-blinded id of a `05` user on this server: `k' · xed25519(X)`. Unlike 15-blinding there
/// is no sign ambiguity, because the client negates `k'` when its real key is negative.
pub fn blind25_id(
    session_id: &SessionId,
    server_pk: &ServerPublicKey,
) -> Result<BlindedId, BlindingError> {
    let ed = session_ed25519(session_id)?;
    let factor = blind25_factor(session_id.key(), server_pk);
    Ok(BlindedId::blind25(scalar_mul(&factor, &ed)))
}

/// Whether `blinded` belongs to the `05` user `session_id` on this server.
pub fn blinded_id_matches(
    session_id: &SessionId,
    blinded: &BlindedId,
    server_pk: &ServerPublicKey,
) -> bool {
    match blinded.prefix() {
        IdPrefix::Blinded15 => {
            blind15_candidates(session_id, server_pk).is_ok_and(|c| c.contains(blinded))
        }
        IdPrefix::Blinded25 => blind25_id(session_id, server_pk).is_ok_and(|id| id == *blinded),
        _ => false,
    }
}

/// Verifies a signature made by the holder of `id`, the way Session clients check message
/// signatures: `15`/`25`/`00` ids hold the Ed25519 key directly, a `05` id is checked against
/// its positive XEd25519 key. (The server itself never checks message signatures.)
pub fn verify_by_id(id: &SessionId, message: &[u8], signature: &[u8; 64]) -> bool {
    let key = match id.prefix() {
        IdPrefix::Blinded15 | IdPrefix::Blinded25 | IdPrefix::Ed25519 => {
            Ed25519PublicKey::from_bytes(id.key())
        }
        IdPrefix::Session => xed25519_pubkey(id.key()),
        IdPrefix::System => return false,
    };
    key.is_ok_and(|k| k.verify(message, signature))
}

fn session_ed25519(session_id: &SessionId) -> Result<Ed25519PublicKey, BlindingError> {
    if session_id.prefix() != IdPrefix::Session {
        return Err(BlindingError::NotASessionId);
    }
    Ok(xed25519_pubkey(session_id.key())?)
}

/// `crypto_scalarmult_ed25519_noclamp` for a point already known to be valid.
fn scalar_mul(k: &Scalar, point: &Ed25519PublicKey) -> [u8; 32] {
    (k * point.verifying_key().to_edwards())
        .compress()
        .to_bytes()
}

/// Where a 15-blinded signature's nonce key comes from. Both give signatures that verify under
/// the same blinded key; they differ only in the per-message nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Blind15Nonce {
    /// libsession (what Session clients use): `SHA512(seed || A)[32..]`.
    #[default]
    Libsession,
    /// pysogs' test helper: `SHA512(seed)[32..]`.
    PysogsTests,
}

#[derive(Clone)]
enum NonceKey {
    /// 15-blinding: `r = reduce(SHA512(prefix || A' || M))`.
    Sha512Prefix([u8; 32]),
    /// 25-blinding: `r = reduce(BLAKE2b-64(key = "SessCommBlind25_sig", seedhash || A' || M))`.
    Blake2bSeedHash([u8; 32]),
}

/// A user's key pair blinded for one server, able to sign as that blinded id.
#[derive(Clone)]
pub struct BlindedKeyPair {
    scalar: Scalar,
    public: [u8; 32],
    id: BlindedId,
    nonce_key: NonceKey,
}

impl BlindedKeyPair {
    /// The 15-blinded key pair with libsession's nonce derivation.
    pub fn blind15(identity: &SigningKey, server_pk: &ServerPublicKey) -> Self {
        Self::blind15_with_nonce(identity, server_pk, Blind15Nonce::Libsession)
    }

    /// The 15-blinded key pair: `ka = k·a`, `kA = ka·G`.
    pub fn blind15_with_nonce(
        identity: &SigningKey,
        server_pk: &ServerPublicKey,
        nonce: Blind15Nonce,
    ) -> Self {
        let scalar = blind15_factor(server_pk) * identity.to_scalar();
        let public = base_mul(&scalar);
        let seed = identity.as_bytes();
        let digest: [u8; 64] = match nonce {
            Blind15Nonce::Libsession => Sha512::new()
                .chain_update(seed)
                .chain_update(identity.verifying_key().as_bytes())
                .finalize()
                .into(),
            Blind15Nonce::PysogsTests => Sha512::digest(seed).into(),
        };
        let mut prefix = [0u8; 32];
        prefix.copy_from_slice(&digest[32..]);
        Self {
            scalar,
            public,
            id: BlindedId::blind15(public),
            nonce_key: NonceKey::Sha512Prefix(prefix),
        }
    }

    /// The 25-blinded key pair: `a' = ±k'·a`, negated when the real Ed25519 key is negative so
    /// that `A'` always equals the id the server computes from the `05` id.
    pub fn blind25(identity: &SigningKey, server_pk: &ServerPublicKey) -> Self {
        let verifying = identity.verifying_key();
        let x25519 = verifying.to_montgomery().to_bytes();
        let mut factor = blind25_factor(&x25519, server_pk);
        if verifying.as_bytes()[31] & 0x80 != 0 {
            factor = -factor;
        }
        let scalar = factor * identity.to_scalar();
        let public = base_mul(&scalar);
        let seedhash = keyed_hash::<32, 20>(BLIND25_SEED_KEY, &[identity.as_bytes()]);
        Self {
            scalar,
            public,
            id: BlindedId::blind25(public),
            nonce_key: NonceKey::Blake2bSeedHash(seedhash),
        }
    }

    /// The blinded id (`15…` or `25…`).
    pub fn id(&self) -> BlindedId {
        self.id
    }

    /// The blinded private scalar (`ka`, or `±k'a` for 25-blinding): the key blinded direct
    /// messages agree on (`direct_message`).
    pub(crate) fn scalar(&self) -> &Scalar {
        &self.scalar
    }

    /// The blinded Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public
    }

    /// An Ed25519 signature of `message` under the blinded key, deterministic per message.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let wide: [u8; 64] = match &self.nonce_key {
            NonceKey::Sha512Prefix(prefix) => Sha512::new()
                .chain_update(prefix)
                .chain_update(self.public)
                .chain_update(message)
                .finalize()
                .into(),
            NonceKey::Blake2bSeedHash(seedhash) => {
                keyed_hash::<64, 19>(BLIND25_SIG_KEY, &[seedhash, &self.public, message])
            }
        };
        let r = Scalar::from_bytes_mod_order_wide(&wide);
        let big_r = base_mul(&r);
        let challenge: [u8; 64] = Sha512::new()
            .chain_update(big_r)
            .chain_update(self.public)
            .chain_update(message)
            .finalize()
            .into();
        let s = r + Scalar::from_bytes_mod_order_wide(&challenge) * self.scalar;
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(&big_r);
        signature[32..].copy_from_slice(s.as_bytes());
        signature
    }
}

impl std::fmt::Debug for BlindedKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlindedKeyPair")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// `crypto_scalarmult_ed25519_base_noclamp`.
fn base_mul(scalar: &Scalar) -> [u8; 32] {
    EdwardsPoint::mul_base(scalar).compress().to_bytes()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn bytes32(s: &str) -> [u8; 32] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    fn server(s: &str) -> ServerPublicKey {
        s.parse().unwrap()
    }

    /// A libsession 64-byte secret key: the seed, checked against its pubkey half.
    fn identity(sk64: &str) -> SigningKey {
        let bytes = hex::decode(sk64).unwrap();
        let key = SigningKey::from_bytes(&bytes[..32].try_into().unwrap());
        assert_eq!(key.verifying_key().as_bytes(), &bytes[32..]);
        key
    }

    const PYSOGS_SERVER: &str = "6a32c7b491f4199dd1260a4cc60ae51c6bd71dad939cc521e738409f53f943be";

    /// test-vectors.md §1: seed, 05 id, expected blinded id, abs, neg.
    const PYSOGS_ROWS: [[&str; 5]; 20] = [
        [
            "880adf5164a79bce71f7387fbc2cb2693c0bf0ab4cb42bf1edafddade7527a66",
            "05c506fee5118680107a4722f60a05dfcbb5737d6ffc4d163fb60479e279c6095d",
            "15cef185d46b60a548641bd8c5baa4b7cf90b7da8e883c0ac774c703d249086479",
            "15cef185d46b60a548641bd8c5baa4b7cf90b7da8e883c0ac774c703d249086479",
            "15cef185d46b60a548641bd8c5baa4b7cf90b7da8e883c0ac774c703d2490864f9",
        ],
        [
            "67416582e0700081604860d270bc986011fc5e62c53de908a9a5af2cb497c528",
            "05e7ddb41d2dbefc7c3cbb9173e4581498f82436633f093f66b101e0ee9d63d21f",
            "15f8fbeb20cdde5e0cc0ec84e0b3705ca6090c7b23e8132589970473a5592ba388",
            "15f8fbeb20cdde5e0cc0ec84e0b3705ca6090c7b23e8132589970473a5592ba308",
            "15f8fbeb20cdde5e0cc0ec84e0b3705ca6090c7b23e8132589970473a5592ba388",
        ],
        [
            "a5ad71709cfa315d147921e377186270367fd06926f4dbfe33f519dec6b016f7",
            "059ff1cd36f22a9478d5d61259f95b18d877ae021b21fc193b6888006f9b8e6564",
            "15758e10dc51210d7a36ea6076e2aa84d9f87283bddb508364272dce0a7618f92a",
            "15758e10dc51210d7a36ea6076e2aa84d9f87283bddb508364272dce0a7618f92a",
            "15758e10dc51210d7a36ea6076e2aa84d9f87283bddb508364272dce0a7618f9aa",
        ],
        [
            "c929a389a0dcf375ae8177891655b3835773e3a2d6d27490de8b8a160ca472f8",
            "05f61b94ea9509a0ceb179005caa17dd43fb3a3b4f68d450def4eda041bf005c63",
            "1515ad8f8c5e56b31078a4a5ae73938bd523b1c86ea36033d564759e4495fbb64d",
            "1515ad8f8c5e56b31078a4a5ae73938bd523b1c86ea36033d564759e4495fbb64d",
            "1515ad8f8c5e56b31078a4a5ae73938bd523b1c86ea36033d564759e4495fbb6cd",
        ],
        [
            "0576076b8a82aae0fa1d0f00e97b538b43205f63759a972f26b851a55b60b5d0",
            "05387bef5a2af3348632558814300cacc0187b6989d1f32ca4f8836904c3ebc341",
            "15375a56d4cbf0538f4b326e54917fd1953e9e3dfe076eb8b35929a8d869a15c13",
            "15375a56d4cbf0538f4b326e54917fd1953e9e3dfe076eb8b35929a8d869a15c13",
            "15375a56d4cbf0538f4b326e54917fd1953e9e3dfe076eb8b35929a8d869a15c93",
        ],
        [
            "0a5db01db307ffd1bbe3cdd0d47c71e8837c60b38983d1df1b187301959095c9",
            "059327ca1b73054d1067102b04e0f98e0addc0449a934b42f0037bbc7dc90c355d",
            "151a821dd107ac68845f82085efb1f88d046a084a63f7fc381ec07a367e6bc5aac",
            "151a821dd107ac68845f82085efb1f88d046a084a63f7fc381ec07a367e6bc5a2c",
            "151a821dd107ac68845f82085efb1f88d046a084a63f7fc381ec07a367e6bc5aac",
        ],
        [
            "d9b4ff572d4ebbcf26b07329f9029462f0606087d64e8932e698aa0a98231ce3",
            "05faf2960454417b7713a19c771076de55d558773f4597c156b5b2c74c762ee84c",
            "15a4acf4c814fd1bcf83ebbe42c276630a63e32365633cb57089544b3a60b5e4ac",
            "15a4acf4c814fd1bcf83ebbe42c276630a63e32365633cb57089544b3a60b5e42c",
            "15a4acf4c814fd1bcf83ebbe42c276630a63e32365633cb57089544b3a60b5e4ac",
        ],
        [
            "dbcf64e7e6323ace8a75327119c13ef0b41e0efb94e594a6424ba41472987844",
            "05dc02480091612fe813807f6d4fa6409e39d8228d460f09bbcbac7386b35e1a39",
            "1503e60a1fbde2a930e11db0898220ceb41e5ea9161f61ff1dc7d83be3e9b96993",
            "1503e60a1fbde2a930e11db0898220ceb41e5ea9161f61ff1dc7d83be3e9b96913",
            "1503e60a1fbde2a930e11db0898220ceb41e5ea9161f61ff1dc7d83be3e9b96993",
        ],
        [
            "2e90f20775370121a2db8413a68bb41c3618e63c744c865d8b03ca2cb9d52e9e",
            "0505da891cc8b36a99e937a41a74a1ffd6f34252f61cb548531331effa698b7457",
            "150bfdf09d985453d70b07b779ac7de982c0b6190c19126df74e8ca3adbfb87fec",
            "150bfdf09d985453d70b07b779ac7de982c0b6190c19126df74e8ca3adbfb87f6c",
            "150bfdf09d985453d70b07b779ac7de982c0b6190c19126df74e8ca3adbfb87fec",
        ],
        [
            "0b19b8b2f006f73810a86244697ac3feb3500af22f97434bf1e4bac575e95d2f",
            "0556ae77b55e6314559aa308945db30a0ab92cedefb9fc7d4d0fb31ee1b372dc5b",
            "15c430f8cf5e3ca4a3d0fa79d75fe60b3dc21212b4467ddd01fc1173c738161628",
            "15c430f8cf5e3ca4a3d0fa79d75fe60b3dc21212b4467ddd01fc1173c738161628",
            "15c430f8cf5e3ca4a3d0fa79d75fe60b3dc21212b4467ddd01fc1173c7381616a8",
        ],
        [
            "32c58327a3856acb77ca0e97993100b4a14475b2d5cd3804213ae2d6f2515709",
            "05683c8952582141232194b5d48c17d42b5c23ec872201a81995df841ccc92c056",
            "150fdb6a400ade0aa2d261999fc51aa0151201d30626b30ec94d3a06a927948523",
            "150fdb6a400ade0aa2d261999fc51aa0151201d30626b30ec94d3a06a927948523",
            "150fdb6a400ade0aa2d261999fc51aa0151201d30626b30ec94d3a06a9279485a3",
        ],
        [
            "f5c57e9949bbb87b3ae9fa374bc05b8e945c33141b7eb19c5125d17023120287",
            "05068f306341a926403e1330a3f67b248bbbc156153ad5e22e8fddc545fda8471f",
            "15cdda69401f8ca32c4760b025b8315967ce9f5c53d4b75239b26d8ff9db5852f8",
            "15cdda69401f8ca32c4760b025b8315967ce9f5c53d4b75239b26d8ff9db585278",
            "15cdda69401f8ca32c4760b025b8315967ce9f5c53d4b75239b26d8ff9db5852f8",
        ],
        [
            "3aacbfb5059e1df00d11ff5742f8a5b91cdb9fe163f38906d7dfaae29ad30c0c",
            "0521ad5552a5b2cca0b49fad1ad50ec93902ea038c66f55d6bd334a96d65fd470c",
            "152701bb6cf273f7c30a0b2bb3a4b027415aab3fdff5d44b7b50af269aaa46007d",
            "152701bb6cf273f7c30a0b2bb3a4b027415aab3fdff5d44b7b50af269aaa46007d",
            "152701bb6cf273f7c30a0b2bb3a4b027415aab3fdff5d44b7b50af269aaa4600fd",
        ],
        [
            "cce2487f4f1a01a54811204e8c774e7380c080f5f40cda0ef395752ef96dd35c",
            "05c59a1f88ef2b7420d6370e0ff8c036e0cd4ae42a2820526a7244aef463bdcb0d",
            "15c92aa80e809a84d97323f911355d5015e916f3d5bebc297a17b4c44bad487ad6",
            "15c92aa80e809a84d97323f911355d5015e916f3d5bebc297a17b4c44bad487a56",
            "15c92aa80e809a84d97323f911355d5015e916f3d5bebc297a17b4c44bad487ad6",
        ],
        [
            "a414c2990f36a115308f74bbcb56c4238135c0578abf8de0505b08e9c7b69134",
            "051eccde653eeeb9641b03400bb0bf23f8dc02c960768f68388b7fce5200a1e45c",
            "150e51c490bc7c570310276b7fdaeb9e0e14ab4674ce8217df5418b621b52c5c31",
            "150e51c490bc7c570310276b7fdaeb9e0e14ab4674ce8217df5418b621b52c5c31",
            "150e51c490bc7c570310276b7fdaeb9e0e14ab4674ce8217df5418b621b52c5cb1",
        ],
        [
            "cbf84283c5d4a906b81e7533005fdd832d9d3712e71d5ee8247e3d32c1e2e38c",
            "05347e20fc6d2ba48d1342e03a45139d53f2f0f94eb33beb4fd46b87548074c90d",
            "157b0487fa9bc7449a167d66b56eb3e3fc628101d84a08f3f510f46de90de2e3a4",
            "157b0487fa9bc7449a167d66b56eb3e3fc628101d84a08f3f510f46de90de2e324",
            "157b0487fa9bc7449a167d66b56eb3e3fc628101d84a08f3f510f46de90de2e3a4",
        ],
        [
            "e75399dac3b5b3675874ba1708d1effc6ab9bbd5b0fac4cf78a3c2b36af9cfc5",
            "059e457abbf4c94d60d594146abd5f4eb05895496759346fe05df53f5fb1dec567",
            "15f277d3d6afbecc15c71d16c3f183e6dbb772b176f3c818265f4459aa649b9d80",
            "15f277d3d6afbecc15c71d16c3f183e6dbb772b176f3c818265f4459aa649b9d00",
            "15f277d3d6afbecc15c71d16c3f183e6dbb772b176f3c818265f4459aa649b9d80",
        ],
        [
            "6cef60808348898f17123eb4f47556f22ae0e7bd1988455da6d4b685ea0f93d0",
            "05737c8f6a1827dea6ba8fea987467578ddcef42eedb760bfbd73a49f1797a5301",
            "152d766ba9a19fd108e8f397b7fddaad2473cf13192858b8fd28f641e6c817c7c1",
            "152d766ba9a19fd108e8f397b7fddaad2473cf13192858b8fd28f641e6c817c741",
            "152d766ba9a19fd108e8f397b7fddaad2473cf13192858b8fd28f641e6c817c7c1",
        ],
        [
            "9396176367912b4bc9b2fca427bf7fea97293ee9db75e521e31e4618e2da061c",
            "05040be4e5d334e9c935dbcaa9d76deb203e25372050dbf7d6ca1b3465cbba5e33",
            "15a2308a015da570bd749348991d4fee7b0ea5816f372a6c584581964680c9d46a",
            "15a2308a015da570bd749348991d4fee7b0ea5816f372a6c584581964680c9d46a",
            "15a2308a015da570bd749348991d4fee7b0ea5816f372a6c584581964680c9d4ea",
        ],
        [
            "b9ac6f130f0ef218e1fbd9484b38ba3a0a8ec5657744732b0a4a9e7f6c80a62e",
            "05243ea0bc8a8685039d615fb1f61fa51ed627dc3a6c641df383a6ef4ad09e367a",
            "1513533ac53ea094b0c0e907046ffc2ade32122da069df503583bf89d6af01e127",
            "1513533ac53ea094b0c0e907046ffc2ade32122da069df503583bf89d6af01e127",
            "1513533ac53ea094b0c0e907046ffc2ade32122da069df503583bf89d6af01e1a7",
        ],
    ];

    #[test]
    fn the_15_blinding_factor_matches_the_derived_value() {
        assert_eq!(
            hex::encode(blind15_factor(&server(PYSOGS_SERVER)).as_bytes()),
            "52f2b25544f805cfd7be34f3581be33d0f16e25048fe29f2abc14f4e8fe2000d"
        );
    }

    #[test]
    fn the_first_pysogs_row_reproduces_every_intermediate_value() {
        let id = SigningKey::from_bytes(&bytes32(PYSOGS_ROWS[0][0]));
        assert_eq!(
            hex::encode(id.verifying_key().as_bytes()),
            "f58fe1d7c341f9c3538f1a6d8d582e5d7cbc2b4101d189e13a94f08718472f02"
        );
        assert_eq!(
            hex::encode(id.to_scalar().as_bytes()),
            // `a` is clamped but not reduced in libsodium; compare modulo L.
            hex::encode(
                Scalar::from_bytes_mod_order(bytes32(
                    "c8310e7024f5e824fda9fda821948c0a7bf3365c26d969bd64cb2fbe013f0b5f"
                ))
                .as_bytes()
            )
        );
        let pair = BlindedKeyPair::blind15(&id, &server(PYSOGS_SERVER));
        assert_eq!(
            hex::encode(pair.scalar.as_bytes()),
            "04f6299a31dd8f1ade06aca5fde1901f60a9c2185f52b15ca8ffb5dee0720901"
        );
        assert_eq!(
            hex::encode(pair.public_key()),
            "cef185d46b60a548641bd8c5baa4b7cf90b7da8e883c0ac774c703d249086479"
        );
    }

    #[test]
    fn pysogs_blinded_ids_derive_from_the_seed_and_match_a_candidate_from_the_session_id() {
        let spk = server(PYSOGS_SERVER);
        for [seed, session, expected, abs, neg] in PYSOGS_ROWS {
            let identity = SigningKey::from_bytes(&bytes32(seed));
            let sid = SessionId::new(
                IdPrefix::Session,
                identity.verifying_key().to_montgomery().to_bytes(),
            );
            assert_eq!(sid.to_string(), session);

            let pair = BlindedKeyPair::blind15(&identity, &spk);
            assert_eq!(pair.id().to_string(), expected, "seed {seed}");

            let candidates = blind15_candidates(&sid, &spk).unwrap();
            assert_eq!(candidates.abs.to_string(), abs);
            assert_eq!(candidates.neg.to_string(), neg);
            assert!(candidates.contains(&pair.id()));
            assert_eq!(blind15_abs(&pair.id()), candidates.abs);
            assert!(blinded_id_matches(&sid, &pair.id(), &spk));
        }
    }

    const SPK0: &str = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
    const SPK1: &str = "00cdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
    const SPK3: &str = "999def0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
    const SPK4: &str = "888def0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
    const SPK5: &str = "777def0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
    const SEED1: &str = "fecd9a6034bc9aba273925dee7062b123334587c3c6257341afae2d7fe85e122f4ef873908f6a5377ba3853f0e2fa326eed9e741edf9f7d0311a3ecc66a57b32";
    const SEED2: &str = "8659efdcbe0949e0f81141e6d397e8be75f45d09262f209d5950e97989eb43c73570b69a47dc094544c1c5089c40414bbda1ffdde8aab2617fe937ee74a5ee81";
    const SESSION1: &str = "05fe94b7ad4b7f1cc1bb92671f1f0d243f226e115b33770465e82b503fc3e96e1f";
    const SESSION2: &str = "0505c9a9bf178fa644d44bebf628716dc7f2df3d0842e97881962c723699152073";

    #[test]
    fn libsession_seeds_give_their_session_ids() {
        for (seed, session) in [(SEED1, SESSION1), (SEED2, SESSION2)] {
            let x = identity(seed).verifying_key().to_montgomery().to_bytes();
            assert_eq!(SessionId::new(IdPrefix::Session, x).to_string(), session);
        }
        // seed2's real pubkey is negative.
        assert_ne!(identity(SEED2).verifying_key().as_bytes()[31] & 0x80, 0);
    }

    #[test]
    fn libsession_15_ids_are_among_the_candidates_and_seed2_uses_the_flipped_one() {
        let spk = server(SPK0);
        let c1 = blind15_candidates(&SESSION1.parse().unwrap(), &spk).unwrap();
        let lib1: BlindedId = "15b74ed205f1f931e1bb1291183778a9456b835937d923b0f2e248aa3a44c07844"
            .parse()
            .unwrap();
        assert!(c1.contains(&lib1));

        let c2 = blind15_candidates(&SESSION2.parse().unwrap(), &spk).unwrap();
        let lib2: BlindedId = "1561e070286ff7a71f167e92b18c709882b148d8238c8872caf414b301ba0564fd"
            .parse()
            .unwrap();
        assert!(c2.contains(&lib2));
        let actual = BlindedKeyPair::blind15(&identity(SEED2), &spk).id();
        assert_eq!(
            actual.to_string(),
            "1561e070286ff7a71f167e92b18c709882b148d8238c8872caf414b301ba05647d"
        );
        assert_eq!(actual, c2.abs);
    }

    #[test]
    fn libsession_15_signatures_match_and_verify_under_the_blinded_key() {
        // test-vectors.md §4b.
        let rows = [
            (
                SEED1,
                SPK0,
                "hello",
                "1a5ade20b43af0e16b3e591d6f86303938d7557c0ac54469dd4f5aea759f82d22cafa42587251756e133acdddd8cbec2f707a9ce09a49f2193f46a91502c5006",
                "15b74ed205f1f931e1bb1291183778a9456b835937d923b0f2e248aa3a44c07844",
            ),
            (
                SEED1,
                SPK1,
                "world",
                "d357f74c5ec5536840aec575051f71fdb22d70f35ef31db1715f5f694842de3b39aa647c84aa8e28ec56eb762d237c9e030639c83f429826d419ac719cd4df03",
                "158de23f5a1e1f196e3dc59d04c60e108cbf82d3b75e10eff2a64ec697501f7ba1",
            ),
            (
                SEED2,
                SPK0,
                "this",
                "dacf91dfb411e99cd8ef4cb07b195b49289cf1a724fef122c73462818560bc29832a98d870ec4feb79dedca5b59aba6a466d3ce8f3e35adf25a1813f6989fd0a",
                "1561e070286ff7a71f167e92b18c709882b148d8238c8872caf414b301ba05647d",
            ),
            (
                SEED2,
                SPK3,
                "is",
                "8339ea9887d3e44131e33403df160539cdc7a0a8107772172c311e95773660a0d39ed0a6c2b2c794dde1fdc640943e403497aa02c4d1a21a7d9030742beabb05",
                "15b1723781f94d8b8f1f03482059c5226e64a7034ae06e846b0a95895326311026",
            ),
            (
                SEED2,
                SPK4,
                "",
                "8b0d6447decff3a21ec1809141580139c4a51e24977b0605fe7984439993f5377ebc9681e4962593108d03cc8b6873c5c5ba8c30287188137d2dee9ab10afd0f",
                "15f8a97f0b7294d41b5fc66115eb909e61b00e55d2b65c3d6fd902231545987e86",
            ),
            (
                SEED1,
                SPK5,
                "omg!",
                "946725055399376ecebb605c79f845fbf689a47f98507c2a1f239516fd9c9104e19fe533631c27ba4e7444574f0e4f0f0d422b7256ed63681a3ab2fe7e040601",
                "1557726d98106bb6fb1d3401886e0ed7c15d72c6f797a2114901cb1dfbb4adec42",
            ),
        ];
        for (seed, spk, msg, sig, id) in rows {
            let pair = BlindedKeyPair::blind15(&identity(seed), &server(spk));
            assert_eq!(pair.id().to_string(), id);
            let signature = pair.sign(msg.as_bytes());
            assert_eq!(hex::encode(signature), sig, "{msg}");
            assert!(verify_by_id(
                pair.id().session_id(),
                msg.as_bytes(),
                &signature
            ));
            assert!(!verify_by_id(pair.id().session_id(), b"other", &signature));
        }
    }

    #[test]
    fn libsession_25_ids_derive_from_the_session_id() {
        // test-vectors.md §4c.
        for (session, spk, expected) in [
            (
                SESSION1,
                SPK0,
                "253b991dcbba44cfdb45d5b38880d95cff723309e3ece6fd01415ad5fa1dccc7ac",
            ),
            (
                SESSION1,
                SPK1,
                "2598589c7885b56cbeae6ab7b4224f202815520a54995872cb1833b44db6401c8d",
            ),
            (
                SESSION2,
                SPK0,
                "25a69cc6884530bf8498d22892e563716c4742f2845a7eb608de2aecbe7b6b5996",
            ),
        ] {
            let sid: SessionId = session.parse().unwrap();
            let id = blind25_id(&sid, &server(spk)).unwrap();
            assert_eq!(id.to_string(), expected);
            assert!(blinded_id_matches(&sid, &id, &server(spk)));
        }
    }

    #[test]
    fn libsession_25_signatures_match_and_their_key_equals_the_server_side_id() {
        // test-vectors.md §4c.
        let rows = [
            (
                SEED1,
                SESSION1,
                SPK0,
                "hello",
                "e6c57de4ac0cd278abbeef815bd88b163a037085deae789ecaaf4805884c4c3d3db25f3afa856241366cb341a3a4c9bbaa2cda81d028079c956fab16a7fe6206",
                "253b991dcbba44cfdb45d5b38880d95cff723309e3ece6fd01415ad5fa1dccc7ac",
            ),
            (
                SEED1,
                SESSION1,
                SPK1,
                "world",
                "4460b606e9f55a7cba0bbe24207fe2859c3422783373788b6b070b2fa62ceba4f2a50749a6cee68e095747a369927f9f4afa86edaf055cad68110e35e8b06607",
                "2598589c7885b56cbeae6ab7b4224f202815520a54995872cb1833b44db6401c8d",
            ),
            (
                SEED2,
                SESSION2,
                SPK0,
                "this",
                "57bb2f80c88ce2f677902ee58e02cbd83e4e1ec9e06e1c72a34b4ab76d0f5219cfd141ac5ce7016c73c8382db99df9f317f2bc0af6ca68edac2a9a7670938902",
                "25a69cc6884530bf8498d22892e563716c4742f2845a7eb608de2aecbe7b6b5996",
            ),
            (
                SEED2,
                SESSION2,
                SPK3,
                "is",
                "ecce032b27b09d2d3d6df4ebab8cae86656c64fd1e3e70d6f020cd7e1a8058c57e3df7b6b01e90ccd592ac4a845dde7a2fdceb1a328a6690686851583133ea0c",
                "25f9019b00d3f9dbc8798c4041f1cba51aca702b06ca89353816667f93e5c131f4",
            ),
            (
                SEED2,
                SESSION2,
                SPK4,
                "",
                "bf2fb9a511adbf5827e2e3bcf09f0a1cff80f85556fb76d8001aa8483b5f22e14539b170eaa0dbfa1489d1b8618ce8b48d7512cb5602c7eb8a05ce330a68350b",
                "25ed0dc76e2ed7771e44bdfdc1b79e3ffd73275f1584a75c1d7be7d23abc95b3d5",
            ),
            (
                SEED1,
                SESSION1,
                SPK5,
                "omg!",
                "322e280fbc3547c6b6512dbea4d60563d32acaa2df10d665c40a336c99fc3b8e4b13a7109dfdeadab2ab58b2cb314eb0510b947f43e5dfb6e0ce5bf1499d240f",
                "25cfc0c8837dadd28104c504574f488c6626774ad1f5097e094927bdb1acf1f109",
            ),
        ];
        for (seed, session, spk, msg, sig, id) in rows {
            let pair = BlindedKeyPair::blind25(&identity(seed), &server(spk));
            assert_eq!(pair.id().to_string(), id);
            assert_eq!(
                blind25_id(&session.parse().unwrap(), &server(spk)).unwrap(),
                pair.id()
            );
            let signature = pair.sign(msg.as_bytes());
            assert_eq!(hex::encode(signature), sig, "{msg}");
            assert!(verify_by_id(
                pair.id().session_id(),
                msg.as_bytes(),
                &signature
            ));
        }
    }

    #[test]
    fn the_pysogs_nonce_variant_signs_differently_but_verifies_the_same() {
        let id = identity(SEED1);
        let spk = server(SPK0);
        let lib = BlindedKeyPair::blind15(&id, &spk);
        let py = BlindedKeyPair::blind15_with_nonce(&id, &spk, Blind15Nonce::PysogsTests);
        assert_eq!(lib.id(), py.id());
        let (a, b) = (lib.sign(b"hello"), py.sign(b"hello"));
        assert_ne!(a, b);
        assert!(verify_by_id(lib.id().session_id(), b"hello", &b));
    }

    #[test]
    fn session_id_signatures_verify_through_the_xed25519_key_only_for_positive_keys() {
        // seed1's Ed25519 key is positive, so its plain signature verifies as its 05 id.
        let id = identity(SEED1);
        let sid: SessionId = SESSION1.parse().unwrap();
        let sig = ed25519_dalek::Signer::sign(&id, b"msg").to_bytes();
        assert!(verify_by_id(&sid, b"msg", &sig));
        let raw = SessionId::new(IdPrefix::Ed25519, id.verifying_key().to_bytes());
        assert!(verify_by_id(&raw, b"msg", &sig));
        let system = SessionId::new(IdPrefix::System, *sid.key());
        assert!(!verify_by_id(&system, b"msg", &sig));
    }

    #[test]
    fn only_05_ids_can_be_blinded() {
        let spk = server(SPK0);
        let blinded: SessionId =
            "15b74ed205f1f931e1bb1291183778a9456b835937d923b0f2e248aa3a44c07844"
                .parse()
                .unwrap();
        assert_eq!(
            blind15_candidates(&blinded, &spk),
            Err(BlindingError::NotASessionId)
        );
        assert_eq!(
            blind25_id(&blinded, &spk),
            Err(BlindingError::NotASessionId)
        );
    }

    #[test]
    fn a_session_id_that_is_not_a_valid_point_cannot_be_blinded() {
        // u = 0 maps to y = -1, a point of order 2, which libsodium refuses to blind.
        let zero = SessionId::new(IdPrefix::Session, [0u8; 32]);
        assert_eq!(
            blind15_candidates(&zero, &server(SPK0)),
            Err(BlindingError::InvalidKey)
        );
        let id = BlindedId::blind15([1u8; 32]);
        assert!(!blinded_id_matches(&zero, &id, &server(SPK0)));
    }
}
