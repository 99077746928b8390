use super::*;

fn sample() -> Vec<(&'static str, ParamValue)> {
    vec![
        ("state.state", ParamValue::Int(1)),
        ("state.reason", ParamValue::Int(2)),
        ("cpu.time", ParamValue::ULLong(123_456)),
        ("cpu.user", ParamValue::ULLong(1)),
        ("balloon.current", ParamValue::ULLong(262_144)),
        ("balloon.maximum", ParamValue::ULLong(524_288)),
        ("balloon.rss", ParamValue::ULLong(9)),
        ("vcpu.current", ParamValue::UInt(2)),
        ("vcpu.maximum", ParamValue::UInt(4)),
        ("vcpu.0.time", ParamValue::ULLong(5)),
        ("block.count", ParamValue::UInt(2)),
        ("block.0.name", ParamValue::Other),
        ("block.0.allocation", ParamValue::ULLong(1000)),
        ("block.0.capacity", ParamValue::ULLong(9999)),
        ("block.1.allocation", ParamValue::ULLong(24)),
        ("block.2.allocation", ParamValue::ULLong(1 << 40)),
        ("net.count", ParamValue::UInt(1)),
    ]
}

#[test]
fn reads_everything_asked() {
    let d = Decoded::read(
        Wanted {
            state: true,
            groups: StatsGroups::ALL,
        },
        sample().into_iter(),
    );
    assert_eq!(d.state, Some(1));
    assert_eq!(d.reason, Some(2));
    assert_eq!(d.cpu_time_ns, Some(123_456));
    assert_eq!(d.vcpus, Some(2));
    assert_eq!(d.balloon_current_kib, Some(262_144));
    assert_eq!(d.balloon_max_kib, Some(524_288));
    assert_eq!(d.balloon_rss_kib, Some(9));
    // block.2 is beyond block.count (a backing chain entry would be): not summed.
    assert_eq!(d.block_allocation_bytes(), Some(1024));
    assert_eq!(d.taken, 2 + 1 + 1 + 3 + 1 + 3);
}

#[test]
fn state_only_takes_no_counter() {
    let d = Decoded::read(
        Wanted {
            state: true,
            groups: StatsGroups::STATE,
        },
        sample().into_iter(),
    );
    assert_eq!(d.taken, 2);
    assert_eq!(
        d,
        Decoded {
            state: Some(1),
            reason: Some(2),
            taken: 2,
            ..Decoded::default()
        }
    );
}

#[test]
fn counters_only_ignore_state_and_unasked_groups() {
    let w = Wanted {
        state: false,
        groups: StatsGroups {
            cpu: true,
            ..StatsGroups::STATE
        },
    };
    let d = Decoded::read(w, sample().into_iter());
    assert_eq!(d.state, None);
    assert_eq!(d.cpu_time_ns, Some(123_456));
    assert_eq!(d.balloon_current_kib, None);
    assert_eq!(d.block_allocation_bytes(), None);
    assert_eq!(d.taken, 1);
}

#[test]
fn odd_values_are_skipped_not_trusted() {
    let params = vec![
        ("state.state", ParamValue::Double(1.0)),
        ("cpu.time", ParamValue::LLong(-5)),
        ("vcpu.current", ParamValue::ULLong(u64::MAX)),
        ("block.x.allocation", ParamValue::ULLong(1)),
        ("block.0.allocation", ParamValue::Boolean(true)),
        ("nodot", ParamValue::Int(1)),
        ("", ParamValue::Int(1)),
    ];
    let d = Decoded::read(
        Wanted {
            state: true,
            groups: StatsGroups::ALL,
        },
        params.into_iter(),
    );
    assert_eq!(d, Decoded::default());
    assert_eq!(d.block_allocation_bytes(), None);
}

#[test]
fn uuid_text_form() {
    let u = [
        0x3f, 0x2a, 0x1c, 0x9e, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 0xff,
    ];
    assert_eq!(format_uuid(&u), "3f2a1c9e-0000-4000-8000-0000000000ff");
}

#[test]
fn block_count_zero_means_zero_bytes() {
    let d = Decoded::read(
        Wanted {
            state: false,
            groups: StatsGroups::ALL,
        },
        vec![("block.count", ParamValue::UInt(0))].into_iter(),
    );
    assert_eq!(d.block_allocation_bytes(), Some(0));
}

#[test]
fn counters_dropped_for_inactive_state() {
    let d = Decoded::read(
        Wanted {
            state: true,
            groups: StatsGroups::ALL,
        },
        sample().into_iter(),
    );
    let mut raw = RawDomain::default();
    d.apply_state(&mut raw);
    d.apply_counters(&mut raw);
    assert_eq!(raw.cpu_time_ns, Some(123_456));

    let mut off = RawDomain {
        state: Some(RunState::Shutoff),
        ..RawDomain::default()
    };
    d.apply_counters(&mut off);
    assert_eq!(off.cpu_time_ns, None);
    assert_eq!(off.balloon_current_kib, None);
    let mut unknown = RawDomain::default();
    d.apply_counters(&mut unknown);
    assert_eq!(unknown.cpu_time_ns, None);
}
