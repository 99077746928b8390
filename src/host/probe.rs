//! The SSH readiness probe of `wait_for_ssh`: one TCP connect to the VM's SSH port.
//!
//! The address is, in order: the VM's entry in `[autostart] ssh_address_override`
//! (`HOST`, `HOST:PORT`), else the first address the hypervisor reports
//! ([`Hypervisor::addresses`]: lease, then agent, then ARP; IPv4 before IPv6, loopback
//! and link-local skipped), with `[autostart] ssh_port`. A probe succeeds when the TCP
//! handshake completes; nothing is sent.

use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use crate::hypervisor::Hypervisor;

use super::config::HostAutostartConfig;

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeResult {
    /// The port answered at `target` (`10.0.0.5:22`).
    Up { target: String },
    /// Not (yet): the address tried, if one was known, and what happened.
    NotYet { target: Option<String>, why: String },
}

/// Probes a VM's SSH port; the runner calls it from worker threads.
pub trait SshProbe: Send + Sync {
    /// One probe of the VM `uuid` named `name`.
    fn probe(&self, uuid: &str, name: &str) -> ProbeResult;

    /// How the probe finds `name`'s address, for a plan: `127.0.0.1:40022
    /// (ssh_address_override)` or `its address, port 22`.
    fn describe_target(&self, name: &str) -> String;
}

/// The real probe: a TCP connect with a timeout.
pub struct TcpProbe {
    hv: Arc<dyn Hypervisor>,
    port: u16,
    overrides: std::collections::BTreeMap<String, String>,
    timeout: Duration,
}

impl TcpProbe {
    /// A probe with the `[autostart]` settings.
    pub fn new(hv: Arc<dyn Hypervisor>, config: &HostAutostartConfig) -> TcpProbe {
        let interval = config.ssh_probe_interval_seconds;
        let timeout = if interval.is_finite() && interval > 0.0 {
            Duration::from_secs_f64(interval.min(3.0))
        } else {
            Duration::from_secs(1)
        };
        TcpProbe {
            hv,
            port: config.ssh_port,
            overrides: config.ssh_address_override.clone(),
            timeout,
        }
    }

    /// The `host:port` to probe for the VM, or why there is none yet.
    pub fn target(&self, uuid: &str, name: &str) -> Result<String, String> {
        if let Some(o) = self.overrides.get(name) {
            return Ok(with_port(o.trim(), self.port));
        }
        let addrs = self
            .hv
            .addresses(uuid)
            .map_err(|e| format!("cannot read its addresses: {e}"))?;
        pick_address(&addrs)
            .map(|ip| SocketAddr::new(ip, self.port).to_string())
            .ok_or_else(|| "no address yet".to_string())
    }
}

impl SshProbe for TcpProbe {
    fn probe(&self, uuid: &str, name: &str) -> ProbeResult {
        let target = match self.target(uuid, name) {
            Ok(t) => t,
            Err(why) => return ProbeResult::NotYet { target: None, why },
        };
        let not_yet = |why: String| ProbeResult::NotYet {
            target: Some(target.clone()),
            why,
        };
        let addr = match target.to_socket_addrs().map(|mut a| a.next()) {
            Ok(Some(a)) => a,
            Ok(None) => return not_yet("the name resolves to no address".into()),
            Err(e) => return not_yet(format!("cannot resolve: {e}")),
        };
        match TcpStream::connect_timeout(&addr, self.timeout) {
            Ok(_) => ProbeResult::Up {
                target: target.clone(),
            },
            Err(e) => not_yet(e.to_string()),
        }
    }

    fn describe_target(&self, name: &str) -> String {
        match self.overrides.get(name) {
            Some(o) => format!("{} (ssh_address_override)", with_port(o.trim(), self.port)),
            None => format!("its address, port {}", self.port),
        }
    }
}

/// A probe that answers at once without connecting: the demo (its VMs have made-up
/// addresses) and dry runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProbe;

impl SshProbe for NoProbe {
    fn probe(&self, _uuid: &str, _name: &str) -> ProbeResult {
        ProbeResult::Up {
            target: "not probed".into(),
        }
    }

    fn describe_target(&self, _name: &str) -> String {
        "not probed (demo)".into()
    }
}

/// `host` with `port` unless it already names one: `10.0.0.5` → `10.0.0.5:22`,
/// `10.0.0.5:2222` as is, `fd00::5` → `[fd00::5]:22`, `[fd00::5]:2222` as is,
/// `db.lan` → `db.lan:22`.
pub fn with_port(host: &str, port: u16) -> String {
    if host.parse::<SocketAddr>().is_ok() {
        return host.to_string();
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return SocketAddr::new(ip, port).to_string();
    }
    match host.rsplit_once(':') {
        Some((_, p)) if p.parse::<u16>().is_ok() => host.to_string(),
        _ => format!("{host}:{port}"),
    }
}

/// The address to probe among a VM's reported ones: the first usable IPv4, else the
/// first usable IPv6 (loopback, unspecified and link-local skipped: a link-local
/// address needs an interface this host may not have).
pub fn pick_address(addrs: &[String]) -> Option<IpAddr> {
    let ips: Vec<IpAddr> = addrs
        .iter()
        .filter_map(|a| a.split('/').next()?.trim().parse().ok())
        .filter(|ip: &IpAddr| !ip.is_loopback() && !ip.is_unspecified())
        .collect();
    ips.iter()
        .find(|ip| matches!(ip, IpAddr::V4(v4) if !v4.is_link_local()))
        .or_else(|| {
            ips.iter()
                .find(|ip| matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) != 0xfe80))
        })
        .copied()
}

#[cfg(test)]
#[path = "probe_tests.rs"]
mod tests;
