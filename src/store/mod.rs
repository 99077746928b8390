//! The state store: a directory of vmlife's own records (docs/ARCHITECTURE.md).
//!
//! It holds cleanup records, recovery states and the [`Journal`] of every action. Its
//! location comes from [`crate::config::default_state_dir`] unless `--state-dir` says
//! otherwise. The rule for everything in it: a kill at any moment leaves readable state.
//! Whole files are replaced with [`write_atomic`]; the journal is only ever appended.

mod atomic;
mod journal;
mod rotate;

pub use atomic::write_atomic;
pub use journal::{Journal, JournalEntry, JournalRead, JournalTail, JOURNAL_FILE};
pub use rotate::{prune as prune_journal, DEFAULT_MAX_BYTES as JOURNAL_MAX_BYTES};

use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

/// Permissions of a state directory vmlife creates: the journal names every VM and
/// who acted on it, which is nobody else's business on a shared host.
const DIR_MODE: u32 = 0o700;

/// Creates `dir` (and missing parents) as owner-only if it does not exist yet.
///
/// An existing directory keeps its permissions: the sysadmin may have chosen them.
pub fn ensure_dir(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
}
