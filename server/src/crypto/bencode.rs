//! A small, strict bencode codec: enough for onion v4's inner request and reply, and safe on
//! hostile input.
//!
//! Strict means one encoding per value: no leading zeros in lengths or integers, no `-0`,
//! dictionary keys in ascending order without repeats, and nothing after the top-level value.
//! Byte strings borrow from the input, lengths are checked against what is left before anything
//! is read, and nesting is capped, so no input can make the parser panic, recurse without bound,
//! or allocate more than a small multiple of its own size.

/// Deepest nesting of lists and dictionaries accepted.
pub const MAX_DEPTH: usize = 32;

/// A decoded value; byte strings borrow from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// `<len>:<bytes>`
    Bytes(&'a [u8]),
    /// `i<n>e`
    Int(i64),
    /// `l…e`
    List(Vec<Value<'a>>),
    /// `d…e`, keys in ascending byte order.
    Dict(Vec<(&'a [u8], Value<'a>)>),
}

impl<'a> Value<'a> {
    /// The bytes, if this is a byte string.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self {
            Self::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The items, if this is a list.
    pub fn as_list(&self) -> Option<&[Value<'a>]> {
        match self {
            Self::List(items) => Some(items),
            _ => None,
        }
    }
}

/// Why input is not strict bencode. Positions are byte offsets into the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BencodeError {
    /// The input stopped in the middle of a value.
    #[error("bencode ends unexpectedly")]
    UnexpectedEnd,
    /// A byte that cannot start or continue a value here.
    #[error("unexpected byte {byte:#04x} at {at}")]
    UnexpectedByte {
        /// The offending byte.
        byte: u8,
        /// Its offset.
        at: usize,
    },
    /// A string length with a leading zero, or longer than the input left.
    #[error("invalid string length at {0}")]
    InvalidLength(usize),
    /// An integer that is empty, has a leading zero, is `-0`, or overflows `i64`.
    #[error("invalid integer at {0}")]
    InvalidInteger(usize),
    /// Dictionary keys out of order or repeated.
    #[error("dictionary keys unsorted or repeated at {0}")]
    UnsortedKeys(usize),
    /// Lists and dictionaries nested deeper than [`MAX_DEPTH`].
    #[error("nesting deeper than {MAX_DEPTH}")]
    TooDeep,
    /// Bytes left over after the value.
    #[error("trailing data at {0}")]
    TrailingData(usize),
}

/// Decodes exactly one value that spans the whole input.
pub fn decode(input: &[u8]) -> Result<Value<'_>, BencodeError> {
    let mut parser = Parser { input, pos: 0 };
    let value = parser.value(0)?;
    if parser.pos != input.len() {
        return Err(BencodeError::TrailingData(parser.pos));
    }
    Ok(value)
}

/// Encodes a value.
pub fn encode(value: &Value<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(value, &mut out);
    out
}

/// Appends the encoding of `value` to `out`. Dictionary entries are written in the order given;
/// callers build them sorted.
pub fn encode_into(value: &Value<'_>, out: &mut Vec<u8>) {
    match value {
        Value::Bytes(bytes) => encode_bytes(bytes, out),
        Value::Int(n) => {
            out.push(b'i');
            out.extend_from_slice(n.to_string().as_bytes());
            out.push(b'e');
        }
        Value::List(items) => {
            out.push(b'l');
            for item in items {
                encode_into(item, out);
            }
            out.push(b'e');
        }
        Value::Dict(entries) => {
            out.push(b'd');
            for (key, item) in entries {
                encode_bytes(key, out);
                encode_into(item, out);
            }
            out.push(b'e');
        }
    }
}

/// Appends `<len>:<bytes>`.
pub fn encode_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(bytes.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(bytes);
}

/// Encodes a list of byte strings, the shape of both onion v4 messages.
pub fn encode_byte_list(items: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + items.iter().map(|i| i.len() + 12).sum::<usize>());
    out.push(b'l');
    for item in items {
        encode_bytes(item, &mut out);
    }
    out.push(b'e');
    out
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Result<u8, BencodeError> {
        self.input
            .get(self.pos)
            .copied()
            .ok_or(BencodeError::UnexpectedEnd)
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, BencodeError> {
        match self.peek()? {
            b'0'..=b'9' => self.bytes().map(Value::Bytes),
            b'i' => self.int().map(Value::Int),
            b'l' => {
                let depth = Self::deeper(depth)?;
                self.pos += 1;
                let mut items = Vec::new();
                while self.peek()? != b'e' {
                    items.push(self.value(depth)?);
                }
                self.pos += 1;
                Ok(Value::List(items))
            }
            b'd' => {
                let depth = Self::deeper(depth)?;
                self.pos += 1;
                let mut entries: Vec<(&'a [u8], Value<'a>)> = Vec::new();
                while self.peek()? != b'e' {
                    let at = self.pos;
                    if !self.peek()?.is_ascii_digit() {
                        return Err(self.unexpected());
                    }
                    let key = self.bytes()?;
                    if entries.last().is_some_and(|(prev, _)| *prev >= key) {
                        return Err(BencodeError::UnsortedKeys(at));
                    }
                    let item = self.value(depth)?;
                    entries.push((key, item));
                }
                self.pos += 1;
                Ok(Value::Dict(entries))
            }
            _ => Err(self.unexpected()),
        }
    }

    fn deeper(depth: usize) -> Result<usize, BencodeError> {
        if depth >= MAX_DEPTH {
            Err(BencodeError::TooDeep)
        } else {
            Ok(depth + 1)
        }
    }

    fn unexpected(&self) -> BencodeError {
        match self.input.get(self.pos) {
            Some(&byte) => BencodeError::UnexpectedByte { byte, at: self.pos },
            None => BencodeError::UnexpectedEnd,
        }
    }

    /// `<len>:<bytes>`, with the length checked against the remaining input before slicing.
    fn bytes(&mut self) -> Result<&'a [u8], BencodeError> {
        let start = self.pos;
        let digits_end = self.input[start..]
            .iter()
            .position(|b| !b.is_ascii_digit())
            .map_or(self.input.len(), |n| start + n);
        let digits = &self.input[start..digits_end];
        if digits.len() > 1 && digits[0] == b'0' {
            return Err(BencodeError::InvalidLength(start));
        }
        self.pos = digits_end;
        if self.peek()? != b':' {
            return Err(self.unexpected());
        }
        self.pos += 1;
        let remaining = self.input.len() - self.pos;
        let mut len: usize = 0;
        for &d in digits {
            len = len
                .checked_mul(10)
                .and_then(|l| l.checked_add(usize::from(d - b'0')))
                .filter(|&l| l <= remaining)
                .ok_or(BencodeError::InvalidLength(start))?;
        }
        let bytes = &self.input[self.pos..self.pos + len];
        self.pos += len;
        Ok(bytes)
    }

    /// `i<n>e`: optional minus, digits without a leading zero, no `-0`, within `i64`.
    fn int(&mut self) -> Result<i64, BencodeError> {
        let start = self.pos;
        self.pos += 1;
        let negative = self.peek()? == b'-';
        if negative {
            self.pos += 1;
        }
        let digits_start = self.pos;
        while self.peek()?.is_ascii_digit() {
            self.pos += 1;
        }
        let digits = &self.input[digits_start..self.pos];
        if self.peek()? != b'e' {
            return Err(self.unexpected());
        }
        self.pos += 1;
        let invalid = BencodeError::InvalidInteger(start);
        if digits.is_empty() || (digits[0] == b'0' && (digits.len() > 1 || negative)) {
            return Err(invalid);
        }
        let mut value: i64 = 0;
        for &d in digits {
            let d = i64::from(d - b'0');
            value = value
                .checked_mul(10)
                .and_then(|v| {
                    if negative {
                        v.checked_sub(d)
                    } else {
                        v.checked_add(d)
                    }
                })
                .ok_or(invalid)?;
        }
        Ok(value)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_v4_request_decodes_to_its_two_byte_strings() {
        let input = br#"l56:{"method":"GET","endpoint":"/capabilities","headers":{}}4:bodye"#;
        let value = decode(input).unwrap();
        let items = value.as_list().unwrap();
        assert_eq!(
            items[0].as_bytes().unwrap(),
            br#"{"method":"GET","endpoint":"/capabilities","headers":{}}"#
        );
        assert_eq!(items[1].as_bytes().unwrap(), b"body");
    }

    #[test]
    fn values_round_trip_through_encode_and_decode() {
        let value = Value::List(vec![
            Value::Bytes(b""),
            Value::Bytes(b"spam"),
            Value::Int(0),
            Value::Int(-42),
            Value::Int(i64::MIN),
            Value::Int(i64::MAX),
            Value::Dict(vec![
                (b"a", Value::List(vec![])),
                (b"b", Value::Dict(vec![])),
            ]),
        ]);
        let bytes = encode(&value);
        assert_eq!(decode(&bytes).unwrap(), value);
        assert_eq!(
            encode_byte_list(&[b"ab", b""]),
            encode(&Value::List(vec![Value::Bytes(b"ab"), Value::Bytes(b"")]))
        );
        assert_eq!(encode_byte_list(&[b"ab", b""]), b"l2:ab0:e");
    }

    #[test]
    fn truncated_input_is_an_error() {
        for input in [
            &b""[..],
            b"l",
            b"l4:spa",
            b"4:spa",
            b"4",
            b"i12",
            b"i",
            b"d1:a",
            b"l56:{}e",
        ] {
            assert!(decode(input).is_err(), "{input:?}");
        }
        assert_eq!(decode(b"l4:spa"), Err(BencodeError::InvalidLength(1)));
    }

    #[test]
    fn huge_lengths_are_refused_without_allocating() {
        assert_eq!(
            decode(b"99999999999999999999999999999:x"),
            Err(BencodeError::InvalidLength(0))
        );
        assert_eq!(
            decode(b"18446744073709551615:x"),
            Err(BencodeError::InvalidLength(0))
        );
        assert_eq!(
            decode(b"l1000000:abce"),
            Err(BencodeError::InvalidLength(1))
        );
    }

    #[test]
    fn leading_zeros_and_negative_zero_are_refused() {
        assert_eq!(decode(b"01:a"), Err(BencodeError::InvalidLength(0)));
        assert_eq!(decode(b"00:"), Err(BencodeError::InvalidLength(0)));
        assert_eq!(decode(b"i01e"), Err(BencodeError::InvalidInteger(0)));
        assert_eq!(decode(b"i-0e"), Err(BencodeError::InvalidInteger(0)));
        assert_eq!(decode(b"ie"), Err(BencodeError::InvalidInteger(0)));
        assert_eq!(decode(b"i-e"), Err(BencodeError::InvalidInteger(0)));
        assert_eq!(decode(b"0:").unwrap(), Value::Bytes(b""));
        assert_eq!(decode(b"i0e").unwrap(), Value::Int(0));
    }

    #[test]
    fn integers_outside_i64_are_refused() {
        assert_eq!(
            decode(b"i9223372036854775808e"),
            Err(BencodeError::InvalidInteger(0))
        );
        assert_eq!(
            decode(b"i-9223372036854775809e"),
            Err(BencodeError::InvalidInteger(0))
        );
        assert!(decode(b"i1.5e").is_err());
        assert!(decode(b"i+1e").is_err());
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let deep = [vec![b'l'; 100_000], vec![b'e'; 100_000]].concat();
        assert_eq!(decode(&deep), Err(BencodeError::TooDeep));
        let ok = [vec![b'l'; MAX_DEPTH], vec![b'e'; MAX_DEPTH]].concat();
        assert!(decode(&ok).is_ok());
        let too_deep = [vec![b'l'; MAX_DEPTH + 1], vec![b'e'; MAX_DEPTH + 1]].concat();
        assert_eq!(decode(&too_deep), Err(BencodeError::TooDeep));
    }

    #[test]
    fn unsorted_or_repeated_dictionary_keys_are_refused() {
        assert_eq!(
            decode(b"d1:bi1e1:ai2ee"),
            Err(BencodeError::UnsortedKeys(7))
        );
        assert_eq!(
            decode(b"d1:ai1e1:ai2ee"),
            Err(BencodeError::UnsortedKeys(7))
        );
        assert!(decode(b"di1ei2ee").is_err());
        assert!(decode(b"d1:ai1e1:bi2ee").is_ok());
    }

    #[test]
    fn trailing_bytes_and_stray_bytes_are_refused() {
        assert_eq!(decode(b"le "), Err(BencodeError::TrailingData(2)));
        assert_eq!(decode(b"lele"), Err(BencodeError::TrailingData(2)));
        assert_eq!(
            decode(b"x"),
            Err(BencodeError::UnexpectedByte { byte: b'x', at: 0 })
        );
        assert_eq!(
            decode(b"l4;spame"),
            Err(BencodeError::UnexpectedByte { byte: b';', at: 2 })
        );
        assert!(decode(b"e").is_err());
    }
}
