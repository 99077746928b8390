//! The bundled demo: libvirt's test driver on `assets/demo/node.xml`.
//!
//! The node file is compiled into the binary. Its `@NOW-N@` / `@NOW+N@` tokens become unix
//! seconds relative to the moment the demo starts, so TTLs count down live: one VM is
//! due within minutes, one expired, one has an invalid policy, and three form an
//! autostart chain. The test driver keeps its state in this process only, so changes
//! made in a demo are gone when it exits.

use std::path::Path;

/// The demo node file, with `@NOW±N@` tokens.
pub const NODE_TEMPLATE: &str = include_str!("../assets/demo/node.xml");

/// A demo node written to a temp dir (removed on drop); the test driver reads it when
/// the connection opens and not after, so it may be dropped once the connection is open.
pub struct DemoNode {
    _dir: tempfile::TempDir,
    uri: String,
}

impl DemoNode {
    /// Write the demo node with times relative to `now` (unix seconds).
    pub fn create(now: i64) -> std::io::Result<DemoNode> {
        let dir = tempfile::Builder::new().prefix("vmlife-demo-").tempdir()?;
        let path = dir.path().join("node.xml");
        std::fs::write(&path, render(NODE_TEMPLATE, now))?;
        let uri = uri_for(&path);
        Ok(DemoNode { _dir: dir, uri })
    }

    /// The `test:///…/node.xml` URI to open.
    pub fn uri(&self) -> &str {
        &self.uri
    }
}

/// The demo's cleanup policy, when no config file says otherwise: rounds may run at any
/// hour (the demo behaves the same at noon and at 03:00) and each expired VM waits for a
/// person's `y` — so the demo shows the parking and the confirmation rather than
/// removing its expired VM before anyone sees it.
pub fn tune_config(config: &mut crate::config::Config) {
    config.cleanup.cleanup_in_window_only = false;
    config.cleanup.require_confirmation = true;
}

/// The test-driver URI for a node file (an absolute path after `test://`).
pub fn uri_for(path: &Path) -> String {
    format!("test://{}", path.display())
}

/// Replace every `@NOW@`, `@NOW+N@` and `@NOW-N@` with `now ± N`. Anything else between
/// `@` signs is left as it is.
pub fn render(template: &str, now: i64) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("@NOW") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 4..];
        let token = after
            .find('@')
            .map(|end| (&after[..end], &after[end + 1..]));
        match token.and_then(|(offset, tail)| parse_offset(offset).map(|o| (o, tail))) {
            Some((offset, tail)) => {
                out.push_str(&now.saturating_add(offset).to_string());
                rest = tail;
            }
            None => {
                out.push_str("@NOW");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `""` → 0, `"+60"` → 60, `"-3600"` → -3600; anything else is not an offset.
fn parse_offset(s: &str) -> Option<i64> {
    if s.is_empty() {
        return Some(0);
    }
    let (sign, digits) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return None,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok().map(|n| sign * n)
}

#[cfg(test)]
#[path = "demo_tests.rs"]
mod tests;
