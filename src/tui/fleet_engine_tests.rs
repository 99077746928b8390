//! Where a later host's engine keeps its state.

use super::*;

#[test]
fn one_directory_per_uri_safe_and_bounded() {
    let d = Path::new("/st");
    assert_eq!(
        engine_dir(d, "qemu+ssh://ops@hv2/system"),
        Path::new("/st/hosts/qemu_ssh___ops_hv2_system")
    );
    assert_ne!(
        engine_dir(d, "qemu+ssh://hv2/system"),
        engine_dir(d, "qemu+ssh://hv3/system")
    );
    let long = format!(
        "qemu+unix:///session?socket={}/libvirt-sock",
        "/x".repeat(200)
    );
    let a = engine_dir(d, &long);
    let name = a.file_name().unwrap().to_str().unwrap();
    assert_eq!(name.len(), NAME_MAX);
    assert_ne!(
        a,
        engine_dir(d, &format!("{long}2")),
        "the hash tells them apart"
    );
    assert_eq!(a, engine_dir(d, &long), "stable");
    // Nothing climbs out of hosts/.
    let odd = engine_dir(d, "../../etc");
    assert_eq!(odd.parent(), Some(Path::new("/st/hosts")));
    assert!(!odd.file_name().unwrap().to_str().unwrap().starts_with('.'));
}
