//! The wire format of API objects: pure functions from store rows and the requester's
//! permissions to the JSON clients see, and from request bodies to typed changes.
//!
//! Kept apart from the handlers so every key that is present, omitted or renamed can be
//! unit-tested without a server or a database.

pub mod message;
pub mod permissions;
pub mod room;

/// A request body that does not have the shape an endpoint needs: always a 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidBody {
    #[error("Request body must be a JSON object")]
    NotAnObject,
    #[error("Invalid {field}: expected {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("{0}")]
    Rule(&'static str),
}

impl From<InvalidBody> for super::ApiError {
    fn from(e: InvalidBody) -> Self {
        super::ApiError::BadRequest(e.to_string())
    }
}

/// A JSON `true`/`false`, or an integer read as C-style truth (non-zero is true), as
/// PySOGS accepts for permission flags. Anything else is `None`.
fn flag(value: &serde_json::Value) -> Option<bool> {
    match value {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => {
            Some(n.as_i64().is_none_or(|i| i != 0))
        }
        _ => None,
    }
}

/// Python's truthiness of a JSON value (`bool(x)`): false, 0, 0.0, "", [], {} and null are
/// false. PySOGS reads `default_<perm>` this way.
fn truthy(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn flags_are_bools_or_integers_and_nothing_else() {
        assert_eq!(flag(&json!(true)), Some(true));
        assert_eq!(flag(&json!(false)), Some(false));
        assert_eq!(flag(&json!(0)), Some(false));
        assert_eq!(flag(&json!(-3)), Some(true));
        assert_eq!(flag(&json!(u64::MAX)), Some(true));
        for bad in [json!(1.0), json!("true"), json!(null), json!([]), json!({})] {
            assert_eq!(flag(&bad), None, "{bad} accepted");
        }
    }

    #[test]
    fn truthiness_follows_python() {
        for yes in [
            json!(true),
            json!(1),
            json!(0.5),
            json!("x"),
            json!([0]),
            json!({"a": 1}),
        ] {
            assert!(truthy(&yes), "{yes}");
        }
        for no in [
            json!(false),
            json!(0),
            json!(0.0),
            json!(""),
            json!([]),
            json!({}),
            json!(null),
        ] {
            assert!(!truthy(&no), "{no}");
        }
    }
}
