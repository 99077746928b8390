//! The terminal's modes, the dashboard's log, and what a panic does.
//!
//! A panic on any thread (the UI task, a tokio worker, a blocking thread) ends the whole
//! process: the hook restores the terminal first, writes color-eyre's report (with a
//! backtrace) to the dashboard's log, prints one line on stderr and exits with 101. No
//! task is left running behind a half-restored screen.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;

/// The dashboard's log, in the state dir.
pub const LOG_FILE: &str = "dashboard.log";

/// Exit code after a panic (Rust's own for a panicking main).
pub const PANIC_EXIT: i32 = 101;

/// Whether the dashboard captures the mouse (`--no-mouse` leaves it to the terminal, so
/// that text can be selected).
static MOUSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Capture the mouse from [`enter`] on (or not).
pub fn set_mouse(on: bool) {
    MOUSE.store(on, std::sync::atomic::Ordering::SeqCst);
}

/// Raw mode, the alternate screen (and mouse capture, [`set_mouse`]), and a terminal
/// drawing to stdout.
pub fn enter() -> std::io::Result<ratatui::DefaultTerminal> {
    reenter()?;
    ratatui::Terminal::new(CrosstermBackend::new(std::io::stdout()))
}

/// Raw mode and the alternate screen again (after a stop and `fg`), and the mouse.
pub fn reenter() -> std::io::Result<()> {
    enable_raw_mode()?;
    crossterm::execute!(std::io::stdout(), EnterAlternateScreen)?;
    if MOUSE.load(std::sync::atomic::Ordering::SeqCst) {
        crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture)?;
    }
    Ok(())
}

/// Back to the shell's terminal: cooked mode, the normal screen, a visible cursor.
/// Best effort: there is nothing better to do when the terminal is gone.
pub fn restore() {
    if MOUSE.load(std::sync::atomic::Ordering::SeqCst) {
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
    }
    let _ = disable_raw_mode();
    let _ = crossterm::execute!(
        std::io::stdout(),
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Log the dashboard's `tracing` lines (INFO and above: the engine it runs, its
/// actions) to `dir/dashboard.log`. The path, or `None` when the file cannot be opened
/// (a read-only state dir): then nothing is logged.
pub fn init_log(dir: &Path) -> Option<PathBuf> {
    let path = dir.join(LOG_FILE);
    let file = open_log(&path)?;
    // `RUST_LOG=debug` (a level only) for more: the debug level logs every poll.
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    let _ = tracing_subscriber::fmt()
        .with_writer(Arc::new(file))
        .with_ansi(false)
        .with_max_level(level)
        .with_target(false)
        .try_init();
    Some(path)
}

fn open_log(path: &Path) -> Option<File> {
    OpenOptions::new().create(true).append(true).open(path).ok()
}

/// Install color-eyre's hooks, wrapped: on a panic the terminal is restored before
/// anything is written, the full report goes to `log` (stderr when there is none), one
/// line to stderr, and the process exits with [`PANIC_EXIT`].
pub fn install_hooks(log: Option<PathBuf>) {
    let (panic_hook, eyre_hook) = color_eyre::config::HookBuilder::default()
        .theme(color_eyre::config::Theme::new())
        .display_env_section(false)
        .into_hooks();
    let _ = eyre_hook.install();
    std::panic::set_hook(Box::new(move |info| {
        // Hold stdout: no frame is drawn over the restored screen by another thread.
        let _out = std::io::stdout().lock();
        restore();
        let report = panic_hook.panic_report(info).to_string();
        let what = one_line(&panic_message(info));
        let written = log.as_deref().and_then(|p| {
            let mut f = open_log(p)?;
            let at = chrono::Utc::now().to_rfc3339();
            let bt = std::backtrace::Backtrace::force_capture();
            writeln!(f, "{at} PANIC: {report}\n\nstack backtrace:\n{bt}").ok()?;
            Some(p)
        });
        match written {
            Some(p) => eprintln!(
                "vmlife: internal error: {what}; the full report is in {}",
                p.display()
            ),
            None => eprintln!("vmlife: internal error: {what}\n{report}"),
        }
        std::process::exit(PANIC_EXIT);
    }));
}

/// The panic's message and where it happened.
fn panic_message(info: &std::panic::PanicHookInfo<'_>) -> String {
    let p = info.payload();
    let msg = p
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    match info.location() {
        Some(l) => format!("panic at {}:{}: {msg}", l.file(), l.line()),
        None => format!("panic: {msg}"),
    }
}

/// One line, control characters escaped.
fn one_line(s: &str) -> String {
    crate::format::escape(s).into_owned()
}

/// A debug-build-only way for the end-to-end tests to panic on a tokio worker
/// (`VMLIFE_DEBUG_PANIC=worker`) or a blocking thread (`=blocking`) a second after
/// start. Not compiled into release builds.
#[cfg(debug_assertions)]
pub fn debug_panic_trigger() {
    let delay = std::time::Duration::from_secs(1);
    match std::env::var("VMLIFE_DEBUG_PANIC").as_deref() {
        Ok("worker") => {
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                panic!("debug panic on a tokio worker (VMLIFE_DEBUG_PANIC)");
            });
        }
        Ok("blocking") => {
            tokio::task::spawn_blocking(move || {
                std::thread::sleep(delay);
                panic!("debug panic on a blocking thread (VMLIFE_DEBUG_PANIC)");
            });
        }
        _ => {}
    }
}

#[cfg(test)]
#[path = "terminal_tests.rs"]
mod tests;
