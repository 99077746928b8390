//! Screen snapshots (TestBackend + insta, clock frozen) and reducer tests for every key.

use chrono::{DateTime, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::action::Action;
use super::keymap::{Key, Keymap};
use super::state::{ActivityStatus, CleanupView, ConnState, Pane, Popup, SortKey, State, Then};
use super::theme::Theme;
use super::update::{update, Effect, Msg};
use super::view::view;
use crate::hypervisor::DomainEvent;
use crate::hypervisor::{DomainDetails, RunState, StateReason};
use crate::lifecycle::cleanup::{
    plan_round, Clock, RoundInputs, RoundPlan, RoundRequest, VmCleanupState,
};
use crate::lifecycle::Op;
use crate::metadata::{self, LifecycleMeta};
use crate::model::{PersistenceMode, RestartPolicy, VmRef, VmState, VmStateSnapshot};
use crate::poll::Vm;

/// The frozen "now" of every screen test.
pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

pub(super) fn vm(
    n: u32,
    name: &str,
    state: VmState,
    meta: Result<LifecycleMeta, metadata::MetaError>,
) -> Vm {
    let now = now();
    let running = matches!(state, VmState::Running | VmState::Paused);
    let mut snap = VmStateSnapshot::empty(name, now, state);
    snap.restart_count = meta.as_ref().map_or(0, |m| m.state.restart_count);
    if running {
        snap.cpu_usage_percent = Some(f64::from(n * 7 % 100));
        snap.memory_usage_mb = Some(1024 * u64::from(n % 4 + 1));
        snap.disk_usage_gb = Some(f64::from(n) * 2.5);
        snap.ip_addresses = vec![format!("10.0.0.{n}")].into();
        snap.uptime_seconds = Some(u64::from(n) * 3700);
    } else {
        snap.cpu_usage_percent = Some(0.0);
        snap.memory_usage_mb = Some(0);
        snap.uptime_seconds = Some(0);
    }
    snap.mac_addresses = vec![format!("52:54:00:00:00:{n:02x}")].into();
    Vm {
        uuid: format!("00000000-0000-4000-8000-{n:012}").into(),
        host: 0,
        key: format!("00000000-0000-4000-8000-{n:012}").into(),
        state: Some(if running {
            RunState::Running
        } else {
            RunState::Shutoff
        }),
        reason: StateReason::default(),
        persistent: true,
        libvirt_autostart: false,
        snapshot: snap,
        meta,
        first_seen_unix: now.timestamp() - 600,
        details: Some(std::sync::Arc::new(DomainDetails::default())),
        pending: false,
        freshness: Default::default(),
    }
}

pub(super) fn permanent() -> Result<LifecycleMeta, metadata::MetaError> {
    Ok(LifecycleMeta::default())
}

pub(super) fn temporary(
    created_ago: i64,
    ttl_hours: f64,
) -> Result<LifecycleMeta, metadata::MetaError> {
    let mut m = LifecycleMeta::default();
    m.persistence.mode = PersistenceMode::Temporary;
    m.persistence.ttl_hours = ttl_hours;
    m.persistence.created_at_unix = Some(now().timestamp() - created_ago);
    Ok(m)
}

pub(super) fn fleet() -> Vec<Vm> {
    let mut app = LifecycleMeta::default();
    app.state.restart_count = 2;
    app.persistence.restart_policy = RestartPolicy::OnFailure;
    app.autostart = Some(crate::model::VmAutoStartConfig {
        depends_on: vec!["db-1".into()],
        start_order: 20,
        ..Default::default()
    });
    let db = LifecycleMeta {
        autostart: Some(crate::model::VmAutoStartConfig {
            start_order: 10,
            ..Default::default()
        }),
        ..Default::default()
    };
    let broken = metadata::parse(
        "<vmlife:lifecycle xmlns:vmlife=\"urn:vmlife:lifecycle:1\"><vmlife:persistence restart_policy=\"sometimes\"/></vmlife:lifecycle>",
    );
    vec![
        vm(1, "db-1", VmState::Running, Ok(db)),
        vm(2, "app-1", VmState::Running, Ok(app)),
        vm(
            3,
            "ci-runner-17",
            VmState::Running,
            temporary(4 * 3600 - 540, 4.0),
        ),
        vm(
            4,
            "pr-preview-482",
            VmState::Stopped,
            temporary(25 * 3600, 24.0),
        ),
        vm(5, "scratch-alice", VmState::Paused, temporary(3600, 72.0)),
        vm(6, "broken-policy", VmState::Running, broken),
        vm(7, "legacy-mail", VmState::Stopped, permanent()),
    ]
}

pub(super) fn state_with(vms: Vec<Vm>, readonly: bool) -> State {
    let keymap = Keymap::build(&Default::default(), readonly).unwrap();
    let mut s = State::new("qemu:///system", keymap, now());
    s.readonly = readonly;
    s.theme = Theme::mono();
    let view = cleanup_view(&vms, &crate::model::VmCleanupPolicy::default());
    update(&mut s, crate::tui::tests::snap(vms, now()));
    update(&mut s, Msg::Cleanup(view));
    s
}

/// The cleanup pane as the engine would fill it at the frozen noon (outside the default
/// 02:00–06:00 window), with one alert.
pub(super) fn cleanup_view(vms: &[Vm], policy: &crate::model::VmCleanupPolicy) -> CleanupView {
    let facts: Vec<_> = vms.iter().map(Vm::facts).collect();
    let clock = Clock {
        now: now().timestamp(),
        local_minute: 12 * 60,
    };
    let plan = plan_round(
        &facts,
        policy,
        &RoundInputs::default(),
        &RoundRequest::default(),
        clock,
    );
    CleanupView {
        lines: plan.lines,
        held: plan.held,
        window: "02:00–06:00".into(),
        window_only: policy.cleanup_in_window_only,
        window_opens_in_minutes: plan.window_opens_in_minutes,
        dry_run: plan.dry_run,
        next_round_at: Some(now().timestamp() + 1800),
        round_runs_at: Some(now().timestamp() + 1800),
        window_start: "02:00".into(),
        alerts: vec![crate::engine::state_files::Alert {
            time: now(),
            vm_name: "app-1".into(),
            vm_id: "00000000-0000-4000-8000-000000000002".into(),
            action: "restart".into(),
            error: "gave up after 5 restarts".into(),
        }],
        pressure_badge: None,
        pressure: Default::default(),
    }
}

pub(super) fn state() -> State {
    state_with(fleet(), false)
}

pub(super) fn screen(s: &mut State, w: u16, h: u16) -> String {
    update(s, Msg::Resize(w, h));
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view(s, f)).unwrap();
    t.backend().to_string()
}

/// A snapshot of host 0 taken `at`.
pub(super) fn snap(vms: Vec<Vm>, at: DateTime<Utc>) -> Msg {
    Msg::Snapshot {
        host: 0,
        rtt_ms: None,
        vms,
        at,
    }
}

pub(super) fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub(super) fn ch(c: char) -> Msg {
    key(KeyCode::Char(c))
}

pub(super) fn press(s: &mut State, keys: &str) -> Vec<Effect> {
    keys.chars()
        .flat_map(|c| update(s, ch(c)).effects)
        .collect()
}

// ---- screens ----

#[test]
fn main_screen_80x24() {
    insta::assert_snapshot!(screen(&mut state(), 80, 24));
}

#[test]
fn main_screen_160x45() {
    let mut s = state();
    press(&mut s, "j");
    insta::assert_snapshot!(screen(&mut s, 160, 45));
}

#[test]
fn help_overlay() {
    let mut s = state();
    press(&mut s, "?");
    insta::assert_snapshot!(screen(&mut s, 100, 40));
}

#[test]
fn help_overlay_readonly_lists_no_actions() {
    let mut s = state_with(fleet(), true);
    press(&mut s, "?");
    let text = screen(&mut s, 100, 40);
    // First in the help, above anything that scrolls.
    assert!(text.contains("actions are disabled"), "{text}");
    assert!(!text.contains("destroy"), "{text}");
}

#[test]
fn confirm_popup() {
    let mut s = state();
    press(&mut s, "D");
    insta::assert_snapshot!(screen(&mut s, 100, 30));
}

#[test]
fn filter_in_use() {
    let mut s = state();
    press(&mut s, "/temp");
    insta::assert_snapshot!(screen(&mut s, 100, 24));
}

#[test]
fn stale_banner() {
    let s = &mut stale("cannot connect to qemu:///system: Connection reset");
    insta::assert_snapshot!(screen(s, 120, 24));
}

/// The demo fleet 75 s on, its last poll failed with `error`.
pub(super) fn stale(error: &str) -> State {
    let mut s = state();
    update(&mut s, Msg::Tick(now() + chrono::Duration::seconds(75)));
    update(
        &mut s,
        Msg::PollFailed {
            host: 0,
            error: error.into(),
            at: now(),
        },
    );
    s
}

#[test]
fn too_small_terminal() {
    insta::assert_snapshot!(screen(&mut state(), 40, 10));
    // Tiny terminals must not panic either (ratatui's TestBackend cannot be 0×0).
    screen(&mut state(), 1, 1);
    screen(&mut state(), 59, 200);
    screen(&mut state(), 200, 14);
}

#[test]
fn detail_pane_at_80x24() {
    let mut s = state();
    press(&mut s, "j");
    update(&mut s, key(KeyCode::Enter));
    insta::assert_snapshot!(screen(&mut s, 80, 24));
}

#[test]
fn empty_host() {
    let text = screen(&mut state_with(Vec::new(), false), 80, 24);
    assert!(text.contains("no VMs on this connection"), "{text}");
}

#[test]
fn every_status_reads_without_colour() {
    // The mono theme carries meaning in text: expired, expiring (!), invalid, error.
    let text = screen(&mut state(), 160, 45);
    assert!(text.contains("expired 1h0"), "{text}");
    assert!(
        text.contains("!9m"),
        "expiring within the hour is marked: {text}"
    );
    assert!(text.contains("INVALID"), "{text}");
}

#[test]
fn large_fleets_render_without_panic() {
    let vms: Vec<Vm> = (0..10_000)
        .map(|i| vm(i, &format!("vm-{i:05}"), VmState::Running, permanent()))
        .collect();
    let mut s = state_with(vms, false);
    press(&mut s, "G");
    let text = screen(&mut s, 160, 45);
    assert!(text.contains("vm-09999"));
}

// ---- reducer: every key ----

#[test]
fn navigation_keys() {
    let mut s = state();
    assert_eq!(
        s.selected_vm().unwrap().snapshot.vm_name,
        "app-1",
        "sorted by name"
    );
    press(&mut s, "j");
    assert_eq!(s.selected_row(), 1);
    update(&mut s, key(KeyCode::Down));
    assert_eq!(s.selected_row(), 2);
    press(&mut s, "k");
    update(&mut s, key(KeyCode::Up));
    assert_eq!(s.selected_row(), 0);
    press(&mut s, "k");
    assert_eq!(s.selected_row(), 0, "clamped at the top");
    press(&mut s, "G");
    assert_eq!(s.selected_row(), 6);
    press(&mut s, "j");
    assert_eq!(s.selected_row(), 6, "clamped at the bottom");
    press(&mut s, "g");
    assert_eq!(s.selected_row(), 0);
    update(&mut s, key(KeyCode::End));
    assert_eq!(s.selected_row(), 6);
    update(&mut s, key(KeyCode::Home));
    assert_eq!(s.selected_row(), 0);
    update(&mut s, key(KeyCode::PageDown));
    assert_eq!(s.selected_row(), 6, "a page at 80x24 covers the fleet");
    update(&mut s, key(KeyCode::PageUp));
    assert_eq!(s.selected_row(), 0);
}

#[test]
fn sort_keys_keep_the_selection() {
    let mut s = state();
    press(&mut s, "jj");
    let name = s.selected_vm().unwrap().snapshot.vm_name.clone();
    press(&mut s, "s");
    assert_eq!(s.sort, SortKey::State);
    assert_eq!(
        s.selected_vm().unwrap().snapshot.vm_name,
        name,
        "selection follows the VM"
    );
    press(&mut s, "sss");
    assert_eq!(s.sort, SortKey::Restarts);
    press(&mut s, "S");
    assert!(s.sort_reverse);
    press(&mut s, "sssss");
    assert_eq!(s.sort, SortKey::Name, "cycles back");
    // TTL sort: soonest first, permanent last.
    let mut s = state();
    s.sort = SortKey::Ttl;
    s.refresh_rows();
    assert_eq!(
        s.selected_vm().map(|v| v.snapshot.vm_name.as_str()),
        Some("app-1"),
        "selection kept"
    );
    let first = &s.vms[s.rows[0]].snapshot.vm_name;
    assert_eq!(first, "pr-preview-482", "expired first");
}

#[test]
fn filter_keys() {
    let mut s = state();
    press(&mut s, "/");
    assert!(s.filter_editing);
    press(&mut s, "ci");
    assert_eq!(s.rows.len(), 1);
    update(&mut s, key(KeyCode::Backspace));
    assert_eq!(s.filter, "c");
    press(&mut s, "i");
    update(&mut s, key(KeyCode::Enter));
    assert!(!s.filter_editing);
    assert_eq!(s.filter, "ci");
    // Keys act again once the filter is committed.
    press(&mut s, "q");
    assert!(s.should_quit);
    let mut s = state();
    press(&mut s, "/stopped");
    assert_eq!(s.rows.len(), 2, "state match");
    update(&mut s, key(KeyCode::Esc));
    assert!(s.filter.is_empty() && s.rows.len() == 7, "esc clears");
    press(&mut s, "/temporary");
    update(&mut s, key(KeyCode::Enter));
    assert_eq!(s.rows.len(), 3, "mode match");
    update(&mut s, key(KeyCode::Esc));
    assert_eq!(s.rows.len(), 7, "esc clears a committed filter");
}

#[test]
fn focus_detail_help_quit_keys() {
    let mut s = state();
    update(&mut s, Msg::Resize(80, 24));
    update(&mut s, key(KeyCode::Tab));
    assert_eq!(
        s.focus,
        Pane::Activity,
        "no detail pane at 80 wide: table → activity"
    );
    update(&mut s, key(KeyCode::Tab));
    assert_eq!(s.focus, Pane::Table);
    update(&mut s, key(KeyCode::Enter));
    assert!(s.show_detail);
    update(&mut s, key(KeyCode::Tab));
    assert_eq!(s.focus, Pane::Detail);
    press(&mut s, "j");
    assert_eq!(s.detail_scroll, 1, "j scrolls the focused detail pane");
    update(&mut s, key(KeyCode::Enter));
    assert!(!s.show_detail);
    assert_eq!(s.focus, Pane::Table);
    press(&mut s, "?");
    assert_eq!(s.popup, Some(Popup::Help));
    press(&mut s, "j");
    assert_eq!(s.popup, Some(Popup::Help), "other keys keep help open");
    update(&mut s, key(KeyCode::Esc));
    assert_eq!(s.popup, None);
    press(&mut s, "q");
    assert!(s.should_quit);
    let mut s = state();
    press(&mut s, "/");
    update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert!(s.should_quit, "ctrl-c quits even while typing a filter");
}

pub(super) fn select(s: &mut State, name: &str) {
    let i = s
        .rows
        .iter()
        .position(|&i| s.vms[i].snapshot.vm_name == name)
        .unwrap();
    s.select_row(i);
}

fn executed(effects: &[Effect]) -> Option<Op> {
    effects.iter().find_map(|e| match e {
        Effect::Execute(0, c) => Some(c.op.clone()),
        _ => None,
    })
}

#[test]
fn dangerous_keys_confirm_first() {
    for (k, op) in [
        ('D', Op::Destroy),
        ('d', Op::Shutdown),
        ('R', Op::Reboot),
        ('m', Op::ManagedSave),
    ] {
        let mut s = state();
        select(&mut s, "db-1");
        assert_eq!(
            executed(&press(&mut s, &k.to_string())),
            None,
            "{k} alone does nothing"
        );
        let Some(Popup::Confirm(c)) = &s.popup else {
            panic!("{k} opens a confirmation")
        };
        assert!(
            c.title.contains("db-1")
                && c.lines
                    .join(" ")
                    .contains("00000000-0000-4000-8000-000000000001")
        );
        // Enter and stray keys do not confirm.
        update(&mut s, key(KeyCode::Enter));
        assert_eq!(executed(&press(&mut s, "x")), None);
        assert!(matches!(s.popup, Some(Popup::Confirm(_))));
        let effects = press(&mut s, "y");
        assert_eq!(executed(&effects), Some(op.clone()), "{k}");
        assert!(s.busy.contains("00000000-0000-4000-8000-000000000001"));
        assert_eq!(s.activity[0].status, ActivityStatus::Pending);
        // n cancels.
        let mut s = state();
        select(&mut s, "db-1");
        press(&mut s, &k.to_string());
        assert_eq!(executed(&press(&mut s, "n")), None);
        assert_eq!(s.popup, None);
        assert!(s.flash.as_ref().unwrap().0.starts_with("cancelled"));
    }
}

#[test]
fn direct_keys_execute() {
    let mut s = state();
    select(&mut s, "legacy-mail");
    assert_eq!(executed(&press(&mut s, "u")), Some(Op::Start));
    select(&mut s, "db-1");
    assert_eq!(executed(&press(&mut s, "u")), None, "already running");
    assert!(s.flash.as_ref().unwrap().0.contains("already running"));
    assert_eq!(executed(&press(&mut s, "p")), Some(Op::Suspend));
    select(&mut s, "scratch-alice");
    assert_eq!(executed(&press(&mut s, "p")), Some(Op::Resume));
    select(&mut s, "ci-runner-17");
    assert_eq!(
        executed(&press(&mut s, "+")),
        Some(Op::ExtendTtl { hours: 1.0 })
    );
    select(&mut s, "db-1");
    assert_eq!(executed(&press(&mut s, "+")), None, "permanent: no TTL");
    select(&mut s, "ci-runner-17");
    assert_eq!(
        executed(&press(&mut s, "t")),
        Some(Op::SetMode {
            mode: PersistenceMode::Permanent
        }),
        "to permanent is safe"
    );
    select(&mut s, "legacy-mail");
    assert_eq!(
        executed(&press(&mut s, "D")),
        None,
        "stopped: nothing to destroy"
    );
}

#[test]
fn toggle_to_temporary_confirms_and_warns_when_expired() {
    let mut s = state();
    select(&mut s, "db-1");
    press(&mut s, "t");
    let Some(Popup::Confirm(c)) = &s.popup else {
        panic!()
    };
    assert!(!c.lines.join(" ").contains("ALREADY EXPIRED"));
    let mut zero = LifecycleMeta::default();
    zero.persistence.ttl_hours = 0.0;
    let mut s = state_with(vec![vm(1, "zero", VmState::Running, Ok(zero))], false);
    press(&mut s, "t");
    let Some(Popup::Confirm(c)) = &s.popup else {
        panic!()
    };
    assert!(c.lines.join(" ").contains("ALREADY EXPIRED"));
    assert_eq!(
        executed(&press(&mut s, "y")),
        Some(Op::SetMode {
            mode: PersistenceMode::Temporary
        })
    );
}

#[test]
fn edit_ttl_prompts_and_sets_the_expiry() {
    let mut s = state();
    select(&mut s, "ci-runner-17");
    press(&mut s, "e");
    let Some(Popup::Input(i)) = &s.popup else {
        panic!("e opens the TTL prompt")
    };
    assert_eq!(i.text, "1", "prefilled with the hours left, rounded up");
    update(&mut s, key(KeyCode::Backspace));
    press(&mut s, "x"); // ignored: not a digit
    press(&mut s, "0");
    let effects = update(&mut s, key(KeyCode::Enter)).effects;
    assert_eq!(executed(&effects), None, "0 hours is refused");
    let Some(Popup::Input(i)) = &s.popup else {
        panic!("prompt stays open")
    };
    assert!(i
        .error
        .as_deref()
        .unwrap()
        .contains("not a number of hours"));
    update(&mut s, key(KeyCode::Backspace));
    press(&mut s, "2.5");
    let effects = update(&mut s, key(KeyCode::Enter)).effects;
    assert_eq!(
        executed(&effects),
        Some(Op::SetExpiry {
            at: now().timestamp() + 9000
        })
    );
    assert_eq!(s.popup, None);
    // Permanent VMs have no TTL; Esc cancels.
    select(&mut s, "db-1");
    press(&mut s, "e");
    assert_eq!(s.popup, None);
    select(&mut s, "ci-runner-17");
    press(&mut s, "e");
    update(&mut s, key(KeyCode::Esc));
    assert_eq!(s.popup, None);
}

#[test]
fn ttl_prompt_screen() {
    let mut s = state();
    select(&mut s, "ci-runner-17");
    press(&mut s, "e");
    insta::assert_snapshot!(screen(&mut s, 100, 24));
}

#[test]
fn invalid_policy_refuses_policy_actions() {
    let mut s = state();
    select(&mut s, "broken-policy");
    assert_eq!(executed(&press(&mut s, "+t")), None);
    assert!(s.flash.as_ref().unwrap().0.contains("invalid policy"));
}

#[test]
fn readonly_has_no_mutating_keys() {
    let mut s = state_with(fleet(), true);
    select(&mut s, "db-1");
    for k in "udDpRm+tecCyar".chars() {
        s.flash = None;
        assert_eq!(executed(&press(&mut s, &k.to_string())), None, "{k}");
        assert_eq!(s.popup, None, "{k}");
        // A refused key says why in one line instead of doing nothing.
        let said = s.flash.as_ref().map(|(t, _)| t.clone()).unwrap_or_default();
        assert!(
            said.starts_with("read-only connection (--readonly): "),
            "{k}: {said:?}"
        );
    }
    for a in Action::all().filter(|a| a.is_mutating()) {
        assert!(s.keymap.keys(a).is_empty());
        assert!(
            super::update::apply(&mut s, a).is_empty(),
            "{a:?} refused on every path"
        );
    }
    let hints = screen(&mut s, 160, 45);
    assert!(!hints.contains("destroy"));
}

#[test]
fn results_update_the_activity_line() {
    let mut s = state();
    select(&mut s, "legacy-mail");
    press(&mut s, "u");
    let uuid = s.selected_vm().unwrap().uuid.clone();
    let effects = update(
        &mut s,
        Msg::ActionFinished {
            vm_id: uuid.clone(),
            action: "start".into(),
            status: ActivityStatus::Ok,
            text: "started legacy-mail".into(),
        },
    );
    assert_eq!(effects.effects, vec![Effect::PollNow(0)]);
    assert_eq!(s.activity.len(), 1);
    assert_eq!(s.activity[0].status, ActivityStatus::Ok);
    assert_eq!(s.activity[0].text, "started legacy-mail");
    assert!(!s.busy.contains(&uuid));
}

#[test]
fn stale_keeps_the_last_snapshot_and_live_clears_it() {
    let mut s = state();
    update(
        &mut s,
        Msg::PollFailed {
            host: 0,
            error: "gone".into(),
            at: now(),
        },
    );
    assert_eq!(*s.conn(), ConnState::Stale("gone".into()));
    assert_eq!(s.vms.len(), 7);
    update(&mut s, crate::tui::tests::snap(fleet(), now()));
    assert_eq!(*s.conn(), ConnState::Live);
}

#[test]
fn clock_signature_changes_only_with_shown_text() {
    let mut s = state();
    update(&mut s, Msg::Resize(80, 24));
    let a = super::view::clock_signature(&s);
    update(
        &mut s,
        Msg::Tick(now() + chrono::Duration::milliseconds(900)),
    );
    assert_eq!(
        super::view::clock_signature(&s),
        a,
        "under a minute nothing shown changes"
    );
    update(&mut s, Msg::Tick(now() + chrono::Duration::seconds(61)));
    assert_ne!(super::view::clock_signature(&s), a);
}

#[test]
fn keymap_key_from_event_folds_shift() {
    let e = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
    assert_eq!(Key::from_event(&e), Key::parse("G").unwrap());
}

// ---- issue 4: cleanup keys and events ----

fn prepared(effects: &[Effect]) -> Option<RoundRequest> {
    effects.iter().find_map(|e| match e {
        Effect::PrepareCleanup { request, .. } => Some(request.clone()),
        _ => None,
    })
}

#[test]
fn c_prepares_a_cleanup_of_the_selected_expired_vm_only() {
    let mut s = state();
    select(&mut s, "pr-preview-482");
    let req = prepared(&press(&mut s, "c")).expect("c asks the engine for a plan");
    assert!(
        req.manual && req.ignore_window,
        "a person's single cleanup may run outside the window"
    );
    assert_eq!(
        req.only,
        Some(["00000000-0000-4000-8000-000000000004".into()].into())
    );
    for (vm, why) in [
        ("ci-runner-17", "has not expired"),
        ("db-1", "permanent"),
        ("broken-policy", "invalid policy"),
    ] {
        select(&mut s, vm);
        assert_eq!(prepared(&press(&mut s, "c")), None, "{vm}");
        assert!(
            s.flash.as_ref().unwrap().0.contains(why),
            "{vm}: {:?}",
            s.flash
        );
    }
}

#[test]
fn capital_c_prepares_a_round_that_honours_the_window() {
    let mut s = state();
    let req = prepared(&press(&mut s, "C")).unwrap();
    assert_eq!(
        req,
        RoundRequest {
            manual: true,
            ignore_window: false,
            only: None
        }
    );
}

#[test]
fn a_prepared_round_is_confirmed_before_it_runs() {
    let mut s = state();
    let vms = s.vms.clone();
    let facts: Vec<_> = vms.iter().map(Vm::facts).collect();
    let policy = crate::model::VmCleanupPolicy {
        cleanup_in_window_only: false,
        ..Default::default()
    };
    let clock = Clock {
        now: now().timestamp(),
        local_minute: 12 * 60,
    };
    let request = RoundRequest {
        manual: true,
        ignore_window: false,
        only: None,
    };
    let plan: RoundPlan = plan_round(&facts, &policy, &RoundInputs::default(), &request, clock);
    assert_eq!(plan.commands.len(), 1);
    update(
        &mut s,
        Msg::CleanupPrepared {
            title: "Run a cleanup round now?".into(),
            plan,
            request: request.clone(),
        },
    );
    let Some(Popup::Confirm(c)) = &s.popup else {
        panic!("a confirmation")
    };
    assert!(
        c.lines.join("\n").contains("pr-preview-482"),
        "{:?}",
        c.lines
    );
    assert_eq!(c.then, Then::CleanupRound(request.clone()));
    let effects = press(&mut s, "y");
    assert_eq!(effects, vec![Effect::RunCleanup(request)]);
    // Nothing due: a flash, no popup.
    let mut s = state();
    let empty = plan_round(
        &[],
        &policy,
        &RoundInputs::default(),
        &RoundRequest::default(),
        clock,
    );
    update(
        &mut s,
        Msg::CleanupPrepared {
            title: "x".into(),
            plan: empty,
            request: RoundRequest::default(),
        },
    );
    assert_eq!(s.popup, None);
    assert!(s.flash.as_ref().unwrap().0.contains("nothing is due"));
}

#[test]
fn y_confirms_parked_cleanups() {
    let mut s = state();
    press(&mut s, "y");
    assert!(s
        .flash
        .as_ref()
        .unwrap()
        .0
        .contains("no cleanup is awaiting confirmation"));
    let policy = crate::model::VmCleanupPolicy {
        require_confirmation: true,
        ..Default::default()
    };
    let view = cleanup_view(&s.vms.clone(), &policy);
    assert!(view
        .lines
        .iter()
        .any(|l| l.state == VmCleanupState::AwaitingConfirmation));
    update(&mut s, Msg::Cleanup(view));
    press(&mut s, "y");
    let Some(Popup::Confirm(c)) = &s.popup else {
        panic!("y lists the parked cleanups")
    };
    let Then::ConfirmParked(vms) = &c.then else {
        panic!()
    };
    assert_eq!(
        vms,
        &vec![VmRef::new(
            "00000000-0000-4000-8000-000000000004",
            "pr-preview-482"
        )]
    );
    let effects = press(&mut s, "y");
    assert!(matches!(effects.as_slice(), [Effect::ConfirmParked(v)] if v.len() == 1));
}

#[test]
fn events_poll_at_once_and_show_a_dropped_connection() {
    let mut s = state();
    let e = update(
        &mut s,
        Msg::Event(
            0,
            DomainEvent::MetadataChange {
                uuid: "u".into(),
                name: "n".into(),
                namespace: None,
            },
        ),
    );
    assert_eq!(e.effects, vec![Effect::PollNow(0)]);
    update(
        &mut s,
        Msg::Event(
            0,
            DomainEvent::ConnectionLost {
                reason: "end of file from server".into(),
            },
        ),
    );
    assert_eq!(
        *s.conn(),
        ConnState::Disconnected("end of file from server".into())
    );
    let text = screen(&mut s, 120, 24);
    assert!(
        text.contains("DISCONNECTED") && text.contains("reconnecting"),
        "{text}"
    );
    assert_eq!(
        update(&mut s, Msg::Event(0, DomainEvent::Reconnected)).effects,
        vec![Effect::PollNow(0)]
    );
    update(&mut s, crate::tui::tests::snap(fleet(), now()));
    assert_eq!(*s.conn(), ConnState::Live);
}

#[test]
fn cleanup_pane_shows_held_rounds_alerts_and_due_vms() {
    let text = screen(&mut state(), 160, 45);
    assert!(
        text.contains("held: outside the cleanup window 02:00–06:00"),
        "{text}"
    );
    assert!(
        text.contains("ALERT 12:00 app-1 restart: gave up after 5 restarts"),
        "{text}"
    );
    assert!(text.contains("pr-preview-482   due (held)"), "{text}");
    assert!(text.contains("next round in 30m"), "{text}");
}

// ---- issue 5: autostart, recover, progress ----

use crate::lifecycle::autostart::{Progress, StepProgress, StepState, UpHow};

fn step(name: &str, state: StepState) -> StepProgress {
    let text = state.describe(now());
    StepProgress {
        name: name.into(),
        uuid: format!("uuid-{name}").into(),
        external: false,
        state,
        text,
    }
}

fn in_progress() -> Progress {
    Progress {
        at: now(),
        steps: vec![
            step(
                "lab-dns",
                StepState::Up {
                    how: UpHow::Started,
                    at: now() - chrono::Duration::seconds(20),
                },
            ),
            step(
                "db-1",
                StepState::Up {
                    how: UpHow::Started,
                    at: now() - chrono::Duration::seconds(8),
                },
            ),
            step(
                "app-1",
                StepState::WaitingForSsh {
                    since: now() - chrono::Duration::seconds(12),
                    timeout_seconds: 300,
                    target: Some("127.0.0.1:2201".into()),
                    last: Some("connection refused".into()),
                    how: UpHow::Started,
                },
            ),
            step(
                "web-1",
                StepState::Waiting {
                    on: vec!["app-1".into()],
                },
            ),
        ],
        halted: None,
        done: false,
    }
}

fn failed_sequence() -> Progress {
    Progress {
        at: now(),
        steps: vec![
            step(
                "db-1",
                StepState::Failed {
                    why: "start failed 3 times: Cannot access storage file '/var/lib/db-1.qcow2'"
                        .into(),
                },
            ),
            step(
                "app-1",
                StepState::Skipped {
                    why: "dependency db-1 did not come up".into(),
                },
            ),
            step(
                "web-1",
                StepState::Skipped {
                    why: "dependency app-1 did not come up".into(),
                },
            ),
            step(
                "lab-dns",
                StepState::Up {
                    how: UpHow::AlreadyRunning,
                    at: now(),
                },
            ),
        ],
        halted: None,
        done: true,
    }
}

#[test]
fn a_prepares_then_confirms_the_autostart() {
    let mut s = state();
    assert_eq!(press(&mut s, "a"), vec![Effect::PrepareAutostart]);
    update(
        &mut s,
        Msg::AutostartPrepared(Ok(vec![
            "1. db-1 (order 10)".into(),
            "2. app-1 after db-1".into(),
        ])),
    );
    let Some(Popup::Confirm(c)) = &s.popup else {
        panic!("a confirmation")
    };
    assert!(c.lines.iter().any(|l| l.contains("app-1 after db-1")));
    assert_eq!(press(&mut s, "y"), vec![Effect::RunAutostart]);
    // A cycle is reported, nothing asked.
    update(
        &mut s,
        Msg::AutostartPrepared(Err("dependency cycle: a → b → a".into())),
    );
    assert_eq!(s.popup, None);
    assert!(s
        .flash
        .as_ref()
        .unwrap()
        .0
        .contains("dependency cycle: a → b → a"));
}

#[test]
fn r_prepares_then_confirms_recovering_the_selected_vm() {
    let mut s = state();
    select(&mut s, "db-1");
    let uuid = s.selected_vm().unwrap().uuid.clone();
    assert_eq!(
        press(&mut s, "r"),
        vec![Effect::PrepareRecover {
            vm_id: uuid.clone(),
            vm_name: "db-1".into()
        }]
    );
    update(
        &mut s,
        Msg::RecoverPrepared {
            vm_id: uuid.clone(),
            vm_name: "db-1".into(),
            lines: Ok(vec!["start db-1 from its managed save".into()]),
        },
    );
    let effects = press(&mut s, "y");
    assert_eq!(
        effects,
        vec![Effect::RunRecover {
            vm_id: uuid.clone(),
            vm_name: "db-1".into()
        }]
    );
    assert_eq!(s.activity[0].status, ActivityStatus::Pending);
    update(
        &mut s,
        Msg::RecoverPrepared {
            vm_id: uuid,
            vm_name: "db-1".into(),
            lines: Err("no recovery records".into()),
        },
    );
    assert!(s
        .flash
        .as_ref()
        .unwrap()
        .0
        .contains("db-1: no recovery records"));
}

#[test]
fn progress_pane_in_progress() {
    let mut s = state();
    update(&mut s, Msg::Progress(in_progress()));
    insta::assert_snapshot!(screen(&mut s, 120, 30));
}

#[test]
fn progress_pane_failed() {
    let mut s = state();
    update(&mut s, Msg::Progress(failed_sequence()));
    let text = screen(&mut s, 120, 30);
    assert!(
        text.contains("autostart done: 1 up, 1 failed, 2 skipped"),
        "{text}"
    );
    insta::assert_snapshot!(text);
    // A minute later the cleanup pane is back.
    update(&mut s, Msg::Tick(now() + chrono::Duration::seconds(61)));
    assert!(screen(&mut s, 120, 30).contains(" cleanup "));
}

#[test]
fn detail_pane_shows_the_recovery_record_and_dependency_chain() {
    let mut s = state();
    select(&mut s, "app-1");
    let uuid = s.selected_vm().unwrap().uuid.clone();
    update(
        &mut s,
        Msg::Recovery(
            [(
                uuid,
                vec![
                    "was running at 2026-11-27 11:00 UTC".to_string(),
                    "host shutdown: save_state (saved (managed save))".to_string(),
                ],
            )]
            .into(),
        ),
    );
    update(&mut s, Msg::Resize(160, 45));
    update(&mut s, key(KeyCode::Tab));
    assert_eq!(s.focus, Pane::Detail);
    press(&mut s, "jjjjjjjjjjjj");
    let text = screen(&mut s, 160, 45);
    assert!(
        text.contains("was running at 2026-11-27 11:00 UTC"),
        "{text}"
    );
    assert!(
        text.contains("depends on") && text.contains("db-1"),
        "{text}"
    );
}

#[test]
fn a_snapshot_that_only_moved_its_timestamp_is_unchanged() {
    let mut s = state();
    let later = now() + chrono::Duration::seconds(2);
    let mut vms = fleet();
    for v in &mut vms {
        v.snapshot.snapshot_time = later;
    }
    update(&mut s, crate::tui::tests::snap(vms.clone(), later));
    assert!(s.snapshot_unchanged, "same content, new timestamp");
    vms[0].snapshot.cpu_usage_percent = Some(99.0);
    update(&mut s, crate::tui::tests::snap(vms, later));
    assert!(!s.snapshot_unchanged, "a changed value is a change");
    update(
        &mut s,
        Msg::PollFailed {
            host: 0,
            error: "x".into(),
            at: later,
        },
    );
    update(&mut s, crate::tui::tests::snap(fleet(), later));
    assert!(!s.snapshot_unchanged, "coming back from stale is a change");
}

/// Pressure as the engine reports it: the header badge, the row's state and the
/// detail's line.
#[test]
fn pressure_badge_row_and_detail() {
    let vms = fleet();
    let alice = vms
        .iter()
        .find(|v| v.snapshot.vm_name == "scratch-alice")
        .unwrap()
        .uuid
        .clone();
    let mut view = cleanup_view(&vms, &crate::model::VmCleanupPolicy::default());
    view.pressure_badge = Some("DISK FULL: scratch-alice".into());
    view.pressure
        .insert(alice.clone(), "paused: disk full (vda)".into());
    let mut s = state_with(vms, false);
    update(&mut s, Msg::Cleanup(view));
    press(&mut s, "G");
    assert_eq!(
        s.pressure_of(s.selected_vm().unwrap()),
        Some("paused: disk full (vda)")
    );
    // Its limits as the engine thread read them: the disk's threshold fired.
    let row = |limit, target: Option<&str>, desired, status| crate::lifecycle::limits::LimitRow {
        vm_id: alice.clone(),
        vm_name: "scratch-alice".into(),
        limit,
        target: target.map(str::to_string),
        enforced: true,
        desired: Some(desired),
        actual: None,
        period_us: Some(100_000),
        status,
        reason: String::new(),
    };
    use crate::lifecycle::limits::{LimitKind, LimitStatus};
    update(
        &mut s,
        Msg::Limits(crate::tui::limits::LimitsView {
            vm_id: alice.clone(),
            rows: vec![
                row(LimitKind::Memory, None, 1280 * 1024, LimitStatus::Ok),
                row(LimitKind::Cpu, None, 200_000, LimitStatus::Refused),
                row(LimitKind::Disk, Some("vda"), 9 << 30, LimitStatus::Reached),
            ],
            at: now(),
            disk_percent: 90,
        }),
    );
    let text = screen(&mut s, 160, 45);
    assert!(text.contains("DISK FULL: scratch-alice"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("scratch-alice") && l.contains("paused: disk full (vda)")),
        "the row says it whole: {text}"
    );
    assert!(
        text.contains("pressure: paused: disk full"),
        "the detail: {text}"
    );
    assert!(text.contains("vda 90 % reached"), "the limits: {text}");
    insta::assert_snapshot!(text);
}

/// At 80×24 a pressure status widens STATE to say it whole; the lower-ranked columns
/// (RESTART, MEM) make room, NAME, MODE and TTL stay.
#[test]
fn pressure_row_at_80x24() {
    let vms = fleet();
    let alice = vms
        .iter()
        .find(|v| v.snapshot.vm_name == "scratch-alice")
        .unwrap()
        .uuid
        .clone();
    let mut view = cleanup_view(&vms, &crate::model::VmCleanupPolicy::default());
    view.pressure
        .insert(alice, "suspended: memory pressure".into());
    let mut s = state_with(vms, false);
    update(&mut s, Msg::Cleanup(view));
    press(&mut s, "G");
    let text = screen(&mut s, 80, 24);
    let row = text
        .lines()
        .find(|l| l.contains("scratch-alice"))
        .expect("the row");
    assert!(row.contains("suspended: memory pressure"), "{text}");
    assert!(text.contains("TTL"), "{text}");
    insta::assert_snapshot!(text);
}
