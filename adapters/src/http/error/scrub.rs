//! What of an agent's failure a client may read: sentences without the
//! server's paths or internal ids (a path names the workspace, the app and
//! the session; acpx's record ids and request ids say nothing to a client),
//! and of the agent's stderr only its last lines, at most 2 KiB. The full
//! detail goes to the request's log line instead.

/// The most of an agent's stderr a client gets.
pub const CLIENT_STDERR_BYTES: usize = 2 * 1024;
/// The most lines of an agent's stderr a client gets.
pub const CLIENT_STDERR_LINES: usize = 8;

/// `text` with absolute paths replaced by `<path>` and long id-like tokens by `<id>`.
pub fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at_boundary = i == 0 || !is_path_char(chars[i - 1]);
        if c == '/' && at_boundary && chars.get(i + 1).is_some_and(|n| is_path_char(*n) && *n != '/') {
            let start = i;
            while i < chars.len() && is_path_char(chars[i]) {
                i += 1;
            }
            // Keep a trailing sentence stop out of the path.
            let mut end = i;
            while end > start + 1 && matches!(chars[end - 1], '.' | ',' | ':') {
                end -= 1;
            }
            out.push_str("<path>");
            out.extend(&chars[end..i]);
            continue;
        }
        if is_id_char(c) && (i == 0 || !is_id_char(chars[i - 1])) {
            let start = i;
            while i < chars.len() && is_id_char(chars[i]) {
                i += 1;
            }
            let token: String = chars[start..i].iter().collect();
            if looks_like_an_id(&token) {
                out.push_str("<id>");
            } else {
                out.push_str(&token);
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The last lines of `stderr`, scrubbed, at most [`CLIENT_STDERR_BYTES`].
pub fn stderr_for_client(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.trim().lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(CLIENT_STDERR_LINES)..].join("\n");
    let scrubbed = scrub(&tail);
    if scrubbed.len() <= CLIENT_STDERR_BYTES {
        return scrubbed;
    }
    let mut cut = scrubbed.len() - CLIENT_STDERR_BYTES;
    while !scrubbed.is_char_boundary(cut) {
        cut += 1;
    }
    scrubbed[cut..].to_owned()
}

fn is_path_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '~' | '+' | '@' | '%' | '=' | ',' | ':')
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_')
}

/// Session ids, acpx record ids, UUIDs: 16 or more id characters with a digit in them.
fn looks_like_an_id(token: &str) -> bool {
    token.len() >= 16 && token.chars().any(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_ids_are_replaced_and_words_kept() {
        let msg = "cannot create /srv/cf/workspaces/other-app/lT-9v2ZBG0q5vhZahfSV2g: Permission denied (os error 13).";
        assert_eq!(scrub(msg), "cannot create <path>: Permission denied (os error 13).");
        let acpx = "No named session echo-25719-1795629001057501220-1 (request 735f445c-c1cf-40a9-b35a-ad7c85dc7e33)";
        assert_eq!(scrub(acpx), "No named session <id> (request <id>)");
        assert_eq!(scrub("exit 1 and/or 2: see a/b"), "exit 1 and/or 2: see a/b");
        assert_eq!(scrub("cannot start acpx (/usr/bin/acpx): gone"), "cannot start acpx (<path>): gone");
    }

    #[test]
    fn a_client_gets_the_last_lines_of_stderr_within_2_kib() {
        let noisy = format!("{}fatal: at /home/op/x.js:12\n", "noise line\n".repeat(5000));
        let got = stderr_for_client(&noisy);
        assert!(got.len() <= CLIENT_STDERR_BYTES);
        assert_eq!(got.lines().count(), CLIENT_STDERR_LINES);
        assert!(got.ends_with("fatal: at <path>"), "{got}");
        let long = "é".repeat(5000);
        assert!(stderr_for_client(&long).len() <= CLIENT_STDERR_BYTES);
    }
}
