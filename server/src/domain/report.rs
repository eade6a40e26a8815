//! Reports: the rules for users reporting a message and for hiding a message that enough
//! people reported, before a moderator looks.
//!
//! Only *established* reporters count towards hiding: users first seen in the room long
//! enough ago (or moderators). Raids come from fresh IDs, so a raid cannot mass-report the
//! regulars' messages away; the fresh IDs' reports still reach the moderators' queue.

/// The longest reason kept with a report, in characters.
pub const REASON_MAX_CHARS: usize = 280;

/// How a room hides reported messages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportRule {
    /// Distinct established reporters that hide a message; 0: never hidden automatically.
    pub hide_after: u32,
    /// How long before reporting a reporter must have been first seen in the room to count.
    pub trusted_after_secs: f64,
}

impl ReportRule {
    /// Whether a reporter first seen in the room at `first_seen` counts towards hiding at
    /// `now` (moderators always do).
    pub fn trusts(&self, first_seen: f64, moderator: bool, now: f64) -> bool {
        moderator || now - first_seen >= self.trusted_after_secs
    }

    /// Whether a message with `trusted_reporters` established reporters is hidden now.
    /// Moderators' messages are never hidden automatically.
    pub fn hides(&self, trusted_reporters: i64, author_is_moderator: bool) -> bool {
        self.hide_after > 0
            && !author_is_moderator
            && trusted_reporters >= i64::from(self.hide_after)
    }
}

/// What a moderator did with a reported message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Nothing wrong: the report is closed and the message stays.
    Dismissed,
    /// The message is deleted.
    Deleted,
    /// The author is banned from the room and the message deleted.
    Banned,
    /// The author is banned and everything they posted in the room deleted.
    Purged,
}

impl Resolution {
    pub fn name(self) -> &'static str {
        match self {
            Resolution::Dismissed => "dismissed",
            Resolution::Deleted => "deleted",
            Resolution::Banned => "banned",
            Resolution::Purged => "purged",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "dismiss" | "dismissed" => Some(Resolution::Dismissed),
            "delete" | "deleted" | "remove" => Some(Resolution::Deleted),
            "ban" | "banned" => Some(Resolution::Banned),
            "purge" | "purged" => Some(Resolution::Purged),
            _ => None,
        }
    }
}

/// What a moderator does with a reported message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// The message is fine: close the report.
    Dismiss,
    /// Delete the message.
    Delete,
    /// Ban its author from the room (for `duration` seconds, or for good) and delete it.
    Ban { duration: Option<f64> },
    /// Ban its author from the room and delete everything they posted there.
    Purge,
}

impl Verdict {
    pub fn resolution(self) -> Resolution {
        match self {
            Verdict::Dismiss => Resolution::Dismissed,
            Verdict::Delete => Resolution::Deleted,
            Verdict::Ban { .. } => Resolution::Banned,
            Verdict::Purge => Resolution::Purged,
        }
    }
}

/// A report's reason as kept: control characters dropped, whitespace collapsed, at most
/// [`REASON_MAX_CHARS`] characters; `None` when nothing is left.
pub fn clean_reason(reason: &str) -> Option<String> {
    let words: Vec<&str> = reason.split_whitespace().collect();
    let joined: String = words
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(REASON_MAX_CHARS)
        .collect();
    let trimmed = joined.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// Which of an author's messages a reply quotes: the one whose own send time is the quoted
/// one, else the one the server received closest to it (within `slack_ms`; clients that
/// stamp community messages with the server's time quote that). `candidates` are
/// `(id, posted in seconds, send time in ms if the message carries one)`.
pub fn match_quote(
    candidates: &[(i64, f64, Option<u64>)],
    sent_ms: u64,
    slack_ms: f64,
) -> Option<i64> {
    if let Some((id, _, _)) = candidates
        .iter()
        .find(|(_, _, sent)| *sent == Some(sent_ms))
    {
        return Some(*id);
    }
    let target = sent_ms as f64;
    candidates
        .iter()
        .map(|(id, posted, _)| (*id, (posted * 1000.0 - target).abs()))
        .filter(|(_, gap)| *gap <= slack_ms)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(id, _)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_established_reporters_count_and_moderators_messages_stay() {
        let rule = ReportRule {
            hide_after: 3,
            trusted_after_secs: 86_400.0,
        };
        assert!(rule.trusts(0.0, false, 86_400.0));
        assert!(!rule.trusts(1_000.0, false, 86_400.0));
        assert!(rule.trusts(86_000.0, true, 86_400.0));
        assert!(!rule.hides(2, false));
        assert!(rule.hides(3, false));
        assert!(!rule.hides(30, true));
        let never = ReportRule {
            hide_after: 0,
            ..rule
        };
        assert!(!never.hides(1_000, false));
    }

    #[test]
    fn reasons_are_trimmed_collapsed_and_bounded() {
        assert_eq!(clean_reason("  spam \n\t link "), Some("spam link".into()));
        assert_eq!(clean_reason(" \u{7} "), None);
        assert_eq!(clean_reason(""), None);
        assert_eq!(
            clean_reason(&"x".repeat(1000)).unwrap().chars().count(),
            REASON_MAX_CHARS
        );
    }

    #[test]
    fn resolutions_read_as_moderators_type_them() {
        for r in [
            Resolution::Dismissed,
            Resolution::Deleted,
            Resolution::Banned,
            Resolution::Purged,
        ] {
            assert_eq!(Resolution::parse(r.name()), Some(r));
        }
        assert_eq!(Resolution::parse("Delete"), Some(Resolution::Deleted));
        assert_eq!(Resolution::parse("nuke"), None);
    }

    #[test]
    fn a_quote_matches_its_send_time_first_then_the_nearest_arrival() {
        let candidates = [(1, 100.0, Some(99_500)), (2, 101.0, None), (3, 200.0, None)];
        assert_eq!(match_quote(&candidates, 99_500, 2_000.0), Some(1));
        assert_eq!(match_quote(&candidates, 101_200, 2_000.0), Some(2));
        assert_eq!(match_quote(&candidates, 150_000, 2_000.0), None);
        assert_eq!(match_quote(&[], 1, 2_000.0), None);
    }
}
