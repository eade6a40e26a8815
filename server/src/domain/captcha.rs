//! Greeting and captcha (issue 15): the rules, pure and clock-free.
//!
//! With the captcha on in a room, a user's first post there is refused (403) and the server
//! DMs them a greeting and a short numeric code; replying with the code by DM lets them
//! post. The challenge is text, not an image: Session clients show a DM's text everywhere
//! (desktop, mobile, notifications), an image would need an upload to the file server and
//! an attachment a client may not download from an unknown sender (DMs from new contacts
//! land in "message requests"), and the point is to stop unattended bulk accounts, which a
//! code that arrives only in the account's own encrypted inbox does: a bot must poll and
//! decrypt its inbox and answer, per room, within the expiry.

use super::admission::human_duration;

/// Wrong answers allowed before the user must wait, when the room does not say.
pub const DEFAULT_ATTEMPTS: u32 = 3;
/// How long a code can be answered (and how long a user who ran out of tries waits for a
/// new one), when the room does not say.
pub const DEFAULT_EXPIRY_SECS: f64 = 600.0;
/// Limits on the settings.
pub const MAX_ATTEMPTS: u32 = 20;
pub const MIN_EXPIRY_SECS: f64 = 30.0;
pub const MAX_EXPIRY_SECS: f64 = 7.0 * 86_400.0;
pub const MAX_GREETING_CHARS: usize = 1_000;
/// Digits in a code.
pub const CODE_DIGITS: usize = 6;

/// The captcha as a room has it in force.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptchaRule {
    pub enabled: bool,
    /// The room's own greeting (`None`: "Welcome to <room name>!").
    pub greeting: Option<String>,
    /// Wrong answers allowed before the user must wait `expiry_secs` for a new code.
    pub attempts: u32,
    pub expiry_secs: f64,
}

impl Default for CaptchaRule {
    fn default() -> Self {
        Self {
            enabled: false,
            greeting: None,
            attempts: DEFAULT_ATTEMPTS,
            expiry_secs: DEFAULT_EXPIRY_SECS,
        }
    }
}

/// A change to a room's captcha: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaptchaChange {
    pub enabled: Option<bool>,
    /// `Some(None)`: back to the default greeting.
    pub greeting: Option<Option<String>>,
    pub attempts: Option<u32>,
    pub expiry_secs: Option<f64>,
}

/// Why a captcha setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptchaSettingError {
    #[error("Captcha attempts take 1 to {MAX_ATTEMPTS} wrong answers")]
    Attempts,
    #[error("A captcha code stays valid from 30 seconds to a week")]
    Expiry,
    #[error("A greeting has at most {MAX_GREETING_CHARS} characters and is not blank")]
    Greeting,
}

impl CaptchaChange {
    /// Checks the values a change sets.
    pub fn validate(&self) -> Result<(), CaptchaSettingError> {
        if self.attempts.is_some_and(|a| a == 0 || a > MAX_ATTEMPTS) {
            return Err(CaptchaSettingError::Attempts);
        }
        if self
            .expiry_secs
            .is_some_and(|s| !(s.is_finite() && (MIN_EXPIRY_SECS..=MAX_EXPIRY_SECS).contains(&s)))
        {
            return Err(CaptchaSettingError::Expiry);
        }
        if let Some(Some(g)) = &self.greeting
            && (g.trim().is_empty() || g.chars().count() > MAX_GREETING_CHARS)
        {
            return Err(CaptchaSettingError::Greeting);
        }
        Ok(())
    }

    /// Whether the change sets nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A code of [`CODE_DIGITS`] digits from a random number.
pub fn code_from(random: u64) -> String {
    format!("{:06}", random % 1_000_000)
}

/// Whether a post's text is an attempt at a code: digits, perhaps with spaces or
/// punctuation, and no letters.
pub fn looks_like_code(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_digit()) && !text.chars().any(|c| c.is_alphabetic())
}

/// Whether a DM's text answers `code`: the code, possibly with spaces, dashes or other
/// punctuation around or inside it ("48 21 93", "#482193."), nothing else with digits.
pub fn answers(text: &str, code: &str) -> bool {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let letters = text.chars().any(char::is_alphanumeric)
        && text
            .chars()
            .filter(|c| c.is_alphanumeric())
            .any(|c| !c.is_ascii_digit());
    !letters && digits == code
}

/// The rule as JSON, for the API, `/status` and the audit log.
pub fn rule_json(rule: &CaptchaRule) -> serde_json::Value {
    serde_json::json!({
        "enabled": rule.enabled,
        "greeting": rule.greeting,
        "attempts": rule.attempts,
        "expiry": rule.expiry_secs,
    })
}

/// The rule in words.
pub fn describe(rule: &CaptchaRule) -> String {
    if !rule.enabled {
        return "Captcha: off".into();
    }
    format!(
        "Captcha: on (a code by DM before the first post; {} {}, valid for {}{})",
        rule.attempts,
        if rule.attempts == 1 { "try" } else { "tries" },
        human_duration(rule.expiry_secs),
        if rule.greeting.is_some() {
            ", own greeting"
        } else {
            ""
        }
    )
}

/// The DM that greets a user and sets the challenge.
pub fn challenge_text(rule: &CaptchaRule, room_name: &str, code: &str) -> String {
    let greeting = rule
        .greeting
        .clone()
        .unwrap_or_else(|| format!("Welcome to {room_name}!"));
    format!(
        "{greeting}\n\nTo post in {room_name}, reply to this message with the code {code}. \
         It is valid for {}; you have {} {}.",
        human_duration(rule.expiry_secs),
        rule.attempts,
        if rule.attempts == 1 { "try" } else { "tries" }
    )
}

/// The 403 a user gets while their challenge is open.
pub fn pending_refusal(room_name: &str) -> String {
    format!(
        "Before your first post in {room_name}, answer the code the server sent you \
         (look in your message requests): reply to it, or post the code here"
    )
}

/// The 403 a user gets after too many wrong answers.
pub fn locked_refusal(room_name: &str, wait_secs: f64) -> String {
    format!(
        "Too many wrong answers for {room_name}; post again in {} for a new code",
        human_duration(wait_secs)
    )
}

/// The reply to a correct answer.
pub fn passed_text(room_name: &str) -> String {
    format!("Thank you! You can post in {room_name} now.")
}

/// The reply to a wrong answer (`left` tries remain; 0: locked for `wait_secs`).
pub fn wrong_text(room_name: &str, left: u32, wait_secs: f64) -> String {
    if left == 0 {
        format!(
            "That is not the code for {room_name}, and that was the last try. Post in the \
             room again in {} for a new code.",
            human_duration(wait_secs)
        )
    } else {
        format!(
            "That is not the code for {room_name}. {left} {} left.",
            if left == 1 { "try" } else { "tries" }
        )
    }
}

/// The reply to an answer after the code expired.
pub fn expired_text(room_name: &str) -> String {
    format!("That code for {room_name} has expired. Post in the room again for a new one.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_six_digits() {
        assert_eq!(code_from(42), "000042");
        assert_eq!(code_from(1_234_567), "234567");
        assert_eq!(code_from(u64::MAX).len(), CODE_DIGITS);
    }

    #[test]
    fn an_answer_is_the_code_with_any_spacing_or_punctuation() {
        for ok in ["482193", " 482193\n", "48 21 93", "#482193.", "482-193"] {
            assert!(answers(ok, "482193"), "{ok:?}");
        }
        for wrong in [
            "",
            "48219",
            "4821930",
            "482194",
            "the code is 482193",
            "482193 ok",
            "x482193",
        ] {
            assert!(!answers(wrong, "482193"), "{wrong:?}");
        }
    }

    #[test]
    fn code_attempts_are_digits_without_letters() {
        assert!(looks_like_code("482193") && looks_like_code(" 48-21 93. "));
        assert!(!looks_like_code("hello") && !looks_like_code("code 482193"));
        assert!(!looks_like_code(""));
    }

    #[test]
    fn settings_out_of_range_are_refused() {
        let ok = CaptchaChange {
            enabled: Some(true),
            greeting: Some(Some("Hi".into())),
            attempts: Some(3),
            expiry_secs: Some(600.0),
        };
        assert_eq!(ok.validate(), Ok(()));
        for (change, err) in [
            (
                CaptchaChange {
                    attempts: Some(0),
                    ..Default::default()
                },
                CaptchaSettingError::Attempts,
            ),
            (
                CaptchaChange {
                    attempts: Some(MAX_ATTEMPTS + 1),
                    ..Default::default()
                },
                CaptchaSettingError::Attempts,
            ),
            (
                CaptchaChange {
                    expiry_secs: Some(5.0),
                    ..Default::default()
                },
                CaptchaSettingError::Expiry,
            ),
            (
                CaptchaChange {
                    expiry_secs: Some(f64::NAN),
                    ..Default::default()
                },
                CaptchaSettingError::Expiry,
            ),
            (
                CaptchaChange {
                    greeting: Some(Some("  ".into())),
                    ..Default::default()
                },
                CaptchaSettingError::Greeting,
            ),
            (
                CaptchaChange {
                    greeting: Some(Some("x".repeat(MAX_GREETING_CHARS + 1))),
                    ..Default::default()
                },
                CaptchaSettingError::Greeting,
            ),
        ] {
            assert_eq!(change.validate(), Err(err), "{change:?}");
        }
    }

    #[test]
    fn the_challenge_names_the_room_code_expiry_and_tries() {
        let rule = CaptchaRule {
            enabled: true,
            ..Default::default()
        };
        let text = challenge_text(&rule, "Lobby", "004821");
        assert!(text.starts_with("Welcome to Lobby!"), "{text}");
        assert!(
            text.contains("004821") && text.contains("3 tries"),
            "{text}"
        );
        let own = CaptchaRule {
            greeting: Some("Read the rules first.".into()),
            attempts: 1,
            ..rule
        };
        let text = challenge_text(&own, "Lobby", "1");
        assert!(text.starts_with("Read the rules first."), "{text}");
        assert!(text.contains("1 try."), "{text}");
    }
}
