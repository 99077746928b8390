//! The progress pane: each VM's step of an ordered start (waiting for dependencies,
//! delay, starting, waiting for SSH n/300 s, up, failed: why, skipped: why).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use crate::lifecycle::autostart::StepState;
use crate::tui::state::{ProgressPane, State};

pub fn render(s: &State, p: &ProgressPane, f: &mut Frame, area: Rect) {
    let t = s.theme;
    let (up, failed, skipped) = p.progress.tally();
    let title = if p.finished_at.is_some() {
        format!(" autostart done: {up} up, {failed} failed, {skipped} skipped ")
    } else {
        format!(" autostart: {up}/{} up ", p.progress.steps.len())
    };
    let mut lines = Vec::new();
    if let Some(why) = &p.progress.halted {
        lines.push(Line::from(Span::styled(
            format!("halted: {why}"),
            t.error(),
        )));
    }
    for step in &p.progress.steps {
        let style = match step.state {
            StepState::Up { .. } => t.ok(),
            StepState::Failed { .. } => t.error(),
            StepState::Skipped { .. } => t.expiring(),
            _ => t.base(),
        };
        let name = if step.external {
            format!("({})", step.name)
        } else {
            step.name.clone()
        };
        lines.push(Line::from(vec![
            Span::raw(format!("{name:<16} ")),
            Span::styled(step.text.clone(), style),
        ]));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border())
        .title(Span::styled(
            title,
            if failed > 0 { t.error() } else { t.title() },
        ));
    f.render_widget(Paragraph::new(lines).block(block), area);
}
