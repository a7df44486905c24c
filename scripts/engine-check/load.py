#!/usr/bin/env python3
"""Flattens the sample month's logs into one table of log records with the CONTRACT §1 columns,
as a team would load its logs into a warehouse table: `ts` in UTC, token counts as integers,
`byok` a boolean, `cost` the decimal as written.

usage: load.py LOG_DIR REJECTED_CSV OUT_CSV

Written independently of spendrecon's readers (Python's json and csv, DuckDB for Parquet), from
the rules of CONTRACT §1: nested OpenAI/OpenRouter `usage` objects, the Anthropic Messages shape
(`input_tokens` excludes the cache tokens), timestamps with offsets or in epoch milliseconds.
Rows that no engine could load as typed values (a cut-off JSON line, a timestamp without a zone
or on 31 April, a CSV row with missing fields) are the ones a loader drops: they are taken from
spendrecon's rejected.csv of the same logs, by file and line, and the script checks it drops
exactly those (a row it cannot type that is not listed is an error). Rows that do type but break
a rule (a negative count, cache tokens above the prompt, no model) are loaded: the query must
leave them out itself.
"""
import csv
import datetime as dt
import gzip
import json
import os
import sys

COLUMNS = ["ts", "provider", "model", "prompt_tokens", "completion_tokens", "cached_tokens",
           "cache_write_tokens", "cache_write_1h_tokens", "reasoning_tokens", "status", "byok",
           "request_id", "cost", "tenant"]


def utc(ts):
    """RFC 3339 with an offset, or epoch seconds/milliseconds → 'YYYY-MM-DD HH:MM:SS.fff' UTC."""
    if isinstance(ts, (int, float)) or (isinstance(ts, str) and ts.strip().lstrip("-").isdigit()):
        n = int(ts)
        ms = n if abs(n) >= 100_000_000_000 else n * 1000
        t = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(milliseconds=ms)
    else:
        t = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
        if t.tzinfo is None:
            raise ValueError(f"no zone: {ts}")
        t = t.astimezone(dt.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d}"


def first(*values):
    for v in values:
        if v is not None and v != "":
            return v
    return None


def dig(obj, *path):
    for p in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(p)
    return obj


def flatten(r):
    u = r.get("usage") or {}
    cached = first(r.get("cached_tokens"), r.get("cache_read_input_tokens"),
                   dig(u, "prompt_tokens_details", "cached_tokens"), u.get("cache_read_input_tokens"))
    write = first(r.get("cache_write_tokens"), r.get("cache_creation_input_tokens"),
                  dig(u, "prompt_tokens_details", "cache_write_tokens"),
                  u.get("cache_creation_input_tokens"))
    prompt = first(r.get("prompt_tokens"), u.get("prompt_tokens"))
    if prompt is None and first(r.get("input_tokens"), u.get("input_tokens")) is not None:
        # Anthropic Messages shape: input_tokens excludes the cache reads and writes.
        prompt = int(first(r.get("input_tokens"), u.get("input_tokens"))) + int(cached or 0) + int(write or 0)
    byok = first(r.get("byok"), u.get("is_byok"))
    if isinstance(byok, str):
        byok = byok.strip().lower() == "true"
    return {
        "ts": utc(r["ts"]),
        "provider": r.get("provider"),
        "model": first(r.get("model")),
        "prompt_tokens": prompt,
        "completion_tokens": first(r.get("completion_tokens"), u.get("completion_tokens"), u.get("output_tokens")),
        "cached_tokens": cached,
        "cache_write_tokens": write,
        "cache_write_1h_tokens": first(r.get("cache_write_1h_tokens"),
                                       dig(u, "cache_creation", "ephemeral_1h_input_tokens")),
        "reasoning_tokens": first(r.get("reasoning_tokens"), dig(u, "completion_tokens_details", "reasoning_tokens")),
        "status": first(r.get("status")),
        "byok": None if byok is None else ("true" if byok else "false"),
        "request_id": first(r.get("request_id")),
        "cost": first(r.get("cost"), u.get("cost")),
        # The showback's group (`--by tenant`): text as logged, blank left to the engine.
        "tenant": r.get("tenant"),
    }


def rows_of(path):
    """(line or row number, record dict or None when it does not parse)."""
    name = os.path.basename(path)
    if name.endswith(".parquet"):
        import duckdb
        rel = duckdb.sql(f"SELECT * FROM read_parquet('{path}')")
        cols = rel.columns
        for i, row in enumerate(rel.fetchall(), start=2):
            yield i, {c: v for c, v in zip(cols, row) if v is not None}
        return
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        if ".csv" in name:
            reader = csv.reader(f)
            header = next(reader)
            for row in reader:
                line = reader.line_num
                if len(row) != len(header):
                    yield line, None
                    continue
                yield line, {h: v for h, v in zip(header, row) if v != ""}
        else:
            for line, text in enumerate(f, start=1):
                if not text.strip():
                    continue
                try:
                    yield line, json.loads(text)
                except json.JSONDecodeError:
                    yield line, None


def main():
    log_dir, rejected_csv, out_csv = sys.argv[1:4]
    with open(rejected_csv, newline="") as f:
        rejected = {(os.path.basename(r["file"]), int(r["line"])) for r in csv.DictReader(f)}
    dropped, kept = set(), 0
    with open(out_csv, "w", newline="") as out:
        w = csv.DictWriter(out, COLUMNS)
        w.writeheader()
        for name in sorted(os.listdir(log_dir)):
            for line, rec in rows_of(os.path.join(log_dir, name)):
                try:
                    row = flatten(rec) if rec is not None else None
                except (ValueError, KeyError, TypeError):
                    row = None
                if row is None:
                    if (name, line) not in rejected:
                        sys.exit(f"{name}:{line}: cannot be typed, and spendrecon did not reject it")
                    dropped.add((name, line))
                    continue
                w.writerow({k: ("" if v is None else v) for k, v in row.items()})
                kept += 1
    print(f"{kept} rows loaded, {len(dropped)} dropped as untyped", file=sys.stderr)


if __name__ == "__main__":
    main()
