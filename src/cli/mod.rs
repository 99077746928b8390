//! Command-line parsing and the scriptable commands (`ls`, `show`, `set`).
//!
//! Every command opens one connection, does its work and reports errors as one line
//! on stderr with a non-zero exit code (1 for a failure, 2 for bad usage).

mod ls;
mod record;
mod set;
mod show;

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::config::{self, Config};
use crate::demo::DemoNode;
use crate::hypervisor::libvirt::LibvirtHypervisor;
use crate::hypervisor::{HvError, Hypervisor};

pub use record::VmRecord;
pub use set::SetArgs;

/// vmlife: a terminal dashboard and lifecycle engine for libvirt/KVM hosts.
#[derive(Debug, Parser)]
#[command(name = "vmlife", version, about, long_about = None)]
pub struct Cli {
    /// libvirt URI to connect to [default: $LIBVIRT_DEFAULT_URI, the config's
    /// connection.uri, or qemu:///system]
    #[arg(short = 'c', long = "connect", value_name = "URI", global = true)]
    pub connect: Option<String>,

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
    /// Keeps the demo's node file alive as long as the connection.
    _demo_node: Option<DemoNode>,
}

impl Session {
    /// Load the config and open the connection the flags ask for.
    pub fn open(cli: &Cli, now: i64) -> Result<Session, CliError> {
        let (config, _path) = Config::load(cli.config.as_deref())?;
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
        let hv = LibvirtHypervisor::open(&uri, cli.readonly)?;
        Ok(Session {
            hv: Arc::new(hv),
            uri,
            config,
            demo: cli.demo,
            _demo_node: demo_node,
        })
    }
}

/// Run the parsed command line; `Ok` carries what to print.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let now = chrono::Utc::now();
    let command = cli.command.as_ref();
    // Refuse a mutating command on a read-only connection before connecting.
    if cli.readonly {
        if let Some(Command::Set(_)) = command {
            return Err(CliError::new(
                "set changes metadata and --readonly was given",
            ));
        }
    }
    let session = Session::open(&cli, now.timestamp())?;
    let Some(command) = command else {
        return crate::tui::app::run(session, cli.state_dir.clone());
    };
    let mut out = std::io::stdout().lock();
    let result = match Some(command) {
        None => return Ok(()),
        Some(Command::Ls { json: false }) => ls::run(&session, now, false, &mut out),
        Some(Command::Ls { json: true }) => ls::run(&session, now, true, &mut out),
        Some(Command::Show { domain, json }) => show::run(&session, now, domain, *json, &mut out),
        Some(Command::Set(args)) => set::run(&session, now, args, &mut out),
    };
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
