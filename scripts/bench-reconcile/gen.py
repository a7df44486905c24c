#!/usr/bin/env python3
"""N calls of a month as one CSV, in the shape of the shared bench's logs.csv (../shared/bench/gen.py:
same columns, models, providers and token ranges), plus re-logged calls, so that `reconcile`'s
duplicate detection has something to find. Only the CSV is written: 100M calls are 11 GB.

usage: gen.py OUT_DIR N [DUP_PER_MILLE=1]
Writes OUT_DIR/logs.csv and OUT_DIR/rates/models.csv (the shared bench's prices). Deterministic:
values come from hash(i), not random(), so the same N gives the same file.

DUP_PER_MILLE of every thousand calls are logged a second time (same provider and request_id) at
the end of the file, one hour after the first record, so some land on the next day; the file has
N + N * DUP_PER_MILLE / 1000 records."""
import os, shutil, sys
import duckdb

out, n = sys.argv[1], int(sys.argv[2])
dup = int(sys.argv[3]) if len(sys.argv) > 3 else 1
here = os.path.dirname(os.path.abspath(__file__))
shared = os.environ.get("SHARED_BENCH") or os.path.join(here, "..", "..", "..", "shared", "bench")
os.makedirs(os.path.join(out, "rates"), exist_ok=True)
con = duckdb.connect()
con.execute("SET threads=2")
con.execute("SET preserve_insertion_order=true")
models = ["anthropic/claude-sonnet-4.6", "anthropic/claude-haiku-4.5", "openai/gpt-5.4-mini", "openai/gpt-5.4",
          "google/gemini-3.1-pro-preview", "deepseek/deepseek-v4-flash", "meta-llama/llama-3.3-70b-instruct"]
# u(i, k): a uniform number in [0, 1) from the call number, one stream per k.
u = lambda k: f"(hash(i, {k}) % 1000000007) / 1000000007.0"
calls = f"""
SELECT i,
  TIMESTAMPTZ '2026-04-01 00:00:00+00' + to_microseconds(CAST(floor({u(1)} * 30 * 86400e6) AS BIGINT)) AS t,
  CASE WHEN {u(2)} < least(0.9, 0.05 + (i % 30) / 30.0) THEN 'ominigate' ELSE 'openrouter' END AS provider,
  ({models!r})[1 + CAST(floor({u(3)} * {len(models)}) AS INT)] AS model,
  50 + CAST(floor({u(4)} * 8950) AS BIGINT) AS p0,
  1 + CAST(floor({u(5)} * 2499) AS BIGINT) AS c,
  {u(6)} AS r1, {u(7)} AS r2, {u(8)} AS r3
FROM range({n}) r(i)"""
row = lambda shift: f"""
SELECT strftime((t + INTERVAL {shift} HOUR) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ') AS ts, provider, model,
  CASE WHEN model = 'google/gemini-3.1-pro-preview' AND r3 < 0.05 THEN p0 * 40 ELSE p0 END AS prompt_tokens,
  CASE WHEN r3 > 0.99 THEN 0 ELSE c END AS completion_tokens,
  CASE WHEN model LIKE 'anthropic/%' AND r1 < 0.5 THEN CAST(p0 * r2 / 2 AS BIGINT) ELSE 0 END AS cached_tokens,
  CASE WHEN model LIKE 'anthropic/%' AND r1 > 0.8 THEN CAST(p0 * r2 / 4 AS BIGINT) ELSE 0 END AS cache_write_tokens,
  (CASE WHEN provider = 'openrouter' THEN 'gen-' ELSE 'omg-' END) || i AS request_id,
  CASE WHEN r3 > 0.99 THEN 500 ELSE 200 END AS status,
  200 + CAST(r2 * 8800 AS INT) AS latency_ms,
  r1 < 0.1 AS byok,
  'tenant-' || (i % 17) AS tenant,
  (CASE WHEN model = 'google/gemini-3.1-pro-preview' AND r3 < 0.05 THEN p0 * 40 ELSE p0 END)
    + (CASE WHEN r3 > 0.99 THEN 0 ELSE c END) AS total_tokens
FROM ({calls})"""
query = f"""SELECT * FROM ({row(0)}) UNION ALL BY NAME
SELECT * FROM ({row(1)} WHERE hash(i, 9) % 1000 < {dup})"""
con.execute(f"COPY ({query}) TO '{out}/logs.csv' (FORMAT CSV, HEADER)")
shutil.copy(os.path.join(shared, "models.csv"), f"{out}/rates/models.csv")
print(con.execute(f"SELECT count(*) FROM read_csv('{out}/logs.csv')").fetchone()[0], "records")
