//! A database table as a log source (docs/formats.md §13, docs/databases.md):
//! `--logs postgresql://USER@HOST:PORT/DB?table=NAME` (or `mysql://…`, [`mysql`]) reads the table's rows through the schema
//! in force, as if they were a CSV export of it: the rows stream out of the server with `COPY …
//! TO STDOUT (FORMAT csv, HEADER)` and go through the same CSV reader, schema and accounting as
//! a file. `--in-database` instead runs the usage-groups query there and reads back the groups.
//!
//! Credentials follow libpq's rules (the URL, then a service file, then the `PG*` environment
//! variables, then `.pgpass` for the password) and are never shown: the source is named
//! everywhere by [`DbSource::shown`], a URL rebuilt without the password.

mod libpq;
mod mysql;
mod rows;

pub(crate) use libpq::mask_url;
pub(crate) use rows::{open_rows, query_csv};

use std::path::Path;
use std::time::Duration;

use postgres::config::Host;
use postgres::{Client, Config, NoTls};

use super::InputError;

/// Whether a `--logs` argument names a database rather than a file.
pub(crate) fn is_database(arg: &Path) -> bool {
    let s = arg.to_string_lossy();
    let lower = s.trim_start().to_ascii_lowercase();
    ["postgresql://", "postgres://", "mysql://", "mariadb://"]
        .iter()
        .any(|p| lower.starts_with(p))
}

/// A table to read, with the settings to reach it. `Debug` shows no password.
#[derive(Clone)]
pub(crate) struct DbSource {
    server: Server,
    /// The table's name parts as given (`LiteLLM_SpendLogs`, `logs.calls`), checked.
    pub table: Vec<String>,
    /// The source as messages, files.csv, rejected.csv and run.json name it.
    pub shown: String,
    /// The password in force, only to mask it should a server message ever echo it.
    secret: Option<String>,
}

/// How to reach the server.
#[derive(Clone)]
enum Server {
    Postgres(Box<Config>),
    Mysql(::mysql::Opts),
}

impl std::fmt::Debug for DbSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl DbSource {
    /// Reads `postgresql://[USER[:PASSWORD]@][HOST][:PORT][/DB]?table=NAME[&service=S&…]`.
    /// Settings the URL leaves out come from the service file, then the environment (`PGHOST`,
    /// `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, …), then `.pgpass`, then libpq's
    /// defaults; `table` is spendrecon's own parameter and required.
    pub(crate) fn parse(arg: &str) -> Result<DbSource, InputError> {
        Self::parse_with(arg, &libpq::Env::from_process())
    }

    fn parse_with(arg: &str, env: &libpq::Env) -> Result<DbSource, InputError> {
        let arg = arg.trim();
        let lower = arg.to_ascii_lowercase();
        let is_mysql = lower.starts_with("mysql://") || lower.starts_with("mariadb://");
        // A URL that fails to parse is named without anything after the scheme's `//` up to
        // the host: it may hold a password.
        let masked = libpq::mask_url(arg);
        let bad = |m: String| InputError::Usage(format!("--logs {masked}: {m}"));
        let (base, query) = match arg.split_once('?') {
            Some((b, q)) => (b, q),
            None => (arg, ""),
        };
        let mut table = None;
        let mut service = None;
        let mut passed = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = libpq::percent_decode(v).map_err(&bad)?;
            match k {
                "table" => table = Some(v),
                "service" => service = Some(v),
                _ => passed.push(pair),
            }
        }
        let table = table.ok_or_else(|| {
            bad("no table named: add `?table=NAME` (e.g. ?table=LiteLLM_SpendLogs)".into())
        })?;
        let table = check_table(&table).map_err(bad)?;
        let url = match passed.is_empty() {
            true => base.to_string(),
            false => format!("{base}?{}", passed.join("&")),
        };
        if is_mysql {
            let (opts, secret, base) = mysql::parse(&url, env).map_err(&bad)?;
            return Ok(DbSource {
                server: Server::Mysql(opts),
                shown: format!("{base}?table={}", table.join(".")),
                table,
                secret,
            });
        }
        let mut config: Config = url
            .parse()
            .map_err(|e: postgres::Error| bad(libpq::mask(&e.to_string(), None)))?;
        let service = service.or_else(|| env.var("PGSERVICE"));
        let from_service = match service {
            Some(name) => env.service(&name).map_err(&bad)?,
            None => Vec::new(),
        };
        libpq::fill(&mut config, &from_service, env).map_err(&bad)?;
        if config.get_connect_timeout().is_none() {
            // A cron job must not hang on a server that never answers.
            config.connect_timeout(Duration::from_secs(30));
        }
        config.application_name("spendrecon");
        let secret = config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let shown = shown(&config, &table);
        Ok(DbSource {
            server: Server::Postgres(Box::new(config)),
            table,
            shown,
            secret,
        })
    }

    /// The table's name quoted for PostgreSQL, part by part.
    pub(crate) fn table_sql(&self) -> String {
        let engine = match self.server {
            Server::Postgres(_) => rows::Engine::Postgres,
            Server::Mysql(_) => rows::Engine::Mysql,
        };
        let q: Vec<String> = self.table.iter().map(|p| engine.quote(p)).collect();
        q.join(".")
    }

    /// The MySQL settings, for a `mysql://` source.
    fn mysql_opts(&self) -> Option<&::mysql::Opts> {
        match &self.server {
            Server::Mysql(o) => Some(o),
            Server::Postgres(_) => None,
        }
    }

    /// The table name as given (`logs.calls`).
    pub(crate) fn table_name(&self) -> String {
        self.table.join(".")
    }

    /// A connection with the session settings every query here relies on: UTC, ISO dates, and
    /// floats written in full (`extra_float_digits` 1 is PostgreSQL 12's default).
    pub(crate) fn connect(&self) -> Result<Client, InputError> {
        let Server::Postgres(config) = &self.server else {
            return Err(InputError::File {
                path: self.shown.clone(),
                message: "--in-database runs the `postgres` statement of `spendrecon sql`: it needs a PostgreSQL table (there is no MySQL dialect); drop --in-database to stream the rows".into(),
            });
        };
        let mut client = config
            .connect(NoTls)
            .map_err(|e| self.pg_error("cannot connect", &e))?;
        client
            .batch_execute(
                "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 1; \
                 SET default_transaction_read_only = on",
            )
            .map_err(|e| self.pg_error("cannot set up the session", &e))?;
        Ok(client)
    }

    /// An error of this source, its text cleared of the password.
    pub(crate) fn error(&self, what: &str, e: &dyn std::fmt::Display) -> InputError {
        InputError::File {
            path: self.shown.clone(),
            message: format!(
                "{what}: {}",
                libpq::mask(&e.to_string(), self.secret.as_deref())
            ),
        }
    }

    /// As [`DbSource::error`] for the client's errors: the server's own message (`relation
    /// "x" does not exist`), or the cause of a failed connection, not just "db error".
    pub(crate) fn pg_error(&self, what: &str, e: &postgres::Error) -> InputError {
        self.error(what, &pg_text(e))
    }
}

/// The words of a client error: the server's message and detail, else the error and its causes.
fn pg_text(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = db.message().to_string();
        if let Some(d) = db.detail() {
            s.push_str(&format!(" ({d})"));
        }
        return s;
    }
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        s.push_str(&format!(": {c}"));
        cause = c.source();
    }
    s
}

/// `postgresql://user@host:port/db?table=NAME`, from the settings in force: no password, ever.
fn shown(c: &Config, table: &[String]) -> String {
    let user = c.get_user().unwrap_or("");
    let host = match c.get_hosts().first() {
        Some(Host::Tcp(h)) if h.contains(':') => format!("[{h}]"),
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => libpq::percent_encode(&p.display().to_string()),
        None => String::new(),
    };
    let port = c
        .get_ports()
        .first()
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    let db = c.get_dbname().unwrap_or("");
    let at = if user.is_empty() { "" } else { "@" };
    format!(
        "postgresql://{user}{at}{host}{port}/{db}?table={}",
        table.join(".")
    )
}

/// The table's name: 1–3 dotted parts of letters, digits, `_` and `$` (quoted when used, so
/// case is kept: `LiteLLM_SpendLogs`).
fn check_table(name: &str) -> Result<Vec<String>, String> {
    let parts: Vec<String> = name.split('.').map(str::to_string).collect();
    if parts.len() > 3 {
        return Err(format!(
            "table `{name}`: at most 3 dotted parts (database.schema.table)"
        ));
    }
    for p in &parts {
        if p.is_empty()
            || p.len() > 63
            || !p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        {
            return Err(format!(
                "table `{}`: a name part must be 1–63 ASCII letters, digits, `_` or `$`",
                name.escape_debug()
            ));
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    impl DbSource {
        fn pg(&self) -> &Config {
            match &self.server {
                Server::Postgres(c) => c,
                Server::Mysql(_) => panic!("not PostgreSQL"),
            }
        }
    }

    fn env(vars: &[(&str, &str)]) -> libpq::Env {
        libpq::Env::fixed(vars, None)
    }

    #[test]
    fn url_gives_settings_and_a_shown_form_without_password() {
        let s = DbSource::parse_with(
            "postgresql://app:s3cr%40t@db.example:6543/logs?table=LiteLLM_SpendLogs&sslmode=disable",
            &env(&[]),
        )
        .unwrap();
        assert_eq!(
            s.shown,
            "postgresql://app@db.example:6543/logs?table=LiteLLM_SpendLogs"
        );
        assert_eq!(s.pg().get_password(), Some(&b"s3cr@t"[..]));
        assert_eq!(s.table_sql(), "\"LiteLLM_SpendLogs\"");
        assert!(!format!("{s:?}").contains("s3cr"));
    }

    #[test]
    fn environment_fills_what_the_url_leaves_out() {
        let s = DbSource::parse_with(
            "postgres:///?table=public.calls",
            &env(&[
                ("PGHOST", "10.0.0.5"),
                ("PGPORT", "5433"),
                ("PGUSER", "reader"),
                ("PGPASSWORD", "pw"),
                ("PGDATABASE", "warehouse"),
            ]),
        )
        .unwrap();
        assert_eq!(
            s.shown,
            "postgresql://reader@10.0.0.5:5433/warehouse?table=public.calls"
        );
        assert_eq!(s.pg().get_password(), Some(&b"pw"[..]));
        assert_eq!(s.table_sql(), "\"public\".\"calls\"");
    }

    #[test]
    fn table_is_required_and_checked() {
        let e = DbSource::parse_with("postgresql://u:pw@h/db", &env(&[])).unwrap_err();
        assert!(e.to_string().contains("?table=NAME"), "{e}");
        assert!(!e.to_string().contains("pw"), "{e}");
        let e = DbSource::parse_with("postgresql://u@h/db?table=a;drop", &env(&[])).unwrap_err();
        assert!(e.to_string().contains("name part"), "{e}");
        let m = DbSource::parse_with("mysql://root:pw@h/test?table=t", &env(&[])).unwrap();
        assert_eq!(m.shown, "mysql://root@h:3306/test?table=t");
        assert_eq!(m.table_sql(), "`t`");
        assert!(m.mysql_opts().is_some());
    }

    #[test]
    fn recognises_database_arguments() {
        assert!(is_database(Path::new("postgresql://u@h/db?table=t")));
        assert!(is_database(Path::new("Postgres://h/db?table=t")));
        assert!(!is_database(Path::new("logs/2026-04.csv")));
    }
}
