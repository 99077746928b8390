//! Holds the Rust model (`vmlife::model`) to the contract (`assets/vm_lifecycle.ncl`).
//!
//! The contract is read with a small parser for the subset of Nickel it uses (records
//! of `name | Type | default = X | optional` fields), then compared with what the Rust
//! types actually do through serde: field names both ways, JSON types, enum values in
//! order, which fields are required, and the value a missing field gets. The
//! comparison is a function returning every difference, and `detects_mutations` feeds
//! it altered copies of the contract, so this test is known to fail when they drift.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use vmlife::model::*;

// ---------------------------------------------------------------------------------
// The contract's subset of Nickel.
// ---------------------------------------------------------------------------------

/// A field's contract type.
#[derive(Debug, Clone, PartialEq)]
enum Ty {
    Bool,
    Number,
    Str,
    Dyn,
    Array(Box<Ty>),
    /// `[| 'a, 'b |]`, values in order, without the quote.
    Enum(Vec<String>),
}

/// A default value.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Bool(bool),
    Number(f64),
    Str(String),
    Enum(String),
    Array(Vec<Lit>),
}

#[derive(Debug)]
struct Field {
    name: String,
    ty: Ty,
    default: Option<Lit>,
    optional: bool,
}

#[derive(Debug)]
struct Record {
    name: String,
    fields: Vec<Field>,
}

impl Record {
    fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    /// `[|`
    EnumOpen,
    /// `|]`
    EnumClose,
    Pipe,
    Comma,
    Eq,
    Ident(String),
    /// `'name`
    Tag(String),
    Num(f64),
    Str(String),
}

/// Tokens with their line numbers, for messages.
fn tokenize(src: &str) -> Result<Vec<(Tok, usize)>, String> {
    let mut out = Vec::new();
    let mut chars = src.chars().peekable();
    let mut line = 1;
    let ident_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    while let Some(c) = chars.next() {
        let tok = match c {
            '\n' => {
                line += 1;
                continue;
            }
            c if c.is_whitespace() => continue,
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        break;
                    }
                }
                continue;
            }
            '{' => Tok::LBrace,
            '}' => Tok::RBrace,
            ',' => Tok::Comma,
            '=' => Tok::Eq,
            ']' => Tok::RBracket,
            '[' if chars.peek() == Some(&'|') => {
                chars.next();
                Tok::EnumOpen
            }
            '[' => Tok::LBracket,
            '|' if chars.peek() == Some(&']') => {
                chars.next();
                Tok::EnumClose
            }
            '|' => Tok::Pipe,
            '\'' => {
                let mut s = String::new();
                while let Some(&c) = chars.peek().filter(|c| ident_char(**c)) {
                    s.push(c);
                    chars.next();
                }
                if s.is_empty() {
                    return Err(format!("line {line}: ' without an enum tag"));
                }
                Tok::Tag(s)
            }
            '"' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None | Some('\n') => {
                            return Err(format!("line {line}: unterminated string"))
                        }
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some(c @ ('"' | '\\' | '%')) => s.push(c),
                            other => return Err(format!("line {line}: escape \\{other:?}")),
                        },
                        Some(c) => s.push(c),
                    }
                }
                Tok::Str(s)
            }
            c if c.is_ascii_digit() || c == '-' => {
                let mut s = String::from(c);
                while let Some(&c) = chars
                    .peek()
                    .filter(|c| c.is_ascii_alphanumeric() || **c == '.')
                {
                    s.push(c);
                    chars.next();
                }
                Tok::Num(
                    s.parse()
                        .map_err(|_| format!("line {line}: bad number {s}"))?,
                )
            }
            c if ident_char(c) => {
                let mut s = String::from(c);
                while let Some(&c) = chars.peek().filter(|c| ident_char(**c)) {
                    s.push(c);
                    chars.next();
                }
                Tok::Ident(s)
            }
            other => return Err(format!("line {line}: unexpected character {other:?}")),
        };
        out.push((tok, line));
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn next(&mut self) -> Result<Tok, String> {
        let t = self
            .toks
            .get(self.pos)
            .map(|(t, _)| t.clone())
            .ok_or("unexpected end of file")?;
        self.pos += 1;
        Ok(t)
    }

    fn line(&self) -> usize {
        self.toks
            .get(self.pos.min(self.toks.len().saturating_sub(1)))
            .map_or(0, |(_, l)| *l)
    }

    fn expect(&mut self, want: &Tok) -> Result<(), String> {
        let line = self.line();
        match self.next()? {
            t if &t == want => Ok(()),
            t => Err(format!("line {line}: expected {want:?}, found {t:?}")),
        }
    }

    fn ident(&mut self) -> Result<String, String> {
        let line = self.line();
        match self.next()? {
            Tok::Ident(s) => Ok(s),
            t => Err(format!("line {line}: expected a name, found {t:?}")),
        }
    }

    /// `{ item, item, ... }` with an optional trailing comma.
    fn braced<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        self.expect(&Tok::LBrace)?;
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(&Tok::RBrace) {
                self.pos += 1;
                return Ok(items);
            }
            items.push(item(self)?);
            match self.next()? {
                Tok::Comma => {}
                Tok::RBrace => return Ok(items),
                t => {
                    return Err(format!(
                        "line {}: expected , or }}, found {t:?}",
                        self.line()
                    ))
                }
            }
        }
    }

    fn file(&mut self) -> Result<Vec<Record>, String> {
        let records = self.braced(|p| {
            let name = p.ident()?;
            p.expect(&Tok::Eq)?;
            let fields = p.braced(Self::field)?;
            let mut seen = std::collections::HashSet::new();
            if let Some(dup) = fields.iter().find(|f| !seen.insert(f.name.clone())) {
                return Err(format!("{name}: field {} twice", dup.name));
            }
            Ok(Record { name, fields })
        })?;
        if self.pos != self.toks.len() {
            return Err(format!(
                "line {}: text after the top-level record",
                self.line()
            ));
        }
        Ok(records)
    }

    fn field(&mut self) -> Result<Field, String> {
        let name = self.ident()?;
        let (mut ty, mut default, mut optional) = (None, None, false);
        while self.peek() == Some(&Tok::Pipe) {
            self.pos += 1;
            match self.peek() {
                Some(Tok::Ident(k)) if k == "default" => {
                    self.pos += 1;
                    self.expect(&Tok::Eq)?;
                    default = Some(self.literal()?);
                }
                Some(Tok::Ident(k)) if k == "optional" => {
                    self.pos += 1;
                    optional = true;
                }
                _ => {
                    if ty.is_some() {
                        return Err(format!("line {}: {name} has two types", self.line()));
                    }
                    ty = Some(self.ty()?);
                }
            }
        }
        let ty = ty.ok_or_else(|| format!("line {}: {name} has no type", self.line()))?;
        Ok(Field {
            name,
            ty,
            default,
            optional,
        })
    }

    fn ty(&mut self) -> Result<Ty, String> {
        let line = self.line();
        match self.next()? {
            Tok::Ident(s) => match s.as_str() {
                "Bool" => Ok(Ty::Bool),
                "Number" => Ok(Ty::Number),
                "String" => Ok(Ty::Str),
                "Dyn" => Ok(Ty::Dyn),
                "Array" => Ok(Ty::Array(Box::new(self.ty()?))),
                other => Err(format!("line {line}: unknown type {other}")),
            },
            Tok::EnumOpen => {
                let mut values = Vec::new();
                loop {
                    match self.next()? {
                        Tok::Tag(t) => values.push(t),
                        Tok::EnumClose if !values.is_empty() => return Ok(Ty::Enum(values)),
                        t => return Err(format!("line {line}: expected an enum tag, found {t:?}")),
                    }
                    match self.next()? {
                        Tok::Comma => {}
                        Tok::EnumClose => return Ok(Ty::Enum(values)),
                        t => return Err(format!("line {line}: expected , or |], found {t:?}")),
                    }
                }
            }
            t => Err(format!("line {line}: expected a type, found {t:?}")),
        }
    }

    fn literal(&mut self) -> Result<Lit, String> {
        let line = self.line();
        match self.next()? {
            Tok::Ident(s) if s == "true" => Ok(Lit::Bool(true)),
            Tok::Ident(s) if s == "false" => Ok(Lit::Bool(false)),
            Tok::Num(n) => Ok(Lit::Number(n)),
            Tok::Str(s) => Ok(Lit::Str(s)),
            Tok::Tag(t) => Ok(Lit::Enum(t)),
            Tok::LBracket => {
                let mut items = Vec::new();
                loop {
                    if self.peek() == Some(&Tok::RBracket) {
                        self.pos += 1;
                        return Ok(Lit::Array(items));
                    }
                    items.push(self.literal()?);
                    match self.next()? {
                        Tok::Comma => {}
                        Tok::RBracket => return Ok(Lit::Array(items)),
                        t => return Err(format!("line {line}: expected , or ], found {t:?}")),
                    }
                }
            }
            t => Err(format!(
                "line {line}: expected a default value, found {t:?}"
            )),
        }
    }
}

fn parse_contract(src: &str) -> Result<Vec<Record>, String> {
    Parser {
        toks: tokenize(src)?,
        pos: 0,
    }
    .file()
}

// ---------------------------------------------------------------------------------
// The Rust side.
// ---------------------------------------------------------------------------------

/// One model record as the comparison sees it.
struct RustRecord {
    name: &'static str,
    /// A value with every `Option` set and every array non-empty: its JSON has every
    /// field with a value of the field's type.
    full: Value,
    /// `Default::default()` as JSON, for the records that have a `Default`.
    default: Option<Value>,
    /// JSON → the Rust type → JSON; `Err` with serde's message when Rust rejects it.
    round_trip: fn(Value) -> Result<Value, String>,
    /// Fields the contract requires that Rust deliberately makes `Option` (unknown or
    /// not yet stamped is `null`, never a made-up value).
    nullable_required: &'static [&'static str],
}

fn round_trip<T: Serialize + DeserializeOwned>(v: Value) -> Result<Value, String> {
    let t: T = serde_json::from_value(v).map_err(|e| e.to_string())?;
    serde_json::to_value(t).map_err(|e| e.to_string())
}

fn to_json<T: Serialize>(t: &T) -> Value {
    serde_json::to_value(t).expect("model values serialize")
}

fn at(unix: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(unix, 0).expect("valid timestamp")
}

/// The seven contract records in the Rust model. `VmLifecyclePolicyOverride` is not a
/// contract record (it is the per-VM form of `VmLifecyclePolicy`), so it is not here.
fn rust_records() -> Vec<RustRecord> {
    let persistence = VmPersistence {
        created_at_unix: Some(1_700_000_000),
        scheduled_cleanup: Some(1_700_086_400),
        last_state_change: Some(1_700_000_100),
        ..Default::default()
    };
    let autostart = VmAutoStartConfig {
        vm_name: "web-1".into(),
        depends_on: vec!["db-1".into()],
        ..Default::default()
    };
    let schedule = VmCleanupSchedule {
        vm_name: "tmp-1".into(),
        vm_id: "6695eb01-f6a4-8304-79aa-97f2502e193f".into(),
        mode: CleanupMode::Temporary,
        created_at: at(1_700_000_000),
        scheduled_cleanup_at: at(1_700_086_400),
        ttl_hours: 24.0,
        cleanup_status: CleanupStatus::Failed,
        cleanup_attempts: 2,
        last_cleanup_attempt: Some(at(1_700_090_000)),
        cleanup_error: Some("guest did not shut down".into()),
    };
    let recovery = VmRecoveryState {
        vm_name: "web-1".into(),
        vm_id: "6695eb01-f6a4-8304-79aa-97f2502e193f".into(),
        state_before_shutdown: RecoveryVmState::Paused,
        creation_timestamp: at(1_700_000_000),
        last_checkpoint: at(1_700_050_000),
        memory_snapshot: Some("/var/lib/libvirt/qemu/save/web-1.save".into()),
        memory_size_mb: Some(2048),
        config_snapshot: json!("<domain/>"),
    };
    let snapshot = VmStateSnapshot {
        vm_name: "web-1".into(),
        snapshot_time: at(1_700_000_000),
        vm_state: VmState::Running,
        cpu_usage_percent: Some(12.5),
        memory_usage_mb: Some(1024),
        disk_usage_gb: Some(3.25),
        ip_addresses: vec!["192.0.2.10".to_string()].into(),
        mac_addresses: vec!["52:54:00:12:34:56".to_string()].into(),
        uptime_seconds: Some(3600),
        restart_count: 1,
    };
    vec![
        RustRecord {
            name: "VmPersistence",
            full: to_json(&persistence),
            default: Some(to_json(&VmPersistence::default())),
            round_trip: round_trip::<VmPersistence>,
            nullable_required: &["created_at_unix"],
        },
        RustRecord {
            name: "VmLifecyclePolicy",
            full: to_json(&VmLifecyclePolicy::default()),
            default: Some(to_json(&VmLifecyclePolicy::default())),
            round_trip: round_trip::<VmLifecyclePolicy>,
            nullable_required: &[],
        },
        RustRecord {
            name: "VmCleanupSchedule",
            full: to_json(&schedule),
            default: None,
            round_trip: round_trip::<VmCleanupSchedule>,
            nullable_required: &[],
        },
        RustRecord {
            name: "VmRecoveryState",
            full: to_json(&recovery),
            default: None,
            round_trip: round_trip::<VmRecoveryState>,
            nullable_required: &[],
        },
        RustRecord {
            name: "VmAutoStartConfig",
            full: to_json(&autostart),
            default: Some(to_json(&VmAutoStartConfig::default())),
            round_trip: round_trip::<VmAutoStartConfig>,
            nullable_required: &[],
        },
        RustRecord {
            name: "VmCleanupPolicy",
            full: to_json(&VmCleanupPolicy::default()),
            default: Some(to_json(&VmCleanupPolicy::default())),
            round_trip: round_trip::<VmCleanupPolicy>,
            nullable_required: &[],
        },
        RustRecord {
            name: "VmStateSnapshot",
            full: to_json(&snapshot),
            default: None,
            round_trip: round_trip::<VmStateSnapshot>,
            nullable_required: &[
                "cpu_usage_percent",
                "memory_usage_mb",
                "disk_usage_gb",
                "uptime_seconds",
            ],
        },
    ]
}

/// Every enum-typed contract field and the Rust enum behind it.
const ENUMS: &[(&str, &str, &[&str])] = &[
    ("VmPersistence", "mode", PersistenceMode::NAMES),
    ("VmPersistence", "restart_policy", RestartPolicy::NAMES),
    (
        "VmLifecyclePolicy",
        "on_host_reboot",
        HostRebootAction::NAMES,
    ),
    (
        "VmLifecyclePolicy",
        "on_host_shutdown",
        HostShutdownAction::NAMES,
    ),
    (
        "VmLifecyclePolicy",
        "on_memory_pressure",
        PressureAction::NAMES,
    ),
    ("VmLifecyclePolicy", "on_disk_full", PressureAction::NAMES),
    ("VmCleanupSchedule", "mode", CleanupMode::NAMES),
    ("VmCleanupSchedule", "cleanup_status", CleanupStatus::NAMES),
    (
        "VmRecoveryState",
        "state_before_shutdown",
        RecoveryVmState::NAMES,
    ),
    (
        "VmAutoStartConfig",
        "on_start_failure",
        StartFailureAction::NAMES,
    ),
    ("VmStateSnapshot", "vm_state", VmState::NAMES),
];

// ---------------------------------------------------------------------------------
// The comparison.
// ---------------------------------------------------------------------------------

/// Nickel spelling, for messages.
fn show_lit(l: &Lit) -> String {
    match l {
        Lit::Bool(b) => b.to_string(),
        Lit::Number(n) => n.to_string(),
        Lit::Str(s) => format!("{s:?}"),
        Lit::Enum(t) => format!("'{t}"),
        Lit::Array(items) => format!(
            "[{}]",
            items.iter().map(show_lit).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn show_ty(t: &Ty) -> String {
    match t {
        Ty::Bool => "Bool".into(),
        Ty::Number => "Number".into(),
        Ty::Str => "String".into(),
        Ty::Dyn => "Dyn".into(),
        Ty::Array(t) => format!("Array {}", show_ty(t)),
        Ty::Enum(vs) => format!(
            "[| {} |]",
            vs.iter()
                .map(|v| format!("'{v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A contract literal equals a JSON value; numbers compare numerically (24 == 24.0).
fn lit_eq(l: &Lit, v: &Value) -> bool {
    match (l, v) {
        (Lit::Bool(a), Value::Bool(b)) => a == b,
        (Lit::Number(a), Value::Number(b)) => b.as_f64() == Some(*a),
        (Lit::Str(a), Value::String(b)) | (Lit::Enum(a), Value::String(b)) => a == b,
        (Lit::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| lit_eq(x, y))
        }
        _ => false,
    }
}

/// A JSON value has the contract type (enum membership is checked separately).
fn has_type(t: &Ty, v: &Value) -> bool {
    match t {
        Ty::Bool => v.is_boolean(),
        Ty::Number => v.is_number(),
        Ty::Str | Ty::Enum(_) => v.is_string(),
        Ty::Dyn => true,
        Ty::Array(inner) => v
            .as_array()
            .is_some_and(|items| items.iter().all(|i| has_type(inner, i))),
    }
}

/// `v` with `field` set to `to` (JSON object).
fn with(v: &Value, field: &str, to: Value) -> Value {
    let mut v = v.clone();
    if let Some(obj) = v.as_object_mut() {
        obj.insert(field.to_string(), to);
    }
    v
}

/// Every difference between the contract text and the Rust model, one line each,
/// naming the record and field. Empty when they agree.
fn differences(contract: &str) -> Vec<String> {
    let records = match parse_contract(contract) {
        Ok(r) => r,
        Err(e) => return vec![format!("contract does not parse: {e}")],
    };
    let rust = rust_records();
    let mut diffs = Vec::new();

    for r in &records {
        if records.iter().filter(|o| o.name == r.name).count() > 1 {
            diffs.push(format!("record {}: twice in the contract", r.name));
        }
        if !rust.iter().any(|x| x.name == r.name) {
            diffs.push(format!(
                "record {}: in the contract, not in the Rust model",
                r.name
            ));
        }
    }
    for x in &rust {
        if !records.iter().any(|r| r.name == x.name) {
            diffs.push(format!(
                "record {}: in the Rust model, not in the contract",
                x.name
            ));
        }
    }
    for (rec, field, _) in ENUMS {
        let is_enum = records
            .iter()
            .find(|r| r.name == *rec)
            .and_then(|r| r.field(field))
            .is_some_and(|f| matches!(f.ty, Ty::Enum(_)));
        if !is_enum {
            diffs.push(format!(
                "{rec}.{field}: in the test's ENUMS table, but not an enum field of the contract"
            ));
        }
    }

    for x in &rust {
        if let Some(r) = records.iter().find(|r| r.name == x.name) {
            compare_record(r, x, &mut diffs);
        }
    }
    diffs
}

fn compare_record(r: &Record, x: &RustRecord, diffs: &mut Vec<String>) {
    let name = x.name;
    let empty = serde_json::Map::new();
    let full = x.full.as_object().unwrap_or(&empty);

    // Field names, both ways.
    for f in &r.fields {
        if !full.contains_key(&f.name) {
            diffs.push(format!(
                "{name}.{}: in the contract, not in the Rust model",
                f.name
            ));
        }
    }
    for k in full.keys() {
        if r.field(k).is_none() {
            diffs.push(format!(
                "{name}.{k}: in the Rust model, not in the contract"
            ));
        }
    }

    for f in r.fields.iter().filter(|f| full.contains_key(&f.name)) {
        let field = f.name.as_str();
        let sample = &full[field];

        // Type: the full sample has a value of the field's type.
        if !has_type(&f.ty, sample) {
            diffs.push(format!(
                "{name}.{field}: contract type {}, Rust writes {sample}",
                show_ty(&f.ty)
            ));
        }

        // Enum values, in order; and each one is accepted by the Rust field itself,
        // which proves the ENUMS table maps the field to the right Rust enum.
        if let Ty::Enum(values) = &f.ty {
            match ENUMS
                .iter()
                .find(|(rec, fl, _)| *rec == name && *fl == field)
            {
                None => diffs.push(format!(
                    "{name}.{field}: enum field with no entry in the test's ENUMS table"
                )),
                Some((_, _, names)) => {
                    if values.iter().map(String::as_str).ne(names.iter().copied()) {
                        diffs.push(format!(
                            "{name}.{field}: enum values differ: contract [{}], Rust [{}]",
                            values.join(", "),
                            names.join(", ")
                        ));
                    }
                }
            }
            for v in values {
                let back = (x.round_trip)(with(&x.full, field, json!(v)));
                if back.as_ref().map(|b| &b[field]) != Ok(&json!(v)) {
                    diffs.push(format!(
                        "{name}.{field}: Rust does not take contract value '{v}"
                    ));
                }
            }
        }

        // Required fields: Rust must not accept null, except the deliberate Options (and
        // `Dyn`, where null is a value like any other).
        if f.default.is_none() && !f.optional && f.ty != Ty::Dyn {
            let accepts_null = (x.round_trip)(with(&x.full, field, Value::Null)).is_ok();
            let deliberate = x.nullable_required.contains(&field);
            if accepts_null && !deliberate {
                diffs.push(format!(
                    "{name}.{field}: required in the contract, but Rust accepts null"
                ));
            }
            if !accepts_null && deliberate {
                diffs.push(format!(
                    "{name}.{field}: listed as deliberately nullable, but Rust requires a value"
                ));
            }
        }

        // Defaults as the Rust `Default` has them.
        if let (Some(lit), Some(default)) = (&f.default, &x.default) {
            if !lit_eq(lit, &default[field]) {
                diffs.push(format!(
                    "{name}.{field}: default differs: contract {}, Rust Default {}",
                    show_lit(lit),
                    default[field]
                ));
            }
        }
    }

    // What a missing field becomes: deserialize only the fields the contract requires.
    let mut minimal = full.clone();
    minimal.retain(|k, _| !matches!(r.field(k), Some(f) if f.default.is_some() || f.optional));
    match (x.round_trip)(Value::Object(minimal)) {
        Err(e) => diffs.push(format!(
            "{name}: Rust cannot read a value without the fields the contract defaults or makes optional: {e}"
        )),
        Ok(filled) => {
            for f in r.fields.iter().filter(|f| full.contains_key(&f.name)) {
                let got = &filled[f.name.as_str()];
                if let Some(lit) = &f.default {
                    if !lit_eq(lit, got) {
                        diffs.push(format!(
                            "{name}.{}: default differs: contract {}, Rust reads a missing field as {got}",
                            f.name,
                            show_lit(lit)
                        ));
                    }
                } else if f.optional && !got.is_null() {
                    diffs.push(format!(
                        "{name}.{}: optional in the contract, but Rust reads a missing field as {got}",
                        f.name
                    ));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------

fn contract_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/vm_lifecycle.ncl");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn rust_model_matches_contract() {
    let diffs = differences(&contract_text());
    assert!(
        diffs.is_empty(),
        "the Rust model differs from assets/vm_lifecycle.ncl:\n  {}",
        diffs.join("\n  ")
    );
}

#[test]
fn parser_reads_the_whole_contract() {
    let records = parse_contract(&contract_text()).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "VmPersistence",
            "VmLifecyclePolicy",
            "VmCleanupSchedule",
            "VmRecoveryState",
            "VmAutoStartConfig",
            "VmCleanupPolicy",
            "VmStateSnapshot"
        ]
    );
    let counts: Vec<usize> = records.iter().map(|r| r.fields.len()).collect();
    assert_eq!(counts, [11, 7, 10, 8, 9, 13, 10]);

    let p = &records[0];
    let created = p.field("created_at_unix").expect("created_at_unix");
    assert_eq!(
        (&created.ty, &created.default, created.optional),
        (&Ty::Number, &None, false)
    );
    let scheduled = p.field("scheduled_cleanup").expect("scheduled_cleanup");
    assert!(scheduled.optional && scheduled.default.is_none());
    let restart = p.field("restart_policy").expect("restart_policy");
    assert_eq!(
        restart.ty,
        Ty::Enum(vec!["no".into(), "always".into(), "on_failure".into()])
    );
    assert_eq!(restart.default, Some(Lit::Enum("always".into())));

    let depends = records[4].field("depends_on").expect("depends_on");
    assert_eq!(depends.ty, Ty::Array(Box::new(Ty::Str)));
    assert_eq!(depends.default, Some(Lit::Array(vec![])));
    let window = records[5]
        .field("cleanup_window_start")
        .expect("cleanup_window_start");
    assert_eq!(window.default, Some(Lit::Str("02:00".into())));
    assert_eq!(
        records[3].field("config_snapshot").map(|f| &f.ty),
        Some(&Ty::Dyn)
    );
}

/// Each altered contract must produce the expected difference (a substring of one of
/// the reported lines); `None` means the alteration is not a difference.
#[test]
fn detects_mutations() {
    let cases: &[(&str, &str, Option<&str>)] = &[
        (
            "max_retries | Number | default = 5",
            "max_retries | Number | default = 6",
            Some("VmPersistence.max_retries: default differs: contract 6, Rust Default 5"),
        ),
        (
            "'no, 'always, 'on_failure |]",
            "'no, 'always, 'on_failure, 'sometimes |]",
            Some("VmPersistence.restart_policy: enum values differ: contract [no, always, on_failure, sometimes], Rust [no, always, on_failure]"),
        ),
        (
            "'start, 'keep_stopped, 'destroy",
            "'keep_stopped, 'start, 'destroy",
            Some("VmLifecyclePolicy.on_host_reboot: enum values differ"),
        ),
        (
            "'pending, 'in_progress, 'completed, 'failed",
            "'pending, 'in_progress, 'completed, 'failed, 'cancelled",
            Some("VmCleanupSchedule.cleanup_status: Rust does not take contract value 'cancelled"),
        ),
        (
            "on_start_failure | [| 'stop, 'retry, 'ignore |] | default = 'retry",
            "on_start_failure | [| 'stop, 'retry, 'ignore |] | default = 'stop",
            Some("VmAutoStartConfig.on_start_failure: default differs: contract 'stop, Rust Default \"retry\""),
        ),
        (
            "cleanup_window_start | String | default = \"02:00\"",
            "cleanup_window_start | String | default = \"03:00\"",
            Some("VmCleanupPolicy.cleanup_window_start: default differs: contract \"03:00\", Rust Default \"02:00\""),
        ),
        (
            "cleanup_attempts | Number | default = 0",
            "cleanup_attempts | Number | default = 1",
            Some("VmCleanupSchedule.cleanup_attempts: default differs: contract 1, Rust reads a missing field as 0"),
        ),
        (
            "depends_on | Array String | default = []",
            "depends_on | Array String | default = [\"db-1\"]",
            Some("VmAutoStartConfig.depends_on: default differs: contract [\"db-1\"], Rust Default []"),
        ),
        (
            "enforce_cpu_limit | Bool | default = true",
            "enforce_cpu_limit | Number | default = 1",
            Some("VmLifecyclePolicy.enforce_cpu_limit: contract type Number, Rust writes true"),
        ),
        (
            "    retention_days | Number | default = 7,\n",
            "",
            Some("VmCleanupPolicy.retention_days: in the Rust model, not in the contract"),
        ),
        (
            "    dry_run_mode | Bool | default = false,\n",
            "    dry_run_mode | Bool | default = false,\n    dry_run_verbose | Bool | default = false,\n",
            Some("VmCleanupPolicy.dry_run_verbose: in the contract, not in the Rust model"),
        ),
        (
            "VmStateSnapshot = {",
            "VmStateSample = {",
            Some("record VmStateSnapshot: in the Rust model, not in the contract"),
        ),
        (
            "VmStateSnapshot = {",
            "VmStateSample = {",
            Some("record VmStateSample: in the contract, not in the Rust model"),
        ),
        (
            "scheduled_cleanup | Number | optional",
            "scheduled_cleanup | Number",
            Some("VmPersistence.scheduled_cleanup: required in the contract, but Rust accepts null"),
        ),
        (
            "memory_snapshot | String | optional",
            "memory_snapshot | String | default = \"\"",
            Some("VmRecoveryState.memory_snapshot: default differs: contract \"\", Rust reads a missing field as null"),
        ),
        (
            "state_before_shutdown | [| 'running, 'stopped, 'paused |],",
            "state_before_shutdown | [| 'running, 'stopped, 'paused |] | optional,",
            Some("VmRecoveryState: Rust cannot read a value without the fields the contract defaults or makes optional: missing field `state_before_shutdown`"),
        ),
        (
            "snapshot_time | String,\n    vm_state",
            "snapshot_time | [| 'now |],\n    vm_state",
            Some("VmStateSnapshot.snapshot_time: enum field with no entry in the test's ENUMS table"),
        ),
        (
            "vm_state | [| 'stopped, 'starting, 'running, 'stopping, 'paused, 'error |]",
            "vm_state | String",
            Some("VmStateSnapshot.vm_state: in the test's ENUMS table, but not an enum field of the contract"),
        ),
        ("ttl_hours | Number | default = 24", "ttl_hours | Number | default = 24.0", None),
        ("# VM Lifecycle Contracts", "# a comment, with | and { in it", None),
        ("auto_start | Bool | default = false,", "auto_start | Bool default = false,", Some("contract does not parse")),
    ];
    let original = contract_text();
    let mut failures = Vec::new();
    for (from, to, want) in cases {
        assert_eq!(
            original.matches(from).count(),
            1,
            "mutation anchor {from:?} must occur once"
        );
        let diffs = differences(&original.replacen(from, to, 1));
        let ok = match want {
            Some(w) => diffs.iter().any(|d| d.contains(w)),
            None => diffs.is_empty(),
        };
        if !ok {
            failures.push(format!(
                "{from:?} -> {to:?}\n    want: {}\n    got:  {diffs:#?}",
                want.unwrap_or("no difference")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
