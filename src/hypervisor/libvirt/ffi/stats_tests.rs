use std::ffi::c_char;

use super::*;

fn param(name: &str, t: c_uint, value: sys::_virTypedParameterValue) -> sys::virTypedParameter {
    let mut field = [0 as c_char; 80];
    for (dst, src) in field.iter_mut().zip(name.bytes()) {
        *dst = src as c_char;
    }
    sys::virTypedParameter {
        field,
        type_: t as c_int,
        value,
    }
}

#[test]
fn decodes_every_numeric_type() {
    let ps = [
        param(
            "state.state",
            sys::VIR_TYPED_PARAM_INT,
            sys::_virTypedParameterValue { i: 1 },
        ),
        param(
            "vcpu.current",
            sys::VIR_TYPED_PARAM_UINT,
            sys::_virTypedParameterValue { ui: 4 },
        ),
        param(
            "x.l",
            sys::VIR_TYPED_PARAM_LLONG,
            sys::_virTypedParameterValue { l: -3 },
        ),
        param(
            "cpu.time",
            sys::VIR_TYPED_PARAM_ULLONG,
            sys::_virTypedParameterValue { ul: u64::MAX },
        ),
        param(
            "x.d",
            sys::VIR_TYPED_PARAM_DOUBLE,
            sys::_virTypedParameterValue { d: 0.5 },
        ),
        param(
            "x.b",
            sys::VIR_TYPED_PARAM_BOOLEAN,
            sys::_virTypedParameterValue { b: 1 },
        ),
        param(
            "x.s",
            sys::VIR_TYPED_PARAM_STRING,
            sys::_virTypedParameterValue { s: ptr::null_mut() },
        ),
        param("x.bad", 99, sys::_virTypedParameterValue { ul: 7 }),
    ];
    // SAFETY: a local array of initialised parameters.
    let slice = unsafe { param_slice(ps.as_ptr(), ps.len() as c_int) };
    let got: Vec<(Option<&str>, ParamValue)> = slice.iter().map(decode_param).collect();
    assert_eq!(
        got,
        vec![
            (Some("state.state"), ParamValue::Int(1)),
            (Some("vcpu.current"), ParamValue::UInt(4)),
            (Some("x.l"), ParamValue::LLong(-3)),
            (Some("cpu.time"), ParamValue::ULLong(u64::MAX)),
            (Some("x.d"), ParamValue::Double(0.5)),
            (Some("x.b"), ParamValue::Boolean(true)),
            (Some("x.s"), ParamValue::Other),
            (Some("x.bad"), ParamValue::Other),
        ]
    );
}

#[test]
fn field_without_nul_and_non_utf8_field() {
    let mut p = param(
        "",
        sys::VIR_TYPED_PARAM_INT,
        sys::_virTypedParameterValue { i: 2 },
    );
    p.field = [b'a' as c_char; 80];
    assert_eq!(decode_param(&p).0.map(str::len), Some(80));
    p.field[0] = 0xffu8 as c_char;
    assert_eq!(decode_param(&p).0, None);
}

#[test]
fn empty_and_null_param_arrays() {
    // SAFETY: null pointers and non-positive counts are handled without dereferencing.
    unsafe {
        assert!(param_slice(ptr::null(), 5).is_empty());
        let p = param(
            "a",
            sys::VIR_TYPED_PARAM_INT,
            sys::_virTypedParameterValue { i: 2 },
        );
        assert!(param_slice(&p, 0).is_empty());
        assert!(param_slice(&p, -1).is_empty());
    }
}

#[test]
fn conversions() {
    assert_eq!(ParamValue::Int(-1).as_u64(), None);
    assert_eq!(ParamValue::LLong(5).as_u64(), Some(5));
    assert_eq!(ParamValue::Double(1.0).as_u64(), None);
    assert_eq!(ParamValue::ULLong(u64::MAX).as_i32(), None);
    assert_eq!(ParamValue::UInt(3).as_i32(), Some(3));
}
