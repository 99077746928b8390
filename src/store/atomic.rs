//! Whole-file replacement that a crash cannot tear.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// Replaces the file at `path` with `bytes` so that a kill at any moment leaves either
/// the old content or the new, never a mix or an empty file.
///
/// The bytes go to a temporary file in the same directory (a rename is atomic only
/// within one filesystem), which is fsynced, renamed over `path`, and then the directory
/// is fsynced so the rename itself survives a power cut. The new file is owner-only
/// (0600), like everything in the state store. On error the temporary file is removed
/// and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: not a file path", path.display()),
        )
    })?;
    // A dot prefix keeps the temporary out of casual `ls` and out of anything that
    // globs the store for `*.json`; the random middle part avoids two writers clashing.
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    File::open(dir)?.sync_all()
}

#[cfg(test)]
#[path = "atomic_tests.rs"]
mod tests;
