//! Overlays: help (from the keymap) and confirmations.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Padding, Paragraph, Wrap};
use ratatui::Frame;

use super::layout::centered;
use crate::tui::action::Action;
use crate::tui::state::{Confirm, Input, State};

pub fn help(s: &State, f: &mut Frame, area: Rect) {
    let t = s.theme;
    let mut lines = vec![Line::from(Span::styled(
        "Keys (configurable in [keys] of the config file)",
        t.header_row(),
    ))];
    let group = |title: &str, lines: &mut Vec<Line>, pick: &dyn Fn(Action) -> bool| {
        let actions: Vec<Action> = s.keymap.actions().filter(|a| pick(*a)).collect();
        if actions.is_empty() {
            return;
        }
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(title.to_string(), t.title())));
        for a in actions {
            let mut spans = vec![
                Span::styled(format!("  {:<14}", s.keymap.keys_text(a)), t.key()),
                Span::raw(format!("{:<14}", a.label())),
                Span::styled(a.name().to_string(), t.dim()),
            ];
            if a.is_dangerous() {
                spans.push(Span::styled("  (asks first)", t.danger()));
            }
            lines.push(Line::from(spans));
        }
    };
    group("Navigate and view", &mut lines, &|a: Action| {
        !a.is_mutating()
    });
    group("VM actions", &mut lines, &|a: Action| a.is_mutating());
    if s.readonly {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            "Read-only connection: VM actions are disabled.",
            t.badge(),
        )));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(
        "Filter: words match names, or start a state or mode. Esc clears.",
    ));
    lines.push(Line::from(Span::styled("esc / ? close", t.dim())));
    let h = lines.len() as u16 + 2;
    let r = centered(area, 72, h);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(" help ", t.title())),
        ),
        r,
    );
}

pub fn confirm(s: &State, c: &Confirm, f: &mut Frame, area: Rect) {
    let t = s.theme;
    let mut lines: Vec<Line> = vec![Line::from("")];
    lines.extend(c.lines.iter().map(|l| Line::from(l.clone())));
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        Span::styled("y", t.danger()),
        Span::raw(" yes, do it    "),
        Span::styled("n / esc", t.key()),
        Span::raw(" no"),
    ]));
    // Two spare rows: long lines wrap.
    let title = Span::styled(format!(" {} ", c.title), t.danger());
    boxed(
        f,
        area,
        84,
        lines.len() as u16 + 4,
        title,
        t.danger(),
        lines,
    );
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
    lines.push(Line::from(vec![
        Span::styled("enter", t.key()),
        Span::raw(" set    "),
        Span::styled("esc", t.key()),
        Span::raw(" cancel"),
    ]));
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
