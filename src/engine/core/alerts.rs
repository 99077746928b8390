//! Alerts: kept in the store, journaled, logged and queued for the alert command.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::EngineCore;
use crate::engine::state_files::{Alert, MAX_ALERTS};
use crate::lifecycle::Actor;

impl EngineCore {
    /// An alert: kept in the store (the dashboard's list), journaled as an error, logged,
    /// and queued for the alert command.
    pub(super) fn raise_alert(
        &mut self,
        vm_name: &str,
        vm_id: &str,
        action: &str,
        error: &str,
        now: DateTime<Utc>,
    ) {
        self.raise_alert_with(vm_name, vm_id, action, error, now, None);
    }

    /// [`EngineCore::raise_alert`] with more fields for the journal line's detail.
    pub(super) fn raise_alert_with(
        &mut self,
        vm_name: &str,
        vm_id: &str,
        action: &str,
        error: &str,
        now: DateTime<Utc>,
        extra: Option<serde_json::Value>,
    ) {
        let alert = Alert {
            time: now,
            vm_name: vm_name.to_string(),
            vm_id: vm_id.into(),
            action: action.to_string(),
            error: error.to_string(),
        };
        tracing::error!("alert: {action} of {vm_name}: {error}");
        let a = alert.clone();
        match self.store.update(move |d| {
            d.engine.alerts.push(a);
            let excess = d.engine.alerts.len().saturating_sub(MAX_ALERTS);
            d.engine.alerts.drain(..excess);
        }) {
            Ok(((), data)) => self.data = data,
            Err(e) => self.fail(format!("recording an alert: {e}")),
        }
        let reason = match action {
            "cleanup" => "cleanup failed".to_string(),
            "restart" => "restart policy".to_string(),
            "disk_full" => "disk full".to_string(),
            "disk_error" => "disk I/O error".to_string(),
            "disk_threshold" => "disk-full warning (block threshold)".to_string(),
            "pressure" => "pressure reaction failed".to_string(),
            other => format!("{other} failed"),
        };
        let mut detail = json!({ "alert_for": action });
        if let (Some(d), Some(serde_json::Value::Object(more))) = (detail.as_object_mut(), extra) {
            d.extend(more);
        }
        self.journal_line(
            now,
            &Actor::Engine,
            vm_name,
            vm_id,
            "alert",
            &reason,
            format!("error: {error}"),
            Some(detail),
        );
        self.new_alerts.push(alert);
    }

    /// A person acknowledged `alert` (matched by its time, VM and action): it leaves the
    /// list, and the journal says who acknowledged it. False when it was gone already.
    pub fn acknowledge_alert(
        &mut self,
        alert: &Alert,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> std::io::Result<bool> {
        let same =
            |a: &Alert| a.time == alert.time && a.vm_id == alert.vm_id && a.action == alert.action;
        let (found, data) = self.store.update(|d| {
            let before = d.engine.alerts.len();
            d.engine.alerts.retain(|a| !same(a));
            d.engine.alerts.len() != before
        })?;
        self.data = data;
        if found {
            self.journal_line(
                now,
                by,
                &alert.vm_name,
                &alert.vm_id,
                "alert_ack",
                &format!(
                    "{} alert of {} acknowledged",
                    alert.action,
                    alert.time.format("%Y-%m-%d %H:%M UTC")
                ),
                "ok".into(),
                Some(json!({ "alert_for": alert.action, "error": alert.error })),
            );
        }
        Ok(found)
    }
}
