//! MySQL and MariaDB tables (`--logs mysql://USER@HOST:PORT/DB?table=NAME`, docs/databases.md):
//! there is no COPY, so the rows stream over the text protocol (`query_iter` reads them as they
//! arrive) and are written here as CSV with a header, for the same reader, schema and accounting
//! as a file. The query is the one the PostgreSQL path builds ([`SelectPlan`]), in MySQL's
//! spelling. There is no MySQL dialect of `spendrecon sql`, so no `--in-database` here.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::bounded;
use mysql::consts::{ColumnFlags, ColumnType};
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder, Value};

use super::libpq::{self, Env};
use super::rows::{stream_from, Column, Engine, Kind, SelectPlan};
use super::DbSource;
use crate::domain::Period;
use crate::sources::record::FieldSet;
use crate::sources::schema::Schema;
use crate::sources::InputError;

/// The connection settings of `url` (`mysql://` or `mariadb://`, without spendrecon's own
/// parameters): the URL first, then the `[client]` group of `~/.my.cnf`, then `MYSQL_PWD` for
/// the password, as the mysql client programs look them up. Returns the settings, the password
/// in force (to mask it) and the source's shown URL up to the table.
pub(super) fn parse(url: &str, env: &Env) -> Result<(Opts, Option<String>, String), String> {
    let url = match url.get(..10) {
        Some(p) if p.eq_ignore_ascii_case("mariadb://") => format!("mysql://{}", &url[10..]),
        _ => url.to_string(),
    };
    let opts = Opts::from_url(&url).map_err(|e| libpq::mask(&e.to_string(), None))?;
    let file = env
        .home()
        .and_then(|h| std::fs::read_to_string(h.join(".my.cnf")).ok())
        .map(|t| client_group(&t))
        .unwrap_or_default();
    let from_file = |k: &str| file.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let user = opts
        .get_user()
        .map(str::to_string)
        .or_else(|| from_file("user"))
        .or_else(|| env.var("USER"))
        .ok_or("no user: give one in the URL (mysql://USER@HOST/DB)")?;
    let pass = opts
        .get_pass()
        .map(str::to_string)
        .or_else(|| from_file("password"))
        .or_else(|| env.var("MYSQL_PWD"));
    let shown = format!(
        "mysql://{user}@{}:{}/{}",
        opts.get_ip_or_hostname(),
        opts.get_tcp_port(),
        opts.get_db_name().unwrap_or("")
    );
    let opts = OptsBuilder::from_opts(opts)
        .user(Some(user))
        .pass(pass.clone())
        .tcp_connect_timeout(Some(Duration::from_secs(30)))
        // A break in the stream must end the read, not hang it.
        .read_timeout(Some(Duration::from_secs(600)))
        .init(vec![
            "SET time_zone = '+00:00'",
            "SET SESSION TRANSACTION READ ONLY",
        ]);
    Ok((opts.into(), pass, shown))
}

/// The `key=value` lines of the `[client]` group of a MySQL option file.
fn client_group(text: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(g) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = g.trim() == "client";
            continue;
        }
        if let (true, Some((k, v))) = (inside, line.split_once('=')) {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
                .unwrap_or(v);
            out.push((k.trim().replace('-', "_"), v.to_string()));
        }
    }
    out
}

fn kind(c: &mysql::Column) -> Kind {
    use ColumnType::*;
    match c.column_type() {
        MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2 => Kind::TimestampTz,
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2 => Kind::Timestamp,
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => Kind::Date,
        // BOOLEAN is TINYINT(1).
        MYSQL_TYPE_TINY if c.column_length() == 1 => Kind::Bool,
        MYSQL_TYPE_TINY
        | MYSQL_TYPE_SHORT
        | MYSQL_TYPE_LONG
        | MYSQL_TYPE_LONGLONG
        | MYSQL_TYPE_INT24
        | MYSQL_TYPE_DECIMAL
        | MYSQL_TYPE_NEWDECIMAL
        | MYSQL_TYPE_FLOAT
        | MYSQL_TYPE_DOUBLE
        | MYSQL_TYPE_YEAR => Kind::Ordered,
        MYSQL_TYPE_VARCHAR | MYSQL_TYPE_VAR_STRING | MYSQL_TYPE_STRING
            if !c.flags().contains(ColumnFlags::BINARY_FLAG) =>
        {
            Kind::Text
        }
        MYSQL_TYPE_BLOB | MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB
            if !c.flags().contains(ColumnFlags::BINARY_FLAG) =>
        {
            Kind::Text
        }
        _ => Kind::Other,
    }
}

fn connect(src: &DbSource, opts: &Opts) -> Result<Conn, InputError> {
    Conn::new(opts.clone()).map_err(|e| src.error("cannot connect", &e))
}

/// The table's rows as a CSV stream with a header, as [`super::open_rows`] gives PostgreSQL's.
pub(super) fn open_rows(
    src: &Arc<DbSource>,
    opts: &Opts,
    schema: &Schema,
    needed: FieldSet,
    period: Period,
) -> Result<(Box<dyn Read + Send>, bool), InputError> {
    let mut conn = connect(src, opts)?;
    let columns: Vec<Column> = {
        let r = conn
            .query_iter(format!("SELECT * FROM {} LIMIT 0", src.table_sql()))
            .map_err(|e| src.error(&format!("cannot read table {}", src.table_name()), &e))?;
        r.columns()
            .as_ref()
            .iter()
            .map(|c| Column {
                name: c.name_str().into_owned(),
                kind: kind(c),
            })
            .collect()
    };
    let plan =
        SelectPlan::new(Engine::Mysql, columns, schema, needed).map_err(|m| InputError::File {
            path: src.shown.clone(),
            message: m,
        })?;
    let pushed = plan.pushes_period();
    let sql = plan.select_sql(&src.table_sql(), period);
    let (tx, rx) = bounded(4);
    let src2 = Arc::clone(src);
    std::thread::spawn(move || {
        let broke = |e: &dyn std::fmt::Display| {
            std::io::Error::other(
                src2.error("the connection broke off while reading rows", e)
                    .to_string(),
            )
        };
        let mut result = match conn.query_iter(sql.as_str()) {
            Ok(r) => r,
            Err(e) => {
                let e = src2.error("the query failed", &e);
                let _ = tx.send(Err(std::io::Error::other(e.to_string())));
                return;
            }
        };
        let new = || csv::Writer::from_writer(Vec::with_capacity(1 << 20));
        // The written block, and a fresh writer in its place.
        let take = |w: &mut csv::Writer<Vec<u8>>| {
            std::mem::replace(w, new()).into_inner().unwrap_or_default()
        };
        let mut w = new();
        let names: Vec<String> = result
            .columns()
            .as_ref()
            .iter()
            .map(|c| c.name_str().into_owned())
            .collect();
        if w.write_record(&names).is_err() {
            return;
        }
        let mut cells: Vec<Vec<u8>> = Vec::new();
        let set = result.iter();
        if let Some(rows) = set {
            for row in rows {
                let row = match row {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx.send(Ok(take(&mut w)));
                        let _ = tx.send(Err(broke(&e)));
                        return;
                    }
                };
                cells.clear();
                for i in 0..row.len() {
                    cells.push(match row.as_ref(i) {
                        None | Some(Value::NULL) => Vec::new(),
                        Some(Value::Bytes(b)) => b.clone(),
                        Some(Value::Int(n)) => n.to_string().into_bytes(),
                        Some(Value::UInt(n)) => n.to_string().into_bytes(),
                        Some(Value::Float(f)) => f.to_string().into_bytes(),
                        Some(Value::Double(f)) => f.to_string().into_bytes(),
                        Some(v) => v.as_sql(true).trim_matches('\'').as_bytes().to_vec(),
                    });
                }
                if w.write_record(&cells).is_err() {
                    return;
                }
                if w.get_ref().len() >= 1 << 20 && tx.send(Ok(take(&mut w))).is_err() {
                    return;
                }
            }
        }
        let _ = tx.send(Ok(take(&mut w)));
    });
    Ok((Box::new(stream_from(rx)), pushed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_file_client_group() {
        let t = "[mysqld]\nuser=mysql\n[client]\nuser = reporting\npassword=\"p w\"\n# c\n";
        assert_eq!(
            client_group(t),
            vec![
                ("user".to_string(), "reporting".to_string()),
                ("password".to_string(), "p w".to_string())
            ]
        );
    }

    #[test]
    fn url_settings_and_shown_form() {
        let env = Env::fixed(&[("MYSQL_PWD", "from-env")], None);
        let (opts, pass, shown) = parse("mariadb://app@db.internal:3307/logs", &env).unwrap();
        assert_eq!(shown, "mysql://app@db.internal:3307/logs");
        assert_eq!(pass.as_deref(), Some("from-env"));
        assert_eq!(opts.get_pass(), Some("from-env"));
        let (_, pass, shown) = parse("mysql://app:s3cret@db/logs", &env).unwrap();
        assert_eq!(pass.as_deref(), Some("s3cret"));
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
