//! Where each pane goes, as pure functions of the terminal size: `view` draws by them
//! and `update` pages and scrolls by them.

use ratatui::layout::{Constraint, Layout, Rect};

/// Smallest usable terminal; below it the dashboard says so instead of drawing.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;
/// Width from which the detail pane sits beside the table without asking.
pub const WIDE: u16 = 150;
/// Width of the detail pane when beside the table.
const DETAIL_WIDTH: u16 = 42;

/// The areas of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    /// The host strip (several hosts only; zero height otherwise).
    pub strip: Rect,
    pub table: Rect,
    pub detail: Option<Rect>,
    pub activity: Rect,
    /// The cleanup pane, beside the activity pane.
    pub cleanup: Rect,
    pub hints: Rect,
}

/// True when the terminal is big enough to draw.
pub fn fits(size: (u16, u16)) -> bool {
    size.0 >= MIN_WIDTH && size.1 >= MIN_HEIGHT
}

/// True when the detail pane is always shown, beside the table.
pub fn detail_beside(size: (u16, u16)) -> bool {
    size.0 >= WIDE
}

fn activity_height(h: u16) -> u16 {
    match h {
        40.. => 9,
        30.. => 7,
        _ => 5,
    }
}

/// Lines of the host strip for `hosts` hosts at this size: none for one host, else a
/// line per host up to a share of the height (the strip says how many it leaves out).
pub fn strip_height(size: (u16, u16), hosts: usize) -> u16 {
    if hosts < 2 {
        return 0;
    }
    let most = match size.1 {
        45.. => 8,
        30.. => 5,
        _ => 3,
    };
    u16::try_from(hosts).unwrap_or(u16::MAX).min(most)
}

/// Split the screen; `strip`: lines of the host strip ([`strip_height`]).
pub fn areas(area: Rect, show_detail: bool, strip: u16) -> Areas {
    let [header, strip, body, activity, hints] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(strip),
        Constraint::Min(3),
        Constraint::Length(activity_height(area.height)),
        Constraint::Length(1),
    ])
    .areas(area);
    let (table, detail) = if detail_beside((area.width, area.height)) {
        let [t, d] =
            Layout::horizontal([Constraint::Min(40), Constraint::Length(DETAIL_WIDTH)]).areas(body);
        (t, Some(d))
    } else if show_detail {
        let [t, d] =
            Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(body);
        (t, Some(d))
    } else {
        (body, None)
    };
    let [activity, cleanup] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(activity);
    Areas {
        header,
        strip,
        table,
        detail,
        activity,
        cleanup,
        hints,
    }
}

/// Rows of VMs the table shows at this size (borders and header row taken off).
pub fn table_viewport(size: (u16, u16), show_detail: bool, strip: u16) -> u16 {
    let a = areas(Rect::new(0, 0, size.0, size.1), show_detail, strip);
    a.table.height.saturating_sub(3)
}

/// The first row shown so that `selected` is visible in `rows` lines.
pub fn offset(selected: usize, rows: usize) -> usize {
    if rows == 0 {
        return selected;
    }
    (selected + 1).saturating_sub(rows)
}

/// A centred rectangle of at most `w`×`h` inside `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Widest a confirmation box gets.
pub const CONFIRM_WIDTH: u16 = 84;

/// A confirmation at this size: its box, its text wrapped to the box, and how many of
/// those lines show (a blank line above and below, the yes/no line and the borders take
/// the rest).
pub fn confirm_box(size: (u16, u16), lines: &[String]) -> (Rect, Vec<String>, u16) {
    let area = Rect::new(0, 0, size.0, size.1);
    // Borders and a column of padding each side.
    let inner = usize::from(CONFIRM_WIDTH.min(size.0).saturating_sub(4)).max(1);
    let body: Vec<String> = lines
        .iter()
        .flat_map(|l| {
            let lead = l.len() - l.trim_start().len();
            super::wrap::wrap(l, inner, lead + 2)
        })
        .collect();
    let want = u16::try_from(body.len())
        .unwrap_or(u16::MAX)
        .saturating_add(5);
    let r = centered(area, CONFIRM_WIDTH, want);
    let shown = r.height.saturating_sub(5);
    (r, body, shown)
}

/// The furthest a confirmation's text scrolls at this size.
pub fn confirm_max_scroll(size: (u16, u16), lines: &[String]) -> u16 {
    let (_, body, shown) = confirm_box(size, lines);
    u16::try_from(body.len())
        .unwrap_or(u16::MAX)
        .saturating_sub(shown)
}

/// Width of the help overlay.
pub const HELP_WIDTH: u16 = 72;

/// The help overlay's box for `lines` scrolling lines and its footer line.
pub fn help_box(area: Rect, lines: usize) -> Rect {
    let h = u16::try_from(lines).unwrap_or(u16::MAX).saturating_add(3);
    centered(area, HELP_WIDTH, h)
}

/// How many of the help's `lines` scrolling lines show at this size (borders and the
/// footer line taken off).
pub fn help_viewport(size: (u16, u16), lines: usize) -> u16 {
    let r = help_box(Rect::new(0, 0, size.0, size.1), lines);
    r.height.saturating_sub(3)
}

/// The furthest the help scrolls at this size: its last line at the bottom.
pub fn help_max_scroll(size: (u16, u16), lines: usize) -> u16 {
    let lines = u16::try_from(lines).unwrap_or(u16::MAX);
    lines.saturating_sub(help_viewport(size, lines.into()))
}
