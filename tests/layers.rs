//! The layers hold: `scripts/check-layers` passes on `src/`, and fails, naming the file
//! and line, on each kind of forbidden import (a small tree written for the purpose).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

fn check(src: &Path, extra: &[&str]) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check-layers");
    Command::new("python3")
        .arg(script)
        .args(extra)
        .arg(src)
        .output()
        .expect("python3 runs scripts/check-layers")
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[test]
fn the_source_tree_keeps_its_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let out = check(&src, &["--graph"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "check-layers failed:\n{stderr}");
    let graph = String::from_utf8_lossy(&out.stdout);
    let uses = |m: &str| {
        graph
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{m} -> ")))
            .unwrap_or_else(|| panic!("{m} missing from the graph:\n{graph}"))
            .to_string()
    };
    assert_eq!(uses("model"), "(nothing)");
    for front in ["cli", "tui"] {
        assert!(uses(front).contains("session"), "{front}: {}", uses(front));
    }
    assert!(!uses("cli").contains("tui") && !uses("tui").contains("cli"));
    assert!(!uses("config").contains("tui") && !uses("config").contains("host"));
}

#[test]
fn forbidden_imports_fail_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    write(
        &src,
        "lib.rs",
        "pub mod cli;\npub mod tui;\npub mod model;\n",
    );
    write(
        &src,
        "cli/mod.rs",
        "//! crate::tui in a comment is fine\nuse crate::{model, tui::app};\n",
    );
    write(&src, "tui/mod.rs", "fn f() { crate::cli::run(); }\n");
    write(
        &src,
        "model/mod.rs",
        "const S: &str = \"tokio::spawn\";\nuse tokio::sync::mpsc;\n",
    );
    write(
        &src,
        "hypervisor/libvirt/mod.rs",
        "use virt::connect::Connect;\n",
    );
    write(
        &src,
        "poll.rs",
        "fn f() { let _ = ::virt::error::Error::last(); }\n",
    );
    write(&src, "a.rs", "use crate::b::X;\n");
    write(&src, "b.rs", "use crate::a::Y;\n");

    let out = check(&src, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for want in [
        "src/cli/mod.rs:2: `cli` must not reference `tui`",
        "src/tui/mod.rs:1: `tui` must not reference `cli`",
        "src/model/mod.rs:2: `model` is pure and must not use `tokio`",
        "src/poll.rs:1: `virt` is used outside src/hypervisor/libvirt/",
        "cycle between top-level modules: a -> b -> a",
        "cycle between top-level modules: cli -> tui -> cli",
    ] {
        assert!(stderr.contains(want), "missing {want:?} in:\n{stderr}");
    }
    // Comments, strings and the adapter's own `virt` are not findings.
    assert!(!stderr.contains("src/cli/mod.rs:1"), "{stderr}");
    assert!(!stderr.contains("src/model/mod.rs:1"), "{stderr}");
    assert!(
        !stderr.contains("src/hypervisor/libvirt/mod.rs"),
        "{stderr}"
    );
}

#[test]
fn long_files_and_inline_test_blocks_fail_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let lines = |n: usize| "// a line\n".repeat(n);
    write(
        &src,
        "lib.rs",
        "pub mod big;\npub mod inline;\npub mod sibling;\n",
    );
    write(&src, "big.rs", &lines(601));
    write(&src, "fits.rs", &lines(600));
    // Test files may be longer.
    write(&src, "big_tests.rs", &lines(700));
    write(&src, "engine/tests/policy.rs", &lines(700));
    write(&src, "hypervisor/fake.rs", &lines(700));
    write(
        &src,
        "inline.rs",
        "fn f() {}\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() {}\n}\n",
    );
    write(
        &src,
        "sibling.rs",
        "fn f() {}\n#[cfg(test)]\n#[path = \"sibling_tests.rs\"]\nmod tests;\n// #[cfg(test)] mod x { in a comment }\n",
    );

    let out = check(&src, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for want in [
        "src/big.rs: 601 lines, over 600",
        "src/inline.rs:2: inline `#[cfg(test)] mod tests",
    ] {
        assert!(stderr.contains(want), "missing {want:?} in:\n{stderr}");
    }
    for exempt in [
        "fits.rs",
        "big_tests.rs",
        "policy.rs",
        "fake.rs",
        "sibling.rs",
    ] {
        assert!(!stderr.contains(exempt), "{exempt}: {stderr}");
    }
}
