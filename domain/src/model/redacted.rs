//! `Redacted<T>`: a secret (a prompt, a system prompt, a token) that never
//! shows in `Debug` output, so a stray `{:?}` or a derived `Debug` of a type
//! that holds one cannot put it in a log.

use std::fmt;

/// A value shown by `Debug` as its size only; read it with [`Redacted::expose`].
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Redacted<T>(T);

impl<T> Redacted<T> {
    /// Wraps a secret.
    pub fn new(secret: T) -> Self {
        Self(secret)
    }

    /// The secret itself, for the code that must hand it on (stdin, a 0600 file, a hash).
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the secret.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: AsRef<[u8]>> fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<redacted, {} bytes>", self.0.as_ref().len())
    }
}

impl From<String> for Redacted<String> {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for Redacted<String> {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl PartialEq<str> for Redacted<String> {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Redacted<String> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_size_and_never_the_secret() {
        let shown = format!("{:?}", Redacted::from("the secret plan"));
        assert_eq!(shown, "<redacted, 15 bytes>");
        let nested = format!("{:?}", Some(Redacted::from("hunter2")));
        assert!(!nested.contains("hunter2"), "{nested}");
        assert_eq!(format!("{:#?}", Redacted::from("x")), "<redacted, 1 bytes>");
    }

    #[test]
    fn the_secret_is_still_there_for_who_must_hand_it_on() {
        let r = Redacted::from("s3cret");
        assert_eq!(r.expose(), "s3cret");
        assert!(r == "s3cret");
        assert_eq!(r.into_inner(), "s3cret");
    }
}
