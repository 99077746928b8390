//! What the engine needs from the config, and the cleanup window's clock.

use chrono::{DateTime, FixedOffset, Local, Offset, Timelike, Utc};

use crate::config::Config;
use crate::lifecycle::cleanup::Clock;
use crate::lifecycle::pressure::PressureSettings;
use crate::model::{PressureAction, VmCleanupPolicy};

/// What the engine needs from the config.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineSettings {
    /// `[cleanup]`.
    pub cleanup: VmCleanupPolicy,
    /// `[cleanup_actions] remove_storage`.
    pub remove_storage: bool,
    /// `[engine] restart_stable_seconds`.
    pub restart_stable_seconds: u64,
    /// `[engine] low_memory_percent`.
    pub low_memory_percent: f64,
    /// `[engine] manage_all_vms`: the restart policy reaches VMs without a vmlife element.
    pub manage_all_vms: bool,
    /// `[pressure]`.
    pub pressure: PressureSettings,
    /// `[policy] on_memory_pressure`: the host default.
    pub on_memory_pressure: PressureAction,
    /// `[policy] on_disk_full`: the host default.
    pub on_disk_full: PressureAction,
}

impl EngineSettings {
    /// The settings in `config`.
    pub fn from_config(config: &Config) -> EngineSettings {
        EngineSettings {
            cleanup: config.cleanup.clone(),
            remove_storage: config.cleanup_actions.remove_storage,
            restart_stable_seconds: config.engine.restart_stable_seconds,
            low_memory_percent: config.engine.low_memory_percent,
            manage_all_vms: config.engine.manage_all_vms,
            pressure: config.pressure.settings(),
            on_memory_pressure: config.policy.on_memory_pressure,
            on_disk_full: config.policy.on_disk_full,
        }
    }
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings::from_config(&Config::default())
    }
}

/// The time zone of the cleanup window (local time, as cron's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WindowZone {
    /// The system's local time zone.
    #[default]
    Local,
    /// A fixed offset east of UTC, in seconds (tests).
    Fixed(i32),
}

/// The planner's clock at `now`: unix seconds and minutes after local midnight.
pub fn clock_at(now: DateTime<Utc>, zone: WindowZone) -> Clock {
    let (h, m) = match zone {
        WindowZone::Local => {
            let t = now.with_timezone(&Local);
            (t.hour(), t.minute())
        }
        WindowZone::Fixed(secs) => {
            let off = FixedOffset::east_opt(secs).unwrap_or_else(|| Utc.fix());
            let t = now.with_timezone(&off);
            (t.hour(), t.minute())
        }
    };
    Clock {
        now: now.timestamp(),
        local_minute: (h * 60 + m) as u16,
    }
}
