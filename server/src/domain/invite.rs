//! Invite links for private rooms: codes, what an invite grants, and whether it can still
//! be used. Pure: times are parameters.

use std::fmt;

/// An invite code as it appears in `/invite/{code}`: 8–64 characters of `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteCode(String);

/// Why a code was refused before looking it up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an invite code")]
pub struct InvalidInviteCode;

impl InviteCode {
    pub fn parse(raw: &str) -> Result<Self, InvalidInviteCode> {
        let ok = (8..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(InvalidInviteCode)
        }
    }

    /// A fresh code: 128 random bits, URL-safe base64 without padding (22 characters).
    pub fn generate() -> Self {
        use base64::Engine;
        let bytes = rand::random::<[u8; 16]>();
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InviteCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What redeeming an invite grants in its room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub read: bool,
    pub write: bool,
    pub upload: bool,
}

impl Grant {
    /// Parses `read,write,upload` (any of them, at least one).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut grant = Grant {
            read: false,
            write: false,
            upload: false,
        };
        for part in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match part.to_ascii_lowercase().as_str() {
                "read" => grant.read = true,
                "write" => grant.write = true,
                "upload" => grant.upload = true,
                other => {
                    return Err(format!(
                        "unknown permission {other:?}: expected read, write or upload"
                    ));
                }
            }
        }
        if !(grant.read || grant.write || grant.upload) {
            return Err("grant at least one of read, write, upload".into());
        }
        Ok(grant)
    }

    /// `read, write` for pages and listings.
    pub fn describe(&self) -> String {
        [
            (self.read, "read"),
            (self.write, "write"),
            (self.upload, "upload"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(", ")
    }
}

/// Why an invite cannot be used now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    Revoked,
    Expired,
    UsedUp,
}

impl Unusable {
    /// What the invite page says.
    pub fn explain(self) -> &'static str {
        match self {
            Unusable::Revoked => "This invite was revoked by the room's moderators.",
            Unusable::Expired => "This invite has expired.",
            Unusable::UsedUp => "This invite has been used as many times as it allows.",
        }
    }
}

/// Whether an invite with these fields can be used at `now`.
pub fn usable(
    revoked: Option<f64>,
    expires: Option<f64>,
    uses: i64,
    max_uses: Option<i64>,
    now: f64,
) -> Result<(), Unusable> {
    if revoked.is_some() {
        return Err(Unusable::Revoked);
    }
    if expires.is_some_and(|at| at <= now) {
        return Err(Unusable::Expired);
    }
    if max_uses.is_some_and(|max| uses >= max) {
        return Err(Unusable::UsedUp);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_url_safe_and_of_sensible_length() {
        let code = InviteCode::generate();
        assert_eq!(code.as_str().len(), 22);
        assert_eq!(InviteCode::parse(code.as_str()), Ok(code));
        assert!(InviteCode::parse("short").is_err());
        assert!(InviteCode::parse("has spaces in it").is_err());
        assert!(InviteCode::parse("../../etc/passwd").is_err());
        assert!(InviteCode::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn grants_parse_from_a_list() {
        let g = Grant::parse("read, write").unwrap();
        assert_eq!(
            g,
            Grant {
                read: true,
                write: true,
                upload: false
            }
        );
        assert_eq!(g.describe(), "read, write");
        assert!(Grant::parse("read,admin").is_err());
        assert!(Grant::parse("").is_err());
    }

    #[test]
    fn an_invite_is_unusable_once_revoked_expired_or_used_up() {
        assert_eq!(usable(None, None, 5, None, 100.0), Ok(()));
        assert_eq!(usable(None, Some(200.0), 0, Some(1), 100.0), Ok(()));
        assert_eq!(
            usable(Some(50.0), None, 0, None, 100.0),
            Err(Unusable::Revoked)
        );
        assert_eq!(
            usable(None, Some(100.0), 0, None, 100.0),
            Err(Unusable::Expired)
        );
        assert_eq!(usable(None, None, 3, Some(3), 100.0), Err(Unusable::UsedUp));
    }
}
