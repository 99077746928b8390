//! The cleanup pane: the engine's plan for the host — what is due, awaiting
//! confirmation, in progress or failed, the next window, and alerts.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use crate::lifecycle::cleanup::VmCleanupState;
use crate::lifecycle::ttl::format_duration;
use crate::tui::present::cleanup_state_text;
use crate::tui::state::State;

/// The pane's clock-driven text, for the redraw check.
pub fn time_text(s: &State) -> String {
    let Some(c) = &s.cleanup else {
        return String::new();
    };
    let now = s.now.timestamp();
    let mut out: String = c
        .lines
        .iter()
        .filter(|l| l.state == VmCleanupState::Waiting)
        .map(|l| format_duration(l.expires_at - now))
        .collect();
    if let Some(at) = c.next_round_at {
        out.push_str(&format_duration(at - now));
    }
    out
}

pub fn render(s: &State, f: &mut Frame, area: Rect) {
    let t = s.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border())
        .title(Span::styled(" cleanup ", t.title()));
    let Some(c) = &s.cleanup else {
        f.render_widget(
            Paragraph::new(Span::styled("planning…", t.dim())).block(block),
            area,
        );
        return;
    };
    let mut lines = Vec::new();
    let mut status = vec![Span::styled(
        if !c.window_only {
            "rounds at any hour".to_string()
        } else if c.window_opens_in_minutes == 0 {
            format!("window {} open", c.window)
        } else {
            format!(
                "window {} in {}",
                c.window,
                format_duration(i64::from(c.window_opens_in_minutes) * 60)
            )
        },
        t.dim(),
    )];
    if let Some(at) = c.next_round_at {
        let left = at - s.now.timestamp();
        if left > 0 {
            status.push(Span::styled(
                format!(" · next round in {}", format_duration(left)),
                t.dim(),
            ));
        }
    }
    if c.dry_run {
        status.push(Span::raw(" "));
        status.push(Span::styled(" DRY RUN ", t.badge()));
    }
    lines.push(Line::from(status));
    if let Some(why) = &c.held {
        lines.push(Line::from(Span::styled(
            format!("held: {why}"),
            t.expiring(),
        )));
    }
    for (at, vm, action, error) in &c.alerts {
        lines.push(Line::from(Span::styled(
            format!("ALERT {} {vm} {action}: {error}", at.format("%H:%M")),
            t.error(),
        )));
    }
    // What needs attention first, then what merely waits.
    let mut rows: Vec<_> = c
        .lines
        .iter()
        .filter(|l| l.state != VmCleanupState::Waiting)
        .collect();
    rows.extend(
        c.lines
            .iter()
            .filter(|l| l.state == VmCleanupState::Waiting),
    );
    for l in rows {
        let (text, style) = match &l.state {
            VmCleanupState::Waiting => (
                format!(
                    "expires in {}",
                    format_duration(l.expires_at - s.now.timestamp())
                ),
                t.dim(),
            ),
            // The held line already says why.
            VmCleanupState::Due { why } if c.held.as_ref() == Some(why) => {
                ("due (held)".into(), t.expiring())
            }
            VmCleanupState::Failed { .. } => (cleanup_state_text(&l.state), t.error()),
            VmCleanupState::AwaitingConfirmation | VmCleanupState::Planned => {
                (cleanup_state_text(&l.state), t.expiring())
            }
            st => (cleanup_state_text(st), t.base()),
        };
        lines.push(Line::from(vec![
            Span::raw(format!("{:<16} ", l.vm_name)),
            Span::styled(text, style),
        ]));
    }
    if c.lines.is_empty() {
        lines.push(Line::from(Span::styled("no temporary VMs", t.dim())));
    }
    f.render_widget(Paragraph::new(lines).block(block), area);
}
