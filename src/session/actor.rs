//! Who is acting, for the journal.

/// Who is at the keyboard (or ran the command): the sudo caller when there is one.
pub fn login_name() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}
