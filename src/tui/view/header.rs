//! The header: connection, badges, engine, counts, snapshot age, host time.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::lifecycle::ttl::format_duration;
use crate::tui::state::{ConnState, State};

/// Snapshot age and host time: the header's clock-driven part. Coarse on purpose (a
/// fresh snapshot reads "live", the clock shows minutes) so an idle dashboard redraws
/// rarely.
pub fn clock_text(s: &State) -> String {
    if s.many_hosts() {
        let live = s.hosts.iter().filter(|h| h.health() == "live").count();
        return format!(
            "{live}/{} hosts live · {} UTC",
            s.hosts.len(),
            s.now.format("%H:%M")
        );
    }
    let age = match (s.conn(), s.hosts[0].snapshot_at) {
        (ConnState::Connecting, _) | (_, None) => "connecting…".to_string(),
        (ConnState::Live, Some(at)) if (s.now - at).num_seconds() < 10 => "live".to_string(),
        (_, Some(at)) => format!(
            "snapshot {} old",
            format_duration((s.now - at).num_seconds())
        ),
    };
    format!("{age} · {} UTC", s.now.format("%H:%M"))
}

pub fn render(s: &State, f: &mut Frame, area: Rect) {
    let t = s.theme;
    let mut first = vec![Span::styled(" vmlife ", t.title())];
    if s.many_hosts() {
        first.push(Span::raw(format!("{} hosts", s.hosts.len())));
        for h in s.hosts.iter().filter(|h| h.unhealthy()) {
            first.push(Span::raw(" "));
            first.push(Span::styled(
                format!(" {} {} ", h.health(), h.name),
                t.badge(),
            ));
        }
    } else {
        first.push(Span::raw(s.uri.clone()));
    }
    if s.readonly {
        first.push(Span::raw(" "));
        first.push(Span::styled(" READ-ONLY ", t.badge()));
    }
    if s.demo {
        first.push(Span::raw(" "));
        first.push(Span::styled(" DEMO ", t.badge()));
    }
    match s.conn() {
        _ if s.many_hosts() => {}
        ConnState::Stale(err) => {
            first.push(Span::raw(" "));
            first.push(Span::styled(" STALE ", t.badge()));
            first.push(Span::styled(format!(" last poll failed: {err}"), t.error()));
        }
        ConnState::Disconnected(why) => {
            first.push(Span::raw(" "));
            first.push(Span::styled(" DISCONNECTED ", t.badge()));
            first.push(Span::styled(format!(" {why} — reconnecting"), t.error()));
        }
        ConnState::Down(why) => {
            first.push(Span::raw(" "));
            first.push(Span::styled(" DOWN ", t.badge()));
            first.push(Span::styled(format!(" {why}"), t.error()));
        }
        ConnState::Connecting => first.push(Span::styled(" connecting…", t.dim())),
        ConnState::Live => {}
    }
    if let Some(badge) = s.cleanup.as_ref().and_then(|c| c.pressure_badge.as_ref()) {
        first.push(Span::raw(" "));
        first.push(Span::styled(format!(" {badge} "), t.badge()));
    }
    if s.many_hosts() {
        first.push(Span::styled(
            format!("  {}: {}", s.hosts[0].name, s.engine),
            t.dim(),
        ));
    } else {
        first.push(Span::styled(format!("  {}", s.engine), t.dim()));
    }

    let c = s.counts();
    // Narrow terminals get the short words, so the clock still fits on the line.
    let narrow = area.width < 120;
    let (run, perm, temp, inv) = if narrow {
        ("run", "perm", "temp", "invalid")
    } else {
        ("running", "permanent", "temporary", "invalid policy")
    };
    let mut second = vec![Span::raw(format!(
        " {} VMs: {} {run} · {} paused · {} stopped",
        s.vms.len(),
        c.running,
        c.paused,
        c.stopped
    ))];
    if c.error > 0 {
        second.push(Span::styled(format!(" · {} error", c.error), t.error()));
    }
    second.push(Span::raw(format!(
        " │ {} {perm} · {} {temp}",
        c.permanent, c.temporary
    )));
    if c.invalid > 0 {
        second.push(Span::styled(format!(" · {} {inv}", c.invalid), t.error()));
    }
    second.push(Span::styled(format!(" │ {}", clock_text(s)), t.dim()));
    f.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]),
        area,
    );
}
