//! Hash bans: does a file or a text match something a moderator banned?
//!
//! A ban holds fingerprints only. A file matches a file ban by identical bytes (SHA-256) or,
//! for pictures, by a perceptual hash within a Hamming distance (a re-encoded or resized
//! copy); a text matches a text ban when their MinHash signatures are similar (the same
//! message in other fancy letters, emoji or spacing).

use crate::domain::fingerprint::distance;
use crate::domain::similarity::{HASHES, Signature};

/// The fingerprints of one ban, as the matcher needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BannedPrint {
    File {
        sha256: Option<[u8; 32]>,
        image: Option<u64>,
    },
    Text(Signature),
}

/// Whether a file with these fingerprints matches `ban`.
pub fn file_matches(
    ban: &BannedPrint,
    sha256: &[u8; 32],
    image: Option<u64>,
    max_distance: u32,
) -> bool {
    match ban {
        BannedPrint::File {
            sha256: banned_sha,
            image: banned_image,
        } => {
            banned_sha.as_ref() == Some(sha256)
                || matches!((banned_image, image), (Some(a), Some(b)) if distance(*a, b) <= max_distance)
        }
        BannedPrint::Text(_) => false,
    }
}

/// Whether a text with this signature matches `ban`.
pub fn text_matches(ban: &BannedPrint, signature: &Signature, threshold: f64) -> bool {
    match ban {
        BannedPrint::Text(banned) => banned.similarity(signature) >= threshold,
        BannedPrint::File { .. } => false,
    }
}

/// A signature as stored: its words, little-endian.
pub fn signature_bytes(signature: &Signature) -> Vec<u8> {
    signature.0.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// A stored signature; `None` when the bytes are not one.
pub fn signature_from_bytes(bytes: &[u8]) -> Option<Signature> {
    if bytes.len() != HASHES * 4 {
        return None;
    }
    let mut words = [0u32; HASHES];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(4)) {
        *word = u32::from_le_bytes(chunk.try_into().ok()?);
    }
    Some(Signature(words))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::normalise::{compact, normalise};

    fn sig(text: &str) -> Signature {
        Signature::of(&compact(&normalise(text))).unwrap_or(Signature([0; HASHES]))
    }

    #[test]
    fn identical_bytes_match_a_file_ban() {
        let ban = BannedPrint::File {
            sha256: Some([1; 32]),
            image: None,
        };
        assert!(file_matches(&ban, &[1; 32], None, 6));
        assert!(!file_matches(&ban, &[2; 32], Some(5), 6));
    }

    #[test]
    fn a_near_identical_picture_matches_a_file_ban_and_a_different_one_does_not() {
        let ban = BannedPrint::File {
            sha256: Some([1; 32]),
            image: Some(0xFFFF_0000_FFFF_0000),
        };
        assert!(file_matches(&ban, &[9; 32], Some(0xFFFF_0000_FFFF_0007), 6));
        assert!(!file_matches(
            &ban,
            &[9; 32],
            Some(0x0000_FFFF_0000_FFFF),
            6
        ));
        assert!(!file_matches(&ban, &[9; 32], None, 6));
    }

    #[test]
    fn a_disguised_copy_matches_a_text_ban() {
        let ban = BannedPrint::Text(sig("join the pump group at scam dot example now"));
        assert!(text_matches(
            &ban,
            &sig("🚀 𝐣𝐨𝐢𝐧 the p u m p group at ｓｃａｍ dot example NOW"),
            0.6
        ));
        assert!(!text_matches(
            &ban,
            &sig("has anyone seen the new release notes yet"),
            0.6
        ));
        assert!(!file_matches(&ban, &[0; 32], None, 64));
    }

    #[test]
    fn signatures_survive_storage_and_malformed_bytes_are_refused() {
        let s = sig("some text long enough to sign");
        assert_eq!(signature_from_bytes(&signature_bytes(&s)), Some(s));
        assert_eq!(signature_from_bytes(&[0; 3]), None);
        assert_eq!(signature_from_bytes(&[]), None);
    }
}
