//! Writing the `<vmlife:lifecycle>` element.
//!
//! The output is indented like the example in docs/ARCHITECTURE.md §2, because `virsh metadata`
//! shows it to people as written. Attributes come in contract field order so a diff of
//! two VMs' metadata lines up.

use super::{
    LifecycleMeta, VmCounters, AUTOSTART, DEPENDS_ON, NAMESPACE, PERSISTENCE, POLICY, PREFIX, ROOT,
    STATE,
};
use crate::model::{VmAutoStartConfig, VmLifecyclePolicyOverride, VmPersistence};

/// The element for `meta`, with the `xmlns:vmlife` declaration on its root.
///
/// Writes every persistence attribute (the `Option` ones only when set), only the policy
/// fields the VM overrides (no `policy` element when it overrides nothing), `autostart`
/// only when set (without `vm_name`, which is the domain's name), and `state`.
///
/// `parse(&to_xml(m)) == Ok(m)` for every value `parse` can return. Outside that, the
/// writer still produces well-formed XML and never panics: characters XML 1.0 cannot
/// carry (control characters, U+FFFE, U+FFFF) become U+FFFD, and a `ttl_hours` that is
/// negative or not finite is written as is, for `parse` to reject.
pub fn to_xml(meta: &LifecycleMeta) -> String {
    let mut out = String::new();
    out.push('<');
    out.push_str(PREFIX);
    out.push(':');
    out.push_str(ROOT);
    out.push_str(" xmlns:");
    out.push_str(PREFIX);
    out.push_str("=\"");
    escape_into(&mut out, NAMESPACE);
    out.push_str("\">\n");

    start_tag(
        &mut out,
        1,
        PERSISTENCE,
        &persistence_attrs(&meta.persistence),
        Tag::Empty,
    );

    let policy = policy_attrs(&meta.policy);
    if !policy.is_empty() {
        start_tag(&mut out, 1, POLICY, &policy, Tag::Empty);
    }

    if let Some(autostart) = &meta.autostart {
        let attrs = autostart_attrs(autostart);
        if autostart.depends_on.is_empty() {
            start_tag(&mut out, 1, AUTOSTART, &attrs, Tag::Empty);
        } else {
            start_tag(&mut out, 1, AUTOSTART, &attrs, Tag::Open);
            for name in &autostart.depends_on {
                start_tag(&mut out, 2, DEPENDS_ON, &[], Tag::Inline);
                escape_into(&mut out, name);
                end_tag(&mut out, 0, DEPENDS_ON);
            }
            end_tag(&mut out, 1, AUTOSTART);
        }
    }

    start_tag(&mut out, 1, STATE, &state_attrs(&meta.state), Tag::Empty);
    end_tag(&mut out, 0, ROOT);
    // No trailing newline: libvirt stores the element, not a file.
    out.pop();
    out
}

/// One attribute: contract field name and its written value.
type Attrs = Vec<(&'static str, String)>;

fn persistence_attrs(p: &VmPersistence) -> Attrs {
    let mut a: Attrs = vec![
        ("mode", p.mode.to_string()),
        ("auto_start", p.auto_start.to_string()),
        ("restart_policy", p.restart_policy.to_string()),
        ("max_retries", p.max_retries.to_string()),
        // `{}` of an f64 is the shortest text that parses back to the same value.
        ("ttl_hours", p.ttl_hours.to_string()),
        ("auto_cleanup", p.auto_cleanup.to_string()),
        ("force_cleanup", p.force_cleanup.to_string()),
        ("cleanup_grace_period", p.cleanup_grace_period.to_string()),
    ];
    let optional = [
        ("created_at_unix", p.created_at_unix),
        ("scheduled_cleanup", p.scheduled_cleanup),
        ("last_state_change", p.last_state_change),
    ];
    a.extend(
        optional
            .into_iter()
            .filter_map(|(k, v)| Some((k, v?.to_string()))),
    );
    a
}

fn policy_attrs(p: &VmLifecyclePolicyOverride) -> Attrs {
    let fields = [
        ("on_host_reboot", p.on_host_reboot.map(|v| v.to_string())),
        (
            "on_host_shutdown",
            p.on_host_shutdown.map(|v| v.to_string()),
        ),
        (
            "on_memory_pressure",
            p.on_memory_pressure.map(|v| v.to_string()),
        ),
        ("on_disk_full", p.on_disk_full.map(|v| v.to_string())),
        (
            "enforce_memory_limit",
            p.enforce_memory_limit.map(|v| v.to_string()),
        ),
        (
            "enforce_cpu_limit",
            p.enforce_cpu_limit.map(|v| v.to_string()),
        ),
        (
            "enforce_disk_limit",
            p.enforce_disk_limit.map(|v| v.to_string()),
        ),
    ];
    fields
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect()
}

fn autostart_attrs(c: &VmAutoStartConfig) -> Attrs {
    vec![
        ("enabled", c.enabled.to_string()),
        ("start_order", c.start_order.to_string()),
        ("start_delay_seconds", c.start_delay_seconds.to_string()),
        ("wait_for_ssh", c.wait_for_ssh.to_string()),
        ("ssh_timeout_seconds", c.ssh_timeout_seconds.to_string()),
        ("on_start_failure", c.on_start_failure.to_string()),
        ("max_start_retries", c.max_start_retries.to_string()),
    ]
}

fn state_attrs(s: &VmCounters) -> Attrs {
    vec![("restart_count", s.restart_count.to_string())]
}

/// How a start tag ends.
#[derive(Clone, Copy)]
enum Tag {
    /// `.../>` and a newline.
    Empty,
    /// `...>` and a newline: child elements follow.
    Open,
    /// `...>` alone: text follows on the same line.
    Inline,
}

/// `<vmlife:name a="v" ...>`, indented `depth` levels, ended as `tag` says.
fn start_tag(out: &mut String, depth: usize, name: &str, attrs: &[(&str, String)], tag: Tag) {
    out.push_str(&"  ".repeat(depth));
    out.push('<');
    out.push_str(PREFIX);
    out.push(':');
    out.push_str(name);
    for (k, v) in attrs {
        out.push(' ');
        out.push_str(k);
        out.push_str("=\"");
        escape_into(out, v);
        out.push('"');
    }
    out.push_str(match tag {
        Tag::Empty => "/>\n",
        Tag::Open => ">\n",
        Tag::Inline => ">",
    });
}

/// `</vmlife:name>` and a newline, indented `depth` levels.
fn end_tag(out: &mut String, depth: usize, name: &str) {
    out.push_str(&"  ".repeat(depth));
    out.push_str("</");
    out.push_str(PREFIX);
    out.push(':');
    out.push_str(name);
    out.push_str(">\n");
}

/// Appends `s` escaped for both attribute values and text.
///
/// Tab, LF and CR become character references because XML parsers normalise them
/// (to spaces in attributes, CR LF to LF in text); the references survive exactly.
fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

/// XML 1.0's `Char` production (tab, LF and CR are handled before this is asked).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}
