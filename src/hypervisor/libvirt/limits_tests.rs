//! Tests of the tunables' decoding.

use super::*;
use crate::hypervisor::libvirt::ffi::ParamValue;

fn p(field: &str, value: ParamValue) -> Param {
    Param {
        field: field.into(),
        value,
        text: None,
    }
}

#[test]
fn hard_limit() {
    let unlimited = sys::VIR_DOMAIN_MEMORY_PARAM_UNLIMITED;
    assert_eq!(
        hard_limit_of(&[p("hard_limit", ParamValue::ULLong(unlimited))]),
        Ok(None)
    );
    assert_eq!(
        hard_limit_of(&[p("hard_limit", ParamValue::ULLong(2048))]),
        Ok(Some(2048))
    );
    assert!(hard_limit_of(&[p("soft_limit", ParamValue::ULLong(1))]).is_err());
    assert!(hard_limit_of(&[p("hard_limit", ParamValue::Double(1.0))]).is_err());
}

#[test]
fn cpu_quota() {
    let q = cpu_quota_of(&[
        p("global_period", ParamValue::ULLong(100_000)),
        p("global_quota", ParamValue::LLong(-1)),
    ])
    .unwrap();
    assert_eq!((q.period_us, q.quota_us), (Some(100_000), Some(-1)));
    // The test driver's "fair" scheduler has only a weight.
    let err = cpu_quota_of(&[p("weight", ParamValue::UInt(50))]).unwrap_err();
    assert!(err.contains("global_quota"), "{err}");
    // An unexpected type is not a panic.
    let q = cpu_quota_of(&[p("global_quota", ParamValue::Boolean(true))]).unwrap();
    assert_eq!(q.quota_us, None);
}

#[test]
fn disks() {
    let name = |i: u32, n: &str| Param {
        field: format!("block.{i}.name"),
        value: ParamValue::Other,
        text: Some(n.into()),
    };
    let params = vec![
        p("block.count", ParamValue::UInt(3)),
        name(0, "vda"),
        p("block.0.capacity", ParamValue::ULLong(10)),
        p("block.0.threshold", ParamValue::ULLong(9)),
        name(1, "vdb"),
        p("block.1.capacity", ParamValue::ULLong(20)),
        // No name: dropped.
        p("block.2.capacity", ParamValue::ULLong(5)),
        p("block.x.capacity", ParamValue::ULLong(5)),
    ];
    let d = disks_of(&params);
    assert_eq!(d.len(), 2);
    assert_eq!(
        (
            d[0].target.as_str(),
            d[0].capacity_bytes,
            d[0].threshold_bytes
        ),
        ("vda", Some(10), Some(9))
    );
    assert_eq!(
        (
            d[1].target.as_str(),
            d[1].capacity_bytes,
            d[1].threshold_bytes
        ),
        ("vdb", Some(20), None)
    );
}
