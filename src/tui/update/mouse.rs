//! The mouse: a click selects the row under it and gives its pane the keyboard, the
//! wheel scrolls the pane under the pointer. Popups keep the keyboard: the wheel scrolls
//! the help; other mouse events wait until the popup is closed.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::keys::scroll;
use crate::tui::layout::{areas, offset, table_viewport};
use crate::tui::state::{Pane, Popup, State};

/// Rows one wheel step scrolls.
const WHEEL_STEP: i64 = 3;

pub(super) fn on_mouse(s: &mut State, m: MouseEvent) {
    let at = Position::new(m.column, m.row);
    let wheel = match m.kind {
        MouseEventKind::ScrollUp => -WHEEL_STEP,
        MouseEventKind::ScrollDown => WHEEL_STEP,
        MouseEventKind::Down(MouseButton::Left) => 0,
        _ => return,
    };
    if let Some(popup) = &s.popup {
        if matches!(popup, Popup::Help) && wheel != 0 {
            let lines = crate::tui::present::help_lines(&s.keymap, s.readonly).len();
            let max = i64::from(crate::tui::layout::help_max_scroll(s.size, lines));
            s.help_scroll = (i64::from(s.help_scroll) + wheel).clamp(0, max) as u16;
        }
        return;
    }
    let a = areas(
        Rect::new(0, 0, s.size.0, s.size.1),
        s.show_detail,
        s.strip_lines(),
    );
    let pane = if a.table.contains(at) {
        Pane::Table
    } else if a.detail.is_some_and(|d| d.contains(at)) {
        Pane::Detail
    } else if a.activity.contains(at) {
        Pane::Activity
    } else {
        return;
    };
    s.focus = pane;
    if wheel != 0 {
        scroll(s, wheel);
        return;
    }
    if pane == Pane::Table {
        // Below the border and the header row: the rows, from the first one shown.
        let rows = usize::from(table_viewport(s.size, s.show_detail, s.strip_lines()));
        let Some(line) = m.row.checked_sub(a.table.y + 2).map(usize::from) else {
            return;
        };
        let index = offset(s.selected_row(), rows) + line;
        if line < rows && index < s.rows.len() {
            s.select_row(index);
            s.detail_scroll = 0;
        }
    }
}
