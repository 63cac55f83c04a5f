//! The argv of each acpx call. Pure: global options first, then the agent
//! (a built-in name is a subcommand; a custom command goes in `--agent`),
//! then the action, whose `-s` belongs to the subcommand.

use super::config::{AgentCommand, PermissionMode};
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

/// What one acpx call addresses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    /// The session's working directory.
    pub cwd: &'a Path,
    /// The agent.
    pub agent: &'a AgentCommand,
    /// The session name.
    pub name: &'a str,
}

/// Options only a prompt takes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PromptOptions {
    /// Answers to permission requests.
    pub permissions: PermissionMode,
    /// acpx's `--timeout`.
    pub timeout: Duration,
    /// acpx's `--ttl`.
    pub queue_ttl_secs: Option<u64>,
}

fn base(target: Target<'_>, globals: &[OsString], action: &[&str]) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--format".into(), "json".into(), "--cwd".into(), target.cwd.into()];
    args.extend(globals.iter().cloned());
    match target.agent {
        AgentCommand::Builtin(name) => args.push(name.into()),
        AgentCommand::Custom(cmd) => {
            args.push("--agent".into());
            args.push(cmd.into());
        }
    }
    args.extend(action.iter().map(OsString::from));
    args
}

/// `sessions new --name <id>`.
pub(crate) fn open(target: Target<'_>) -> Vec<OsString> {
    base(target, &[], &["sessions", "new", "--name", target.name])
}

/// `prompt -s <id> --file -`: the message goes on stdin, never in argv.
pub(crate) fn prompt(target: Target<'_>, opts: PromptOptions) -> Vec<OsString> {
    // acpx takes fractional seconds; millisecond precision keeps short test timeouts exact.
    let mut globals: Vec<OsString> =
        vec![opts.permissions.flag().into(), "--timeout".into(), format!("{:.3}", opts.timeout.as_secs_f64()).into()];
    if let Some(ttl) = opts.queue_ttl_secs {
        globals.push("--ttl".into());
        globals.push(ttl.to_string().into());
    }
    base(target, &globals, &["prompt", "-s", target.name, "--file", "-"])
}

/// `cancel -s <id>`: cancels the session's running turn in its queue owner.
pub(crate) fn cancel(target: Target<'_>) -> Vec<OsString> {
    base(target, &[], &["cancel", "-s", target.name])
}

/// `sessions close <id>`.
pub(crate) fn close(target: Target<'_>) -> Vec<OsString> {
    base(target, &[], &["sessions", "close", target.name])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: Vec<OsString>) -> Vec<String> {
        args.into_iter().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    fn target<'a>(agent: &'a AgentCommand) -> Target<'a> {
        Target { cwd: Path::new("/ws/app/sess"), agent, name: "sess-0123456789abcdef" }
    }

    #[test]
    fn a_custom_agent_goes_in_the_agent_option() {
        let agent = AgentCommand::Custom("/bin/clawdforge echo-agent".into());
        assert_eq!(
            strings(open(target(&agent))),
            [
                "--format",
                "json",
                "--cwd",
                "/ws/app/sess",
                "--agent",
                "/bin/clawdforge echo-agent",
                "sessions",
                "new",
                "--name",
                "sess-0123456789abcdef"
            ]
        );
    }

    #[test]
    fn a_builtin_agent_is_the_subcommand_before_the_action() {
        let agent = AgentCommand::Builtin("claude".into());
        assert_eq!(
            strings(close(target(&agent))),
            ["--format", "json", "--cwd", "/ws/app/sess", "claude", "sessions", "close", "sess-0123456789abcdef"]
        );
        assert_eq!(strings(cancel(target(&agent)))[4..], ["claude", "cancel", "-s", "sess-0123456789abcdef"]);
    }

    #[test]
    fn a_prompt_reads_stdin_and_carries_its_global_options_before_the_agent() {
        let agent = AgentCommand::Builtin("codex".into());
        let opts = PromptOptions {
            permissions: PermissionMode::DenyAll,
            timeout: Duration::from_millis(2500),
            queue_ttl_secs: Some(30),
        };
        assert_eq!(
            strings(prompt(target(&agent), opts))[4..],
            [
                "--deny-all",
                "--timeout",
                "2.500",
                "--ttl",
                "30",
                "codex",
                "prompt",
                "-s",
                "sess-0123456789abcdef",
                "--file",
                "-"
            ]
        );
    }
}
