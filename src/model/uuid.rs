//! [`Uuid`]: a VM's UUID, cheap to clone; [`VmRef`]: a VM named by UUID and name.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A domain's UUID in its canonical text form (lower-case, with dashes), as libvirt
/// gives it. Every action names a VM by it.
///
/// Shared text: a clone copies a pointer, not the 36 bytes. It reads as a `&str`
/// (`Deref`, `Borrow<str>`, so a `HashMap<Uuid, _>` is looked up with a `&str`),
/// compares with strings, and is a plain string in JSON and in `Debug`/`Display`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uuid(Arc<str>);

impl Uuid {
    /// The UUID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Uuid {
    /// The empty UUID (a domain whose UUID could not be read).
    fn default() -> Self {
        Uuid(Arc::from(""))
    }
}

impl Deref for Uuid {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Uuid {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Uuid {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl From<&str> for Uuid {
    fn from(s: &str) -> Self {
        Uuid(Arc::from(s))
    }
}

impl From<String> for Uuid {
    fn from(s: String) -> Self {
        Uuid(Arc::from(s))
    }
}

impl From<&String> for Uuid {
    fn from(s: &String) -> Self {
        Uuid(Arc::from(s.as_str()))
    }
}

impl From<&Uuid> for Uuid {
    fn from(u: &Uuid) -> Self {
        u.clone()
    }
}

impl From<Uuid> for String {
    fn from(u: Uuid) -> Self {
        u.0.to_string()
    }
}

impl PartialEq<str> for Uuid {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Uuid {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Uuid {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Uuid> for str {
    fn eq(&self, other: &Uuid) -> bool {
        self == &*other.0
    }
}

impl PartialEq<Uuid> for &str {
    fn eq(&self, other: &Uuid) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<Uuid> for String {
    fn eq(&self, other: &Uuid) -> bool {
        **self == *other.0
    }
}

impl Serialize for Uuid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Uuid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Through `String`: any string form the format has (escaped or borrowed).
        String::deserialize(d).map(Uuid::from)
    }
}

/// A VM as a person or a plan names it: the UUID vmlife acts on, and the name it had
/// when it was looked at (for messages, and to check before a destructive action that
/// the UUID still carries it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct VmRef {
    pub uuid: Uuid,
    pub name: String,
}

impl VmRef {
    pub fn new(uuid: impl Into<Uuid>, name: impl Into<String>) -> Self {
        VmRef {
            uuid: uuid.into(),
            name: name.into(),
        }
    }
}

#[cfg(test)]
#[path = "uuid_tests.rs"]
mod tests;
