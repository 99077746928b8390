//! The dashboard's actions: the spec table lives in [`crate::keys::spec`] (below the
//! config, which checks `[keys]` against it); the dashboard uses it from here.

pub use crate::keys::spec::*;
