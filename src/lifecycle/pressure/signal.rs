//! The host's memory signals from the kernel's text, and a reading judged against the
//! thresholds. Pure: the caller reads the files (or asks `virNodeGetMemoryStats`).
//!
//! Garbage in gives `None` (or [`Signal::Unknown`]), never a panic and never a made-up
//! figure.

use serde::Serialize;

use super::PressureSettings;

/// Host memory, KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MemInfo {
    pub total_kib: u64,
    pub available_kib: u64,
}

impl MemInfo {
    /// Available memory as a share of the total, percent (at most 100).
    pub fn available_percent(&self) -> f64 {
        if self.total_kib == 0 {
            return 0.0;
        }
        let avail = self.available_kib.min(self.total_kib);
        (avail as f64 * 100.0 / self.total_kib as f64).min(100.0)
    }
}

/// One line of a PSI file: the share of time some (or all) tasks stalled, percent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PsiLine {
    pub avg10: f64,
    pub avg60: f64,
}

/// `/proc/pressure/memory`: `some` always, `full` on kernels that report it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Psi {
    pub some: PsiLine,
    pub full: Option<PsiLine>,
}

/// `/proc/meminfo` text → total and available memory. `None` when `MemTotal` or
/// `MemAvailable` is missing or unreadable, or the total is 0.
pub fn parse_meminfo(text: &str) -> Option<MemInfo> {
    let field = |name: &str| {
        text.lines().find_map(|l| {
            let rest = l.strip_prefix(name)?.strip_prefix(':')?;
            let mut words = rest.split_whitespace();
            let n = words.next()?.parse::<u64>().ok()?;
            match words.next() {
                None | Some("kB") => Some(n),
                Some(_) => None,
            }
        })
    };
    let total_kib = field("MemTotal")?;
    let available_kib = field("MemAvailable")?;
    (total_kib > 0).then_some(MemInfo {
        total_kib,
        available_kib: available_kib.min(total_kib),
    })
}

/// `/proc/pressure/memory` text → its `some` and `full` averages. `None` without a
/// readable `some` line; a garbled `full` line is left out.
pub fn parse_psi(text: &str) -> Option<Psi> {
    let line = |kind: &str| {
        text.lines().find_map(|l| {
            let rest = l.trim().strip_prefix(kind)?.strip_prefix(' ')?;
            psi_line(rest)
        })
    };
    Some(Psi {
        some: line("some")?,
        full: line("full"),
    })
}

/// `avg10=0.00 avg60=0.00 avg300=0.00 total=0` → avg10 and avg60 (each 0 to 100).
fn psi_line(rest: &str) -> Option<PsiLine> {
    let value = |key: &str| {
        rest.split_whitespace().find_map(|w| {
            let v = w
                .strip_prefix(key)?
                .strip_prefix('=')?
                .parse::<f64>()
                .ok()?;
            (0.0..=100.0).contains(&v).then_some(v)
        })
    };
    Some(PsiLine {
        avg10: value("avg10")?,
        avg60: value("avg60")?,
    })
}

/// A reading judged against the thresholds; the text names the figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "signal", content = "figures", rename_all = "snake_case")]
pub enum Signal {
    /// At least one threshold is crossed: `available 3.1 % < 5 %`.
    Over(String),
    /// Every known figure is within its threshold: `available 40.2 % ≥ 5 %`.
    Clear(String),
    /// Nothing could be measured; why.
    Unknown(String),
}

impl Signal {
    /// The figures (or why there are none).
    pub fn text(&self) -> &str {
        match self {
            Signal::Over(s) | Signal::Clear(s) | Signal::Unknown(s) => s,
        }
    }
}

/// Judge a reading. Over when any threshold is crossed (available memory below its
/// share, a PSI average above its limit); Clear when every figure that is known and
/// checked is within; Unknown when no checked figure is known.
pub fn evaluate(mem: Option<&MemInfo>, psi: Option<&Psi>, s: &PressureSettings) -> Signal {
    let mut over = Vec::new();
    let mut clear = Vec::new();
    if let Some(m) = mem {
        let pct = m.available_percent();
        let limit = s.memory_available_percent;
        if pct < limit {
            over.push(format!("available {pct:.1} % < {limit} %"));
        } else {
            clear.push(format!("available {pct:.1} % ≥ {limit} %"));
        }
    }
    let psi_checks = [
        ("some", s.psi_some_avg10_percent, psi.map(|p| p.some)),
        ("full", s.psi_full_avg10_percent, psi.and_then(|p| p.full)),
    ];
    for (kind, limit, line) in psi_checks {
        let (Some(limit), Some(line)) = (limit, line) else {
            continue;
        };
        let v = line.avg10;
        if v > limit {
            over.push(format!("memory PSI {kind} avg10 {v:.1} % > {limit} %"));
        } else {
            clear.push(format!("memory PSI {kind} avg10 {v:.1} % ≤ {limit} %"));
        }
    }
    if !over.is_empty() {
        Signal::Over(over.join(", "))
    } else if !clear.is_empty() {
        Signal::Clear(clear.join(", "))
    } else {
        Signal::Unknown("available memory not known".into())
    }
}

/// True when a file system (or pool) with `free` of `total` bytes has room again: at
/// least `disk_resume_free_percent` of it and `disk_resume_free_mib` MiB free.
pub fn has_room(free_bytes: u64, total_bytes: u64, s: &PressureSettings) -> bool {
    if total_bytes == 0 {
        return false;
    }
    let free = free_bytes.min(total_bytes);
    let pct = free as f64 * 100.0 / total_bytes as f64;
    let mib = free / (1024 * 1024);
    pct >= s.disk_resume_free_percent && mib >= s.disk_resume_free_mib
}

#[cfg(test)]
#[path = "signal_tests.rs"]
mod tests;
