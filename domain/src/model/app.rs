use super::{AppName, Redacted, Timestamp};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A bearer token in clear text: shown once at creation, never stored or logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken(Redacted<String>);

impl ApiToken {
    /// Wraps a token as presented by a client or minted by an `IdSource`.
    pub fn new(raw: impl Into<String>) -> Self {
        Self(Redacted::new(raw.into()))
    }

    /// The clear text, for the single place that shows it to its owner.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// The SHA-256 of the token, which is all the ledger ever sees.
    pub fn hash(&self) -> TokenHash {
        // One formatting of the whole digest (generic-array writes it as hex in one go).
        TokenHash(format!("{:x}", Sha256::digest(self.expose().as_bytes())))
    }
}

/// The lowercase hex SHA-256 of a token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    /// Wraps a stored hash as read back from the ledger.
    pub fn from_stored(hex: impl Into<String>) -> Self {
        Self(hex.into())
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares two hashes in constant time.
    pub fn matches(&self, other: &TokenHash) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

/// An app as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRecord {
    /// The app's name.
    pub name: AppName,
    /// The hash of its current token.
    pub token_hash: TokenHash,
    /// When it was added.
    pub created_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

impl AppRecord {
    /// Whether the app's token is still accepted.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_hashes_to_its_sha256_hex() {
        let h = ApiToken::new("abc").hash();
        assert_eq!(h.as_str(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(h.matches(&TokenHash::from_stored(h.as_str())));
        assert!(!h.matches(&ApiToken::new("abd").hash()));
    }

    #[test]
    fn a_token_never_shows_in_debug_output() {
        assert!(!format!("{:?}", ApiToken::new("s3cret")).contains("s3cret"));
    }
}
