//! The test-only fault markers a prompt can carry (honoured only with `--faults`).

/// What a prompt asks the agent to do besides echoing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Exit with a non-zero status after the first chunk.
    Crash,
    /// Hang until the turn is cancelled.
    Hang,
    /// Ask the client for permission to read a file, then finish.
    PermissionRead,
    /// Ask the client for permission to edit a file, then finish.
    PermissionWrite,
    /// Say [`DRIP_CHUNKS`] chunks [`DRIP_PAUSE`] apart before echoing
    /// (stopping early when cancelled): a turn slow enough to watch.
    Drip,
    /// Say [`FLOOD_CHUNKS`] short chunks as fast as it can before echoing.
    Flood,
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
    // The longer marker first: `__permission_write__` contains no
    // `__permission__`, but order still keeps the intent obvious.
    [
        ("__crash__", Fault::Crash),
        ("__hang__", Fault::Hang),
        ("__permission_write__", Fault::PermissionWrite),
        ("__permission__", Fault::PermissionRead),
        ("__drip__", Fault::Drip),
        ("__flood__", Fault::Flood),
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
        assert_eq!(fault_in("x __permission__", true), Some(Fault::PermissionRead));
        assert_eq!(fault_in("x __permission_write__", true), Some(Fault::PermissionWrite));
        assert_eq!(fault_in("slow __drip__ please", true), Some(Fault::Drip));
        assert_eq!(fault_in("__flood__", true), Some(Fault::Flood));
        assert_eq!(fault_in("just text", true), None);
    }
}
