//! A room's retention: how long its messages and uploads are kept. Pure data, the limits a
//! setting must respect, the `/retention` command's arguments, and the words that
//! describe it. The cleanup task applies it (`actions::retention::apply`).

use super::admission::human_duration;
use super::room_command::{CommandError, duration_within};

/// The shortest age limit: an hour (shorter would delete a conversation while it happens).
pub const MIN_AGE_SECS: f64 = 3_600.0;
/// The longest age limit: ten years (more is surely a typo; turn retention off instead).
pub const MAX_AGE_SECS: f64 = 3_660.0 * 86_400.0;
/// The most messages a keep-last limit may name.
pub const MAX_KEEP_LAST: u64 = 1_000_000_000;

/// What a room keeps. Every limit `None` (the default) keeps everything.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retention {
    /// Messages posted longer ago than this many seconds are deleted.
    pub max_age_secs: Option<f64>,
    /// Only the newest this many messages are kept.
    pub keep_last: Option<u64>,
    /// The room's uploads are removed this many seconds after upload.
    pub file_expiry_secs: Option<f64>,
    /// Pinned messages (and their files) are kept whatever their age or position.
    pub keep_pinned: bool,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_age_secs: None,
            keep_last: None,
            file_expiry_secs: None,
            keep_pinned: true,
        }
    }
}

impl Retention {
    /// Whether anything is ever deleted.
    pub fn is_off(&self) -> bool {
        self.max_age_secs.is_none() && self.keep_last.is_none() && self.file_expiry_secs.is_none()
    }

    /// Whether messages (not only files) are deleted.
    pub fn limits_messages(&self) -> bool {
        self.max_age_secs.is_some() || self.keep_last.is_some()
    }

    /// The setting, or why it cannot be stored.
    pub fn validate(self) -> Result<Self, String> {
        let in_range = |s: Option<f64>| {
            s.is_none_or(|s| s.is_finite() && (MIN_AGE_SECS..=MAX_AGE_SECS).contains(&s))
        };
        if !in_range(self.max_age_secs) {
            return Err("The age limit is between an hour and ten years".into());
        }
        if !in_range(self.file_expiry_secs) {
            return Err("The file expiry is between an hour and ten years".into());
        }
        if self
            .keep_last
            .is_some_and(|n| !(1..=MAX_KEEP_LAST).contains(&n))
        {
            return Err(format!(
                "The number of messages to keep is between 1 and {MAX_KEEP_LAST}"
            ));
        }
        Ok(self)
    }

    /// The setting in words, for `/status`, the command's answer and `sogs-admin`.
    pub fn describe(&self) -> String {
        if self.is_off() {
            return "off (everything is kept)".into();
        }
        let mut parts = Vec::new();
        if let Some(age) = self.max_age_secs {
            parts.push(format!("messages older than {} are deleted", span(age)));
        }
        if let Some(n) = self.keep_last {
            parts.push(format!("only the newest {n} messages are kept"));
        }
        if let Some(files) = self.file_expiry_secs {
            parts.push(format!("uploads are removed {} after upload", span(files)));
        }
        parts.push(
            if self.keep_pinned {
                "pinned messages are kept"
            } else {
                "pinned messages expire too"
            }
            .into(),
        );
        parts.join("; ")
    }
}

/// A retention period in words: whole days as days (`30 days`, not `4w2d`), else as
/// other durations are written.
fn span(secs: f64) -> String {
    let days = secs / 86_400.0;
    if days >= 1.0 && days.fract() == 0.0 {
        format!("{days} day{}", if days > 1.0 { "s" } else { "" })
    } else {
        human_duration(secs)
    }
}

/// The usage line of `/retention`.
pub const USAGE: &str = "usage: /retention [30d] [keep 10000] [files 7d] [pins expire] | /retention off | /retention (shows it)";

/// A duration argument of `/retention` (up to ten years).
fn age(word: &str) -> Result<f64, CommandError> {
    duration_within(word, MAX_AGE_SECS)
        .map_err(|e| CommandError(format!("/retention: {e}; {USAGE}")))
}

/// The arguments of `/retention`: `None` (no arguments) shows the setting; otherwise the
/// complete new setting: `off`, or any of an age (`30d`), `keep N`, `files DURATION` and
/// `pins expire|keep`, in any order. What is not named is off (pins: kept).
pub fn parse_command(args: &[&str]) -> Result<Option<Retention>, CommandError> {
    let bad = |what: String| Err(CommandError(format!("/retention: {what}; {USAGE}")));
    match args {
        [] => return Ok(None),
        [word] if ["off", "none", "forever"].contains(&word.to_ascii_lowercase().as_str()) => {
            return Ok(Some(Retention::default()));
        }
        _ => {}
    }
    let mut retention = Retention::default();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        let lower = word.to_ascii_lowercase();
        match lower.as_str() {
            "keep" | "last" => {
                let Some(n) = words.next().copied() else {
                    return bad("`keep` needs a number of messages".into());
                };
                match n.parse::<u64>() {
                    Ok(n) if (1..=MAX_KEEP_LAST).contains(&n) => retention.keep_last = Some(n),
                    _ => return bad(format!("`{n}` is not a number of messages to keep")),
                }
            }
            "files" | "uploads" => {
                let Some(d) = words.next().copied() else {
                    return bad("`files` needs a duration".into());
                };
                retention.file_expiry_secs = Some(age(d)?);
            }
            "pins" | "pinned" => match words
                .next()
                .copied()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("expire" | "delete" | "off" | "no") => retention.keep_pinned = false,
                Some("keep" | "on" | "yes") => retention.keep_pinned = true,
                _ => return bad("say `pins expire` or `pins keep`".into()),
            },
            _ => retention.max_age_secs = Some(age(word)?),
        }
    }
    retention
        .validate()
        .map(Some)
        .map_err(|e| CommandError(format!("/retention: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_sets_the_whole_retention_or_turns_it_off() {
        assert_eq!(parse_command(&[]).unwrap(), None);
        assert_eq!(
            parse_command(&["30d"]).unwrap(),
            Some(Retention {
                max_age_secs: Some(30.0 * 86_400.0),
                ..Retention::default()
            })
        );
        assert_eq!(
            parse_command(&["keep", "10000", "files", "1w", "pins", "expire", "2y"]).ok(),
            None,
            "2y is not a duration"
        );
        assert_eq!(
            parse_command(&["Keep", "10000", "files", "1w", "PINS", "expire", "400d"]).unwrap(),
            Some(Retention {
                max_age_secs: Some(400.0 * 86_400.0),
                keep_last: Some(10_000),
                file_expiry_secs: Some(7.0 * 86_400.0),
                keep_pinned: false,
            })
        );
        assert_eq!(parse_command(&["off"]).unwrap(), Some(Retention::default()));
    }

    #[test]
    fn malformed_or_out_of_range_retention_is_refused_with_the_reason() {
        for bad in [
            &["keep"][..],
            &["keep", "0"],
            &["keep", "-5"],
            &["keep", "lots"],
            &["files"],
            &["files", "soon"],
            &["pins"],
            &["pins", "maybe"],
            &["10m"],
            &["20000d"],
            &["off", "30d"],
            &["nonsense"],
        ] {
            let e = parse_command(bad).unwrap_err();
            assert!(e.0.starts_with("/retention"), "{bad:?}: {e}");
        }
        assert!(
            Retention {
                max_age_secs: Some(f64::NAN),
                ..Retention::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            Retention {
                keep_last: Some(MAX_KEEP_LAST + 1),
                ..Retention::default()
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn retention_reads_as_a_sentence() {
        assert_eq!(Retention::default().describe(), "off (everything is kept)");
        let r = Retention {
            max_age_secs: Some(30.0 * 86_400.0),
            keep_last: Some(500),
            file_expiry_secs: None,
            keep_pinned: true,
        };
        assert_eq!(
            r.describe(),
            "messages older than 30 days are deleted; only the newest 500 messages are kept; \
             pinned messages are kept"
        );
        assert!(r.limits_messages());
        assert!(!r.is_off());
    }
}
