//! Fleet fixtures: test-driver node files of temporary VMs, and the host strip.

/// A node file `file` in `dir` of running temporary VMs `names` (4 h TTL, created at
/// unix `created`: 4000000000 is far ahead, 1000000000 long expired), UUIDs from
/// `seed`; returns its `test://` URI.
pub fn node(dir: &std::path::Path, file: &str, seed: u8, names: &[&str], created: u64) -> String {
    let mut xml = String::from("<node>\n");
    for (i, name) in names.iter().enumerate() {
        xml.push_str(&format!(
            "<domain type='test'><name>{name}</name>\
             <uuid>3f2a1c9e-0000-4000-8000-0000000{seed:02x}{i:03x}</uuid>\
             <memory unit='MiB'>512</memory><os><type>hvm</type></os>\
             <metadata><vmlife:lifecycle xmlns:vmlife='urn:vmlife:lifecycle:1'>\
             <vmlife:persistence mode='temporary' ttl_hours='4' created_at_unix='{created}'/>\
             </vmlife:lifecycle></metadata></domain>\n"
        ));
    }
    xml.push_str("</node>\n");
    let path = dir.join(file);
    std::fs::write(&path, xml).expect("write a node file");
    format!("test://{}", path.display())
}

/// The host strip's line of `host` (the only lines that start with a host's name).
pub fn strip_line(screen: &str, host: &str) -> Option<String> {
    screen
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{host} ")))
        .map(str::to_string)
}
