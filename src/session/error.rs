//! The one error both front ends report: a line for stderr and an exit code.

use crate::config::ConfigError;
use crate::hypervisor::HvError;

/// A failure to open or run: one line for stderr and an exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub message: String,
    pub code: u8,
}

impl Error {
    /// A failure (exit code 1).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 1,
        }
    }
}

impl From<HvError> for Error {
    fn from(e: HvError) -> Self {
        Error::new(e.message)
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::new(e.to_string())
    }
}

impl Error {
    /// Bad usage (exit code 2): a flag or a name that cannot be taken.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 2,
        }
    }
}
