//! The names of everything the instances keep in Redis, all under one prefix
//! (`[redis] key_prefix`, default `sogs:`), so that several communities (or test servers)
//! can share one Redis without seeing each other's invalidations, nonces or leases.
//!
//! With the default prefix the names are the ones every earlier release used, so an
//! upgraded cluster keeps its nonce store, invalidation count and leases.

/// The prefix of every key and channel unless configured otherwise.
pub const DEFAULT_KEY_PREFIX: &str = "sogs:";

/// The longest prefix accepted: keys stay short enough to read in `redis-cli`.
pub const MAX_KEY_PREFIX_LEN: usize = 64;

/// Why a key prefix cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "redis.key_prefix must be 1 to {MAX_KEY_PREFIX_LEN} printable ASCII characters without spaces, got {0:?}"
)]
pub struct InvalidKeyPrefix(pub String);

/// The Redis names of one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisKeys {
    prefix: String,
}

impl Default for RedisKeys {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_KEY_PREFIX.into(),
        }
    }
}

impl RedisKeys {
    /// Names under `prefix`: printable ASCII, no spaces (a key is typed into `redis-cli`
    /// and matched with `SCAN MATCH`), not empty, at most [`MAX_KEY_PREFIX_LEN`] bytes.
    pub fn new(prefix: &str) -> Result<Self, InvalidKeyPrefix> {
        let usable = !prefix.is_empty()
            && prefix.len() <= MAX_KEY_PREFIX_LEN
            && prefix.bytes().all(|b| b.is_ascii_graphic());
        if usable {
            Ok(Self {
                prefix: prefix.to_string(),
            })
        } else {
            Err(InvalidKeyPrefix(prefix.to_string()))
        }
    }

    /// The pub/sub channel of cache invalidations (`sogs:invalidate`), for tools that
    /// publish or watch them.
    pub fn invalidation_channel(&self) -> String {
        format!("{}invalidate", self.prefix)
    }

    /// The count of invalidations published (`sogs:epoch`).
    pub(super) fn epoch(&self) -> String {
        format!("{}epoch", self.prefix)
    }

    /// The lease of a periodic task (`sogs:lock:cleanup`).
    pub(super) fn lease(&self, task: &str) -> String {
        format!("{}lock:{task}", self.prefix)
    }

    /// A remembered request nonce, hex-encoded (`sogs:nonce:…`).
    pub(super) fn nonce(&self, nonce_hex: &str) -> String {
        format!("{}nonce:{nonce_hex}", self.prefix)
    }

    /// When the current nonce store began (`sogs:nonces:since`).
    pub(super) fn nonces_since(&self) -> String {
        format!("{}nonces:since", self.prefix)
    }

    /// The stream of flood fingerprints (`sogs:flood:prints`).
    pub(super) fn flood_stream(&self) -> String {
        format!("{}flood:prints", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_prefix_keeps_the_names_of_earlier_releases() {
        let keys = RedisKeys::default();
        assert_eq!(keys, RedisKeys::new(DEFAULT_KEY_PREFIX).unwrap());
        assert_eq!(keys.invalidation_channel(), "sogs:invalidate");
        assert_eq!(keys.epoch(), "sogs:epoch");
        assert_eq!(keys.lease("cleanup"), "sogs:lock:cleanup");
        assert_eq!(keys.nonce("ab01"), "sogs:nonce:ab01");
        assert_eq!(keys.nonces_since(), "sogs:nonces:since");
        assert_eq!(keys.flood_stream(), "sogs:flood:prints");
    }

    #[test]
    fn every_name_is_under_a_configured_prefix() {
        let keys = RedisKeys::new("community-b:").unwrap();
        for name in [
            keys.invalidation_channel(),
            keys.epoch(),
            keys.lease("cleanup"),
            keys.nonce("ab01"),
            keys.nonces_since(),
            keys.flood_stream(),
        ] {
            assert!(name.starts_with("community-b:"), "{name}");
        }
    }

    #[test]
    fn unusable_prefixes_are_refused() {
        let long = "x".repeat(MAX_KEY_PREFIX_LEN + 1);
        for bad in ["", "with space:", "tab\t", "new\nline", "é:", long.as_str()] {
            assert!(RedisKeys::new(bad).is_err(), "{bad:?} accepted");
        }
        assert!(RedisKeys::new(&"x".repeat(MAX_KEY_PREFIX_LEN)).is_ok());
    }
}
