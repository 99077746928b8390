//! Command-line parsing and the scriptable commands (`ls`, `show`, `set`, `plan`,
//! `cleanup`, `journal`, `limits`) and the headless engine (`daemon`).
//!
//! Every command opens one connection, does its work and reports errors as one line
//! on stderr with a non-zero exit code (1 for a failure, 2 for bad usage).

mod autostart;
mod cleanup;
mod columns;
mod daemon;
mod fleet;
mod host;
mod journal;
mod limits;
mod ls;
mod plan;
mod record;
mod recover;
mod set;
mod show;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::hypervisor::HvError;
use crate::session::{Error, Options, Plan, StateDir};

pub use autostart::AutostartArgs;
pub use cleanup::CleanupArgs;
pub use host::{HostBootArgs, HostShutdownArgs};
pub use journal::JournalArgs;
pub use limits::LimitsArgs;
pub use plan::PlanArgs;
pub use record::VmRecord;
pub use recover::RecoverArgs;
pub use set::SetArgs;

/// vmlife: a terminal dashboard and lifecycle engine for libvirt/KVM hosts.
#[derive(Debug, Parser)]
#[command(name = "vmlife", version, about, long_about = None)]
pub struct Cli {
    /// libvirt URI to connect to; repeat it for several hosts [default:
    /// $LIBVIRT_DEFAULT_URI, the config's `[[connections]]`, its connection.uri, or
    /// qemu:///system]
    #[arg(short = 'c', long = "connect", value_name = "URI", global = true)]
    pub connect: Vec<String>,

    /// A host of the config's `[[connections]]` by name; repeat it (or NAME,NAME) for
    /// several. Adds to the -c URIs.
    #[arg(
        long = "host",
        value_name = "NAME",
        global = true,
        value_delimiter = ','
    )]
    pub hosts: Vec<String>,

    /// Give up connecting when the URI has not answered within SECONDS [default: the
    /// config's connection.connect_timeout_seconds, or 15]
    #[arg(long, value_name = "SECONDS", global = true, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub connect_timeout: Option<u64>,

    /// Open a read-only connection; commands that change anything are refused.
    #[arg(long, global = true)]
    pub readonly: bool,

    /// Config file [default: $VMLIFE_CONFIG or ~/.config/vmlife/config.toml]
    #[arg(long, value_name = "PATH", env = "VMLIFE_CONFIG", global = true)]
    pub config: Option<PathBuf>,

    /// State store directory (cleanup records, recovery states, journal)
    #[arg(long, value_name = "PATH", env = "VMLIFE_STATE_DIR", global = true)]
    pub state_dir: Option<PathBuf>,

    /// Use the bundled demo VMs on libvirt's test driver (no hypervisor needed).
    #[arg(long, global = true, conflicts_with_all = ["connect", "hosts"])]
    pub demo: bool,

    /// Dashboard: leave the mouse to the terminal (so text can be selected) instead of
    /// clicking rows and panes and scrolling with the wheel.
    #[arg(long)]
    pub no_mouse: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every VM with its state, lifecycle mode, TTL and usage.
    Ls {
        /// One JSON array, an object per VM (contract field names).
        #[arg(long)]
        json: bool,
    },
    /// Show one VM's lifecycle records and live snapshot.
    Show {
        /// Domain name or UUID.
        domain: String,
        #[arg(long)]
        json: bool,
    },
    /// Change one VM's lifecycle settings (its vmlife metadata).
    Set(SetArgs),
    /// Show what a cleanup round would do now (or --at a moment); changes nothing.
    Plan(PlanArgs),
    /// Run a cleanup round now, honouring the cleanup policy; asks before destroying.
    Cleanup(CleanupArgs),
    /// Show the journal of every action vmlife took or refused.
    Journal(JournalArgs),
    /// Each running VM's limits (memory, CPU, disk), desired against actual; --apply
    /// sets the drifting ones now.
    Limits(LimitsArgs),
    /// Run the lifecycle engine headless (restart policy, cleanup rounds) until
    /// SIGTERM; one per state directory.
    Daemon,
    /// Start the VMs with autostart in dependency order, waiting for SSH where asked.
    Autostart(AutostartArgs),
    /// Apply each VM's on_host_shutdown (shutdown, save_state, destroy) in reverse start
    /// order and record what each was doing (the host's shutdown hook).
    HostShutdown(HostShutdownArgs),
    /// Apply each VM's on_host_reboot with its recovery record, then the ordered
    /// autostart; once per boot (the host's boot hook).
    HostBoot(HostBootArgs),
    /// Bring VMs back to the state recorded at host shutdown (start or re-define them).
    Recover(RecoverArgs),
}

impl Cli {
    /// The global flags as what the session opens.
    pub fn session_options(&self) -> Options {
        Options {
            connect: self.connect.clone(),
            hosts: self.hosts.clone(),
            connect_timeout: self.connect_timeout,
            readonly: self.readonly,
            config: self.config.clone(),
            state_dir: self.state_dir.clone(),
            demo: self.demo,
        }
    }
}

/// Run one command with the session `opts` describes (the global flags); output goes
/// to stdout. Without a command, `main.rs` opens the dashboard instead.
pub fn run(opts: &Options, command: &Command) -> Result<(), Error> {
    let now = chrono::Utc::now();
    // Refuse a mutating command on a read-only connection before connecting.
    if opts.readonly {
        refuse_readonly(command, "--readonly was given")?;
    }
    // Commands that need no connection, or must take the engine lock before one.
    match command {
        Command::Journal(args) => {
            let dir = StateDir::resolve(opts)?;
            let mut out = std::io::stdout().lock();
            return report(journal::run(dir.path(), now, args, &mut out));
        }
        Command::Daemon => {
            let dir = StateDir::resolve(opts)?;
            return daemon::run(opts, dir.path());
        }
        _ => {}
    }
    // The host hooks run on the host itself: not on the fleet of [[connections]].
    let plan = if matches!(
        command,
        Command::HostShutdown(_) | Command::HostBoot(_) | Command::Recover(_)
    ) {
        Plan::resolve_local(opts, now.timestamp())?
    } else {
        Plan::resolve(opts, now.timestamp())?
    };
    if plan.hosts.len() > 1 {
        return fleet::run(plan, opts, command, now);
    }
    let session = plan
        .open_all()
        .into_iter()
        .next()
        .unwrap_or_else(|| Err(Error::new("no connection to open")))?;
    if session.hv.is_readonly() && !opts.readonly {
        refuse_readonly(command, &format!("{} is read-only", session.host))?;
    }
    let mut out = std::io::stdout().lock();
    let result = match command {
        Command::Ls { json } => {
            let dir = StateDir::resolve(opts).ok();
            ls::run(
                &session,
                dir.as_ref().map(|d| d.path()),
                now,
                *json,
                &mut out,
            )
        }
        Command::Show { domain, json } => {
            let dir = StateDir::resolve(opts)?;
            show::run(&session, dir.path(), now, domain, *json, &mut out)
        }
        Command::Set(args) => {
            let dir = StateDir::resolve(opts)?;
            set::run(&session, dir.path(), now, args, &mut out)
        }
        Command::Plan(args) => {
            let dir = StateDir::resolve(opts)?;
            plan::run(&session, dir.path(), now, args, &mut out)
        }
        Command::Limits(args) => {
            let dir = StateDir::resolve(opts)?;
            limits::run(&session, dir.path(), now, args, &mut out)
        }
        Command::Cleanup(args) => {
            let dir = StateDir::resolve(opts)?;
            let stdin = std::io::stdin();
            let mut input = stdin.lock();
            cleanup::run(
                &session,
                dir.path(),
                now,
                args,
                &mut input,
                cleanup::stdin_is_terminal(),
                &mut out,
            )
        }
        Command::Autostart(args) => {
            let dir = StateDir::resolve(opts)?;
            autostart::run(&session, dir.path(), now, args, &mut out)
        }
        Command::HostShutdown(args) => {
            let dir = StateDir::resolve(opts)?;
            host::run_shutdown(&session, dir.path(), now, args, &mut out)
        }
        Command::HostBoot(args) => {
            let dir = StateDir::resolve(opts)?;
            host::run_boot(&session, dir.path(), now, args, &mut out)
        }
        Command::Recover(args) => {
            let dir = StateDir::resolve(opts)?;
            recover::run(&session, dir.path(), now, args, &mut out)
        }
        Command::Journal(_) | Command::Daemon => Ok(()),
    };
    drop(out);
    session.end();
    report(result)
}

/// A mutating command on a read-only connection (`--readonly`, or the host's
/// `readonly = true` entry) is refused, naming the way out.
pub(crate) fn refuse_readonly(command: &Command, why: &str) -> Result<(), Error> {
    match command {
        Command::Set(a) if !a.dry_run => {
            return Err(Error::new(format!(
                "set changes metadata and {why} (try --dry-run)"
            )))
        }
        Command::Limits(a) if a.apply && !a.dry_run => {
            return Err(Error::new(format!(
                "limits --apply changes VMs and {why} (try --dry-run)"
            )))
        }
        Command::Cleanup(a) if !a.dry_run => {
            return Err(Error::new(format!(
                "cleanup changes VMs and {why} (try --dry-run)"
            )))
        }
        Command::Daemon => {
            return Err(Error::new(format!(
                "the daemon acts on VMs; it cannot run read-only ({why})"
            )))
        }
        _ => {}
    }
    Ok(())
}

/// A command's result as the process reports it.
fn report(result: Result<(), RunError>) -> Result<(), Error> {
    result.map_err(|e| match e {
        // A closed pipe (`vmlife ls | head`) is not an error worth a message.
        RunError::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe => Error {
            message: String::new(),
            code: 0,
        },
        RunError::Io(io) => Error::new(format!("cannot write output: {io}")),
        RunError::Cli(c) => c,
    })
}

/// A command's error: its own, or a failed write to stdout.
#[derive(Debug)]
pub enum RunError {
    Cli(Error),
    Io(std::io::Error),
}

impl From<Error> for RunError {
    fn from(e: Error) -> Self {
        RunError::Cli(e)
    }
}

impl From<HvError> for RunError {
    fn from(e: HvError) -> Self {
        RunError::Cli(e.into())
    }
}

impl From<std::io::Error> for RunError {
    fn from(e: std::io::Error) -> Self {
        RunError::Io(e)
    }
}

impl From<serde_json::Error> for RunError {
    fn from(e: serde_json::Error) -> Self {
        RunError::Io(e.into())
    }
}
