//! Whether one of acpx's built-in agents is installed. acpx runs a built-in
//! whose adapter it cannot find through `npx -y <package>`: a download of
//! hundreds of megabytes that a client request must never set off. So the
//! gateway offers a built-in only when its executable is on the PATH
//! (acpx 0.19.1's `installedArgv`, in `node_modules/acpx/dist/agent-registry-*.js`).

use std::ffi::OsStr;
use std::path::Path;

/// The executable that makes a built-in agent run without a download; `None`
/// for a name this table does not know (it is then offered as configured).
pub fn installed_executable(name: &str) -> Option<&'static str> {
    Some(match name {
        "claude" => "claude-agent-acp",
        "codex" => "codex-acp",
        "gemini" => "gemini",
        "cursor" => "cursor-agent",
        "opencode" => "opencode",
        "qwen" => "qwen",
        _ => return None,
    })
}

/// Whether built-in `name` can start without a download, given the `PATH`.
pub fn builtin_is_installed(name: &str, path: Option<&OsStr>) -> bool {
    let Some(exe) = installed_executable(name) else { return true };
    path.is_some_and(|p| std::env::split_paths(p).any(|dir| is_executable(&dir.join(exe))))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_builtin_is_installed_only_when_its_executable_is_on_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().as_os_str().to_owned();
        assert!(!builtin_is_installed("claude", Some(&path)));
        assert!(!builtin_is_installed("claude", None));
        let exe = dir.path().join("claude-agent-acp");
        std::fs::write(&exe, "#!/bin/sh\n").expect("write");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert!(builtin_is_installed("claude", Some(&path)));
        assert!(builtin_is_installed("some-new-agent", None), "unknown names are the operator's call");
    }
}
