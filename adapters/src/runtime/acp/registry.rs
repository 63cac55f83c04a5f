//! Built-in agent names, resolved the way acpx 0.19.1 does
//! (`node_modules/acpx/dist/agent-registry-*.js`), except that nothing is
//! ever downloaded: a built-in runs only when it is installed.
//!
//! For each name acpx knows the package (and version range) it would run
//! through `npx`, the command that package installs, and for agents that
//! ship their own ACP mode, the command itself. The gateway runs the
//! installed command: first `<node_modules>/.bin/<command>` in the
//! configured node_modules directories, then the PATH. When it is not
//! installed, the turn or create fails (502) naming the package to install.

use std::path::{Path, PathBuf};

/// One built-in agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builtin {
    /// The name clients use.
    pub name: &'static str,
    /// The installed command and its arguments.
    pub argv: &'static [&'static str],
    /// The npm package (with acpx's version range) that provides `argv[0]`, if any.
    pub package: Option<&'static str>,
}

/// acpx 0.19.1's table (its `AGENT_DEFINITIONS`), as installed commands.
pub const BUILTINS: &[Builtin] = &[
    Builtin { name: "pi", argv: &["pi-acp"], package: Some("pi-acp@^0.0.33") },
    Builtin { name: "openclaw", argv: &["openclaw", "acp"], package: None },
    Builtin { name: "codex", argv: &["codex-acp"], package: Some("@agentclientprotocol/codex-acp@^1.1.5") },
    Builtin {
        name: "claude",
        argv: &["claude-agent-acp"],
        package: Some("@agentclientprotocol/claude-agent-acp@^0.76.0"),
    },
    Builtin { name: "gemini", argv: &["gemini", "--acp"], package: None },
    Builtin { name: "cursor", argv: &["cursor-agent", "acp"], package: None },
    Builtin { name: "copilot", argv: &["copilot", "--acp", "--stdio"], package: None },
    Builtin { name: "antigravity", argv: &["agy_acp_server.par", "--uid="], package: None },
    Builtin { name: "devin", argv: &["devin", "acp"], package: None },
    Builtin { name: "droid", argv: &["droid", "exec", "--output-format", "acp"], package: None },
    Builtin { name: "fast-agent", argv: &["fast-agent-mcp", "acp"], package: Some("fast-agent-mcp (uvx)") },
    Builtin { name: "fx", argv: &["fx", "acp"], package: None },
    Builtin { name: "grok-build", argv: &["grok", "agent", "stdio"], package: None },
    Builtin { name: "iflow", argv: &["iflow", "--experimental-acp"], package: None },
    Builtin { name: "junie", argv: &["junie", "--acp=true"], package: None },
    Builtin { name: "kilocode", argv: &["kilo", "acp"], package: Some("@kilocode/cli") },
    Builtin { name: "kimi", argv: &["kimi", "acp"], package: None },
    Builtin { name: "kiro", argv: &["kiro-cli-chat", "acp"], package: None },
    Builtin { name: "mcode", argv: &["mcode", "acp"], package: None },
    Builtin { name: "mux", argv: &["mux", "acp"], package: Some("mux@^0.28.0") },
    Builtin { name: "opencode", argv: &["opencode", "acp"], package: Some("opencode-ai") },
    Builtin { name: "pool", argv: &["pool", "acp"], package: None },
    Builtin { name: "qoder", argv: &["qodercli", "--acp"], package: None },
    Builtin { name: "qwen", argv: &["qwen", "--acp"], package: None },
    Builtin { name: "trae", argv: &["traecli", "acp", "serve"], package: None },
    Builtin { name: "zeroclaw", argv: &["zeroclaw", "acp"], package: None },
];

/// The built-in of this name.
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// Why a built-in cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unresolved {
    /// acpx has no built-in of this name.
    #[error("{0} is not a built-in agent")]
    Unknown(String),
    /// Its command is not installed.
    #[error("agent {name} is not installed: {hint}")]
    NotInstalled {
        /// The built-in agent's name, as configured.
        name: String,
        /// What to install.
        hint: String,
    },
}

/// The command line of the installed built-in `name`.
pub fn resolve(name: &str, node_modules: &[PathBuf]) -> Result<Vec<String>, Unresolved> {
    let b = builtin(name).ok_or_else(|| Unresolved::Unknown(name.to_owned()))?;
    let command = b.argv[0];
    let found = node_modules
        .iter()
        .map(|dir| dir.join(".bin").join(command))
        .find(|p| is_executable(p))
        .or_else(|| on_path(command));
    match found {
        Some(path) => {
            let mut argv = vec![path.display().to_string()];
            argv.extend(b.argv[1..].iter().map(|a| (*a).to_owned()));
            Ok(argv)
        }
        None => Err(Unresolved::NotInstalled {
            name: name.to_owned(),
            hint: match b.package {
                Some(package) => format!("install {package} (it provides `{command}`) on the server"),
                None => format!("install `{command}` on the server's PATH"),
            },
        }),
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn on_path(command: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(command)).find(|p| is_executable(p))
}

/// Splits a custom agent's command line like acpx does: whitespace
/// separates words, single and double quotes group, a backslash escapes
/// (not inside single quotes). `None` for an empty line or an open quote.
pub fn split_command_line(line: &str) -> Option<Vec<String>> {
    let (mut parts, mut current, mut has) = (Vec::new(), String::new(), false);
    let (mut quote, mut escaping) = (None::<char>, false);
    for ch in line.chars() {
        if escaping {
            current.push(ch);
            escaping = false;
            has = true;
        } else if ch == '\\' && quote != Some('\'') {
            escaping = true;
        } else if let Some(q) = quote {
            if ch == q {
                quote = None;
            } else {
                current.push(ch);
            }
            has = true;
        } else if ch == '\'' || ch == '"' {
            quote = Some(ch);
            has = true;
        } else if ch.is_whitespace() {
            if has {
                parts.push(std::mem::take(&mut current));
                has = false;
            }
        } else {
            current.push(ch);
            has = true;
        }
    }
    if escaping {
        current.push('\\');
        has = true;
    }
    if quote.is_some() {
        return None;
    }
    if has {
        parts.push(current);
    }
    (!parts.is_empty() && !parts[0].is_empty()).then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_split_like_acpx() {
        assert_eq!(split_command_line("a b  c"), Some(vec!["a".into(), "b".into(), "c".into()]));
        assert_eq!(
            split_command_line(r#"x "a b" 'c d' e\ f"#),
            Some(vec!["x".into(), "a b".into(), "c d".into(), "e f".into()])
        );
        assert_eq!(split_command_line("x ''"), Some(vec!["x".into(), String::new()]));
        assert_eq!(split_command_line("  "), None);
        assert_eq!(split_command_line("x 'open"), None);
    }

    #[test]
    fn the_common_builtins_are_known_with_acpx_ranges() {
        assert_eq!(builtin("claude").and_then(|b| b.package), Some("@agentclientprotocol/claude-agent-acp@^0.76.0"));
        assert_eq!(builtin("codex").and_then(|b| b.package), Some("@agentclientprotocol/codex-acp@^1.1.5"));
        assert_eq!(builtin("gemini").map(|b| b.argv), Some(&["gemini", "--acp"][..]));
        assert_eq!(builtin("opencode").map(|b| b.argv), Some(&["opencode", "acp"][..]));
        assert_eq!(builtin("qwen").map(|b| b.argv), Some(&["qwen", "--acp"][..]));
        assert!(builtin("nope").is_none());
    }

    #[test]
    fn a_builtin_that_is_not_installed_names_its_package_and_never_downloads() {
        let err = resolve("claude", &[PathBuf::from("/nonexistent")]);
        match err {
            Err(Unresolved::NotInstalled { hint, .. }) => assert!(hint.contains("claude-agent-acp@^0.76.0"), "{hint}"),
            other => panic!("expected NotInstalled, got {other:?}"),
        }
    }

    #[test]
    fn an_installed_builtin_is_found_under_node_modules() -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let bin = dir.path().join(".bin");
        std::fs::create_dir_all(&bin)?;
        let exe = bin.join("claude-agent-acp");
        std::fs::write(&exe, "#!/bin/sh\n")?;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755))?;
        assert_eq!(resolve("claude", &[dir.path().to_path_buf()]), Ok(vec![exe.display().to_string()]));
        Ok(())
    }
}
