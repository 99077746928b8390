//! `view`: draws the [`State`] into a frame. Pure: reads the state, changes nothing.

mod cleanup;
mod detail;
mod figure;
mod header;
mod lists;
mod popup;
mod progress;
mod strip;
mod table;

use ratatui::layout::Alignment;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::layout;
use super::state::{Popup, State};

/// A bordered pane titled `title`, its border marked when `pane` has the keyboard.
fn pane_block(
    s: &State,
    pane: super::state::Pane,
    title: &str,
) -> ratatui::widgets::Block<'static> {
    let t = s.theme;
    let border = if s.focus == pane {
        t.focused_border()
    } else {
        t.border()
    };
    ratatui::widgets::Block::default()
        .borders(ratatui::widgets::Borders::ALL)
        .border_style(border)
        .title(ratatui::text::Span::styled(format!(" {title} "), t.title()))
}

/// Draw the whole screen.
pub fn view(s: &State, f: &mut Frame) {
    let area = f.area();
    if !layout::fits((area.width, area.height)) {
        let msg = format!(
            "Terminal too small: {}×{}, vmlife needs at least {}×{}.",
            area.width,
            area.height,
            layout::MIN_WIDTH,
            layout::MIN_HEIGHT
        );
        f.render_widget(
            Paragraph::new(vec![
                Line::from(msg),
                Line::from("Resize, or press q to quit."),
            ])
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let a = layout::areas(area, s.show_detail, s.strip_lines());
    header::render(s, f, a.header);
    strip::render(s, f, a.strip);
    table::render(s, f, a.table);
    if let Some(d) = a.detail {
        detail::render(s, f, d);
    }
    lists::activity(s, f, a.activity);
    match &s.progress {
        Some(p) if s.progress_shown() => progress::render(s, p, f, a.cleanup),
        _ => cleanup::render(s, f, a.cleanup),
    }
    lists::hints(s, f, a.hints);
    match &s.popup {
        Some(Popup::Help) => popup::help(s, f, area),
        Some(Popup::Confirm(c)) => popup::confirm(s, c, f, area),
        Some(Popup::Input(i)) => popup::input(s, i, f, area),
        Some(Popup::Alerts) => popup::alerts(s, f, area),
        None => {}
    }
}

/// Everything on screen that changes with the clock alone, as one string: the runtime
/// redraws on a tick only when this changed (no fixed frame timer).
pub fn clock_signature(s: &State) -> String {
    let mut sig = header::clock_text(s);
    sig.push_str(&strip::clock_text(s));
    sig.push_str(&cleanup::time_text(s));
    sig.push(if s.progress_shown() { 'P' } else { '-' });
    if let Some((text, _)) = &s.flash {
        sig.push_str(text);
    }
    let rows = layout::table_viewport(s.size, s.show_detail, s.strip_lines()) as usize;
    let start = layout::offset(s.selected_row(), rows);
    for &i in s.rows.iter().skip(start).take(rows) {
        if let Some(v) = s.vms.get(i) {
            sig.push('|');
            sig.push_str(&table::time_cells(s, v));
        }
    }
    if let Some(v) = s.selected_vm() {
        sig.push_str(&table::time_cells(s, v));
    }
    sig
}
