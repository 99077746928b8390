use super::*;

#[test]
fn renders_relative_times() {
    assert_eq!(
        render("a=\"@NOW-60@\" b=\"@NOW+5@\" c=\"@NOW@\"", 1000),
        "a=\"940\" b=\"1005\" c=\"1000\""
    );
    assert_eq!(render("@NOWx@ @NOW", 1000), "@NOWx@ @NOW");
    assert_eq!(render("no tokens", 5), "no tokens");
}

#[test]
fn template_has_no_unrendered_tokens() {
    assert!(!render(NODE_TEMPLATE, 1_800_000_000).contains("@NOW"));
}
