//! The VM table.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table, TableState};
use ratatui::Frame;

use crate::format as fmt;
use crate::lifecycle::status::cleanup_label;
use crate::lifecycle::TtlStatus;
use crate::poll::Vm;
use crate::tui::state::{ActivityStatus, Pane, State, EXPIRING_SOON};

use super::figure;

/// A column: header, width, and its rank when the table is too narrow for all
/// (lower ranks stay longest).
struct Column {
    title: &'static str,
    width: u16,
    rank: u8,
}

const COLUMNS: [Column; 12] = [
    Column {
        title: "NAME",
        width: 14,
        rank: 0,
    },
    // Only with several hosts (its width is the longest host name's).
    Column {
        title: "HOST",
        width: 4,
        rank: 1,
    },
    Column {
        title: "STATE",
        width: 9,
        rank: 1,
    },
    Column {
        title: "MODE",
        width: 9,
        rank: 2,
    },
    Column {
        title: "TTL",
        width: 17,
        rank: 3,
    },
    Column {
        title: "RESTART",
        width: 7,
        rank: 4,
    },
    Column {
        title: "CPU",
        width: 5,
        rank: 5,
    },
    Column {
        title: "MEM",
        width: 6,
        rank: 6,
    },
    Column {
        title: "CLEANUP",
        width: 9,
        rank: 7,
    },
    Column {
        title: "DISK",
        width: 6,
        rank: 10,
    },
    Column {
        title: "IP",
        width: 15,
        rank: 9,
    },
    Column {
        title: "UPTIME",
        width: 7,
        rank: 8,
    },
];

/// The widest STATE cell: `suspended: memory pressure`.
const STATE_MAX: u16 = 26;

/// The columns that fit in `width` (borders and the selection mark taken off), by rank,
/// in display order, with their widths; STATE is `state_width` wide, HOST `host_width`
/// (0: one host, no HOST column).
fn fitting(width: u16, state_width: u16, host_width: u16) -> Vec<(&'static Column, u16)> {
    let width_of = |c: &Column| match c.title {
        "STATE" => state_width.max(c.width),
        "HOST" => host_width.max(c.width),
        _ => c.width,
    };
    let mut budget = width.saturating_sub(4);
    let mut by_rank: Vec<&Column> = COLUMNS
        .iter()
        .filter(|c| c.title != "HOST" || host_width > 0)
        .collect();
    by_rank.sort_by_key(|c| c.rank);
    let mut keep = Vec::new();
    for c in by_rank {
        let need = width_of(c) + 1;
        if need <= budget || c.rank == 0 {
            budget = budget.saturating_sub(need);
            keep.push(c.title);
        }
    }
    COLUMNS
        .iter()
        .filter(|c| keep.contains(&c.title))
        .map(|c| (c, width_of(c)))
        .collect()
}

/// STATE's width: wide enough for the longest pressure status of any VM (so the row
/// says `suspended: memory pressure` or `paused: disk full (vda)` whole, and the columns
/// do not move while scrolling); the lower-ranked columns make room. 9 otherwise (the
/// longest state or stop reason: `destroyed`, `shut down`).
fn state_width(s: &State) -> u16 {
    s.cleanup.as_ref().map_or(0, |c| {
        c.pressure
            .values()
            .map(|p| u16::try_from(p.chars().count()).unwrap_or(STATE_MAX))
            .max()
            .unwrap_or(0)
            .min(STATE_MAX)
    })
}

/// HOST's width: the longest host name (at most 16), 0 with one host.
fn host_width(s: &State) -> u16 {
    if !s.many_hosts() {
        return 0;
    }
    s.hosts
        .iter()
        .map(|h| u16::try_from(h.name.chars().count()).unwrap_or(16))
        .max()
        .unwrap_or(0)
        .min(16)
}

/// The cells of a row that change with the clock (TTL, uptime, figures going stale),
/// for the redraw check.
pub fn time_cells(s: &State, v: &Vm) -> String {
    format!(
        "{}{}{}",
        ttl_cell(s, v).0,
        fmt::uptime(v.snapshot.vm_state, v.snapshot.uptime_seconds),
        if v.freshness.any_stale(s.now) {
            "~"
        } else {
            ""
        }
    )
}

/// A figure's cell: `…` while awaited, `~value` dimmed when older than its cadence.
fn figure_cell(s: &State, text: String, age: crate::poll::Age) -> Cell<'static> {
    let (text, stale) = figure::text(text, age, s.now);
    if stale {
        Cell::from(Span::styled(text, s.theme.dim()))
    } else {
        Cell::from(text)
    }
}

/// The TTL text and its style; `!` marks one expiring within the hour (not colour alone).
fn ttl_cell(s: &State, v: &Vm) -> (String, Style) {
    let t = s.theme;
    match s.ttl(v) {
        None => ("?".into(), t.error()),
        Some(st @ TtlStatus::Expired { .. }) => (st.countdown(), t.expired()),
        Some(st) if st.expires_within(EXPIRING_SOON) => {
            (format!("!{}", st.countdown()), t.expiring())
        }
        Some(st) => (st.countdown(), t.base()),
    }
}

fn cells(s: &State, v: &Vm, shown: &[(&'static Column, u16)]) -> Vec<Cell<'static>> {
    let t = s.theme;
    let snap = &v.snapshot;
    let (ttl, ttl_style) = ttl_cell(s, v);
    let fresh = v.freshness;
    // The policy columns of a VM whose metadata is not read yet.
    let policy = |cell: Cell<'static>| {
        if v.pending {
            Cell::from(figure::PENDING)
        } else {
            cell
        }
    };
    shown
        .iter()
        .map(|(c, _)| match c.title {
            "NAME" => {
                // A marked VM (`Space`, `*`): `●` before its name, colour or not.
                let mut name = if s.marks.contains(&v.key) {
                    format!("● {}", snap.vm_name)
                } else {
                    snap.vm_name.clone()
                };
                if s.busy.contains(&v.key) {
                    name.push_str(" …");
                }
                Cell::from(name)
            }
            "STATE" => {
                let failed = matches!(v.stop_reason(), Some("crashed" | "failed"));
                let style = if snap.vm_state == crate::model::VmState::Error || failed {
                    t.error()
                } else {
                    t.base()
                };
                // A stopped VM says why (`saved`, `destroyed`, `shut down`, `crashed`);
                // the detail pane and --json have both.
                let word = v
                    .stop_reason()
                    .map_or_else(|| snap.vm_state.to_string(), str::to_string);
                match s.pressure_of(v) {
                    // STATE is widened for it (`state_width`).
                    Some(p) => Cell::from(Span::styled(p.to_string(), t.error())),
                    None => Cell::from(Span::styled(word, style)),
                }
            }
            "MODE" => {
                let m = fmt::mode(v);
                let style = if v.meta.is_err() { t.error() } else { t.base() };
                policy(Cell::from(Span::styled(m, style)))
            }
            "TTL" => policy(Cell::from(Span::styled(ttl.clone(), ttl_style))),
            "RESTART" => policy(Cell::from(fmt::restarts(v))),
            "CPU" => figure_cell(s, fmt::cpu(snap.cpu_usage_percent), fresh.cpu),
            "MEM" => figure_cell(s, fmt::mem_mb(snap.memory_usage_mb), fresh.memory),
            "CLEANUP" => {
                let (word, failed) = cleanup_cell(s, v);
                let style = if failed { t.error() } else { t.base() };
                policy(Cell::from(Span::styled(word, style)))
            }
            "DISK" => figure_cell(s, fmt::disk_gb(snap.disk_usage_gb), fresh.disk),
            "IP" => figure_cell(
                s,
                snap.ip_addresses
                    .first()
                    .cloned()
                    .unwrap_or_else(|| fmt::NONE.into()),
                fresh.addresses,
            ),
            "UPTIME" => Cell::from(fmt::uptime(snap.vm_state, snap.uptime_seconds)),
            "HOST" => {
                let host = &s.hosts[usize::from(v.host).min(s.hosts.len() - 1)];
                if host.unhealthy() {
                    Cell::from(Span::styled(host.name.clone(), t.error()))
                } else {
                    Cell::from(host.name.clone())
                }
            }
            _ => Cell::from(""),
        })
        .collect()
}

pub fn render(s: &State, f: &mut Frame, area: Rect) {
    let t = s.theme;
    let shown = fitting(area.width, state_width(s), host_width(s));
    let viewport = area.height.saturating_sub(3) as usize;
    let start = crate::tui::layout::offset(s.selected_row(), viewport);
    // Build only the rows on screen: a 10,000-VM host costs the same to draw as a small one.
    let rows: Vec<Row> = s
        .rows
        .iter()
        .skip(start)
        .take(viewport)
        .filter_map(|&i| s.vms.get(i))
        .map(|v| {
            let expired = matches!(s.ttl(v), Some(TtlStatus::Expired { .. }));
            let style = if expired { t.expired() } else { t.base() };
            Row::new(cells(s, v, &shown)).style(style)
        })
        .collect();
    let sort_mark = if s.sort_reverse { "↑" } else { "↓" };
    let header = Row::new(shown.iter().map(|(c, _)| {
        if c.title.eq_ignore_ascii_case(s.sort.label())
            || (c.title == "RESTART" && s.sort.label() == "restarts")
        {
            Cell::from(format!("{}{sort_mark}", c.title))
        } else {
            Cell::from(c.title)
        }
    }))
    .style(t.header_row());
    let mut title = vec![Span::styled(
        format!(" VMs {}/{} ", s.rows.len(), s.vms.len()),
        t.title(),
    )];
    if !s.filter.is_empty() || s.filter_editing {
        title.push(Span::raw(format!("filter: {} ", s.filter)));
    }
    let marked = s.marked().len();
    if marked > 0 {
        title.push(Span::styled(
            format!("{marked} marked (esc clears) "),
            t.badge(),
        ));
    }
    title.push(Span::styled(
        format!("sort: {}{sort_mark} ", s.sort.label()),
        t.dim(),
    ));
    let border = if s.focus == Pane::Table {
        t.focused_border()
    } else {
        t.border()
    };
    let widths: Vec<Constraint> = shown
        .iter()
        .enumerate()
        .map(|(i, (_, w))| {
            if i == 0 {
                Constraint::Min(*w)
            } else {
                Constraint::Length(*w)
            }
        })
        .collect();
    let table = Table::new(rows, widths)
        .header(header)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(border)
                .title(Line::from(title)),
        )
        .row_highlight_style(t.selected())
        .highlight_symbol("▶ ");
    let mut state = TableState::default();
    if !s.rows.is_empty() {
        state = state.with_selected(Some(s.selected_row() - start));
    }
    f.render_stateful_widget(table, area, &mut state);
    if s.rows.is_empty() {
        let msg = if s.vms.is_empty() {
            if s.many_hosts() {
                "no VMs on these hosts"
            } else {
                "no VMs on this connection"
            }
        } else {
            "no VM matches the filter"
        };
        let inner = Rect::new(area.x + 2, area.y + 2, area.width.saturating_sub(4), 1);
        if area.height > 3 {
            f.render_widget(Span::styled(msg, t.dim()), inner);
        }
    }
}

/// The CLEANUP cell: what the engine's plan says of the VM when it says more than its
/// TTL (`running` while a cleanup runs, `FAILED` after a failed one, `confirm?` while
/// it waits for a person), else the TTL's word. Whether it shows a failure.
fn cleanup_cell(s: &State, v: &Vm) -> (&'static str, bool) {
    use crate::lifecycle::cleanup::VmCleanupState as C;
    let running = s.busy.contains(&v.key)
        && s.activity.iter().any(|a| {
            a.vm_id == v.key && a.action == "cleanup" && a.status == ActivityStatus::Pending
        });
    if running {
        return ("running", false);
    }
    let line = s
        .cleanup
        .iter()
        .flat_map(|c| c.lines.iter())
        .filter(|_| v.host == 0)
        .find(|l| l.vm_id == v.uuid);
    match line {
        Some(l) if l.state == C::InProgress => ("running", false),
        Some(l) if matches!(l.state, C::Failed { .. }) || l.last_failure.is_some() => {
            ("FAILED", true)
        }
        Some(l) if l.state == C::AwaitingConfirmation => ("confirm?", false),
        _ => (cleanup_label(v.persistence(), s.ttl(v)), false),
    }
}
