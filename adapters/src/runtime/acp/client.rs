//! The client side of ACP: what the gateway answers to the agent's own
//! requests. `fs/read_text_file` reads inside the session's workspace or
//! an allowed root, `fs/write_text_file` writes inside the workspace only
//! (both after resolving symlinks), each under the permission mode;
//! `session/request_permission` is answered by the mode, or by the turn's
//! sink under `ask`. Anything else is "method not found" (no terminal).

use super::config::Permissions;
use clawdforge_domain::model::{PermissionAsk, PermissionChoice};
use clawdforge_domain::ports::TurnSink;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::Notify;

/// What the answers depend on.
#[derive(Debug, Clone)]
pub(crate) struct ClientContext {
    /// The session's workspace.
    pub(crate) workspace: PathBuf,
    /// Where reads may also go.
    pub(crate) allowed_roots: Vec<PathBuf>,
    pub(crate) permissions: Permissions,
}

const INVALID_PARAMS: i64 = -32602;
const METHOD_NOT_FOUND: i64 = -32601;
/// ACP's "resource not found".
const NOT_FOUND: i64 = -32002;
const INTERNAL: i64 = -32603;

fn rpc_error(code: i64, message: impl Into<String>) -> Value {
    json!({"code": code, "message": message.into()})
}

/// The answer to one agent request.
pub(crate) async fn answer(
    ctx: &ClientContext,
    method: &str,
    params: Value,
    turn: Option<(Arc<dyn TurnSink>, Arc<Notify>)>,
) -> Result<Value, Value> {
    match method {
        "fs/read_text_file" => read_text_file(ctx, &params, turn).await,
        "fs/write_text_file" => write_text_file(ctx, &params, turn).await,
        "session/request_permission" => Ok(request_permission(ctx.permissions, &params, turn).await),
        other => Err(rpc_error(METHOD_NOT_FOUND, format!("the client does not offer {other}"))),
    }
}

fn path_param(params: &Value) -> Result<PathBuf, Value> {
    let path =
        params.get("path").and_then(Value::as_str).ok_or_else(|| rpc_error(INVALID_PARAMS, "path must be a string"))?;
    let path = PathBuf::from(path);
    if !path.is_absolute() {
        return Err(rpc_error(INVALID_PARAMS, "path must be absolute"));
    }
    Ok(path)
}

fn refused(path: &Path) -> Value {
    tracing::warn!(path = %path.display(), "refused an agent file access outside the session's roots");
    json!({"code": INVALID_PARAMS, "message": "path is outside the session's workspace", "data": {"reason": "outside_roots"}})
}

/// Whether an answer refused a path outside the session's roots (audited).
pub(crate) fn is_refusal(error: &Value) -> bool {
    error.pointer("/data/reason").and_then(Value::as_str) == Some("outside_roots")
}

/// Whether `path` (already canonical) lies under one of `roots` (canonicalized here).
fn under_any(path: &Path, roots: &[&Path]) -> bool {
    roots.iter().filter_map(|r| std::fs::canonicalize(r).ok()).any(|root| path.starts_with(root))
}

/// Decides a file access by the mode: reads pass unless `deny-all`, writes
/// need `approve-all` (or the client's yes under `ask`).
async fn allowed(
    permissions: Permissions,
    write: bool,
    path: &Path,
    turn: Option<(Arc<dyn TurnSink>, Arc<Notify>)>,
) -> bool {
    match permissions {
        Permissions::ApproveAll => true,
        Permissions::ApproveReads => !write,
        Permissions::DenyAll => false,
        Permissions::Ask => {
            let (kind, title) = if write { ("edit", "Write") } else { ("read", "Read") };
            let params = json!({
                "toolCall": {"toolCallId": "clawdforge-fs", "kind": kind, "title": format!("{title} {}", path.display()),
                             "locations": [{"path": path}]},
                "options": [{"optionId": "allow", "name": "Allow", "kind": "allow_once"},
                            {"optionId": "reject", "name": "Reject", "kind": "reject_once"}],
            });
            let outcome = request_permission(Permissions::Ask, &params, turn).await;
            outcome.pointer("/outcome/optionId").and_then(Value::as_str) == Some("allow")
        }
    }
}

async fn read_text_file(
    ctx: &ClientContext,
    params: &Value,
    turn: Option<(Arc<dyn TurnSink>, Arc<Notify>)>,
) -> Result<Value, Value> {
    let path = path_param(params)?;
    let Ok(real) = std::fs::canonicalize(&path) else {
        // Whether it exists outside the roots is none of the agent's business.
        let parent_ok = path.parent().and_then(|p| std::fs::canonicalize(p).ok()).is_some_and(|p| {
            let mut roots: Vec<&Path> = vec![&ctx.workspace];
            roots.extend(ctx.allowed_roots.iter().map(PathBuf::as_path));
            under_any(&p, &roots)
        });
        return Err(if parent_ok { rpc_error(NOT_FOUND, "no such file") } else { refused(&path) });
    };
    let mut roots: Vec<&Path> = vec![&ctx.workspace];
    roots.extend(ctx.allowed_roots.iter().map(PathBuf::as_path));
    if !under_any(&real, &roots) {
        return Err(refused(&path));
    }
    if !allowed(ctx.permissions, false, &path, turn).await {
        return Err(rpc_error(INVALID_PARAMS, "reading files is not permitted"));
    }
    let content =
        tokio::fs::read_to_string(&real).await.map_err(|e| rpc_error(INTERNAL, format!("cannot read: {e}")))?;
    let line = params.get("line").and_then(Value::as_u64).unwrap_or(1).max(1) as usize;
    let limit = params.get("limit").and_then(Value::as_u64).map(|l| l as usize);
    let content = if line == 1 && limit.is_none() {
        content
    } else {
        let lines = content.split_inclusive('\n').skip(line - 1);
        match limit {
            Some(l) => lines.take(l).collect(),
            None => lines.collect(),
        }
    };
    Ok(json!({"content": content}))
}

async fn write_text_file(
    ctx: &ClientContext,
    params: &Value,
    turn: Option<(Arc<dyn TurnSink>, Arc<Notify>)>,
) -> Result<Value, Value> {
    let path = path_param(params)?;
    let content = params
        .get("content")
        .and_then(Value::as_str)
        .ok_or_else(|| rpc_error(INVALID_PARAMS, "content must be a string"))?;
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(refused(&path));
    };
    let Ok(parent) = std::fs::canonicalize(parent) else {
        return Err(refused(&path));
    };
    let target = parent.join(name);
    // An existing target may be a symlink out of the workspace: resolve it too.
    let real = std::fs::canonicalize(&target).unwrap_or(target);
    if !under_any(&real, &[&ctx.workspace]) {
        return Err(refused(&path));
    }
    if !allowed(ctx.permissions, true, &path, turn).await {
        return Err(rpc_error(INVALID_PARAMS, "writing files is not permitted"));
    }
    tokio::fs::write(&real, content).await.map_err(|e| rpc_error(INTERNAL, format!("cannot write: {e}")))?;
    Ok(json!({}))
}

fn choices(params: &Value) -> Vec<PermissionChoice> {
    params
        .get("options")
        .and_then(Value::as_array)
        .map(|opts| {
            opts.iter()
                .filter_map(|o| {
                    Some(PermissionChoice {
                        option_id: o.get("optionId")?.as_str()?.to_owned(),
                        name: o.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(),
                        kind: o.get("kind").and_then(Value::as_str).unwrap_or_default().to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn selected(id: &str) -> Value {
    json!({"outcome": {"outcome": "selected", "optionId": id}})
}

fn cancelled() -> Value {
    json!({"outcome": {"outcome": "cancelled"}})
}

/// The first option of the first kind in `kinds` that is offered.
fn pick(options: &[PermissionChoice], kinds: &[&str]) -> Option<String> {
    kinds.iter().find_map(|k| options.iter().find(|o| o.kind == *k).map(|o| o.option_id.clone()))
}

/// Whether a tool call only reads (acpx's approve-reads: `read` and `search` kinds).
fn is_read(tool_call: &Value) -> bool {
    matches!(tool_call.get("kind").and_then(Value::as_str), Some("read" | "search"))
}

/// The outcome of a `session/request_permission`.
async fn request_permission(
    permissions: Permissions,
    params: &Value,
    turn: Option<(Arc<dyn TurnSink>, Arc<Notify>)>,
) -> Value {
    let options = choices(params);
    let tool_call = params.get("toolCall").cloned().unwrap_or(Value::Null);
    const ALLOW: &[&str] = &["allow_once", "allow_always"];
    const REJECT: &[&str] = &["reject_once", "reject_always"];
    let approve = match permissions {
        Permissions::ApproveAll => true,
        Permissions::ApproveReads => is_read(&tool_call),
        Permissions::DenyAll => false,
        Permissions::Ask => {
            let Some((sink, cancel)) = turn else { return cancelled() };
            let ask = PermissionAsk { tool_call, options: options.clone() };
            let decision = tokio::select! {
                d = sink.permission(ask) => d,
                () = cancel.notified() => None,
            };
            return match decision.filter(|id| options.iter().any(|o| o.option_id == *id)) {
                Some(id) => selected(&id),
                None => cancelled(),
            };
        }
    };
    let choice = if approve { pick(&options, ALLOW) } else { pick(&options, REJECT) };
    choice.map_or_else(cancelled, |id| selected(&id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clawdforge_domain::ports::IgnoreUpdates;

    fn ctx(dir: &Path, permissions: Permissions) -> ClientContext {
        ClientContext { workspace: dir.to_path_buf(), allowed_roots: Vec::new(), permissions }
    }

    fn ask(kind: &str) -> Value {
        json!({"toolCall": {"kind": kind}, "options": [
            {"optionId": "a", "name": "Allow", "kind": "allow_once"},
            {"optionId": "r", "name": "Reject", "kind": "reject_once"}]})
    }

    #[tokio::test]
    async fn permissions_follow_the_mode_like_acpx() {
        let p = |m, k| async move { request_permission(m, &ask(k), None).await };
        assert_eq!(p(Permissions::ApproveAll, "edit").await, selected("a"));
        assert_eq!(p(Permissions::ApproveReads, "read").await, selected("a"));
        assert_eq!(p(Permissions::ApproveReads, "edit").await, selected("r"));
        assert_eq!(p(Permissions::DenyAll, "read").await, selected("r"));
        // Ask with nobody to ask: cancelled.
        assert_eq!(p(Permissions::Ask, "read").await, cancelled());
        let sink: Arc<dyn TurnSink> = Arc::new(IgnoreUpdates);
        let turn = Some((sink, Arc::new(Notify::new())));
        assert_eq!(request_permission(Permissions::Ask, &ask("read"), turn).await, cancelled());
    }

    #[tokio::test]
    async fn files_stay_inside_the_workspace_even_through_symlinks() -> std::io::Result<()> {
        let ws = tempfile::tempdir()?;
        let outside = tempfile::tempdir()?;
        std::fs::write(ws.path().join("in.txt"), "a\nb\nc\n")?;
        std::fs::write(outside.path().join("secret"), "s")?;
        std::os::unix::fs::symlink(outside.path().join("secret"), ws.path().join("link"))?;
        let c = ctx(ws.path(), Permissions::ApproveAll);
        let read = |p: PathBuf| json!({"path": p});
        let ok = answer(&c, "fs/read_text_file", read(ws.path().join("in.txt")), None).await;
        assert_eq!(ok, Ok(json!({"content": "a\nb\nc\n"})));
        let part =
            answer(&c, "fs/read_text_file", json!({"path": ws.path().join("in.txt"), "line": 2, "limit": 1}), None)
                .await;
        assert_eq!(part, Ok(json!({"content": "b\n"})));
        let escape = answer(&c, "fs/read_text_file", read(outside.path().join("secret")), None).await;
        assert!(escape.as_ref().is_err_and(is_refusal), "{escape:?}");
        assert!(answer(&c, "fs/read_text_file", read(ws.path().join("link")), None).await.is_err());
        assert!(answer(&c, "fs/read_text_file", read(ws.path().join("../x/../../etc/passwd")), None).await.is_err());
        let write = |p: PathBuf| json!({"path": p, "content": "x"});
        assert!(answer(&c, "fs/write_text_file", write(ws.path().join("link")), None).await.is_err());
        assert_eq!(std::fs::read_to_string(outside.path().join("secret"))?, "s");
        assert_eq!(answer(&c, "fs/write_text_file", write(ws.path().join("new.txt")), None).await, Ok(json!({})));
        assert_eq!(std::fs::read_to_string(ws.path().join("new.txt"))?, "x");
        let reads_only = ctx(ws.path(), Permissions::ApproveReads);
        assert!(answer(&reads_only, "fs/write_text_file", write(ws.path().join("n2")), None).await.is_err());
        assert!(answer(&c, "terminal/create", json!({}), None).await.is_err());
        Ok(())
    }

    #[tokio::test]
    async fn reads_may_also_go_under_the_allowed_roots() -> std::io::Result<()> {
        let ws = tempfile::tempdir()?;
        let root = tempfile::tempdir()?;
        std::fs::write(root.path().join("f"), "r")?;
        let mut c = ctx(ws.path(), Permissions::ApproveReads);
        assert!(answer(&c, "fs/read_text_file", json!({"path": root.path().join("f")}), None).await.is_err());
        c.allowed_roots = vec![root.path().to_path_buf()];
        assert_eq!(
            answer(&c, "fs/read_text_file", json!({"path": root.path().join("f")}), None).await,
            Ok(json!({"content": "r"}))
        );
        Ok(())
    }
}
