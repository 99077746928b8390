//! Domain XML parsing (pure: no libvirt, no IO).
//!
//! [`parse`] reads what a snapshot needs from a domain's XML (`virDomainGetXMLDesc`):
//! MAC addresses, disks, configured memory and vCPUs, and the raw vmlife lifecycle
//! element from `<metadata>`.
//!
//! The vmlife metadata element exists in two shapes, and this module converts between
//! them:
//! - the *namespaced form*, as the domain XML shows it and as docs/ARCHITECTURE.md writes it:
//!   `<vmlife:lifecycle xmlns:vmlife="urn:vmlife:lifecycle:1"><vmlife:state .../>…`;
//! - libvirt's *API form*, what `virDomainGetMetadata` returns and what
//!   `virDomainSetMetadata` wants: the same element with no namespace at all
//!   (`<lifecycle><state .../>…`). libvirt adds the key as prefix and the namespace to
//!   the element and its unqualified descendants itself; given an element that already
//!   declares the key's prefix, libvirt 9.0 fails with "failed to create a new XML
//!   namespace".
//!
//! [`metadata_api_form`] and [`metadata_namespaced_form`] convert either way.

use std::fmt::{self, Write as _};

use roxmltree::{Document, Node};

use super::{DiskInfo, DomainDetails};

/// The namespace URI of vmlife's metadata element.
pub const LIFECYCLE_NS: &str = "urn:vmlife:lifecycle:1";
/// The local name of vmlife's metadata element.
pub const LIFECYCLE_LOCAL_NAME: &str = "lifecycle";
/// The prefix (libvirt's metadata "key") vmlife writes its element with.
pub const LIFECYCLE_PREFIX: &str = "vmlife";

/// Deepest element nesting the metadata converters accept (they recurse).
const MAX_DEPTH: usize = 128;

/// XML that could not be parsed or converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    /// What was wrong, for a person.
    pub message: String,
}

impl XmlError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for XmlError {}

fn parse_doc(xml: &str) -> Result<Document<'_>, XmlError> {
    Document::parse(xml).map_err(|e| XmlError::new(format!("invalid XML: {e}")))
}

/// Parse a domain's XML (`<domain>` root) into [`DomainDetails`].
pub fn parse(xml: &str) -> Result<DomainDetails, XmlError> {
    let doc = parse_doc(xml)?;
    let domain = doc.root_element();
    if domain.tag_name().name() != "domain" || domain.tag_name().namespace().is_some() {
        return Err(XmlError::new(format!(
            "expected a <domain> element, found <{}>",
            domain.tag_name().name()
        )));
    }

    let mut details = DomainDetails::default();
    for child in domain.children().filter(Node::is_element) {
        match child.tag_name().name() {
            "memory" => {
                details.memory_max_kib = memory_kib(child);
                if details.memory_kib.is_none() {
                    details.memory_kib = details.memory_max_kib;
                }
            }
            // currentMemory wins over memory, whichever comes first.
            "currentMemory" => {
                if let Some(kib) = memory_kib(child) {
                    details.memory_kib = Some(kib);
                }
            }
            "vcpu" => details.vcpus = vcpus(child),
            "devices" => read_devices(child, &mut details),
            "metadata" if details.lifecycle_xml.is_none() => {
                details.lifecycle_present = child.children().any(|n| {
                    n.is_element()
                        && n.tag_name().name() == LIFECYCLE_LOCAL_NAME
                        && n.tag_name().namespace() == Some(LIFECYCLE_NS)
                });
                details.lifecycle_xml = lifecycle_element(xml, child);
            }
            _ => {}
        }
    }
    Ok(details)
}

fn read_devices(devices: Node<'_, '_>, details: &mut DomainDetails) {
    let mut macs = details.mac_addresses.to_vec();
    for dev in devices.children().filter(Node::is_element) {
        match dev.tag_name().name() {
            "interface" => {
                let mac = dev
                    .children()
                    .find(|n| n.has_tag_name("mac"))
                    .and_then(|m| m.attribute("address"));
                if let Some(mac) = mac {
                    macs.push(mac.trim().to_ascii_lowercase());
                }
            }
            "disk" => details.disks.push(disk_info(dev)),
            "hostdev" if matches!(dev.attribute("type"), Some("pci" | "mdev")) => {
                details.vfio = true;
            }
            _ => {}
        }
    }
    details.mac_addresses = macs.into();
}

fn disk_info(disk: Node<'_, '_>) -> DiskInfo {
    let target = disk
        .children()
        .find(|n| n.has_tag_name("target"))
        .and_then(|t| t.attribute("dev"))
        .unwrap_or_default()
        .to_string();
    let source = disk
        .children()
        .find(|n| n.has_tag_name("source"))
        .and_then(|s| {
            if let Some(v) = s.attribute("file").or_else(|| s.attribute("dev")) {
                return Some(v.to_string());
            }
            if let Some(vol) = s.attribute("volume") {
                return Some(match s.attribute("pool") {
                    Some(pool) => format!("{pool}/{vol}"),
                    None => vol.to_string(),
                });
            }
            s.attribute("name")
                .or_else(|| s.attribute("dir"))
                .map(str::to_string)
        });
    let device = disk.attribute("device").unwrap_or("disk").to_string();
    DiskInfo {
        target,
        source,
        device,
    }
}

/// `<vcpu current='N'>MAX</vcpu>`: the current count when given, else the maximum.
fn vcpus(node: Node<'_, '_>) -> Option<u32> {
    if let Some(cur) = node.attribute("current") {
        if let Ok(n) = cur.trim().parse() {
            return Some(n);
        }
    }
    node.text()?.trim().parse().ok()
}

/// A `<memory unit='..'>N</memory>`-style element in KiB (rounded up, as libvirt does).
fn memory_kib(node: Node<'_, '_>) -> Option<u64> {
    let value: u128 = node.text()?.trim().parse().ok()?;
    let scale = unit_scale(node.attribute("unit").unwrap_or(""))?;
    let bytes = value.checked_mul(scale)?;
    u64::try_from(bytes.div_ceil(1024)).ok()
}

/// Bytes per unit for libvirt's scaled integers (`virScaleInteger`); empty means KiB.
fn unit_scale(unit: &str) -> Option<u128> {
    let unit = unit.trim();
    if unit.is_empty() {
        return Some(1024);
    }
    let lower = unit.to_ascii_lowercase();
    if lower == "b" || lower == "bytes" {
        return Some(1);
    }
    let mut chars = lower.chars();
    let power = match chars.next()? {
        'k' => 1,
        'm' => 2,
        'g' => 3,
        't' => 4,
        'p' => 5,
        'e' => 6,
        _ => return None,
    };
    let base: u128 = match chars.as_str() {
        "" | "ib" => 1024,
        "b" => 1000,
        _ => return None,
    };
    Some(base.pow(power))
}

/// The byte range of vmlife's lifecycle element under `<metadata>`, as a string, when
/// that substring stands on its own (its namespace declared on the element itself).
fn lifecycle_element(xml: &str, metadata: Node<'_, '_>) -> Option<String> {
    let el = metadata.children().find(|n| {
        n.is_element()
            && n.tag_name().name() == LIFECYCLE_LOCAL_NAME
            && n.tag_name().namespace() == Some(LIFECYCLE_NS)
    })?;
    let text = xml.get(el.range())?;
    // The substring must be a well-formed document by itself, with the same element at
    // its root: otherwise a prefix it uses is declared on an ancestor.
    let standalone = Document::parse(text).ok()?;
    let root = standalone.root_element();
    (root.tag_name().name() == LIFECYCLE_LOCAL_NAME
        && root.tag_name().namespace() == Some(LIFECYCLE_NS))
    .then(|| text.to_string())
}

/// Convert a metadata element to libvirt's API form for `virDomainSetMetadata`: every
/// element in namespace `uri` (or in none) loses its prefix and namespace; elements and
/// attributes of other namespaces keep theirs, declared where used. XML that is already
/// in API form comes back unchanged.
pub fn metadata_api_form(xml: &str, uri: &str) -> Result<String, XmlError> {
    let doc = parse_doc(xml)?;
    let root = doc.root_element();
    let plain = root.tag_name().namespace().is_none()
        && !root
            .descendants()
            .any(|n| n.is_element() && n.tag_name().namespace().is_some());
    if plain && !xml.contains("xmlns") {
        return Ok(xml.to_string());
    }
    let mut out = String::with_capacity(xml.len());
    write_element(root, &mut out, uri, None, true, 0)?;
    Ok(out)
}

/// Convert a metadata element (as `virDomainGetMetadata` returns it, without namespace)
/// to the namespaced form: elements in no namespace or in `uri` get `prefix`, and the
/// root declares `xmlns:prefix="uri"`.
pub fn metadata_namespaced_form(xml: &str, prefix: &str, uri: &str) -> Result<String, XmlError> {
    let doc = parse_doc(xml)?;
    let mut out = String::with_capacity(xml.len() + prefix.len() * 8 + uri.len() + 16);
    write_element(doc.root_element(), &mut out, uri, Some(prefix), true, 0)?;
    Ok(out)
}

/// Serialize `node`: elements in namespace `uri` or in none are written with `prefix`
/// (or none); others keep a prefix, declared on the element itself.
fn write_element(
    node: Node<'_, '_>,
    out: &mut String,
    uri: &str,
    prefix: Option<&str>,
    is_root: bool,
    depth: usize,
) -> Result<(), XmlError> {
    if depth > MAX_DEPTH {
        return Err(XmlError::new("metadata element nested too deeply"));
    }
    let mut decls: Vec<(String, String)> = Vec::new();
    let name = node.tag_name();
    let qname = match name.namespace() {
        None => qualify(prefix, name.name()),
        Some(ns) if ns == uri => qualify(prefix, name.name()),
        Some(ns) => {
            let p = foreign_prefix(node, ns, prefix, &mut decls);
            format!("{p}:{}", name.name())
        }
    };
    out.push('<');
    out.push_str(&qname);
    if is_root {
        if let Some(p) = prefix {
            decls.insert(0, (p.to_string(), uri.to_string()));
        }
    }
    let mut attrs = String::new();
    for a in node.attributes() {
        attrs.push(' ');
        match a.namespace() {
            None => attrs.push_str(a.name()),
            Some("http://www.w3.org/XML/1998/namespace") => {
                attrs.push_str("xml:");
                attrs.push_str(a.name());
            }
            Some(ns) => {
                let p = foreign_prefix(node, ns, prefix, &mut decls);
                attrs.push_str(&p);
                attrs.push(':');
                attrs.push_str(a.name());
            }
        }
        attrs.push_str("=\"");
        escape_into(&mut attrs, a.value(), true);
        attrs.push('"');
    }
    for (p, ns) in &decls {
        let _ = write!(out, " xmlns:{p}=\"");
        escape_into(out, ns, true);
        out.push('"');
    }
    out.push_str(&attrs);
    if !node.has_children() {
        out.push_str("/>");
        return Ok(());
    }
    out.push('>');
    for child in node.children() {
        if child.is_element() {
            write_element(child, out, uri, prefix, false, depth + 1)?;
        } else if child.is_text() {
            escape_into(out, child.text().unwrap_or_default(), false);
        } else if child.is_comment() {
            out.push_str("<!--");
            out.push_str(child.text().unwrap_or_default());
            out.push_str("-->");
        }
    }
    out.push_str("</");
    out.push_str(&qname);
    out.push('>');
    Ok(())
}

fn qualify(prefix: Option<&str>, local: &str) -> String {
    match prefix {
        Some(p) => format!("{p}:{local}"),
        None => local.to_string(),
    }
}

/// A prefix for a foreign namespace `ns` on `node`, declared in `decls` (once).
fn foreign_prefix(
    node: Node<'_, '_>,
    ns: &str,
    own: Option<&str>,
    decls: &mut Vec<(String, String)>,
) -> String {
    if let Some((p, _)) = decls.iter().find(|(_, u)| u == ns) {
        return p.clone();
    }
    let p = match node.lookup_prefix(ns) {
        Some(p) if Some(p) != own && !decls.iter().any(|(q, _)| q == p) => p.to_string(),
        _ => {
            let mut n = decls.len() + 1;
            loop {
                let candidate = format!("ns{n}");
                if Some(candidate.as_str()) != own && !decls.iter().any(|(q, _)| *q == candidate) {
                    break candidate;
                }
                n += 1;
            }
        }
    };
    decls.push((p.clone(), ns.to_string()));
    p
}

fn escape_into(out: &mut String, s: &str, attr: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\n' if attr => out.push_str("&#10;"),
            '\t' if attr => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
#[path = "domxml_tests.rs"]
mod tests;
