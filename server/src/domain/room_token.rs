//! Room tokens: the name of a room in its URL.

use std::fmt;

/// A valid room token: 1–64 characters of `[A-Za-z0-9_-]`. Tokens compare
/// case-insensitively in storage; this type keeps the spelling it was given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoomToken(String);

/// Why a string is not a room token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid room token {0:?}: use 1 to 64 letters, digits, '_' or '-'")]
pub struct InvalidRoomToken(pub String);

/// Whether `s` is 1–64 characters of `[A-Za-z0-9_-]`: a name that fits a URL path segment
/// and a command line as it is (room tokens, bot names).
pub fn is_url_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl RoomToken {
    pub fn parse(s: &str) -> Result<Self, InvalidRoomToken> {
        if is_url_name(s) {
            Ok(Self(s.to_string()))
        } else {
            Err(InvalidRoomToken(s.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoomToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The URL a Session user pastes to join a room.
pub fn join_url(base_url: &str, token: &str, server_pubkey_hex: &str) -> String {
    format!(
        "{}/{}?public_key={}",
        base_url.trim_end_matches('/'),
        token,
        server_pubkey_hex
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_of_letters_digits_dash_and_underscore_up_to_64_are_accepted() {
        for t in ["a", "Lobby", "my-room_2", &"x".repeat(64)] {
            assert_eq!(RoomToken::parse(t).unwrap().as_str(), t);
        }
    }

    #[test]
    fn empty_long_and_odd_tokens_are_refused() {
        for t in ["", &"x".repeat(65), "a b", "a/b", "ä", "room.1", "a\0"] {
            assert!(RoomToken::parse(t).is_err(), "{t:?} accepted");
        }
    }

    #[test]
    fn join_url_has_token_and_key_and_no_double_slash() {
        assert_eq!(
            join_url("http://sogs.test/", "lobby", "ab"),
            "http://sogs.test/lobby?public_key=ab"
        );
    }
}
