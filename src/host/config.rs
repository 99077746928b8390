//! What the host hooks and the ordered start read from the config. The `[host]` and
//! `[autostart]` sections themselves are parsed and checked in [`crate::config`].

use crate::config::Config;
pub use crate::config::{AfterTimeout, HostAutostartConfig, HostConfig};
use crate::model::VmLifecyclePolicy;

/// Everything the host hooks and the ordered start read from the config.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HostSettings {
    /// `[host]`.
    pub host: HostConfig,
    /// `[autostart]`.
    pub autostart: HostAutostartConfig,
    /// `[policy]`: host defaults of `on_host_shutdown` / `on_host_reboot`.
    pub policy: VmLifecyclePolicy,
}

impl HostSettings {
    /// The settings of a loaded config.
    pub fn from_config(c: &Config) -> HostSettings {
        HostSettings {
            host: c.host.clone(),
            autostart: c.autostart.clone(),
            policy: c.policy.clone(),
        }
    }
}
