//! Path matching for the route table.
//!
//! Patterns are written like `/room/{token}/message/{id:int}`. Segment kinds follow
//! PySOGS's converters: `{name}` is a room token (`[A-Za-z0-9_-]{1,64}`, Unicode word
//! characters too, as Python's `\w`), `{name:int}` is `\d+` (never negative), `{name:tail}`
//! is the non-empty rest of the path, slashes included (reactions like `y/n`), and
//! `{name:sid}` is a `[01]5` + 64-hex session id and `{name:blinded}` a `15`/`25` + 64-hex
//! blinded id (DM recipients: PySOGS's `BlindSessionID`, widened to libsession's 25-blinded
//! ids, which this server accepts at auth too). A route without a trailing slash does not
//! match a path with one.

use super::request::Method;

/// Values captured from the path, by the names in the pattern.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(&'static str, String)>);

impl Params {
    /// The captured text for `name`; empty if the pattern has no such capture.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// An `{name:int}` capture. Digits that overflow i64 never match, so this is total.
    pub fn int(&self, name: &str) -> i64 {
        self.get(name).parse().unwrap_or(i64::MAX)
    }
}

/// The outcome of matching a path against a route table.
#[derive(Debug, PartialEq, Eq)]
pub enum Matched<E> {
    Found {
        endpoint: E,
        pattern: &'static str,
        params: Params,
    },
    /// The path matches a route, but not with this method.
    WrongMethod,
    NotFound,
}

/// Finds the route for `method` and `path` in `table`.
pub fn match_route<E: Copy>(
    table: &[(Method, &'static str, E)],
    method: Method,
    path: &str,
) -> Matched<E> {
    let mut wrong_method = false;
    for &(route_method, pattern, endpoint) in table {
        if let Some(params) = match_pattern(pattern, path) {
            if route_method == method {
                return Matched::Found {
                    endpoint,
                    pattern,
                    params,
                };
            }
            wrong_method = true;
        }
    }
    if wrong_method {
        Matched::WrongMethod
    } else {
        Matched::NotFound
    }
}

fn match_pattern(pattern: &'static str, path: &str) -> Option<Params> {
    let mut params = Vec::new();
    let mut rest = path.strip_prefix('/')?;
    let mut segments = pattern.trim_start_matches('/').split('/').peekable();
    while let Some(seg) = segments.next() {
        let capture = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
        let (name, kind) = match capture {
            Some(c) => c.split_once(':').unwrap_or((c, "token")),
            None => ("", "literal"),
        };
        if kind == "tail" {
            if rest.is_empty() || segments.peek().is_some() {
                return None;
            }
            params.push((name, rest.to_string()));
            return Some(Params(params));
        }
        let (head, tail) = split_segment(rest);
        let ok = match kind {
            "literal" => head == seg,
            "int" => {
                !head.is_empty()
                    && head.bytes().all(|b| b.is_ascii_digit())
                    && head.parse::<i64>().is_ok()
            }
            "sid" => is_session_id(head),
            "blinded" => is_blinded_id(head),
            _ => is_room_token(head),
        };
        if !ok {
            return None;
        }
        if kind != "literal" {
            params.push((name, head.to_string()));
        }
        // Both the path and the pattern must end together.
        match (tail, segments.peek().is_some()) {
            (Some(t), true) => rest = t,
            (None, false) => return Some(Params(params)),
            _ => return None,
        }
    }
    None
}

/// Splits `a/b/c` into `a` and `Some("b/c")`; `a` into `a` and `None`.
fn split_segment(s: &str) -> (&str, Option<&str>) {
    match s.split_once('/') {
        Some((head, tail)) => (head, Some(tail)),
        None => (s, None),
    }
}

/// PySOGS's room converter: `[\w-]{1,64}` with Python's Unicode-aware `\w`.
fn is_room_token(s: &str) -> bool {
    let n = s.chars().count();
    (1..=64).contains(&n)
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// `[01]5` followed by 64 hex digits.
fn is_session_id(s: &str) -> bool {
    s.len() == 66
        && (s.starts_with("05") || s.starts_with("15"))
        && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `15` or `25` followed by 64 hex digits.
fn is_blinded_id(s: &str) -> bool {
    s.len() == 66
        && (s.starts_with("15") || s.starts_with("25"))
        && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[(Method, &str, u8)] = &[
        (Method::Get, "/rooms", 1),
        (Method::Get, "/room/{token}", 2),
        (Method::Put, "/room/{token}", 3),
        (Method::Get, "/room/{token}/message/{id:int}", 4),
        (
            Method::Put,
            "/room/{token}/reaction/{id:int}/{reaction:tail}",
            5,
        ),
        (Method::Post, "/room/{token}/unpin/all", 6),
        (Method::Post, "/room/{token}/unpin/{id:int}", 7),
        (Method::Post, "/user/{sid:sid}/ban", 8),
        (Method::Get, "/inbox/since/{id:int}", 9),
        (Method::Post, "/inbox/{sid:blinded}", 10),
    ];

    fn found(method: Method, path: &str) -> Option<(u8, Params)> {
        match match_route(TABLE, method, path) {
            Matched::Found {
                endpoint, params, ..
            } => Some((endpoint, params)),
            _ => None,
        }
    }

    #[test]
    fn literal_token_and_int_segments_match() {
        assert_eq!(found(Method::Get, "/rooms").unwrap().0, 1);
        let (e, p) = found(Method::Get, "/room/lobby").unwrap();
        assert_eq!((e, p.get("token")), (2, "lobby"));
        let (e, p) = found(Method::Get, "/room/lobby/message/42").unwrap();
        assert_eq!((e, p.int("id")), (4, 42));
        assert_eq!(found(Method::Post, "/room/x/unpin/all").unwrap().0, 6);
        assert_eq!(found(Method::Post, "/room/x/unpin/3").unwrap().0, 7);
    }

    #[test]
    fn tail_captures_slashes_and_unicode() {
        let (e, p) = found(Method::Put, "/room/x/reaction/1/y/n").unwrap();
        assert_eq!((e, p.get("reaction")), (5, "y/n"));
        let (_, p) = found(Method::Put, "/room/x/reaction/1/🍍").unwrap();
        assert_eq!(p.get("reaction"), "🍍");
        assert!(found(Method::Put, "/room/x/reaction/1/").is_none());
        assert!(found(Method::Put, "/room/x/reaction/1").is_none());
    }

    #[test]
    fn trailing_slashes_negative_and_huge_ints_do_not_match() {
        for path in [
            "/rooms/",
            "/room/lobby/",
            "/room//message/1",
            "/room/x/message/-1",
            "/room/x/message/1a",
            "/room/x/message/99999999999999999999",
            "/room/x/message/",
            "/room/a.b",
            "rooms",
            "",
        ] {
            assert!(found(Method::Get, path).is_none(), "{path} matched");
        }
        assert!(found(Method::Get, &format!("/room/{}", "x".repeat(65))).is_none());
    }

    #[test]
    fn a_known_path_with_another_method_is_405_else_404() {
        assert_eq!(
            match_route(TABLE, Method::Delete, "/room/x"),
            Matched::WrongMethod
        );
        assert_eq!(match_route(TABLE, Method::Get, "/nope"), Matched::NotFound);
    }

    #[test]
    fn session_id_segments_need_05_or_15_and_64_hex() {
        let sid = format!("15{}", "ab".repeat(32));
        assert_eq!(
            found(Method::Post, &format!("/user/{sid}/ban")).unwrap().0,
            8
        );
        for bad in [
            format!("25{}", "ab".repeat(32)),
            format!("15{}", "ab".repeat(31)),
            format!("15{}zz", "ab".repeat(31)),
        ] {
            assert!(found(Method::Post, &format!("/user/{bad}/ban")).is_none());
        }
    }

    #[test]
    fn blinded_id_segments_need_15_or_25_and_64_hex() {
        for prefix in ["15", "25"] {
            let sid = format!("{prefix}{}", "Ab".repeat(32));
            let (e, p) = found(Method::Post, &format!("/inbox/{sid}")).unwrap();
            assert_eq!((e, p.get("sid")), (10, sid.as_str()));
        }
        for bad in [
            format!("05{}", "ab".repeat(32)),
            format!("00{}", "ab".repeat(32)),
            format!("15{}", "ab".repeat(31)),
            format!("25{}a", "ab".repeat(32)),
            format!("25{}zz", "ab".repeat(31)),
            "since".to_string(),
            String::new(),
        ] {
            assert!(
                found(Method::Post, &format!("/inbox/{bad}")).is_none(),
                "{bad} matched"
            );
        }
        assert_eq!(found(Method::Get, "/inbox/since/0").unwrap().0, 9);
    }
}
