//! The filesystem's answer to "where does this path really lead".

use async_trait::async_trait;
use clawdforge_domain::ports::PathResolver;

/// Resolves through `canonicalize` (every symlink followed; nothing there: `None`).
#[derive(Debug, Clone, Copy, Default)]
pub struct CanonicalPaths;

#[async_trait]
impl PathResolver for CanonicalPaths {
    async fn resolve(&self, path: &str) -> Option<String> {
        let real = tokio::fs::canonicalize(path).await.ok()?;
        // A resolved path that is not UTF-8 cannot be named in the agent's message.
        real.into_os_string().into_string().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_symlink_resolves_to_its_target_and_a_missing_path_to_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("real.txt");
        std::fs::write(&real, "x").expect("write");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/etc/hostname", &link).expect("symlink");
        let got = CanonicalPaths.resolve(&link.display().to_string()).await;
        assert_eq!(got.as_deref(), Some("/etc/hostname"));
        let want = std::fs::canonicalize(&real).expect("canonical").display().to_string();
        assert_eq!(CanonicalPaths.resolve(&real.display().to_string()).await, Some(want));
        assert_eq!(CanonicalPaths.resolve(&dir.path().join("nope").display().to_string()).await, None);
    }
}
