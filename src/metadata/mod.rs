//! The per-VM `<vmlife:lifecycle>` element in a domain's metadata (docs/ARCHITECTURE.md §2).
//!
//! ```xml
//! <vmlife:lifecycle xmlns:vmlife="urn:vmlife:lifecycle:1">
//!   <vmlife:persistence mode="temporary" ttl_hours="24" auto_cleanup="true" .../>
//!   <vmlife:policy on_host_shutdown="save_state" .../>
//!   <vmlife:autostart enabled="true" start_order="10" ...>
//!     <vmlife:depends_on>db-1</vmlife:depends_on>
//!   </vmlife:autostart>
//!   <vmlife:state restart_count="2"/>
//! </vmlife:lifecycle>
//! ```
//!
//! Sysadmins edit this by hand (`virsh metadata DOMAIN --uri urn:vmlife:lifecycle:1
//! --edit`), so reading is strict and its errors say exactly what is wrong: a typo that
//! was silently ignored would leave a VM with a policy nobody asked for. The rules:
//! - Elements are matched by namespace URI and local name, never by prefix (libvirt
//!   re-prefixes the element when it stores it).
//! - Missing elements and attributes take the contract defaults; `autostart` absent means
//!   vmlife does not start the VM.
//! - Unknown elements and attributes (also ones in another namespace) are errors that
//!   name them; so is a repeated element and stray text.
//! - Booleans are exactly `true` or `false`: one spelling, the contract's, so what
//!   vmlife writes is what people read and grep for.
//! - Integers are plain decimal (`-?[0-9]+`, no `+`, no spaces, no exponent) within the
//!   field's documented range ([`crate::model::ranges`]); `ttl_hours` is a decimal
//!   (`0.5`, `1e2`) more than 0 and at most 8760.
//! - `depends_on` names are trimmed of XML whitespace (hand-edited XML is often
//!   indented) and must not be empty.
//!
//! `VmAutoStartConfig::vm_name` is not stored: it is the domain's name, which the caller
//! fills in, so renaming a domain cannot leave a stale copy behind.

mod error;
mod warnings;
mod write;

#[cfg(test)]
mod tests;

pub use error::{MetaError, MetaErrorKind};
pub use write::to_xml;

use crate::model::ranges as R;
use crate::model::{BadEnumValue, VmAutoStartConfig, VmLifecyclePolicyOverride, VmPersistence};
use roxmltree::{Attribute, Node};
use serde::Serialize;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// How the range of `ttl_hours` reads in a message.
const TTL_RANGE: &str = "more than 0 to 8760";

/// The namespace URI of the element; libvirt's metadata `uri`.
pub const NAMESPACE: &str = "urn:vmlife:lifecycle:1";
/// The prefix vmlife writes; libvirt's metadata `key`.
pub const PREFIX: &str = "vmlife";

/// Local names of the elements; shared with the writer so both spell them alike.
const ROOT: &str = "lifecycle";
const PERSISTENCE: &str = "persistence";
const POLICY: &str = "policy";
const AUTOSTART: &str = "autostart";
const DEPENDS_ON: &str = "depends_on";
const STATE: &str = "state";

/// Everything vmlife keeps in one domain's metadata.
///
/// A VM without a vmlife element is `LifecycleMeta::default()`: permanent, contract
/// defaults, no policy override, no ordered autostart, counters at zero.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LifecycleMeta {
    /// `<vmlife:persistence>`.
    pub persistence: VmPersistence,
    /// `<vmlife:policy>`: only the fields this VM sets; the rest come from the host.
    pub policy: VmLifecyclePolicyOverride,
    /// `<vmlife:autostart>`; `None` when the VM is not in vmlife's ordered start.
    /// `vm_name` is left empty: it is the domain's name, not stored here.
    pub autostart: Option<VmAutoStartConfig>,
    /// `<vmlife:state>`.
    pub state: VmCounters,
}

/// Counters vmlife keeps on a VM that no contract record owns (`<vmlife:state>`).
///
/// Kept in the metadata so every vmlife that looks at the domain sees the same values.
/// To add a counter: a field here (its `Default` is the value of a missing attribute),
/// an arm in `parse_state`, a line in the writer's `state_attrs`; the round-trip
/// property test catches a side that was forgotten once its generator knows the field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VmCounters {
    /// Restarts done by the restart policy (docs/ARCHITECTURE.md §1, "Restart policy").
    pub restart_count: u32,
}

/// Reads the element as libvirt returns it for [`NAMESPACE`].
///
/// Empty or whitespace-only input is a VM without the element (libvirt stores an empty
/// metadata value as "no metadata"), so it is `LifecycleMeta::default()`.
pub fn parse(xml: &str) -> Result<LifecycleMeta, MetaError> {
    if xml.trim_matches(is_xml_space).is_empty() {
        return Ok(LifecycleMeta::default());
    }
    let doc = roxmltree::Document::parse(xml).map_err(|e| MetaError::malformed(&e))?;
    let root = doc.root_element();
    let name = root.tag_name();
    if name.name() != ROOT {
        return Err(MetaError::at(name.name(), MetaErrorKind::WrongRoot));
    }
    // virDomainGetMetadata answers with every namespace stripped (`<lifecycle>`), the
    // domain XML with ours: accept either, but children must match their root.
    if name.namespace().is_some_and(|ns| ns != NAMESPACE) {
        return Err(MetaError::at(ROOT, MetaErrorKind::WrongNamespace));
    }
    if let Some(a) = root.attributes().next() {
        return Err(Attr::new(ROOT, &a)?.unknown());
    }

    let mut meta = LifecycleMeta::default();
    // Which children were seen, so a second one is an error instead of silently winning.
    let mut seen: Vec<&str> = Vec::new();
    for (child, local) in element_children(root, "")? {
        if seen.contains(&local) {
            return Err(MetaError::at(local, MetaErrorKind::DuplicateElement));
        }
        match local {
            PERSISTENCE => meta.persistence = parse_persistence(child)?,
            POLICY => meta.policy = parse_policy(child)?,
            AUTOSTART => meta.autostart = Some(parse_autostart(child)?),
            STATE => meta.state = parse_state(child)?,
            other => return Err(MetaError::at(other, MetaErrorKind::UnknownElement)),
        }
        seen.push(local);
    }
    Ok(meta)
}

/// [`parse`] for the hypervisor's answer: `None` (no element) is the default.
pub fn parse_or_default(xml: Option<&str>) -> Result<LifecycleMeta, MetaError> {
    xml.map_or_else(|| Ok(LifecycleMeta::default()), parse)
}

fn parse_persistence(node: Node) -> Result<VmPersistence, MetaError> {
    leaf(node, PERSISTENCE)?;
    let mut p = VmPersistence::default();
    for a in node.attributes() {
        let a = Attr::new(PERSISTENCE, &a)?;
        match a.name {
            "mode" => p.mode = a.enumeration()?,
            "auto_start" => p.auto_start = a.boolean()?,
            "restart_policy" => p.restart_policy = a.enumeration()?,
            "max_retries" => p.max_retries = a.int_in(R::MAX_RETRIES)?,
            "ttl_hours" => p.ttl_hours = a.ttl_hours()?,
            "auto_cleanup" => p.auto_cleanup = a.boolean()?,
            "force_cleanup" => p.force_cleanup = a.boolean()?,
            "cleanup_grace_period" => p.cleanup_grace_period = a.int_in(R::CLEANUP_GRACE_PERIOD)?,
            "created_at_unix" => p.created_at_unix = Some(a.int_in(R::UNIX_SECONDS)?),
            "scheduled_cleanup" => p.scheduled_cleanup = Some(a.int_in(R::UNIX_SECONDS)?),
            "last_state_change" => p.last_state_change = Some(a.int_in(R::UNIX_SECONDS)?),
            _ => return Err(a.unknown()),
        }
    }
    Ok(p)
}

fn parse_policy(node: Node) -> Result<VmLifecyclePolicyOverride, MetaError> {
    leaf(node, POLICY)?;
    let mut p = VmLifecyclePolicyOverride::default();
    for a in node.attributes() {
        let a = Attr::new(POLICY, &a)?;
        match a.name {
            "on_host_reboot" => p.on_host_reboot = Some(a.enumeration()?),
            "on_host_shutdown" => p.on_host_shutdown = Some(a.enumeration()?),
            "on_memory_pressure" => p.on_memory_pressure = Some(a.enumeration()?),
            "on_disk_full" => p.on_disk_full = Some(a.enumeration()?),
            "enforce_memory_limit" => p.enforce_memory_limit = Some(a.boolean()?),
            "enforce_cpu_limit" => p.enforce_cpu_limit = Some(a.boolean()?),
            "enforce_disk_limit" => p.enforce_disk_limit = Some(a.boolean()?),
            _ => return Err(a.unknown()),
        }
    }
    Ok(p)
}

fn parse_autostart(node: Node) -> Result<VmAutoStartConfig, MetaError> {
    let mut c = VmAutoStartConfig::default();
    for a in node.attributes() {
        let a = Attr::new(AUTOSTART, &a)?;
        match a.name {
            "enabled" => c.enabled = a.boolean()?,
            "start_order" => c.start_order = a.int_in(R::START_ORDER)?,
            "start_delay_seconds" => c.start_delay_seconds = a.int_in(R::START_DELAY_SECONDS)?,
            "wait_for_ssh" => c.wait_for_ssh = a.boolean()?,
            "ssh_timeout_seconds" => c.ssh_timeout_seconds = a.int_in(R::SSH_TIMEOUT_SECONDS)?,
            "on_start_failure" => c.on_start_failure = a.enumeration()?,
            "max_start_retries" => c.max_start_retries = a.int_in(R::MAX_START_RETRIES)?,
            _ => return Err(a.unknown()),
        }
    }
    for (child, local) in element_children(node, AUTOSTART)? {
        let path = format!("{AUTOSTART}/{local}");
        if local != DEPENDS_ON {
            return Err(MetaError::at(path, MetaErrorKind::UnknownElement));
        }
        c.depends_on.push(parse_depends_on(child, &path)?);
    }
    Ok(c)
}

/// One `<vmlife:depends_on>`: a VM name as the element's text.
fn parse_depends_on(node: Node, path: &str) -> Result<String, MetaError> {
    if let Some(a) = node.attributes().next() {
        return Err(Attr::new(path, &a)?.unknown());
    }
    let mut text = String::new();
    for child in node.children() {
        if child.is_element() {
            let name = child.tag_name().name();
            return Err(MetaError::at(
                format!("{path}/{name}"),
                MetaErrorKind::UnknownElement,
            ));
        }
        // Text and CDATA both arrive as text nodes; comments in between are skipped.
        if child.is_text() {
            text.push_str(child.text().unwrap_or_default());
        }
    }
    let name = text.trim_matches(is_xml_space);
    if name.is_empty() {
        let mut e = MetaError::at(path, MetaErrorKind::EmptyName);
        e.value = Some(text);
        return Err(e);
    }
    Ok(name.to_string())
}

fn parse_state(node: Node) -> Result<VmCounters, MetaError> {
    leaf(node, STATE)?;
    let mut s = VmCounters::default();
    for a in node.attributes() {
        let a = Attr::new(STATE, &a)?;
        match a.name {
            "restart_count" => s.restart_count = a.int()?,
            _ => return Err(a.unknown()),
        }
    }
    Ok(s)
}

/// The element children of `node` in its namespace, with their local names.
///
/// Fails on non-whitespace text and on elements in another namespace than their parent,
/// so a child written without its prefix is reported instead of ignored. `parent` is the
/// path prefix for messages ("" below the root).
fn element_children<'a, 'i>(
    node: Node<'a, 'i>,
    parent: &str,
) -> Result<Vec<(Node<'a, 'i>, &'a str)>, MetaError> {
    let path = |local: &str| {
        if parent.is_empty() {
            local.to_string()
        } else {
            format!("{parent}/{local}")
        }
    };
    let mut out = Vec::new();
    for child in node.children() {
        if child.is_element() {
            let name = child.tag_name();
            if name.namespace() != node.tag_name().namespace() {
                return Err(MetaError::at(
                    path(name.name()),
                    MetaErrorKind::WrongNamespace,
                ));
            }
            out.push((child, name.name()));
        } else if child.is_text() {
            let text = child.text().unwrap_or_default();
            if !text.trim_matches(is_xml_space).is_empty() {
                let at = if parent.is_empty() { ROOT } else { parent };
                let mut e = MetaError::at(at, MetaErrorKind::UnexpectedText);
                e.value = Some(text.trim_matches(is_xml_space).to_string());
                return Err(e);
            }
        }
    }
    Ok(out)
}

/// Checks that an attribute-only element has no children other than whitespace.
fn leaf(node: Node, path: &str) -> Result<(), MetaError> {
    match element_children(node, path)?.first() {
        Some((_, local)) => Err(MetaError::at(
            format!("{path}/{local}"),
            MetaErrorKind::UnknownElement,
        )),
        None => Ok(()),
    }
}

/// XML's whitespace (space, tab, CR, LF); narrower than Unicode's on purpose, so a
/// name that starts with, say, a no-break space keeps it.
fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// One attribute being read, with what error messages need to say where it is.
struct Attr<'a> {
    element: &'a str,
    name: &'a str,
    value: &'a str,
}

impl<'a> Attr<'a> {
    /// Fails for namespaced attributes: ours are plain contract field names.
    fn new(element: &'a str, a: &Attribute<'a, '_>) -> Result<Self, MetaError> {
        let attr = Attr {
            element,
            name: a.name(),
            value: a.value(),
        };
        match a.namespace() {
            None => Ok(attr),
            Some(ns) => {
                let mut e = attr.error(MetaErrorKind::UnknownAttribute);
                e.attribute = Some(format!("{{{ns}}}{}", a.name()));
                Err(e)
            }
        }
    }

    fn error(&self, kind: MetaErrorKind) -> MetaError {
        MetaError {
            element: Some(self.element.to_string()),
            attribute: Some(self.name.to_string()),
            value: Some(self.value.to_string()),
            kind,
        }
    }

    fn unknown(&self) -> MetaError {
        self.error(MetaErrorKind::UnknownAttribute)
    }

    fn boolean(&self) -> Result<bool, MetaError> {
        match self.value {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(self.error(MetaErrorKind::NotABool)),
        }
    }

    fn int<T: Int>(&self) -> Result<T, MetaError> {
        let digits = self.value.strip_prefix('-').unwrap_or(self.value);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.error(MetaErrorKind::NotAnInteger));
        }
        // The syntax is valid here, so parsing fails only on overflow: out of range too.
        self.value
            .parse::<i128>()
            .ok()
            .and_then(|n| T::try_from(n).ok())
            .ok_or_else(|| {
                self.error(MetaErrorKind::OutOfRange {
                    min: T::MIN,
                    max: T::MAX,
                })
            })
    }

    /// An integer within its documented range ([`crate::model::ranges`]).
    fn int_in<T: TryFrom<i128>>(&self, range: RangeInclusive<i64>) -> Result<T, MetaError> {
        let out = || {
            self.error(MetaErrorKind::OutOfRange {
                min: *range.start(),
                max: u64::try_from(*range.end()).unwrap_or(0),
            })
        };
        let n: i128 = match self.int::<i128>() {
            Err(e) if e.kind == MetaErrorKind::NotAnInteger => return Err(e),
            Err(_) => return Err(out()),
            Ok(n) => n,
        };
        match i64::try_from(n) {
            Ok(v) if range.contains(&v) => T::try_from(n).map_err(|_| out()),
            _ => Err(out()),
        }
    }

    /// `ttl_hours`: a number more than 0, at most [`R::TTL_HOURS_MAX`].
    fn ttl_hours(&self) -> Result<f64, MetaError> {
        let v = self.number()?;
        if R::ttl_hours_ok(v) {
            Ok(v)
        } else {
            Err(self.error(MetaErrorKind::OutOfRangeText(TTL_RANGE)))
        }
    }

    fn number(&self) -> Result<f64, MetaError> {
        let v: f64 = self
            .value
            .parse()
            .map_err(|_| self.error(MetaErrorKind::NotANumber))?;
        if v.is_nan() {
            Err(self.error(MetaErrorKind::NotANumber))
        } else if v.is_infinite() {
            Err(self.error(MetaErrorKind::NotFinite))
        } else if v < 0.0 {
            Err(self.error(MetaErrorKind::Negative))
        } else {
            Ok(v)
        }
    }

    fn enumeration<E: FromStr<Err = BadEnumValue>>(&self) -> Result<E, MetaError> {
        self.value
            .parse()
            .map_err(|e: BadEnumValue| self.error(MetaErrorKind::NotOneOf(e.expected)))
    }
}

/// The integer types of metadata fields, with the range an error message states.
/// (`i64`/`u64` bounds rather than `i128` keep [`MetaError`] small.)
trait Int: TryFrom<i128> {
    const MIN: i64;
    const MAX: u64;
}

impl Int for i128 {
    const MIN: i64 = i64::MIN;
    const MAX: u64 = u64::MAX;
}

impl Int for u32 {
    const MIN: i64 = 0;
    const MAX: u64 = u32::MAX as u64;
}

impl Int for u64 {
    const MIN: i64 = 0;
    const MAX: u64 = u64::MAX;
}

impl Int for i64 {
    const MIN: i64 = i64::MIN;
    const MAX: u64 = i64::MAX as u64;
}
