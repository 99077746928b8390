//! Overlays: help (from the keymap), confirmations and the TTL prompt.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Padding, Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::action::{Action, Mode};
use crate::tui::layout::{centered, help_box, help_max_scroll, help_viewport};
use crate::tui::present::{footer, help_footer, help_lines, HelpLine};
use crate::tui::state::{Confirm, Input, State};

/// The help overlay: every bound key from the spec table, scrolled by
/// `help_scroll`, with a fixed footer that says how to close and scroll it.
pub fn help(s: &State, f: &mut Frame, area: Rect) {
    let t = s.theme;
    let rows = help_lines(&s.keymap, s.readonly);
    let lines: Vec<Line> = rows.iter().map(|r| help_line(s, r)).collect();
    let r = help_box(area, lines.len());
    let shown = help_viewport((area.width, area.height), lines.len());
    let scroll = s
        .help_scroll
        .min(help_max_scroll((area.width, area.height), lines.len()));
    let mut foot = help_footer(&s.keymap);
    if usize::from(shown) < lines.len() {
        let last = (usize::from(scroll) + usize::from(shown)).min(lines.len());
        foot.push_str(&format!(" · {}–{last}/{}", scroll + 1, lines.len()));
    }
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(" help ", t.title()));
    let inner = block.inner(r);
    f.render_widget(block, r);
    let [body, footer] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
    f.render_widget(Paragraph::new(lines).scroll((scroll, 0)), body);
    f.render_widget(Paragraph::new(Span::styled(foot, t.dim())), footer);
}

fn help_line(s: &State, row: &HelpLine) -> Line<'static> {
    let t = s.theme;
    match row {
        HelpLine::Title(text) => Line::from(Span::styled(*text, t.header_row())),
        HelpLine::Blank => Line::from(""),
        HelpLine::Heading(text) => Line::from(Span::styled(*text, t.title())),
        HelpLine::Entry {
            keys,
            label,
            name,
            note,
        } => {
            let mut spans = vec![
                Span::styled(format!("  {keys:<14}"), t.key()),
                Span::raw(format!("{label:<14}")),
                Span::styled(*name, t.dim()),
            ];
            if let Some(note) = note {
                spans.push(Span::styled(format!("  {note}"), t.danger()));
            }
            Line::from(spans)
        }
        HelpLine::Badge(text) => Line::from(Span::styled(*text, t.badge())),
        HelpLine::Text(text) => Line::from(*text),
    }
}

/// A popup's footer line from the spec table: `y yes, do it    n / esc / q no`.
fn footer_line(s: &State, mode: Mode) -> Line<'static> {
    let t = s.theme;
    let mut spans = Vec::new();
    for (i, (a, keys, label)) in footer(&s.keymap, mode).into_iter().enumerate() {
        let style = if a == Action::Yes {
            t.danger()
        } else {
            t.key()
        };
        if i > 0 {
            spans.push(Span::raw("    "));
        }
        spans.push(Span::styled(keys, style));
        spans.push(Span::raw(format!(" {label}")));
    }
    Line::from(spans)
}

/// A confirmation: its text (scrolled by `confirm_scroll` when it is longer than the
/// screen) and, always on screen, the yes/no line with the lines shown.
pub fn confirm(s: &State, c: &Confirm, f: &mut Frame, area: Rect) {
    let t = s.theme;
    let size = (area.width, area.height);
    let (r, body, shown) = crate::tui::layout::confirm_box(size, &c.lines);
    let r = Rect::new(r.x + area.x, r.y + area.y, r.width, r.height);
    let scroll = s
        .confirm_scroll
        .min(crate::tui::layout::confirm_max_scroll(size, &c.lines));
    let mut foot = footer_line(s, Mode::Confirm);
    if usize::from(shown) < body.len() {
        let last = (usize::from(scroll) + usize::from(shown)).min(body.len());
        foot.spans.push(Span::styled(
            format!(
                "    {}–{last}/{} {} scroll",
                scroll + 1,
                body.len(),
                s.keymap.keys_text(Action::Down)
            ),
            t.dim(),
        ));
    }
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .padding(Padding::horizontal(1))
        .border_style(t.danger())
        .title(Span::styled(format!(" {} ", c.title), t.danger()));
    let inner = block.inner(r);
    f.render_widget(block, r);
    let [_, text, _, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(shown),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let lines: Vec<Line> = body
        .into_iter()
        .skip(usize::from(scroll))
        .take(usize::from(shown))
        .map(Line::from)
        .collect();
    f.render_widget(Paragraph::new(lines), text);
    f.render_widget(Paragraph::new(foot), footer);
}

/// A centred box of at most `width`×`height`: cleared, bordered, padded, text wrapped.
fn boxed(
    f: &mut Frame,
    area: Rect,
    width: u16,
    height: u16,
    title: Span,
    border: Style,
    lines: Vec<Line>,
) {
    let r = centered(area, width, height);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .padding(Padding::horizontal(1))
                .border_style(border)
                .title(title),
        ),
        r,
    );
}

pub fn input(s: &State, i: &Input, f: &mut Frame, area: Rect) {
    let t = s.theme;
    let mut lines = vec![
        Line::from(""),
        Line::from(i.prompt.clone()),
        Line::from(vec![
            Span::styled("> ", t.key()),
            Span::raw(format!("{}█", i.text)),
        ]),
    ];
    if let Some(e) = &i.error {
        lines.push(Line::from(Span::styled(e.clone(), t.error())));
    }
    lines.push(Line::from(""));
    lines.push(footer_line(s, Mode::Input));
    let title = Span::styled(format!(" {} ", i.title), t.title());
    boxed(
        f,
        area,
        70,
        lines.len() as u16 + 2,
        title,
        t.border(),
        lines,
    );
}

/// The alerts view: every alert the engine keeps (or the selected VM's), newest first,
/// each wrapped whole, the one under the cursor marked; the footer says the keys.
pub fn alerts(s: &State, f: &mut Frame, area: Rect) {
    let t = s.theme;
    let shown = s.alerts_shown();
    let r = centered(area, 120, area.height.saturating_sub(2));
    let title = match &s.alerts_of_vm {
        Some(_) => {
            let name = shown
                .first()
                .map(|a| crate::format::escape(&a.vm_name).into_owned())
                .unwrap_or_default();
            format!(" alerts of {name} ({}) ", shown.len())
        }
        None => format!(" alerts ({}) ", shown.len()),
    };
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .padding(Padding::horizontal(1))
        .border_style(t.danger())
        .title(Span::styled(title, t.danger()));
    let inner = block.inner(r);
    f.render_widget(block, r);
    let [body, footer] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
    let width = usize::from(body.width).saturating_sub(2).max(8);
    // Each alert's lines, and where the cursor's start.
    let mut lines: Vec<Line> = Vec::new();
    let mut cursor_at = (0, 0);
    for (i, a) in shown.iter().enumerate() {
        let text = format!(
            "{} {} {}: {}",
            a.time.format("%Y-%m-%d %H:%M"),
            crate::format::escape(&a.vm_name),
            a.action,
            crate::format::escape(&a.error)
        );
        let here = i == s.alerts_cursor;
        let start = lines.len();
        for (j, piece) in crate::tui::wrap::wrap(&text, width, 2)
            .into_iter()
            .enumerate()
        {
            let mark = if here && j == 0 { "▶ " } else { "  " };
            let style = if here { t.selected() } else { t.error() };
            lines.push(Line::from(vec![
                Span::raw(mark),
                Span::styled(piece, style),
            ]));
        }
        if here {
            cursor_at = (start, lines.len());
        }
    }
    if lines.is_empty() {
        let none = if s.alerts_of_vm.is_some() {
            "no alerts for this VM"
        } else {
            "no alerts: nothing failed that needs a person"
        };
        lines.push(Line::from(Span::styled(none, t.dim())));
    }
    // Scrolled so the cursor's alert is whole on screen.
    let rows = usize::from(body.height);
    let skip = cursor_at.1.saturating_sub(rows).min(cursor_at.0);
    let visible: Vec<Line> = lines.into_iter().skip(skip).take(rows).collect();
    f.render_widget(Paragraph::new(visible), body);
    f.render_widget(Paragraph::new(footer_line(s, Mode::Alerts)), footer);
}
