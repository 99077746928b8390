//! Keys: a key press is looked up in the keymap layer of the current [`Mode`], and the
//! action found is performed. Only the text typed into the filter or the TTL prompt is
//! not an action.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::act::{self, vm_action};
use super::Effect;
use crate::lifecycle::cleanup::RoundRequest;
use crate::tui::action::{Action, Mode};
use crate::tui::keymap::Key;
use crate::tui::layout::{detail_beside, help_max_scroll, help_viewport, table_viewport};
use crate::tui::present::help_lines;
use crate::tui::state::{Input, Pane, Popup, State};

pub(super) fn on_key(s: &mut State, k: KeyEvent) -> Vec<Effect> {
    let key = Key::from_event(&k);
    if key.ctrl && key.code == KeyCode::Char('c') {
        s.should_quit = true;
        return Vec::new();
    }
    if key.ctrl && key.code == KeyCode::Char('z') {
        return vec![Effect::Suspend];
    }
    let mode = s.mode();
    let action = s.keymap.action(mode, key);
    match mode {
        Mode::Main | Mode::Alerts if action.is_none() => {
            if let Some(a) = s.keymap.refused(mode, key) {
                s.flash(format!(
                    "read-only connection (--readonly): {} is disabled",
                    a.label()
                ));
            }
            Vec::new()
        }
        Mode::Main => action.map_or_else(Vec::new, |a| apply(s, a)),
        Mode::Alerts => on_alerts(s, action),
        Mode::Command => super::command::on_key(s, action, &k),
        Mode::Help => {
            on_help(s, action);
            Vec::new()
        }
        Mode::Confirm => on_confirm(s, action),
        Mode::Input => on_input(s, action, &k),
        Mode::Filter => {
            on_filter(s, action, &k);
            Vec::new()
        }
    }
}

/// Perform one action of the table (main mode).
pub fn apply(s: &mut State, a: Action) -> Vec<Effect> {
    // The keymap already lacks these under --readonly; this guards every other path.
    if s.readonly && a.is_mutating() {
        s.flash("read-only connection: actions are disabled".into());
        return Vec::new();
    }
    // The host-wide actions (cleanup round, confirmations, autostart) are host 0's.
    if !a.spec().on_vm && a.is_mutating() && s.hosts[0].readonly {
        let host = s.hosts[0].name.clone();
        s.flash(format!("{host} is read-only: {} is refused", a.label()));
        return Vec::new();
    }
    if a.spec().on_vm {
        return vm_action(s, a);
    }
    match a {
        Action::Up => scroll(s, -1),
        Action::Down => scroll(s, 1),
        Action::PageUp => scroll(s, -page(s)),
        Action::PageDown => scroll(s, page(s)),
        Action::Top => scroll(s, i64::MIN / 2),
        Action::Bottom => scroll(s, i64::MAX / 2),
        Action::Filter => {
            s.filter_editing = true;
            s.focus = Pane::Table;
        }
        Action::Sort => {
            s.sort = s.sort.next(s.hosts.len());
            s.refresh_rows();
        }
        Action::ReverseSort => {
            s.sort_reverse = !s.sort_reverse;
            s.refresh_rows();
        }
        Action::FocusNext => {
            s.focus = match s.focus {
                Pane::Table if s.show_detail || detail_beside(s.size) => Pane::Detail,
                Pane::Table | Pane::Detail => Pane::Activity,
                Pane::Activity => Pane::Table,
            };
        }
        Action::Detail => {
            s.show_detail = !s.show_detail;
            s.detail_scroll = 0;
            if !s.show_detail && s.focus == Pane::Detail {
                s.focus = Pane::Table;
            }
        }
        Action::Back => {
            if !s.filter.is_empty() {
                s.filter.clear();
                s.refresh_rows();
            } else if !s.marks.is_empty() {
                s.marks.clear();
            } else if s.show_detail {
                s.show_detail = false;
                s.focus = Pane::Table;
            }
        }
        Action::Help => {
            s.popup = Some(Popup::Help);
            s.help_scroll = 0;
        }
        Action::Quit => return act::quit(s),
        Action::CleanupRound => {
            return vec![Effect::PrepareCleanup {
                title: if s.many_hosts() {
                    format!("Run a cleanup round on {} now?", s.host_name(0))
                } else {
                    "Run a cleanup round now?".into()
                },
                request: RoundRequest {
                    manual: true,
                    ignore_window: false,
                    only: None,
                },
            }];
        }
        Action::ConfirmCleanups => return act::confirm_parked(s),
        Action::CommandLine => super::command::open(s),
        Action::Mark => super::bulk::toggle(s),
        Action::MarkAll => super::bulk::toggle_all(s),
        Action::Alerts => {
            s.popup = Some(Popup::Alerts);
            s.alerts_cursor = 0;
            s.alerts_of_vm = None;
        }
        Action::Autostart => return vec![Effect::PrepareAutostart],
        // Actions of the other modes do nothing here.
        _ => {}
    }
    Vec::new()
}

/// Help: the help key (whatever it is bound to) or a close key closes it; the moves
/// scroll it; other keys keep it open.
fn on_help(s: &mut State, action: Option<Action>) {
    let lines = help_lines(&s.keymap, s.readonly).len();
    let page = i32::from(help_viewport(s.size, lines).max(1));
    let by = match action {
        Some(Action::Help | Action::CloseHelp) => {
            s.popup = None;
            return;
        }
        Some(Action::Up) => -1,
        Some(Action::Down) => 1,
        Some(Action::PageUp) => -page,
        Some(Action::PageDown) => page,
        Some(Action::Top) => i32::MIN / 2,
        Some(Action::Bottom) => i32::MAX / 2,
        _ => return,
    };
    let max = i32::from(help_max_scroll(s.size, lines));
    s.help_scroll = (i32::from(s.help_scroll).saturating_add(by)).clamp(0, max) as u16;
}

/// The alerts view: the moves move the cursor, `x` acknowledges the alert under it,
/// `v` shows only the selected VM's (or all again), the close keys close it.
fn on_alerts(s: &mut State, action: Option<Action>) -> Vec<Effect> {
    let shown = s.alerts_shown().len();
    let page = i64::from(table_viewport(s.size, false, 0).max(1));
    let by: i64 = match action {
        Some(Action::Alerts | Action::CloseHelp) => {
            s.popup = None;
            return Vec::new();
        }
        Some(Action::AckAlert) => {
            let Some(a) = s.alerts_shown().get(s.alerts_cursor).map(|a| (*a).clone()) else {
                s.flash("no alert to acknowledge".into());
                return Vec::new();
            };
            return vec![Effect::AckAlert(a)];
        }
        Some(Action::AlertsOfVm) => {
            s.alerts_of_vm = match (&s.alerts_of_vm, s.selected_vm()) {
                (Some(_), _) => None,
                (None, Some(v)) if v.host == 0 => Some(v.uuid.clone()),
                (None, _) => {
                    s.flash("select a VM of this host first".into());
                    None
                }
            };
            s.alerts_cursor = 0;
            return Vec::new();
        }
        Some(Action::Up) => -1,
        Some(Action::Down) => 1,
        Some(Action::PageUp) => -page,
        Some(Action::PageDown) => page,
        Some(Action::Top) => i64::MIN / 2,
        Some(Action::Bottom) => i64::MAX / 2,
        _ => return Vec::new(),
    };
    let last = shown.saturating_sub(1) as i64;
    s.alerts_cursor = (s.alerts_cursor as i64)
        .saturating_add(by)
        .clamp(0, last.max(0)) as usize;
    Vec::new()
}

/// A confirmation: only the yes key confirms (Enter or a stray key must not destroy a
/// VM); the no keys cancel; other keys keep it open.
fn on_confirm(s: &mut State, action: Option<Action>) -> Vec<Effect> {
    let Some(Popup::Confirm(c)) = s.popup.take() else {
        return Vec::new();
    };
    match action {
        Some(Action::Yes) => act::then(s, c.then),
        Some(Action::No) => {
            s.flash(format!("cancelled: {}", c.title));
            Vec::new()
        }
        // A long plan scrolls; the yes/no line stays.
        Some(
            a @ (Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom),
        ) => {
            let max = i32::from(crate::tui::layout::confirm_max_scroll(s.size, &c.lines));
            let page = i32::from(crate::tui::layout::confirm_box(s.size, &c.lines).2.max(1));
            let by = match a {
                Action::Up => -1,
                Action::Down => 1,
                Action::PageUp => -page,
                Action::PageDown => page,
                Action::Top => i32::MIN / 2,
                _ => i32::MAX / 2,
            };
            s.confirm_scroll =
                (i32::from(s.confirm_scroll).saturating_add(by)).clamp(0, max) as u16;
            s.popup = Some(Popup::Confirm(c));
            Vec::new()
        }
        _ => {
            s.popup = Some(Popup::Confirm(c));
            Vec::new()
        }
    }
}

/// The TTL prompt: digits and a dot are typed; submit, cancel and erase are actions.
fn on_input(s: &mut State, action: Option<Action>, k: &KeyEvent) -> Vec<Effect> {
    let Some(Popup::Input(mut input)) = s.popup.take() else {
        return Vec::new();
    };
    match action {
        Some(Action::Cancel) => {
            s.flash(format!("cancelled: {}", input.title));
            return Vec::new();
        }
        Some(Action::Submit) => match parse_hours(&input.text) {
            Ok(hours) => return act::set_expiry(s, input, hours),
            Err(e) => input.error = Some(e),
        },
        Some(Action::Erase) => {
            input.text.pop();
            input.error = None;
        }
        _ => type_hours(&mut input, k),
    }
    s.popup = Some(Popup::Input(input));
    Vec::new()
}

fn type_hours(input: &mut Input, k: &KeyEvent) {
    if let KeyCode::Char(c) = k.code {
        if (c.is_ascii_digit() || c == '.') && input.text.len() < 12 {
            input.text.push(c);
            input.error = None;
        }
    }
}

/// The filter being typed: keep, clear and erase are actions; other characters are typed.
fn on_filter(s: &mut State, action: Option<Action>, k: &KeyEvent) {
    match action {
        Some(Action::KeepFilter) => s.filter_editing = false,
        Some(Action::ClearFilter) => {
            s.filter_editing = false;
            s.filter.clear();
            s.refresh_rows();
        }
        Some(Action::Erase) => {
            s.filter.pop();
            s.refresh_rows();
        }
        _ => match k.code {
            KeyCode::Char(c)
                if !k
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                s.filter.push(c);
                s.refresh_rows();
            }
            _ => {}
        },
    }
}

/// Hours from the prompt: a positive number.
fn parse_hours(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(h) if h.is_finite() && h > 0.0 && h <= 24.0 * 365.0 * 10.0 => Ok(h),
        _ => Err(format!("{text:?} is not a number of hours (more than 0)")),
    }
}

fn page(s: &State) -> i64 {
    i64::from(table_viewport(s.size, s.show_detail, s.strip_lines()).max(1))
}

pub(super) fn scroll(s: &mut State, by: i64) {
    match s.focus {
        Pane::Table => {
            let last = s.rows.len().saturating_sub(1) as i64;
            let row = (s.selected_row() as i64)
                .saturating_add(by)
                .clamp(0, last.max(0));
            s.select_row(row as usize);
            s.detail_scroll = 0;
        }
        Pane::Detail => {
            s.detail_scroll =
                (i64::from(s.detail_scroll) + by).clamp(0, i64::from(u16::MAX)) as u16;
        }
        Pane::Activity => {
            // By lines: a long entry wraps over several.
            let width = usize::from(
                crate::tui::layout::areas(
                    ratatui::layout::Rect::new(0, 0, s.size.0, s.size.1),
                    s.show_detail,
                    s.strip_lines(),
                )
                .activity
                .width
                .saturating_sub(2),
            );
            let lines: usize = s
                .activity
                .iter()
                .map(|a| crate::tui::wrap::activity_pieces(&a.text, width).len())
                .sum();
            let last = lines.saturating_sub(1) as i64;
            s.activity_scroll = (s.activity_scroll as i64)
                .saturating_add(by)
                .clamp(0, last.max(0)) as usize;
        }
    }
}
