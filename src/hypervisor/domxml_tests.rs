use super::*;

const WEB1: &str = r#"<domain type='kvm' id='4'>
  <name>web-1</name>
  <uuid>3f2a1c9e-0000-4000-8000-000000000001</uuid>
  <metadata>
    <other:thing xmlns:other="http://example.org/other/1">kept</other:thing>
    <vmlife:lifecycle xmlns:vmlife="urn:vmlife:lifecycle:1">
      <vmlife:persistence mode="temporary" ttl_hours="24"/>
      <vmlife:state restart_count="2"/>
    </vmlife:lifecycle>
  </metadata>
  <memory unit='KiB'>524288</memory>
  <currentMemory unit='KiB'>262144</currentMemory>
  <vcpu placement='static' current='2'>4</vcpu>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/web-1.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='block' device='disk'>
      <source dev='/dev/vg0/web-1-data'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='volume' device='disk'>
      <source pool='default' volume='web-1-logs.qcow2'/>
      <target dev='vdc' bus='virtio'/>
    </disk>
    <disk type='network' device='disk'>
      <source protocol='rbd' name='rbd/web-1'><host name='127.0.0.1'/></source>
      <target dev='vdd' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:AA:00:01'/>
      <source network='default'/>
    </interface>
    <interface type='bridge'>
      <mac address='52:54:00:aa:00:02'/>
      <source bridge='br0'/>
    </interface>
    <interface type='user'/>
  </devices>
</domain>"#;

#[test]
fn parses_macs_disks_memory_vcpus() {
    let d = parse(WEB1).expect("parses");
    assert_eq!(*d.mac_addresses, ["52:54:00:aa:00:01", "52:54:00:aa:00:02"]);
    let disks: Vec<(&str, Option<&str>, &str)> = d
        .disks
        .iter()
        .map(|d| (d.target.as_str(), d.source.as_deref(), d.device.as_str()))
        .collect();
    assert_eq!(
        disks,
        vec![
            ("vda", Some("/var/lib/libvirt/images/web-1.qcow2"), "disk"),
            ("vdb", Some("/dev/vg0/web-1-data"), "disk"),
            ("vdc", Some("default/web-1-logs.qcow2"), "disk"),
            ("vdd", Some("rbd/web-1"), "disk"),
            ("sda", None, "cdrom"),
        ]
    );
    assert_eq!(d.memory_kib, Some(262_144));
    assert_eq!(d.vcpus, Some(2));
}

#[test]
fn lifecycle_xml_is_the_exact_substring() {
    let d = parse(WEB1).expect("parses");
    let xml = d.lifecycle_xml.expect("present");
    assert!(xml.starts_with(r#"<vmlife:lifecycle xmlns:vmlife="urn:vmlife:lifecycle:1">"#));
    assert!(xml.ends_with("</vmlife:lifecycle>"));
    assert!(xml.contains(r#"<vmlife:state restart_count="2"/>"#));
    assert!(WEB1.contains(&xml));
}

#[test]
fn lifecycle_xml_none_when_namespace_declared_on_ancestor() {
    let xml = r#"<domain xmlns:vmlife="urn:vmlife:lifecycle:1"><name>a</name>
            <metadata><vmlife:lifecycle><vmlife:state restart_count="1"/></vmlife:lifecycle></metadata>
            </domain>"#;
    assert_eq!(parse(xml).expect("parses").lifecycle_xml, None);
    assert!(parse(xml).expect("parses").lifecycle_present);
    let xml = r#"<domain><metadata xmlns:v="urn:vmlife:lifecycle:1">
            <v:lifecycle><v:state/></v:lifecycle></metadata></domain>"#;
    assert_eq!(parse(xml).expect("parses").lifecycle_xml, None);
}

#[test]
fn lifecycle_xml_other_prefix_or_default_namespace_on_element() {
    let xml = r#"<domain><metadata><x:lifecycle xmlns:x="urn:vmlife:lifecycle:1"><x:state/></x:lifecycle></metadata></domain>"#;
    assert_eq!(
        parse(xml).expect("parses").lifecycle_xml.as_deref(),
        Some(r#"<x:lifecycle xmlns:x="urn:vmlife:lifecycle:1"><x:state/></x:lifecycle>"#)
    );
    let xml =
        r#"<domain><metadata><lifecycle xmlns="urn:vmlife:lifecycle:1"/></metadata></domain>"#;
    assert_eq!(
        parse(xml).expect("parses").lifecycle_xml.as_deref(),
        Some(r#"<lifecycle xmlns="urn:vmlife:lifecycle:1"/>"#)
    );
}

#[test]
fn lifecycle_xml_ignores_other_namespaces_and_places() {
    let xml = r#"<domain><metadata><lifecycle/><v:lifecycle xmlns:v="urn:vmlife:lifecycle:2"/></metadata>
            <devices><v:lifecycle xmlns:v="urn:vmlife:lifecycle:1"/></devices></domain>"#;
    assert_eq!(parse(xml).expect("parses").lifecycle_xml, None);
}

#[test]
fn memory_units() {
    let kib = |m: &str| {
        parse(&format!("<domain>{m}</domain>"))
            .expect("parses")
            .memory_kib
    };
    assert_eq!(kib("<memory>1024</memory>"), Some(1024));
    assert_eq!(kib("<memory unit='KiB'>1024</memory>"), Some(1024));
    assert_eq!(kib("<memory unit='k'>7</memory>"), Some(7));
    assert_eq!(kib("<memory unit='MiB'>512</memory>"), Some(524_288));
    assert_eq!(kib("<memory unit='M'>1</memory>"), Some(1024));
    assert_eq!(kib("<memory unit='GiB'>2</memory>"), Some(2 * 1024 * 1024));
    assert_eq!(kib("<memory unit='G'>1</memory>"), Some(1024 * 1024));
    assert_eq!(kib("<memory unit='TiB'>1</memory>"), Some(1 << 30));
    assert_eq!(kib("<memory unit='b'>1</memory>"), Some(1));
    assert_eq!(kib("<memory unit='bytes'>2048</memory>"), Some(2));
    assert_eq!(kib("<memory unit='KB'>1024</memory>"), Some(1000));
    assert_eq!(kib("<memory unit='MB'>1</memory>"), Some(977));
    assert_eq!(kib("<memory unit='GB'>1</memory>"), Some(976_563));
    assert_eq!(kib("<memory unit='parsecs'>1</memory>"), None);
    assert_eq!(kib("<memory>lots</memory>"), None);
    assert_eq!(kib("<memory unit='EiB'>99999999</memory>"), None);
    // currentMemory wins regardless of order.
    assert_eq!(
        kib("<currentMemory unit='MiB'>1</currentMemory><memory unit='MiB'>2</memory>"),
        Some(1024)
    );
}

#[test]
fn vcpu_forms() {
    let v = |m: &str| {
        parse(&format!("<domain>{m}</domain>"))
            .expect("parses")
            .vcpus
    };
    assert_eq!(v("<vcpu>4</vcpu>"), Some(4));
    assert_eq!(v("<vcpu placement='static'> 3 </vcpu>"), Some(3));
    assert_eq!(v("<vcpu current='1'>4</vcpu>"), Some(1));
    assert_eq!(v("<vcpu>x</vcpu>"), None);
    assert_eq!(v(""), None);
}

#[test]
fn rejects_non_domain_and_bad_xml() {
    assert!(parse("<node/>").is_err());
    assert!(parse("<domain>").is_err());
    assert!(parse("").is_err());
    assert!(parse(r#"<!DOCTYPE d [<!ENTITY a "b">]><domain/>"#).is_err());
}

#[test]
fn minimal_domain() {
    let d = parse("<domain type='test'><name>x</name></domain>").expect("parses");
    assert_eq!(d, DomainDetails::default());
}

#[test]
fn api_form_strips_own_namespace() {
    let ns = r#"<vmlife:lifecycle xmlns:vmlife="urn:vmlife:lifecycle:1"><vmlife:persistence mode="temporary" ttl_hours="24"/><vmlife:autostart enabled="true"><vmlife:depends_on>db-1 &amp; co</vmlife:depends_on></vmlife:autostart></vmlife:lifecycle>"#;
    assert_eq!(
        metadata_api_form(ns, LIFECYCLE_NS).expect("converts"),
        r#"<lifecycle><persistence mode="temporary" ttl_hours="24"/><autostart enabled="true"><depends_on>db-1 &amp; co</depends_on></autostart></lifecycle>"#
    );
    // Default namespace and other prefixes too.
    assert_eq!(
        metadata_api_form(
            r#"<lifecycle xmlns="urn:vmlife:lifecycle:1"><state/></lifecycle>"#,
            LIFECYCLE_NS
        )
        .expect("converts"),
        "<lifecycle><state/></lifecycle>"
    );
}

#[test]
fn api_form_keeps_plain_input_and_foreign_namespaces() {
    let plain = "<lifecycle>\n  <state restart_count=\"1\"/>\n</lifecycle>";
    assert_eq!(
        metadata_api_form(plain, LIFECYCLE_NS).expect("converts"),
        plain
    );
    let mixed = r#"<v:lifecycle xmlns:v="urn:vmlife:lifecycle:1" xmlns:o="urn:o"><o:x o:a="1" b="2"/></v:lifecycle>"#;
    assert_eq!(
        metadata_api_form(mixed, LIFECYCLE_NS).expect("converts"),
        r#"<lifecycle><o:x xmlns:o="urn:o" o:a="1" b="2"/></lifecycle>"#
    );
    assert!(metadata_api_form("<a>", LIFECYCLE_NS).is_err());
}

#[test]
fn namespaced_form_from_api_form() {
    let api = "<lifecycle xmlns:vmlife=\"urn:vmlife:lifecycle:1\">\n  <state restart_count=\"1\" note=\"a&quot;b\"/>\n</lifecycle>";
    assert_eq!(
            metadata_namespaced_form(api, LIFECYCLE_PREFIX, LIFECYCLE_NS).expect("converts"),
            "<vmlife:lifecycle xmlns:vmlife=\"urn:vmlife:lifecycle:1\">\n  <vmlife:state restart_count=\"1\" note=\"a&quot;b\"/>\n</vmlife:lifecycle>"
        );
}

#[test]
fn round_trip_between_forms() {
    let ns = r#"<vmlife:lifecycle xmlns:vmlife="urn:vmlife:lifecycle:1"><vmlife:state restart_count="2"/><!-- c --></vmlife:lifecycle>"#;
    let api = metadata_api_form(ns, LIFECYCLE_NS).expect("converts");
    let back = metadata_namespaced_form(&api, LIFECYCLE_PREFIX, LIFECYCLE_NS).expect("converts");
    assert_eq!(back, ns);
}

#[test]
fn converters_refuse_absurd_nesting() {
    let deep = format!("{}{}", "<a>".repeat(500), "</a>".repeat(500));
    assert!(metadata_namespaced_form(&deep, "v", LIFECYCLE_NS).is_err());
}

#[test]
fn declared_maximum_and_vfio_for_the_limits() {
    let d = parse(WEB1).expect("parses");
    assert_eq!(
        d.memory_max_kib,
        Some(524_288),
        "<memory>, not <currentMemory>"
    );
    assert!(!d.vfio);
    let with = |dev: &str| {
        parse(&format!(
            "<domain><memory unit='MiB'>1</memory><devices>{dev}</devices></domain>"
        ))
        .expect("parses")
    };
    let pci = "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source></hostdev>";
    assert!(with(pci).vfio);
    assert!(with("<hostdev mode='subsystem' type='mdev' model='vfio-pci'/>").vfio);
    assert!(!with("<hostdev mode='subsystem' type='usb'/>").vfio);
    assert_eq!(with("").memory_max_kib, Some(1024));
}
