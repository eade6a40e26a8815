//! Where the load goes: a room join URL, exactly as operators hand it to users.

use sogs::crypto::ServerPublicKey;
use sogs::domain::RoomToken;

/// A parsed join URL `{base}/{token}?public_key={hex}`.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinUrl {
    pub base: String,
    pub token: String,
    pub server_pk: ServerPublicKey,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum JoinUrlError {
    #[error("a join URL starts with http:// or https://")]
    Scheme,
    #[error("a join URL ends in ?public_key= followed by 64 hex digits")]
    PublicKey,
    #[error("a join URL names a room: {{base}}/{{token}}?public_key=…")]
    Token,
}

impl std::str::FromStr for JoinUrl {
    type Err = JoinUrlError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(JoinUrlError::Scheme);
        }
        let (path, query) = url.split_once('?').ok_or(JoinUrlError::PublicKey)?;
        let hex = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("public_key="))
            .ok_or(JoinUrlError::PublicKey)?;
        let server_pk = hex.parse().map_err(|_| JoinUrlError::PublicKey)?;
        let (base, token) = path.rsplit_once('/').ok_or(JoinUrlError::Token)?;
        let token = RoomToken::parse(token).map_err(|_| JoinUrlError::Token)?;
        if base.ends_with(':') || base.ends_with('/') {
            return Err(JoinUrlError::Token);
        }
        Ok(Self {
            base: base.to_string(),
            token: token.as_str().to_string(),
            server_pk,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "b6639d3f2ea8c08e1c5c40bc0f8a50e6f8ec08d6c3bfe0d11fc3b0c7bb3b2f21";

    #[test]
    fn a_join_url_gives_base_token_and_key() {
        let url: JoinUrl = format!("http://127.0.0.1:8080/lobby?public_key={KEY}")
            .parse()
            .unwrap();
        assert_eq!(url.base, "http://127.0.0.1:8080");
        assert_eq!(url.token, "lobby");
        assert_eq!(url.server_pk.to_hex(), KEY);
    }

    #[test]
    fn malformed_join_urls_say_what_is_wrong() {
        for (url, err) in [
            (
                format!("ftp://x/lobby?public_key={KEY}"),
                JoinUrlError::Scheme,
            ),
            ("http://x/lobby".to_string(), JoinUrlError::PublicKey),
            (
                "http://x/lobby?public_key=abc".to_string(),
                JoinUrlError::PublicKey,
            ),
            (format!("http://x/lobby?pk={KEY}"), JoinUrlError::PublicKey),
            (
                format!("http://x/bad room?public_key={KEY}"),
                JoinUrlError::Token,
            ),
            (format!("http://x/?public_key={KEY}"), JoinUrlError::Token),
            (
                format!("http://lobby?public_key={KEY}"),
                JoinUrlError::Token,
            ),
        ] {
            assert_eq!(url.parse::<JoinUrl>().unwrap_err(), err, "{url}");
        }
    }
}
