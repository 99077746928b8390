//! Why a metadata element was rejected, worded for the sysadmin who has to fix it.
//!
//! The message becomes the VM's "invalid policy" reason in the dashboard and the CLI, so
//! it is one line, names the place (`persistence/@ttl_hours`), quotes the value and says
//! what was expected.

use super::NAMESPACE;
use std::fmt;

/// Longest value quoted in a message, in characters; the full value stays in
/// [`MetaError::value`]. Keeps a pasted blob from swamping a one-line reason.
const SHOWN_VALUE_CHARS: usize = 60;

/// A metadata element that vmlife cannot use, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaError {
    /// The element's path below the root, by local name (`persistence`,
    /// `autostart/depends_on`); `lifecycle` for the root itself; `None` when the XML
    /// does not parse at all.
    pub element: Option<String>,
    /// The attribute's name, when the problem is an attribute. A namespaced attribute
    /// is written `{uri}name`.
    pub attribute: Option<String>,
    /// The offending value as written (attribute value or text), when there is one.
    pub value: Option<String>,
    /// What is wrong.
    pub kind: MetaErrorKind,
}

/// The kinds of [`MetaError`]; each `Display`s as documented on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaErrorKind {
    /// `malformed XML: <parser message>`.
    MalformedXml(String),
    /// `root element is <element>, expected lifecycle in namespace urn:vmlife:lifecycle:1`.
    WrongRoot,
    /// `<element>: not in namespace urn:vmlife:lifecycle:1` (also: no namespace).
    WrongNamespace,
    /// `unknown element <element>`.
    UnknownElement,
    /// `duplicate element <element>`.
    DuplicateElement,
    /// `<element>: unexpected text "<value>"`.
    UnexpectedText,
    /// `unknown attribute <element>/@<attribute>`.
    UnknownAttribute,
    /// `<element>/@<attribute>: "<value>" is not true or false`.
    NotABool,
    /// `<element>/@<attribute>: "<value>" is not an integer`.
    NotAnInteger,
    /// `<element>/@<attribute>: "<value>" is out of range <min> to <max>`.
    OutOfRange {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: u64,
    },
    /// `<element>/@<attribute>: "<value>" is out of range <text>` (a range that two
    /// integers cannot state, like `more than 0 to 8760`).
    OutOfRangeText(&'static str),
    /// `<element>/@<attribute>: "<value>" is not a number`.
    NotANumber,
    /// `<element>/@<attribute>: "<value>" is not a finite number`.
    NotFinite,
    /// `<element>/@<attribute>: "<value>" is negative`.
    Negative,
    /// `<element>/@<attribute>: "<value>" is not one of <a>, <b>, <c>`.
    NotOneOf(&'static [&'static str]),
    /// `<element>: empty VM name`.
    EmptyName,
}

impl MetaError {
    /// An error about a whole element (no attribute, no value).
    pub(super) fn at(element: impl Into<String>, kind: MetaErrorKind) -> Self {
        MetaError {
            element: Some(element.into()),
            attribute: None,
            value: None,
            kind,
        }
    }

    /// The document is not XML.
    pub(super) fn malformed(e: &roxmltree::Error) -> Self {
        MetaError {
            element: None,
            attribute: None,
            value: None,
            kind: MetaErrorKind::MalformedXml(e.to_string()),
        }
    }
}

impl fmt::Display for MetaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use MetaErrorKind as K;
        let at = match (&self.element, &self.attribute) {
            (Some(e), Some(a)) => format!("{e}/@{a}"),
            (Some(e), None) => e.clone(),
            (None, Some(a)) => format!("@{a}"),
            (None, None) => String::new(),
        };
        let v = shown(self.value.as_deref().unwrap_or_default());
        match &self.kind {
            K::MalformedXml(m) => write!(f, "malformed XML: {m}"),
            K::WrongRoot => {
                write!(
                    f,
                    "root element is {at}, expected lifecycle in namespace {NAMESPACE}"
                )
            }
            K::WrongNamespace => write!(f, "{at}: not in namespace {NAMESPACE}"),
            K::UnknownElement => write!(f, "unknown element {at}"),
            K::DuplicateElement => write!(f, "duplicate element {at}"),
            K::UnexpectedText => write!(f, "{at}: unexpected text {v}"),
            K::UnknownAttribute => write!(f, "unknown attribute {at}"),
            K::NotABool => write!(f, "{at}: {v} is not true or false"),
            K::NotAnInteger => write!(f, "{at}: {v} is not an integer"),
            K::OutOfRange { min, max } => write!(f, "{at}: {v} is out of range {min} to {max}"),
            K::OutOfRangeText(r) => write!(f, "{at}: {v} is out of range {r}"),
            K::NotANumber => write!(f, "{at}: {v} is not a number"),
            K::NotFinite => write!(f, "{at}: {v} is not a finite number"),
            K::Negative => write!(f, "{at}: {v} is negative"),
            K::NotOneOf(names) => write!(f, "{at}: {v} is not one of {}", names.join(", ")),
            K::EmptyName => write!(f, "{at}: empty VM name"),
        }
    }
}

impl std::error::Error for MetaError {}

/// The value quoted like Rust's `{:?}` (so a newline cannot break the one-line
/// message), cut at [`SHOWN_VALUE_CHARS`] with an ellipsis.
fn shown(value: &str) -> String {
    if value.chars().count() <= SHOWN_VALUE_CHARS {
        format!("{value:?}")
    } else {
        let cut: String = value.chars().take(SHOWN_VALUE_CHARS).collect();
        format!("{:?}", format!("{cut}…"))
    }
}
