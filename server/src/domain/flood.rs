//! The flood detector: the same message (or picture, or file) arriving from many distinct
//! users within a short window is a raid, however each copy was disguised.
//!
//! Every post and upload is remembered for `window_secs` as fingerprints: the MinHash
//! signature of its normalised text, and the SHA-256 and perceptual hash of each file. When a
//! new one matches earlier ones from at least `distinct_users` other users inside the window,
//! the verdict is a [`Flood`] and the caller refuses (or hides) it and flags its sender. The
//! first `distinct_users` copies pass: a handful of people saying the same thing is a
//! conversation, a crowd of fresh identities doing it is not. Refused copies are remembered
//! too, so a raid stays detected for as long as it goes on.
//!
//! Pure and clock-injected: callers pass `now` (seconds since the epoch) and keep one
//! detector per process behind a lock; fingerprints are computed before taking it.

use std::collections::{HashMap, VecDeque};

use crate::domain::fingerprint::distance;
use crate::domain::normalise::{compact, normalise};
use crate::domain::similarity::{Signature, SimilarityWindow};

/// What makes a flood, per room.
#[derive(Clone, Debug, PartialEq)]
pub struct FloodPolicy {
    /// Whether the detector runs at all.
    pub enabled: bool,
    /// K: how many distinct other users may post the same thing within the window before
    /// the next copies are refused.
    pub distinct_users: usize,
    /// W: how far back copies count, in seconds.
    pub window_secs: f64,
    /// Texts shorter than this (letters and digits after normalisation) are never compared:
    /// "ok", "lol" and "gm" are said by everyone.
    pub min_text_chars: usize,
    /// Estimated Jaccard similarity from which two texts are copies.
    pub similarity: f64,
    /// Largest Hamming distance between two pictures' perceptual hashes that still makes
    /// them copies.
    pub image_distance: u32,
    /// Most posts remembered per room, oldest forgotten first.
    pub max_window_posts: usize,
}

impl Default for FloodPolicy {
    fn default() -> Self {
        FloodPolicy {
            enabled: true,
            distinct_users: 3,
            window_secs: 120.0,
            min_text_chars: 16,
            similarity: 0.6,
            image_distance: 6,
            max_window_posts: 10_000,
        }
    }
}

/// The fingerprints of one uploaded file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilePrint {
    /// SHA-256 of the bytes.
    pub sha256: [u8; 32],
    /// Perceptual hash, for pictures.
    pub image: Option<u64>,
}

/// The fingerprints of one post or upload: what the detector compares.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Prints {
    /// The text's signature, when it is long enough to compare.
    pub text: Option<Signature>,
    /// The files.
    pub files: Vec<FilePrint>,
}

impl Prints {
    /// Fingerprints a message text (the body as the poster wrote it).
    pub fn of_text(text: &str, policy: &FloodPolicy) -> Prints {
        let folded = compact(&normalise(text));
        let text = if folded.len() >= policy.min_text_chars {
            Signature::of(&folded)
        } else {
            None
        };
        Prints {
            text,
            files: Vec::new(),
        }
    }

    /// Fingerprints one uploaded file.
    pub fn of_file(file: FilePrint) -> Prints {
        Prints {
            text: None,
            files: vec![file],
        }
    }

    /// Whether there is nothing to compare.
    pub fn is_empty(&self) -> bool {
        self.text.is_none() && self.files.is_empty()
    }
}

/// Which fingerprint matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloodKind {
    /// Near-duplicate text.
    Text,
    /// Identical file bytes.
    File,
    /// Near-identical picture.
    Image,
}

impl FloodKind {
    /// Name used in metrics labels, audit entries and error messages.
    pub fn name(self) -> &'static str {
        match self {
            FloodKind::Text => "text",
            FloodKind::File => "file",
            FloodKind::Image => "image",
        }
    }
}

/// A flood verdict: the post is a copy of what at least K other users posted in the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flood {
    /// What matched.
    pub kind: FloodKind,
    /// The distinct earlier posters of copies (at least K, newest first; capped).
    pub earlier_posters: Vec<i64>,
}

#[derive(Clone, Copy, Debug)]
struct FileEntry {
    at: f64,
    who: i64,
    print: FilePrint,
}

#[derive(Debug, Default)]
struct RoomWindow {
    texts: SimilarityWindow<i64>,
    files: VecDeque<FileEntry>,
}

impl RoomWindow {
    fn evict(&mut self, oldest: f64, max_len: usize) {
        self.texts.evict(oldest, max_len);
        while let Some(front) = self.files.front() {
            if front.at >= oldest && self.files.len() <= max_len {
                break;
            }
            self.files.pop_front();
        }
    }

    fn is_empty(&self) -> bool {
        self.texts.is_empty() && self.files.is_empty()
    }

    /// Distinct other posters of files matching `print` (by bytes, else by picture).
    fn similar_files(
        &self,
        print: &FilePrint,
        who: i64,
        since: f64,
        policy: &FloodPolicy,
        limit: usize,
    ) -> (Vec<i64>, Vec<i64>) {
        let mut same_bytes = Vec::new();
        let mut same_picture = Vec::new();
        for entry in self.files.iter().rev() {
            if entry.at < since {
                break;
            }
            if entry.who == who {
                continue;
            }
            if entry.print.sha256 == print.sha256 {
                if !same_bytes.contains(&entry.who) && same_bytes.len() < limit {
                    same_bytes.push(entry.who);
                }
            } else if let (Some(a), Some(b)) = (entry.print.image, print.image)
                && distance(a, b) <= policy.image_distance
                && !same_picture.contains(&entry.who)
                && same_picture.len() < limit
            {
                same_picture.push(entry.who);
            }
            if same_bytes.len() >= limit {
                break;
            }
        }
        (same_bytes, same_picture)
    }
}

/// The per-room windows of recent fingerprints.
#[derive(Debug, Default)]
pub struct FloodDetector {
    rooms: HashMap<i64, RoomWindow>,
}

impl FloodDetector {
    /// An empty detector.
    pub fn new() -> FloodDetector {
        FloodDetector::default()
    }

    /// Judges a post or upload by `poster` in `room` against the window, then remembers it
    /// (whatever the verdict, so an ongoing raid stays detected).
    pub fn observe(
        &mut self,
        room: i64,
        poster: i64,
        prints: &Prints,
        now: f64,
        policy: &FloodPolicy,
    ) -> Option<Flood> {
        if !policy.enabled || prints.is_empty() {
            return None;
        }
        let verdict = self.check(room, poster, prints, now, policy);
        self.record(room, poster, prints, now, policy);
        verdict
    }

    /// Judges without remembering.
    pub fn check(
        &mut self,
        room: i64,
        poster: i64,
        prints: &Prints,
        now: f64,
        policy: &FloodPolicy,
    ) -> Option<Flood> {
        if !policy.enabled {
            return None;
        }
        let window = self.rooms.get_mut(&room)?;
        let since = now - policy.window_secs;
        window.evict(since, policy.max_window_posts);
        let k = policy.distinct_users.max(1);
        if let Some(signature) = &prints.text {
            let earlier =
                window
                    .texts
                    .similar_posters(signature, &poster, since, policy.similarity, k);
            if earlier.len() >= k {
                return Some(Flood {
                    kind: FloodKind::Text,
                    earlier_posters: earlier,
                });
            }
        }
        for file in &prints.files {
            let (bytes, picture) = window.similar_files(file, poster, since, policy, k);
            if bytes.len() >= k {
                return Some(Flood {
                    kind: FloodKind::File,
                    earlier_posters: bytes,
                });
            }
            // Identical bytes are near-identical pictures too.
            let mut either = bytes;
            for who in picture {
                if either.len() < k && !either.contains(&who) {
                    either.push(who);
                }
            }
            if either.len() >= k {
                return Some(Flood {
                    kind: FloodKind::Image,
                    earlier_posters: either,
                });
            }
        }
        None
    }

    /// Remembers a post or upload without judging it: for this instance's own posts after
    /// [`FloodDetector::check`], and for those other instances report.
    pub fn record(
        &mut self,
        room: i64,
        poster: i64,
        prints: &Prints,
        at: f64,
        policy: &FloodPolicy,
    ) {
        if prints.is_empty() {
            return;
        }
        let window = self.rooms.entry(room).or_default();
        if let Some(signature) = prints.text {
            window.texts.insert(at, poster, signature);
        }
        for print in &prints.files {
            window.files.push_back(FileEntry {
                at,
                who: poster,
                print: *print,
            });
        }
        window.evict(at - policy.window_secs, policy.max_window_posts);
    }

    /// Forgets rooms with nothing left in their window, so a quiet server holds nothing.
    pub fn sweep(&mut self, now: f64, policy: &FloodPolicy) {
        self.rooms.retain(|_, window| {
            window.evict(now - policy.window_secs, policy.max_window_posts);
            !window.is_empty()
        });
    }

    /// Posts remembered in `room` (texts and files).
    pub fn remembered(&self, room: i64) -> usize {
        self.rooms
            .get(&room)
            .map_or(0, |w| w.texts.len() + w.files.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOM: i64 = 1;

    fn text(t: &str) -> Prints {
        Prints::of_text(t, &FloodPolicy::default())
    }

    /// Random-looking "fancy text" and emoji mutations of one raid message, as raid bots
    /// produce them.
    fn mutation(i: usize) -> String {
        let base = "free crypto airdrop claim yours at scam dot example";
        let emoji = ["🔥", "🚀", "💰", "✅", "🎉", "👉"];
        let mut out = String::new();
        for (n, c) in base.chars().enumerate() {
            let pick = (i * 31 + n * 7) % 9;
            let c2 = match (pick, c) {
                (0, 'a'..='z') => char::from_u32(0x1D4EA + (c as u32 - 'a' as u32)).unwrap_or(c),
                (1, 'a'..='z') => char::from_u32(0xFF41 + (c as u32 - 'a' as u32)).unwrap_or(c),
                (2, 'a'..='z') => c.to_ascii_uppercase(),
                (3, 'a'..='z') => char::from_u32(0x24D0 + (c as u32 - 'a' as u32)).unwrap_or(c),
                _ => c,
            };
            out.push(c2);
            if pick == 4 {
                out.push('\u{200B}');
            }
            if pick == 5 && c == ' ' {
                out.push_str(emoji[(i + n) % emoji.len()]);
            }
        }
        out.push_str(emoji[i % emoji.len()]);
        out
    }

    #[test]
    fn the_first_k_copies_pass_and_the_next_are_a_flood() {
        let policy = FloodPolicy::default();
        let mut d = FloodDetector::new();
        for user in 0..3 {
            assert_eq!(
                d.observe(ROOM, user, &text(&mutation(user as usize)), 10.0, &policy),
                None
            );
        }
        for user in 3..50 {
            let verdict = d.observe(ROOM, user, &text(&mutation(user as usize)), 11.0, &policy);
            let flood = verdict.unwrap();
            assert_eq!(flood.kind, FloodKind::Text);
            assert_eq!(flood.earlier_posters.len(), 3);
        }
    }

    #[test]
    fn one_user_repeating_themselves_is_not_a_flood_across_identities() {
        let policy = FloodPolicy::default();
        let mut d = FloodDetector::new();
        for n in 0..20 {
            assert_eq!(d.observe(ROOM, 7, &text(&mutation(n)), 10.0, &policy), None);
        }
    }

    #[test]
    fn copies_older_than_the_window_do_not_count() {
        let policy = FloodPolicy::default();
        let mut d = FloodDetector::new();
        for user in 0..3 {
            d.observe(ROOM, user, &text(&mutation(0)), 0.0, &policy);
        }
        assert_eq!(
            d.observe(
                ROOM,
                9,
                &text(&mutation(1)),
                policy.window_secs + 1.0,
                &policy
            ),
            None
        );
    }

    #[test]
    fn rooms_are_judged_separately() {
        let policy = FloodPolicy::default();
        let mut d = FloodDetector::new();
        for user in 0..3 {
            d.observe(user, user, &text(&mutation(0)), 0.0, &policy);
        }
        assert_eq!(
            d.observe(ROOM + 10, 9, &text(&mutation(1)), 1.0, &policy),
            None
        );
    }

    #[test]
    fn short_texts_everyone_says_are_never_a_flood() {
        let policy = FloodPolicy::default();
        let mut d = FloodDetector::new();
        for user in 0..100 {
            assert_eq!(
                d.observe(ROOM, user, &text("lol 😂 ok"), 0.0, &policy),
                None
            );
        }
        assert_eq!(d.remembered(ROOM), 0);
    }

    #[test]
    fn ordinary_conversation_from_many_users_is_not_a_flood() {
        let policy = FloodPolicy::default();
        let mut d = FloodDetector::new();
        let lines = [
            "has anyone tried the new desktop release yet?",
            "yes, the attachment bug seems fixed for me",
            "I still cannot see link previews on android",
            "which version are you running on android?",
            "the one from the play store, updated yesterday",
            "does it work better over wifi than mobile data?",
            "no difference here, previews are just missing",
            "maybe it is a setting, check privacy options",
            "found it, link previews were switched off",
            "great, thanks everyone for the help today",
        ];
        for (user, line) in lines.iter().enumerate() {
            assert_eq!(
                d.observe(ROOM, user as i64, &text(line), 0.0, &policy),
                None
            );
        }
    }

    #[test]
    fn identical_files_from_distinct_users_are_a_flood() {
        let policy = FloodPolicy::default();
        let mut d = FloodDetector::new();
        let print = FilePrint {
            sha256: [7; 32],
            image: None,
        };
        for user in 0..3 {
            assert_eq!(
                d.observe(ROOM, user, &Prints::of_file(print), 0.0, &policy),
                None
            );
        }
        let flood = d
            .observe(ROOM, 3, &Prints::of_file(print), 0.0, &policy)
            .unwrap();
        assert_eq!(flood.kind, FloodKind::File);
    }

    #[test]
    fn near_identical_pictures_from_distinct_users_are_a_flood() {
        let policy = FloodPolicy::default();
        let mut d = FloodDetector::new();
        for user in 0..3u8 {
            let print = FilePrint {
                sha256: [user; 32],
                image: Some(0xF0F0_F0F0_F0F0_F0F0 ^ u64::from(user)),
            };
            assert_eq!(
                d.observe(ROOM, i64::from(user), &Prints::of_file(print), 0.0, &policy),
                None
            );
        }
        let near = FilePrint {
            sha256: [99; 32],
            image: Some(0xF0F0_F0F0_F0F0_F0F0 ^ 0b1_0000),
        };
        let far = FilePrint {
            sha256: [98; 32],
            image: Some(0x0F0F_0F0F_0F0F_0F0F),
        };
        assert_eq!(
            d.observe(ROOM, 50, &Prints::of_file(far), 0.0, &policy),
            None
        );
        let flood = d
            .observe(ROOM, 51, &Prints::of_file(near), 0.0, &policy)
            .unwrap();
        assert_eq!(flood.kind, FloodKind::Image);
    }

    #[test]
    fn a_disabled_policy_never_floods() {
        let policy = FloodPolicy {
            enabled: false,
            ..FloodPolicy::default()
        };
        let mut d = FloodDetector::new();
        for user in 0..10 {
            assert_eq!(
                d.observe(ROOM, user, &text(&mutation(0)), 0.0, &policy),
                None
            );
        }
    }

    #[test]
    fn the_window_is_capped_and_swept() {
        let policy = FloodPolicy {
            max_window_posts: 5,
            ..FloodPolicy::default()
        };
        let mut d = FloodDetector::new();
        for user in 0..3 {
            d.observe(ROOM, user, &text(&mutation(0)), 0.0, &policy);
        }
        for n in 0..5 {
            d.observe(
                ROOM,
                100 + n,
                &text(&format!("unrelated message number {n} about gardening")),
                1.0,
                &policy,
            );
        }
        // The three copies were pushed out by the cap.
        assert_eq!(d.observe(ROOM, 9, &text(&mutation(1)), 2.0, &policy), None);
        d.sweep(1000.0, &policy);
        assert_eq!(d.remembered(ROOM), 0);
    }
}
