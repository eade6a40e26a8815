//! Admission verdicts: may this user do this now, and if not, what happens?
//!
//! Every check on a post, an upload or a reaction (content filters, rate limits, slow mode,
//! lockdown, probation, media rules, and the detectors) answers with one [`Decision`]. The
//! pipeline that runs them lives in `actions::admission`; the rules themselves are pure
//! functions here, fed with the facts the pipeline gathered and the time it read once.

use super::Permissions;
use super::room_policy::{Lockdown, MediaKind, MediaRules};

/// What a user is trying to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Posting a message (or a moderator command).
    Post,
    /// Editing one of their messages.
    Edit,
    /// Uploading a file.
    Upload,
    /// Adding a reaction.
    React,
}

impl Attempt {
    /// A short name for metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Attempt::Post => "post",
            Attempt::Edit => "edit",
            Attempt::Upload => "upload",
            Attempt::React => "react",
        }
    }
}

/// How a refusal reaches the client: only statuses unmodified Session clients already
/// handle (403 and 429).
#[derive(Debug, Clone, PartialEq)]
pub enum RefusalKind {
    /// 403: not allowed at all right now (lockdown, probation, media rules, timeouts).
    Forbidden,
    /// 429: too fast; `retry_after` whole seconds (the `Retry-After` header) when known.
    TooFast { retry_after: Option<u64> },
}

/// A refusal: its kind and a short reason for the response body (operators read it).
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub reason: String,
}

impl Refusal {
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self {
            kind: RefusalKind::Forbidden,
            reason: reason.into(),
        }
    }

    pub fn too_fast(reason: impl Into<String>, retry_after: Option<u64>) -> Self {
        Self {
            kind: RefusalKind::TooFast { retry_after },
            reason: reason.into(),
        }
    }
}

/// One stage's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Nothing to say: the next stage decides.
    Allow,
    /// Refused with a status; nothing is stored. Stops the pipeline.
    Refuse(Refusal),
    /// Stored but hidden, as a filtered post: the poster is answered as usual, nobody else
    /// ever sees it. Stops the pipeline. (Only posts can be hidden; for uploads and
    /// reactions the pipeline turns it into a 403.)
    Hide { reason: String },
    /// Allowed, but the moderators are told (whispered) why; the next stages still run.
    Flag { reason: String },
}

/// Whole seconds to wait before `until`, at least 1 (a `Retry-After` of 0 invites an
/// immediate retry that would be refused again).
pub fn retry_after(until: f64, now: f64) -> u64 {
    let wait = (until - now).ceil();
    if wait.is_finite() && wait >= 1.0 {
        // Bounded by the policies (at most weeks), so the cast cannot truncate meaningfully.
        wait.min(u64::MAX as f64) as u64
    } else {
        1
    }
}

/// Slow mode: at most one post per `secs` per user. Moderators are exempt. `last_post` is
/// when the user last posted in the room (any post, hidden or deleted ones included, so
/// deleting does not buy a post).
pub fn slow_mode(
    secs: f64,
    perms: &Permissions,
    last_post: Option<f64>,
    now: f64,
) -> Option<Refusal> {
    if secs <= 0.0 || perms.moderator {
        return None;
    }
    let next = last_post? + secs;
    (now < next).then(|| {
        Refusal::too_fast(
            format!("Slow mode: one post every {}", human_duration(secs)),
            Some(retry_after(next, now)),
        )
    })
}

/// Lockdown: refuses non-moderators while it is in force (everyone, or users first seen
/// after the lockdown's cut-off). `first_seen` is when the user was first seen in the room.
pub fn lockdown(
    lockdown: Option<&Lockdown>,
    perms: &Permissions,
    first_seen: f64,
    now: f64,
) -> Option<Refusal> {
    let lockdown = lockdown?;
    if perms.moderator || !lockdown.blocks(first_seen, now) {
        return None;
    }
    Some(Refusal::forbidden(match lockdown.first_seen_after {
        None => "This room is locked down: only moderators may post",
        Some(_) => "This room is locked down: new users may not post yet",
    }))
}

/// A timeout: the user may read but not post, upload or react until `until`.
pub fn timeout(until: Option<f64>, perms: &Permissions, now: f64) -> Option<Refusal> {
    let until = until?;
    (!perms.moderator && now < until).then(|| {
        Refusal::forbidden(format!(
            "You are timed out for {} more",
            human_duration(until - now)
        ))
    })
}

/// The media a submission carries, as far as the rules care.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaUse {
    /// Whether the text contains a link.
    pub links: bool,
    /// The kinds of the attached or uploaded files.
    pub kinds: Vec<MediaKind>,
}

/// Media and link restrictions: refuses a submission carrying a kind the rules forbid.
/// Moderators are exempt.
pub fn media(rules: &MediaRules, perms: &Permissions, used: &MediaUse) -> Option<Refusal> {
    if perms.moderator {
        return None;
    }
    if used.links && !rules.links {
        return Some(Refusal::forbidden("Links are not allowed here"));
    }
    used.kinds
        .iter()
        .find(|k| !rules.allows(**k))
        .map(|k| Refusal::forbidden(format!("{} are not allowed here", k.plural())))
}

/// Whether `text` contains something a Session client would show as a link: a URL with a
/// scheme, a `www.` host, or a bare `host.tld/…` name.
pub fn contains_link(text: &str) -> bool {
    text.split(|c: char| c.is_whitespace() || "<>()[]{}\"'".contains(c))
        .any(is_link_word)
}

fn is_link_word(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    if ["http://", "https://", "ftp://", "www."]
        .iter()
        .any(|p| lower.starts_with(p) && lower.len() > p.len())
    {
        return true;
    }
    // `example.com`, `evil.io/path`: a dot between letters, ending in a 2+ letter TLD.
    let host = lower.split('/').next().unwrap_or("");
    let host = host.trim_end_matches(['.', ',', '!', '?', ':', ';']);
    let mut labels = host.split('.');
    let Some(first) = labels.next() else {
        return false;
    };
    let rest: Vec<&str> = labels.collect();
    let Some(tld) = rest.last() else {
        return false;
    };
    !first.is_empty()
        && rest.iter().all(|l| !l.is_empty())
        && first.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && rest
            .iter()
            .all(|l| l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && tld.len() >= 2
        && tld.chars().all(|c| c.is_ascii_alphabetic())
}

/// A duration for people: `30s`, `5m`, `2h`, `3d`, `1w`, or a combination of the two
/// largest units (`1h30m`).
pub fn human_duration(secs: f64) -> String {
    let total = secs.max(0.0).round() as u64;
    let units = [
        (604_800, "w"),
        (86_400, "d"),
        (3_600, "h"),
        (60, "m"),
        (1, "s"),
    ];
    let mut parts = Vec::new();
    let mut rest = total;
    for (size, name) in units {
        if rest >= size {
            parts.push(format!("{}{name}", rest / size));
            rest %= size;
        }
        if parts.len() == 2 {
            break;
        }
    }
    if parts.is_empty() {
        "0s".into()
    } else {
        parts.concat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member() -> Permissions {
        Permissions::combine(
            false, false, true, true, true, true, false, false, false, false,
        )
    }

    fn moderator() -> Permissions {
        Permissions::combine(
            false, false, true, true, true, true, true, false, false, false,
        )
    }

    #[test]
    fn slow_mode_refuses_a_second_post_within_the_window_with_the_wait() {
        let refusal = slow_mode(30.0, &member(), Some(100.0), 110.0).unwrap();
        assert_eq!(
            refusal.kind,
            RefusalKind::TooFast {
                retry_after: Some(20)
            }
        );
        assert!(slow_mode(30.0, &member(), Some(100.0), 130.0).is_none());
        assert!(slow_mode(30.0, &member(), None, 110.0).is_none());
    }

    #[test]
    fn slow_mode_exempts_moderators_and_is_off_at_zero() {
        assert!(slow_mode(30.0, &moderator(), Some(100.0), 101.0).is_none());
        assert!(slow_mode(0.0, &member(), Some(100.0), 100.0).is_none());
    }

    #[test]
    fn retry_after_is_at_least_one_second_and_rounds_up() {
        assert_eq!(retry_after(100.2, 100.0), 1);
        assert_eq!(retry_after(100.0, 100.0), 1);
        assert_eq!(retry_after(101.5, 100.0), 2);
    }

    #[test]
    fn a_full_lockdown_refuses_everyone_but_moderators_until_it_ends() {
        let l = Lockdown {
            until: Some(200.0),
            first_seen_after: None,
            cause: super::super::room_policy::LockdownCause::Moderator,
        };
        assert!(lockdown(Some(&l), &member(), 0.0, 150.0).is_some());
        assert!(lockdown(Some(&l), &moderator(), 0.0, 150.0).is_none());
        assert!(lockdown(Some(&l), &member(), 0.0, 200.0).is_none());
        assert!(lockdown(None, &member(), 0.0, 150.0).is_none());
    }

    #[test]
    fn a_new_users_lockdown_lets_earlier_users_post() {
        let l = Lockdown {
            until: None,
            first_seen_after: Some(100.0),
            cause: super::super::room_policy::LockdownCause::Raid,
        };
        assert!(lockdown(Some(&l), &member(), 50.0, 150.0).is_none());
        assert!(lockdown(Some(&l), &member(), 100.0, 150.0).is_none());
        assert!(lockdown(Some(&l), &member(), 120.0, 150.0).is_some());
    }

    #[test]
    fn a_timeout_lasts_until_its_end() {
        assert!(timeout(Some(200.0), &member(), 100.0).is_some());
        assert!(timeout(Some(200.0), &member(), 200.0).is_none());
        assert!(timeout(None, &member(), 100.0).is_none());
    }

    #[test]
    fn links_are_found_in_the_forms_people_type() {
        for text in [
            "see https://example.com",
            "http://x.y/z",
            "go to www.example.org now",
            "visit evil.io/free",
            "(example.com)",
            "scam.xyz!",
        ] {
            assert!(contains_link(text), "{text}");
        }
        for text in [
            "hello there",
            "version 1.2.3",
            "3.14 is pi",
            "e.g. this",
            "a.b",
            "https://",
            "",
        ] {
            assert!(!contains_link(text), "{text}");
        }
    }

    #[test]
    fn media_rules_refuse_forbidden_kinds_for_members_only() {
        let rules = MediaRules {
            links: false,
            images: false,
            ..MediaRules::default()
        };
        let links = MediaUse {
            links: true,
            kinds: vec![],
        };
        assert!(media(&rules, &member(), &links).is_some());
        assert!(media(&rules, &moderator(), &links).is_none());
        let image = MediaUse {
            links: false,
            kinds: vec![MediaKind::Image],
        };
        assert_eq!(
            media(&rules, &member(), &image).unwrap().reason,
            "Images are not allowed here"
        );
        let audio = MediaUse {
            links: false,
            kinds: vec![MediaKind::Audio],
        };
        assert!(media(&rules, &member(), &audio).is_none());
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human_duration(30.0), "30s");
        assert_eq!(human_duration(90.0), "1m30s");
        assert_eq!(human_duration(7200.0), "2h");
        assert_eq!(human_duration(604_800.0), "1w");
        assert_eq!(human_duration(0.0), "0s");
    }
}
