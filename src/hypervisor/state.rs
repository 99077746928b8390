//! A domain's run state and why it is in it, as plain enums.
//!
//! libvirt reports both as numbers (`virDomainState` and a per-state reason); the
//! adapter decodes them (see `libvirt::codes`) and nothing above it sees a number.

/// A domain's run state (`virDomainState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunState {
    NoState,
    Running,
    Blocked,
    Paused,
    ShuttingDown,
    Shutoff,
    Crashed,
    PmSuspended,
    /// A state number this build does not know.
    Unknown(i32),
}

impl RunState {
    /// True when the domain has a running process (its counters mean something).
    pub fn is_active(self) -> bool {
        !matches!(
            self,
            RunState::Shutoff | RunState::Crashed | RunState::NoState | RunState::Unknown(_)
        )
    }
}

/// Why a domain is in its [`RunState`] (libvirt's `state.reason`), for the states whose
/// reasons vmlife tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StateReason {
    /// Why a running domain runs.
    Running(RunningReason),
    /// Why a paused domain is paused.
    Paused(PausedReason),
    /// Why a shut-off domain stopped: what the restart policy goes by.
    Shutoff(ShutoffReason),
    /// Another state's reason (blocked, shutting down, crashed, suspended by the guest,
    /// no state), or no state at all.
    #[default]
    Other,
}

impl From<RunningReason> for StateReason {
    fn from(r: RunningReason) -> Self {
        StateReason::Running(r)
    }
}

impl From<PausedReason> for StateReason {
    fn from(r: PausedReason) -> Self {
        StateReason::Paused(r)
    }
}

impl From<ShutoffReason> for StateReason {
    fn from(r: ShutoffReason) -> Self {
        StateReason::Shutoff(r)
    }
}

/// Why a domain runs (`virDomainRunningReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunningReason {
    Unknown,
    /// A normal boot.
    Booted,
    /// Migrated in from another host.
    Migrated,
    /// Restored from a (managed) save.
    Restored,
    /// Reverted to a snapshot.
    FromSnapshot,
    /// Resumed after a pause.
    Unpaused,
    MigrationCanceled,
    SaveCanceled,
    /// Woken up from a guest suspend.
    Wakeup,
    /// Running after a crash (a crash dump was taken).
    Crashed,
    PostCopy,
    PostCopyFailed,
}

/// Why a domain is paused (`virDomainPausedReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PausedReason {
    Unknown,
    /// Paused by a person or an API call.
    User,
    Migration,
    Save,
    Dump,
    /// Paused because of a disk IO error.
    IoError,
    Watchdog,
    FromSnapshot,
    ShuttingDown,
    Snapshot,
    Crashed,
    /// Paused while the domain is being started: vmlife shows it as starting.
    StartingUp,
    PostCopy,
    PostCopyFailed,
}

/// Why a domain is shut off (`virDomainShutoffReason`): the restart policy tells these
/// apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShutoffReason {
    /// Unknown, or a reason this build does not know.
    Unknown,
    /// The guest shut down (who asked is not said).
    Shutdown,
    /// Destroyed (hard stop).
    Destroyed,
    /// The guest crashed.
    Crashed,
    /// Migrated to another host.
    Migrated,
    /// Saved (managed save or save to file).
    Saved,
    /// The hypervisor (QEMU) failed or was killed.
    Failed,
    /// Reverted to a snapshot.
    FromSnapshot,
    /// Stopped while libvirtd was not running.
    Daemon,
}
