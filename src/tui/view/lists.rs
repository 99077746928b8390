//! The activity pane and the hints bar.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::action::{hints as hint_order, Mode};
use crate::tui::plan::applies;
use crate::tui::present::footer;
use crate::tui::state::{ActivityStatus, Pane, State};

use crate::tui::wrap::activity_pieces;

/// The activity pane: newest first, each entry's text wrapped under its time and status
/// (a failure's reason is never cut off), scrolled by lines.
pub fn activity(s: &State, f: &mut Frame, area: Rect) {
    let t = s.theme;
    let block = super::pane_block(s, Pane::Activity, "activity");
    let rows = area.height.saturating_sub(2) as usize;
    let width = usize::from(area.width.saturating_sub(2));
    let lines: Vec<Line> = if s.activity.is_empty() {
        vec![Line::from(Span::styled("no actions yet", t.dim()))]
    } else {
        let mut lines = Vec::new();
        for a in &s.activity {
            if lines.len() >= s.activity_scroll + rows {
                break;
            }
            let style = match a.status {
                ActivityStatus::Failed => t.error(),
                ActivityStatus::Refused => t.expiring(),
                ActivityStatus::Ok => t.ok(),
                ActivityStatus::Pending | ActivityStatus::DryRun => t.dim(),
            };
            for (i, piece) in activity_pieces(&a.text, width).into_iter().enumerate() {
                let mut spans = Vec::new();
                if i == 0 {
                    spans.push(Span::styled(a.at.format("%H:%M:%S ").to_string(), t.dim()));
                    spans.push(Span::styled(format!("{:<7} ", a.status.word()), style));
                }
                spans.push(Span::raw(piece));
                lines.push(Line::from(spans));
            }
        }
        lines
            .into_iter()
            .skip(s.activity_scroll)
            .take(rows)
            .collect()
    };
    f.render_widget(Paragraph::new(lines).block(block), area);
}

/// The bottom line: the filter being typed, a flash message, or the key hints of what
/// applies now (no "start" on a running VM).
pub fn hints(s: &State, f: &mut Frame, area: Rect) {
    let t = s.theme;
    let line = if let Some(c) = &s.command {
        // The command line: what is typed, then why Enter did not run it or the
        // completions, else its keys.
        let after = match &c.note {
            Some(n) => Span::styled(format!("   {n}"), t.expiring()),
            None => {
                let keys: String = footer(&s.keymap, Mode::Command)
                    .iter()
                    .map(|(_, keys, label)| format!("{keys} {label} · "))
                    .collect();
                Span::styled(
                    format!("   {keys}start NAME, extend NAME 4h, host NAME, sort ttl"),
                    t.dim(),
                )
            }
        };
        Line::from(vec![
            Span::styled(" :", t.key()),
            Span::raw(format!("{}█", crate::format::escape(&c.text))),
            after,
        ])
    } else if s.filter_editing {
        let keys: String = footer(&s.keymap, Mode::Filter)
            .iter()
            .map(|(_, keys, label)| format!("{keys} {label} · "))
            .collect();
        Line::from(vec![
            Span::styled(" filter: ", t.key()),
            Span::raw(format!("{}█", s.filter)),
            Span::styled(format!("   {keys}matches name, state or mode"), t.dim()),
        ])
    } else if let Some((msg, _)) = &s.flash {
        Line::from(Span::styled(format!(" {msg}"), t.expiring()))
    } else {
        let mut spans = Vec::new();
        let shown = hint_order(Mode::Main)
            .into_iter()
            .filter(|a| !s.keymap.keys(*a).is_empty() && applies(s, *a));
        for a in shown {
            spans.push(Span::styled(format!(" {}", s.keymap.keys_text(a)), t.key()));
            spans.push(Span::raw(format!(" {} ", a.label())));
        }
        Line::from(spans)
    };
    f.render_widget(Paragraph::new(line), area);
}
