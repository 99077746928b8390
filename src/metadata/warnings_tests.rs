use super::*;
use crate::model::VmAutoStartConfig;

#[test]
fn warns_about_the_two_combinations_the_kcl_original_refused() {
    let mut m = LifecycleMeta::default();
    assert!(m.warnings().is_empty());
    m.persistence.mode = PersistenceMode::Temporary;
    assert!(m.warnings().is_empty());
    m.persistence.auto_start = true;
    assert_eq!(m.warnings().len(), 1);
    assert!(m.warnings()[0].starts_with("auto_start on a temporary VM"));
    // The autostart record decides when present.
    m.autostart = Some(VmAutoStartConfig {
        enabled: false,
        ..VmAutoStartConfig::default()
    });
    assert!(m.warnings().is_empty());
    m.persistence.force_cleanup = true;
    m.persistence.auto_cleanup = false;
    assert_eq!(
        m.warnings(),
        vec!["force_cleanup without auto_cleanup: no cleanup runs, so force_cleanup has no effect"]
    );
}
