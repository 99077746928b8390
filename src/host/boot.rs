//! `vmlife host-boot`: each VM's `on_host_reboot` with its recovery record, then the
//! ordered start. Once per boot. Each VM's action, the gate and the progress data are
//! pure, in [`crate::lifecycle::host_boot`]; this module reads and writes the files and
//! carries the plan out.
//!
//! - **Once per boot.** Like libvirt's own autostart: `<state_dir>/boot-id` holds the
//!   boot (`/proc/sys/kernel/random/boot_id`) host boot last ran in; the same boot
//!   again is a no-op unless forced (`--force`). When the boot id cannot be read there
//!   is no guard.
//! - **Policy** (metadata over the `[policy]` host default; a VM with an invalid policy
//!   is left as it is):
//!   - `start`: a VM recorded as running or paused comes back (a start restores its
//!     managed save when it has one, so a saved VM resumes where it was, paused if it
//!     was saved paused); one recorded as stopped stays stopped (and its dependants in
//!     the ordered start are skipped). A VM without a record is started only when it
//!     is in the autostart set. VMs in the autostart set are started by the ordered
//!     start (in order, with their SSH waits); the others first, in parallel.
//!   - `keep_stopped`: stays off; its managed save is kept, so a later manual start
//!     still resumes it. (A VM something else started is left running.)
//!   - `destroy`: stays off and forgets its state: destroyed if something started it,
//!     and its managed save is discarded, so a later start boots afresh.
//! - **Records.** Each applied record gets `restored_at` and `restore_result`, so a
//!   second boot does not apply it again; `vmlife recover` still can.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::hypervisor::RunState;
use crate::lifecycle::autostart::{self as pure, Progress};
use crate::lifecycle::host_boot::{applied_text, decide, gate, save_matters};
use crate::lifecycle::Op;
use crate::poll::Vm;

pub use crate::lifecycle::host_boot::{
    BootAction, BootGate, BootProgress, BootStep, RestoreProgress,
};

use super::autostart::{prepare, run_sequence, Prepared};
use super::probe::SshProbe;
use super::recovery_file::RecoveryFile;
use super::{HostCtx, RunControl};
use crate::model::Uuid;

/// Where the kernel says which boot this is.
pub const BOOT_ID_SOURCE: &str = "/proc/sys/kernel/random/boot_id";

/// The marker's file name in the state directory.
pub const BOOT_MARKER: &str = "boot-id";

/// The boot id in `path`, trimmed; `None` when it cannot be read or is empty.
pub fn read_boot_id(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Compares the marker in `state_dir` with the boot id in `source`.
pub fn boot_gate(state_dir: &Path, source: &Path, force: bool) -> BootGate {
    gate(
        read_boot_id(source),
        read_boot_id(&state_dir.join(BOOT_MARKER)),
        force,
    )
}

/// Records that host boot ran in `boot_id` (nothing when the boot id is unknown).
pub fn write_marker(state_dir: &Path, boot_id: Option<&str>) -> Result<(), String> {
    let Some(b) = boot_id else {
        return Ok(());
    };
    crate::store::ensure_dir(state_dir)
        .map_err(|e| format!("state dir {}: {e}", state_dir.display()))?;
    let path = state_dir.join(BOOT_MARKER);
    crate::store::write_atomic(&path, format!("{b}\n").as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// What a host boot will do.
#[derive(Debug, Clone, PartialEq)]
pub struct BootPlan {
    /// The boot to record in the marker.
    pub boot_id: Option<String>,
    /// Every VM considered, by name.
    pub steps: Vec<BootStep>,
    /// Records whose domain is gone.
    pub gone: Vec<String>,
    /// The ordered start that follows.
    pub autostart: Prepared,
    /// The recovery file, as read.
    pub records: Option<RecoveryFile>,
}

/// Plans the host boot of the VMs in `views` (every VM: dependencies outside `only`
/// must be visible), restricted to `only` (names or UUIDs) when given, with the
/// records in `records`.
pub fn plan_boot(
    ctx: &HostCtx,
    views: &[Vm],
    only: Option<&BTreeSet<String>>,
    records: Option<RecoveryFile>,
    boot_id: Option<String>,
) -> BootPlan {
    let wanted = |uuid: &str, name: &str| only.is_none_or(|o| o.contains(uuid) || o.contains(name));
    let mut steps = Vec::new();
    let mut holds: BTreeMap<Uuid, String> = BTreeMap::new();
    for v in views
        .iter()
        .filter(|v| wanted(&v.uuid, &v.snapshot.vm_name))
    {
        let name = v.snapshot.vm_name.clone();
        let active = v.state.is_some_and(RunState::is_active);
        let record = records.as_ref().and_then(|f| {
            f.records
                .iter()
                .position(|r| r.state.vm_id == v.uuid && r.restored_at.is_none())
        });
        let recorded = record.and_then(|i| {
            records
                .as_ref()
                .map(|f| f.records[i].state.state_before_shutdown)
        });
        let facts = v.facts();
        let action = match &v.meta {
            Err(e) => BootAction::Nothing {
                why: format!("invalid policy ({e}): left as it is"),
            },
            Ok(meta) => {
                let policy = meta.policy.apply(&ctx.settings.policy);
                let member = pure::autostart_config(&facts).is_some();
                let on_reboot = policy.on_host_reboot;
                let has_save = save_matters(active, member, on_reboot, recorded)
                    && ctx.hv.has_managed_save(&v.uuid).unwrap_or(false);
                let (action, hold) = decide(active, member, on_reboot, recorded, has_save);
                if let Some(h) = hold {
                    holds.insert(v.uuid.clone(), h);
                }
                action
            }
        };
        steps.push(BootStep {
            uuid: v.uuid.clone(),
            name,
            action,
            record,
        });
    }
    let gone = records
        .as_ref()
        .map(|f| {
            f.records
                .iter()
                .filter(|r| r.restored_at.is_none())
                .filter(|r| wanted(&r.state.vm_id, &r.state.vm_name))
                .filter(|r| !views.iter().any(|v| v.uuid == r.state.vm_id))
                .map(|r| {
                    format!(
                        "{}: recorded {} but the domain no longer exists; `vmlife recover {}` \
                         re-defines it from its config snapshot",
                        r.state.vm_name, r.state.state_before_shutdown, r.state.vm_name
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let autostart = prepare(ctx, views, only, &holds);
    BootPlan {
        boot_id,
        steps,
        gone,
        autostart,
        records,
    }
}

impl BootPlan {
    /// What will happen: each VM's boot action, then the ordered start. For a dry run
    /// and a confirmation popup.
    pub fn describe(&self, probe: &dyn SshProbe) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.steps {
            out.push(format!("{}: {}", s.name, s.action.describe()));
        }
        out.extend(self.gone.iter().cloned());
        out.push("then the ordered start:".into());
        out.extend(
            self.autostart
                .describe(probe)
                .into_iter()
                .map(|l| format!("  {l}")),
        );
        out
    }
}

/// How a host boot ended.
#[derive(Debug, Clone, PartialEq)]
pub struct BootReport {
    /// The progress at the end.
    pub progress: BootProgress,
    /// The VMs the ordered start held back, one line each with why (a cycle, a
    /// missing dependency, an invalid policy): the boot went on without them, and it
    /// failed.
    pub held_back: Vec<String>,
    /// Writing `recovery.json` or the marker failed.
    pub store_error: Option<String>,
}

impl BootReport {
    /// VMs that failed (first phase and ordered start).
    pub fn failed(&self) -> usize {
        let first = self.progress.restore.iter().filter(|r| r.failed).count();
        let second = self.progress.autostart.as_ref().map_or(0, |p| p.tally().1);
        first + second
    }
}

/// Runs `plan`: the first phase (restores, destroys, discards; `[host] parallel` at
/// once), then the ordered start; marks the records applied and writes the boot
/// marker. Calls `on_progress` after every change.
pub fn run_boot(
    ctx: &HostCtx,
    plan: BootPlan,
    control: &RunControl,
    on_progress: &mut dyn FnMut(&BootProgress),
) -> BootReport {
    let mut progress = BootProgress {
        restore: plan
            .steps
            .iter()
            .filter(|s| {
                matches!(
                    s.action,
                    BootAction::Restore { .. } | BootAction::Destroy { .. }
                )
            })
            .map(|s| RestoreProgress {
                name: s.name.clone(),
                uuid: s.uuid.clone(),
                text: "pending".into(),
                done: false,
                failed: false,
            })
            .collect(),
        autostart: None,
    };
    on_progress(&progress);
    let todo: Vec<&BootStep> = plan
        .steps
        .iter()
        .filter(|s| {
            matches!(
                s.action,
                BootAction::Restore { .. } | BootAction::Destroy { .. }
            )
        })
        .collect();
    let parallel = usize::try_from(ctx.settings.host.parallel.max(1)).unwrap_or(1);
    for (chunk_no, chunk) in todo.chunks(parallel).enumerate() {
        if control.is_cancelled() {
            for line in progress.restore.iter_mut().filter(|l| !l.done) {
                line.text = "skipped: cancelled".into();
                line.done = true;
            }
            break;
        }
        for k in 0..chunk.len() {
            progress.restore[chunk_no * parallel + k].text = "in progress".into();
        }
        on_progress(&progress);
        let results: Vec<Result<String, String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|s| scope.spawn(move || first_phase(ctx, s)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("internal error: panicked".into()))
                })
                .collect()
        });
        for (k, r) in results.into_iter().enumerate() {
            let line = &mut progress.restore[chunk_no * parallel + k];
            line.done = true;
            match r {
                Ok(t) => line.text = t,
                Err(e) => {
                    line.failed = true;
                    line.text = format!("failed: {e}");
                }
            }
        }
        on_progress(&progress);
    }

    let held_back = plan.autostart.held_back_lines();
    {
        let mut forward = |p: &Progress| {
            progress.autostart = Some(p.clone());
            on_progress(&progress);
        };
        let last = run_sequence(
            ctx,
            plan.autostart.plan.clone(),
            "host boot: ordered autostart",
            control,
            &mut forward,
        );
        progress.autostart = Some(last);
    }

    // Mark what was applied.
    let now = ctx.clock.now();
    let mut store_error = None;
    if let Some(mut file) = plan.records.clone() {
        let mut touched = false;
        for s in &plan.steps {
            let Some(i) = s.record else { continue };
            let result = applied_text(s, &progress, now);
            let r = &mut file.records[i];
            r.restored_at = Some(now);
            r.restore_result = Some(result);
            touched = true;
        }
        if touched {
            store_error = file.save(&ctx.state_dir).err();
        }
    }
    if let Err(e) = write_marker(&ctx.state_dir, plan.boot_id.as_deref()) {
        store_error.get_or_insert(e);
    }
    BootReport {
        progress,
        held_back,
        store_error,
    }
}

/// The first phase for one VM: start it, or destroy it and discard its save.
fn first_phase(ctx: &HostCtx, s: &BootStep) -> Result<String, String> {
    let fail = |r: &crate::executor::ExecResult| r.to_string();
    match &s.action {
        BootAction::Restore { from_save } => {
            let reason =
                "host boot: on_host_reboot = start (was running before the host shut down)";
            let r = ctx.run(&s.uuid, &s.name, Op::Start, reason);
            if !r.outcome.is_ok() {
                return Err(fail(&r));
            }
            Ok(if *from_save {
                "started (resumed from its managed save)".into()
            } else {
                "started (was running before the host shut down)".into()
            })
        }
        BootAction::Destroy { running, has_save } => {
            let mut done = Vec::new();
            if *running {
                let r = ctx.run(
                    &s.uuid,
                    &s.name,
                    Op::Destroy,
                    "host boot: on_host_reboot = destroy",
                );
                if !r.outcome.is_ok() {
                    return Err(fail(&r));
                }
                done.push("destroyed");
            }
            if *has_save {
                let r = ctx.run(
                    &s.uuid,
                    &s.name,
                    Op::DiscardManagedSave,
                    "host boot: on_host_reboot = destroy",
                );
                if !r.outcome.is_ok() {
                    return Err(fail(&r));
                }
                done.push("managed save discarded");
            }
            Ok(format!("stays off: {}", done.join(", ")))
        }
        other => Ok(other.describe()),
    }
}
