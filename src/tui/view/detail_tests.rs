use std::sync::Arc;

use super::*;
use crate::hypervisor::fake::{running, FakeHypervisor};
use crate::metadata::LifecycleMeta;
use crate::model::{PersistenceMode, VmAutoStartConfig, VmState, VmStateSnapshot};
use crate::poll::{Poller, PollerOptions};
use crate::tui::keymap::Keymap;

fn text(s: &State, v: &Vm) -> String {
    lines(s, v)
        .iter()
        .map(|l| {
            l.spans
                .iter()
                .map(|s| s.content.as_ref())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_vm_without_a_vmlife_element_reads_as_observed_only() {
    let fake = Arc::new(FakeHypervisor::new());
    fake.put(running("u-1", "plain"));
    let mut d = running("u-2", "ours");
    d.metadata = Some(crate::metadata::to_xml(&Default::default()));
    fake.put(d);
    let now = chrono::Utc::now();
    let vms = Poller::new(fake, PollerOptions::default())
        .poll(now)
        .unwrap();
    let keymap = crate::tui::keymap::Keymap::build(&Default::default(), false).unwrap();
    let mut s = State::new("fake:///", keymap, now);
    let note = "not managed by vmlife: observed only";
    let plain = vms.iter().find(|v| v.uuid == "u-1").unwrap();
    let ours = vms.iter().find(|v| v.uuid == "u-2").unwrap();
    assert!(text(&s, plain).contains(note), "{}", text(&s, plain));
    assert!(!text(&s, ours).contains(note));
    s.manage_all_vms = true;
    assert!(!text(&s, plain).contains(note), "opted in");
}

fn view(name: &str, meta: LifecycleMeta) -> Vm {
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    Vm {
        uuid: format!("u-{name}").into(),
        host: 0,
        key: format!("u-{name}").into(),
        state: None,
        reason: crate::hypervisor::StateReason::default(),
        persistent: false,
        libvirt_autostart: false,
        snapshot: VmStateSnapshot::empty(name, now, VmState::Stopped),
        meta: Ok(meta),
        first_seen_unix: 0,
        details: None,
        pending: false,
        freshness: Default::default(),
    }
}

#[test]
fn flags_a_cycle_and_the_questionable_combinations() {
    let dep = |d: &str| VmAutoStartConfig {
        depends_on: vec![d.to_string()],
        ..VmAutoStartConfig::default()
    };
    let mut a = LifecycleMeta {
        autostart: Some(dep("b")),
        ..LifecycleMeta::default()
    };
    a.persistence.mode = PersistenceMode::Temporary;
    a.persistence.force_cleanup = true;
    a.persistence.auto_cleanup = false;
    let b = LifecycleMeta {
        autostart: Some(dep("a")),
        ..LifecycleMeta::default()
    };
    let keymap = Keymap::build(&Default::default(), false).unwrap();
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let mut s = State::new("test:///default", keymap, now);
    s.vms = vec![
        view("a", a),
        view("b", b),
        view("c", LifecycleMeta::default()),
    ]
    .into();
    let texts: Vec<String> = flags(&s, &s.vms[0]).into_iter().map(|f| f.0).collect();
    assert_eq!(
        texts,
        [
            "IN A DEPENDENCY CYCLE (held back from autostart): a → b → a",
            "warning: auto_start on a temporary VM: it is started at host boot until its TTL ends",
            "warning: force_cleanup without auto_cleanup: no cleanup runs, so force_cleanup has no effect",
        ]
    );
    assert!(flags(&s, &s.vms[2]).is_empty());
}
