//! Tests of the refusal memo.

use super::*;

fn decl(mem: u64) -> Declared {
    Declared {
        memory_kib: Some(mem),
        vcpus: Some(1),
        disks: vec!["vda".into()],
    }
}

#[test]
fn a_refusal_is_news_once_per_definition() {
    let mut m = RefusalMemo::new();
    let u = Uuid::from("u1");
    assert!(m.remember(&u, LimitKind::Memory, &decl(1024), "no cgroups"));
    assert!(!m.remember(&u, LimitKind::Memory, &decl(1024), "no cgroups"));
    assert_eq!(
        m.get(&u, LimitKind::Memory, &decl(1024)),
        Some("no cgroups")
    );
    assert_eq!(m.get(&u, LimitKind::Cpu, &decl(1024)), None);
    // A new definition: the old refusal no longer applies, and is news again.
    assert_eq!(m.get(&u, LimitKind::Memory, &decl(2048)), None);
    assert!(m.remember(&u, LimitKind::Memory, &decl(2048), "no cgroups"));
}

#[test]
fn prune_forgets_gone_vms_and_old_definitions() {
    let mut m = RefusalMemo::new();
    let (a, b, c) = (Uuid::from("a"), Uuid::from("b"), Uuid::from("c"));
    m.remember(&a, LimitKind::Memory, &decl(1), "x");
    m.remember(&b, LimitKind::Cpu, &decl(1), "x");
    m.remember(&c, LimitKind::Disk, &decl(1), "x");
    let (d1, d2) = (decl(1), decl(2));
    m.prune([(&a, &d1), (&b, &d2)]);
    assert_eq!(m.len(), 1);
    assert!(m.get(&a, LimitKind::Memory, &d1).is_some());
    m.prune([]);
    assert!(m.is_empty());
}
