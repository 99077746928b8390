//! The wiring both front ends share, owned by neither: the session (config, connection,
//! state directory), the actor (who is acting) and the error they report.
//!
//! `main.rs` parses the command line, turns its global flags into [`Options`] and
//! hands them to the dashboard ([`crate::tui`]) or to a command ([`crate::cli`]); both
//! open their [`Session`] here, so neither imports the other.

mod actor;
mod error;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::config::{self, Config, HostSpec};
use crate::demo::DemoNode;
use crate::host::{HostCtx, HostSettings, NoProbe};
use crate::hypervisor::libvirt::{LibvirtHypervisor, DEFAULT_CONNECT_TIMEOUT};
use crate::hypervisor::Hypervisor;
use crate::lifecycle::Actor;
use crate::store::Journal;

pub use actor::login_name;
pub use error::Error;

/// What to open: the global flags of the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// `-c URI`, once per host.
    pub connect: Vec<String>,
    /// `--host NAME`: hosts of the config's `[[connections]]`.
    pub hosts: Vec<String>,
    /// `--connect-timeout SECONDS`.
    pub connect_timeout: Option<u64>,
    /// `--readonly`: a read-only connection.
    pub readonly: bool,
    /// `--config PATH` (or `$VMLIFE_CONFIG`).
    pub config: Option<PathBuf>,
    /// `--state-dir PATH` (or `$VMLIFE_STATE_DIR`).
    pub state_dir: Option<PathBuf>,
    /// `--demo`: the bundled demo VMs on libvirt's test driver.
    pub demo: bool,
}

/// An open connection with what the commands and the dashboard need around it.
pub struct Session {
    pub hv: Arc<dyn Hypervisor>,
    pub uri: String,
    /// The host's name (`[[connections]]`, or from the URI): the HOST column, JSON `host`.
    pub host: String,
    /// This process may run the host's engine (`HostSpec::engine_here`).
    pub engine_here: bool,
    pub config: Config,
    pub demo: bool,
}

/// The hosts a run will open, with the config they were resolved from.
pub struct Plan {
    pub config: Config,
    pub hosts: Vec<HostSpec>,
    demo_node: Option<DemoNode>,
    demo: bool,
    timeout: Duration,
    readonly: bool,
}

impl Plan {
    /// Load the config and resolve the hosts the options ask for (nothing is opened).
    pub fn resolve(opts: &Options, now: i64) -> Result<Plan, Error> {
        Self::resolve_with(opts, now, true)
    }

    /// [`Plan::resolve`] for what runs on the host itself (the daemon, the host hooks):
    /// without `-c`/`--host`, the config's `[[connections]]` (the fleet a dashboard
    /// shows) is not this host's connection: `connection.uri` (or the default) is.
    pub fn resolve_local(opts: &Options, now: i64) -> Result<Plan, Error> {
        Self::resolve_with(opts, now, false)
    }

    fn resolve_with(opts: &Options, now: i64, fleet: bool) -> Result<Plan, Error> {
        let (mut config, path) = Config::load(opts.config.as_deref())?;
        if opts.demo && path.is_none() {
            crate::demo::tune_config(&mut config);
        }
        let (hosts, demo_node) = if opts.demo {
            let node = DemoNode::create(now)
                .map_err(|e| Error::new(format!("cannot write the demo node file: {e}")))?;
            let spec = HostSpec {
                name: "demo".into(),
                uri: node.uri().to_string(),
                readonly: false,
                engine: None,
            };
            (vec![spec], Some(node))
        } else {
            let env = std::env::var("LIBVIRT_DEFAULT_URI").ok();
            let hosts = if fleet || !opts.connect.is_empty() || !opts.hosts.is_empty() {
                config::resolve_hosts(&opts.connect, &opts.hosts, env.as_deref(), &config)
            } else {
                let local = Config {
                    connections: Vec::new(),
                    ..config.clone()
                };
                config::resolve_hosts(&[], &[], env.as_deref(), &local)
            }
            .map_err(Error::usage)?;
            (hosts, None)
        };
        let timeout = opts
            .connect_timeout
            .or(config.connection.connect_timeout_seconds)
            .map_or(DEFAULT_CONNECT_TIMEOUT, Duration::from_secs);
        Ok(Plan {
            config,
            hosts,
            demo_node,
            demo: opts.demo,
            timeout,
            readonly: opts.readonly,
        })
    }

    /// The connect timeout every host gets.
    pub fn connect_timeout(&self) -> Duration {
        self.timeout
    }

    /// `--readonly`: every host opens read-only.
    pub fn readonly(&self) -> bool {
        self.readonly
    }

    /// Open the first host now (an error names it, before any screen opens) and give
    /// the others back unopened, for the dashboard to open on their own tasks.
    pub fn open_first(mut self) -> Result<(Session, Vec<HostSpec>), Error> {
        let rest = self.hosts.split_off(1.min(self.hosts.len()));
        let first = self
            .open_all()
            .into_iter()
            .next()
            .unwrap_or_else(|| Err(Error::new("no connection to open")))?;
        Ok((first, rest))
    }

    /// [`Plan::open_first`] for the dashboard over several hosts: when the first host
    /// cannot be opened, the next one that can is the first (its engine, cleanup pane
    /// and host keys), and those that could not come after it, for their own tasks to
    /// retry (shown `DOWN` meanwhile). With one host, or when none opens, the first
    /// host's error.
    pub fn open_first_reachable(mut self) -> Result<(Session, Vec<HostSpec>), Error> {
        if self.hosts.len() < 2 {
            return self.open_first();
        }
        let hosts = std::mem::take(&mut self.hosts);
        let mut first_error: Option<Error> = None;
        for (i, spec) in hosts.iter().enumerate() {
            let one = Plan {
                hosts: vec![spec.clone()],
                config: self.config.clone(),
                demo_node: None,
                demo: self.demo,
                timeout: self.timeout,
                readonly: self.readonly,
            };
            match one.open_first() {
                Ok((session, _)) => {
                    let mut rest = hosts.clone();
                    rest.remove(i);
                    if let Some(e) = &first_error {
                        tracing::warn!(
                            "{}: {}; {} is the first host",
                            hosts[0].name,
                            e.message,
                            spec.name
                        );
                    }
                    return Ok((session, rest));
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| Error::new("no connection to open")))
    }

    /// Open every host at once (each with its own connect timeout), in the plan's
    /// order; a host that fails is its `Err`, the others still open.
    pub fn open_all(self) -> Vec<Result<Session, Error>> {
        let Plan {
            config,
            hosts,
            demo_node,
            demo,
            timeout,
            readonly,
        } = self;
        let open = |spec: &HostSpec| -> Result<Session, Error> {
            let hv =
                LibvirtHypervisor::open_with_timeout(&spec.uri, readonly || spec.readonly, timeout)
                    .map_err(Error::from)?;
            Ok(Session {
                hv: Arc::new(hv),
                uri: spec.uri.clone(),
                host: spec.name.clone(),
                engine_here: spec.engine_here(),
                config: config.clone(),
                demo,
            })
        };
        let out = if hosts.len() == 1 {
            hosts.iter().map(open).collect()
        } else {
            in_parallel(&hosts, open)
                .into_iter()
                .map(|r| r.unwrap_or_else(|| Err(Error::new("opening the connection panicked"))))
                .collect()
        };
        // The test driver read the node file when the connection opened: remove it now,
        // so not even a killed demo leaves it behind.
        drop(demo_node);
        out
    }
}

impl Session {
    /// Load the config and open the one connection the options ask for; several hosts
    /// are refused, naming `what` (the command) in the message.
    /// It runs on the host itself: the config's `[[connections]]` are not looked at
    /// unless `--host` names one ([`Plan::resolve_local`]).
    pub fn open_one(opts: &Options, now: i64, what: &str) -> Result<Session, Error> {
        let plan = Plan::resolve_local(opts, now)?;
        if plan.hosts.len() > 1 {
            let names: Vec<&str> = plan.hosts.iter().map(|h| h.name.as_str()).collect();
            return Err(Error::usage(format!(
                "{what} works on one host, and {} were given ({}): pick one with --host NAME or -c URI",
                names.len(),
                names.join(", ")
            )));
        }
        plan.open_all()
            .into_iter()
            .next()
            .unwrap_or_else(|| Err(Error::new("no connection to open")))
    }
}

/// `f` of each of `items`, each on its own thread, in the order of `items`; `None`
/// for one whose thread panicked. For one call per host that must not wait for another.
pub fn in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<Option<R>> {
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items.iter().map(|i| scope.spawn(move || f(i))).collect();
        handles.into_iter().map(|h| h.join().ok()).collect()
    })
}

/// The journal of `state_dir` as host `host`'s actions are written to it: rotated at
/// [`crate::store::JOURNAL_MAX_BYTES`] after `config`'s cleanup `retention_days`, every
/// entry stamped with the host.
pub fn open_journal(state_dir: &Path, config: &Config, host: &str) -> std::io::Result<Journal> {
    Ok(Journal::open(state_dir)?
        .with_rotation(
            crate::store::JOURNAL_MAX_BYTES,
            Some(config.cleanup.retention_days),
        )
        .with_host(host))
}

impl Session {
    /// The journal of `state_dir` as this session writes it ([`open_journal`]).
    pub fn journal(&self, state_dir: &Path) -> std::io::Result<Journal> {
        open_journal(state_dir, &self.config, &self.host)
    }

    /// End a one-shot command's session: the process exits next. A connection to an
    /// in-process driver (the test driver) is left open, as closing it would only free
    /// the driver's state (every domain definition of the node file: at 1000 domains,
    /// about 5 % of `vmlife ls`'s CPU), memory the exit returns anyway; any other
    /// connection is closed, so its daemon sees the client say goodbye.
    pub fn end(self) {
        if crate::hypervisor::libvirt::is_in_process_uri(&self.uri) {
            std::mem::forget(self.hv);
        }
    }
}

/// The state directory a command uses: `--state-dir`, else the default one; the demo
/// (without `--state-dir`) gets a temporary one, as its VMs are not the host's.
pub enum StateDir {
    /// A directory on disk.
    Path(PathBuf),
    /// A temporary directory, removed when this is dropped.
    Temp(tempfile::TempDir),
}

impl StateDir {
    /// The directory `opts` asks for.
    pub fn resolve(opts: &Options) -> Result<StateDir, Error> {
        match (&opts.state_dir, opts.demo) {
            (Some(d), _) => Ok(StateDir::Path(d.clone())),
            (None, true) => tempfile::Builder::new()
                .prefix("vmlife-demo-state-")
                .tempdir()
                .map(StateDir::Temp)
                .map_err(|e| Error::new(format!("cannot create the demo state dir: {e}"))),
            (None, false) => config::default_state_dir()
                .map(StateDir::Path)
                .ok_or_else(|| {
                    Error::new("no home directory for the state store; pass --state-dir")
                }),
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        match self {
            StateDir::Path(p) => p,
            StateDir::Temp(t) => t.path(),
        }
    }
}

/// The context the host hooks, the ordered start and recovery run with: the session's
/// connection, the state directory's journal, the config's `[host]`/`[autostart]`/
/// `[policy]`; in the demo, SSH is not probed (its addresses are made up).
pub fn host_context(s: &Session, state_dir: &Path, actor: Actor) -> Result<HostCtx, Error> {
    let journal = s
        .journal(state_dir)
        .map_err(|e| Error::new(format!("state dir {}: {e}", state_dir.display())))?;
    let ctx = HostCtx::new(
        s.hv.clone(),
        s.uri.clone(),
        Arc::new(journal),
        actor,
        HostSettings::from_config(&s.config),
        state_dir,
    );
    Ok(if s.demo {
        ctx.with_probe(Arc::new(NoProbe))
    } else {
        ctx
    })
}
