//! The detail pane: every lifecycle record of the selected VM, its addresses, a CPU
//! sparkline and its policy error.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline, Wrap};
use ratatui::Frame;

use crate::format as fmt;

use super::figure;
use crate::lifecycle::status::cleanup_label;
use crate::poll::Vm;
use crate::tui::state::{Pane, State};

fn unix(at: Option<i64>) -> String {
    at.and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map_or_else(
            || fmt::NONE.into(),
            |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
        )
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        fmt::NONE.into()
    } else {
        items.join(", ")
    }
}

/// A dependency cycle through `v` (it is held back from the ordered start) and its
/// questionable settings, with their styles.
fn flags(s: &State, v: &Vm) -> Vec<(String, ratatui::style::Style)> {
    use crate::lifecycle::autostart::{dependency_cycles, record_deps};
    let mut out = Vec::new();
    if !record_deps(&v.meta).is_empty() {
        let graph = s
            .vms
            .iter()
            .filter(|x| x.host == v.host)
            .map(|x| (x.snapshot.vm_name.as_str(), record_deps(&x.meta)));
        if let Some(c) = dependency_cycles(graph).remove(&v.snapshot.vm_name) {
            out.push((
                format!(
                    "IN A DEPENDENCY CYCLE (held back from autostart): {}",
                    c.join(" → ")
                ),
                s.theme.error(),
            ));
        }
    }
    if let Ok(m) = &v.meta {
        out.extend(
            m.warnings()
                .into_iter()
                .map(|w| (format!("warning: {w}"), s.theme.expiring())),
        );
    }
    out
}

/// The pane's text lines for `v`.
pub fn lines(s: &State, v: &Vm) -> Vec<Line<'static>> {
    let t = s.theme;
    let snap = &v.snapshot;
    let kv = |k: &str, val: String| {
        Line::from(vec![
            Span::styled(format!("{k:<18} "), t.dim()),
            Span::raw(val),
        ])
    };
    let section = |title: &str| Line::from(Span::styled(title.to_string(), t.header_row()));
    let mut out = vec![
        Line::from(vec![
            Span::styled(snap.vm_name.clone(), t.title()),
            Span::raw(format!(
                "  {}  {}",
                v.state_text(),
                if v.pending {
                    figure::PENDING.to_string()
                } else {
                    fmt::mode(v)
                }
            )),
        ]),
        Line::from(Span::styled(v.uuid.to_string(), t.dim())),
    ];
    if v.pending {
        // Nothing below about its policy would be true yet.
        out.push(Line::from(Span::styled(
            "reading its domain XML and metadata…",
            t.dim(),
        )));
        return out;
    }
    if let Some(p) = s.pressure_of(v) {
        out.push(Line::from(Span::styled(
            format!("pressure: {p}"),
            t.error(),
        )));
    }
    if !crate::engine::vm_is_managed(v, s.manage_all_vms) {
        out.push(Line::from(Span::styled(
            "not managed by vmlife: observed only (no vmlife element)",
            t.dim(),
        )));
    }
    if let Err(e) = &v.meta {
        out.push(Line::from(Span::styled(
            "INVALID POLICY — never acted on automatically:",
            t.error(),
        )));
        out.push(Line::from(Span::styled(e.to_string(), t.error())));
        out.push(Line::from(format!(
            "repair: vmlife set {} --reset ...",
            snap.vm_name
        )));
    }
    out.extend(
        flags(s, v)
            .into_iter()
            .map(|(text, style)| Line::from(Span::styled(text, style))),
    );
    let (now, fresh) = (s.now, v.freshness);
    let ips = figure::text(list(&snap.ip_addresses), fresh.addresses, now).0;
    out.push(kv("ip addresses", ips));
    out.push(kv("mac addresses", list(&snap.mac_addresses)));
    let cpu = figure::text(fmt::cpu(snap.cpu_usage_percent), fresh.cpu, now).0;
    let mem = figure::text(fmt::mem_mb(snap.memory_usage_mb), fresh.memory, now).0;
    let disk = figure::text(fmt::disk_gb(snap.disk_usage_gb), fresh.disk, now).0;
    out.push(kv("cpu · mem · disk", format!("{cpu} · {mem} · {disk}")));
    out.push(kv(
        "uptime",
        fmt::uptime(snap.vm_state, snap.uptime_seconds),
    ));
    out.push(kv(
        "libvirt",
        format!(
            "{}{}",
            if v.persistent {
                "persistent"
            } else {
                "transient"
            },
            if v.libvirt_autostart {
                ", libvirt autostart ON"
            } else {
                ""
            }
        ),
    ));
    if let Some(l) = crate::tui::limits::text(s, &v.uuid).filter(|_| v.host == 0) {
        out.push(kv("limits", l));
    }
    if let Ok(m) = &v.meta {
        let p = &m.persistence;
        out.push(section("persistence"));
        out.push(kv(
            "mode · ttl",
            format!("{} · {} ({}h)", p.mode, fmt::ttl(s.ttl(v)), p.ttl_hours),
        ));
        out.push(kv("expires", unix(s.ttl(v).and_then(|t| t.expires_at()))));
        out.push(kv(
            "restart",
            format!("{} · {}", p.restart_policy, fmt::restarts(v)),
        ));
        out.push(kv(
            "cleanup",
            format!(
                "{} · auto {} · force {} · grace {}s",
                cleanup_label(Some(p), s.ttl(v)),
                p.auto_cleanup,
                p.force_cleanup,
                p.cleanup_grace_period
            ),
        ));
        out.push(kv("created", unix(p.created_at_unix)));
        out.push(kv("scheduled_cleanup", unix(p.scheduled_cleanup)));
        out.push(kv("last_state_change", unix(p.last_state_change)));
        out.push(kv("auto_start", p.auto_start.to_string()));

        let eff = m.policy.apply(&s.host_policy);
        let o = &m.policy;
        let mark = |set: bool| if set { "*" } else { "" };
        out.push(section("policy (* = set on this VM)"));
        out.push(kv(
            "reboot / shutdown",
            format!(
                "{}{} / {}{}",
                eff.on_host_reboot,
                mark(o.on_host_reboot.is_some()),
                eff.on_host_shutdown,
                mark(o.on_host_shutdown.is_some())
            ),
        ));
        out.push(kv(
            "mem / disk full",
            format!(
                "{}{} / {}{}",
                eff.on_memory_pressure,
                mark(o.on_memory_pressure.is_some()),
                eff.on_disk_full,
                mark(o.on_disk_full.is_some())
            ),
        ));
        out.push(kv(
            "enforce mem/cpu/disk",
            format!(
                "{} / {} / {}",
                eff.enforce_memory_limit, eff.enforce_cpu_limit, eff.enforce_disk_limit
            ),
        ));

        out.push(section("autostart"));
        match &m.autostart {
            Some(a) => {
                out.push(kv(
                    "order",
                    format!(
                        "{} · {} · delay {}s",
                        if a.enabled { "enabled" } else { "disabled" },
                        a.start_order,
                        a.start_delay_seconds
                    ),
                ));
                out.push(kv(
                    "ssh wait",
                    if a.wait_for_ssh {
                        format!("up to {}s", a.ssh_timeout_seconds)
                    } else {
                        "no".into()
                    },
                ));
                out.push(kv(
                    "on failure",
                    format!("{} (max {})", a.on_start_failure, a.max_start_retries),
                ));
                out.push(kv("depends on", dependency_chain(s, v.host, &snap.vm_name)));
            }
            None => out.push(Line::from(Span::styled("not configured", t.dim()))),
        }
    }
    out.push(section("cleanup schedule"));
    match s
        .cleanup
        .iter()
        .flat_map(|c| c.lines.iter())
        .filter(|_| v.host == 0)
        .find(|l| l.vm_id == v.uuid)
    {
        Some(l) => out.push(kv("status", crate::tui::present::cleanup_line_text(l))),
        None => {
            let why = match v.persistence() {
                None => "invalid policy: never cleaned up automatically",
                Some(p) if p.mode == crate::model::PersistenceMode::Permanent => {
                    "permanent: never cleaned up"
                }
                Some(_) => "not planned yet",
            };
            out.push(Line::from(Span::styled(why, t.dim())))
        }
    }
    out.push(section("recovery (host shutdown)"));
    match s.recovery.get(&v.uuid).filter(|_| v.host == 0) {
        Some(lines) => out.extend(lines.iter().map(|l| Line::from(l.clone()))),
        None => out.push(Line::from(Span::styled("no record", t.dim()))),
    }
    out
}

/// `app-1 ← db-1`: the VM's dependencies, transitively, as the autostart order needs them.
/// (Dependencies are by name within the VM's own host.)
fn dependency_chain(s: &State, host: u16, name: &str) -> String {
    let mut chain = Vec::new();
    let mut current = name.to_string();
    let mut seen = vec![current.clone()];
    loop {
        let deps = s
            .vms
            .iter()
            .find(|v| v.host == host && v.snapshot.vm_name == current)
            .and_then(|v| v.meta.as_ref().ok())
            .and_then(|m| m.autostart.as_ref())
            .map(|a| a.depends_on.clone())
            .unwrap_or_default();
        if deps.is_empty() {
            break;
        }
        chain.push(deps.join(", "));
        // Follow the first dependency for the chain; the rest are listed at their level.
        let next = deps[0].clone();
        if seen.contains(&next) {
            chain.push("(cycle!)".into());
            break;
        }
        seen.push(next.clone());
        current = next;
    }
    if chain.is_empty() {
        fmt::NONE.into()
    } else {
        chain.join(" ← ")
    }
}

pub fn render(s: &State, f: &mut Frame, area: Rect) {
    let t = s.theme;
    let block = super::pane_block(s, Pane::Detail, "detail");
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(v) = s.selected_vm() else {
        f.render_widget(
            Paragraph::new(Span::styled("no VM selected", t.dim())),
            inner,
        );
        return;
    };
    let [text_area, spark_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(3)]).areas(inner);
    f.render_widget(
        Paragraph::new(lines(s, v))
            .wrap(Wrap { trim: false })
            .scroll((s.detail_scroll, 0)),
        text_area,
    );
    let history: Vec<u64> = s
        .cpu_history
        .get(&v.key)
        .map(|h| h.iter().copied().collect())
        .unwrap_or_default();
    let title = match history.last() {
        Some(last) => {
            let n = history.len();
            format!("cpu {last}% · {n} sample{}", if n == 1 { "" } else { "s" })
        }
        None => "cpu: no samples yet".into(),
    };
    f.render_widget(
        Sparkline::default()
            .block(
                Block::default()
                    .borders(Borders::TOP)
                    .title(Span::styled(title, t.dim())),
            )
            .data(&history)
            .max(100)
            .style(t.ok()),
        spark_area,
    );
}

#[cfg(test)]
#[path = "detail_tests.rs"]
mod tests;
