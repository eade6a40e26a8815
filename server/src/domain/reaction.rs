//! Reaction strings (spec §5.4, §6.6).

use std::fmt;

/// The most Unicode code points a reaction may have. Emoji with modifiers, flags and ZWJ
/// sequences run to several code points; PySOGS caps them at 12 (Python `len`).
pub const MAX_REACTION_CODE_POINTS: usize = 12;

/// A reaction: 1 to [`MAX_REACTION_CODE_POINTS`] Unicode code points, any characters
/// (`y/n` included). Counting code points rather than bytes or graphemes matches PySOGS,
/// so the same reactions are accepted by both servers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reaction(String);

/// The reaction is empty or longer than [`MAX_REACTION_CODE_POINTS`] code points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Invalid reaction: must be 1 to 12 Unicode code points")]
pub struct InvalidReaction;

impl Reaction {
    /// Checks the length in code points.
    pub fn parse(s: &str) -> Result<Self, InvalidReaction> {
        let n = s.chars().count();
        if (1..=MAX_REACTION_CODE_POINTS).contains(&n) {
            Ok(Self(s.to_string()))
        } else {
            Err(InvalidReaction)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Reaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reactions_pysogs_tests_accept_are_accepted() {
        for ok in [
            "🖕",
            "🍆",
            "f",
            "y/n",
            "abcdefghijkl",
            "🦒🦍🐍🐊🦢🦁🦎",
            "‽",
            "🫑",
            "🂤",
            "🂵",
            "❤️",
        ] {
            assert_eq!(Reaction::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn empty_and_overlong_reactions_are_refused() {
        assert_eq!(Reaction::parse(""), Err(InvalidReaction));
        assert_eq!(Reaction::parse("abcdefghijklm"), Err(InvalidReaction));
        assert_eq!(Reaction::parse(&"🍍".repeat(13)), Err(InvalidReaction));
    }

    #[test]
    fn length_counts_code_points_not_bytes() {
        // 12 four-byte code points: 48 bytes, still fine.
        assert!(Reaction::parse(&"🍍".repeat(12)).is_ok());
        // A family emoji: one grapheme, seven code points.
        assert!(Reaction::parse("👨‍👩‍👧‍👦").is_ok());
        // Two such families: 14 code points.
        assert!(Reaction::parse("👨‍👩‍👧‍👦👨‍👩‍👧‍👦").is_err());
    }
}
