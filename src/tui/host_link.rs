//! The dashboard's link to the host commands: the ordered autostart (`a`) and recovery
//! (`r`). A service of the Elm loop: it plans and runs on blocking threads (they read
//! the recovery file and `/etc`) and sends what it found back as messages.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use super::state::ActivityStatus;
use super::update::Msg;
use crate::host::recover::{plan_recover, run_recover};
use crate::host::recovery_file::{RecoveryFile, RecoveryRecord};
use crate::host::{autostart, HostCtx, RunControl};
use crate::model::Uuid;
use crate::poll::Vm;

/// The host commands as the dashboard runs them.
pub struct HostLink {
    ctx: Arc<HostCtx>,
    dir: PathBuf,
    /// The running sequence's control, to stop it on quit.
    control: Arc<RunControl>,
}

impl HostLink {
    /// Run host commands with `ctx` (sharing the dashboard's executor), recording in `dir`.
    pub fn new(ctx: HostCtx, dir: &Path) -> HostLink {
        HostLink {
            ctx: Arc::new(ctx),
            dir: dir.to_path_buf(),
            control: Arc::new(RunControl::new()),
        }
    }

    /// What the ordered autostart would do, one line per VM in order (held-back VMs
    /// last, with why), with warnings: planned on a blocking thread (it reads `/etc`),
    /// sent as `Msg::AutostartPrepared`.
    pub fn spawn_prepare_autostart(&self, views: Arc<[Vm]>, tx: UnboundedSender<Msg>) {
        let ctx = self.ctx.clone();
        tokio::task::spawn_blocking(move || {
            let prepared = autostart::prepare(&ctx, &views, None, &BTreeMap::new());
            let mut lines = prepared.describe(&*ctx.probe);
            lines.extend(prepared.notes.iter().map(|n| format!("note: {n}")));
            lines.extend(prepared.warnings.iter().map(|w| format!("warning: {w}")));
            let _ = tx.send(Msg::AutostartPrepared(Ok(lines)));
        });
    }

    /// Start the ordered autostart on a blocking thread; every change of a step is sent
    /// as `Msg::Progress`.
    pub fn spawn_autostart(&mut self, views: Arc<[Vm]>, tx: UnboundedSender<Msg>) {
        self.control.cancel();
        self.control = Arc::new(RunControl::new());
        let (ctx, control) = (self.ctx.clone(), self.control.clone());
        tokio::task::spawn_blocking(move || {
            // Planned again on the views of the moment: the VMs may have changed while
            // the confirmation was open.
            let prepared = autostart::prepare(&ctx, &views, None, &BTreeMap::new());
            // The VMs it holds back are its last steps, shown as skipped with why.
            autostart::run_sequence(
                &ctx,
                prepared.plan,
                "ordered autostart (dashboard)",
                &control,
                &mut |p| {
                    let _ = tx.send(Msg::Progress(p.clone()));
                },
            );
        });
    }

    /// Stop a running sequence from starting anything more (on quit).
    pub fn cancel(&self) {
        self.control.cancel();
    }

    /// What recovering `vm_id` would do: planned on a blocking thread (it reads the
    /// recovery file), sent as `Msg::RecoverPrepared`.
    pub fn spawn_prepare_recover(
        &self,
        views: Arc<[Vm]>,
        vm_id: Uuid,
        vm_name: String,
        tx: UnboundedSender<Msg>,
    ) {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            let lines = prepare_recover(&dir, &views, &vm_id);
            let _ = tx.send(Msg::RecoverPrepared {
                vm_id,
                vm_name,
                lines,
            });
        });
    }

    /// The recovery records for the detail pane, read on a blocking thread and sent as
    /// `Msg::Recovery`.
    pub fn spawn_recovery(&self, tx: UnboundedSender<Msg>) {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            let _ = tx.send(Msg::Recovery(recovery_lines(&dir)));
        });
    }

    /// Recover `vm_id` on a blocking thread; the result comes as `Msg::ActionFinished`,
    /// then the refreshed records as `Msg::Recovery`.
    pub fn spawn_recover(&self, views: Arc<[Vm]>, vm_id: Uuid, tx: UnboundedSender<Msg>) {
        let (ctx, dir) = (self.ctx.clone(), self.dir.clone());
        tokio::task::spawn_blocking(move || {
            let finished = |status, text: String| Msg::ActionFinished {
                vm_id: vm_id.clone(),
                action: "recover".into(),
                status,
                text,
            };
            let planned = RecoveryFile::load(&dir).and_then(|f| {
                let file = f.ok_or_else(|| "no recovery records".to_string())?;
                let steps = plan_recover(&file, &views, &[vm_id.to_string()])?;
                Ok((file, steps))
            });
            let msg = match planned {
                Err(e) => finished(ActivityStatus::Failed, e),
                Ok((mut file, steps)) => {
                    let (results, store_error) =
                        run_recover(&ctx, &mut file, &steps, &mut |_, _| {});
                    let mut texts: Vec<String> = Vec::new();
                    let mut ok = true;
                    for r in results {
                        match r {
                            Ok(t) => texts.push(t),
                            Err(e) => {
                                ok = false;
                                texts.push(e);
                            }
                        }
                    }
                    if let Some(e) = store_error {
                        texts.push(format!("recovery file not saved: {e}"));
                    }
                    let status = if ok {
                        ActivityStatus::Ok
                    } else {
                        ActivityStatus::Failed
                    };
                    finished(status, texts.join("; "))
                }
            };
            let _ = tx.send(msg);
            let _ = tx.send(Msg::Recovery(recovery_lines(&dir)));
        });
    }
}

/// What recovering `vm_id` would do.
fn prepare_recover(dir: &Path, views: &[Vm], vm_id: &str) -> Result<Vec<String>, String> {
    let file = RecoveryFile::load(dir)?.ok_or("no recovery records (host-shutdown has not run)")?;
    let steps = plan_recover(&file, views, &[vm_id.to_string()])?;
    Ok(steps.iter().map(|s| s.describe()).collect())
}

/// The recovery records as detail-pane lines, by VM UUID (none when there is no file).
pub fn recovery_lines(dir: &Path) -> HashMap<Uuid, Vec<String>> {
    let Ok(Some(file)) = RecoveryFile::load(dir) else {
        return HashMap::new();
    };
    file.records
        .iter()
        .map(|r| (r.state.vm_id.clone(), record_lines(r)))
        .collect()
}

fn record_lines(r: &RecoveryRecord) -> Vec<String> {
    let st = &r.state;
    let mut lines = vec![
        format!(
            "was {} at {}",
            st.state_before_shutdown,
            st.last_checkpoint.format("%Y-%m-%d %H:%M UTC")
        ),
        format!(
            "host shutdown: {} ({})",
            r.on_host_shutdown,
            r.shutdown_result.as_deref().unwrap_or("in progress")
        ),
    ];
    if let Some(m) = &st.memory_snapshot {
        let size = st
            .memory_size_mb
            .map(|mb| format!(", {mb} MB"))
            .unwrap_or_default();
        lines.push(format!("memory: {m}{size}"));
    }
    match (&r.restored_at, &r.restore_result) {
        (Some(at), Some(what)) => lines.push(format!("{} {what}", at.format("%H:%M"))),
        _ => lines.push("not restored yet".into()),
    }
    lines
}
