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
            "pressure" => "pressure reaction failed".to_string(),
            other => format!("{other} failed"),
        };
        self.journal_line(
            now,
            &Actor::Engine,
            vm_name,
            vm_id,
            "alert",
            &reason,
            format!("error: {error}"),
            Some(json!({ "alert_for": action })),
        );
        self.new_alerts.push(alert);
    }
}
