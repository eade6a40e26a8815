//! The flood detector's window, shared by every instance.
//!
//! A raid spread over instances behind a load balancer must be seen whole: five copies on
//! each of four instances are twenty copies. Each instance keeps the full window in memory
//! (a look-up costs microseconds there, and the fingerprints are small), and instances tell
//! each other what they saw through one Redis stream: before judging a post, an instance
//! reads the entries added since it last looked (one non-blocking `XREAD`), and after
//! judging it appends its own (`XADD`, trimmed to about [`STREAM_MAX`] entries). Refused
//! copies are shared too, so a raid stays detected everywhere for as long as it goes on.
//!
//! Without Redis the window is this process's own: exact for the single-instance default.
//! Instances sharing PostgreSQL without Redis each judge the copies they receive, so each
//! lets K through before refusing (documented in README). When Redis fails, judging goes on
//! with the local window alone and catches up once Redis answers again.

use std::sync::Mutex;

use crate::domain::flood::{FilePrint, Flood, FloodDetector, FloodPolicy, Prints};
use crate::domain::similarity::{HASHES, Signature};

use super::Cluster;

/// About how many entries the stream keeps (`MAXLEN ~`): a 10,000-post window in each of
/// ten busy rooms.
const STREAM_MAX: usize = 100_000;
/// Most entries read in one catch-up; a backlog larger than this is mostly older than any
/// window anyway.
const READ_MAX: usize = 20_000;

/// This instance's flood window and its place in the shared stream.
pub struct FloodWindows {
    detector: Mutex<FloodDetector>,
    /// Id of the last stream entry read; `None` before the first read.
    cursor: Mutex<Option<String>>,
    /// Marks this instance's own entries, which it already holds.
    instance: u64,
}

impl Default for FloodWindows {
    fn default() -> Self {
        let mut id = [0u8; 8];
        rand::fill(&mut id);
        FloodWindows {
            detector: Mutex::default(),
            cursor: Mutex::default(),
            instance: u64::from_le_bytes(id),
        }
    }
}

impl FloodWindows {
    /// Forgets rooms whose windows emptied (a background sweep keeps a quiet server empty).
    pub fn sweep(&self, now: f64, policy: &FloodPolicy) {
        if let Ok(mut d) = self.detector.lock() {
            d.sweep(now, policy);
        }
    }

    /// Posts remembered in `room`.
    pub fn remembered(&self, room: i64) -> usize {
        self.detector.lock().map_or(0, |d| d.remembered(room))
    }
}

impl Cluster {
    /// Judges a post or upload against the window shared by all instances, and adds it to
    /// that window (see the module documentation).
    pub async fn flood_observe(
        &self,
        windows: &FloodWindows,
        room: i64,
        poster: i64,
        prints: &Prints,
        now: f64,
        policy: &FloodPolicy,
    ) -> Option<Flood> {
        if !policy.enabled || prints.is_empty() {
            return None;
        }
        if self.redis.is_some() {
            self.flood_catch_up(windows, now, policy).await;
        }
        let verdict = windows
            .detector
            .lock()
            .ok()
            .and_then(|mut d| d.observe(room, poster, prints, now, policy));
        if self.redis.is_some() {
            let entry = encode(windows.instance, room, poster, now, prints);
            let mut cmd = redis::cmd("XADD");
            cmd.arg(self.keys.flood_stream())
                .arg("MAXLEN")
                .arg("~")
                .arg(STREAM_MAX)
                .arg("*")
                .arg("p")
                .arg(entry);
            let _: Option<String> = self.redis_query(&cmd).await;
        }
        verdict
    }

    /// Reads the entries other instances added since the last look into the local window.
    async fn flood_catch_up(&self, windows: &FloodWindows, now: f64, policy: &FloodPolicy) {
        let from = windows
            .cursor
            .lock()
            .ok()
            .and_then(|c| c.clone())
            // First look: the stream's ids are Redis's millisecond clock, so this reads
            // the last window's worth.
            .unwrap_or_else(|| {
                format!(
                    "{}-0",
                    ((now - policy.window_secs).max(0.0) * 1000.0) as u64
                )
            });
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(READ_MAX)
            .arg("STREAMS")
            .arg(self.keys.flood_stream())
            .arg(&from);
        let Some(reply) = self.redis_query::<redis::Value>(&cmd).await else {
            return;
        };
        let entries = stream_entries(&reply);
        let Some((last, _)) = entries.last() else {
            return;
        };
        let last = last.clone();
        if let Ok(mut d) = windows.detector.lock() {
            for (_, data) in &entries {
                if let Some(seen) = decode(data)
                    && seen.instance != windows.instance
                {
                    d.record(seen.room, seen.poster, &seen.prints, seen.at, policy);
                }
            }
        }
        if let Ok(mut cursor) = windows.cursor.lock() {
            *cursor = Some(last);
        }
    }
}

/// One post as another instance saw it.
#[derive(Debug, PartialEq)]
struct Seen {
    instance: u64,
    room: i64,
    poster: i64,
    at: f64,
    prints: Prints,
}

/// The binary form of a stream entry: instance, room, poster, time, then the text
/// signature (flag byte and [`HASHES`] words) and the files (count, then per file its
/// SHA-256, a flag byte and the perceptual hash). Little-endian throughout.
fn encode(instance: u64, room: i64, poster: i64, at: f64, prints: &Prints) -> Vec<u8> {
    let mut out = Vec::with_capacity(33 + HASHES * 4 + 1 + prints.files.len() * 41);
    out.extend_from_slice(&instance.to_le_bytes());
    out.extend_from_slice(&room.to_le_bytes());
    out.extend_from_slice(&poster.to_le_bytes());
    out.extend_from_slice(&at.to_le_bytes());
    match &prints.text {
        Some(sig) => {
            out.push(1);
            for word in sig.0 {
                out.extend_from_slice(&word.to_le_bytes());
            }
        }
        None => out.push(0),
    }
    out.push(u8::try_from(prints.files.len()).unwrap_or(u8::MAX));
    for file in prints.files.iter().take(usize::from(u8::MAX)) {
        out.extend_from_slice(&file.sha256);
        out.push(u8::from(file.image.is_some()));
        out.extend_from_slice(&file.image.unwrap_or(0).to_le_bytes());
    }
    out
}

/// Reads fixed-size fields off the front of a byte slice.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
}

/// Decodes a stream entry; `None` for anything malformed (another version, corruption).
fn decode(data: &[u8]) -> Option<Seen> {
    let mut r = Reader(data);
    let instance = u64::from_le_bytes(r.take()?);
    let room = i64::from_le_bytes(r.take()?);
    let poster = i64::from_le_bytes(r.take()?);
    let at = f64::from_le_bytes(r.take()?);
    if !at.is_finite() {
        return None;
    }
    let text = match r.take::<1>()? {
        [0] => None,
        [1] => {
            let mut words = [0u32; HASHES];
            for word in &mut words {
                *word = u32::from_le_bytes(r.take()?);
            }
            Some(Signature(words))
        }
        _ => return None,
    };
    let [count] = r.take::<1>()?;
    let mut files = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let sha256 = r.take::<32>()?;
        let [has_image] = r.take::<1>()?;
        let image = u64::from_le_bytes(r.take()?);
        files.push(FilePrint {
            sha256,
            image: (has_image == 1).then_some(image),
        });
    }
    if !r.0.is_empty() {
        return None;
    }
    Some(Seen {
        instance,
        room,
        poster,
        at,
        prints: Prints { text, files },
    })
}

/// The `(id, p)` pairs of an `XREAD` reply for one stream, in order. RESP2 answers
/// `[[stream, [[id, [field, value, …]], …]]]`; RESP3 may answer a map of stream to
/// entries. Anything else yields nothing.
fn stream_entries(reply: &redis::Value) -> Vec<(String, Vec<u8>)> {
    use redis::Value;
    let streams: Vec<&Value> = match reply {
        Value::Array(items) => items
            .iter()
            .filter_map(|s| match s {
                Value::Array(pair) => pair.get(1),
                _ => None,
            })
            .collect(),
        Value::Map(pairs) => pairs.iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for entries in streams {
        let Value::Array(entries) = entries else {
            continue;
        };
        for entry in entries {
            let Value::Array(parts) = entry else { continue };
            let (Some(Value::BulkString(id)), Some(Value::Array(fields))) =
                (parts.first(), parts.get(1))
            else {
                continue;
            };
            let Ok(id) = String::from_utf8(id.clone()) else {
                continue;
            };
            let value = fields.chunks(2).find_map(|kv| match kv {
                [Value::BulkString(k), Value::BulkString(v)] if k.as_slice() == b"p" => {
                    Some(v.clone())
                }
                _ => None,
            });
            if let Some(value) = value {
                out.push((id, value));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Prints {
        Prints {
            text: Some(Signature([7; HASHES])),
            files: vec![
                FilePrint {
                    sha256: [1; 32],
                    image: Some(0xDEAD_BEEF),
                },
                FilePrint {
                    sha256: [2; 32],
                    image: None,
                },
            ],
        }
    }

    #[test]
    fn an_entry_decodes_to_what_was_encoded() {
        let data = encode(9, 3, 42, 1234.5, &sample());
        assert_eq!(
            decode(&data),
            Some(Seen {
                instance: 9,
                room: 3,
                poster: 42,
                at: 1234.5,
                prints: sample(),
            })
        );
        let bare = encode(1, 1, 1, 0.0, &Prints::default());
        assert_eq!(decode(&bare).map(|s| s.prints), Some(Prints::default()));
    }

    #[test]
    fn malformed_entries_decode_to_nothing() {
        let data = encode(9, 3, 42, 1234.5, &sample());
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&data[..data.len() - 1]), None);
        let mut longer = data.clone();
        longer.push(0);
        assert_eq!(decode(&longer), None);
        let mut bad_flag = data.clone();
        bad_flag[32] = 7;
        assert_eq!(decode(&bad_flag), None);
        let mut nan = data;
        nan[24..32].copy_from_slice(&f64::NAN.to_le_bytes());
        assert_eq!(decode(&nan), None);
    }

    #[test]
    fn xread_replies_yield_their_entries_in_order() {
        use redis::Value;
        let entry = |id: &str, p: &[u8]| {
            Value::Array(vec![
                Value::BulkString(id.as_bytes().to_vec()),
                Value::Array(vec![
                    Value::BulkString(b"p".to_vec()),
                    Value::BulkString(p.to_vec()),
                ]),
            ])
        };
        let resp2 = Value::Array(vec![Value::Array(vec![
            Value::BulkString(b"sogs:flood:prints".to_vec()),
            Value::Array(vec![entry("1-0", b"a"), entry("2-0", b"b")]),
        ])]);
        assert_eq!(
            stream_entries(&resp2),
            vec![
                ("1-0".to_string(), b"a".to_vec()),
                ("2-0".to_string(), b"b".to_vec())
            ]
        );
        let resp3 = Value::Map(vec![(
            Value::BulkString(b"sogs:flood:prints".to_vec()),
            Value::Array(vec![entry("3-0", b"c")]),
        )]);
        assert_eq!(
            stream_entries(&resp3),
            vec![("3-0".to_string(), b"c".to_vec())]
        );
        assert!(stream_entries(&Value::Nil).is_empty());
        assert!(stream_entries(&Value::Array(vec![Value::Int(1)])).is_empty());
    }
}
