use std::fmt;
use std::sync::Arc;

/// Why a name or id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidName(String);

fn check_chars(kind: &str, s: &str, min: usize, max: usize, extra: &[char]) -> Result<(), InvalidName> {
    if s.len() < min || s.len() > max {
        return Err(InvalidName(format!("{kind} must be {min} to {max} characters long")));
    }
    if !s.chars().all(|c| c.is_ascii_alphanumeric() || extra.contains(&c)) {
        let allowed: String = extra.iter().collect();
        return Err(InvalidName(format!("{kind} may only contain ASCII letters, digits and '{allowed}'")));
    }
    // Names become directory names and command-line arguments: ".", "..", a
    // hidden name or one that reads as an option ("-x") must not.
    if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(InvalidName(format!("{kind} must start with an ASCII letter or digit")));
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $min:expr, $max:expr, $extra:expr) => {
        $(#[$doc])*
        ///
        /// Shared, not copied: a clone (ids go into every ledger call, every
        /// cached session) only counts a reference.
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Validates and wraps the raw string.
            pub fn new(raw: impl AsRef<str>) -> Result<Self, InvalidName> {
                let raw = raw.as_ref();
                check_chars($kind, raw, $min, $max, $extra)?;
                Ok(Self(Arc::from(raw)))
            }

            /// The validated string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

name_type!(
    /// The name of a client application; it owns tokens and sessions.
    AppName, "app name", 1, 64, &['-', '_', '.']
);
name_type!(
    /// A session id: URL-safe, at least 16 characters, starting with a letter or digit (minted with ≥ 96 random bits).
    SessionId, "session id", 16, 128, &['-', '_']
);
name_type!(
    /// The name of a configured ACP agent (`claude`, `codex`, `echo`, ...).
    AgentName, "agent name", 1, 64, &['-', '_', '.']
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_names_are_short_and_plain() {
        assert!(AppName::new("billing-bot_2.0").is_ok());
        assert!(AppName::new("").is_err());
        assert!(AppName::new("a b").is_err());
        assert!(AppName::new("x".repeat(65)).is_err());
        assert!(AppName::new("..").is_err());
        assert!(AppName::new(".").is_err());
        assert!(AgentName::new(".hidden").is_err());
        assert!(AppName::new("-rf").is_err());
    }

    #[test]
    fn session_ids_are_url_safe_and_long_enough() {
        assert!(SessionId::new("abcdefghijklmnop").is_ok());
        assert!(SessionId::new("short").is_err());
        assert!(SessionId::new("abcdefghijklmnop/..").is_err());
        assert!(SessionId::new("abcdefghijklmnop.x").is_err());
        assert!(SessionId::new("-bcdefghijklmnop").is_err(), "would read as an option to acpx");
        assert!(SessionId::new("_bcdefghijklmnop").is_err());
    }
}
