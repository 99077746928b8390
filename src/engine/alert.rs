//! The alert hook: `[alerts] command = ["/usr/local/bin/notify", "arg"]` in the config.
//!
//! Run once per alert, without a shell, with the alert in its environment
//! (`VMLIFE_VM_NAME`, `VMLIFE_VM_ID`, `VMLIFE_ACTION`, `VMLIFE_ERROR`, `VMLIFE_URI`),
//! stdin from `/dev/null`, for at most its timeout. Its failure is reported to the
//! caller (who journals it), never fatal.

use std::io::{Read, Seek};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::state_files::Alert;
use crate::format::escape;

/// How often a running alert command is checked.
const WAIT_STEP: Duration = Duration::from_millis(20);
/// The most of its stderr kept for the error message.
const STDERR_KEEP: usize = 300;

/// Runs `argv` for `alert`; `Err` says why it failed, in one line.
pub fn run_alert_command(
    argv: &[String],
    timeout: Duration,
    alert: &Alert,
    uri: &str,
) -> Result<(), String> {
    let Some((program, args)) = argv.split_first() else {
        return Ok(());
    };
    // A file, not a pipe: a pipe would block on a grandchild that keeps it open.
    let mut stderr = tempfile::tempfile().map_err(|e| format!("cannot run {program}: {e}"))?;
    let err_handle = stderr
        .try_clone()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let mut child = Command::new(program)
        .args(args)
        // Escaped: a VM name with a newline or ESC must not forge lines or terminal
        // sequences in whatever the command prints or mails.
        .env("VMLIFE_VM_NAME", escape(&alert.vm_name).as_ref())
        .env("VMLIFE_VM_ID", escape(&alert.vm_id).as_ref())
        .env("VMLIFE_ACTION", escape(&alert.action).as_ref())
        .env("VMLIFE_ERROR", escape(&alert.error).as_ref())
        .env("VMLIFE_URI", escape(uri).as_ref())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err_handle)
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{program} did not finish within {}s and was killed",
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(WAIT_STEP),
            Err(e) => return Err(format!("waiting for {program}: {e}")),
        }
    };
    if status.success() {
        return Ok(());
    }
    let mut text = String::new();
    let _ = stderr.rewind();
    let _ = stderr.take(4096).read_to_string(&mut text);
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let last: String = last.trim().chars().take(STDERR_KEEP).collect();
    if last.is_empty() {
        Err(format!("{program} failed ({status})"))
    } else {
        Err(format!("{program} failed ({status}): {last}"))
    }
}

#[cfg(test)]
#[path = "alert_tests.rs"]
mod tests;
