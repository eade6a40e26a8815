//! The last onion layer (spec §3): the outer frame a Session client sends to
//! `/oxen/v4/lsrpc` (and v3), its key exchange, and the two AEADs.
//!
//! Frame: `u32le N || N bytes of ciphertext || JSON metadata`, where the metadata names the
//! client's ephemeral X25519 key and the cipher. Both sides derive one symmetric [`OnionKey`]
//! from the X25519 shared secret; the reply uses the same key with a fresh nonce. The client
//! half is here too so our tests, load generator and admin probe speak the same protocol.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit};
use chacha20poly1305::XChaCha20Poly1305;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use x25519_dalek::{PublicKey as X25519PublicKey, StaticSecret};

use super::hashing::h32;
use super::keys::{ServerKey, ServerPublicKey};

const GCM_IV_LEN: usize = 12;
const XCHACHA_NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Why an onion request could not be opened. The HTTP layer answers all of them with 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OnionError {
    /// Shorter than its 4-byte length prefix says.
    #[error("onion request is shorter than its length prefix")]
    Truncated,
    /// The metadata after the ciphertext is not a JSON object with a string `ephemeral_key`.
    #[error("onion request metadata is not valid JSON")]
    BadMetadata,
    /// `ephemeral_key` is not 64 hex digits.
    #[error("onion request ephemeral_key must be 64 hex digits")]
    BadEphemeralKey,
    /// `enc_type` names no cipher we know.
    #[error("onion request enc_type is not supported")]
    UnknownEncType,
    /// The X25519 result is all zeros (a small-order ephemeral key).
    #[error("onion request key exchange failed")]
    KeyExchange,
    /// Too short to hold a nonce and a tag.
    #[error("onion ciphertext is too short")]
    CiphertextTooShort,
    /// Authentication failed: wrong key, or tampered data.
    #[error("onion request decryption failed")]
    DecryptionFailed,
    /// A fixed nonce of the wrong length was supplied (tests only).
    #[error("nonce has the wrong length for the cipher")]
    NonceLength,
}

/// The two ciphers onion requests use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncType {
    /// AES-256-GCM with `HMAC-SHA256(key = "LOKI", shared)`; the default when unnamed.
    Aes256Gcm,
    /// XChaCha20-Poly1305 with `BLAKE2b-256(shared || client_pub || server_pub)`.
    XChaCha20Poly1305,
}

impl EncType {
    /// Reads an `enc_type` value, accepting every alias clients send.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "aes-gcm" | "gcm" => Some(Self::Aes256Gcm),
            "xchacha20" | "xchacha20-poly1305" => Some(Self::XChaCha20Poly1305),
            _ => None,
        }
    }

    /// The canonical `enc_type` name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Aes256Gcm => "aes-gcm",
            Self::XChaCha20Poly1305 => "xchacha20",
        }
    }

    const fn nonce_len(self) -> usize {
        match self {
            Self::Aes256Gcm => GCM_IV_LEN,
            Self::XChaCha20Poly1305 => XCHACHA_NONCE_LEN,
        }
    }

    /// How many bytes sealing adds to a plaintext: the nonce and the tag.
    pub const fn overhead(self) -> usize {
        self.nonce_len() + TAG_LEN
    }
}

/// A parsed outer frame; the ciphertext borrows from the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnionFrame<'a> {
    /// `nonce || ciphertext || tag`.
    pub ciphertext: &'a [u8],
    /// The client's ephemeral X25519 public key.
    pub ephemeral_key: [u8; 32],
    /// The cipher as named in the metadata; `None` when absent (meaning AES-GCM).
    pub enc_type: Option<EncType>,
}

#[derive(serde::Deserialize)]
struct Metadata<'a> {
    #[serde(borrow)]
    ephemeral_key: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    enc_type: Option<std::borrow::Cow<'a, str>>,
}

impl<'a> OnionFrame<'a> {
    /// Splits and checks an outer frame. Unknown metadata fields (host, port, …) are ignored.
    pub fn parse(body: &'a [u8]) -> Result<Self, OnionError> {
        let (prefix, rest) = body.split_first_chunk::<4>().ok_or(OnionError::Truncated)?;
        let len =
            usize::try_from(u32::from_le_bytes(*prefix)).map_err(|_| OnionError::Truncated)?;
        if len > rest.len() {
            return Err(OnionError::Truncated);
        }
        let (ciphertext, metadata) = rest.split_at(len);
        let metadata: Metadata<'_> =
            serde_json::from_slice(metadata).map_err(|_| OnionError::BadMetadata)?;
        let mut ephemeral_key = [0u8; 32];
        hex::decode_to_slice(metadata.ephemeral_key.as_bytes(), &mut ephemeral_key)
            .map_err(|_| OnionError::BadEphemeralKey)?;
        let enc_type = metadata
            .enc_type
            .map(|name| EncType::from_name(&name).ok_or(OnionError::UnknownEncType))
            .transpose()?;
        Ok(Self {
            ciphertext,
            ephemeral_key,
            enc_type,
        })
    }

    /// The cipher to use: the named one, or AES-GCM.
    pub fn effective_enc_type(&self) -> EncType {
        self.enc_type.unwrap_or(EncType::Aes256Gcm)
    }

    /// The wire bytes, with compact metadata `{"ephemeral_key":…[,"enc_type":…]}`.
    pub fn encode(&self) -> Vec<u8> {
        let mut metadata = format!(
            "{{\"ephemeral_key\":\"{}\"",
            hex::encode(self.ephemeral_key)
        );
        if let Some(enc) = self.enc_type {
            metadata.push_str(&format!(",\"enc_type\":\"{}\"", enc.name()));
        }
        metadata.push('}');
        // Ciphertexts come from our own sealing, far below 4 GiB; saturate rather than wrap.
        let len = u32::try_from(self.ciphertext.len()).unwrap_or(u32::MAX);
        let mut out = Vec::with_capacity(4 + self.ciphertext.len() + metadata.len());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(self.ciphertext);
        out.extend_from_slice(metadata.as_bytes());
        out
    }
}

/// The symmetric key of one onion exchange, used for the request and its reply alike.
#[derive(Clone)]
pub struct OnionKey {
    key: [u8; 32],
    enc_type: EncType,
}

impl std::fmt::Debug for OnionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnionKey")
            .field("enc_type", &self.enc_type)
            .finish_non_exhaustive()
    }
}

impl OnionKey {
    /// Derives the key from a shared secret and both public keys (client first).
    pub fn derive(
        shared: &[u8; 32],
        client_pub: &[u8; 32],
        server_pub: &ServerPublicKey,
        enc_type: EncType,
    ) -> Self {
        let key = match enc_type {
            EncType::XChaCha20Poly1305 => h32(&[shared, client_pub, server_pub.as_bytes()]),
            EncType::Aes256Gcm => {
                // HMAC zero-pads a short key to the block size, so the padded "LOKI" block is
                // the same key, and this constructor cannot fail.
                let mut block = [0u8; 64];
                block[..4].copy_from_slice(b"LOKI");
                let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new(&block.into());
                mac.update(shared);
                mac.finalize().into_bytes().into()
            }
        };
        Self { key, enc_type }
    }

    /// The server's side: X25519 of its key with the client's ephemeral key.
    pub fn for_server(
        server: &ServerKey,
        client_pub: &[u8; 32],
        enc_type: EncType,
    ) -> Result<Self, OnionError> {
        let shared = server
            .shared_secret(client_pub)
            .ok_or(OnionError::KeyExchange)?;
        Ok(Self::derive(
            &shared,
            client_pub,
            &server.public_key(),
            enc_type,
        ))
    }

    /// The client's side: X25519 of its ephemeral secret with the server's public key.
    pub fn for_client(
        ephemeral_secret: &[u8; 32],
        server_pub: &ServerPublicKey,
        enc_type: EncType,
    ) -> Result<Self, OnionError> {
        let secret = StaticSecret::from(*ephemeral_secret);
        let client_pub = X25519PublicKey::from(&secret).to_bytes();
        let shared = secret.diffie_hellman(&X25519PublicKey::from(*server_pub.as_bytes()));
        if !shared.was_contributory() {
            return Err(OnionError::KeyExchange);
        }
        Ok(Self::derive(
            shared.as_bytes(),
            &client_pub,
            server_pub,
            enc_type,
        ))
    }

    /// Which cipher this key is for.
    pub fn enc_type(&self) -> EncType {
        self.enc_type
    }

    /// The raw key (for checking derivations against vectors).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.key
    }

    /// Encrypts with a fresh random nonce: `nonce || ciphertext || tag`.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; XCHACHA_NONCE_LEN];
        let nonce = &mut nonce[..self.enc_type.nonce_len()];
        rand::fill(nonce);
        self.seal_parts(nonce, plaintext)
    }

    /// Encrypts with the given nonce (12 bytes for GCM, 24 for XChaCha). Reusing a nonce with
    /// the same key breaks both ciphers; this exists for reproducible test vectors.
    pub fn seal_with_nonce(&self, nonce: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, OnionError> {
        if nonce.len() != self.enc_type.nonce_len() {
            return Err(OnionError::NonceLength);
        }
        Ok(self.seal_parts(nonce, plaintext))
    }

    /// `nonce` has the cipher's length (checked by both callers).
    fn seal_parts(&self, nonce: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(nonce.len() + plaintext.len() + TAG_LEN);
        out.extend_from_slice(nonce);
        let sealed =
            match self.enc_type {
                EncType::Aes256Gcm => <[u8; GCM_IV_LEN]>::try_from(nonce).ok().and_then(|iv| {
                    Aes256Gcm::new(&self.key.into())
                        .encrypt(&iv.into(), plaintext)
                        .ok()
                }),
                EncType::XChaCha20Poly1305 => <[u8; XCHACHA_NONCE_LEN]>::try_from(nonce)
                    .ok()
                    .and_then(|n| {
                        XChaCha20Poly1305::new(&self.key.into())
                            .encrypt(&n.into(), plaintext)
                            .ok()
                    }),
            };
        // Encryption only fails for plaintexts beyond the ciphers' limits (~64 GiB), which an
        // HTTP body cannot reach; an empty sealed box then fails to open on the other side.
        out.extend_from_slice(&sealed.unwrap_or_default());
        out
    }

    /// Decrypts `nonce || ciphertext || tag`.
    pub fn open(&self, data: &[u8]) -> Result<Vec<u8>, OnionError> {
        let nonce_len = self.enc_type.nonce_len();
        if data.len() < nonce_len + TAG_LEN {
            return Err(OnionError::CiphertextTooShort);
        }
        let (nonce, ciphertext) = data.split_at(nonce_len);
        let opened =
            match self.enc_type {
                EncType::Aes256Gcm => <[u8; GCM_IV_LEN]>::try_from(nonce).ok().and_then(|iv| {
                    Aes256Gcm::new(&self.key.into())
                        .decrypt(&iv.into(), ciphertext)
                        .ok()
                }),
                EncType::XChaCha20Poly1305 => <[u8; XCHACHA_NONCE_LEN]>::try_from(nonce)
                    .ok()
                    .and_then(|n| {
                        XChaCha20Poly1305::new(&self.key.into())
                            .decrypt(&n.into(), ciphertext)
                            .ok()
                    }),
            };
        opened.ok_or(OnionError::DecryptionFailed)
    }
}

/// Server: parses an onion request body and decrypts it. Returns the plaintext (bencoded for
/// v4, JSON for v3) and the key to seal the reply with.
pub fn open_request(server: &ServerKey, body: &[u8]) -> Result<(Vec<u8>, OnionKey), OnionError> {
    let frame = OnionFrame::parse(body)?;
    let key = OnionKey::for_server(server, &frame.ephemeral_key, frame.effective_enc_type())?;
    let plaintext = key.open(frame.ciphertext)?;
    Ok((plaintext, key))
}

/// Client: an encrypted request body for `server_pub`, with a fresh ephemeral key and nonce,
/// and the key that will open the reply.
pub fn seal_request(
    server_pub: &ServerPublicKey,
    enc_type: EncType,
    plaintext: &[u8],
) -> Result<(Vec<u8>, OnionKey), OnionError> {
    let mut ephemeral = [0u8; 32];
    rand::fill(&mut ephemeral);
    let key = OnionKey::for_client(&ephemeral, server_pub, enc_type)?;
    let ciphertext = key.seal(plaintext);
    let frame = OnionFrame {
        ciphertext: &ciphertext,
        ephemeral_key: X25519PublicKey::from(&StaticSecret::from(ephemeral)).to_bytes(),
        enc_type: Some(enc_type),
    };
    Ok((frame.encode(), key))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn bytes32(s: &str) -> [u8; 32] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    fn x25519_pub(secret: &str) -> [u8; 32] {
        X25519PublicKey::from(&StaticSecret::from(bytes32(secret))).to_bytes()
    }

    // test-vectors.md §3b
    const B_CLIENT: &str = "ccc335912da8939e2b44816728a5a4773063efa82bf7ae2d42a0abfa2caa452d";
    const B_SERVER: &str = "8fcd8ad3a15c76f76f1c56dff0c529999f8c59b4acda79e05666e54d5727dca1";
    const B_GCM: &str =
        "1eb6ae1cd72f60999486365749bd5dc15cc0b6a2a44d7d063daa5e93722f0c025fd00306403b61";
    const B_XCHACHA: &str = "9e1a3abe60eff3ea5c23556cc7e225b6f94355315f7281f66ecf4dbb06e7899a52b863e03cde3b287d1638d765db75de02b032";

    // test-vectors.md §3c and §3d
    const C_CLIENT: &str = "d2ee09e1a557a077d385fcb69a11ffb6909ecdcc8348def3e0e4172c8a1431c1";
    const C_SERVER: &str = "2f4d1c0d28e137777ec0a316e9f4f763e3e66662a6c51994c6315c9ef34b6deb";
    const C_GCM_FRAME: &str = concat!(
        "270000009525d587d188c92a966eef0e7162bef99a6171a124575b998072a8ee7eb265e0b6f0930ed96504",
        "7b22656e635f74797065223a20226165732d67636d222c2022657068656d6572616c5f6b6579223a202238",
        "31363765393736373230303563363639613438383538633639383935663339356361323335323139616333",
        "6637613432313030323262316639313065363532227d"
    );
    const C_XCHACHA_FRAME: &str = concat!(
        "33000000e440bc244ddcafd947b86fc5a964aa58de54a6d75cc0f0f3840db14b6c1176a8e2e0a04d5fbdf9",
        "8f23adee1edc8362ab99b10b7b22656e635f74797065223a2022786368616368613230222c202265706865",
        "6d6572616c5f6b6579223a2022383136376539373637323030356336363961343838353863363938393566",
        "33393563613233353231396163336637613432313030323262316639313065363532227d"
    );

    #[test]
    fn the_pysogs_ephemeral_key_has_the_asserted_public_key() {
        // test-vectors.md §3a
        assert_eq!(
            hex::encode(x25519_pub(
                "ec32fb5766cf52b1b5d7b0bff08e29f5c0c58ca19beaf6a5c7d3dd8ac7ced963"
            )),
            "d79a50b82ba8ca665f854382b42ba159efd16eef87409e97a8d07395b9492928"
        );
    }

    fn libsession_server_key(enc: EncType) -> OnionKey {
        let server = ServerKey::from_bytes(bytes32(B_SERVER));
        assert_eq!(
            server.public_key().to_hex(),
            "caea52c5b0c316d85ffb53ea536826618b13dee40685f166f632653114526a78"
        );
        let client_pub = x25519_pub(B_CLIENT);
        assert_eq!(
            hex::encode(client_pub),
            "bbdfc83022d0aff084a6f0c529a93d1c4d728bf7e41199afed0e01ae70d20540"
        );
        OnionKey::for_server(&server, &client_pub, enc).unwrap()
    }

    #[test]
    fn libsession_ciphertexts_decrypt_to_hello_world() {
        let gcm = libsession_server_key(EncType::Aes256Gcm);
        assert_eq!(
            gcm.open(&hex::decode(B_GCM).unwrap()).unwrap(),
            b"Hello world"
        );
        let xchacha = libsession_server_key(EncType::XChaCha20Poly1305);
        assert_eq!(
            xchacha.open(&hex::decode(B_XCHACHA).unwrap()).unwrap(),
            b"Hello world"
        );
    }

    #[test]
    fn tampered_libsession_ciphertexts_fail_to_decrypt() {
        let gcm = libsession_server_key(EncType::Aes256Gcm);
        for bad in [
            "1eb6ae1cd72f60999486365759bd5dc15cc0b6a2a44d7d063daa5e93722f0c025fd00306403b61",
            "1eb6ae1cd72f60999486365749bd5dc15cc0b6a2a44d7d063daa5e93722f0c025fd00306403b69",
        ] {
            assert_eq!(
                gcm.open(&hex::decode(bad).unwrap()),
                Err(OnionError::DecryptionFailed)
            );
        }
        let xchacha = libsession_server_key(EncType::XChaCha20Poly1305);
        for bad in [
            "9e1a3abe60eff3ea5c23556cc7e225b6f94355315f7281f66ecf4dbb06e7899a52b863e03cde3b287d1638d765db75de02b033",
            "9e1a3abe60eff3ea5c23556ccfe225b6f94355315f7281f66ecf4dbb06e7899a52b863e03cde3b287d1638d765db75de02b032",
        ] {
            assert_eq!(
                xchacha.open(&hex::decode(bad).unwrap()),
                Err(OnionError::DecryptionFailed)
            );
        }
    }

    #[test]
    fn the_client_side_derives_the_same_key_as_the_server() {
        let server_pub = ServerKey::from_bytes(bytes32(B_SERVER)).public_key();
        for enc in [EncType::Aes256Gcm, EncType::XChaCha20Poly1305] {
            let client = OnionKey::for_client(&bytes32(B_CLIENT), &server_pub, enc).unwrap();
            assert_eq!(client.as_bytes(), libsession_server_key(enc).as_bytes());
        }
    }

    fn parser_server() -> ServerKey {
        let server = ServerKey::from_bytes(bytes32(C_SERVER));
        assert_eq!(
            server.public_key().to_hex(),
            "8388de69bc0d4b6196133233ad9a46ba0473474bc67718aad96a3a33c257f726"
        );
        server
    }

    #[test]
    fn libsession_frames_parse_and_decrypt() {
        let server = parser_server();
        for (frame_hex, enc) in [
            (C_GCM_FRAME, EncType::Aes256Gcm),
            (C_XCHACHA_FRAME, EncType::XChaCha20Poly1305),
        ] {
            let body = hex::decode(frame_hex).unwrap();
            let frame = OnionFrame::parse(&body).unwrap();
            assert_eq!(frame.enc_type, Some(enc));
            assert_eq!(
                hex::encode(frame.ephemeral_key),
                "8167e97672005c669a48858c69895f395ca235219ac3f7a4210022b1f910e652"
            );
            let (plaintext, key) = open_request(&server, &body).unwrap();
            assert_eq!(plaintext, b"Hello world");
            assert_eq!(key.enc_type(), enc);
        }
    }

    #[test]
    fn the_derived_keys_match_the_vector_values() {
        let server = parser_server();
        let client_pub = x25519_pub(C_CLIENT);
        assert_eq!(
            hex::encode(server.shared_secret(&client_pub).unwrap()),
            "58453d4abd4d9751f0bdceed3333c029c61ca036d5878dd9b0305fdf737c3a2c"
        );
        let gcm = OnionKey::for_server(&server, &client_pub, EncType::Aes256Gcm).unwrap();
        assert_eq!(
            hex::encode(gcm.as_bytes()),
            "6215038efa8c2735db1aa5a086f75b51e972b8bdcf6926480bdec488cd4db99d"
        );
        let xchacha =
            OnionKey::for_server(&server, &client_pub, EncType::XChaCha20Poly1305).unwrap();
        assert_eq!(
            hex::encode(xchacha.as_bytes()),
            "539091d458c3ba5ec79e5d2784452698e7c5f44138cdfeafca72e19c322e8fe5"
        );
    }

    #[test]
    fn replies_have_the_expected_sizes_and_open_on_the_client() {
        let server = parser_server();
        let server_pub = server.public_key();
        for (frame_hex, expected_len) in [(C_GCM_FRAME, 41), (C_XCHACHA_FRAME, 53)] {
            let (_, key) = open_request(&server, &hex::decode(frame_hex).unwrap()).unwrap();
            let reply = key.seal(b"Goodbye world");
            assert_eq!(reply.len(), expected_len);
            assert_eq!(reply.len(), 13 + key.enc_type().overhead());
            let client =
                OnionKey::for_client(&bytes32(C_CLIENT), &server_pub, key.enc_type()).unwrap();
            assert_eq!(client.open(&reply).unwrap(), b"Goodbye world");
            // Fresh nonces: two replies to the same plaintext differ.
            assert_ne!(key.seal(b"Goodbye world"), reply);
        }
    }

    const D_XCHACHA_BODY: &str = "65000000000102030405060708090a0b0c0d0e0f1011121314151617e3e37762b01da245d2a8434e3f47b969778c78bc469fc43b1d6474302187ec42d0ce4a6ce148783728eb888a128d91a2a8885aeaf3626708642c50d9f50831875cea52fca8810fbaa8c9fc5b107b22657068656d6572616c5f6b6579223a2238313637653937363732303035633636396134383835386336393839356633393563613233353231396163336637613432313030323262316639313065363532222c22656e635f74797065223a22786368616368613230227d";
    const D_GCM_BODY: &str = "59000000000102030405060708090a0b37eefc2259a2d596a02cfd1004afb9a39ef0dd786a6677f7b6d157ec58faab627b9d0102975cd1221176929338513c81374e6622358d6aaca345845cd3aa8cecfe2126926f58010841173cf9027b22657068656d6572616c5f6b6579223a2238313637653937363732303035633636396134383835386336393839356633393563613233353231396163336637613432313030323262316639313065363532227d";
    const D_INNER: &[u8] = br#"l56:{"method":"GET","endpoint":"/capabilities","headers":{}}e"#;

    #[test]
    fn fixed_nonce_v4_frames_are_reproduced_byte_for_byte() {
        let server_pub = parser_server().public_key();
        let client_secret = bytes32(C_CLIENT);
        let nonce: Vec<u8> = (0u8..24).collect();
        for (enc, stated, nonce, expected) in [
            (
                EncType::XChaCha20Poly1305,
                Some(EncType::XChaCha20Poly1305),
                &nonce[..],
                D_XCHACHA_BODY,
            ),
            (EncType::Aes256Gcm, None, &nonce[..12], D_GCM_BODY),
        ] {
            let key = OnionKey::for_client(&client_secret, &server_pub, enc).unwrap();
            let ciphertext = key.seal_with_nonce(nonce, D_INNER).unwrap();
            let frame = OnionFrame {
                ciphertext: &ciphertext,
                ephemeral_key: x25519_pub(C_CLIENT),
                enc_type: stated,
            };
            assert_eq!(hex::encode(frame.encode()), expected);
        }
    }

    #[test]
    fn fixed_nonce_v4_frames_open_on_the_server_with_aes_gcm_as_default() {
        let server = parser_server();
        for (body, enc) in [
            (D_XCHACHA_BODY, EncType::XChaCha20Poly1305),
            (D_GCM_BODY, EncType::Aes256Gcm),
        ] {
            let (plaintext, key) = open_request(&server, &hex::decode(body).unwrap()).unwrap();
            assert_eq!(plaintext, D_INNER);
            assert_eq!(key.enc_type(), enc);
        }
    }

    #[test]
    fn the_fixed_nonce_reply_is_reproduced_and_opens_on_the_client() {
        let server = parser_server();
        let (_, key) = open_request(&server, &hex::decode(D_XCHACHA_BODY).unwrap()).unwrap();
        let reply_plain = concat!(
            r#"l62:{"code": 200, "headers": {"content-type": "application/json"}}"#,
            r#"48:{"capabilities": ["blind", "reactions", "sogs"]}e"#
        );
        let nonce: Vec<u8> = (0x64u8..0x7c).collect();
        let reply = key.seal_with_nonce(&nonce, reply_plain.as_bytes()).unwrap();
        assert_eq!(
            hex::encode(&reply),
            "6465666768696a6b6c6d6e6f707172737475767778797a7b4e0a7ec6bb24cd7f53b751594ac2bb1d2d5a552911b955a8d996b0a5628f60b4406606166eb7d703af6d952a72fa039e1291fd24e01d61227c9d1b96e4a3c75b1e6567e67977011065ad107b710d2b5de20fa2772490f36015709004ccea93ec8db43ab284cdfb2c84f04d3b239e2fe25383ff424fe2665af5791a08d2f20690f3f4764373dd"
        );
        let client = OnionKey::for_client(
            &bytes32(C_CLIENT),
            &server.public_key(),
            EncType::XChaCha20Poly1305,
        )
        .unwrap();
        assert_eq!(client.open(&reply).unwrap(), reply_plain.as_bytes());
    }

    #[test]
    fn a_sealed_request_round_trips_through_the_server() {
        let server = ServerKey::generate();
        for enc in [EncType::Aes256Gcm, EncType::XChaCha20Poly1305] {
            let (body, client_key) = seal_request(&server.public_key(), enc, b"ping").unwrap();
            let (plaintext, server_key) = open_request(&server, &body).unwrap();
            assert_eq!(plaintext, b"ping");
            let reply = server_key.seal(b"pong");
            assert_eq!(client_key.open(&reply).unwrap(), b"pong");
        }
    }

    #[test]
    fn enc_type_aliases_are_understood_and_unknown_names_refused() {
        assert_eq!(EncType::from_name("gcm"), Some(EncType::Aes256Gcm));
        assert_eq!(EncType::from_name("aes-gcm"), Some(EncType::Aes256Gcm));
        assert_eq!(
            EncType::from_name("xchacha20-poly1305"),
            Some(EncType::XChaCha20Poly1305)
        );
        assert_eq!(
            EncType::from_name("xchacha20"),
            Some(EncType::XChaCha20Poly1305)
        );
        assert_eq!(EncType::from_name("rot13"), None);
    }

    fn frame_with_metadata(ciphertext: &[u8], metadata: &str) -> Vec<u8> {
        let mut out = (ciphertext.len() as u32).to_le_bytes().to_vec();
        out.extend_from_slice(ciphertext);
        out.extend_from_slice(metadata.as_bytes());
        out
    }

    const GOOD_KEY: &str = "8167e97672005c669a48858c69895f395ca235219ac3f7a4210022b1f910e652";

    #[test]
    fn truncated_frames_are_refused() {
        assert_eq!(OnionFrame::parse(b""), Err(OnionError::Truncated));
        assert_eq!(
            OnionFrame::parse(b"\x01\x00\x00"),
            Err(OnionError::Truncated)
        );
        assert_eq!(
            OnionFrame::parse(b"\x05\x00\x00\x00abcd"),
            Err(OnionError::Truncated)
        );
        assert_eq!(
            OnionFrame::parse(b"\xff\xff\xff\xff{}"),
            Err(OnionError::Truncated)
        );
        let full = hex::decode(C_GCM_FRAME).unwrap();
        for cut in [1, 10, 43, full.len() - 1] {
            assert!(OnionFrame::parse(&full[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn bad_metadata_is_refused() {
        for metadata in [
            "",
            "not json",
            "[]",
            "\"ephemeral_key\"",
            "{}",
            r#"{"ephemeral_key": 5}"#,
            r#"{"ephemeral_key": null}"#,
            r#"{"ephemeral_key": "ab"} trailing"#,
        ] {
            assert_eq!(
                OnionFrame::parse(&frame_with_metadata(b"x", metadata)),
                Err(OnionError::BadMetadata),
                "{metadata}"
            );
        }
        for key in [
            "ab",
            &GOOD_KEY[..63],
            &format!("{GOOD_KEY}00"),
            &GOOD_KEY.replace('8', "g"),
        ] {
            let metadata = format!(r#"{{"ephemeral_key": "{key}"}}"#);
            assert_eq!(
                OnionFrame::parse(&frame_with_metadata(b"x", &metadata)),
                Err(OnionError::BadEphemeralKey)
            );
        }
        let metadata = format!(r#"{{"ephemeral_key": "{GOOD_KEY}", "enc_type": "rot13"}}"#);
        assert_eq!(
            OnionFrame::parse(&frame_with_metadata(b"x", &metadata)),
            Err(OnionError::UnknownEncType)
        );
    }

    #[test]
    fn extra_metadata_fields_and_a_null_enc_type_are_accepted() {
        let metadata = format!(
            r#"{{"host": "h", "port": 443, "protocol": "https", "target": "/oxen/v4/lsrpc", "ephemeral_key": "{GOOD_KEY}", "enc_type": null}}"#
        );
        let body = frame_with_metadata(b"x", &metadata);
        let frame = OnionFrame::parse(&body).unwrap();
        assert_eq!(frame.enc_type, None);
        assert_eq!(frame.effective_enc_type(), EncType::Aes256Gcm);
        assert_eq!(frame.ciphertext, b"x");
    }

    #[test]
    fn short_ciphertexts_are_refused_before_decrypting() {
        let server = parser_server();
        for enc in ["aes-gcm", "xchacha20"] {
            let metadata = format!(r#"{{"ephemeral_key": "{GOOD_KEY}", "enc_type": "{enc}"}}"#);
            assert_eq!(
                open_request(&server, &frame_with_metadata(b"", &metadata)).unwrap_err(),
                OnionError::CiphertextTooShort
            );
            assert_eq!(
                open_request(&server, &frame_with_metadata(&[0u8; 39], &metadata)).unwrap_err(),
                if enc == "aes-gcm" {
                    OnionError::DecryptionFailed
                } else {
                    OnionError::CiphertextTooShort
                }
            );
        }
    }

    #[test]
    fn a_small_order_ephemeral_key_is_refused() {
        let server = parser_server();
        let metadata = format!(r#"{{"ephemeral_key": "{}"}}"#, "00".repeat(32));
        assert_eq!(
            open_request(&server, &frame_with_metadata(&[0u8; 40], &metadata)).unwrap_err(),
            OnionError::KeyExchange
        );
    }

    #[test]
    fn a_wrong_length_fixed_nonce_is_refused() {
        let key = OnionKey::derive(
            &[1u8; 32],
            &[2u8; 32],
            &ServerPublicKey::from_bytes([3u8; 32]),
            EncType::Aes256Gcm,
        );
        assert_eq!(
            key.seal_with_nonce(&[0u8; 24], b"x"),
            Err(OnionError::NonceLength)
        );
        assert!(!format!("{key:?}").contains("01"));
    }
}
