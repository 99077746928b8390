//! `vmlife ls`: every VM in a table or as JSON.

use super::columns::write_columns;
use std::io::Write;

use chrono::{DateTime, Utc};

use super::{RunError, VmRecord};
use crate::format::{self, NONE};
use crate::poll::{Poller, PollerOptions, Vm};
use crate::session::Session;

/// Poll once and list every VM, sorted by name.
/// `dir`: the state directory whose engine records give each VM's pressure status (none
/// when it cannot be read).
pub fn run(
    s: &Session,
    dir: Option<&std::path::Path>,
    now: DateTime<Utc>,
    json: bool,
    out: &mut impl Write,
) -> Result<(), RunError> {
    let views = poll_once(s, now)?;
    // Stdout is line-buffered: unbuffered, the JSON of 1000 VMs took 70,000 writes.
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    if json {
        let pressure = dir
            .and_then(|d| crate::engine::EngineStore::new(d).load().ok())
            .map(|d| d.engine.pressure)
            .unwrap_or_default();
        // Tunables are read only for the running managed VMs the reconcile acts on.
        let limits = crate::engine::limits::reports(
            &*s.hv,
            &views,
            &s.config,
            &crate::lifecycle::limits::RefusalMemo::new(),
            &|_| std::collections::BTreeSet::new(),
        );
        let records: Vec<VmRecord> = views
            .iter()
            .zip(limits)
            .map(|(v, (_, report))| {
                VmRecord::new(v, &s.uri, &s.host, now)
                    .with_pressure(&pressure, v)
                    .with_limits(report.rows)
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &records)?;
        writeln!(out)?;
    } else {
        write_table(&views, now.timestamp(), &mut out)?;
    }
    out.flush()?;
    Ok(())
}

/// One poll of every VM, sorted by name. It asks the groups one sample can show
/// (no CPU counter: a percentage needs two samples).
pub fn poll_once(s: &Session, now: DateTime<Utc>) -> Result<Vec<Vm>, RunError> {
    let options = PollerOptions {
        groups: crate::hypervisor::StatsGroups::ONE_SAMPLE,
        ..PollerOptions::default()
    };
    let mut poller = Poller::new(s.hv.clone(), options);
    let mut views = poller.poll(now)?;
    views.sort_by(|a, b| a.snapshot.vm_name.cmp(&b.snapshot.vm_name));
    Ok(views)
}

const HEADERS: [&str; 10] = [
    "NAME", "STATE", "MODE", "TTL", "RESTARTS", "CPU", "MEM", "DISK", "IP", "UPTIME",
];

/// The table, with notes for VMs whose policy is invalid.
pub fn write_table(views: &[Vm], now: i64, out: &mut impl Write) -> std::io::Result<()> {
    let rows: Vec<[String; 10]> = views.iter().map(|v| cells(v, now)).collect();
    write_columns(out, HEADERS, &rows)?;
    write_notes(None, views, out)
}

/// The table of several hosts: a HOST column first, each host's VMs by name, hosts in
/// the order given; then the notes, each naming its host.
pub fn write_hosts_table(
    hosts: &[(&str, &[Vm])],
    now: i64,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let mut headers = ["HOST"; 11];
    headers[1..].copy_from_slice(&HEADERS);
    let rows: Vec<[String; 11]> = hosts
        .iter()
        .flat_map(|(host, views)| {
            views.iter().map(move |v| {
                let mut row: [String; 11] = Default::default();
                row[0] = format::escape(host).into_owned();
                for (cell, value) in row[1..].iter_mut().zip(cells(v, now)) {
                    *cell = value;
                }
                row
            })
        })
        .collect();
    write_columns(out, headers, &rows)?;
    for (host, views) in hosts {
        write_notes(Some(host), views, out)?;
    }
    Ok(())
}

fn cells(v: &Vm, now: i64) -> [String; 10] {
    let s = &v.snapshot;
    [
        format::escape(&s.vm_name).into_owned(),
        v.state_text(),
        format::mode(v),
        format::ttl(v.ttl(now)),
        format::restarts(v),
        format::cpu(s.cpu_usage_percent),
        format::mem_mb(s.memory_usage_mb),
        format::disk_gb(s.disk_usage_gb),
        s.ip_addresses
            .first()
            .cloned()
            .unwrap_or_else(|| NONE.into()),
        format::uptime(s.vm_state, s.uptime_seconds),
    ]
}

/// The notes under a table: invalid policies and dependency cycles (`host/vm` when a
/// host is given).
fn write_notes(host: Option<&str>, views: &[Vm], out: &mut impl Write) -> std::io::Result<()> {
    let name = |vm: &str| match host {
        Some(h) => format!("{}/{}", format::escape(h), format::escape(vm)),
        None => format::escape(vm).into_owned(),
    };
    let cycles = cycles_of(views);
    for v in views {
        if let Some(err) = v.policy_error() {
            writeln!(
                out,
                "\n{}: invalid policy, never acted on automatically: {}",
                name(&v.snapshot.vm_name),
                format::escape(&err)
            )?;
        }
        if let Some(c) = cycles.get(&v.snapshot.vm_name) {
            writeln!(
                out,
                "\n{}: in a dependency cycle ({}): held back from the ordered start",
                name(&v.snapshot.vm_name),
                format::escape(&c.join(" → "))
            )?;
        }
    }
    Ok(())
}

/// Every VM in a dependency cycle (by name), with the cycle through it.
pub fn cycles_of(views: &[Vm]) -> std::collections::BTreeMap<String, Vec<String>> {
    use crate::lifecycle::autostart::{dependency_cycles, record_deps};
    dependency_cycles(
        views
            .iter()
            .map(|v| (v.snapshot.vm_name.as_str(), record_deps(&v.meta))),
    )
}
