//! The dashboard's other hosts (1 and up), each on its own task: connect (retried with
//! backoff while the host is down), poll ([`super::poll_task`]), its domain events, its
//! memory, and an executor of its own for the person's actions on its VMs (journaled
//! with the host's name). Nothing here waits for another host, and the UI task never
//! waits for any: a host that hangs only makes its own task wait.
//!
//! The dashboard runs no automatic action for these hosts (their engine is their own
//! daemon, see docs/ARCHITECTURE.md, "Many hosts") unless a host's entry says
//! `engine = "dashboard"` ([`super::fleet_engine`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::{watch, Notify};

use super::hosts::key_of;
use super::state::ActivityStatus;
use super::update::Msg;
use super::visible::InView;
use crate::config::{Config, HostSpec};
use crate::executor::{ExecOptions, ExecResult, Executor, Outcome};
use crate::hypervisor::libvirt::LibvirtHypervisor;
use crate::hypervisor::{DomainEvent, Hypervisor};
use crate::lifecycle::{Actor, Command};
use crate::model::Uuid;
use crate::poll::{Poller, PollerOptions};

/// First wait before a host that could not be connected is tried again; it doubles
/// up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_secs(5);
const RETRY_MAX: Duration = Duration::from_secs(60);
/// How often a host's memory is read for the strip.
const MEMORY_EVERY: Duration = Duration::from_secs(30);

/// One more host for the dashboard.
#[derive(Debug, Clone)]
pub struct RemoteHost {
    /// Its index in the dashboard's hosts (1 and up).
    pub index: u16,
    pub spec: HostSpec,
    /// Open it read-only (`--readonly`, or its entry's `readonly`).
    pub readonly: bool,
    pub connect_timeout: Duration,
}

/// What every host task shares.
#[derive(Clone)]
pub struct Context {
    pub config: Arc<Config>,
    pub state_dir: PathBuf,
    pub actor: Actor,
    pub poller: PollerOptions,
    /// Polls while the selected VM is on the host.
    pub refresh: Duration,
    /// Full polls otherwise (`[dashboard] host_refresh_seconds`).
    pub host_refresh: Duration,
    /// Becomes true when the dashboard quits: the engines it runs stop.
    pub stop: watch::Receiver<bool>,
    /// The engines it runs for hosts other than the first ([`super::fleet_engine`]).
    pub engines: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

/// The runtime's handle on one host task.
pub struct RemoteLink {
    pub index: u16,
    pub name: String,
    /// Wakes its poll task for a poll now.
    pub poll_now: Arc<Notify>,
    /// Its VMs in view, for its poller.
    pub view: watch::Sender<InView>,
    commands: UnboundedSender<Command>,
}

impl RemoteLink {
    /// Hand a person's command to the host's executor; a task that is gone answers
    /// at once with a failure.
    pub fn execute(&self, cmd: Command, tx: &UnboundedSender<Msg>) {
        if let Err(e) = self.commands.send(cmd) {
            let cmd = e.0;
            let _ = tx.send(refused(self.index, &cmd, format!("{} is gone", self.name)));
        }
    }
}

/// Start the task of `host`; its messages go to `tx`.
pub fn spawn(host: RemoteHost, ctx: Context, tx: UnboundedSender<Msg>) -> RemoteLink {
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let (view, view_rx) = watch::channel(InView::default());
    let poll_now = Arc::new(Notify::new());
    let link = RemoteLink {
        index: host.index,
        name: host.spec.name.clone(),
        poll_now: poll_now.clone(),
        view,
        commands,
    };
    tokio::spawn(run(host, ctx, tx, commands_rx, view_rx, poll_now));
    link
}

async fn run(
    host: RemoteHost,
    ctx: Context,
    tx: UnboundedSender<Msg>,
    mut commands: UnboundedReceiver<Command>,
    view: watch::Receiver<InView>,
    poll_now: Arc<Notify>,
) {
    let index = host.index;
    let Some(hv) = connect(&host, &tx, &mut commands).await else {
        return;
    };
    if super::fleet_engine::runs_here(&host.spec, host.readonly) {
        let (spec, hv, ctx, tx) = (host.spec.clone(), hv.clone(), ctx.clone(), tx.clone());
        // Its lock, store and event subscription are blocking calls.
        tokio::task::spawn_blocking(move || {
            let started = super::fleet_engine::spawn(
                index,
                &spec,
                hv,
                &ctx.config,
                &ctx.state_dir,
                &tx,
                ctx.stop.clone(),
            );
            if let Some(h) = started {
                ctx.engines
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(h);
            }
        });
    }
    let journal = crate::session::open_journal(&ctx.state_dir, &ctx.config, &host.spec.name);
    let (results_tx, mut results) = mpsc::unbounded_channel::<ExecResult>();
    let exec = match journal {
        Ok(j) => Ok(Executor::with_options(
            hv.clone(),
            Arc::new(j),
            results_tx,
            ExecOptions {
                dry_run: false,
                manage_all_vms: ctx.config.engine.manage_all_vms,
            },
        )),
        // Nothing runs without its journal line.
        Err(e) => Err(format!("journal in {}: {e}", ctx.state_dir.display())),
    };
    let (events_tx, mut events) = mpsc::unbounded_channel::<DomainEvent>();
    {
        let hv = hv.clone();
        tokio::task::spawn_blocking(move || hv.subscribe(events_tx));
    }
    let (invalidate, invalidate_rx) = mpsc::unbounded_channel::<Uuid>();
    super::poll_task::spawn_poller(
        index,
        Poller::new(hv.clone(), other_host_options(&ctx.poller)),
        tx.clone(),
        view,
        invalidate_rx,
        poll_now,
        super::poll_task::Cadence {
            refresh: ctx.refresh,
            unfocused: Some(ctx.host_refresh),
        },
    );
    // On a task of its own: a host that hangs must not hold its commands and events
    // behind a memory read.
    let threshold = ctx.config.pressure.memory_available_percent;
    spawn_memory(index, hv.clone(), threshold, tx.clone());
    loop {
        let msg = tokio::select! {
            c = commands.recv() => {
                let Some(cmd) = c else { break };
                match &exec {
                    Ok(exec) => {
                        exec.submit(cmd, ctx.actor.clone());
                        continue;
                    }
                    Err(why) => refused(index, &cmd, why.clone()),
                }
            }
            Some(r) = results.recv() => {
                let _ = invalidate.send(r.cmd.vm_id.clone());
                finished(index, &r)
            }
            Some(e) = events.recv() => {
                if let Some(uuid) = e.uuid() {
                    let _ = invalidate.send(uuid.into());
                }
                Msg::Event(index, e)
            }
        };
        if tx.send(msg).is_err() {
            break;
        }
    }
}

/// Open the host's connection, retrying with backoff; commands asked meanwhile are
/// refused. `None` once the dashboard is gone.
async fn connect(
    host: &RemoteHost,
    tx: &UnboundedSender<Msg>,
    commands: &mut UnboundedReceiver<Command>,
) -> Option<Arc<dyn Hypervisor>> {
    let mut wait = RETRY_FIRST;
    loop {
        let (uri, readonly, timeout) = (host.spec.uri.clone(), host.readonly, host.connect_timeout);
        let opened = tokio::task::spawn_blocking(move || {
            LibvirtHypervisor::open_with_timeout(&uri, readonly, timeout)
        })
        .await
        .ok()?;
        match opened {
            Ok(hv) => return Some(Arc::new(hv)),
            Err(e) => {
                tx.send(Msg::HostDown {
                    host: host.index,
                    error: e.message,
                })
                .ok()?;
            }
        }
        let sleep = tokio::time::sleep(wait);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => break,
                c = commands.recv() => {
                    let cmd = c?;
                    let why = format!("{} is not connected", host.spec.name);
                    tx.send(refused(host.index, &cmd, why)).ok()?;
                }
            }
        }
        wait = (wait * 2).min(RETRY_MAX);
    }
}

/// Host `index`'s memory for the strip, every 30 s, one read at a time,
/// until the dashboard is gone.
/// The poller options of a host other than the first: the figures of its VMs in view
/// every [`super::poll_task::OTHER_HOST_FIGURES`] refreshes while no VM of it is
/// selected.
fn other_host_options(first: &crate::poll::PollerOptions) -> crate::poll::PollerOptions {
    let mut o = first.clone();
    if let Some(v) = o.view.as_mut() {
        v.unfocused_every = super::poll_task::OTHER_HOST_FIGURES;
    }
    o
}

pub fn spawn_memory(
    index: u16,
    hv: Arc<dyn Hypervisor>,
    threshold_percent: f64,
    tx: UnboundedSender<Msg>,
) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(MEMORY_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            every.tick().await;
            let hv = hv.clone();
            let read = move || memory_msg(index, &*hv, threshold_percent);
            let Ok(msg) = tokio::task::spawn_blocking(read).await else {
                break;
            };
            if tx.send(msg).is_err() {
                break;
            }
        }
    });
}

/// Host `index`'s memory for the strip.
pub fn memory_msg(index: u16, hv: &dyn Hypervisor, threshold_percent: f64) -> Msg {
    let (mem, _) = crate::engine::signals::read_memory(hv);
    let (text, low) = match mem {
        Ok(m) => {
            let pct = m.available_percent();
            if pct < threshold_percent {
                (format!("MEMORY LOW {pct:.0}% free"), true)
            } else {
                (format!("mem {pct:.0}% free"), false)
            }
        }
        Err(_) => ("mem ?".to_string(), false),
    };
    Msg::HostMemory {
        host: index,
        text,
        low,
    }
}

/// The activity pane's view of an executor result of host `host`.
pub fn finished(host: u16, r: &ExecResult) -> Msg {
    let (status, text) = match &r.outcome {
        Outcome::Ok(m) => (ActivityStatus::Ok, m.clone()),
        Outcome::Failed(m) => (ActivityStatus::Failed, m.clone()),
        Outcome::Refused(m) => (ActivityStatus::Refused, m.clone()),
        Outcome::DryRun(m) => (ActivityStatus::DryRun, m.clone()),
    };
    Msg::ActionFinished {
        vm_id: key_of(&r.cmd.vm_id, host),
        action: r.cmd.op.name().into(),
        status,
        text,
    }
}

fn refused(host: u16, cmd: &Command, why: String) -> Msg {
    Msg::ActionFinished {
        vm_id: key_of(&cmd.vm_id, host),
        action: cmd.op.name().into(),
        status: ActivityStatus::Failed,
        text: why,
    }
}
