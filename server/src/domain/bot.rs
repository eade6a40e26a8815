//! Bots: the name an operator registers a bot under.

use std::fmt;

/// A bot's name: 1–64 characters of `[A-Za-z0-9_-]`, so that it fits a URL path segment
/// (`/sogs-rs/bots/{name}`) and a command line as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BotName(String);

/// Why a string is not a bot name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid bot name {0:?}: use 1 to 64 letters, digits, '_' or '-'")]
pub struct InvalidBotName(pub String);

impl BotName {
    pub fn parse(s: &str) -> Result<Self, InvalidBotName> {
        if super::room_token::is_url_name(s) {
            Ok(Self(s.to_string()))
        } else {
            Err(InvalidBotName(s.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BotName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_letters_digits_dash_and_underscore_up_to_64_are_accepted() {
        for n in ["greeter", "Greeter_2", "a-b", &"x".repeat(64)] {
            assert_eq!(BotName::parse(n).unwrap().as_str(), n);
        }
    }

    #[test]
    fn empty_long_and_odd_names_are_refused() {
        for n in ["", &"x".repeat(65), "a b", "a/b", "bö", "a.b", "a\0"] {
            assert!(BotName::parse(n).is_err(), "{n:?} accepted");
        }
    }
}
