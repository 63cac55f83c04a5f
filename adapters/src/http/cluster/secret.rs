//! The secret that gateways of one cluster show each other.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The shared `cluster_secret`: kept to be sent, compared in constant time
/// (as SHA-256 digests, so the comparison does not even leak its length),
/// never shown by `Debug`.
#[derive(Clone)]
pub struct ClusterSecret {
    plain: String,
    digest: [u8; 32],
}

impl ClusterSecret {
    /// Wraps the configured secret.
    pub fn new(plain: impl Into<String>) -> Self {
        let plain = plain.into();
        let digest = Sha256::digest(plain.as_bytes()).into();
        Self { plain, digest }
    }

    /// Whether `offered` is this secret.
    pub fn matches(&self, offered: &[u8]) -> bool {
        let offered: [u8; 32] = Sha256::digest(offered).into();
        bool::from(self.digest.ct_eq(&offered))
    }

    /// The secret itself, for the header of a forwarded request.
    pub(super) fn expose(&self) -> &str {
        &self.plain
    }
}

impl std::fmt::Debug for ClusterSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_secret_matches_and_debug_never_shows_it() {
        let s = ClusterSecret::new("a-long-shared-secret");
        assert!(s.matches(b"a-long-shared-secret"));
        for other in [&b""[..], b"a-long-shared-secre", b"a-long-shared-secret ", b"A-LONG-SHARED-SECRET"] {
            assert!(!s.matches(other));
        }
        assert!(!format!("{s:?}").contains("shared"));
    }
}
