//! Opening a connection with a timeout.
//!
//! `virConnectOpen` has no timeout of its own: against an endpoint that accepts the TCP
//! connection and never answers (a hung daemon, a firewall that swallows packets after
//! the handshake), it blocks forever. So the open runs on a thread of its own and the
//! caller waits for it at most the timeout. A thread that timed out is abandoned, still
//! blocked in libvirt: there is no way to cancel the call. That costs one parked thread
//! per unanswered attempt (the reconnect backoff keeps those few), and if the open ever
//! completes, the connection is dropped (closed) because nobody receives it.

use std::sync::mpsc;
use std::time::Duration;

use virt::connect::Connect;

/// How long an open may take when neither `--connect-timeout` nor the config says.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Opens `uri` (read-only when asked), giving up after `timeout`. The error is
/// libvirt's message, or says that `uri` did not answer in time.
pub(crate) fn open_connect(
    uri: &str,
    readonly: bool,
    timeout: Duration,
) -> Result<Connect, String> {
    let (tx, rx) = mpsc::channel();
    let target = uri.to_string();
    let spawned = std::thread::Builder::new()
        .name("vmlife-connect".into())
        .spawn(move || {
            let opened = if readonly {
                Connect::open_read_only(Some(&target))
            } else {
                Connect::open(Some(&target))
            };
            // A receiver gone after a timeout drops (closes) the late connection.
            let _ = tx.send(opened.map_err(|e| e.message().to_string()));
        });
    if let Err(e) = spawned {
        return Err(format!("cannot start a thread to connect: {e}"));
    }
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
            "{uri} did not answer within {}s (--connect-timeout)",
            timeout.as_secs_f64()
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err("the connecting thread ended without a result".into())
        }
    }
}
