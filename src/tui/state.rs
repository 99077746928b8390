//! The dashboard's state: everything `view` draws, changed only by `update`.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::action::Mode;
use super::keymap::Keymap;
pub use super::sort::SortKey;
use super::sort::{compare, matches};
use super::theme::Theme;
use crate::lifecycle::cleanup::{RoundRequest, VmCleanupLine};
use crate::lifecycle::{ttl::TtlStatus, Command};
use crate::model::{Uuid, VmLifecyclePolicy, VmRef, VmState};
use crate::poll::Vm;

/// Most activity lines kept.
pub const ACTIVITY_CAP: usize = 200;
/// CPU samples kept per VM for the sparkline (at the 2 s default: two minutes).
pub const CPU_HISTORY: usize = 60;
/// How long a flash message stays.
pub const FLASH_SECONDS: i64 = 6;
/// Rows that expire within this many seconds stand out.
pub const EXPIRING_SOON: i64 = 3600;

/// Which pane has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Table,
    Detail,
    Activity,
}

/// An overlay that takes the keyboard.
#[derive(Debug, Clone, PartialEq)]
pub enum Popup {
    Help,
    Confirm(Confirm),
    /// A line of text being typed (the new TTL).
    Input(Input),
    /// The alerts, newest first: read, scroll, acknowledge.
    Alerts,
}

/// A one-line prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    pub title: String,
    pub prompt: String,
    pub text: String,
    /// Why the last Enter was refused, shown under the prompt.
    pub error: Option<String>,
    /// The VM it is for (its UUID on host `host`).
    pub vm_id: Uuid,
    pub host: u16,
    pub vm_name: String,
}

/// A dangerous action waiting for a yes.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub title: String,
    /// What will happen, one line each.
    pub lines: Vec<String>,
    /// What a yes does.
    pub then: Then,
}

/// What a confirmed popup does.
#[derive(Debug, Clone, PartialEq)]
pub enum Then {
    /// Run one command on host `.0`.
    Execute(u16, Command),
    /// Run these commands, each on its host (marked VMs); the marks are cleared.
    ExecuteMany(Vec<(u16, Command)>),
    /// Run a cleanup round now (of chosen VMs, or all) through the engine's records.
    CleanupRound(RoundRequest),
    /// Confirm cleanups parked by `require_confirmation` (UUID, name).
    ConfirmParked(Vec<VmRef>),
    /// Run the ordered autostart sequence.
    Autostart,
    /// Bring one VM back to its recorded state.
    Recover { vm_id: Uuid, vm_name: String },
    /// Quit though actions of this dashboard still run.
    Quit,
}

/// The progress pane: an ordered start while it runs, and for a minute after.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressPane {
    pub progress: crate::lifecycle::autostart::Progress,
    /// When the sequence ended (every step up, failed or skipped, or halted).
    pub finished_at: Option<DateTime<Utc>>,
}

/// How long a finished sequence stays on screen.
pub const PROGRESS_LINGER_SECONDS: i64 = 60;

/// The cleanup pane: the engine's plan for the host as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct CleanupView {
    /// Every temporary VM, soonest expiry first.
    pub lines: Vec<VmCleanupLine>,
    /// Why rounds are held (outside the window, pressure, disabled), if they are.
    pub held: Option<String>,
    /// `02:00–06:00`.
    pub window: String,
    /// Rounds run only inside the window (`cleanup_in_window_only`).
    pub window_only: bool,
    /// Minutes until the window opens (0 when open).
    pub window_opens_in_minutes: u16,
    pub dry_run: bool,
    /// Unix seconds of the next scheduled round, when known.
    pub next_round_at: Option<i64>,
    /// When that round can really clean up: later than `next_round_at` when it falls
    /// outside the window (then the window's opening, `window_start`).
    pub round_runs_at: Option<i64>,
    /// `02:00`: when the window opens.
    pub window_start: String,
    /// The alerts the engine keeps, newest first (the pane shows the first few).
    pub alerts: Vec<crate::engine::state_files::Alert>,
    /// The header's pressure badge (`MEMORY PRESSURE (…)`, `DISK FULL: vm`), if any.
    pub pressure_badge: Option<String>,
    /// What vmlife holds on each VM for pressure (`suspended: memory pressure`,
    /// `paused: disk full (vda)`), by UUID.
    pub pressure: std::collections::BTreeMap<crate::model::Uuid, String>,
}

/// How an action ended (or that it has not yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityStatus {
    Pending,
    Ok,
    Failed,
    Refused,
    DryRun,
}

impl ActivityStatus {
    /// A word that carries the status without colour.
    pub fn word(self) -> &'static str {
        match self {
            ActivityStatus::Pending => "…",
            ActivityStatus::Ok => "ok",
            ActivityStatus::Failed => "FAILED",
            ActivityStatus::Refused => "refused",
            ActivityStatus::DryRun => "dry run",
        }
    }
}

/// One line of the activity pane.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub at: DateTime<Utc>,
    pub vm_id: Uuid,
    pub vm_name: String,
    pub action: String,
    pub status: ActivityStatus,
    pub text: String,
}

/// The connection as the header shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnState {
    /// No snapshot yet.
    Connecting,
    Live,
    /// The connection could not be opened (it is retried).
    Down(String),
    /// The last poll failed; the table shows the last good snapshot.
    Stale(String),
    /// The connection dropped; it is being re-opened (calls fail until then).
    Disconnected(String),
}

/// Everything the dashboard shows.
pub struct State {
    pub uri: String,
    pub readonly: bool,
    pub demo: bool,
    pub keymap: Keymap,
    pub theme: Theme,
    /// Host defaults, for the detail pane's effective policy.
    pub host_policy: VmLifecyclePolicy,
    /// Hours one `+` adds.
    pub extend_step_hours: f64,
    /// Host time, advanced by ticks.
    pub now: DateTime<Utc>,
    /// Every host shown, host 0 first (one unless several connections were given):
    /// connection state, snapshot time, its VMs.
    pub hosts: Vec<super::hosts::HostPane>,
    /// Every host's VMs from their last snapshots, host after host, shared (not
    /// copied) with the services an effect needs it in.
    pub vms: Arc<[Vm]>,
    /// Indices into `vms` after filter and sort: the table's rows.
    pub rows: Vec<usize>,
    /// Index into `rows` of the selected row: derived from `selected_id` by every
    /// refresh (read it with [`State::selected_row`]).
    selected: usize,
    /// The selected VM's key (UUID + host, [`Vm::key`]): the selection follows the
    /// VM, never a row index. `None` only while no row is shown.
    selected_id: Option<Uuid>,
    pub filter: String,
    pub filter_editing: bool,
    pub sort: SortKey,
    pub sort_reverse: bool,
    pub focus: Pane,
    pub show_detail: bool,
    pub detail_scroll: u16,
    pub activity_scroll: usize,
    pub popup: Option<Popup>,
    /// First line of the help overlay shown (it scrolls).
    pub help_scroll: u16,
    /// First line of a confirmation's text on screen (a long plan scrolls; its yes/no
    /// line stays).
    pub confirm_scroll: u16,
    /// The alert under the cursor in the alerts view (an index into the alerts shown).
    pub alerts_cursor: usize,
    /// The alerts view shows only this VM's (`v`), else every VM's.
    pub alerts_of_vm: Option<Uuid>,
    /// The marked VMs (their keys, `Space`/`*`): a VM action applies to all of them,
    /// after one confirmation listing them.
    pub marks: std::collections::BTreeSet<Uuid>,
    /// The `:` command line while it is typed.
    pub command: Option<super::command_line::Typing>,
    pub activity: VecDeque<Activity>,
    pub cpu_history: HashMap<Uuid, VecDeque<u64>>,
    /// VMs with an action queued or running.
    pub busy: BTreeSet<Uuid>,
    /// Terminal size.
    pub size: (u16, u16),
    /// The engine line of the header: who runs automatic actions.
    pub engine: String,
    /// `[engine] manage_all_vms`: VMs without a vmlife element are managed too.
    pub manage_all_vms: bool,
    /// A short message in place of the hints bar (a refusal, a cancel), with its time.
    pub flash: Option<(String, DateTime<Utc>)>,
    /// The cleanup pane's content; `None` until the engine has planned once.
    pub cleanup: Option<CleanupView>,
    /// The last snapshot showed nothing new (only its timestamp moved): the runtime
    /// need not redraw for it.
    pub snapshot_unchanged: bool,
    /// An ordered start in progress (shown in place of the cleanup pane).
    pub progress: Option<ProgressPane>,
    /// Each VM's recovery record (from host shutdown), as lines for the detail pane.
    pub recovery: HashMap<Uuid, Vec<String>>,
    /// The selected VM's limits for the detail pane (read off the UI task).
    pub limits: super::limits::LimitsPane,
    pub should_quit: bool,
}

impl State {
    /// A fresh state for `uri` (one host; the runtime pushes the others into `hosts`).
    pub fn new(uri: impl Into<String>, keymap: Keymap, now: DateTime<Utc>) -> State {
        let uri = uri.into();
        State {
            hosts: vec![super::hosts::HostPane::new(
                crate::config::uri_host(&uri).unwrap_or_else(|| "local".into()),
                uri.clone(),
            )],
            uri,
            readonly: false,
            demo: false,
            keymap,
            theme: Theme::color(),
            host_policy: VmLifecyclePolicy::default(),
            extend_step_hours: 1.0,
            now,
            vms: Arc::from([]),
            rows: Vec::new(),
            selected: 0,
            selected_id: None,
            filter: String::new(),
            filter_editing: false,
            sort: SortKey::Name,
            sort_reverse: false,
            focus: Pane::Table,
            show_detail: false,
            detail_scroll: 0,
            activity_scroll: 0,
            popup: None,
            help_scroll: 0,
            confirm_scroll: 0,
            alerts_cursor: 0,
            alerts_of_vm: None,
            marks: Default::default(),
            command: None,
            activity: VecDeque::new(),
            cpu_history: HashMap::new(),
            busy: BTreeSet::new(),
            size: (80, 24),
            engine: "engine: none (manual actions only)".into(),
            manage_all_vms: false,
            flash: None,
            cleanup: None,
            snapshot_unchanged: false,
            progress: None,
            recovery: HashMap::new(),
            limits: super::limits::LimitsPane::default(),
            should_quit: false,
        }
    }

    /// What has the keyboard: the popup, the filter being typed, or the table.
    pub fn mode(&self) -> Mode {
        match &self.popup {
            Some(Popup::Help) => Mode::Help,
            Some(Popup::Confirm(_)) => Mode::Confirm,
            Some(Popup::Input(_)) => Mode::Input,
            Some(Popup::Alerts) => Mode::Alerts,
            None if self.command.is_some() => Mode::Command,
            None if self.filter_editing => Mode::Filter,
            None => Mode::Main,
        }
    }

    /// The selected VM, if any row is shown.
    pub fn selected_vm(&self) -> Option<&Vm> {
        self.rows.get(self.selected).and_then(|&i| self.vms.get(i))
    }

    /// The selected row's index into `rows` (0 when no row is shown).
    pub fn selected_row(&self) -> usize {
        self.selected
    }

    /// The selected VM's key ([`Vm::key`]: its UUID on host 0).
    pub fn selected_id(&self) -> Option<&str> {
        self.selected_id.as_deref()
    }

    /// Select row `i` (clamped to the rows shown) and the VM on it.
    pub fn select_row(&mut self, i: usize) {
        self.selected = i.min(self.rows.len().saturating_sub(1));
        self.selected_id = self.selected_vm().map(|v| v.key.clone());
    }

    /// The TTL status of a VM at the state's `now`.
    pub fn ttl(&self, vm: &Vm) -> Option<TtlStatus> {
        vm.ttl(self.now.timestamp())
    }

    /// Recompute `rows` after the filter or the sort changed, keeping the selected VM.
    /// Should the filter hide it, the first row is selected.
    pub fn refresh_rows(&mut self) {
        let rows = self.sorted_rows();
        let keep = self.position_of_selected(&rows);
        self.rows = rows;
        self.select_row(keep.unwrap_or(0));
    }

    /// Take a new snapshot of the VMs. The selection stays on the same VM (by UUID),
    /// wherever its row moved. Should the selected VM vanish (undefined, or no longer
    /// matching the filter), its neighbour in the old order is selected and a flash
    /// names both.
    pub fn set_vms(&mut self, vms: impl Into<Arc<[Vm]>>) {
        let old_vms = std::mem::replace(&mut self.vms, vms.into());
        let old_rows = std::mem::take(&mut self.rows);
        self.rows = self.sorted_rows();
        if let Some(i) = self.position_of_selected(&self.rows) {
            self.select_row(i);
            return;
        }
        let lost = self
            .selected_id
            .clone()
            .and_then(|u| old_vms.iter().find(|v| v.key == u).cloned());
        let next = lost
            .as_ref()
            .and_then(|_| self.neighbour(&old_vms, &old_rows));
        self.select_row(next.unwrap_or(0));
        let Some(lost) = lost else {
            // Nothing was selected (an empty table): the first row, if any.
            return;
        };
        self.detail_scroll = 0;
        let why = if self.vms.iter().any(|v| v.key == lost.key) {
            "no longer matches the filter"
        } else {
            "is gone"
        };
        let old_name = &lost.snapshot.vm_name;
        let text = match self.selected_vm() {
            Some(v) => format!("{old_name} {why}; selected {}", v.snapshot.vm_name),
            None => format!("{old_name} {why}; no VM selected"),
        };
        self.flash(text);
    }

    /// The row of the selected VM in `rows`, if it is shown there.
    fn position_of_selected(&self, rows: &[usize]) -> Option<usize> {
        let id = self.selected_id.as_deref()?;
        rows.iter().position(|&i| self.vms[i].key == id)
    }

    /// The row (in the current `rows`) of the selected VM's nearest neighbour in the
    /// old order that is still shown: the rows below it first, then those above.
    fn neighbour(&self, old_vms: &[Vm], old_rows: &[usize]) -> Option<usize> {
        let id = self.selected_id.as_deref()?;
        let old_ids: Vec<&str> = old_rows
            .iter()
            .filter_map(|&i| old_vms.get(i).map(|v| v.key.as_str()))
            .collect();
        let at = old_ids.iter().position(|u| *u == id)?;
        let shown: HashMap<&str, usize> = self
            .rows
            .iter()
            .enumerate()
            .map(|(row, &i)| (self.vms[i].key.as_str(), row))
            .collect();
        old_ids[at + 1..]
            .iter()
            .chain(old_ids[..at].iter().rev())
            .find_map(|u| shown.get(u).copied())
    }

    /// `vms` filtered and sorted: the table's rows.
    /// True when each `(old, new)` pair (a new poll of a VM, the same VM before) keeps
    /// the rows where they are: the new one matches the filter as the old one did and
    /// sorts level with it.
    pub fn keeps_order<'a>(&self, mut pairs: impl Iterator<Item = (&'a Vm, &'a Vm)>) -> bool {
        let terms: Vec<String> = self
            .filter
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        let now = self.now.timestamp();
        pairs.all(|(old, new)| {
            old.key == new.key
                && matches(old, &terms, &self.hosts) == matches(new, &terms, &self.hosts)
                && compare(old, new, self.sort, now) == std::cmp::Ordering::Equal
        })
    }

    fn sorted_rows(&self) -> Vec<usize> {
        let now = self.now.timestamp();
        let terms: Vec<String> = self
            .filter
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        let mut rows: Vec<usize> = (0..self.vms.len())
            .filter(|&i| matches(&self.vms[i], &terms, &self.hosts))
            .collect();
        let vms = &self.vms;
        let key = self.sort;
        rows.sort_by(|&a, &b| {
            let (va, vb) = (&vms[a], &vms[b]);
            compare(va, vb, key, now)
                .then_with(|| va.snapshot.vm_name.cmp(&vb.snapshot.vm_name))
                .then_with(|| va.host.cmp(&vb.host))
        });
        if self.sort_reverse {
            rows.reverse();
        }
        rows
    }

    /// Show a short message in the hints bar for [`FLASH_SECONDS`].
    pub fn flash(&mut self, text: String) {
        self.flash = Some((text, self.now));
    }

    /// What vmlife holds on `vm` for resource pressure, if anything (host 0's engine
    /// only: the other hosts' engines are their daemons).
    pub fn pressure_of(&self, vm: &Vm) -> Option<&str> {
        if vm.host != 0 {
            return None;
        }
        self.cleanup
            .as_ref()?
            .pressure
            .get(&vm.uuid)
            .map(String::as_str)
    }

    /// True while the progress pane should replace the cleanup pane.
    pub fn progress_shown(&self) -> bool {
        self.progress.as_ref().is_some_and(|p| match p.finished_at {
            None => true,
            Some(at) => (self.now - at).num_seconds() < PROGRESS_LINGER_SECONDS,
        })
    }

    /// Actions this dashboard started that have not ended: pending activity lines, and
    /// an ordered start still in progress.
    pub fn running_actions(&self) -> usize {
        let pending = self
            .activity
            .iter()
            .filter(|a| a.status == ActivityStatus::Pending)
            .count();
        let autostart = self
            .progress
            .as_ref()
            .is_some_and(|p| p.finished_at.is_none());
        pending + usize::from(autostart)
    }

    /// Add an activity line, newest first.
    pub fn push_activity(&mut self, a: Activity) {
        self.activity.push_front(a);
        self.activity.truncate(ACTIVITY_CAP);
    }

    /// VM counts by contract state and by mode, for the header.
    pub fn counts(&self) -> Counts {
        Counts::of(&self.vms)
    }

    /// True when the dashboard shows several hosts (the HOST column, the host strip).
    pub fn many_hosts(&self) -> bool {
        self.hosts.len() > 1
    }

    /// The name of host `i` (empty when there is no such host).
    pub fn host_name(&self, i: u16) -> &str {
        self.hosts
            .get(usize::from(i))
            .map_or("", |h| h.name.as_str())
    }

    /// Lines of the host strip at this size: none for one host.
    pub fn strip_lines(&self) -> u16 {
        super::layout::strip_height(self.size, self.hosts.len())
    }

    /// Host 0's connection state (the one-host header's).
    pub fn conn(&self) -> &ConnState {
        &self.hosts[0].conn
    }
}

impl Counts {
    /// The counts of `vms`.
    pub fn of(vms: &[Vm]) -> Counts {
        let mut c = Counts::default();
        for v in vms {
            match v.snapshot.vm_state {
                VmState::Running | VmState::Starting => c.running += 1,
                VmState::Paused => c.paused += 1,
                VmState::Stopped | VmState::Stopping => c.stopped += 1,
                VmState::Error => c.error += 1,
            }
            match v.persistence().map(|p| p.mode) {
                Some(crate::model::PersistenceMode::Permanent) => c.permanent += 1,
                Some(crate::model::PersistenceMode::Temporary) => c.temporary += 1,
                None => c.invalid += 1,
            }
        }
        c
    }
}

/// VM counts for the header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub running: usize,
    pub paused: usize,
    pub stopped: usize,
    pub error: usize,
    pub permanent: usize,
    pub temporary: usize,
    pub invalid: usize,
}
