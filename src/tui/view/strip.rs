//! The host strip (several hosts only): a line per host with its health, round trip,
//! VM counts by state and mode, who runs its engine and its memory. Hosts with a
//! problem come first, so a strip too short for all still shows them; the last line
//! then counts the rest.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::hosts::HostPane;
use crate::tui::state::State;

/// The hosts in strip order: unhealthy first, then as given.
fn order(s: &State) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..s.hosts.len()).collect();
    idx.sort_by_key(|&i| (!s.hosts[i].unhealthy(), i));
    idx
}

/// The text of host `i`'s line that changes with the clock (ages), for the redraw check.
pub fn clock_text(s: &State) -> String {
    if !s.many_hosts() {
        return String::new();
    }
    s.hosts
        .iter()
        .filter_map(|h| h.problem(s.now))
        .collect::<Vec<_>>()
        .join("|")
}

fn engine_text<'a>(s: &'a State, i: usize, h: &'a HostPane) -> &'a str {
    let text = if i == 0 {
        s.engine.as_str()
    } else {
        h.engine.as_str()
    };
    text.strip_prefix("engine: ").unwrap_or(text)
}

/// Host `i`'s line; `narrow` (under 120 columns) leaves out the word "VMs" and the
/// counts by mode, so the engine and memory still fit at 80.
fn line(s: &State, i: usize, narrow: bool) -> Line<'static> {
    let t = s.theme;
    let h = &s.hosts[i];
    let health = h.health();
    let style = if h.unhealthy() { t.badge() } else { t.base() };
    let mut spans = vec![
        Span::styled(format!(" {:<w$} ", h.name, w = name_width(s)), t.title()),
        Span::styled(format!("{health:<5}"), style),
    ];
    match h.problem(s.now) {
        Some(p) => spans.push(Span::styled(format!(" {p}"), t.error())),
        None => {
            let rtt = h
                .rtt_ms
                .map_or_else(|| "—".to_string(), |ms| format!("{ms}ms"));
            spans.push(Span::styled(format!(" {rtt:>6}"), t.dim()));
        }
    }
    let c = h.counts();
    let n = h.vms.len();
    let total = if narrow {
        String::new()
    } else {
        format!("{n} VM{}: ", if n == 1 { "" } else { "s" })
    };
    spans.push(Span::raw(format!(
        " │ {total}{} run · {} paused · {} stopped",
        c.running, c.paused, c.stopped
    )));
    if c.error > 0 {
        spans.push(Span::styled(format!(" · {} error", c.error), t.error()));
    }
    if !narrow {
        spans.push(Span::raw(format!(
            " │ {} perm · {} temp",
            c.permanent, c.temporary
        )));
    }
    if h.readonly {
        spans.push(Span::styled(" │ read-only", t.dim()));
    }
    spans.push(Span::styled(
        format!(" │ {}", engine_text(s, i, h)),
        t.dim(),
    ));
    if let Some((mem, low)) = &h.memory {
        let style = if *low { t.error() } else { t.dim() };
        spans.push(Span::styled(format!(" │ {mem}"), style));
    }
    Line::from(spans)
}

fn name_width(s: &State) -> usize {
    s.hosts
        .iter()
        .map(|h| h.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(16)
}

pub fn render(s: &State, f: &mut Frame, area: Rect) {
    if area.height == 0 {
        return;
    }
    let order = order(s);
    let room = usize::from(area.height);
    let mut lines: Vec<Line> = Vec::new();
    let shown = if order.len() > room {
        room.saturating_sub(1)
    } else {
        room
    };
    for &i in order.iter().take(shown) {
        lines.push(line(s, i, area.width < 120));
    }
    if order.len() > shown {
        let rest = &order[shown..];
        let down = rest.iter().filter(|&&i| s.hosts[i].unhealthy()).count();
        let vms: usize = rest.iter().map(|&i| s.hosts[i].vms.len()).sum();
        let text = if down > 0 {
            format!(" … {} more hosts ({down} not live), {vms} VMs", rest.len())
        } else {
            format!(" … {} more hosts, all live, {vms} VMs", rest.len())
        };
        lines.push(Line::from(Span::styled(text, s.theme.dim())));
    }
    f.render_widget(Paragraph::new(lines), area);
}
