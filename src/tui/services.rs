//! Where the runtime's effects go. Every service answers on the one message channel
//! that `update` reads, so handing an effect over returns at once: the engine's jobs go
//! to its thread ([`EngineWorker`]), the host commands to blocking threads
//! ([`HostLink`]), a poll request to the poll task.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::Notify;

use super::engine_worker::{EngineWorker, Job};
use super::host_link::HostLink;
use super::update::{Effect, Msg};
use crate::poll::Vm;

/// The services of the dashboard's Elm loop.
pub struct Services {
    pub engine: EngineWorker,
    pub host: HostLink,
    /// Wakes host 0's poll task for a poll now.
    pub poll_now: Arc<Notify>,
    /// The message channel the services answer on.
    pub tx: UnboundedSender<Msg>,
    /// The other hosts' tasks (index 0 is host 1): commands and poll requests.
    pub remotes: Vec<super::fleet::RemoteLink>,
}

impl Services {
    /// Hand `effect`, returned on the snapshot `vms` at `now`, to its service. The one
    /// effect that is the runtime's own (`Suspend`: the terminal) is given back.
    pub fn run(&mut self, effect: Effect, vms: &Arc<[Vm]>, now: DateTime<Utc>) -> Option<Effect> {
        let job = match effect {
            Effect::Execute(0, cmd) => Job::Execute(cmd),
            Effect::Execute(host, cmd) => {
                match self.remote(host) {
                    Some(r) => r.execute(cmd, &self.tx),
                    None => tracing::error!("a command for host {host}, which is not shown"),
                }
                return None;
            }
            Effect::PollNow(0) => {
                self.poll_now.notify_one();
                return None;
            }
            Effect::PollNow(host) => {
                if let Some(r) = self.remote(host) {
                    r.poll_now.notify_one();
                }
                return None;
            }
            Effect::EngineSnapshot => Job::Snapshot(vms.clone()),
            Effect::ReadLimits(uuid) => Job::Limits {
                vms: vms.clone(),
                uuid,
            },
            Effect::PrepareCleanup { title, request } => Job::PrepareCleanup {
                vms: vms.clone(),
                title,
                request,
            },
            Effect::RunCleanup(request) => Job::RunCleanup {
                vms: vms.clone(),
                request,
            },
            Effect::ConfirmParked(parked) => {
                self.poll_now.notify_one();
                Job::ConfirmParked {
                    vms: vms.clone(),
                    parked,
                }
            }
            Effect::AckAlert(alert) => Job::AckAlert {
                vms: vms.clone(),
                alert,
            },
            Effect::PrepareAutostart => {
                self.host
                    .spawn_prepare_autostart(vms.clone(), self.tx.clone());
                return None;
            }
            Effect::RunAutostart => {
                self.host.spawn_autostart(vms.clone(), self.tx.clone());
                return None;
            }
            Effect::PrepareRecover { vm_id, vm_name } => {
                self.host
                    .spawn_prepare_recover(vms.clone(), vm_id, vm_name, self.tx.clone());
                return None;
            }
            Effect::RunRecover { vm_id, .. } => {
                self.host.spawn_recover(vms.clone(), vm_id, self.tx.clone());
                return None;
            }
            Effect::Suspend => return Some(Effect::Suspend),
        };
        self.engine.send(job, now);
        None
    }

    /// The task of host `host` (1 and up).
    fn remote(&self, host: u16) -> Option<&super::fleet::RemoteLink> {
        usize::from(host)
            .checked_sub(1)
            .and_then(|i| self.remotes.get(i))
    }

    /// Quitting: stop a running host sequence, let the engine finish its queued jobs.
    pub fn finish(self) {
        self.host.cancel();
        self.engine.finish();
    }
}

#[cfg(test)]
#[path = "services_tests.rs"]
mod tests;
