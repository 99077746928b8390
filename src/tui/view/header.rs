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

/// An error without the URI the header already shows (`cannot connect to URI: why` →
/// `cannot connect: why`), so the reason is what fits.
pub fn without_uri(text: &str, uri: &str) -> String {
    if uri.is_empty() {
        return text.to_string();
    }
    let mut out = text.to_string();
    for joint in [" to ", " on ", " of ", " at ", " "] {
        out = out.replace(&format!("{joint}{uri}"), "");
    }
    out = out.replace(uri, "").replace(" ()", "");
    out.trim_start_matches([':', ' ']).to_string()
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
            let err = without_uri(err, &s.uri);
            // Narrow: the badge says the poll failed; the reason is what must fit.
            let what = if area.width < 120 {
                ""
            } else {
                "last poll failed: "
            };
            first.push(Span::styled(format!(" {what}{err}"), t.error()));
        }
        ConnState::Disconnected(why) => {
            first.push(Span::raw(" "));
            first.push(Span::styled(" DISCONNECTED ", t.badge()));
            let why = without_uri(why, &s.uri);
            first.push(Span::styled(format!(" {why} — reconnecting"), t.error()));
        }
        ConnState::Down(why) => {
            first.push(Span::raw(" "));
            first.push(Span::styled(" DOWN ", t.badge()));
            let why = without_uri(why, &s.uri);
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
    // Under 100 columns the separators lose their spaces, so the age still fits.
    let dot = if area.width < 100 { "·" } else { " · " };
    let mut second = vec![Span::raw(format!(
        " {} VMs: {} {run}{dot}{} paused{dot}{} stopped",
        s.vms.len(),
        c.running,
        c.paused,
        c.stopped
    ))];
    if c.error > 0 {
        second.push(Span::styled(format!("{dot}{} error", c.error), t.error()));
    }
    second.push(Span::raw(format!(
        " │ {} {perm}{dot}{} {temp}",
        c.permanent, c.temporary
    )));
    if c.invalid > 0 {
        second.push(Span::styled(format!("{dot}{} {inv}", c.invalid), t.error()));
    }
    let clock = clock_text(s);
    let clock = if narrow {
        clock
            .replace("snapshot ", "")
            .replace(" UTC", "")
            .replace(" hosts live", " live")
    } else {
        clock
    };
    second.push(Span::styled(format!(" │ {clock}"), t.dim()));
    f.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]),
        area,
    );
}
