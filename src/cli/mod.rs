//! Command-line parsing and the scriptable commands (`ls`, `show`, `set`, `plan`,
//! `cleanup`, `journal`) and the headless engine (`daemon`).
//!
//! Every command opens one connection, does its work and reports errors as one line
//! on stderr with a non-zero exit code (1 for a failure, 2 for bad usage).

mod autostart;
mod cleanup;
mod daemon;
mod host;
mod journal;
mod ls;
mod plan;
mod record;
mod recover;
mod set;
mod show;

#[cfg(test)]
mod escape_tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::config::{self, Config};
use crate::demo::DemoNode;
use crate::hypervisor::libvirt::{LibvirtHypervisor, DEFAULT_CONNECT_TIMEOUT};
use crate::hypervisor::{HvError, Hypervisor};

pub use autostart::AutostartArgs;
pub use cleanup::CleanupArgs;
pub use host::context as host_context;
pub use host::{HostBootArgs, HostShutdownArgs};
pub use journal::JournalArgs;
pub use plan::PlanArgs;
pub use record::VmRecord;
pub use recover::RecoverArgs;
pub use set::SetArgs;

/// vmlife: a terminal dashboard and lifecycle engine for libvirt/KVM hosts.
#[derive(Debug, Parser)]
#[command(name = "vmlife", version, about, long_about = None)]
pub struct Cli {
    /// libvirt URI to connect to [default: $LIBVIRT_DEFAULT_URI, the config's
    /// connection.uri, or qemu:///system]
    #[arg(short = 'c', long = "connect", value_name = "URI", global = true)]
    pub connect: Option<String>,

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
    #[arg(long, global = true, conflicts_with = "connect")]
    pub demo: bool,

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

/// A command's failure: one line for stderr and an exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub message: String,
    pub code: u8,
}

impl CliError {
    /// A failure (exit code 1).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 1,
        }
    }
}

impl From<HvError> for CliError {
    fn from(e: HvError) -> Self {
        CliError::new(e.message)
    }
}

impl From<config::ConfigError> for CliError {
    fn from(e: config::ConfigError) -> Self {
        CliError::new(e.to_string())
    }
}

/// An open connection with what the commands need around it.
pub struct Session {
    pub hv: Arc<dyn Hypervisor>,
    pub uri: String,
    pub config: Config,
    pub demo: bool,
}

impl Session {
    /// Load the config and open the connection the flags ask for.
    pub fn open(cli: &Cli, now: i64) -> Result<Session, CliError> {
        let (mut config, path) = Config::load(cli.config.as_deref())?;
        if cli.demo && path.is_none() {
            crate::demo::tune_config(&mut config);
        }
        let (uri, demo_node) = if cli.demo {
            let node = DemoNode::create(now)
                .map_err(|e| CliError::new(format!("cannot write the demo node file: {e}")))?;
            (node.uri().to_string(), Some(node))
        } else {
            let env = std::env::var("LIBVIRT_DEFAULT_URI").ok();
            (
                config::resolve_uri(cli.connect.as_deref(), env.as_deref(), &config),
                None,
            )
        };
        let timeout = cli
            .connect_timeout
            .or(config.connection.connect_timeout_seconds)
            .map_or(DEFAULT_CONNECT_TIMEOUT, Duration::from_secs);
        let hv = LibvirtHypervisor::open_with_timeout(&uri, cli.readonly, timeout)?;
        // The test driver read the node file when the connection opened: remove it now,
        // so not even a killed demo leaves it behind.
        drop(demo_node);
        Ok(Session {
            hv: Arc::new(hv),
            uri,
            config,
            demo: cli.demo,
        })
    }
}

/// Run the parsed command line; `Ok` carries what to print.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let now = chrono::Utc::now();
    let command = cli.command.as_ref();
    // Refuse a mutating command on a read-only connection before connecting.
    if cli.readonly {
        match command {
            Some(Command::Set(a)) if !a.dry_run => {
                return Err(CliError::new(
                    "set changes metadata and --readonly was given (try --dry-run)",
                ))
            }
            Some(Command::Cleanup(a)) if !a.dry_run => {
                return Err(CliError::new(
                    "cleanup changes VMs and --readonly was given (try --dry-run)",
                ))
            }
            Some(Command::Daemon) => {
                return Err(CliError::new(
                    "the daemon acts on VMs; it cannot run with --readonly",
                ))
            }
            _ => {}
        }
    }
    // Commands that need no connection, or must take the engine lock before one.
    match command {
        Some(Command::Journal(args)) => {
            let dir = StateDir::resolve(&cli)?;
            let mut out = std::io::stdout().lock();
            return report(journal::run(dir.path(), now, args, &mut out));
        }
        Some(Command::Daemon) => {
            let dir = StateDir::resolve(&cli)?;
            return daemon::run(&cli, dir.path());
        }
        _ => {}
    }
    let session = Session::open(&cli, now.timestamp())?;
    let Some(command) = command else {
        return crate::tui::app::run(session, StateDir::resolve(&cli)?);
    };
    let mut out = std::io::stdout().lock();
    let result = match command {
        Command::Ls { json } => ls::run(&session, now, *json, &mut out),
        Command::Show { domain, json } => {
            let dir = StateDir::resolve(&cli)?;
            show::run(&session, dir.path(), now, domain, *json, &mut out)
        }
        Command::Set(args) => {
            let dir = StateDir::resolve(&cli)?;
            set::run(&session, dir.path(), now, args, &mut out)
        }
        Command::Plan(args) => {
            let dir = StateDir::resolve(&cli)?;
            plan::run(&session, dir.path(), now, args, &mut out)
        }
        Command::Cleanup(args) => {
            let dir = StateDir::resolve(&cli)?;
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
            let dir = StateDir::resolve(&cli)?;
            autostart::run(&session, dir.path(), now, args, &mut out)
        }
        Command::HostShutdown(args) => {
            let dir = StateDir::resolve(&cli)?;
            host::run_shutdown(&session, dir.path(), now, args, &mut out)
        }
        Command::HostBoot(args) => {
            let dir = StateDir::resolve(&cli)?;
            host::run_boot(&session, dir.path(), now, args, &mut out)
        }
        Command::Recover(args) => {
            let dir = StateDir::resolve(&cli)?;
            recover::run(&session, dir.path(), now, args, &mut out)
        }
        Command::Journal(_) | Command::Daemon => Ok(()),
    };
    report(result)
}

/// A command's result as the process reports it.
fn report(result: Result<(), RunError>) -> Result<(), CliError> {
    result.map_err(|e| match e {
        // A closed pipe (`vmlife ls | head`) is not an error worth a message.
        RunError::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe => CliError {
            message: String::new(),
            code: 0,
        },
        RunError::Io(io) => CliError::new(format!("cannot write output: {io}")),
        RunError::Cli(c) => c,
    })
}

/// The state directory a command uses: `--state-dir`, else the default one; the demo
/// (without `--state-dir`) gets a temporary one, as its VMs are not the host's.
pub enum StateDir {
    /// A directory on disk.
    Path(std::path::PathBuf),
    /// A temporary directory, removed when this is dropped.
    Temp(tempfile::TempDir),
}

impl StateDir {
    /// The directory `cli` asks for.
    pub fn resolve(cli: &Cli) -> Result<StateDir, CliError> {
        match (&cli.state_dir, cli.demo) {
            (Some(d), _) => Ok(StateDir::Path(d.clone())),
            (None, true) => tempfile::Builder::new()
                .prefix("vmlife-demo-state-")
                .tempdir()
                .map(StateDir::Temp)
                .map_err(|e| CliError::new(format!("cannot create the demo state dir: {e}"))),
            (None, false) => config::default_state_dir()
                .map(StateDir::Path)
                .ok_or_else(|| {
                    CliError::new("no home directory for the state store; pass --state-dir")
                }),
        }
    }

    /// Its path.
    pub fn path(&self) -> &std::path::Path {
        match self {
            StateDir::Path(p) => p,
            StateDir::Temp(t) => t.path(),
        }
    }
}

/// A command's error: its own, or a failed write to stdout.
#[derive(Debug)]
pub enum RunError {
    Cli(CliError),
    Io(std::io::Error),
}

impl From<CliError> for RunError {
    fn from(e: CliError) -> Self {
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
