"""Runs a `spendrecon sql --dialect duckdb --table calls` statement on a table of log records.

    python3 scripts/sql-check/run_duckdb.py QUERY.sql CALLS.csv|CALLS.sql

CALLS.csv (the columns of docs/formats.md §1 that the statement reads; `ts` RFC 3339 with a zone)
is loaded into a DuckDB table `calls` with `ts` a TIMESTAMP holding UTC; CALLS.sql is run instead
to make the table (for a schema file's columns: structs, epoch numbers). The statement runs in a
session whose time zone is Asia/Kolkata (the result must not depend on it) and the result goes to
stdout as CSV with a header, as `COPY (...) TO 'groups.csv' (HEADER)` writes it.
"""

import os
import sys
import tempfile

import duckdb

COLUMNS = {
    "ts": "VARCHAR",
    "provider": "VARCHAR",
    "model": "VARCHAR",
    "prompt_tokens": "BIGINT",
    "completion_tokens": "BIGINT",
    "cached_tokens": "BIGINT",
    "cache_write_tokens": "BIGINT",
    "reasoning_tokens": "BIGINT",
    "status": "INTEGER",
    "byok": "BOOLEAN",
    "request_id": "VARCHAR",
    "cache_write_1h_tokens": "BIGINT",
    "cost": "DECIMAL(38, 12)",
}


def literal(s):
    return "'" + s.replace("'", "''") + "'"


def main(query_path, calls_path):
    with open(query_path, encoding="utf-8") as f:
        query = f.read()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Kolkata'")
    if calls_path.endswith(".sql"):
        with open(calls_path, encoding="utf-8") as f:
            con.execute(f.read())
    else:
        columns = ", ".join(f"{literal(k)}: {literal(v)}" for k, v in COLUMNS.items())
        rest = ", ".join(k for k in COLUMNS if k != "ts")
        con.execute(
            "CREATE TABLE calls AS SELECT CAST(ts AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS ts, "
            f"{rest} FROM read_csv({literal(calls_path)}, header = true, columns = {{{columns}}})"
        )
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "groups.csv")
        con.execute(f"COPY ({query}) TO {literal(out)} (HEADER, DELIMITER ',')")
        with open(out, encoding="utf-8") as f:
            sys.stdout.write(f.read())
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
