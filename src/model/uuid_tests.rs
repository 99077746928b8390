use std::collections::HashMap;

use super::*;

const U: &str = "3f2a1c9e-0000-4000-8000-000000000001";

#[test]
fn reads_and_compares_as_text() {
    let u = Uuid::from(U);
    assert_eq!(u, U);
    assert_eq!(U, u);
    assert_eq!(u, U.to_string());
    assert_eq!(u.as_str(), U);
    assert_eq!(&*u, U);
    assert_eq!(u.len(), 36);
    assert_eq!(u.to_string(), U);
    assert_eq!(format!("{u:?}"), format!("{U:?}"));
    assert_eq!(Uuid::from(U.to_string()), u);
    assert_eq!(Uuid::default(), "");
}

#[test]
fn a_clone_shares_the_text() {
    let u = Uuid::from(U);
    let v = u.clone();
    assert!(std::ptr::eq(u.as_str(), v.as_str()));
}

#[test]
fn maps_are_looked_up_by_str() {
    let mut m = HashMap::new();
    m.insert(Uuid::from(U), 1);
    assert_eq!(m.get(U), Some(&1));
    let b: std::collections::BTreeMap<Uuid, i32> = [(Uuid::from(U), 2)].into();
    assert_eq!(b.get(U), Some(&2));
}

#[test]
fn json_is_a_plain_string() {
    let u = Uuid::from(U);
    let json = serde_json::to_string(&u).unwrap();
    assert_eq!(json, format!("\"{U}\""));
    let back: Uuid = serde_json::from_str(&json).unwrap();
    assert_eq!(back, u);
    let m: HashMap<Uuid, u8> = serde_json::from_str(&format!("{{\"{U}\":1}}")).unwrap();
    assert_eq!(m.get(U), Some(&1));
}
