//! The `vmlife` binary: parse the command line, run it, report errors as one line.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = vmlife::cli::Cli::parse();
    match vmlife::cli::run(cli) {
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
