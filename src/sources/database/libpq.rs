//! libpq's rules for where connection settings come from, for the settings `rust-postgres` does
//! not look up itself (it reads the URL only): a service file (`?service=` or `PGSERVICE`), the
//! `PG*` environment variables, and `.pgpass` for the password. Written here because no crate
//! does this for `postgres::Config`; each rule follows the PostgreSQL manual's "libpq —
//! Environment Variables", "The Connection Service File" and "The Password File" pages.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use postgres::config::{Host, SslMode};
use postgres::Config;

/// The environment the settings are looked up in (the process's, or a fixed one in tests).
pub(super) struct Env {
    vars: HashMap<String, String>,
    home: Option<PathBuf>,
}

impl Env {
    pub(super) fn from_process() -> Env {
        Env {
            vars: std::env::vars()
                .filter(|(k, _)| {
                    k.starts_with("PG") || k.starts_with("MYSQL_") || k == "USER" || k == "LOGNAME"
                })
                .collect(),
            home: std::env::var_os("HOME").map(PathBuf::from),
        }
    }

    #[cfg(test)]
    pub(super) fn fixed(vars: &[(&str, &str)], home: Option<&Path>) -> Env {
        Env {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            home: home.map(Path::to_path_buf),
        }
    }

    pub(super) fn home(&self) -> Option<&Path> {
        self.home.as_deref()
    }

    pub(super) fn var(&self, k: &str) -> Option<String> {
        self.vars.get(k).filter(|v| !v.is_empty()).cloned()
    }

    /// The settings of service `name`: the user's service file (`PGSERVICEFILE`, else
    /// `~/.pg_service.conf`) first, then the system's (`PGSYSCONFDIR/pg_service.conf`).
    pub(super) fn service(&self, name: &str) -> Result<Vec<(String, String)>, String> {
        let mut files = Vec::new();
        match self.var("PGSERVICEFILE") {
            Some(f) => files.push(PathBuf::from(f)),
            None => files.extend(self.home.as_ref().map(|h| h.join(".pg_service.conf"))),
        }
        if let Some(d) = self.var("PGSYSCONFDIR") {
            files.push(Path::new(&d).join("pg_service.conf"));
        }
        for f in &files {
            let Ok(text) = std::fs::read_to_string(f) else {
                continue;
            };
            if let Some(pairs) = service_section(&text, name) {
                return Ok(pairs);
            }
        }
        Err(format!(
            "service `{name}` is not defined in {}",
            if files.is_empty() {
                "any service file (set PGSERVICEFILE)".to_string()
            } else {
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" or ")
            }
        ))
    }

    fn pgpass_file(&self) -> Option<PathBuf> {
        self.var("PGPASSFILE")
            .map(PathBuf::from)
            .or_else(|| self.home.as_ref().map(|h| h.join(".pgpass")))
    }
}

/// The `key=value` lines of `[name]` in a service file's text.
fn service_section(text: &str, name: &str) -> Option<Vec<(String, String)>> {
    let mut inside = false;
    let mut found = false;
    let mut pairs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = section.trim() == name;
            found |= inside;
            continue;
        }
        if inside {
            if let Some((k, v)) = line.split_once('=') {
                pairs.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
    found.then_some(pairs)
}

/// Fills what the URL left out: from the service's settings, then the environment, then
/// libpq's defaults; the password last of all from `.pgpass`, which is matched on the host,
/// port, database and user in force.
pub(super) fn fill(c: &mut Config, service: &[(String, String)], env: &Env) -> Result<(), String> {
    let from = |key: &str, var: &str| -> Option<String> {
        service
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
            .or_else(|| env.var(var))
    };
    if c.get_hosts().is_empty() {
        let hosts = from("host", "PGHOST").unwrap_or_else(|| {
            // libpq's default is the server's socket directory (Debian's), else localhost.
            if Path::new("/var/run/postgresql").is_dir() {
                "/var/run/postgresql".into()
            } else {
                "localhost".into()
            }
        });
        for h in hosts.split(',') {
            if h.starts_with('/') {
                c.host_path(h);
            } else {
                c.host(h);
            }
        }
    }
    if c.get_ports().is_empty() {
        let port = from("port", "PGPORT").unwrap_or_else(|| "5432".into());
        let port: u16 = port
            .parse()
            .map_err(|_| format!("port `{port}` is not a port number"))?;
        c.port(port);
    }
    if c.get_user().is_none() {
        let user = from("user", "PGUSER")
            .or_else(|| env.var("USER"))
            .or_else(|| env.var("LOGNAME"))
            .ok_or("no user: give one in the URL (postgresql://USER@HOST/DB) or PGUSER")?;
        c.user(&user);
    }
    if c.get_dbname().is_none() {
        let db = from("dbname", "PGDATABASE").unwrap_or_else(|| c.get_user().unwrap_or("").into());
        c.dbname(&db);
    }
    if let Some(t) = from("connect_timeout", "PGCONNECT_TIMEOUT") {
        let secs: u64 = t
            .parse()
            .map_err(|_| format!("connect_timeout `{t}` is not a number of seconds"))?;
        c.connect_timeout(Duration::from_secs(secs.max(2)));
    }
    if let Some(mode) = from("sslmode", "PGSSLMODE") {
        c.ssl_mode(match mode.as_str() {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            other => return Err(no_tls(other)),
        });
    }
    if c.get_ssl_mode() == SslMode::Require {
        return Err(no_tls("require"));
    }
    if c.get_password().is_none() {
        let pw = from("password", "PGPASSWORD").or_else(|| pgpass(c, env));
        if let Some(pw) = pw {
            c.password(pw);
        }
    }
    Ok(())
}

fn no_tls(mode: &str) -> String {
    format!(
        "sslmode={mode}: this build connects without TLS (docs/databases.md); reach the server over a local socket, an SSH tunnel or a private network with sslmode=disable or prefer"
    )
}

/// The password `.pgpass` holds for the connection's first host, port, database and user.
/// As libpq does, a file others can read is ignored (with the reason on stderr).
fn pgpass(c: &Config, env: &Env) -> Option<String> {
    let file = env.pgpass_file()?;
    let text = std::fs::read_to_string(&file).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(&file) {
            if m.permissions().mode() & 0o077 != 0 {
                eprintln!(
                    "warning: password file {} has group or world access; ignored (chmod 0600 it)",
                    file.display()
                );
                return None;
            }
        }
    }
    let host = match c.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        // A socket connection matches the entries for `localhost`.
        Some(Host::Unix(_)) | None => "localhost".into(),
    };
    let port = c.get_ports().first().copied().unwrap_or(5432).to_string();
    let want = [
        host.as_str(),
        port.as_str(),
        c.get_dbname().unwrap_or(""),
        c.get_user().unwrap_or(""),
    ];
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(pgpass_fields)
        .find(|f| f.len() == 5 && (0..4).all(|i| f[i] == "*" || f[i] == want[i]))
        .map(|f| f[4].clone())
}

/// A `.pgpass` line's five fields: `:` separates, `\` escapes `:` and `\`.
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => {
                if let Some(n) = chars.next() {
                    fields.last_mut().expect("one field").push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

/// `%XX` decoded (a URL's query value).
pub(super) fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(v) => {
                    out.push(v);
                    i += 3;
                    continue;
                }
                None => return Err(format!("bad %-escape in `{s}`")),
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("`{s}` is not UTF-8 once decoded"))
}

/// A socket directory as a URL's host (`/var/run/postgresql` → `%2Fvar%2Frun%2Fpostgresql`).
pub(super) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A URL as given, its password (`user:password@`) and any `password=` parameter replaced by
/// `***`: for messages about a URL that did not parse.
pub(crate) fn mask_url(url: &str) -> String {
    let mut s = url.to_string();
    if let Some(i) = s.find("://") {
        let rest_start = i + 3;
        let end = s[rest_start..]
            .find(['/', '?'])
            .map_or(s.len(), |j| rest_start + j);
        if let Some(at) = s[rest_start..end].rfind('@') {
            let userinfo = &s[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                s.replace_range(rest_start + colon + 1..rest_start + at, "***");
            }
        }
    }
    mask_param(&s, "password=")
}

fn mask_param(s: &str, key: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(key) {
        let start = i + key.len();
        out.push_str(&rest[..start]);
        out.push_str("***");
        let tail = &rest[start..];
        let end = tail.find(['&', ' ']).unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// A message cleared of the password (should a library or server ever echo it).
pub(super) fn mask(message: &str, secret: Option<&str>) -> String {
    let m = mask_url(message);
    match secret.filter(|s| s.len() >= 3) {
        Some(s) => m.replace(s, "***"),
        None => m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_file_sections() {
        let text = "# comment\n[other]\nhost=x\n[billing]\nhost = db.internal\nport=6432\nuser=fin\npassword=pw\ndbname=litellm\n";
        let pairs = service_section(text, "billing").unwrap();
        assert_eq!(pairs[0], ("host".into(), "db.internal".into()));
        assert_eq!(pairs.len(), 5);
        assert!(service_section(text, "nope").is_none());
    }

    #[test]
    fn pgpass_lines_escape_colons() {
        assert_eq!(
            pgpass_fields(r"db.internal:5432:*:fin:pa\:ss\\word"),
            vec!["db.internal", "5432", "*", "fin", r"pa:ss\word"]
        );
    }

    #[test]
    fn pgpass_gives_the_password_of_the_matching_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(
            &file,
            "# host:port:db:user:password\nother:5432:*:fin:wrong\ndb.internal:*:litellm:fin:right\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let env = Env::fixed(&[("PGPASSFILE", file.to_str().unwrap())], None);
        let mut c: Config = "postgresql://fin@db.internal/litellm".parse().unwrap();
        fill(&mut c, &[], &env).unwrap();
        assert_eq!(c.get_password(), Some(&b"right"[..]));
    }

    #[test]
    fn service_settings_come_before_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("services.conf");
        std::fs::write(&file, "[billing]\nhost=svc-host\nuser=svc-user\n").unwrap();
        let env = Env::fixed(
            &[
                ("PGSERVICEFILE", file.to_str().unwrap()),
                ("PGHOST", "env-host"),
                ("PGDATABASE", "envdb"),
            ],
            None,
        );
        let pairs = env.service("billing").unwrap();
        let mut c = Config::new();
        fill(&mut c, &pairs, &env).unwrap();
        assert_eq!(c.get_hosts(), &[Host::Tcp("svc-host".into())]);
        assert_eq!(c.get_user(), Some("svc-user"));
        assert_eq!(c.get_dbname(), Some("envdb"));
        assert!(env.service("missing").unwrap_err().contains("not defined"));
    }

    #[test]
    fn tls_modes_that_need_tls_are_refused() {
        let env = Env::fixed(&[("PGSSLMODE", "verify-full"), ("PGUSER", "u")], None);
        let mut c = Config::new();
        assert!(fill(&mut c, &[], &env).unwrap_err().contains("without TLS"));
    }

    #[test]
    fn urls_and_messages_are_masked() {
        assert_eq!(
            mask_url("postgresql://app:s3cret@db:5432/x?table=t&password=abc"),
            "postgresql://app:***@db:5432/x?table=t&password=***"
        );
        assert_eq!(mask_url("postgresql://app@db/x"), "postgresql://app@db/x");
        assert_eq!(
            mask("auth failed for hunter22", Some("hunter22")),
            "auth failed for ***"
        );
    }
}
