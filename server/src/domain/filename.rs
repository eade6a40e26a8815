//! The user-visible name of an uploaded file (spec §5.5, §6.8): read from the upload's
//! `Content-Disposition`, made safe to store, and quoted back into the download's.
//!
//! The name is only ever *shown*: the bytes are stored under a name derived from the file
//! id, so nothing here has to keep a hostile name away from the filesystem. What it does
//! guarantee is that a stored name has no NUL (PostgreSQL text cannot hold one), no path
//! separators or control characters (clients save attachments under it), and a bounded
//! length.

use std::fmt;

/// Longest name kept, in characters; longer names keep their start and their end (where
/// the extension is) around an ellipsis.
pub const MAX_CHARS: usize = 255;
const HEAD_CHARS: usize = 200;
const ELLIPSIS: &str = "...";

/// A sanitised, non-empty file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName(String);

impl FileName {
    /// Sanitises `raw`: NUL, `/`, `\` and control characters become U+FFFD (PySOGS replaces
    /// NUL and `/`), and an overlong name is shortened. `None` if nothing is left.
    pub fn new(raw: &str) -> Option<Self> {
        if raw.is_empty() {
            return None;
        }
        let cleaned: String = raw
            .chars()
            .map(|c| {
                if c == '/' || c == '\\' || c.is_control() {
                    char::REPLACEMENT_CHARACTER
                } else {
                    c
                }
            })
            .collect();
        let count = cleaned.chars().count();
        if count <= MAX_CHARS {
            return Some(Self(cleaned));
        }
        let tail_chars = MAX_CHARS - HEAD_CHARS - ELLIPSIS.len();
        let head: String = cleaned.chars().take(HEAD_CHARS).collect();
        let tail: String = cleaned.chars().skip(count - tail_chars).collect();
        Some(Self(format!("{head}{ELLIPSIS}{tail}")))
    }

    /// The name given by an upload's `Content-Disposition` header: RFC 5987's
    /// `filename*=UTF-8''…` when present and well-formed, else a plain `filename=`. A
    /// malformed header or parameter yields no name rather than an error, as a name is
    /// optional.
    pub fn from_content_disposition(header: &str) -> Option<Self> {
        let params = disposition_params(header);
        let value_of = |wanted: &str| {
            params
                .iter()
                .find(|(name, _)| name == wanted)
                .map(|(_, value)| value.as_str())
        };
        value_of("filename*")
            .and_then(decode_ext_value)
            .and_then(|raw| Self::new(&raw))
            .or_else(|| value_of("filename").and_then(Self::new))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The download's `Content-Disposition`: `attachment`, plus
/// `filename*=UTF-8''<quoted>` when the file has a name, quoted as Python's
/// `urllib.parse.quote` does (what PySOGS sends and clients expect).
pub fn download_disposition(name: Option<&str>) -> String {
    match name.filter(|n| !n.is_empty()) {
        None => "attachment".to_string(),
        Some(name) => format!("attachment; filename*=UTF-8''{}", python_quote(name)),
    }
}

/// Python's `urllib.parse.quote(s)`: UTF-8 bytes, `A-Z a-z 0-9 _ . - ~ /` kept, everything
/// else as upper-case `%XX`.
pub fn python_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `name=value` parameters after the disposition type, names lower-cased, quoted
/// strings unescaped. Parsing stops at the first malformed parameter (an unterminated
/// quoted string), keeping what came before.
fn disposition_params(header: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let Some((_, mut rest)) = header.split_once(';') else {
        return params;
    };
    loop {
        rest = rest.trim_start_matches(|c: char| c == ';' || c.is_whitespace());
        if rest.is_empty() {
            return params;
        }
        let name_end = rest.find(['=', ';']).unwrap_or(rest.len());
        let name = rest[..name_end].trim().to_ascii_lowercase();
        rest = &rest[name_end..];
        let Some(after_eq) = rest.strip_prefix('=') else {
            // A parameter without a value: skip it.
            continue;
        };
        let after_eq = after_eq.trim_start();
        let value = if let Some(quoted) = after_eq.strip_prefix('"') {
            let Some((value, consumed)) = unquote(quoted) else {
                return params;
            };
            rest = &quoted[consumed..];
            value
        } else {
            let end = after_eq.find(';').unwrap_or(after_eq.len());
            rest = &after_eq[end..];
            after_eq[..end].trim().to_string()
        };
        params.push((name, value));
    }
}

/// Reads a quoted string whose opening `"` is already consumed: returns the unescaped
/// text and how many bytes of `s` it took (closing quote included); `None` if unterminated.
fn unquote(s: &str) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, i + 1)),
            '\\' => out.push(chars.next()?.1),
            c => out.push(c),
        }
    }
    None
}

/// Decodes an RFC 5987 `ext-value`, `charset'language'pct-encoded`. UTF-8 and ISO-8859-1
/// are understood; another charset, a bad `%` escape or bytes that are not valid in the
/// charset make the value unusable (`None`).
fn decode_ext_value(value: &str) -> Option<String> {
    let mut parts = value.splitn(3, '\'');
    let charset = parts.next()?.trim().to_ascii_lowercase();
    let _language = parts.next()?;
    let encoded = parts.next()?;
    let bytes = percent_decode_strict(encoded)?;
    match charset.as_str() {
        "utf-8" => String::from_utf8(bytes).ok(),
        "iso-8859-1" => Some(bytes.into_iter().map(char::from).collect()),
        _ => None,
    }
}

/// `%XX` escapes to bytes; `None` on a `%` not followed by two hex digits.
fn percent_decode_strict(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(header: &str) -> Option<String> {
        FileName::from_content_disposition(header).map(|n| n.as_str().to_string())
    }

    #[test]
    fn rfc5987_utf8_names_are_decoded() {
        assert_eq!(
            parsed("attachment; filename*=UTF-8''%F0%9F%8D%8D%20pine.png").as_deref(),
            Some("🍍 pine.png")
        );
        assert_eq!(
            parsed("attachment; filename*=utf-8'en'na%C3%AFve.txt").as_deref(),
            Some("naïve.txt")
        );
        assert_eq!(
            parsed("attachment; filename*=ISO-8859-1''caf%E9").as_deref(),
            Some("café")
        );
    }

    #[test]
    fn plain_quoted_and_token_names_are_read() {
        assert_eq!(
            parsed(r#"attachment; filename="a \"b\";c.txt""#).as_deref(),
            Some(r#"a "b";c.txt"#)
        );
        assert_eq!(
            parsed("attachment;filename=x.jpg;size=3").as_deref(),
            Some("x.jpg")
        );
        assert_eq!(
            parsed("inline; FILENAME = \"y.gif\"").as_deref(),
            Some("y.gif")
        );
    }

    #[test]
    fn the_extended_name_wins_over_the_plain_one_unless_malformed() {
        let both = "attachment; filename=\"plain.txt\"; filename*=UTF-8''ext.txt";
        assert_eq!(parsed(both).as_deref(), Some("ext.txt"));
        for bad_ext in [
            "UTF-8''bad%zzname",
            "UTF-8''trunc%4",
            "UTF-8''%FF%FE",
            "KOI8-R''x",
            "no-quotes-at-all",
            "UTF-8''",
        ] {
            let header = format!("attachment; filename=\"plain.txt\"; filename*={bad_ext}");
            assert_eq!(parsed(&header).as_deref(), Some("plain.txt"), "{bad_ext}");
        }
    }

    #[test]
    fn malformed_headers_give_no_name_and_never_panic() {
        for header in [
            "",
            "attachment",
            "attachment;",
            "attachment; filename",
            "attachment; filename=",
            "attachment; filename=\"",
            "attachment; filename=\"unterminated",
            "attachment; filename*=",
            "attachment; filename*=UTF-8''",
            "attachment; =x",
            ";;;;",
            "attachment; filename=\"\\",
            "attachment; filename*=UTF-8''%",
            "attachment; filename*=UTF-8''%é1",
        ] {
            assert_eq!(parsed(header), None, "{header:?}");
        }
    }

    #[test]
    fn hostile_characters_are_replaced() {
        let name = FileName::new("../../etc/passwd\0.png").unwrap();
        assert_eq!(
            name.as_str(),
            "..\u{fffd}..\u{fffd}etc\u{fffd}passwd\u{fffd}.png"
        );
        assert_eq!(
            FileName::new("a\\b\r\nc\u{7f}").unwrap().as_str(),
            "a\u{fffd}b\u{fffd}\u{fffd}c\u{fffd}"
        );
        assert_eq!(
            parsed("attachment; filename*=UTF-8''..%2F..%2Fx%00y").as_deref(),
            Some("..\u{fffd}..\u{fffd}x\u{fffd}y")
        );
    }

    #[test]
    fn long_names_keep_their_start_and_extension() {
        let long = format!("{}.jpeg", "é".repeat(10_000));
        let name = FileName::new(&long).unwrap();
        assert_eq!(name.as_str().chars().count(), MAX_CHARS);
        assert!(name.as_str().starts_with("éé"));
        assert!(name.as_str().ends_with("éé.jpeg"));
        assert!(name.as_str().contains("..."));
        let exact = "x".repeat(MAX_CHARS);
        assert_eq!(FileName::new(&exact).unwrap().as_str(), exact);
    }

    #[test]
    fn downloads_quote_names_like_python() {
        assert_eq!(download_disposition(None), "attachment");
        assert_eq!(download_disposition(Some("")), "attachment");
        assert_eq!(
            download_disposition(Some("my file (1)~_.-/x.png")),
            "attachment; filename*=UTF-8''my%20file%20%281%29~_.-/x.png"
        );
        assert_eq!(
            python_quote("🍍\"%;\u{fffd}"),
            "%F0%9F%8D%8D%22%25%3B%EF%BF%BD"
        );
    }
}
