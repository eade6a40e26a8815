//! Moderator commands typed in the room (`/slowmode 30s`, `/lockdown 2h`): parsing a
//! message body into a typed [`RoomCommand`] or a clear [`CommandError`].
//!
//! Only a moderator's message can be a command, and only when its body starts with `/`
//! and a word of letters (`/lockdown`); anything else (`// not a command`, `/ 2`, a path
//! like `/usr/bin` is still a word, so moderators who want to post one start with `//`)
//! is an ordinary message. A command word that is not known is an error rather than a
//! post, so a moderator's typo never broadcasts half a command to the room.

use crate::crypto::keys::SessionId;

use super::admission::human_duration;
use super::report::Verdict;
use super::retention::{self, Retention};
use super::room_policy::MediaTarget;

/// The shortest and longest timeout, from the presets moderators asked for (4 h – 1 week)
/// widened a little at the low end for a cooling-off minute.
pub const TIMEOUT_MIN_SECS: f64 = 60.0;
pub const TIMEOUT_MAX_SECS: f64 = 7.0 * 86_400.0;
/// The timeout a bare `/timeout SID` gives.
pub const TIMEOUT_DEFAULT_SECS: f64 = 4.0 * 3_600.0;
/// The presets offered in `/help` and the documentation.
pub const TIMEOUT_PRESETS: &[&str] = &["4h", "12h", "1d", "3d", "1w"];
/// The longest duration any command takes (a year); more is surely a typo.
const MAX_DURATION_SECS: f64 = 366.0 * 86_400.0;

/// Whom a ban or deletion reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// This room.
    Room,
    /// The whole server (needs global moderator rights).
    Global,
}

/// How long something lasts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Span {
    Forever,
    Secs(f64),
}

impl Span {
    pub fn secs(self) -> Option<f64> {
        match self {
            Span::Forever => None,
            Span::Secs(s) => Some(s),
        }
    }
}

/// A moderator command.
#[derive(Debug, Clone, PartialEq)]
pub enum RoomCommand {
    /// `/help`: the list of commands.
    Help,
    /// `/status`: the room's defences now.
    Status,
    /// `/slowmode 30s` or `/slowmode off`.
    SlowMode { secs: f64 },
    /// `/lockdown [DURATION|forever] [new [SINCE]]`: read-only for everyone but moderators,
    /// or (`new`) for users first seen in the last SINCE (default: from now on).
    Lockdown {
        span: Span,
        new_users_since: Option<f64>,
    },
    /// `/unlock`: lifts the lockdown.
    Unlock,
    /// `/ban SID [DURATION] [global]`.
    Ban {
        target: SessionId,
        span: Span,
        reach: Reach,
    },
    /// `/unban SID [global]`.
    Unban { target: SessionId, reach: Reach },
    /// `/purge SID [global]`: ban and delete everything they posted.
    BanAndPurge { target: SessionId, reach: Reach },
    /// `/ban-since DURATION [to DURATION]`: ban and delete everything from every user first
    /// seen in the room between DURATION ago and (optionally) the second DURATION ago.
    BanSince { from_ago: f64, to_ago: f64 },
    /// `/joins [DURATION]`: who was first seen in the room in the last DURATION (1 h).
    Joins { ago: f64 },
    /// `/timeout SID [DURATION]`: may read, not post, for 4 h by default (1 min – 1 week).
    Timeout { target: SessionId, secs: f64 },
    /// `/untimeout SID`.
    Untimeout { target: SessionId },
    /// `/probation DURATION [readonly]` or `/probation off`: the room's probation.
    Probation { secs: f64, read_only: bool },
    /// `/probation lift SID`: ends one user's probation now.
    LiftProbation { target: SessionId },
    /// `/allow KIND [SID]`, `/forbid KIND [SID]`, `/reset KIND SID`: media and link rules
    /// for the room or for one user (`None` resets a user's rule to the room's).
    Media {
        target: MediaTarget,
        allow: Option<bool>,
        user: Option<SessionId>,
    },
    /// `/reports [all]`: the queue of reported messages (with `all`, handled ones too).
    Reports { all: bool },
    /// `/reports dismiss|delete|ban|purge [ID] [DURATION]`: handles the report of message
    /// ID, or of the message the command replies to (`None`).
    ResolveReport {
        message: Option<i64>,
        verdict: Verdict,
    },
    /// `/reports hide-after N|off|default`: how many established reporters hide a message.
    ReportHideAfter { reporters: Option<u32> },
    /// `/hashban [ID] [global]`: bans the text and attachments of message ID, or of the
    /// message the command replies to (`None`).
    HashBan { message: Option<i64>, global: bool },
    /// `/hashbans`: the hash bans in force.
    HashBans,
    /// `/hashunban BAN`: lifts a hash ban.
    HashUnban { ban: i64 },
    /// `/raid N [WINDOW [LOCKDOWN]]`, `/raid off`, `/raid default`: raid detection in the
    /// room (`None` fields: the server default).
    RaidDetection {
        new_posters: Option<u32>,
        window_secs: Option<f64>,
        lockdown_secs: Option<f64>,
    },
    /// `/flood on|off|default`: flood detection in the room (`None`: the server default).
    FloodDetection { enabled: Option<bool> },
    /// `/captcha on|off`, `/captcha attempts N`, `/captcha expiry 10m`,
    /// `/captcha greeting TEXT|default`: the greeting and captcha for first posts.
    Captcha(super::captcha::CaptchaChange),
    /// `/retention [30d] [keep N] [files 7d] [pins expire]`, `/retention off`: the room's
    /// retention, replaced as a whole; `None` (no arguments) shows it.
    Retention { set: Option<Retention> },
}

/// `/report [ID] [reason]`, which any user may type (replying to the message, or naming
/// its ID): the words after the command, kept for the door to read against the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportCommand {
    pub args: Vec<String>,
}

impl ReportCommand {
    /// The reported message and the reason: the replied-to message (`replied`) and every
    /// word as the reason, else the first word as the message ID and the rest as reason.
    pub fn target(&self, replied: Option<i64>) -> Result<(i64, Option<String>), CommandError> {
        let joined = |words: &[String]| {
            let text = words.join(" ");
            (!text.trim().is_empty()).then_some(text)
        };
        if let Some(id) = replied {
            return Ok((id, joined(&self.args)));
        }
        match self.args.first().map(|w| w.parse::<i64>()) {
            Some(Ok(id)) if id > 0 => Ok((id, joined(&self.args[1..]))),
            _ => err(
                "reply to the message you report (hold it, choose Reply) and type /report, optionally with a reason",
            ),
        }
    }
}

/// A `/report` command, typed by anyone: `None` when `body` is something else.
pub fn parse_report(body: &str) -> Option<ReportCommand> {
    let mut words = body.split_whitespace();
    let head = words.next()?;
    if !head.eq_ignore_ascii_case("/report") {
        return None;
    }
    Some(ReportCommand {
        args: words.map(str::to_string).collect(),
    })
}

/// A malformed command; the message is whispered back to the moderators as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CommandError(pub String);

fn err<T>(message: impl Into<String>) -> Result<T, CommandError> {
    Err(CommandError(message.into()))
}

/// The commands and their forms, for `/help` and error messages.
pub const HELP: &str = "\
Moderator commands (only moderators see the replies):
/help - this list
/status - slow mode, lockdown, probation and media rules now
/slowmode 30s | /slowmode off - one post per user per interval
/lockdown [2h|forever] [new [10m]] - read-only for all but moderators, or with `new` only for users first seen in the last 10m (default: from now on)
/unlock - lift the lockdown
/ban SID [1d] [global] - ban (for good without a duration)
/unban SID [global]
/purge SID [global] - ban and delete everything they posted
/ban-since 10m [to 5m] - ban and delete everything from every user first seen in that span
/joins [1h] - who was first seen here lately
/timeout SID [4h|12h|1d|3d|1w] - may read but not post (4h by default)
/untimeout SID
/probation 1h [readonly] | /probation off - new users may not post links or upload (or not post)
/probation lift SID - end one user's probation
/allow links|images|video|audio|documents [SID] - allow for the room or one user
/forbid links|images|video|audio|documents [SID]
/reset links|images|video|audio|documents SID - a user back to the room's rule
/reports [all] - the reported messages waiting for a moderator
/reports dismiss|delete|purge ID - handle a report (or reply to the message instead of ID)
/reports ban ID [1d] - ban the author from the room and delete the message
/reports hide-after 3|off|default - hide a message reported by that many established users
/hashban [ID] [global] - ban a message's text and files (or reply to it instead of ID)
/hashbans - the hash bans in force; /hashunban BAN - lift one
/raid 20 [1m [30m]] | /raid off | /raid default - lock new users out when that many post within 1m, for 30m
/flood on|off|default - refuse the same message from several new users
/captcha on|off | attempts 3 | expiry 10m | greeting TEXT|default - a code by DM before a user's first post
/retention 30d [keep 10000] [files 7d] [pins expire] | /retention off - delete old messages and uploads (admins; /retention alone shows it)
Anyone may report a message: reply to it with /report [reason].
Durations: 30s, 10m, 2h, 3d, 1w, or combined: 1h30m.";

/// `/captcha on|off`, `attempts N`, `expiry DURATION`, `greeting TEXT|default`.
fn captcha(args: &[&str]) -> Result<RoomCommand, CommandError> {
    const USAGE: &str = "usage: /captcha on|off | /captcha attempts 3 | /captcha expiry 10m | /captcha greeting TEXT|default";
    let Some((what, rest)) = args.split_first() else {
        return err(USAGE);
    };
    let mut change = super::captcha::CaptchaChange::default();
    match what.to_ascii_lowercase().as_str() {
        "on" | "yes" if rest.is_empty() => change.enabled = Some(true),
        other if is_off(other) && rest.is_empty() => change.enabled = Some(false),
        "attempts" | "tries" => {
            let [n] = rest else { return err(USAGE) };
            let n: u32 = n
                .parse()
                .map_err(|_| CommandError(format!("attempts takes a number, not {n}")))?;
            change.attempts = Some(n);
        }
        "expiry" | "expires" => {
            let [d] = rest else { return err(USAGE) };
            change.expiry_secs = Some(duration(d)?);
        }
        "greeting" => match rest {
            [] => return err(USAGE),
            [word] if word.eq_ignore_ascii_case("default") => change.greeting = Some(None),
            words => change.greeting = Some(Some(words.join(" "))),
        },
        _ => return err(USAGE),
    }
    change.validate().map_err(|e| CommandError(e.to_string()))?;
    Ok(RoomCommand::Captcha(change))
}

/// Whether `body` has the shape of a command (`/` then a letter); only then does a
/// moderator's message go to [`parse`].
pub fn looks_like_command(body: &str) -> bool {
    let mut chars = body.trim_start().chars();
    chars.next() == Some('/') && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
}

/// Parses a command body. Call only when [`looks_like_command`] holds.
pub fn parse(body: &str) -> Result<RoomCommand, CommandError> {
    let mut words = body.split_whitespace();
    let Some(head) = words.next().and_then(|w| w.strip_prefix('/')) else {
        return err("not a command; /help lists them");
    };
    let name = head.to_ascii_lowercase();
    let args: Vec<&str> = words.collect();
    let command = match name.as_str() {
        "help" | "commands" => {
            no_more(&name, &args, 0)?;
            RoomCommand::Help
        }
        "status" | "policy" => {
            no_more(&name, &args, 0)?;
            RoomCommand::Status
        }
        "raid" | "raid-detection" => raid_detection(&args)?,
        "retention" => RoomCommand::Retention {
            set: retention::parse_command(&args)?,
        },
        "flood" | "flood-detection" => {
            let arg = one(&name, &args, "on, off or default")?;
            let enabled = match arg.to_ascii_lowercase().as_str() {
                "default" => None,
                "on" | "yes" => Some(true),
                other if is_off(other) => Some(false),
                _ => return err("usage: /flood on|off|default"),
            };
            RoomCommand::FloodDetection { enabled }
        }
        "captcha" => captcha(&args)?,
        "slowmode" | "slow" => {
            let arg = one(&name, &args, "a duration (30s) or off")?;
            let secs = if is_off(arg) { 0.0 } else { duration(arg)? };
            RoomCommand::SlowMode { secs }
        }
        "lockdown" | "lock" => lockdown(&args)?,
        "unlock" | "unlockdown" => {
            no_more(&name, &args, 0)?;
            RoomCommand::Unlock
        }
        "ban" => {
            let target = session_id(args.first().copied())?;
            let mut span = Span::Forever;
            let mut reach = Reach::Room;
            for arg in args.iter().skip(1) {
                if arg.eq_ignore_ascii_case("global") {
                    reach = Reach::Global;
                } else if arg.eq_ignore_ascii_case("forever") {
                    span = Span::Forever;
                } else {
                    span = Span::Secs(duration(arg)?);
                }
            }
            if args.len() > 3 {
                return err("usage: /ban SID [DURATION] [global]");
            }
            RoomCommand::Ban {
                target,
                span,
                reach,
            }
        }
        "unban" => {
            let (target, reach) = target_and_reach(&name, &args)?;
            RoomCommand::Unban { target, reach }
        }
        "purge" | "ban-purge" | "banpurge" => {
            let (target, reach) = target_and_reach(&name, &args)?;
            RoomCommand::BanAndPurge { target, reach }
        }
        "ban-since" | "bansince" => {
            let from_ago = duration(args.first().copied().unwrap_or(""))?;
            let to_ago = match args.get(1..) {
                Some([]) | None => 0.0,
                Some([to, d]) if to.eq_ignore_ascii_case("to") => duration(d)?,
                _ => return err("usage: /ban-since 10m [to 5m]"),
            };
            if to_ago >= from_ago {
                return err(format!(
                    "/ban-since {} to {}: the end must be more recent than the start",
                    human_duration(from_ago),
                    human_duration(to_ago)
                ));
            }
            RoomCommand::BanSince { from_ago, to_ago }
        }
        "joins" | "joinlog" | "join-log" => {
            no_more(&name, &args, 1)?;
            let ago = match args.first() {
                Some(d) => duration(d)?,
                None => 3_600.0,
            };
            RoomCommand::Joins { ago }
        }
        "timeout" | "mute" => {
            let target = session_id(args.first().copied())?;
            no_more(&name, &args, 2)?;
            let secs = match args.get(1) {
                Some(d) => duration(d)?,
                None => TIMEOUT_DEFAULT_SECS,
            };
            if !(TIMEOUT_MIN_SECS..=TIMEOUT_MAX_SECS).contains(&secs) {
                return err(format!(
                    "a timeout lasts from 1m to 1w (presets: {}); for longer, /ban",
                    TIMEOUT_PRESETS.join(", ")
                ));
            }
            RoomCommand::Timeout { target, secs }
        }
        "untimeout" | "unmute" => {
            no_more(&name, &args, 1)?;
            RoomCommand::Untimeout {
                target: session_id(args.first().copied())?,
            }
        }
        "probation" => probation(&args)?,
        "allow" | "forbid" | "reset" => {
            let what = args.first().copied().unwrap_or("");
            let target = MediaTarget::parse(what).ok_or_else(|| {
                CommandError(format!(
                    "/{name} {what}: say links, images, video, audio or documents"
                ))
            })?;
            no_more(&name, &args, 2)?;
            let user = args.get(1).map(|s| session_id(Some(s))).transpose()?;
            let allow = match name.as_str() {
                "allow" => Some(true),
                "forbid" => Some(false),
                _ => None,
            };
            if allow.is_none() && user.is_none() {
                return err("usage: /reset KIND SID (a room's rule is set with /allow or /forbid)");
            }
            RoomCommand::Media {
                target,
                allow,
                user,
            }
        }
        "reports" | "queue" => reports(&args)?,
        "hashban" | "hash-ban" => {
            let mut message = None;
            let mut global = false;
            for arg in &args {
                if arg.eq_ignore_ascii_case("global") {
                    global = true;
                } else if message.is_none() {
                    message = Some(message_id(arg)?);
                } else {
                    return err("usage: /hashban [ID] [global]");
                }
            }
            RoomCommand::HashBan { message, global }
        }
        "hashbans" | "hash-bans" => {
            no_more(&name, &args, 0)?;
            RoomCommand::HashBans
        }
        "hashunban" | "hash-unban" => {
            let arg = one(
                &name,
                &args,
                "the number of a hash ban (/hashbans lists them)",
            )?;
            RoomCommand::HashUnban {
                ban: message_id(arg)?,
            }
        }
        _ => return err(format!("unknown command /{head}; /help lists them")),
    };
    Ok(command)
}

fn lockdown(args: &[&str]) -> Result<RoomCommand, CommandError> {
    let mut span = Span::Forever;
    let mut new_users_since = None;
    let mut rest = args.iter().peekable();
    if let Some(first) = rest.peek()
        && !first.eq_ignore_ascii_case("new")
    {
        span = if first.eq_ignore_ascii_case("forever") {
            Span::Forever
        } else {
            Span::Secs(duration(first)?)
        };
        rest.next();
    }
    if let Some(word) = rest.next() {
        if !word.eq_ignore_ascii_case("new") {
            return err("usage: /lockdown [2h|forever] [new [10m]]");
        }
        new_users_since = Some(match rest.next() {
            Some(d) => duration(d)?,
            None => 0.0,
        });
    }
    if rest.next().is_some() {
        return err("usage: /lockdown [2h|forever] [new [10m]]");
    }
    Ok(RoomCommand::Lockdown {
        span,
        new_users_since,
    })
}

fn reports(args: &[&str]) -> Result<RoomCommand, CommandError> {
    let usage = "usage: /reports [all] | /reports dismiss|delete|purge [ID] | /reports ban [ID] [DURATION] | /reports hide-after N|off|default";
    let Some((verb, rest)) = args.split_first() else {
        return Ok(RoomCommand::Reports { all: false });
    };
    let verb = verb.to_ascii_lowercase();
    if verb == "all" && rest.is_empty() {
        return Ok(RoomCommand::Reports { all: true });
    }
    if verb == "hide-after" || verb == "hideafter" {
        let reporters = match rest {
            [n] if n.eq_ignore_ascii_case("default") => None,
            [n] if is_off(n) => Some(0),
            [n] => Some(
                n.parse::<u32>()
                    .ok()
                    .filter(|n| *n <= 1_000)
                    .ok_or_else(|| {
                        CommandError(format!("`{n}` is not a number of reporters (0 to 1000)"))
                    })?,
            ),
            _ => return err(usage),
        };
        return Ok(RoomCommand::ReportHideAfter { reporters });
    }
    // An optional message ID first (else the replied-to message), then for a ban an
    // optional duration.
    let (message, rest) = match rest.split_first() {
        Some((first, tail)) if first.bytes().all(|b| b.is_ascii_digit()) => {
            (Some(message_id(first)?), tail)
        }
        _ => (None, rest),
    };
    let verdict = match (verb.as_str(), rest) {
        ("dismiss" | "ok" | "fine", []) => Verdict::Dismiss,
        ("delete" | "remove", []) => Verdict::Delete,
        ("purge", []) => Verdict::Purge,
        ("ban", []) => Verdict::Ban { duration: None },
        ("ban", [d]) if d.eq_ignore_ascii_case("forever") => Verdict::Ban { duration: None },
        ("ban", [d]) => Verdict::Ban {
            duration: Some(duration(d)?),
        },
        _ => return err(usage),
    };
    Ok(RoomCommand::ResolveReport { message, verdict })
}

/// A message (or hash ban) number.
fn message_id(arg: &str) -> Result<i64, CommandError> {
    arg.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| CommandError(format!("`{arg}` is not a message number")))
}

fn probation(args: &[&str]) -> Result<RoomCommand, CommandError> {
    match args {
        [lift, sid] if lift.eq_ignore_ascii_case("lift") => Ok(RoomCommand::LiftProbation {
            target: session_id(Some(sid))?,
        }),
        [off] if is_off(off) => Ok(RoomCommand::Probation {
            secs: 0.0,
            read_only: false,
        }),
        [d] => Ok(RoomCommand::Probation {
            secs: duration(d)?,
            read_only: false,
        }),
        [d, ro] if ro.eq_ignore_ascii_case("readonly") || ro.eq_ignore_ascii_case("read-only") => {
            Ok(RoomCommand::Probation {
                secs: duration(d)?,
                read_only: true,
            })
        }
        _ => err("usage: /probation 1h [readonly] | /probation off | /probation lift SID"),
    }
}

/// `/raid N [WINDOW [LOCKDOWN]]`, `/raid off`, `/raid default`.
fn raid_detection(args: &[&str]) -> Result<RoomCommand, CommandError> {
    let usage =
        "usage: /raid N [WINDOW [LOCKDOWN]] (e.g. /raid 20 1m 30m), /raid off or /raid default";
    match args {
        [word] if word.eq_ignore_ascii_case("default") => Ok(RoomCommand::RaidDetection {
            new_posters: None,
            window_secs: None,
            lockdown_secs: None,
        }),
        [word] if is_off(word) => Ok(RoomCommand::RaidDetection {
            new_posters: Some(0),
            window_secs: None,
            lockdown_secs: None,
        }),
        [n, rest @ ..] if rest.len() <= 2 => {
            let Some(new_posters) = n.parse::<u32>().ok().filter(|n| (1..=100_000).contains(n))
            else {
                return err(format!(
                    "/raid: `{n}` is not a number of new posters (1 to 100000); {usage}"
                ));
            };
            let window_secs = rest.first().map(|w| duration(w)).transpose()?;
            let lockdown_secs = rest.get(1).map(|w| duration(w)).transpose()?;
            Ok(RoomCommand::RaidDetection {
                new_posters: Some(new_posters),
                window_secs,
                lockdown_secs,
            })
        }
        _ => err(usage),
    }
}

fn is_off(word: &str) -> bool {
    ["off", "0", "none", "no"].contains(&word.to_ascii_lowercase().as_str())
}

fn no_more(name: &str, args: &[&str], max: usize) -> Result<(), CommandError> {
    if args.len() > max {
        return err(format!(
            "/{name}: unexpected `{}`; /help shows the forms",
            args[max..].join(" ")
        ));
    }
    Ok(())
}

fn one<'a>(name: &str, args: &[&'a str], what: &str) -> Result<&'a str, CommandError> {
    match args {
        [one] => Ok(one),
        [] => err(format!("/{name} needs {what}")),
        _ => no_more(name, args, 1).map(|_| ""),
    }
}

fn target_and_reach(name: &str, args: &[&str]) -> Result<(SessionId, Reach), CommandError> {
    let target = session_id(args.first().copied())?;
    match args.get(1..) {
        Some([]) | None => Ok((target, Reach::Room)),
        Some([g]) if g.eq_ignore_ascii_case("global") => Ok((target, Reach::Global)),
        _ => err(format!("usage: /{name} SID [global]")),
    }
}

/// A Session id argument (05, 15 or 25 and 64 hex digits).
fn session_id(arg: Option<&str>) -> Result<SessionId, CommandError> {
    let Some(arg) = arg else {
        return err("this command needs a Session ID (66 hex digits starting 05, 15 or 25)");
    };
    arg.parse()
        .map_err(|_| CommandError(format!("`{arg}` is not a Session ID (66 hex digits)")))
}

/// A duration: `30s`, `10m`, `2h`, `3d`, `1w`, combinations (`1h30m`), or bare seconds;
/// positive and at most a year.
pub fn duration(text: &str) -> Result<f64, CommandError> {
    duration_within(text, MAX_DURATION_SECS)
}

/// A duration as [`duration`] reads it, positive and at most `max` seconds (retention
/// counts in years where everything else stops at one).
pub fn duration_within(text: &str, max: f64) -> Result<f64, CommandError> {
    let bad = || {
        CommandError(format!(
            "`{text}` is not a duration (examples: 30s, 10m, 2h, 3d, 1w, 1h30m)"
        ))
    };
    let text = text.trim().to_ascii_lowercase();
    if text.is_empty() {
        return Err(bad());
    }
    let mut total = 0.0_f64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3_600.0,
            'd' => 86_400.0,
            'w' => 604_800.0,
            _ => return Err(bad()),
        };
        let n: f64 = number.parse().map_err(|_| bad())?;
        total += n * unit;
        number.clear();
    }
    if !number.is_empty() {
        total += number.parse::<f64>().map_err(|_| bad())?;
    }
    if !(total.is_finite() && total > 0.0) {
        return Err(bad());
    }
    if total > max {
        return err(if max <= MAX_DURATION_SECS {
            format!("`{text}` is longer than a year")
        } else {
            format!("`{text}` is longer than {}", human_duration(max))
        });
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::room_policy::MediaKind;

    const SID: &str = "15aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    fn sid() -> SessionId {
        SID.parse().unwrap()
    }

    #[test]
    fn only_a_slash_and_a_letter_look_like_a_command() {
        assert!(looks_like_command("/slowmode 30s"));
        assert!(looks_like_command("  /Help"));
        assert!(!looks_like_command("// not a command"));
        assert!(!looks_like_command("/ 2"));
        assert!(!looks_like_command("hello /slowmode"));
        assert!(!looks_like_command(""));
    }

    #[test]
    fn durations_parse_in_every_form_moderators_type() {
        assert_eq!(duration("30s").unwrap(), 30.0);
        assert_eq!(duration("10m").unwrap(), 600.0);
        assert_eq!(duration("2H").unwrap(), 7_200.0);
        assert_eq!(duration("1h30m").unwrap(), 5_400.0);
        assert_eq!(duration("1w").unwrap(), 604_800.0);
        assert_eq!(duration("45").unwrap(), 45.0);
        assert_eq!(duration("1.5h").unwrap(), 5_400.0);
        for bad in ["", "0", "-5m", "abc", "5x", "m", "1..2h", "9999w", "nan"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slowmode_takes_a_duration_or_off() {
        assert_eq!(
            parse("/slowmode 30s").unwrap(),
            RoomCommand::SlowMode { secs: 30.0 }
        );
        assert_eq!(
            parse("/SLOWMODE off").unwrap(),
            RoomCommand::SlowMode { secs: 0.0 }
        );
        assert!(parse("/slowmode").unwrap_err().0.contains("needs"));
        assert!(parse("/slowmode 30s 40s").is_err());
        assert!(
            parse("/slowmode fast")
                .unwrap_err()
                .0
                .contains("not a duration")
        );
    }

    #[test]
    fn lockdown_forms_parse_to_span_and_new_user_cutoff() {
        assert_eq!(
            parse("/lockdown").unwrap(),
            RoomCommand::Lockdown {
                span: Span::Forever,
                new_users_since: None
            }
        );
        assert_eq!(
            parse("/lockdown 2h").unwrap(),
            RoomCommand::Lockdown {
                span: Span::Secs(7_200.0),
                new_users_since: None
            }
        );
        assert_eq!(
            parse("/lockdown 2h new 10m").unwrap(),
            RoomCommand::Lockdown {
                span: Span::Secs(7_200.0),
                new_users_since: Some(600.0)
            }
        );
        assert_eq!(
            parse("/lockdown new").unwrap(),
            RoomCommand::Lockdown {
                span: Span::Forever,
                new_users_since: Some(0.0)
            }
        );
        for bad in [
            "/lockdown 2h old",
            "/lockdown 2h new 10m extra",
            "/lockdown soon",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bans_take_a_session_id_an_optional_duration_and_reach() {
        assert_eq!(
            parse(&format!("/ban {SID}")).unwrap(),
            RoomCommand::Ban {
                target: sid(),
                span: Span::Forever,
                reach: Reach::Room
            }
        );
        assert_eq!(
            parse(&format!("/ban {SID} 1d global")).unwrap(),
            RoomCommand::Ban {
                target: sid(),
                span: Span::Secs(86_400.0),
                reach: Reach::Global
            }
        );
        assert!(parse("/ban").unwrap_err().0.contains("Session ID"));
        assert!(
            parse("/ban 05abc")
                .unwrap_err()
                .0
                .contains("not a Session ID")
        );
        assert_eq!(
            parse(&format!("/purge {SID} global")).unwrap(),
            RoomCommand::BanAndPurge {
                target: sid(),
                reach: Reach::Global
            }
        );
        assert!(parse(&format!("/purge {SID} everywhere")).is_err());
    }

    #[test]
    fn ban_since_needs_a_start_before_its_end() {
        assert_eq!(
            parse("/ban-since 10m").unwrap(),
            RoomCommand::BanSince {
                from_ago: 600.0,
                to_ago: 0.0
            }
        );
        assert_eq!(
            parse("/ban-since 10m to 5m").unwrap(),
            RoomCommand::BanSince {
                from_ago: 600.0,
                to_ago: 300.0
            }
        );
        assert!(parse("/ban-since").is_err());
        assert!(parse("/ban-since 5m to 10m").is_err());
        assert!(parse("/ban-since 10m until 5m").is_err());
    }

    #[test]
    fn timeouts_stay_between_a_minute_and_a_week() {
        assert_eq!(
            parse(&format!("/timeout {SID}")).unwrap(),
            RoomCommand::Timeout {
                target: sid(),
                secs: TIMEOUT_DEFAULT_SECS
            }
        );
        assert_eq!(
            parse(&format!("/timeout {SID} 1w")).unwrap(),
            RoomCommand::Timeout {
                target: sid(),
                secs: 604_800.0
            }
        );
        assert!(parse(&format!("/timeout {SID} 2w")).is_err());
        assert!(parse(&format!("/timeout {SID} 10s")).is_err());
    }

    #[test]
    fn probation_sets_lifts_or_turns_off() {
        assert_eq!(
            parse("/probation 1h readonly").unwrap(),
            RoomCommand::Probation {
                secs: 3_600.0,
                read_only: true
            }
        );
        assert_eq!(
            parse("/probation off").unwrap(),
            RoomCommand::Probation {
                secs: 0.0,
                read_only: false
            }
        );
        assert_eq!(
            parse(&format!("/probation lift {SID}")).unwrap(),
            RoomCommand::LiftProbation { target: sid() }
        );
        assert!(parse("/probation lift").is_err());
        assert!(parse("/probation").is_err());
    }

    #[test]
    fn media_rules_name_a_kind_and_optionally_a_user() {
        assert_eq!(
            parse("/forbid links").unwrap(),
            RoomCommand::Media {
                target: MediaTarget::Links,
                allow: Some(false),
                user: None
            }
        );
        assert_eq!(
            parse(&format!("/allow images {SID}")).unwrap(),
            RoomCommand::Media {
                target: MediaTarget::Kind(MediaKind::Image),
                allow: Some(true),
                user: Some(sid())
            }
        );
        assert!(parse("/reset links").is_err());
        assert!(parse("/forbid gifs").unwrap_err().0.contains("say links"));
    }

    #[test]
    fn report_queue_commands_name_a_message_or_the_reply() {
        assert_eq!(
            parse("/reports").unwrap(),
            RoomCommand::Reports { all: false }
        );
        assert_eq!(
            parse("/reports all").unwrap(),
            RoomCommand::Reports { all: true }
        );
        assert_eq!(
            parse("/reports dismiss 12").unwrap(),
            RoomCommand::ResolveReport {
                message: Some(12),
                verdict: Verdict::Dismiss
            }
        );
        assert_eq!(
            parse("/reports ban 12 1d").unwrap(),
            RoomCommand::ResolveReport {
                message: Some(12),
                verdict: Verdict::Ban {
                    duration: Some(86_400.0)
                }
            }
        );
        assert_eq!(
            parse("/reports ban").unwrap(),
            RoomCommand::ResolveReport {
                message: None,
                verdict: Verdict::Ban { duration: None }
            }
        );
        assert_eq!(
            parse("/reports hide-after off").unwrap(),
            RoomCommand::ReportHideAfter { reporters: Some(0) }
        );
        assert_eq!(
            parse("/reports hide-after default").unwrap(),
            RoomCommand::ReportHideAfter { reporters: None }
        );
        for bad in [
            "/reports nuke 1",
            "/reports delete 1 2",
            "/reports ban 1 soon",
            "/reports hide-after lots",
            "/reports dismiss 0",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hash_ban_commands_parse_and_refuse_junk() {
        assert_eq!(
            parse("/hashban 7 global").unwrap(),
            RoomCommand::HashBan {
                message: Some(7),
                global: true
            }
        );
        assert_eq!(
            parse("/hashban").unwrap(),
            RoomCommand::HashBan {
                message: None,
                global: false
            }
        );
        assert_eq!(parse("/hashbans").unwrap(), RoomCommand::HashBans);
        assert_eq!(
            parse("/raid 20 1m 30m").unwrap(),
            RoomCommand::RaidDetection {
                new_posters: Some(20),
                window_secs: Some(60.0),
                lockdown_secs: Some(1_800.0),
            }
        );
        assert_eq!(
            parse("/raid off").unwrap(),
            RoomCommand::RaidDetection {
                new_posters: Some(0),
                window_secs: None,
                lockdown_secs: None,
            }
        );
        assert_eq!(
            parse("/raid default").unwrap(),
            RoomCommand::RaidDetection {
                new_posters: None,
                window_secs: None,
                lockdown_secs: None,
            }
        );
        assert_eq!(parse("/raid 0").unwrap(), parse("/raid off").unwrap());
        assert_eq!(
            parse("/flood OFF").unwrap(),
            RoomCommand::FloodDetection {
                enabled: Some(false)
            }
        );
        assert_eq!(
            parse("/flood default").unwrap(),
            RoomCommand::FloodDetection { enabled: None }
        );
        for bad in [
            "/raid",
            "/raid many",
            "/raid -3",
            "/raid 20 soon",
            "/raid 20 1m 30m 2h",
            "/flood",
            "/flood maybe",
            "/flood on off",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse("/hashunban 3").unwrap(),
            RoomCommand::HashUnban { ban: 3 }
        );
        assert!(parse("/hashban seven").is_err());
        assert!(parse("/hashban 1 2").is_err());
        assert!(parse("/hashunban").is_err());
    }

    #[test]
    fn report_takes_the_reply_or_an_id_and_a_reason() {
        assert_eq!(parse_report("hello"), None);
        assert_eq!(parse_report("/reports"), None);
        let r = parse_report("/REPORT spam bot").unwrap();
        assert_eq!(r.target(Some(5)).unwrap(), (5, Some("spam bot".into())));
        assert!(
            r.target(None)
                .unwrap_err()
                .0
                .contains("reply to the message")
        );
        let r = parse_report("/report 9 rude").unwrap();
        assert_eq!(r.target(None).unwrap(), (9, Some("rude".into())));
        assert_eq!(
            parse_report("/report").unwrap().target(Some(1)).unwrap(),
            (1, None)
        );
    }

    #[test]
    fn unknown_commands_and_extra_words_are_clear_errors() {
        assert!(
            parse("/lockdwn 2h")
                .unwrap_err()
                .0
                .contains("unknown command /lockdwn")
        );
        assert!(parse("/help me").is_err());
        assert_eq!(parse("/help").unwrap(), RoomCommand::Help);
        assert_eq!(
            parse("/joins").unwrap(),
            RoomCommand::Joins { ago: 3_600.0 }
        );
    }

    #[test]
    fn captcha_settings_parse_and_bad_ones_are_explained() {
        use crate::domain::captcha::CaptchaChange;
        let change = |c: CaptchaChange| RoomCommand::Captcha(c);
        assert_eq!(
            parse("/captcha on").unwrap(),
            change(CaptchaChange {
                enabled: Some(true),
                ..Default::default()
            })
        );
        assert_eq!(
            parse("/captcha OFF").unwrap(),
            change(CaptchaChange {
                enabled: Some(false),
                ..Default::default()
            })
        );
        assert_eq!(
            parse("/captcha attempts 5").unwrap(),
            change(CaptchaChange {
                attempts: Some(5),
                ..Default::default()
            })
        );
        assert_eq!(
            parse("/captcha expiry 2m").unwrap(),
            change(CaptchaChange {
                expiry_secs: Some(120.0),
                ..Default::default()
            })
        );
        assert_eq!(
            parse("/captcha greeting Hello   there, read the rules").unwrap(),
            change(CaptchaChange {
                greeting: Some(Some("Hello there, read the rules".into())),
                ..Default::default()
            })
        );
        assert_eq!(
            parse("/captcha greeting default").unwrap(),
            change(CaptchaChange {
                greeting: Some(None),
                ..Default::default()
            })
        );
        for bad in [
            "/captcha",
            "/captcha maybe",
            "/captcha on now",
            "/captcha attempts",
            "/captcha attempts many",
            "/captcha attempts 0",
            "/captcha attempts 99",
            "/captcha attempts -1",
            "/captcha expiry",
            "/captcha expiry 1s",
            "/captcha expiry soon",
            "/captcha greeting",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
