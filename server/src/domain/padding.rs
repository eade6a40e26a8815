//! Session message padding (spec §6.5).
//!
//! Session clients pad a message's protobuf with `0x80` then `0x00`s up to a size bucket,
//! so message length leaks less. PySOGS stores the unpadded bytes and the original length,
//! and pads again on output; we do the same so that a PySOGS database means the same thing
//! here, and so filters (if ever enabled) can parse the bare protobuf. The round trip
//! `pad(unpad(x), x.len()) == x` is byte-exact for every input, padded or not.

/// The bytes to store for `data`: without its padding when it ends like a padded message
/// (`0x80` followed by zero or more `0x00`), otherwise `data` unchanged.
///
/// Data that ends in `0x00`s with no `0x80` before them (or is all zeros) is not padding
/// and is kept whole.
pub fn unpad(data: &[u8]) -> &[u8] {
    if !matches!(data.last(), Some(0x00 | 0x80)) {
        return data;
    }
    let stripped_len = data.iter().rposition(|&b| b != 0x00).map_or(0, |i| i + 1);
    match data[..stripped_len].split_last() {
        Some((0x80, rest)) => rest,
        _ => data,
    }
}

/// The bytes a client originally sent: `data`, then, if `size` is larger, `0x80` and
/// `0x00`s up to `size` bytes. A `size` at or below `data.len()` means no padding.
pub fn pad(data: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size.max(data.len()));
    out.extend_from_slice(data);
    if size > data.len() {
        out.push(0x80);
        out.resize(size, 0x00);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_is_stored_unpadded_and_returned_byte_identical() {
        let sent = hex::decode("68656c6c6f8000000000000000000000").unwrap();
        assert_eq!(sent.len(), 16);
        assert_eq!(unpad(&sent), b"hello");
        assert_eq!(pad(b"hello", 16), sent);
    }

    #[test]
    fn data_not_ending_in_padding_bytes_is_kept() {
        assert_eq!(unpad(b"fake data"), b"fake data");
        assert_eq!(unpad(b""), b"");
        assert_eq!(unpad(&[0x80, 0x01]), &[0x80, 0x01]);
    }

    #[test]
    fn trailing_zeros_without_a_marker_are_not_padding() {
        assert_eq!(unpad(&[1, 2, 0, 0]), &[1, 2, 0, 0]);
        assert_eq!(unpad(&[0, 0, 0]), &[0, 0, 0]);
        assert_eq!(unpad(&[0]), &[0]);
    }

    #[test]
    fn a_marker_alone_or_at_the_end_is_stripped() {
        assert_eq!(unpad(&[0x80]), b"");
        assert_eq!(unpad(&[7, 0x80]), &[7]);
        assert_eq!(unpad(&[0x80, 0x80, 0]), &[0x80]);
        assert_eq!(unpad(&[0x80, 0, 0]), b"");
    }

    #[test]
    fn padding_to_a_size_not_above_the_length_changes_nothing() {
        assert_eq!(pad(b"abc", 3), b"abc");
        assert_eq!(pad(b"abc", 0), b"abc");
        assert_eq!(pad(b"", 1), [0x80]);
    }

    #[test]
    fn every_short_byte_string_round_trips_exactly() {
        // All strings of length 0..=4 over the bytes that matter (0x00, 0x80, other).
        let alphabet = [0x00_u8, 0x80, 0x41];
        let mut cases: Vec<Vec<u8>> = vec![vec![]];
        for _ in 0..4 {
            let longer: Vec<Vec<u8>> = cases
                .iter()
                .flat_map(|c| {
                    alphabet.iter().map(move |&b| {
                        let mut n = c.clone();
                        n.push(b);
                        n
                    })
                })
                .collect();
            cases.extend(longer);
        }
        cases.sort();
        cases.dedup();
        assert_eq!(cases.len(), 1 + 3 + 9 + 27 + 81);
        for data in cases {
            assert_eq!(pad(unpad(&data), data.len()), data, "{data:02x?}");
        }
    }
}
