//! The dashboard's runtime: terminal, input thread, poll task, clock, executor, and the
//! services that effects go to ([`super::services`]; the engine runs on its own thread).
//!
//! Everything that can fail on user input (config, key bindings, state dir, connection)
//! is checked before the terminal enters raw mode. Redraws happen on input, resize, a
//! snapshot, an action result, or a tick whose clock-driven text changed: there is no
//! frame timer. The terminal is restored on every exit path: normal quit, error, panic
//! (the hook in [`super::terminal`], which ends the process), SIGTERM and SIGHUP (an SSH
//! session that drops). Ctrl-Z (or SIGTSTP) gives the terminal back and stops; `fg`
//! (SIGCONT) takes it again.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use crossterm::event::{Event, KeyEventKind, MouseEventKind};
use tokio::sync::{mpsc, watch, Notify};

use super::engine_link::EngineLink;
use super::engine_worker::{EngineWorker, Job};
use super::fleet::{Context as FleetContext, RemoteHost, RemoteLink};
use super::host_link::HostLink;
use super::hosts::HostPane;
use super::keymap::Keymap;
use super::poll_task::{spawn_poller, Cadence};
use super::services::Services;
use super::state::State;
use super::theme::Theme;
use super::update::{update, Effect, Msg};
use super::view::{clock_signature, view};
use super::visible::{in_view, in_view_of, InView};
use crate::executor::ExecResult;
use crate::hypervisor::DomainEvent;
use crate::hypervisor::StatsGroups;
use crate::lifecycle::Actor;
use crate::model::Uuid;
use crate::poll::{Poller, PollerOptions, ViewOptions};
use crate::session::{self, login_name, Error, Session, StateDir};
use crate::store::Journal;

/// The clock's cadence: countdowns show minutes (seconds under a minute), so a
/// one-second clock is the coarsest that keeps them right. A tick redraws only when
/// the text it drives changed.
const CLOCK: Duration = Duration::from_secs(1);

/// How long a poll's answer waits for the other hosts' before it is drawn: well under
/// what the eye sees, well over the spread of a fleet's round trips on one grid point.
const COALESCE: Duration = Duration::from_millis(30);

/// Open the dashboard on the hosts of `plan`: the first now (its error, if any, is
/// reported before the screen opens; with several hosts, the first that opens), the
/// others on their own tasks.
/// `mouse`: capture the mouse (clicks select, the wheel scrolls; `--no-mouse` leaves it
/// to the terminal).
pub fn open(plan: session::Plan, state_dir: StateDir, mouse: bool) -> Result<(), Error> {
    let (timeout, readonly) = (plan.connect_timeout(), plan.readonly());
    let (session, rest) = plan.open_first_reachable()?;
    let others = rest
        .into_iter()
        .enumerate()
        .map(|(i, spec)| RemoteHost {
            index: u16::try_from(i + 1).unwrap_or(u16::MAX),
            readonly: readonly || spec.readonly,
            spec,
            connect_timeout: timeout,
        })
        .collect();
    run(session, others, state_dir, mouse)
}

/// Open the dashboard on `session` (host 0) and `others` (opened by their own tasks
/// once the screen is up) until the person quits. `state_dir` stays alive (a demo's
/// temp dir) until the dashboard exits.
pub fn run(
    session: Session,
    others: Vec<RemoteHost>,
    state_dir: StateDir,
    mouse: bool,
) -> Result<(), Error> {
    super::terminal::set_mouse(mouse);
    // Read-only as a whole (the keymap without the mutating keys, the badge) when every
    // host is; a read-only host among others refuses its own VMs' actions.
    let every_host_readonly = session.hv.is_readonly() && others.iter().all(|h| h.readonly);
    if !std::io::stdout().is_terminal() {
        return Err(Error::new(
            "the dashboard needs a terminal; for scripts use `vmlife ls` or `vmlife ls --json`",
        ));
    }
    let keymap = Keymap::build(&session.config.keys, every_host_readonly).map_err(Error::new)?;
    let dir = state_dir.path().to_path_buf();
    let journal = session
        .journal(&dir)
        .map_err(|e| Error::new(format!("state dir {}: {e}", dir.display())))?;
    let log = super::terminal::init_log(&dir);
    super::terminal::install_hooks(log);
    // One worker: the UI loop runs on this thread (`block_on`), every libvirt call on a
    // blocking thread, so the tasks on the worker only wait and pass messages; a second
    // worker mostly spun looking for work to steal (an idle fleet of 20 hosts: 1.08 %
    // of a core with two workers, 0.80 % with one; docs/PERFORMANCE.md).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| Error::new(format!("cannot start the runtime: {e}")))?;
    let result = rt.block_on(run_async(
        session,
        others,
        keymap,
        Arc::new(journal),
        dir,
        every_host_readonly,
    ));
    // Blocking threads (an input read, a slow libvirt call) must not hold the exit.
    rt.shutdown_timeout(Duration::from_millis(200));
    result
}

async fn run_async(
    session: Session,
    others: Vec<RemoteHost>,
    keymap: Keymap,
    journal: Arc<Journal>,
    dir: PathBuf,
    every_host_readonly: bool,
) -> Result<(), Error> {
    let now = Utc::now();
    let mut state = State::new(session.uri.clone(), keymap, now);
    state.readonly = every_host_readonly;
    state.demo = session.demo;
    state.theme = Theme::from_env();
    state.host_policy = session.config.policy.clone();
    state.extend_step_hours = session.config.dashboard.extend_step_hours;
    state.hosts[0].name = session.host.clone();
    state.hosts[0].readonly = session.hv.is_readonly();
    for h in &others {
        let mut pane = HostPane::new(h.spec.name.clone(), h.spec.uri.clone());
        pane.readonly = h.readonly;
        pane.engine = super::fleet_engine::label(&h.spec, h.readonly, &session.host);
        state.hosts.push(pane);
    }

    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    spawn_input(tx.clone());
    spawn_clock(tx.clone());
    let (view_tx, view_rx) = watch::channel(InView::default());
    let (invalidate_tx, invalidate_rx) = mpsc::unbounded_channel::<Uuid>();
    let poll_now = Arc::new(Notify::new());
    // The config bounds it (1 to 3600 s); a value that slipped past falls back to 2 s.
    let refresh = Duration::try_from_secs_f64(session.config.dashboard.refresh_seconds)
        .unwrap_or(Duration::from_secs(2));
    let dash = &session.config.dashboard;
    let options = PollerOptions {
        groups: StatsGroups::STATE,
        addresses_max_age_ms: seconds_ms(dash.address_refresh_seconds),
        view: Some(ViewOptions {
            refresh_ms: seconds_ms(dash.refresh_seconds),
            memory_disk_ms: seconds_ms(dash.memory_disk_refresh_seconds),
            procfs: true,
            unfocused_every: 1,
        }),
        ..PollerOptions::default()
    };
    let poller = Poller::new(session.hv.clone(), options.clone());
    spawn_poller(
        0,
        poller,
        tx.clone(),
        view_rx,
        invalidate_rx,
        poll_now.clone(),
        Cadence {
            refresh,
            unfocused: None,
        },
    );

    let (results_tx, mut results_rx) = mpsc::unbounded_channel::<ExecResult>();
    let actor = Actor::Dashboard(login_name());
    // Opening reads the store: off the UI task too, though nothing is drawn yet.
    let engine = {
        let (dir, config, hv) = (dir.clone(), session.config.clone(), session.hv.clone());
        let may_run = session.engine_here;
        let (journal, actor) = (journal.clone(), actor.clone());
        tokio::task::spawn_blocking(move || {
            EngineLink::open(&dir, &config, hv, journal, results_tx, actor, may_run)
        })
        .await
        .map_err(|e| Error::new(format!("cannot open the engine: {e}")))?
        .map_err(Error::new)?
    };
    update(&mut state, engine.status_msg());
    let host = HostLink::new(
        session::host_context(&session, &dir, actor)?.with_executor(engine.executor(), journal),
        &dir,
    );
    host.spawn_recovery(tx.clone());
    let engine = EngineWorker::spawn(engine, tx.clone())
        .map_err(|e| Error::new(format!("cannot start the engine thread: {e}")))?;
    // The other hosts: a full poll every `host_refresh_seconds` unless the selected VM
    // is theirs (then every refresh), light ones between (their VMs in view, every
    // refresh, so their figures stay as fresh as the first host's).
    let host_refresh = Duration::try_from_secs_f64(dash.host_refresh_seconds)
        .unwrap_or(Duration::from_secs(60))
        .max(refresh);
    let remote_options = options;
    let (stop_engines, stop) = watch::channel(false);
    let engines = Arc::new(std::sync::Mutex::new(Vec::new()));
    let stop_timeout = Duration::from_secs(session.config.engine.stop_timeout_seconds + 1);
    let fleet_ctx = FleetContext {
        stop,
        engines: engines.clone(),
        config: Arc::new(session.config.clone()),
        state_dir: dir.clone(),
        actor: Actor::Dashboard(login_name()),
        poller: remote_options,
        refresh,
        host_refresh,
    };
    let remotes: Vec<RemoteLink> = others
        .into_iter()
        .map(|h| super::fleet::spawn(h, fleet_ctx.clone(), tx.clone()))
        .collect();
    if !remotes.is_empty() {
        let threshold = session.config.pressure.memory_available_percent;
        super::fleet::spawn_memory(0, session.hv.clone(), threshold, tx.clone());
    }
    let mut services = Services {
        engine,
        host,
        poll_now: poll_now.clone(),
        tx: tx.clone(),
        remotes,
    };

    // Domain events: react at once instead of waiting for the next timed poll. A driver
    // without events (or a failure) leaves the timed polls, which is all it had.
    let (events_tx, mut events_rx) = mpsc::unbounded_channel::<DomainEvent>();
    {
        let hv = session.hv.clone();
        tokio::task::spawn_blocking(move || hv.subscribe(events_tx));
    }

    let mut sigterm = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sighup = signal(tokio::signal::unix::SignalKind::hangup())?;
    // Job control: a SIGTSTP from outside suspends like Ctrl-Z; a SIGCONT (`fg` after
    // any stop, SIGSTOP included) takes the terminal back.
    let mut sigtstp = signal(tokio::signal::unix::SignalKind::from_raw(libc::SIGTSTP))?;
    let mut sigcont = signal(tokio::signal::unix::SignalKind::from_raw(libc::SIGCONT))?;

    #[cfg(debug_assertions)]
    super::terminal::debug_panic_trigger();

    let mut terminal = super::terminal::enter().map_err(|e| {
        super::terminal::restore();
        Error::new(format!("cannot set up the terminal: {e}"))
    })?;
    let size = terminal.size().unwrap_or_default();
    update(&mut state, Msg::Resize(size.width, size.height));
    let mut last_view = InView::default();
    let mut draw_error = None;
    loop {
        if let Err(e) = draw(&mut terminal, &state) {
            draw_error = Some(e);
            break;
        }
        let last_clock = clock_signature(&state);
        // A poll's answer that changes the screen is drawn once the answers of the other
        // hosts (polled on the same grid) had a moment to come too: one frame for all.
        let mut hold: Option<tokio::time::Instant> = None;
        // Wait for the next message that changes what is on screen.
        loop {
            let now = Utc::now();
            let msg = tokio::select! {
                _ = sleep_until_some(hold) => break,
                m = rx.recv() => match m { Some(m) => m, None => break },
                Some(r) = results_rx.recv() => {
                    let _ = invalidate_tx.send(r.cmd.vm_id.clone());
                    let msg = super::fleet::finished(0, &r);
                    services.engine.send(Job::Result(r), now);
                    msg
                }
                Some(e) = events_rx.recv() => {
                    if let Some(uuid) = e.uuid() {
                        let _ = invalidate_tx.send(uuid.into());
                    }
                    services.engine.send(Job::Event(e.clone()), now);
                    Msg::Event(0, e)
                }
                _ = sigterm.recv() => { state.should_quit = true; break }
                _ = sighup.recv() => { state.should_quit = true; break }
                _ = sigtstp.recv() => {
                    suspend(&mut terminal);
                    break
                }
                _ = sigcont.recv() => {
                    resume(&mut terminal);
                    break
                }
            };
            let answer = matches!(msg, Msg::Snapshot { .. } | Msg::Rows { .. });
            // The message, then its effects in the order returned. The services answer
            // with messages on `tx`, which come back through `update`.
            let step = update(&mut state, msg);
            let mut redraw = step.redraw;
            for effect in step.effects {
                if let Some(Effect::Suspend) = services.run(effect, &state.hosts[0].vms, now) {
                    suspend(&mut terminal);
                    redraw = true;
                }
            }
            // The poller asks figures of the VMs on screen only.
            let now_in_view = in_view(&state);
            if now_in_view != last_view {
                let _ = view_tx.send(now_in_view.clone());
                last_view = now_in_view;
            }
            for r in &services.remotes {
                let v = in_view_of(&state, r.index);
                r.view.send_if_modified(|old| {
                    let changed = *old != v;
                    if changed {
                        *old = v;
                    }
                    changed
                });
            }
            if state.should_quit {
                break;
            }
            if redraw || clock_signature(&state) != last_clock {
                if !answer {
                    break;
                }
                hold.get_or_insert_with(|| tokio::time::Instant::now() + COALESCE);
            }
        }
        if state.should_quit {
            break;
        }
    }
    super::terminal::restore();
    // Restored already: ratatui's own drop would show the cursor again and, on a
    // terminal that hung up (SIGHUP), panic printing that it could not.
    std::mem::forget(terminal);
    // The engine's queued jobs finish (bounded) and its lock is released.
    let _ = tokio::task::spawn_blocking(move || services.finish()).await;
    // The engines run for other hosts: no new work; running commands get the engine's
    // stop timeout, as the daemon's do.
    let _ = stop_engines.send(true);
    let running: Vec<_> = std::mem::take(&mut *engines.lock().unwrap_or_else(|e| e.into_inner()));
    let _ = tokio::time::timeout(stop_timeout, async {
        for h in running {
            let _ = h.await;
        }
    })
    .await;
    match draw_error {
        Some(e) => Err(Error::new(format!("cannot draw: {e}"))),
        None => Ok(()),
    }
}

/// Ctrl-Z: restore the terminal, stop for real (the shell shows the job stopped), and
/// on `fg` take the terminal back and redraw everything.
fn suspend(terminal: &mut ratatui::DefaultTerminal) {
    super::terminal::restore();
    // SIGTSTP has a handler (above): raise its default action, a stop.
    if let Err(e) = signal_hook::low_level::emulate_default_handler(libc::SIGTSTP) {
        tracing::warn!("cannot suspend: {e}");
    }
    resume(terminal);
}

/// After a stop: raw mode, the alternate screen, the cursor hidden, and a full redraw
/// (the shell drew over the screen meanwhile).
fn resume(terminal: &mut ratatui::DefaultTerminal) {
    if let Err(e) = super::terminal::reenter() {
        tracing::warn!("cannot take the terminal back: {e}");
    }
    let _ = terminal.hide_cursor();
    let _ = terminal.clear();
}

fn signal(kind: tokio::signal::unix::SignalKind) -> Result<tokio::signal::unix::Signal, Error> {
    tokio::signal::unix::signal(kind).map_err(|e| Error::new(format!("cannot watch signals: {e}")))
}

/// One frame, wrapped in a synchronized update so a slow SSH link never shows half a frame.
fn draw(terminal: &mut ratatui::DefaultTerminal, state: &State) -> std::io::Result<()> {
    let mut out = std::io::stdout();
    crossterm::execute!(out, crossterm::terminal::BeginSynchronizedUpdate)?;
    let result = terminal.draw(|f| view(state, f)).map(|_| ());
    crossterm::execute!(out, crossterm::terminal::EndSynchronizedUpdate)?;
    out.flush()?;
    result
}

/// Terminal input on its own thread (crossterm's read blocks).
fn spawn_input(tx: mpsc::UnboundedSender<Msg>) {
    std::thread::spawn(move || loop {
        let msg = match crossterm::event::read() {
            Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => Msg::Key(k),
            Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
            // Clicks and the wheel; motion and drags are not forwarded (no redraws for
            // a pointer crossing the screen).
            Ok(Event::Mouse(m))
                if matches!(
                    m.kind,
                    MouseEventKind::Down(_) | MouseEventKind::ScrollUp | MouseEventKind::ScrollDown
                ) =>
            {
                Msg::Mouse(m)
            }
            Ok(_) => continue,
            Err(_) => break,
        };
        if tx.send(msg).is_err() {
            break;
        }
    });
}

/// Until `at`; never when there is none.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn spawn_clock(tx: mpsc::UnboundedSender<Msg>) {
    tokio::spawn(async move {
        // On the polls' grid: a poll's answer and the clock share a wakeup.
        let origin = super::poll_task::origin();
        let mut every = tokio::time::interval_at((origin + CLOCK).into(), CLOCK);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            every.tick().await;
            if tx.send(Msg::Tick(Utc::now())).is_err() {
                break;
            }
        }
    });
}

/// Whole milliseconds of a config value in seconds (bounded by the config's checks).
fn seconds_ms(s: f64) -> i64 {
    (s * 1000.0).round() as i64
}
