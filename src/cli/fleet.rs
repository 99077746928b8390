//! Commands over several hosts (`-c` repeated, `--host`, `[[connections]]`).
//!
//! Every host is opened at once, each with its own connect timeout. A host that cannot
//! be opened, or whose part of the command fails, gets one line on stderr
//! (`vmlife: error: host hv3 (URI): …`); the others are still printed, and the exit
//! code is 1. `ls` polls the hosts in parallel and prints one table with a HOST column
//! (JSON: one array, each object with its `host`); `plan`, `cleanup --dry-run` and
//! `autostart --dry-run` run host after host under a `== host NAME (URI) ==` line
//! (`plan --json`: one array, each entry with its `host`); `show` and `set` act on the
//! one host the domain is on, and refuse a name found on several hosts.

use std::io::Write;

use chrono::{DateTime, Utc};

use super::{autostart, cleanup, ls, plan, set, show, Command, RunError};
use crate::format::escape;
use crate::hypervisor::HvErrorKind;
use crate::session::{in_parallel, Error, Options, Plan, Session, StateDir};

/// The commands that take several hosts.
fn many_hosts_ok(command: &Command) -> bool {
    match command {
        Command::Ls { .. } | Command::Show { .. } | Command::Set(_) | Command::Plan(_) => true,
        // A real cleanup of a host is its engine's (its daemon); one host at a time.
        Command::Cleanup(a) => a.dry_run && a.domains.is_empty(),
        Command::Autostart(a) => a.dry_run && a.domains.is_empty(),
        _ => false,
    }
}

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Ls { .. } => "ls",
        Command::Show { .. } => "show",
        Command::Set(_) => "set",
        Command::Plan(_) => "plan",
        Command::Cleanup(_) => "cleanup",
        Command::Journal(_) => "journal",
        Command::Limits(_) => "limits",
        Command::Daemon => "daemon",
        Command::Autostart(_) => "autostart",
        Command::HostShutdown(_) => "host-shutdown",
        Command::HostBoot(_) => "host-boot",
        Command::Recover(_) => "recover",
    }
}

/// The failures of one run, each reported on stderr as it is found.
struct Failures {
    hosts: Vec<String>,
    total: usize,
}

impl Failures {
    fn report(&mut self, host: &str, uri: &str, message: &str) {
        // The URI once: most connection errors name it already.
        if message.contains(uri) {
            eprintln!("vmlife: error: host {}: {}", escape(host), escape(message));
        } else {
            eprintln!(
                "vmlife: error: host {} ({}): {}",
                escape(host),
                escape(uri),
                escape(message)
            );
        }
        if !self.hosts.iter().any(|h| h == host) {
            self.hosts.push(host.to_string());
        }
    }

    fn result(self) -> Result<(), Error> {
        if self.hosts.is_empty() {
            return Ok(());
        }
        Err(Error::new(format!(
            "{} of {} hosts failed: {}",
            self.hosts.len(),
            self.total,
            self.hosts.join(", ")
        )))
    }
}

/// Run `command` on every host of `plan`.
pub fn run(plan: Plan, opts: &Options, command: &Command, now: DateTime<Utc>) -> Result<(), Error> {
    let names: Vec<String> = plan.hosts.iter().map(|h| h.name.clone()).collect();
    if !many_hosts_ok(command) {
        let name = command_name(command);
        let what = match command {
            Command::Autostart(a) if !a.dry_run => {
                format!("`vmlife {name}` starts VMs in order on one host (--dry-run shows every host's order)")
            }
            Command::Cleanup(a) if !a.dry_run => {
                format!("`vmlife {name}` cleans up one host (--dry-run shows every host's round)")
            }
            Command::Cleanup(_) | Command::Autostart(_) => {
                format!("`vmlife {name} DOMAIN…` names VMs of one host")
            }
            _ => format!("`vmlife {name}` works on one host"),
        };
        return Err(Error::usage(format!(
            "{what}, and {} were given ({}): pick one with --host NAME or -c URI",
            names.len(),
            names.join(", ")
        )));
    }
    let specs = plan.hosts.clone();
    let mut failures = Failures {
        hosts: Vec::new(),
        total: specs.len(),
    };
    let mut sessions = Vec::new();
    for (spec, opened) in specs.iter().zip(plan.open_all()) {
        match opened {
            Ok(s) => sessions.push(s),
            Err(e) => failures.report(&spec.name, &spec.uri, &e.message),
        }
    }
    let mut out = std::io::stdout().lock();
    let result = match command {
        Command::Ls { json } => {
            let dir = StateDir::resolve(opts).ok();
            ls_many(
                &sessions,
                dir.as_ref().map(|d| d.path()),
                now,
                *json,
                &mut out,
                &mut failures,
            )
        }
        Command::Show { domain, json } => {
            let dir = StateDir::resolve(opts)?;
            match pick(&sessions, domain, &mut failures, false) {
                Ok(s) => show::run(s, dir.path(), now, domain, *json, &mut out),
                Err(e) => Err(e.into()),
            }
        }
        Command::Set(args) => {
            let dir = StateDir::resolve(opts)?;
            match pick(&sessions, &args.domain, &mut failures, true) {
                Ok(s) if s.hv.is_readonly() && !opts.readonly => {
                    super::refuse_readonly(command, &format!("{} is read-only", s.host))
                        .map_err(RunError::from)
                }
                Ok(s) => set::run(s, dir.path(), now, args, &mut out),
                Err(e) => Err(e.into()),
            }
        }
        Command::Plan(args) if args.json => {
            let dir = StateDir::resolve(opts)?;
            json_many(&sessions, &mut out, &mut failures, |s, buf| {
                plan::run(s, dir.path(), now, args, buf)
            })
        }
        Command::Plan(args) => {
            let dir = StateDir::resolve(opts)?;
            each_host(&sessions, &mut out, &mut failures, |s, out| {
                plan::run(s, dir.path(), now, args, out)
            })
        }
        Command::Cleanup(args) => {
            let dir = StateDir::resolve(opts)?;
            let stdin = std::io::stdin();
            let tty = cleanup::stdin_is_terminal();
            each_host(&sessions, &mut out, &mut failures, |s, out| {
                let mut input = stdin.lock();
                cleanup::run(s, dir.path(), now, args, &mut input, tty, out)
            })
        }
        Command::Autostart(args) => {
            let dir = StateDir::resolve(opts)?;
            each_host(&sessions, &mut out, &mut failures, |s, out| {
                autostart::run(s, dir.path(), now, args, out)
            })
        }
        _ => Ok(()),
    };
    drop(out);
    for s in sessions {
        s.end();
    }
    match super::report(result) {
        // A closed pipe (`| head`) is not an error of its own; a failed host still is.
        Err(e) if e.code == 0 => failures.result().or(Err(e)),
        Err(e) => Err(e),
        Ok(()) => failures.result(),
    }
}

/// `ls` of every host: the polls in parallel, one table (or one JSON array).
fn ls_many(
    sessions: &[Session],
    dir: Option<&std::path::Path>,
    now: DateTime<Utc>,
    json: bool,
    out: &mut impl Write,
    failures: &mut Failures,
) -> Result<(), RunError> {
    if json {
        return json_many(sessions, out, failures, |s, buf| {
            ls::run(s, dir, now, true, buf)
        });
    }
    let polls: Vec<Result<Vec<crate::poll::Vm>, RunError>> =
        in_parallel(sessions, |s| ls::poll_once(s, now))
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::new("the poll panicked").into())))
            .collect();
    let mut hosts: Vec<(&str, Vec<crate::poll::Vm>)> = Vec::new();
    for (s, poll) in sessions.iter().zip(polls) {
        match poll {
            Ok(views) => hosts.push((&s.host, views)),
            Err(e) => failures.report(&s.host, &s.uri, &message(e)),
        }
    }
    let hosts: Vec<(&str, &[crate::poll::Vm])> =
        hosts.iter().map(|(h, v)| (*h, v.as_slice())).collect();
    let mut buf = std::io::BufWriter::with_capacity(64 * 1024, out);
    ls::write_hosts_table(&hosts, now.timestamp(), &mut buf)?;
    buf.flush()?;
    Ok(())
}

/// Run a command that prints a JSON array on every host (in parallel) and print one
/// array: each host's entries in turn, each object with the host's `host`.
fn json_many<F>(
    sessions: &[Session],
    out: &mut impl Write,
    failures: &mut Failures,
    run: F,
) -> Result<(), RunError>
where
    F: Fn(&Session, &mut Vec<u8>) -> Result<(), RunError> + Sync,
{
    let outputs: Vec<Result<Vec<u8>, RunError>> = in_parallel(sessions, |s| {
        let mut buf = Vec::new();
        run(s, &mut buf).map(|()| buf)
    })
    .into_iter()
    .map(|r| r.unwrap_or_else(|| Err(Error::new("the command panicked").into())))
    .collect();
    let mut all = Vec::new();
    for (s, output) in sessions.iter().zip(outputs) {
        let parsed = output.and_then(|buf| {
            serde_json::from_slice::<Vec<serde_json::Value>>(&buf)
                .map_err(|e| Error::new(format!("the command printed no JSON array: {e}")).into())
        });
        match parsed {
            Ok(entries) => all.extend(entries.into_iter().map(|mut e| {
                if let Some(obj) = e.as_object_mut() {
                    obj.insert("host".into(), s.host.clone().into());
                }
                e
            })),
            Err(e) => failures.report(&s.host, &s.uri, &message(e)),
        }
    }
    serde_json::to_writer_pretty(&mut *out, &all)?;
    writeln!(out)?;
    Ok(())
}

/// Run a command host after host, each under a `== host NAME (URI) ==` line.
fn each_host<W, F>(
    sessions: &[Session],
    out: &mut W,
    failures: &mut Failures,
    mut run: F,
) -> Result<(), RunError>
where
    W: Write,
    F: FnMut(&Session, &mut W) -> Result<(), RunError>,
{
    for (i, s) in sessions.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(out, "== host {} ({}) ==", escape(&s.host), escape(&s.uri))?;
        out.flush()?;
        match run(s, out) {
            Ok(()) => {}
            Err(RunError::Cli(e)) => failures.report(&s.host, &s.uri, &e.message),
            Err(io) => return Err(io),
        }
    }
    Ok(())
}

/// The one host `domain` (a name or UUID) is on. A name on several hosts is refused;
/// with `strict`, so is a name that a host that failed might also hold.
fn pick<'a>(
    sessions: &'a [Session],
    domain: &str,
    failures: &mut Failures,
    strict: bool,
) -> Result<&'a Session, Error> {
    let lookups = in_parallel(sessions, |s| s.hv.lookup(domain));
    let mut found = Vec::new();
    for (s, lookup) in sessions.iter().zip(lookups) {
        match lookup {
            Some(Ok(_)) => found.push(s),
            Some(Err(e)) if e.kind == HvErrorKind::NoDomain => {}
            Some(Err(e)) => failures.report(&s.host, &s.uri, &e.message),
            None => failures.report(&s.host, &s.uri, "the lookup panicked"),
        }
    }
    let hosts = |list: &[&Session]| {
        list.iter()
            .map(|s| escape(&s.host).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match found.as_slice() {
        [] => Err(Error::new(format!(
            "no domain named or with UUID {:?} on {}",
            domain,
            hosts(&sessions.iter().collect::<Vec<_>>())
        ))),
        [one] if strict && !failures.hosts.is_empty() => Err(Error::usage(format!(
            "{:?} is on {}, but {} did not answer and may hold one too: pick the host with --host NAME",
            domain,
            escape(&one.host),
            failures.hosts.join(", ")
        ))),
        [one] => Ok(one),
        many => Err(Error::usage(format!(
            "{:?} names a VM on each of {}: pick one with --host NAME (or give its UUID)",
            domain,
            hosts(many)
        ))),
    }
}

fn message(e: RunError) -> String {
    match e {
        RunError::Cli(e) => e.message,
        RunError::Io(e) => e.to_string(),
    }
}
