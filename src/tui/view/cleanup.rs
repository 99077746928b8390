//! The cleanup pane: the engine's plan for the host — what is due, awaiting
//! confirmation, in progress or failed, the next window, and alerts.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use crate::lifecycle::cleanup::VmCleanupState;
use crate::lifecycle::ttl::format_duration;
use crate::tui::present::{cleanup_line_text, cleanup_state_text};
use crate::tui::state::State;

use crate::tui::wrap::wrap;

/// Alerts the pane lists (the alerts view, `A`, has them all).
const ALERTS_SHOWN: usize = 5;

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
    let width = usize::from(area.width.saturating_sub(2));
    let mut lines = Vec::new();
    // Every line wraps to the pane (a reason or an alert is never cut off).
    let push = |lines: &mut Vec<Line<'static>>, text: &str, style, indent| {
        for piece in wrap(text, width, indent) {
            lines.push(Line::from(Span::styled(piece, style)));
        }
    };
    // Alerts first: at 80×24 the pane has three lines, and an alert must not be the
    // one cut off.
    for a in c.alerts.iter().take(ALERTS_SHOWN) {
        let text = format!(
            "ALERT {} {} {}: {}",
            a.time.format("%H:%M"),
            crate::format::escape(&a.vm_name),
            a.action,
            crate::format::escape(&a.error)
        );
        push(&mut lines, &text, t.error(), 6);
    }
    if c.alerts.len() > ALERTS_SHOWN {
        let more = format!("… {} more alerts (A)", c.alerts.len() - ALERTS_SHOWN);
        push(&mut lines, &more, t.error(), 2);
    }
    if let Some(why) = &c.held {
        push(&mut lines, &format!("held: {why}"), t.expiring(), 2);
    }
    let mut status = if !c.window_only {
        "rounds at any hour".to_string()
    } else if c.window_opens_in_minutes == 0 {
        format!("window {} open", c.window)
    } else {
        format!(
            "window {} in {}",
            c.window,
            format_duration(i64::from(c.window_opens_in_minutes) * 60)
        )
    };
    if let Some(at) = c.next_round_at {
        let left = at - s.now.timestamp();
        if left > 0 {
            status.push_str(&format!(" · next round in {}", format_duration(left)));
        }
        // A round after the window closes cleans nothing up: say when the real one is.
        if let Some(runs) = c.round_runs_at.filter(|&r| c.window_only && r > at + 60) {
            status.push_str(&format!(
                " (outside the window: cleanup at {}, in {})",
                c.window_start,
                format_duration(runs - s.now.timestamp())
            ));
        }
    }
    push(&mut lines, &status, t.dim(), 2);
    let dry_run_at = lines.len();
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
            _ if l.last_failure.is_some() => (cleanup_line_text(l), t.error()),
            VmCleanupState::AwaitingConfirmation | VmCleanupState::Planned => {
                (cleanup_state_text(&l.state), t.expiring())
            }
            st => (cleanup_state_text(st), t.base()),
        };
        let name = format!("{:<16} ", l.vm_name);
        let lead = crate::tui::wrap::width(&name);
        for (i, piece) in wrap(&text, width.saturating_sub(lead).max(8), 0)
            .into_iter()
            .enumerate()
        {
            let first = if i == 0 {
                Span::raw(name.clone())
            } else {
                Span::raw(" ".repeat(lead))
            };
            lines.push(Line::from(vec![first, Span::styled(piece, style)]));
        }
    }
    if c.dry_run {
        lines.insert(dry_run_at, Line::from(Span::styled(" DRY RUN ", t.badge())));
    }
    if c.lines.is_empty() {
        lines.push(Line::from(Span::styled("no temporary VMs", t.dim())));
    }
    f.render_widget(Paragraph::new(lines).block(block), area);
}
