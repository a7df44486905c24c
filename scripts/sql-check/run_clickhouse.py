"""Runs a `spendrecon sql --dialect clickhouse --table logs.calls` statement in chDB (ClickHouse
in-process) on a CSV of log records.

    python3 scripts/sql-check/run_clickhouse.py QUERY.sql CALLS.csv

Not in requirements.txt (chDB is large): tests/cli/sql.rs runs it only where `import chdb` works
(SPENDRECON_SQL_PYTHON names such a Python). `ts` is loaded as DateTime64(6, 'UTC'), the other
columns Nullable; the statement runs with session_timezone Asia/Kolkata (the result must not
depend on it) and the result is written as CSVWithNames on stdout, with the quotes ClickHouse
puts around text taken off.
"""

import sys

import chdb.session

TYPES = (
    "provider Nullable(String), model Nullable(String), prompt_tokens Nullable(Int64), "
    "completion_tokens Nullable(Int64), cached_tokens Nullable(Int64), "
    "cache_write_tokens Nullable(Int64), reasoning_tokens Nullable(Int64), "
    "status Nullable(Int32), byok Nullable(Bool), request_id Nullable(String), "
    "cache_write_1h_tokens Nullable(Int64), cost Nullable(Decimal(38, 12))"
)
REST = (
    "provider, model, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, "
    "reasoning_tokens, status, byok, request_id, cache_write_1h_tokens, cost"
)


def main(query_path, calls_path):
    with open(query_path, encoding="utf-8") as f:
        query = f.read()
    s = chdb.session.Session()
    s.query("CREATE DATABASE IF NOT EXISTS logs")
    s.query(f"CREATE TABLE logs.calls (ts DateTime64(6, 'UTC'), {TYPES}) ENGINE = Memory")
    path = calls_path.replace("\\", "\\\\").replace("'", "\\'")
    s.query(
        f"INSERT INTO logs.calls SELECT parseDateTime64BestEffort(ts, 6, 'UTC'), {REST} "
        f"FROM file('{path}', CSVWithNames, 'ts String, {TYPES}')"
    )
    out = s.query(query + " SETTINGS session_timezone = 'Asia/Kolkata'", "CSVWithNames")
    sys.stdout.write(str(out).replace('"', ""))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
