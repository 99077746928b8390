//! The `vmlife` binary: parse the command line, open the dashboard (no subcommand) or
//! run the command, report errors as one line.

use std::process::ExitCode;

use clap::Parser;
use vmlife::session::{self, StateDir};

fn main() -> ExitCode {
    let cli = vmlife::cli::Cli::parse();
    let opts = cli.session_options();
    let result = match &cli.command {
        Some(command) => vmlife::cli::run(&opts, command),
        None => dashboard(&opts, !cli.no_mouse),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.message.is_empty() {
                // Messages quote VM names and hypervisor text: one line, no raw control
                // characters, whatever they hold.
                eprintln!("vmlife: error: {}", vmlife::format::escape(&e.message));
            }
            ExitCode::from(e.code)
        }
    }
}

/// The dashboard on the session `opts` asks for; the state dir (a demo's temp dir)
/// lives until it exits.
fn dashboard(opts: &session::Options, mouse: bool) -> Result<(), session::Error> {
    let plan = session::Plan::resolve(opts, chrono::Utc::now().timestamp())?;
    vmlife::tui::app::open(plan, StateDir::resolve(opts)?, mouse)
}
