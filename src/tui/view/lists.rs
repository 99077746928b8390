//! The activity pane and the hints bar.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::action::HINTS;
use crate::tui::state::{ActivityStatus, Pane, State};

pub fn activity(s: &State, f: &mut Frame, area: Rect) {
    let t = s.theme;
    let block = super::pane_block(s, Pane::Activity, "activity");
    let rows = area.height.saturating_sub(2) as usize;
    let lines: Vec<Line> = if s.activity.is_empty() {
        vec![Line::from(Span::styled("no actions yet", t.dim()))]
    } else {
        s.activity
            .iter()
            .skip(s.activity_scroll)
            .take(rows)
            .map(|a| {
                let style = match a.status {
                    ActivityStatus::Failed => t.error(),
                    ActivityStatus::Refused => t.expiring(),
                    ActivityStatus::Ok => t.ok(),
                    ActivityStatus::Pending | ActivityStatus::DryRun => t.dim(),
                };
                Line::from(vec![
                    Span::styled(a.at.format("%H:%M:%S ").to_string(), t.dim()),
                    Span::styled(format!("{:<7} ", a.status.word()), style),
                    Span::raw(a.text.clone()),
                ])
            })
            .collect()
    };
    f.render_widget(Paragraph::new(lines).block(block), area);
}

/// The bottom line: the filter being typed, a flash message, or the key hints.
pub fn hints(s: &State, f: &mut Frame, area: Rect) {
    let t = s.theme;
    let line = if s.filter_editing {
        Line::from(vec![
            Span::styled(" filter: ", t.key()),
            Span::raw(format!("{}█", s.filter)),
            Span::styled(
                "   enter keep · esc clear · matches name, state or mode",
                t.dim(),
            ),
        ])
    } else if let Some((msg, _)) = &s.flash {
        Line::from(Span::styled(format!(" {msg}"), t.expiring()))
    } else {
        let mut spans = Vec::new();
        for &a in HINTS.iter().filter(|a| !s.keymap.keys(**a).is_empty()) {
            spans.push(Span::styled(format!(" {}", s.keymap.keys_text(a)), t.key()));
            spans.push(Span::raw(format!(" {} ", a.label())));
        }
        Line::from(spans)
    };
    f.render_widget(Paragraph::new(line), area);
}
