//! BLAKE2b as SOGS and libsession use it.
//!
//! Most of the protocol needs only the unkeyed 32- and 64-byte digests (`H32`, `H64` in the
//! spec): the request-body hash in signatures, the blinding factors and the onion key. 25-blinding
//! also uses *keyed* BLAKE2b, and libsodium's `crypto_generichash_blake2b_salt_personal` lets
//! callers choose any digest size from 1 to 64 with a key, salt and personalisation. The `blake2`
//! crate (0.11) only offers digest sizes fixed at compile time for its keyed type, so
//! [`GenericHash`] drives its variable-output core directly to give the libsodium shape, with the
//! parameters checked before they reach the core.

use blake2::digest::Digest;
use blake2::digest::block_api::{Buffer, UpdateCore, VariableOutputCore};
use blake2::{Blake2b256, Blake2b512, Blake2bVarCore};

/// Largest BLAKE2b digest, key, and the block size.
const MAX_OUT: usize = 64;
const MAX_KEY: usize = 64;
const BLOCK: usize = 128;

/// BLAKE2b-256 of the concatenation of `parts`, no key (`H32`).
pub fn h32(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Blake2b256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// BLAKE2b-512 of the concatenation of `parts`, no key (`H64`).
pub fn h64(parts: &[&[u8]]) -> [u8; 64] {
    let mut hasher = Blake2b512::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// Keyed BLAKE2b with an `N`-byte digest over the concatenation of `parts`.
///
/// The key and digest sizes are checked at compile time (`1 <= N <= 64`, `K <= 64`), so the
/// constant keys of libsession's schemes need no runtime error path.
pub fn keyed_hash<const N: usize, const K: usize>(key: &[u8; K], parts: &[&[u8]]) -> [u8; N] {
    const {
        assert!(N >= 1 && N <= MAX_OUT, "BLAKE2b digest size must be 1..=64");
        assert!(K <= MAX_KEY, "BLAKE2b key must be at most 64 bytes");
    }
    let mut hasher = GenericHash::from_checked_params(N, key, None, None);
    for part in parts {
        hasher.update(part);
    }
    let mut out = [0u8; N];
    hasher.finalize_into(&mut out);
    out
}

/// The parameters [`GenericHash::new`] refuses, as libsodium would.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Blake2bParamsError {
    /// The digest must be 1 to 64 bytes.
    #[error("BLAKE2b digest size must be between 1 and 64 bytes, not {0}")]
    DigestSize(usize),
    /// The key must be at most 64 bytes (an empty key means unkeyed).
    #[error("BLAKE2b key must be at most 64 bytes, not {0}")]
    KeyTooLong(usize),
}

/// Incremental BLAKE2b with a runtime digest size, key, salt and personalisation: libsodium's
/// `crypto_generichash_blake2b_salt_personal`.
#[derive(Clone)]
pub struct GenericHash {
    core: Blake2bVarCore,
    buffer: Buffer<Blake2bVarCore>,
    out_len: usize,
}

impl std::fmt::Debug for GenericHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The state is derived from the key; never print it.
        f.debug_struct("GenericHash")
            .field("out_len", &self.out_len)
            .finish_non_exhaustive()
    }
}

impl GenericHash {
    /// Starts a hash with a `digest_size`-byte output. An empty `key` means unkeyed; salt and
    /// personalisation are 16 bytes each or absent (libsodium's fixed sizes).
    pub fn new(
        digest_size: usize,
        key: &[u8],
        salt: Option<&[u8; 16]>,
        persona: Option<&[u8; 16]>,
    ) -> Result<Self, Blake2bParamsError> {
        if !(1..=MAX_OUT).contains(&digest_size) {
            return Err(Blake2bParamsError::DigestSize(digest_size));
        }
        if key.len() > MAX_KEY {
            return Err(Blake2bParamsError::KeyTooLong(key.len()));
        }
        Ok(Self::from_checked_params(digest_size, key, salt, persona))
    }

    /// Builds the state; callers guarantee `1 <= out_len <= 64` and `key.len() <= 64`, which are
    /// the only conditions under which the core's own assertions could fire.
    fn from_checked_params(
        out_len: usize,
        key: &[u8],
        salt: Option<&[u8; 16]>,
        persona: Option<&[u8; 16]>,
    ) -> Self {
        let salt: &[u8] = salt.map_or(&[], |s| s);
        let persona: &[u8] = persona.map_or(&[], |p| p);
        let mut hasher = Self {
            core: Blake2bVarCore::new_with_params(salt, persona, key.len(), out_len),
            buffer: Buffer::<Blake2bVarCore>::default(),
            out_len,
        };
        if !key.is_empty() {
            // A keyed BLAKE2b hashes the key, zero-padded to a full block, before the data.
            let mut block = [0u8; BLOCK];
            block[..key.len()].copy_from_slice(key);
            hasher.update(&block);
        }
        hasher
    }

    /// Feeds more input.
    pub fn update(&mut self, data: &[u8]) {
        let Self { core, buffer, .. } = self;
        buffer.digest_blocks(data, |blocks| core.update_blocks(blocks));
    }

    /// Finishes the hash and returns the digest of the size chosen in [`GenericHash::new`].
    pub fn finalize(self) -> Vec<u8> {
        let mut out = vec![0u8; self.out_len];
        self.finalize_into(&mut out);
        out
    }

    /// Writes the digest into `out`, whose length must be the chosen digest size (extra bytes
    /// are left untouched, missing ones are not written).
    fn finalize_into(mut self, out: &mut [u8]) {
        let mut full = Default::default();
        let Self { core, buffer, .. } = &mut self;
        core.finalize_variable_core(buffer, &mut full);
        let n = self.out_len.min(out.len());
        out[..n].copy_from_slice(&full[..n]);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const SALT: &[u8; 16] = b"5b6b41ed9b343fe0";
    const PERSON: &[u8; 16] = b"5126fb2a37400d2a";

    /// test-vectors.md §5: row i hashes i data bytes to i+1 bytes with an (i+1)-byte key.
    const ROWS: [&str; 64] = [
        "ba",
        "6139",
        "3a1666",
        "5797e9d0",
        "834a26efe6",
        "d7e9e862bbce",
        "40d8b84c374750",
        "276789189244cf04",
        "16f73ffe0673cc9992",
        "b3835bfaf6eb71d94078",
        "8c624e844d34f4a59f34cc",
        "e0a394962413ad09975df3cf",
        "47f043c3aacb501f97e0458ae3",
        "b4a11f2fb72a7e6f96fdacf98d49",
        "f434079e9adeb244047cb6855f9854",
        "5fbe885c4b2d4e0d78dc5905622a277a",
        "e262ba3e2ab76efdf83513108e3b987d1b",
        "add93dde78d32e77bc039c34a49043f19d26",
        "093842ac10e2eb1237ddc9ca9e7990cf397772",
        "09e7f6a0e2ea4888f1dbf6562effd1561c65029c",
        "bd33a9ec914f5b81864a49184338e4062d6c6b2b2e",
        "8dc46295235d94f5881d429a5ad47f9db9e35cf8c6b3",
        "ba5df554dca7ac1cba4889fa88adf3070fbf4ab5d187b5",
        "1ff84715e71c66214d271d421395fb6166db97b1d47ed697",
        "75a0d227c70549f5b0c933b7b21f151355bd47e04b6085c91f",
        "a32a5c9439a0fa771dcbe7f338b5dcef62a754edc4952614d6f0",
        "53a87de519cdcc7f64730d58bce6baaf7b44c5c428a4611a208ad4",
        "5e5ad8f0c4f083f9b7a5154d9c0dfd0f3d2fce94cf54fc215450314a",
        "9c76b9e63c77e6564b1e5111c2fb140046e1e5a4f900a7cfc2bac3fcfa",
        "bb919251ca310eb9b994e5d7883bc9fa2144b59b8d5d940677b7130ac777",
        "faa492a66f08ef0c7adb868fcb7b523aedd35b8ff1414bd1d554794f144474",
        "9b273ebe335540b87be899abe169389ed61ed262c3a0a16e4998bbf752f0bee3",
        "1e0070b92429c151b33bdd1bb4430a0e650a3dfc94d404054e93c8568330ecc505",
        "e3b64149f1b76231686d592d1d4af984ce2826ba03c2224a92f95f9526130ce4eb40",
        "5f8e378120b73db9eefa65ddcdcdcb4acd8046c31a5e47f298caa400937d5623f1394b",
        "74c757a4165a1782c933e587353a9fd8f6d7bf26b7f51b52c542747030bfb3d560c2e5c2",
        "2d5ee85cc238b923806dd98db18919d1924f2340ec88917d4ce1799cbfd5f2cb9df99db2e1",
        "c93ff727e6f9822efec0a77eed0025c0eff19127bf8746b7c71c2a098f57cef02febb86a1e6c",
        "adfb6d7ba13779a5dd1bbf268e400f4156f0f5c9d5b670ff539e1d9c1a63373416f3001f338407",
        "3a6900e58a448887d77c5911e4bdde620e64f25b2d71723fa60f7cb3efa7c320b6153bdbc3287949",
        "413eb0fd379b32dd88e82242a87cc58ce3e64c72352387a4c70f92ee5c8d23fa7ecd86f6df170a32d2",
        "92d0d3cacc3e25628caf6f2c4cd50d25d154ac45098f531d690230b859f37cfe089eb169f76bba72a3ff",
        "92f6ccc11a9a3bee520b17e0cddc4550c0e9cf47ddd9a6161284259ffb161c1d0675b505cb1066872768e8",
        "a3cd675804e6be7f120138a9eaadcd56bb7763d1c046e87fe0d358c8276b0d24621f46c60b46e397933b75b4",
        "304a1af53cbdd6486b8419d1ebd5e9528c540d8dc46a10be49067f46a0617229577015d776783f702b2954df43",
        "d8a6358970446453ac0c82c758644ab68989b5b4f06f9768807ce0c5f2a0dbac1e8450f4e3a02deecf7b54b6a45d",
        "1264b8dee9ac4aa8de69a43ada95cc95f20230f33836d4a1db8c2466ab38361686e5ac282025ccc2e0f6a1cd98a4dd",
        "7eed787abaa7f4e8b8aa3090f0676201cfbaaf350899661cdd5216ac0b5cd874443f5c0688ffd7ca1ccbfe1ca7e1a3f5",
        "8907f0218585167962a8e8213559a643dd03c2bf1a7a5ad3e3bc5f88c0ff1532ee8cd29880e7e0e68da22a5798aef27cc5",
        "12dea17b0733e5060751b1115e10c3d4b2f4583bcd009d9f1f42ec23d4a6a0df1185d3abbdbe86de08569e70583d6de1c1fe",
        "8ff75e91f1de547dc3a25472db2f51f5910a290c449603da54207b5e39bd735d240ec913b52df90709b5d29357971d6c341452",
        "4a3b16b12400f38e74778efc3a4caa52ec6fdf6b0180a5bfac9189e52e162c10e8911a54ab33e2b389ee1949e58edaa119e2b2b9",
        "c9943e7186fdc9bbfa1d7087fa7086babe6fcf95a6196d1772187854071304e2f1fff39e6e6f48f76addb16d5c00249e0523aac91f",
        "0297f16fdd34add9cc87b4adf816525b590ba08ac733c43f8d225d194df4f9c83b4dce617be51e25b5f6c80dff249f27c707de20e422",
        "576bb891eab9930998e2e73b5d0498e3c5f040f8dec9397a8c7a622c17de01fee7cc936e3bd4de1f7fd8b31dea9e70c65462bbb5dc7b50",
        "9416a57ae7c8c51c6e008f940fe06d8ebc02c350c19a2f71583a6d260b085670d73a95248fef0f4cae5292ba7db1189a7cd9c51122ba7913",
        "ea644b9051cca5eee8868a553e3f0f4e14739e1555474151156e10578256b288a233870dd43a380765400ea446df7f452c1e03a9e5b6731256",
        "f99cc1603de221abc1ecb1a7eb4bbf06e99561d1cc5541d8d601bae2b1dd3cbe448ac276667f26de5e269183a09f7deaf35d33174b3cc8ad4aa2",
        "ee2be1ec57fdac23f89402a534177eca0f4b982a4ed2c2e900b6a79e1f47a2d023eff2e647baf4f4c0da3a28d08a44bc780516974074e2523e6651",
        "9cda001868949a2bad96c5b3950a8315e6e5214d0b54dcd596280565d351806ef22cf3053f63623da72fcad9afa3896641658632334c9ec4f644c984",
        "c6d6722a916651a8671383d8260873347d9c248696b4cb3dac4dea9ba57ed971127cb18e44211d7e14177ace248b3c6e0785356ee261ebdc6ef0faf143",
        "5dd258a3e7505bc6b9776b0df25676a1c19e2c8258c7b5f2e361423523d96299eb6827bc7c27e7bca2d2b59d717c2ebcb05e6dcaa32289d96fae9a4077ef",
        "19c14de35fe19c92cc0e624280e4136355d4cfa9a0a98b090c4b06f5665021920725852ff1f566b0c8c37157b25fb9f947a2e70b40577a17860a0732c170ac",
        "5fcdcc02be7714a0dbc77df498bf999ea9225d564adca1c121c9af03af92cac8177b9b4a86bcc47c79aa32aac58a3fef967b2132e9352d4613fe890beed2571b",
    ];

    fn counting(n: usize) -> Vec<u8> {
        (0..n).map(|i| i as u8).collect()
    }

    fn salted(
        out: usize,
        key: &[u8],
        salt: Option<&[u8; 16]>,
        person: Option<&[u8; 16]>,
        data: &[u8],
    ) -> String {
        let mut h = GenericHash::new(out, key, salt, person).unwrap();
        h.update(data);
        hex::encode(h.finalize())
    }

    #[test]
    fn keyed_salted_personalised_digests_match_libsodium_for_every_size() {
        let bytes = counting(64);
        for (i, expected) in ROWS.iter().enumerate() {
            let got = salted(
                i + 1,
                &bytes[..i + 1],
                Some(SALT),
                Some(PERSON),
                &bytes[..i],
            );
            assert_eq!(&got, expected, "row {i}");
        }
    }

    #[test]
    fn full_input_digests_match_libsodium_for_each_parameter_mix() {
        let data = counting(64);
        assert_eq!(
            salted(64, &[], Some(SALT), Some(PERSON), &data),
            "1afc8ec818bef0a479d2b4cac81d40a52cafa27f6d80c42fc23cbaf4141882ab59ab1101922fcb6e707ef2f61efd07cce5d09094e6bee420b1b96998c7cee96d"
        );
        assert_eq!(
            salted(64, &data, None, Some(PERSON), &data),
            "5789f474edd5206ededaccfc35e7dd3ed730748125b5395abf802b2601126b19b109a1db67556945bc79bb25e1ab59610599d155070e0e04354f11a6a5d6f3ac"
        );
        assert_eq!(
            salted(64, &data, Some(SALT), None, &data),
            "e78efc663a5547c089f2b3b08973c974c4bfd365eac18b80c68bdb3b1ba4554b54d6b8465a68a3b9aa0bc020621f16efd5b8dd8c7c01ed9ee3ec5544aae465ff"
        );
        assert_eq!(
            salted(64, &data, Some(SALT), Some(PERSON), &data),
            "fb4e2ad6b7fe6afd2ba06d5c1d79379c5bf10e336a35c89a1aaf408a805171716e0635a5b1d18190131e15b6888510bcb3e3752b050f892a09dbbde60b051495"
        );
    }

    #[test]
    fn feeding_data_in_chunks_gives_the_same_digest_as_one_call() {
        let data = counting(64);
        let whole = salted(64, &data, Some(SALT), Some(PERSON), &data);
        for chunk in [1, 7, 8] {
            let mut h = GenericHash::new(64, &data, Some(SALT), Some(PERSON)).unwrap();
            for piece in data.chunks(chunk) {
                h.update(piece);
            }
            assert_eq!(hex::encode(h.finalize()), whole, "chunk size {chunk}");
        }
    }

    #[test]
    fn unkeyed_helpers_agree_with_the_generic_hash() {
        let data = b"{\"a\":1}";
        let mut g64 = GenericHash::new(64, &[], None, None).unwrap();
        g64.update(data);
        assert_eq!(g64.finalize(), h64(&[data]).to_vec());
        let mut g32 = GenericHash::new(32, &[], None, None).unwrap();
        g32.update(data);
        assert_eq!(g32.finalize(), h32(&[b"{\"a\"", b":1}"]).to_vec());
        // test-vectors.md §2b
        assert_eq!(
            hex::encode(h64(&[data])),
            "f5bfc4e425382a0c72d618c6ab1132cb4ea3ddb54e0109cffb1b917c7a06b6b1396adfd7d88f921ce08643538c57ca532fcace89d0175f333a1f5ab016c72949"
        );
    }

    #[test]
    fn keyed_hash_matches_the_generic_hash_with_the_same_key() {
        let key = b"SessCommBlind25_sig";
        let mut g = GenericHash::new(64, key, None, None).unwrap();
        g.update(b"abc");
        assert_eq!(
            g.finalize(),
            keyed_hash::<64, 19>(key, &[b"a", b"bc"]).to_vec()
        );
    }

    #[test]
    fn out_of_range_digest_sizes_and_long_keys_are_refused() {
        assert_eq!(
            GenericHash::new(0, &[], None, None).err(),
            Some(Blake2bParamsError::DigestSize(0))
        );
        assert_eq!(
            GenericHash::new(65, &[], None, None).err(),
            Some(Blake2bParamsError::DigestSize(65))
        );
        assert_eq!(
            GenericHash::new(32, &[0u8; 65], None, None).err(),
            Some(Blake2bParamsError::KeyTooLong(65))
        );
    }
}
