//! Near-duplicate detection by locality-sensitive hashing: MinHash signatures of a
//! normalised text's character shingles, indexed by bands over a sliding window of recent
//! posts.
//!
//! Comparing a post with every post of the last minute is too slow at raid volume, and exact
//! matching is defeated by one changed character. MinHash estimates the Jaccard similarity of
//! two texts' 4-character shingle sets; splitting each signature into bands and indexing the
//! bands means only posts sharing a whole band with the new one are looked at (with
//! [`BANDS`] bands of [`ROWS`] rows, two texts of similarity 0.5 share a band with
//! probability 1 − (1 − 0.5²)¹⁶ ≈ 0.99, two of similarity 0.1 only with 0.15), and those
//! few candidates are then checked against the full signature. The hash functions are fixed,
//! so signatures computed on different instances compare.

use std::collections::{HashMap, HashSet, VecDeque};

/// Characters per shingle: long enough that unrelated texts share few, short enough that a
/// changed character spoils only a few.
const SHINGLE: usize = 4;
/// Rows per band.
pub const ROWS: usize = 4;
/// Bands per signature.
pub const BANDS: usize = 8;
/// Most candidates checked against the full signature per look-up: bounds the cost of a
/// look-up whatever the window holds.
pub const MAX_CANDIDATES: usize = 1024;
/// Hash functions per signature.
pub const HASHES: usize = ROWS * BANDS;

/// The 64-bit finaliser of SplitMix64: a cheap, well-mixed hash of one word.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One seed per MinHash function, derived from fixed constants so that every instance (and
/// every restart) computes the same signature for the same text.
const SEEDS: [u64; HASHES] = {
    let mut seeds = [0u64; HASHES];
    let mut i = 0;
    while i < HASHES {
        seeds[i] = mix(0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i as u64 + 1));
        i += 1;
    }
    seeds
};

/// A MinHash signature: the least value of each of [`HASHES`] hash functions over a text's
/// shingles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature(pub [u32; HASHES]);

impl Signature {
    /// The signature of a compact normalised text (see `normalise::compact`), or `None` when
    /// it is shorter than one shingle.
    pub fn of(compact: &str) -> Option<Signature> {
        let bytes = compact.as_bytes();
        if bytes.len() < SHINGLE {
            return None;
        }
        let mut mins = [u32::MAX; HASHES];
        for window in bytes.windows(SHINGLE) {
            let word = window
                .iter()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            let base = mix(word);
            for (slot, seed) in mins.iter_mut().zip(SEEDS.iter()) {
                // Truncation to the low half is the point: 32 bits per function suffice.
                let h = mix(base ^ seed) as u32;
                if h < *slot {
                    *slot = h;
                }
            }
        }
        Some(Signature(mins))
    }

    /// The estimated Jaccard similarity of the two texts' shingle sets, in [0, 1].
    pub fn similarity(&self, other: &Signature) -> f64 {
        let same = self
            .0
            .iter()
            .zip(other.0.iter())
            .filter(|(a, b)| a == b)
            .count();
        same as f64 / HASHES as f64
    }

    /// The band keys: a hash of each band's rows together with the band's index, so equal
    /// rows in different bands do not collide.
    pub fn bands(&self) -> [u64; BANDS] {
        let mut keys = [0u64; BANDS];
        for (band, key) in keys.iter_mut().enumerate() {
            let mut h = mix(band as u64 + 1);
            for row in &self.0[band * ROWS..(band + 1) * ROWS] {
                h = mix(h ^ u64::from(*row));
            }
            *key = h;
        }
        keys
    }
}

/// One post remembered by a [`SimilarityWindow`].
#[derive(Clone, Debug)]
struct Entry<U> {
    at: f64,
    who: U,
    signature: Signature,
}

/// The recent posts of one room, oldest first, with a band index for candidate look-up.
///
/// Entries get consecutive serial numbers, so an entry is found from its serial by an offset
/// into the deque, and eviction (always of the oldest) pops the front of each bucket it was
/// in.
#[derive(Debug)]
pub struct SimilarityWindow<U> {
    entries: VecDeque<Entry<U>>,
    /// Serial number of `entries[0]`.
    first_serial: u64,
    buckets: HashMap<u64, VecDeque<u64>>,
}

impl<U> Default for SimilarityWindow<U> {
    fn default() -> Self {
        SimilarityWindow {
            entries: VecDeque::new(),
            first_serial: 0,
            buckets: HashMap::new(),
        }
    }
}

impl<U: Clone + PartialEq> SimilarityWindow<U> {
    /// Number of posts remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no post is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forgets posts older than `oldest` and, beyond that, the oldest posts past `max_len`.
    pub fn evict(&mut self, oldest: f64, max_len: usize) {
        while let Some(front) = self.entries.front() {
            if front.at >= oldest && self.entries.len() <= max_len {
                break;
            }
            let serial = self.first_serial;
            for key in front.signature.bands() {
                if let Some(bucket) = self.buckets.get_mut(&key) {
                    if bucket.front() == Some(&serial) {
                        bucket.pop_front();
                    }
                    if bucket.is_empty() {
                        self.buckets.remove(&key);
                    }
                }
            }
            self.entries.pop_front();
            self.first_serial += 1;
        }
    }

    /// Remembers a post.
    pub fn insert(&mut self, at: f64, who: U, signature: Signature) {
        let serial = self.first_serial + self.entries.len() as u64;
        for key in signature.bands() {
            self.buckets.entry(key).or_default().push_back(serial);
        }
        self.entries.push_back(Entry { at, who, signature });
    }

    /// The distinct posters, other than `who`, of remembered posts at or after `since` whose
    /// similarity to `signature` is at least `threshold`; newest first, stopping at `limit`
    /// (the caller only needs to know whether a threshold is reached).
    pub fn similar_posters(
        &self,
        signature: &Signature,
        who: &U,
        since: f64,
        threshold: f64,
        limit: usize,
    ) -> Vec<U> {
        let mut found: Vec<U> = Vec::new();
        let mut seen: HashSet<u64> = HashSet::new();
        for key in signature.bands() {
            let Some(bucket) = self.buckets.get(&key) else {
                continue;
            };
            for &serial in bucket.iter().rev() {
                if found.len() >= limit || seen.len() >= MAX_CANDIDATES {
                    return found;
                }
                let Some(entry) = usize::try_from(serial - self.first_serial)
                    .ok()
                    .and_then(|i| self.entries.get(i))
                else {
                    continue;
                };
                if entry.at < since {
                    // Older serials in this bucket are older still.
                    break;
                }
                if entry.who == *who || found.contains(&entry.who) || !seen.insert(serial) {
                    continue;
                }
                if entry.signature.similarity(signature) >= threshold {
                    found.push(entry.who.clone());
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::normalise::{compact, normalise};

    fn sig(text: &str) -> Signature {
        Signature::of(&compact(&normalise(text))).unwrap_or(Signature([0; HASHES]))
    }

    #[test]
    fn texts_shorter_than_a_shingle_have_no_signature() {
        assert_eq!(Signature::of("abc"), None);
        assert!(Signature::of("abcd").is_some());
    }

    #[test]
    fn identical_texts_have_similarity_one() {
        let a = sig("free crypto giveaway at example dot com");
        assert!((a.similarity(&a) - 1.0).abs() < f64::EPSILON);
    }

    #[test]
    fn fancy_text_copies_of_a_message_are_near_duplicates() {
        let plain = sig("Free crypto giveaway, visit example dot com now");
        let fancy = sig("🔥𝓕𝓻𝓮𝓮 𝓬𝓻𝔂𝓹𝓽𝓸 giveaway🚀 visit ｅｘａｍｐｌｅ dot com n\u{200B}ow!!!");
        assert!(
            plain.similarity(&fancy) > 0.95,
            "{}",
            plain.similarity(&fancy)
        );
    }

    #[test]
    fn a_few_changed_characters_keep_texts_similar() {
        let a = sig("free crypto giveaway visit example dot com now 1234");
        let b = sig("free crypto giveaway visit example dot com now 9876");
        assert!(a.similarity(&b) > 0.6, "{}", a.similarity(&b));
    }

    #[test]
    fn unrelated_texts_are_not_similar() {
        let a = sig("anyone going to the meetup in berlin on saturday?");
        let b = sig("the new release fixed my sync problem, thanks all");
        assert!(a.similarity(&b) < 0.2, "{}", a.similarity(&b));
    }

    #[test]
    fn window_finds_similar_posts_from_other_posters_only() {
        let mut w = SimilarityWindow::default();
        w.insert(1.0, 1, sig("buy cheap followers at example dot com"));
        w.insert(2.0, 2, sig("𝒷𝓊𝓎 cheap followers at example dot com 🎉"));
        w.insert(3.0, 3, sig("what time is the community call tomorrow"));
        w.insert(4.0, 4, sig("buy cheap followers at example dot com"));
        let probe = sig("BUY CHEAP FOLLOWERS at example dot com");
        let mut found = w.similar_posters(&probe, &4, 0.0, 0.7, 10);
        found.sort_unstable();
        assert_eq!(found, vec![1, 2]);
    }

    #[test]
    fn window_ignores_posts_before_since_and_stops_at_limit() {
        let mut w = SimilarityWindow::default();
        for user in 0..10 {
            w.insert(
                f64::from(user),
                user,
                sig("join our channel for free signals"),
            );
        }
        let probe = sig("join our channel for free signals");
        assert_eq!(w.similar_posters(&probe, &99, 5.0, 0.7, 100).len(), 5);
        assert_eq!(w.similar_posters(&probe, &99, 0.0, 0.7, 3).len(), 3);
    }

    #[test]
    fn eviction_forgets_old_posts_and_caps_the_length() {
        let mut w = SimilarityWindow::default();
        for user in 0..10 {
            w.insert(
                f64::from(user),
                user,
                sig("join our channel for free signals"),
            );
        }
        w.evict(4.0, 100);
        assert_eq!(w.len(), 6);
        w.evict(0.0, 2);
        assert_eq!(w.len(), 2);
        let probe = sig("join our channel for free signals");
        let mut found = w.similar_posters(&probe, &99, 0.0, 0.7, 100);
        found.sort_unstable();
        assert_eq!(found, vec![8, 9]);
        w.evict(100.0, 100);
        assert!(w.is_empty());
        assert!(w.buckets.is_empty());
    }
}
