use super::*;

#[test]
fn from_str_round_trips_and_names_the_choices() {
    for v in RestartPolicy::ALL {
        assert_eq!(v.as_str().parse::<RestartPolicy>(), Ok(*v));
    }
    let err = "sometimes".parse::<RestartPolicy>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "\"sometimes\" is not one of no, always, on_failure"
    );
}

#[test]
fn serde_uses_contract_spelling() {
    assert_eq!(
        serde_json::to_string(&HostRebootAction::KeepStopped).unwrap(),
        "\"keep_stopped\""
    );
    assert_eq!(
        serde_json::to_string(&CleanupStatus::InProgress).unwrap(),
        "\"in_progress\""
    );
}
