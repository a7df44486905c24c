#!/usr/bin/env python3
"""Loads a table of log records (load.py's CSV) into DuckDB as typed columns, runs the query
`spendrecon sql --dialect duckdb --table calls` printed, and writes its result as CSV.

usage: duckdb_run.py CALLS_CSV QUERY_SQL OUT_CSV
"""
import sys

import duckdb

TABLE = """
CREATE TABLE calls (
    ts TIMESTAMP, provider VARCHAR, model VARCHAR,
    prompt_tokens BIGINT, completion_tokens BIGINT, cached_tokens BIGINT,
    cache_write_tokens BIGINT, cache_write_1h_tokens BIGINT, reasoning_tokens BIGINT,
    status INTEGER, byok BOOLEAN, request_id VARCHAR, cost DECIMAL(38, 12), tenant VARCHAR
)
"""


def main():
    calls, query, out = sys.argv[1:4]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(TABLE)
    con.execute(f"INSERT INTO calls SELECT * FROM read_csv('{calls}', header = true, "
                "columns = {'ts': 'TIMESTAMP', 'provider': 'VARCHAR', 'model': 'VARCHAR', "
                "'prompt_tokens': 'BIGINT', 'completion_tokens': 'BIGINT', 'cached_tokens': 'BIGINT', "
                "'cache_write_tokens': 'BIGINT', 'cache_write_1h_tokens': 'BIGINT', "
                "'reasoning_tokens': 'BIGINT', 'status': 'INTEGER', 'byok': 'BOOLEAN', "
                "'request_id': 'VARCHAR', 'cost': 'DECIMAL(38, 12)', 'tenant': 'VARCHAR'})")
    sql = open(query).read().strip().rstrip(";")
    con.execute(f"COPY ({sql}) TO '{out}' (HEADER, DELIMITER ',')")


if __name__ == "__main__":
    main()
