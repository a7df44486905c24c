"""Parses `spendrecon sql` statements with sqlglot in their engine's dialect.

    python3 scripts/sql-check/parse.py FILE.sql...

The dialect is the file's name without `.sql` (duckdb.sql, spark.sql, trino.sql, bigquery.sql,
clickhouse.sql, snowflake.sql, postgres.sql). Each file must hold exactly one SELECT statement
that parses without error; any error, or any other kind or number of statements, fails the run
(exit 1) with the file named. sqlglot checks syntax, not whether a function exists in the engine.
"""

import os
import sys

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

DIALECTS = {"duckdb", "spark", "trino", "bigquery", "clickhouse", "snowflake", "postgres"}


def check(path):
    dialect = os.path.splitext(os.path.basename(path))[0]
    if dialect not in DIALECTS:
        return f"{path}: the file name is not a dialect ({', '.join(sorted(DIALECTS))})"
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect, error_level=ErrorLevel.RAISE) if s]
    except sqlglot.errors.SqlglotError as e:
        return f"{path}: {dialect}: {e}"
    if len(statements) != 1:
        return f"{path}: {len(statements)} statements, expected one SELECT"
    if not isinstance(statements[0], exp.Select):
        return f"{path}: a {type(statements[0]).__name__}, expected a SELECT"
    return None


def main(paths):
    if not paths:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    failed = 0
    for p in paths:
        err = check(p)
        if err:
            print(err, file=sys.stderr)
            failed += 1
        else:
            print(f"{p}: parses as {os.path.splitext(os.path.basename(p))[0]}")
    print(f"sqlglot {sqlglot.__version__}: {len(paths) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
