use super::*;

const RUNNING: StateKey = (Some(1), Some(1));
const SHUTOFF: StateKey = (Some(5), Some(2));

fn known(byte: u8, name: &str, state: StateKey) -> KnownName {
    KnownName {
        uuid: [byte; 16],
        uuid_text: format!("uuid-{byte}").into(),
        name: name.into(),
        state,
    }
}

#[test]
fn an_entry_holds_under_the_same_key_and_state_only() {
    let t0 = Instant::now();
    let k10 = Some((1, 0));
    let mut c = NameCache::default();
    c.begin(k10, k10, t0);
    c.learn(b"web", known(1, "web", RUNNING));
    c.begin(k10, k10, t0);
    assert_eq!(c.get(b"web", RUNNING).map(|k| k.uuid), Some([1; 16]));
    assert_eq!(c.get(b"web", SHUTOFF), None, "a state change reads again");
    assert_eq!(c.get(b"db", RUNNING), None);

    // An identity event (epoch moved) or a reconnect (generation moved) empties it.
    c.begin(Some((1, 1)), Some((1, 1)), t0);
    assert_eq!(c.get(b"web", RUNNING), None);
    c.learn(b"web", known(2, "web", RUNNING));
    c.begin(Some((2, 1)), Some((2, 1)), t0);
    assert_eq!(c.get(b"web", RUNNING), None);
}

#[test]
fn a_list_read_while_an_event_came_in_teaches_nothing() {
    let t0 = Instant::now();
    let mut c = NameCache::default();
    c.begin(Some((1, 0)), Some((1, 0)), t0);
    c.learn(b"web", known(1, "web", RUNNING));
    // The event may be about a change after the list was taken: nothing from this
    // list can be trusted under the new key.
    c.begin(Some((1, 0)), Some((1, 1)), t0);
    assert_eq!(c.get(b"web", RUNNING), None);
    c.learn(b"web", known(1, "web", RUNNING));
    assert_eq!(c.len(), 0);
    c.begin(Some((1, 1)), Some((1, 1)), t0);
    assert_eq!(c.get(b"web", RUNNING), None);
}

#[test]
fn every_name_is_read_again_after_the_maximum_age() {
    let t0 = Instant::now();
    let k = Some((1, 0));
    let mut c = NameCache::default();
    c.begin(k, k, t0);
    c.learn(b"web", known(1, "web", RUNNING));
    c.begin(k, k, t0 + NAMES_MAX_AGE - Duration::from_millis(1));
    assert!(c.get(b"web", RUNNING).is_some());
    c.begin(k, k, t0 + NAMES_MAX_AGE);
    assert!(
        c.get(b"web", RUNNING).is_none(),
        "too old, though no event came"
    );
    c.learn(b"web", known(1, "web", RUNNING));
    c.begin(k, k, t0 + NAMES_MAX_AGE + Duration::from_secs(1));
    assert!(
        c.get(b"web", RUNNING).is_some(),
        "the clock restarted at the clear"
    );
}

#[test]
fn without_events_nothing_is_cached() {
    let t0 = Instant::now();
    let mut c = NameCache::default();
    c.begin(Some((1, 0)), Some((1, 0)), t0);
    c.learn(b"web", known(1, "web", RUNNING));
    c.begin(None, None, t0);
    assert_eq!(c.get(b"web", RUNNING), None);
    c.learn(b"web", known(1, "web", RUNNING));
    assert_eq!(c.len(), 0);
    c.begin(None, None, t0);
    assert_eq!(c.get(b"web", RUNNING), None);
}

#[test]
fn a_reused_name_is_replaced_and_gone_domains_pruned() {
    let t0 = Instant::now();
    let mut c = NameCache::default();
    c.begin(Some((1, 0)), Some((1, 0)), t0);
    c.learn(b"a", known(1, "a", RUNNING));
    c.learn(b"b", known(2, "b", RUNNING));
    c.learn(b"a", known(3, "a", RUNNING));
    assert_eq!(c.get(b"a", RUNNING).map(|k| k.uuid), Some([3; 16]));
    c.prune(2, |_| false);
    assert_eq!(c.len(), 2, "no larger than the host: kept");
    c.prune(1, |u| *u == [3; 16]);
    assert_eq!(c.len(), 1);
    assert!(c.get(b"b", RUNNING).is_none());
    c.clear();
    assert_eq!(c.len(), 0);
    c.learn(b"a", known(1, "a", RUNNING));
    assert_eq!(c.len(), 0, "off until the next begin");
}
