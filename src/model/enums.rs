//! The contract's enums. Each has the contract's spelling (`as_str`, serde, `FromStr`),
//! the list of all its values (`ALL`, for help texts and the contract test), and a
//! `FromStr` whose error names the accepted values.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A value that is not one of an enum's contract values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEnumValue {
    pub value: String,
    pub expected: &'static [&'static str],
}

impl fmt::Display for BadEnumValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not one of {}",
            self.value,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for BadEnumValue {}

macro_rules! contract_enum {
    ($(#[$meta:meta])* $name:ident default $default:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in the contract's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every value's contract spelling, in the contract's order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The contract spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl Default for $name {
            fn default() -> Self { $name::$default }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = BadEnumValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(BadEnumValue { value: s.to_string(), expected: Self::NAMES }),
                }
            }
        }
    };
}

contract_enum! {
    /// Whether vmlife may ever remove the VM on its own.
    PersistenceMode default Permanent { Permanent => "permanent", Temporary => "temporary" }
}

contract_enum! {
    /// When the engine restarts a VM that stopped.
    RestartPolicy default Always { No => "no", Always => "always", OnFailure => "on_failure" }
}

contract_enum! {
    /// What host boot does with a VM.
    HostRebootAction default Start { Start => "start", KeepStopped => "keep_stopped", Destroy => "destroy" }
}

contract_enum! {
    /// What host shutdown does with a VM.
    HostShutdownAction default Shutdown { Shutdown => "shutdown", SaveState => "save_state", Destroy => "destroy" }
}

contract_enum! {
    /// Reaction to memory pressure or a full disk.
    PressureAction default None { Suspend => "suspend", Kill => "kill", None => "none" }
}

contract_enum! {
    /// The only mode a cleanup schedule has.
    CleanupMode default Temporary { Temporary => "temporary" }
}

contract_enum! {
    /// Where one VM's cleanup stands.
    CleanupStatus default Pending { Pending => "pending", InProgress => "in_progress", Completed => "completed", Failed => "failed" }
}

contract_enum! {
    /// A VM's state recorded before host shutdown.
    RecoveryVmState default Running { Running => "running", Stopped => "stopped", Paused => "paused" }
}

contract_enum! {
    /// What ordered autostart does when a VM fails to start.
    StartFailureAction default Retry { Stop => "stop", Retry => "retry", Ignore => "ignore" }
}

contract_enum! {
    /// A VM's state in a snapshot: libvirt's states mapped onto the contract's six.
    VmState default Stopped {
        Stopped => "stopped", Starting => "starting", Running => "running",
        Stopping => "stopping", Paused => "paused", Error => "error"
    }
}

#[cfg(test)]
#[path = "enums_tests.rs"]
mod tests;
