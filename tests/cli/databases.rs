//! Databases as log sources (issue 20, CONTRACT §13), against the machine's real PostgreSQL
//! (127.0.0.1:5432, database `test`; `SPENDRECON_TEST_PG` names another): tables made by the
//! tests themselves, read with `--logs postgresql://…?table=NAME` (rows streamed with COPY) and
//! with `--in-database` (the usage groups computed there), compared with reading files.
//!
//! Without a server the tests say so and pass, except under CI (`.ci/run` checks the server
//! answers first).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{
    assert_same_results, case_results, fixture, fixture_bytes, read, root, run_ok, spendrecon,
    SAMPLE_CASES,
};

const DEFAULT_SERVER: &str = "postgresql://root@127.0.0.1:5432/test";

/// The server's URL (no table), or `None` (and a note) when none answers outside CI.
fn server() -> Option<String> {
    let url = std::env::var("SPENDRECON_TEST_PG").unwrap_or_else(|_| DEFAULT_SERVER.into());
    match postgres::Client::connect(&url, postgres::NoTls) {
        Ok(_) => Some(url),
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "PostgreSQL at {url} does not answer under CI: {e}"
            );
            eprintln!("skipped: PostgreSQL at {url} does not answer ({e}); set SPENDRECON_TEST_PG");
            None
        }
    }
}

/// A table of the test's own, dropped when the test ends.
struct Table {
    server: String,
    name: String,
}

impl Table {
    fn new(server: &str, name: &str) -> Table {
        let t = Table {
            server: server.into(),
            name: format!("sr_{name}_{}", std::process::id()),
        };
        t.sql(&format!("DROP TABLE IF EXISTS \"{}\"", t.name));
        t
    }

    fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.server, postgres::NoTls).unwrap()
    }

    /// Runs statements, `$T` standing for the table's quoted name.
    fn sql(&self, statements: &str) {
        let s = statements.replace("$T", &format!("\"{}\"", self.name));
        self.client()
            .batch_execute(&s)
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }

    /// Loads CSV with a header into the table (COPY FROM STDIN, as psql's \copy does).
    fn load_csv(&self, csv: &[u8]) {
        let mut c = self.client();
        let mut w = c
            .copy_in(
                format!(
                    "COPY \"{}\" FROM STDIN WITH (FORMAT csv, HEADER)",
                    self.name
                )
                .as_str(),
            )
            .unwrap();
        w.write_all(csv).unwrap();
        w.finish().unwrap();
    }

    /// The table exported as `psql \copy (SELECT * FROM t) TO 'f.csv' CSV HEADER` writes it.
    fn export_csv(&self, to: &Path) {
        let mut c = self.client();
        let mut r = c
            .copy_out(
                format!("COPY \"{}\" TO STDOUT WITH (FORMAT csv, HEADER)", self.name).as_str(),
            )
            .unwrap();
        let mut bytes = Vec::new();
        r.read_to_end(&mut bytes).unwrap();
        std::fs::write(to, bytes).unwrap();
    }

    fn url(&self) -> String {
        format!("{}?table={}", self.server, self.name)
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.server, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP TABLE IF EXISTS \"{}\"", self.name));
        }
    }
}

/// LiteLLM's own table (tests/fixtures/databases/litellm_spendlogs.sql) under `t`'s name.
fn create_litellm(t: &Table) {
    let ddl = String::from_utf8(fixture_bytes("databases/litellm_spendlogs.sql")).unwrap();
    t.sql(&ddl.replace("TABLE_NAME", &t.name));
}

#[test]
fn litellm_spendlogs_table_gives_the_hand_computed_daily_csv() {
    let Some(server) = server() else { return };
    let t = Table::new(&server, "litellm_fixture");
    create_litellm(&t);
    // The six rows of tests/fixtures/schemas/litellm_spendlogs.csv, worked by hand in
    // tests/fixtures/schemas/expected.md.
    t.load_csv(&fixture_bytes("schemas/litellm_spendlogs.csv"));
    let want = String::from_utf8(fixture_bytes("schemas/expected_daily.csv")).unwrap();
    let rates = fixture("schemas/rates");
    let url = t.url();
    for mode in [None, Some("--in-database")] {
        let mut args = vec![
            "daily",
            "--schema",
            "litellm",
            "--rates",
            rates.to_str().unwrap(),
            "--logs",
            &url,
        ];
        args.extend(mode);
        let (out, o) = run_ok(&args);
        assert_eq!(read(out.path(), "daily.csv"), want, "{mode:?}");
        // files.csv names the table; six rows read, all used.
        let files = read(out.path(), "files.csv");
        assert!(
            files.contains(&format!("{url},6,6,0,0,0")),
            "{mode:?}: {files}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// The sample month flattened into §1 columns by the independent loader of the engine tests
/// (scripts/engine-check/load.py), or `None` without its venv.
fn sample_month_csv(dir: &Path) -> Option<PathBuf> {
    let py = crate::engines::engine_python()?;
    let (logs, _) = run_ok(&["daily", "--logs", "sample-data/logs"]);
    let calls = dir.join("calls.csv");
    let o = Command::new(py)
        .arg(root().join("scripts/engine-check/load.py"))
        .arg(root().join("sample-data/logs"))
        .arg(logs.path().join("rejected.csv"))
        .arg(&calls)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Some(calls)
}

/// The sample month's `daily`, `reconcile` and `fees` files in `tz`, the logs read through
/// `source`.
fn results(source: &[&str], tz: &str) -> Vec<(String, String)> {
    case_results(SAMPLE_CASES, source, tz, &[])
}

#[test]
fn sample_month_in_tables_gives_the_same_results_as_the_files() {
    let Some(server) = server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(calls) = sample_month_csv(dir.path()) else {
        return;
    };
    // A plain table of §1's columns, `ts` a TIMESTAMP holding UTC (CONTRACT §10) …
    let plain = Table::new(&server, "plain");
    plain.sql(
        "CREATE TABLE $T (ts TIMESTAMP, provider TEXT, model TEXT, prompt_tokens BIGINT, \
         completion_tokens BIGINT, cached_tokens BIGINT, cache_write_tokens BIGINT, \
         cache_write_1h_tokens BIGINT, reasoning_tokens BIGINT, status INTEGER, byok BOOLEAN, \
         request_id TEXT, cost NUMERIC, tenant TEXT)",
    );
    plain.load_csv(&std::fs::read(&calls).unwrap());
    // … and the same rows with `ts` a timestamp with time zone.
    let zoned = Table::new(&server, "zoned");
    zoned.sql(&format!(
        "CREATE TABLE $T AS SELECT * FROM \"{}\"; \
         ALTER TABLE $T ALTER COLUMN ts TYPE TIMESTAMPTZ USING ts AT TIME ZONE 'UTC'",
        plain.name
    ));
    for (table, tz) in [(&plain, "UTC"), (&zoned, "Asia/Kolkata")] {
        let want = results(&["--logs", "sample-data/logs"], tz);
        let url = table.url();
        assert_same_results(
            &format!("{} rows", table.name),
            &results(&["--logs", &url], tz),
            &want,
        );
        assert_same_results(
            &format!("{} --in-database", table.name),
            &results(&["--logs", &url, "--in-database"], tz),
            &want,
        );
    }

    // The sample month as LiteLLM's own table (its DDL, a row per call as LiteLLM writes it:
    // route-prefixed model, gateway URL in api_base, cache counts in the metadata JSON, status
    // text), against the same table exported as CSV.
    let lite = Table::new(&server, "litellm_month");
    create_litellm(&lite);
    lite.sql(&format!(
        "INSERT INTO $T (request_id, call_type, spend, total_tokens, prompt_tokens, \
           completion_tokens, \"startTime\", \"endTime\", model, model_group, \
           custom_llm_provider, api_base, metadata, status, team_id) \
         SELECT COALESCE(request_id, 'row-' || n), 'acompletion', COALESCE(cost, 0), \
           prompt_tokens + completion_tokens, prompt_tokens, completion_tokens, ts, \
           ts + INTERVAL '1 second', provider || '/' || model, model, 'openai', \
           CASE provider WHEN 'openrouter' THEN 'https://openrouter.ai/api/v1' \
             ELSE 'https://api.ominigate.ai/v1' END, \
           jsonb_build_object('usage_object', jsonb_build_object( \
             'prompt_tokens_details', jsonb_build_object('cached_tokens', cached_tokens), \
             'cache_creation_input_tokens', cache_write_tokens, \
             'completion_tokens_details', jsonb_build_object('reasoning_tokens', reasoning_tokens))), \
           CASE WHEN status >= 400 THEN 'failure' ELSE 'success' END, \
           'team-' || (n % 3) \
         FROM (SELECT *, row_number() OVER (ORDER BY ts, request_id) AS n FROM \"{}\" \
               WHERE model IS NOT NULL AND prompt_tokens >= 0 AND completion_tokens >= 0 \
                 AND NOT byok) c \
         ON CONFLICT (request_id) DO NOTHING",
        plain.name
    ));
    let export = dir.path().join("spendlogs.csv");
    lite.export_csv(&export);
    let url = lite.url();
    {
        let tz = "America/New_York";
        let want = results(
            &["--schema", "litellm", "--logs", export.to_str().unwrap()],
            tz,
        );
        assert_same_results(
            "LiteLLM table, rows",
            &results(&["--schema", "litellm", "--logs", &url], tz),
            &want,
        );
        assert_same_results(
            "LiteLLM table, --in-database",
            &results(
                &["--schema", "litellm", "--logs", &url, "--in-database"],
                tz,
            ),
            &want,
        );
    }
}

/// A small table of §1 columns: `rows` as (ts, prompt, completion).
fn small_table(server: &str, name: &str, rows: &[(&str, u32, u32)]) -> Table {
    let t = Table::new(server, name);
    t.sql(
        "CREATE TABLE $T (ts TIMESTAMPTZ, provider TEXT, model TEXT, prompt_tokens INTEGER, \
         completion_tokens INTEGER)",
    );
    let mut csv = String::from("ts,provider,model,prompt_tokens,completion_tokens\n");
    for (ts, p, c) in rows {
        csv.push_str(&format!("{ts},openrouter,openai/gpt-5-mini,{p},{c}\n"));
    }
    t.load_csv(csv.as_bytes());
    t
}

#[test]
fn the_period_is_pushed_into_the_query() {
    let Some(server) = server() else { return };
    // --from 2026-04-10 --to 2026-04-20 reads the month they touch, two days wider on each
    // side: [2026-03-30, 2026-05-03) UTC. Rows 2 to 5 are read (4), 3 and 4 used (2).
    let t = small_table(
        &server,
        "period",
        &[
            ("2026-03-29T23:59:59Z", 1, 1), // before the window: not read
            ("2026-03-30T00:00:00Z", 2, 2), // read, out of range
            ("2026-04-10T08:00:00Z", 1000, 100),
            ("2026-04-20T23:00:00Z", 2000, 200),
            ("2026-05-02T23:59:59Z", 5, 5), // read, out of range
            ("2026-06-15T12:00:00Z", 9, 9), // after the window: not read
        ],
    );
    let url = t.url();
    let (out, o) = run_ok(&[
        "daily",
        "--logs",
        &url,
        "--from",
        "2026-04-10",
        "--to",
        "2026-04-20",
    ]);
    assert_eq!(
        read(out.path(), "files.csv"),
        format!("file,rows_read,rows_used,rows_out_of_range,rows_rejected,rows_skipped\n{url},4,2,2,0,0\n"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // gpt-5-mini at 0.25 / 2 USD per million: 1000 × 0.25 + 100 × 2 = 450 micro-USD on the
    // 10th, 2000 × 0.25 + 200 × 2 = 900 on the 20th.
    let daily = read(out.path(), "daily.csv");
    assert!(
        daily.contains("2026-04-10,openrouter,openai/gpt-5-mini,1,1000,0,0,100,1100,0.00045,0"),
        "{daily}"
    );
    assert!(
        daily.contains("2026-04-20,openrouter,openai/gpt-5-mini,1,2000,0,0,200,2200,0.0009,0"),
        "{daily}"
    );
    // Grouped in the database: the table has five of §1's columns (the others read as absent)
    // and a zoned `ts`; the same daily.csv.
    let (grouped, _) = run_ok(&[
        "daily",
        "--logs",
        &url,
        "--in-database",
        "--from",
        "2026-04-10",
        "--to",
        "2026-04-20",
    ]);
    assert_eq!(read(grouped.path(), "daily.csv"), daily);
}

#[test]
fn a_table_without_a_required_column_is_named() {
    let Some(server) = server() else { return };
    let t = Table::new(&server, "nocompletion");
    t.sql("CREATE TABLE $T (ts TIMESTAMPTZ, provider TEXT, model TEXT, prompt_tokens INTEGER)");
    let url = t.url();
    let o = spendrecon()
        .current_dir(root())
        .args(["daily", "--logs", &url])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&url) && err.contains("the table lacks required column(s) completion_tokens"),
        "{err}"
    );
    // A table that does not exist: named, exit 2.
    let missing = format!("{server}?table=sr_no_such_table");
    let o = spendrecon()
        .args(["daily", "--logs", &missing])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cannot read table sr_no_such_table") && err.contains("does not exist"),
        "{err}"
    );
}

/// Every file under `dir`, as text; a workbook's parts unzipped.
fn all_text(dir: &Path) -> String {
    let mut s = String::new();
    for e in walk(dir) {
        let bytes = std::fs::read(&e).unwrap();
        if e.extension().is_some_and(|x| x == "xlsx") {
            let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
            for i in 0..z.len() {
                let mut part = Vec::new();
                z.by_index(i).unwrap().read_to_end(&mut part).unwrap();
                s.push_str(&String::from_utf8_lossy(&part));
            }
        } else {
            s.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    s
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn credentials_are_never_shown() {
    let Some(server) = server() else { return };
    let t = small_table(&server, "secret", &[("2026-04-10T08:00:00Z", 1000, 100)]);
    const PW: &str = "Sup3r-Secret-Pw";
    // The server trusts local connections, so a password is accepted and ignored: it must
    // still appear nowhere. In the URL:
    let with_pw = t.url().replacen("://root@", &format!("://root:{PW}@"), 1);
    assert!(with_pw.contains(PW));
    let book_dir = tempfile::tempdir().unwrap();
    let book = book_dir.path().join("book.xlsx");
    let (out, o) = run_ok(&[
        "daily",
        "--logs",
        &with_pw,
        "--xlsx",
        book.to_str().unwrap(),
    ]);
    let shown = format!(
        "{}{}{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
        all_text(out.path()),
        all_text(book_dir.path())
    );
    assert!(
        shown.contains("sr_secret_"),
        "the table is named in the outputs"
    );
    assert!(!shown.contains(PW), "the password was shown:\n{shown}");
    assert!(read(out.path(), "run.json").contains(&t.url()));
    // From PGPASSWORD, with an error (a table that does not exist):
    let o = spendrecon()
        .env("PGPASSWORD", PW)
        .args(["daily", "--logs", &format!("{server}?table=sr_missing")])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains(PW) && err.contains("sr_missing"), "{err}");
    // A URL that does not parse is named with its password masked.
    let o = spendrecon()
        .args([
            "daily",
            "--logs",
            &format!("postgresql://root:{PW}@[bad/test?table=x"),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains(PW) && err.contains("root:***@"), "{err}");
}

/// A TCP relay to the server that cuts both directions once `limit` bytes came back.
fn cutting_relay(server_addr: &str, limit: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server_addr = server_addr.to_string();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            let mut server = TcpStream::connect(&server_addr).unwrap();
            let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c2, &mut s2);
            });
            let mut buf = [0u8; 16 << 10];
            let mut sent = 0;
            while sent < limit {
                match server.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if client.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        sent += n;
                    }
                }
            }
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
        }
    });
    port
}

#[test]
fn a_connection_that_breaks_off_is_exit_2_and_keeps_the_previous_outputs() {
    let Some(server) = server() else { return };
    let t = Table::new(&server, "cut");
    t.sql(
        "CREATE TABLE $T (ts TIMESTAMPTZ, provider TEXT, model TEXT, prompt_tokens INTEGER, \
         completion_tokens INTEGER); \
         INSERT INTO $T SELECT TIMESTAMPTZ '2026-04-01 00:00:00+00' + i * INTERVAL '10 seconds', \
           'openrouter', 'openai/gpt-5-mini', 1000 + i % 100, 100 FROM generate_series(1, 100000) i",
    );
    // A first run, whole: its outputs are "the previous run's".
    let out = tempfile::tempdir().unwrap();
    let o = spendrecon()
        .args(["daily", "--logs", &t.url(), "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let before: Vec<(PathBuf, Vec<u8>)> = walk(out.path())
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    // The same table through a relay that cuts the connection after 256 KiB of the ~5 MB the
    // server sends.
    let port = cutting_relay("127.0.0.1:5432", 256 << 10);
    let via_relay = t
        .url()
        .replacen("127.0.0.1:5432", &format!("127.0.0.1:{port}"), 1);
    assert_ne!(
        via_relay,
        t.url(),
        "the test server is expected at 127.0.0.1:5432"
    );
    let o = spendrecon()
        .args(["daily", "--logs", &via_relay, "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("the connection broke off while reading rows")
            && err.contains("no outputs were written"),
        "{err}"
    );
    let after: Vec<(PathBuf, Vec<u8>)> = walk(out.path())
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    assert_eq!(before, after, "the previous run's outputs changed");
}

const DEFAULT_MYSQL: &str = "mysql://root@127.0.0.1:3306/test";

/// The MariaDB/MySQL server's URL (no table), or `None` (and a note) when none answers outside
/// CI.
fn mysql_server() -> Option<String> {
    let url = std::env::var("SPENDRECON_TEST_MYSQL").unwrap_or_else(|_| DEFAULT_MYSQL.into());
    let answer = mysql::Opts::from_url(&url)
        .map_err(|e| e.to_string())
        .and_then(|o| mysql::Conn::new(o).map_err(|e| e.to_string()));
    match answer {
        Ok(_) => Some(url),
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "MySQL/MariaDB at {url} does not answer under CI: {e}"
            );
            eprintln!(
                "skipped: MySQL/MariaDB at {url} does not answer ({e}); set SPENDRECON_TEST_MYSQL"
            );
            None
        }
    }
}

/// A MariaDB table of the test's own, dropped when the test ends.
struct MyTable {
    conn: mysql::Conn,
    url: String,
    name: String,
}

impl MyTable {
    fn new(server: &str, name: &str, ddl: &str) -> MyTable {
        use mysql::prelude::Queryable;
        let name = format!("sr_{name}_{}", std::process::id());
        let mut conn = mysql::Conn::new(mysql::Opts::from_url(server).unwrap()).unwrap();
        conn.query_drop(format!("DROP TABLE IF EXISTS `{name}`"))
            .unwrap();
        conn.query_drop(ddl.replace("$T", &format!("`{name}`")))
            .unwrap();
        MyTable {
            conn,
            url: format!("{server}?table={name}"),
            name,
        }
    }
}

impl Drop for MyTable {
    fn drop(&mut self) {
        use mysql::prelude::Queryable;
        let _ = self
            .conn
            .query_drop(format!("DROP TABLE IF EXISTS `{}`", self.name));
    }
}

#[test]
fn mariadb_table_gives_the_same_results_as_the_files() {
    use mysql::prelude::Queryable;
    let Some(server) = mysql_server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(calls) = sample_month_csv(dir.path()) else {
        return;
    };
    let mut t = MyTable::new(
        &server,
        "calls",
        "CREATE TABLE $T (ts DATETIME(3), provider VARCHAR(64), model VARCHAR(128), \
         prompt_tokens BIGINT, completion_tokens BIGINT, cached_tokens BIGINT, \
         cache_write_tokens BIGINT, cache_write_1h_tokens BIGINT, reasoning_tokens BIGINT, \
         status INT, byok BOOLEAN, request_id VARCHAR(128), cost DECIMAL(38, 12), \
         tenant VARCHAR(64))",
    );
    // Loaded with multi-row INSERTs, each value an escaped literal (an empty cell is NULL).
    let mut r = csv::Reader::from_path(&calls).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let byok = header.iter().position(|h| h == "byok").unwrap();
    let mut rows = Vec::new();
    let insert = |conn: &mut mysql::Conn, rows: &mut Vec<String>| {
        if !rows.is_empty() {
            let q = format!(
                "INSERT INTO `{}` ({}) VALUES {}",
                t.name,
                header.join(", "),
                rows.join(", ")
            );
            conn.query_drop(q).unwrap();
            rows.clear();
        }
    };
    for rec in r.records() {
        let rec = rec.unwrap();
        let cells: Vec<String> = rec
            .iter()
            .enumerate()
            .map(|(i, c)| match (i == byok, c) {
                (_, "") => "NULL".to_string(),
                (true, v) => (if v == "true" { "TRUE" } else { "FALSE" }).to_string(),
                (false, v) => mysql::Value::from(v).as_sql(false),
            })
            .collect();
        rows.push(format!("({})", cells.join(", ")));
        if rows.len() == 2000 {
            insert(&mut t.conn, &mut rows);
        }
    }
    insert(&mut t.conn, &mut rows);
    let url = t.url.clone();
    assert_same_results(
        "MariaDB rows",
        &results(&["--logs", &url], "Asia/Kolkata"),
        &results(&["--logs", "sample-data/logs"], "Asia/Kolkata"),
    );
    // --in-database needs PostgreSQL: refused, naming why.
    let o = spendrecon()
        .args(["daily", "--logs", &url, "--in-database"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no MySQL dialect"));
    // A wrong password: refused by the server, never shown.
    const PW: &str = "Wr0ng-Pass-Word";
    let with_pw = url.replacen("://root@", &format!("://root:{PW}@"), 1);
    let o = spendrecon()
        .args(["daily", "--logs", &with_pw])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !err.contains(PW) && err.contains("cannot connect") && err.contains(&url),
        "{err}"
    );
}
