//! `[[connections]]`: the hosts one vmlife can show at once, and how the command line
//! picks among them (`-c URI` repeated, `--host NAME`).
//!
//! Which hosts a run uses, first rule that applies:
//! 1. every `-c URI` given, plus every `--host NAME` given (a name of `[[connections]]`);
//! 2. `LIBVIRT_DEFAULT_URI`, when set: that one host;
//! 3. every `[[connections]]` entry, when the list is not empty;
//! 4. `connection.uri`, else `qemu:///system`: one host.
//!
//! Each host has a name: its `[[connections]]` name (a `-c` URI that is listed there
//! takes that entry's name and settings), else the URI's host part (`hv2` for
//! `qemu+ssh://root@hv2/system`), else `local`; a name taken twice gets `-2`, `-3`….

use serde::{Deserialize, Serialize};

use super::{Config, DEFAULT_URI};

/// Longest host name accepted.
pub const MAX_NAME_LEN: usize = 64;

/// One `[[connections]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionEntry {
    /// The host's name in the HOST column, `--host` and the filter (`host:NAME`).
    pub name: String,
    /// Its libvirt URI (`qemu+ssh://root@hv2/system`).
    pub uri: String,
    /// Open this host read-only (every mutating action refused), whatever the flags.
    #[serde(default)]
    pub readonly: bool,
    /// Who runs this host's automatic actions. Default: the host's own daemon for a
    /// remote URI; for a local one, whoever holds the state directory's engine lock.
    #[serde(default)]
    pub engine: Option<EngineHome>,
}

/// Who runs a host's automatic actions (restart policy, cleanup rounds, pressure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineHome {
    /// vmlife's daemon on that host; a dashboard never acts on its own there.
    Daemon,
    /// The dashboard that shows it (when no daemon holds the engine lock).
    Dashboard,
}

/// One host a run talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSpec {
    pub name: String,
    pub uri: String,
    /// Read-only from its `[[connections]]` entry (`--readonly` applies to every host).
    pub readonly: bool,
    /// From its `[[connections]]` entry.
    pub engine: Option<EngineHome>,
}

impl HostSpec {
    /// True when this process may run the host's engine: a local URI (unless its entry
    /// says `daemon`), or any URI whose entry says `engine = "dashboard"`.
    pub fn engine_here(&self) -> bool {
        match self.engine {
            Some(EngineHome::Dashboard) => true,
            Some(EngineHome::Daemon) => false,
            None => is_local_uri(&self.uri),
        }
    }
}

/// True for a URI served on this machine: no host part (`qemu:///system`,
/// `test:///…`, `qemu+unix:///session?socket=…`), or `localhost`.
pub fn is_local_uri(uri: &str) -> bool {
    matches!(uri_host(uri).as_deref(), None | Some("localhost"))
}

/// The host part of a URI (`hv2` for `qemu+ssh://root@hv2:22/system`), if it has one.
pub fn uri_host(uri: &str) -> Option<String> {
    let rest = uri.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default()
    };
    (!host.is_empty()).then(|| host.to_string())
}

/// A valid host name: 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(format!("must be 1 to {MAX_NAME_LEN} characters"));
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        Some(c) => Err(format!(
            "{:?} has {c:?}: use letters, digits, '.', '_' and '-'",
            name
        )),
        None => Ok(()),
    }
}

/// The `[[connections]]` checks: names valid and unique, URIs non-empty and unique.
pub(super) fn check(entries: &[ConnectionEntry]) -> Result<(), String> {
    for (i, e) in entries.iter().enumerate() {
        let key = format!("connections[{}]", i + 1);
        check_name(&e.name).map_err(|m| format!("{key}.name {m}"))?;
        if e.uri.trim().is_empty() {
            return Err(format!("{key}.uri is empty"));
        }
        if let Some(j) = entries[..i].iter().position(|o| o.name == e.name) {
            return Err(format!(
                "{key}.name {:?} is also connections[{}].name",
                e.name,
                j + 1
            ));
        }
        if let Some(j) = entries[..i].iter().position(|o| o.uri == e.uri) {
            return Err(format!(
                "{key}.uri {:?} is also connections[{}].uri",
                e.uri,
                j + 1
            ));
        }
    }
    Ok(())
}

/// The hosts a run uses (the module's rules). `Err` names an unknown `--host`.
pub fn resolve_hosts(
    connect: &[String],
    hosts: &[String],
    env: Option<&str>,
    config: &Config,
) -> Result<Vec<HostSpec>, String> {
    let entries = &config.connections;
    let from_entry = |e: &ConnectionEntry| HostSpec {
        name: e.name.clone(),
        uri: e.uri.clone(),
        readonly: e.readonly,
        engine: e.engine,
    };
    let mut out: Vec<HostSpec> = Vec::new();
    for uri in connect {
        match entries.iter().find(|e| e.uri == *uri) {
            Some(e) => out.push(from_entry(e)),
            None => out.push(HostSpec {
                name: uri_host(uri).unwrap_or_else(|| "local".into()),
                uri: uri.clone(),
                readonly: false,
                engine: None,
            }),
        }
    }
    for name in hosts {
        match entries.iter().find(|e| e.name == *name) {
            Some(e) => out.push(from_entry(e)),
            None if entries.is_empty() => {
                return Err(format!(
                    "--host {name:?}: the config has no [[connections]] (add one, or use -c URI)"
                ))
            }
            None => {
                let known: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
                return Err(format!(
                    "--host {name:?}: no such connection in the config (known: {})",
                    known.join(", ")
                ));
            }
        }
    }
    if out.is_empty() {
        if let Some(uri) = env.filter(|e| !e.is_empty()) {
            return resolve_hosts(&[uri.to_string()], &[], None, config);
        }
        if !entries.is_empty() {
            out = entries.iter().map(from_entry).collect();
        } else {
            let uri = config.connection.uri.as_deref().unwrap_or(DEFAULT_URI);
            return resolve_hosts(&[uri.to_string()], &[], None, config);
        }
    }
    // The same URI twice is one host.
    let mut seen = std::collections::HashSet::new();
    out.retain(|h| seen.insert(h.uri.clone()));
    // The same name twice: `-2`, `-3`… (only derived names can collide).
    let mut names = std::collections::HashSet::new();
    for h in &mut out {
        let base = h.name.clone();
        let mut n = 1;
        while !names.insert(h.name.clone()) {
            n += 1;
            h.name = format!("{base}-{n}");
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "connections_tests.rs"]
mod tests;
