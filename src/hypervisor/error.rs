//! The boundary's error type.

use std::fmt;

/// An error from the hypervisor, with what vmlife was doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HvError {
    pub kind: HvErrorKind,
    pub message: String,
}

/// What kind of failure, so callers can react (a missing domain is not a dead link).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HvErrorKind {
    NoDomain,
    Connection,
    ReadOnly,
    InvalidOperation,
    Other,
}

impl HvError {
    pub fn new(kind: HvErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for HvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HvError {}

/// Result of a hypervisor call.
pub type HvResult<T> = Result<T, HvError>;
