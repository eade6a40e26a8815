//! Fingerprints of uploaded files for the anti-raid detectors and hash bans: the SHA-256 of
//! the bytes (identical copies) and, for pictures, a perceptual hash (near-identical copies:
//! re-encoded, resized, a pixel changed).
//!
//! The perceptual hash decodes untrusted bytes, so decoding is limited to the formats Session
//! clients send (JPEG, PNG, GIF, WebP) and bounded in dimensions and memory: a hostile
//! "decompression bomb" gets no hash rather than the server's memory.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};
use image_hasher::{HashAlg, HasherConfig};
use sha2::{Digest, Sha256};

/// The SHA-256 of a file's bytes.
pub fn content_hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Bounds on decoding an untrusted picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest width or height accepted, in pixels.
    pub max_side: u32,
    /// Largest decoder allocation, in bytes.
    pub max_alloc: u64,
}

impl Default for DecodeLimits {
    /// Session sends pictures scaled for phones; 8192 px a side and 64 MiB of decoder memory
    /// leave room for any camera photo and none for a bomb.
    fn default() -> Self {
        DecodeLimits {
            max_side: 8192,
            max_alloc: 64 * 1024 * 1024,
        }
    }
}

/// A 64-bit perceptual hash of a picture (gradient hash of an 8×8 greyscale reduction), or
/// `None` when the bytes are not a JPEG, PNG, GIF or WebP picture that decodes within
/// `limits`. Two hashes within a few bits of Hamming distance are the same picture to the
/// eye.
pub fn perceptual_hash(bytes: &[u8], limits: DecodeLimits) -> Option<u64> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()?;
    match reader.format()? {
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Gif | ImageFormat::WebP => {}
        _ => return None,
    }
    let mut reader = reader;
    let mut bounds = Limits::default();
    bounds.max_image_width = Some(limits.max_side);
    bounds.max_image_height = Some(limits.max_side);
    bounds.max_alloc = Some(limits.max_alloc);
    reader.limits(bounds);
    let picture = reader.decode().ok()?;
    let hasher = HasherConfig::new()
        .hash_size(8, 8)
        .hash_alg(HashAlg::Gradient)
        .to_hasher();
    let hash = hasher.hash_image(&picture);
    let bytes: [u8; 8] = hash.as_bytes().try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// The number of differing bits of two perceptual hashes.
pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb, RgbImage};

    /// A picture with structure (a diagonal gradient and a bright square), so its gradient
    /// hash is not all zeros.
    fn picture(width: u32, height: u32, square_at: u32) -> RgbImage {
        ImageBuffer::from_fn(width, height, |x, y| {
            let inside = x >= square_at
                && x < square_at + width / 4
                && y >= square_at
                && y < square_at + height / 4;
            if inside {
                Rgb([250, 250, 250])
            } else {
                let v = ((x + y) * 255 / (width + height)) as u8;
                Rgb([v, v / 2, 255 - v])
            }
        })
    }

    fn encode(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn content_hash_is_sha256() {
        assert_eq!(
            hex::encode(content_hash(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_resized_reencoded_copy_of_a_picture_hashes_close() {
        let original = encode(&picture(256, 256, 40), ImageFormat::Png);
        let copy = encode(&picture(200, 200, 31), ImageFormat::Jpeg);
        let a = perceptual_hash(&original, DecodeLimits::default()).unwrap();
        let b = perceptual_hash(&copy, DecodeLimits::default()).unwrap();
        assert!(distance(a, b) <= 6, "distance {}", distance(a, b));
    }

    #[test]
    fn a_different_picture_hashes_far() {
        let a = perceptual_hash(
            &encode(&picture(256, 256, 20), ImageFormat::Png),
            DecodeLimits::default(),
        )
        .unwrap();
        let flipped = image::imageops::flip_horizontal(&picture(256, 256, 150));
        let b =
            perceptual_hash(&encode(&flipped, ImageFormat::Png), DecodeLimits::default()).unwrap();
        assert!(distance(a, b) > 12, "distance {}", distance(a, b));
    }

    #[test]
    fn gif_and_webp_pictures_are_hashed() {
        let img = picture(64, 64, 10);
        assert!(
            perceptual_hash(&encode(&img, ImageFormat::Gif), DecodeLimits::default()).is_some()
        );
        assert!(
            perceptual_hash(&encode(&img, ImageFormat::WebP), DecodeLimits::default()).is_some()
        );
    }

    #[test]
    fn bytes_that_are_not_a_picture_have_no_perceptual_hash() {
        assert_eq!(perceptual_hash(b"", DecodeLimits::default()), None);
        assert_eq!(
            perceptual_hash(b"%PDF-1.4 not a picture", DecodeLimits::default()),
            None
        );
        // A PNG signature followed by garbage.
        let mut broken = encode(&picture(32, 32, 4), ImageFormat::Png);
        broken.truncate(40);
        assert_eq!(perceptual_hash(&broken, DecodeLimits::default()), None);
    }

    #[test]
    fn a_picture_larger_than_the_limits_is_not_decoded() {
        let big = encode(&picture(300, 300, 10), ImageFormat::Png);
        let small = DecodeLimits {
            max_side: 256,
            max_alloc: 64 * 1024 * 1024,
        };
        assert_eq!(perceptual_hash(&big, small), None);
        let stingy = DecodeLimits {
            max_side: 8192,
            max_alloc: 1024,
        };
        assert_eq!(perceptual_hash(&big, stingy), None);
    }

    #[test]
    fn a_decompression_bomb_header_is_refused_before_allocation() {
        // A valid PNG header claiming 60000 × 60000 pixels, with no data behind it.
        let mut bomb = encode(&picture(8, 8, 1), ImageFormat::Png);
        bomb[16..20].copy_from_slice(&60000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&60000u32.to_be_bytes());
        assert_eq!(perceptual_hash(&bomb, DecodeLimits::default()), None);
    }
}
