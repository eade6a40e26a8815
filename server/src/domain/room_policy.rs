//! A room's defences as moderators set them (slow mode, lockdown, probation, media rules),
//! merged with the server-wide defaults of the configuration. Pure data and rules.

/// Why a room is locked down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockdownCause {
    /// A moderator (or the operator) locked it.
    Moderator,
    /// The raid detector locked it automatically.
    Raid,
}

impl LockdownCause {
    pub fn name(self) -> &'static str {
        match self {
            LockdownCause::Moderator => "moderator",
            LockdownCause::Raid => "raid",
        }
    }

    /// The stored name back; anything unknown reads as a moderator's lockdown.
    pub fn from_name(name: &str) -> Self {
        if name == "raid" {
            LockdownCause::Raid
        } else {
            LockdownCause::Moderator
        }
    }
}

/// A lockdown: non-moderators may not post until `until` (`None`: until lifted). With
/// `first_seen_after`, only users first seen in the room after that time are refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Lockdown {
    pub until: Option<f64>,
    pub first_seen_after: Option<f64>,
    pub cause: LockdownCause,
}

impl Lockdown {
    /// Whether it is still in force at `now` (it ends by itself at `until`).
    pub fn in_force(&self, now: f64) -> bool {
        self.until.is_none_or(|until| now < until)
    }

    /// Whether it refuses a (non-moderator) user first seen in the room at `first_seen`.
    pub fn blocks(&self, first_seen: f64, now: f64) -> bool {
        self.in_force(now) && self.first_seen_after.is_none_or(|cut| first_seen > cut)
    }
}

/// Kinds of attachment the media rules tell apart, by MIME type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    Document,
}

impl MediaKind {
    /// The kind of a file from its MIME type (anything not image/video/audio is a
    /// document, including a missing or unknown type).
    pub fn of_mime(mime: Option<&str>) -> Self {
        let mime = mime.unwrap_or("").trim().to_ascii_lowercase();
        if mime.starts_with("image/") {
            MediaKind::Image
        } else if mime.starts_with("video/") {
            MediaKind::Video
        } else if mime.starts_with("audio/") {
            MediaKind::Audio
        } else {
            MediaKind::Document
        }
    }

    /// The kind from a file name's extension, for uploads that carry no MIME type.
    pub fn of_file_name(name: Option<&str>) -> Self {
        let ext = name
            .and_then(|n| n.rsplit_once('.'))
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "jpg" | "jpeg" | "png" | "gif" | "webp" | "bmp" | "heic" | "heif" | "avif" => {
                MediaKind::Image
            }
            "mp4" | "mov" | "webm" | "mkv" | "avi" | "m4v" | "3gp" => MediaKind::Video,
            "mp3" | "m4a" | "aac" | "ogg" | "oga" | "opus" | "wav" | "flac" | "amr" => {
                MediaKind::Audio
            }
            _ => MediaKind::Document,
        }
    }

    /// The kind from a file's first bytes (its format's signature), if recognised.
    /// Community attachments are uploaded in the clear, so this sees real formats.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        let at = |offset: usize, magic: &[u8]| {
            bytes
                .get(offset..offset + magic.len())
                .is_some_and(|b| b == magic)
        };
        if at(0, b"\x89PNG")
            || at(0, &[0xff, 0xd8, 0xff])
            || at(0, b"GIF8")
            || (at(0, b"RIFF") && at(8, b"WEBP"))
            || (at(4, b"ftyp") && (at(8, b"heic") || at(8, b"avif") || at(8, b"mif1")))
        {
            return Some(MediaKind::Image);
        }
        if at(4, b"ftypM4A")
            || at(0, b"OggS")
            || at(0, b"ID3")
            || at(0, b"fLaC")
            || (at(0, b"RIFF") && at(8, b"WAVE"))
            || at(0, &[0xff, 0xfb])
            || at(0, b"#!AMR")
        {
            return Some(MediaKind::Audio);
        }
        if at(4, b"ftyp") || at(0, &[0x1a, 0x45, 0xdf, 0xa3]) {
            return Some(MediaKind::Video);
        }
        None
    }

    /// The word used in commands and the API.
    pub fn name(self) -> &'static str {
        match self {
            MediaKind::Image => "images",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::Document => "documents",
        }
    }

    /// Capitalised plural, for refusals.
    pub fn plural(self) -> &'static str {
        match self {
            MediaKind::Image => "Images",
            MediaKind::Video => "Videos",
            MediaKind::Audio => "Audio files",
            MediaKind::Document => "Documents",
        }
    }
}

/// What may be posted: links and each kind of attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaRules {
    pub links: bool,
    pub images: bool,
    pub video: bool,
    pub audio: bool,
    pub documents: bool,
}

impl Default for MediaRules {
    fn default() -> Self {
        Self {
            links: true,
            images: true,
            video: true,
            audio: true,
            documents: true,
        }
    }
}

impl MediaRules {
    pub fn allows(&self, kind: MediaKind) -> bool {
        match kind {
            MediaKind::Image => self.images,
            MediaKind::Video => self.video,
            MediaKind::Audio => self.audio,
            MediaKind::Document => self.documents,
        }
    }

    /// These rules with a per-user override applied on top (`None` keeps the room's).
    pub fn overridden_by(&self, user: &MediaOverride) -> Self {
        Self {
            links: user.links.unwrap_or(self.links),
            images: user.images.unwrap_or(self.images),
            video: user.video.unwrap_or(self.video),
            audio: user.audio.unwrap_or(self.audio),
            documents: user.documents.unwrap_or(self.documents),
        }
    }

    /// Everything allowed.
    pub fn all_allowed(&self) -> bool {
        self.links && self.images && self.video && self.audio && self.documents
    }
}

/// One setting of media rules: `None` leaves a rule as it is (a room: the server's
/// default; a user: the room's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaOverride {
    pub links: Option<bool>,
    pub images: Option<bool>,
    pub video: Option<bool>,
    pub audio: Option<bool>,
    pub documents: Option<bool>,
}

/// What a media target names: links or one kind of attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaTarget {
    Links,
    Kind(MediaKind),
}

impl MediaTarget {
    /// `links`, `images`, `video`, `audio`, `documents` (and a few obvious synonyms).
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "links" | "link" | "urls" => MediaTarget::Links,
            "images" | "image" | "pictures" | "photos" => MediaTarget::Kind(MediaKind::Image),
            "video" | "videos" => MediaTarget::Kind(MediaKind::Video),
            "audio" | "voice" => MediaTarget::Kind(MediaKind::Audio),
            "documents" | "document" | "files" | "docs" => MediaTarget::Kind(MediaKind::Document),
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            MediaTarget::Links => "links",
            MediaTarget::Kind(k) => k.name(),
        }
    }
}

impl MediaOverride {
    /// Sets one rule.
    pub fn set(&mut self, target: MediaTarget, allow: Option<bool>) {
        match target {
            MediaTarget::Links => self.links = allow,
            MediaTarget::Kind(MediaKind::Image) => self.images = allow,
            MediaTarget::Kind(MediaKind::Video) => self.video = allow,
            MediaTarget::Kind(MediaKind::Audio) => self.audio = allow,
            MediaTarget::Kind(MediaKind::Document) => self.documents = allow,
        }
    }
}

/// Probation for new users: someone first seen in the room AND on the server less than
/// `secs` ago may not post links or upload; with `read_only`, may not post at all;
/// otherwise posts at most `posts` per `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probation {
    pub secs: f64,
    pub read_only: bool,
    pub posts: u32,
    pub window_secs: f64,
}

impl Probation {
    /// Whether a user is on probation: both first sightings are recent, and no moderator
    /// lifted it for them. Someone long known on the server who just joined this room is
    /// not a raider, so a new room alone does not put them on probation.
    pub fn applies(
        &self,
        first_seen_in_room: f64,
        first_seen_on_server: f64,
        lifted: bool,
        now: f64,
    ) -> bool {
        self.secs > 0.0
            && !lifted
            && now - first_seen_in_room < self.secs
            && now - first_seen_on_server < self.secs
    }

    /// When probation ends for this user.
    pub fn ends(&self, first_seen_in_room: f64, first_seen_on_server: f64) -> f64 {
        first_seen_in_room.max(first_seen_on_server) + self.secs
    }
}

/// When posts from new users amount to a raid: at least `new_posters` distinct users first
/// seen in the room within `new_user_secs` posted within the last `window_secs`. Then the
/// room is locked down for new users for `lockdown_secs`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RaidRule {
    pub new_posters: u32,
    pub window_secs: f64,
    pub new_user_secs: f64,
    pub lockdown_secs: f64,
}

impl RaidRule {
    /// Whether detection is on.
    pub fn enabled(&self) -> bool {
        self.new_posters > 0 && self.window_secs > 0.0 && self.lockdown_secs > 0.0
    }

    /// Whether `new_posters` distinct new users posting in the window (this post counted)
    /// is a raid.
    pub fn is_raid(&self, new_posters: u64) -> bool {
        self.enabled() && new_posters >= u64::from(self.new_posters)
    }

    /// The lockdown a detected raid puts in place at `now`: new users (first seen in the
    /// last `new_user_secs`) may not post for `lockdown_secs`.
    pub fn lockdown(&self, now: f64) -> Lockdown {
        Lockdown {
            until: Some(now + self.lockdown_secs),
            first_seen_after: Some(now - self.new_user_secs),
            cause: LockdownCause::Raid,
        }
    }
}

/// A room's defences in force: stored choices over the server defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomPolicy {
    /// Seconds between a user's posts; 0: off.
    pub slowmode_secs: f64,
    /// The lockdown, if one was set (it may have ended by itself; see [`Lockdown::in_force`]).
    pub lockdown: Option<Lockdown>,
    pub probation: Probation,
    pub media: MediaRules,
    pub raid: RaidRule,
    /// When reported messages are hidden automatically.
    pub reports: super::report::ReportRule,
    /// Whether the flood detector judges posts in the room.
    pub flood_detection: bool,
    /// Greeting and captcha for a user's first post.
    pub captcha: super::captcha::CaptchaRule,
    /// How long messages and uploads are kept.
    pub retention: super::retention::Retention,
}

impl RoomPolicy {
    /// The lockdown in force at `now`, if any.
    pub fn active_lockdown(&self, now: f64) -> Option<&Lockdown> {
        self.lockdown.as_ref().filter(|l| l.in_force(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types_and_extensions_give_media_kinds() {
        assert_eq!(MediaKind::of_mime(Some("image/png")), MediaKind::Image);
        assert_eq!(MediaKind::of_mime(Some("Video/MP4")), MediaKind::Video);
        assert_eq!(MediaKind::of_mime(Some("audio/aac")), MediaKind::Audio);
        assert_eq!(
            MediaKind::of_mime(Some("application/pdf")),
            MediaKind::Document
        );
        assert_eq!(MediaKind::of_mime(None), MediaKind::Document);
        assert_eq!(MediaKind::of_file_name(Some("a.JPG")), MediaKind::Image);
        assert_eq!(MediaKind::of_file_name(Some("clip.mp4")), MediaKind::Video);
        assert_eq!(MediaKind::of_file_name(Some("noext")), MediaKind::Document);
        assert_eq!(MediaKind::sniff(b"\x89PNG\r\n"), Some(MediaKind::Image));
        assert_eq!(
            MediaKind::sniff(b"\0\0\0\x18ftypmp42"),
            Some(MediaKind::Video)
        );
        assert_eq!(MediaKind::sniff(b"OggS\0"), Some(MediaKind::Audio));
        assert_eq!(MediaKind::sniff(b"%PDF-1.4"), None);
        assert_eq!(MediaKind::sniff(b""), None);
    }

    #[test]
    fn probation_needs_both_sightings_recent_and_not_lifted() {
        let p = Probation {
            secs: 600.0,
            read_only: false,
            posts: 1,
            window_secs: 60.0,
        };
        assert!(p.applies(1000.0, 1000.0, false, 1100.0));
        assert!(!p.applies(1000.0, 0.0, false, 1100.0));
        assert!(!p.applies(1000.0, 1000.0, true, 1100.0));
        assert!(!p.applies(1000.0, 1000.0, false, 1600.0));
        assert_eq!(p.ends(1000.0, 900.0), 1600.0);
        let off = Probation { secs: 0.0, ..p };
        assert!(!off.applies(1000.0, 1000.0, false, 1000.0));
    }

    #[test]
    fn a_raid_is_enough_new_posters_and_locks_new_users_out() {
        let rule = RaidRule {
            new_posters: 5,
            window_secs: 60.0,
            new_user_secs: 600.0,
            lockdown_secs: 1800.0,
        };
        assert!(!rule.is_raid(4));
        assert!(rule.is_raid(5));
        let l = rule.lockdown(10_000.0);
        assert_eq!(l.until, Some(11_800.0));
        assert!(l.blocks(9_500.0, 10_001.0));
        assert!(!l.blocks(9_000.0, 10_001.0));
        let off = RaidRule {
            new_posters: 0,
            ..rule
        };
        assert!(!off.is_raid(1000));
    }

    #[test]
    fn user_media_overrides_win_over_the_room() {
        let room = MediaRules {
            links: false,
            ..MediaRules::default()
        };
        let mut user = MediaOverride::default();
        user.set(MediaTarget::Links, Some(true));
        user.set(MediaTarget::Kind(MediaKind::Video), Some(false));
        let rules = room.overridden_by(&user);
        assert!(rules.links);
        assert!(!rules.video);
        assert!(rules.images);
        assert_eq!(
            MediaTarget::parse("Pictures"),
            Some(MediaTarget::Kind(MediaKind::Image))
        );
        assert_eq!(MediaTarget::parse("gifs"), None);
    }
}
