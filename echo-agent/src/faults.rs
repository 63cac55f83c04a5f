//! The test-only fault markers a prompt can carry (honoured only with `--faults`).

/// What a prompt asks the agent to do besides echoing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Exit with a non-zero status after the first chunk.
    Crash,
    /// Hang until the turn is cancelled.
    Hang,
    /// Hang and ignore `session/cancel` (only a kill ends it).
    Stuck,
    /// Ask the client for permission to read a file, then finish.
    PermissionRead,
    /// Ask the client for permission to edit a file, then finish.
    PermissionWrite,
    /// Answer the prompt with a JSON-RPC error.
    RpcError,
    /// Stream far more output than a turn may hold (16 MiB).
    Huge,
    /// Write a lot to stderr (4 MiB) before answering normally.
    Stderr,
    /// Say [`DRIP_CHUNKS`] chunks [`DRIP_PAUSE`] apart before echoing
    /// (stopping early when cancelled): a turn slow enough to watch.
    Drip,
    /// Say [`FLOOD_CHUNKS`] short chunks as fast as it can before echoing.
    Flood,
    /// Ask the client to read and write files through `fs/*`, then report.
    Files,
}

/// How many chunks a `__flood__` turn says.
pub(crate) const FLOOD_CHUNKS: usize = 1000;

/// How many chunks a `__drip__` turn says.
pub(crate) const DRIP_CHUNKS: usize = 8;
/// The pause before each of them.
pub(crate) const DRIP_PAUSE: std::time::Duration = std::time::Duration::from_millis(400);

/// The fault a prompt asks for; `None` when faults are off or none is named.
pub(crate) fn fault_in(prompt: &str, enabled: bool) -> Option<Fault> {
    if !enabled {
        return None;
    }
    [
        ("__crash__", Fault::Crash),
        ("__hang__", Fault::Hang),
        ("__stuck__", Fault::Stuck),
        ("__permission_write__", Fault::PermissionWrite),
        ("__permission__", Fault::PermissionRead),
        ("__rpc_error__", Fault::RpcError),
        ("__huge__", Fault::Huge),
        ("__stderr__", Fault::Stderr),
        ("__drip__", Fault::Drip),
        ("__flood__", Fault::Flood),
        ("__files__", Fault::Files),
    ]
    .into_iter()
    .find(|(marker, _)| prompt.contains(marker))
    .map(|(_, fault)| fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_ignored_without_the_faults_flag() {
        assert_eq!(fault_in("please __crash__", false), None);
    }

    #[test]
    fn each_marker_names_its_fault() {
        assert_eq!(fault_in("a __crash__ b", true), Some(Fault::Crash));
        assert_eq!(fault_in("__hang__", true), Some(Fault::Hang));
        assert_eq!(fault_in("__stuck__", true), Some(Fault::Stuck));
        assert_eq!(fault_in("x __permission__", true), Some(Fault::PermissionRead));
        assert_eq!(fault_in("x __permission_write__", true), Some(Fault::PermissionWrite));
        assert_eq!(fault_in("__rpc_error__", true), Some(Fault::RpcError));
        assert_eq!(fault_in("__huge__", true), Some(Fault::Huge));
        assert_eq!(fault_in("__stderr__", true), Some(Fault::Stderr));
        assert_eq!(fault_in("__drip__", true), Some(Fault::Drip));
        assert_eq!(fault_in("__files__ a b", true), Some(Fault::Files));
        assert_eq!(fault_in("slow __drip__ please", true), Some(Fault::Drip));
        assert_eq!(fault_in("__flood__", true), Some(Fault::Flood));
        assert_eq!(fault_in("just text", true), None);
    }
}
