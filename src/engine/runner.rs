//! The daemon's loop around an [`EngineCore`]: its own poller every `poll_seconds`,
//! two executors (normal and dry run), results fed back, alerts sent to the alert
//! command. Stops when `shutdown` resolves (SIGTERM/SIGINT in `vmlife daemon`), after
//! waiting a bounded time for running commands.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::mpsc;

use super::alert::run_alert_command;
use super::{signals, EngineCore, EngineEvent};
use crate::executor::{ExecOptions, ExecResult, Executor};
use crate::hypervisor::{DomainEvent, Hypervisor, StatsGroups};
use crate::lifecycle::Actor;
use crate::model::Uuid;
use crate::poll::{Poller, PollerOptions};
use crate::store::{Journal, JournalEntry};

/// How the runner runs.
#[derive(Debug)]
pub struct RunnerOptions {
    /// Time between polls (`[engine] poll_seconds`).
    pub poll_interval: Duration,
    /// On shutdown, how long to wait for running commands.
    pub stop_timeout: Duration,
    /// Give up (exit with an error, for systemd to restart) after polls have failed
    /// for this long.
    pub max_poll_outage: Duration,
    /// `[alerts] command`; empty for none.
    pub alert_command: Vec<String>,
    /// `[alerts] timeout_seconds`.
    pub alert_timeout: Duration,
    /// `[limits] apply = true`: the engine sets running managed VMs' limits.
    pub limits: Option<super::limits_worker::LimitsEngine>,
}

impl RunnerOptions {
    /// The options a config asks for.
    pub fn from_config(c: &crate::config::Config) -> RunnerOptions {
        RunnerOptions {
            poll_interval: Duration::from_secs(c.engine.poll_seconds.max(1)),
            stop_timeout: Duration::from_secs(c.engine.stop_timeout_seconds),
            max_poll_outage: Duration::from_secs(120),
            alert_command: c.alerts.command.clone(),
            alert_timeout: Duration::from_secs(c.alerts.timeout_seconds.max(1)),
            limits: super::limits_worker::LimitsEngine::from_config(c),
        }
    }
}

/// Runs the engine until `shutdown` resolves; `Err` (one line) when it cannot go on.
///
/// `events`, when given, is the receiving end of a [`Hypervisor::subscribe`] sink: a
/// start/stop event is fed to [`EngineCore::on_event`]; a lifecycle or metadata event
/// re-reads that domain, and it and a reconnection make the next poll happen at once,
/// so a stop is classified with what the event said and reacted to without waiting for
/// the tick.
pub async fn run(
    mut core: EngineCore,
    hv: Arc<dyn Hypervisor>,
    journal: Arc<Journal>,
    mut opts: RunnerOptions,
    mut events: Option<mpsc::UnboundedReceiver<DomainEvent>>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    let uri = hv.uri().to_string();
    let (tx, mut rx) = mpsc::unbounded_channel::<ExecResult>();
    let real = ExecOptions {
        dry_run: false,
        manage_all_vms: core.settings().manage_all_vms,
    };
    let exec = Executor::with_options(hv.clone(), journal.clone(), tx.clone(), real);
    let dry = Executor::with_options(
        hv.clone(),
        journal.clone(),
        tx,
        ExecOptions {
            dry_run: true,
            ..real
        },
    );
    let options = PollerOptions {
        // State and metadata are all the engine reads; the costly groups would wake
        // every guest's QEMU monitor each poll.
        groups: StatsGroups::STATE,
        ..PollerOptions::default()
    };
    let mut poller = Some(Poller::new(hv.clone(), options));
    let mut invalidate: Vec<Uuid> = Vec::new();
    let mut tick = tokio::time::interval(opts.poll_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_ok = Instant::now();
    let mut failing = false;
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = tick.tick() => {
                let Some(mut p) = poller.take() else { break };
                for u in invalidate.drain(..) {
                    p.invalidate(&u);
                }
                let now = Utc::now();
                let watch = core.disk_watch();
                let hv2 = hv.clone();
                let (p, polled) = tokio::task::spawn_blocking(move || {
                    // The pressure readings beside the poll: host memory, the disk
                    // errors of VMs paused on an I/O error, full disks' free space.
                    let r = p
                        .poll(now)
                        .map(|views| {
                            let readings = signals::read(hv2.as_ref(), &views, &watch);
                            (views, readings)
                        });
                    (p, r)
                })
                .await
                .map_err(|e| format!("the poll task failed: {e}"))?;
                poller = Some(p);
                match polled {
                    Ok((views, readings)) => {
                        core.set_readings(readings);
                        if failing {
                            tracing::info!("polling {uri} works again");
                            failing = false;
                        }
                        last_ok = Instant::now();
                        for planned in core.on_snapshot(&views, now) {
                            let executor = if planned.dry_run { &dry } else { &exec };
                            executor.submit(planned.cmd, planned.actor);
                        }
                        opts.limits = limits_step(opts.limits.take(), &hv, views, now, &exec).await?;
                    }
                    Err(e) => {
                        if !failing {
                            tracing::warn!("polling {uri} failed: {e}");
                            failing = true;
                        }
                        if last_ok.elapsed() >= opts.max_poll_outage {
                            return Err(format!(
                                "lost the connection to {uri} for {}s: {e}",
                                last_ok.elapsed().as_secs()
                            ));
                        }
                    }
                }
                dispatch_alerts(&mut core, &opts, &journal, &uri);
            }
            Some(r) = rx.recv() => {
                core.on_result(&r, Utc::now());
                if let Some(l) = opts.limits.as_mut() {
                    l.on_result(&r);
                }
                invalidate.push(r.cmd.vm_id.clone());
                dispatch_alerts(&mut core, &opts, &journal, &uri);
            }
            event = next_event(&mut events) => match event {
                Some(e) => {
                    if let (Some(l), Some(u)) = (opts.limits.as_mut(), e.uuid()) {
                        let d = l.declared_of(u);
                        l.on_event(&e, d);
                    }
                    if let Some(ee) = EngineEvent::from_hypervisor(&e) {
                        core.on_event(&ee, Utc::now());
                    }
                    if let DomainEvent::IoError { uuid, name, path, device, reason, .. } = &e {
                        core.on_io_error(uuid, name, path, device, reason);
                    }
                    if let DomainEvent::BlockThreshold { uuid, name, dev, threshold, excess, .. } = &e {
                        core.on_block_threshold(uuid, name, dev, *threshold, *excess, Utc::now());
                        dispatch_alerts(&mut core, &opts, &journal, &uri);
                    }
                    if let Some(u) = e.uuid() {
                        invalidate.push(u.into());
                    }
                    if matches!(
                        e,
                        DomainEvent::Lifecycle { .. }
                            | DomainEvent::MetadataChange { .. }
                            | DomainEvent::IoError { .. }
                            | DomainEvent::Reconnected
                    ) {
                        tick.reset_immediately();
                    }
                }
                // The event thread ended: polls alone from now on.
                None => events = None,
            },
        }
    }

    let deadline = tokio::time::Instant::now() + opts.stop_timeout;
    while core.in_flight() > 0 {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(r)) => {
                core.on_result(&r, Utc::now());
                dispatch_alerts(&mut core, &opts, &journal, &uri);
            }
            _ => break,
        }
    }
    if core.in_flight() > 0 {
        tracing::warn!(
            "stopping with {} command(s) unfinished; an unfinished cleanup is retried at the next start",
            core.in_flight()
        );
    }
    Ok(())
}

/// The limits' step on a blocking thread (it reads tunables); its commands submitted.
async fn limits_step(
    limits: Option<super::limits_worker::LimitsEngine>,
    hv: &Arc<dyn Hypervisor>,
    views: Vec<crate::poll::Vm>,
    now: chrono::DateTime<Utc>,
    exec: &Executor,
) -> Result<Option<super::limits_worker::LimitsEngine>, String> {
    let Some(mut l) = limits else { return Ok(None) };
    let hv = hv.clone();
    let (l, cmds) = tokio::task::spawn_blocking(move || {
        let cmds = l.step(&*hv, &views, now.timestamp());
        (l, cmds)
    })
    .await
    .map_err(|e| format!("the limits task failed: {e}"))?;
    for c in cmds {
        exec.submit(c, Actor::Engine);
    }
    Ok(Some(l))
}

/// The next domain event; never resolves without an event source.
async fn next_event(
    events: &mut Option<mpsc::UnboundedReceiver<DomainEvent>>,
) -> Option<DomainEvent> {
    match events {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Runs the alert command for each new alert on a blocking thread; journals failures.
fn dispatch_alerts(core: &mut EngineCore, opts: &RunnerOptions, journal: &Arc<Journal>, uri: &str) {
    let alerts = core.take_alerts();
    if opts.alert_command.is_empty() {
        return;
    }
    for alert in alerts {
        let argv = opts.alert_command.clone();
        let timeout = opts.alert_timeout;
        let journal = journal.clone();
        let uri = uri.to_string();
        drop(tokio::task::spawn_blocking(move || {
            if let Err(e) = run_alert_command(&argv, timeout, &alert, &uri) {
                tracing::error!("alert command for {}: {e}", alert.vm_name);
                journal_alert_failure(&journal, &alert, &e);
            }
        }));
    }
}

/// The journal line for an alert command that failed.
pub fn journal_alert_failure(journal: &Journal, alert: &super::Alert, error: &str) {
    let entry = JournalEntry {
        time: Utc::now(),
        actor: Actor::Engine.to_string(),
        vm_name: alert.vm_name.clone(),
        vm_id: alert.vm_id.clone(),
        action: "alert_command".into(),
        reason: format!("alert for {}: {}", alert.action, alert.error),
        result: format!("error: {error}"),
        detail: None,
        host: None,
    };
    if let Err(e) = journal.append(&entry) {
        tracing::error!(
            "journal write failed for alert_command {}: {e}",
            alert.vm_name
        );
    }
}
