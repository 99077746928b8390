//! Where a connection URI points.

/// True when `uri` names a hypervisor on this machine: no host part, and no transport
/// other than a unix socket (`qemu:///system`, `qemu:///session`,
/// `qemu+unix:///session?socket=…`, `test:///default`).
pub fn is_local_uri(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return false;
    };
    let transport = scheme.split_once('+').map(|(_, t)| t);
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    host.is_empty() && matches!(transport, None | Some("unix"))
}
