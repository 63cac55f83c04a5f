//! Unguessable ids and tokens from the operating system's CSPRNG.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use clawdforge_domain::model::{ApiToken, SessionId};
use clawdforge_domain::ports::IdSource;
use rand::rngs::OsRng;
use rand::RngCore;

/// Session ids of 128 random bits (22 URL-safe characters) and tokens of 256 bits.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomIds;

fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

impl IdSource for RandomIds {
    fn session_id(&self) -> SessionId {
        loop {
            // 16 bytes encode to 22 URL-safe characters; one in 32 starts with '-' or
            // '_', which SessionId refuses (acpx would read "-..." as an option), so
            // draw again: the id keeps its full 128 random bits.
            if let Ok(id) = SessionId::new(random_b64(16)) {
                return id;
            }
        }
    }

    fn token(&self) -> ApiToken {
        ApiToken::new(format!("cf_{}", random_b64(32)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn session_ids_are_long_url_safe_and_distinct() {
        let ids: HashSet<String> = (0..1000).map(|_| RandomIds.session_id().to_string()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|i| i.len() == 22));
        assert!(ids.iter().all(|i| i.starts_with(|c: char| c.is_ascii_alphanumeric())));
    }

    #[test]
    fn tokens_are_prefixed_and_distinct() {
        let a = RandomIds.token();
        let b = RandomIds.token();
        assert!(a.expose().starts_with("cf_") && a.expose().len() == 46);
        assert_ne!(a, b);
    }
}
