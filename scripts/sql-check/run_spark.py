"""Runs a `spendrecon sql --dialect spark --table calls` statement in a local Spark session on a
CSV of log records.

    python3 scripts/sql-check/run_spark.py QUERY.sql CALLS.csv

PySpark needs Java: tests/cli/sql.rs runs it where `import pyspark` works (target/engine-venv,
which .ci/engine-venv makes). `ts` becomes a
Spark TIMESTAMP (an instant) in a session whose time zone is Asia/Kolkata (the result must not
depend on it); the result is written as CSV with a header on stdout, booleans as true/false.
"""

import csv
import io
import sys

from pyspark.sql import SparkSession

SCHEMA = (
    "ts STRING, provider STRING, model STRING, prompt_tokens BIGINT, completion_tokens BIGINT, "
    "cached_tokens BIGINT, cache_write_tokens BIGINT, reasoning_tokens BIGINT, status INT, "
    "byok BOOLEAN, request_id STRING, cache_write_1h_tokens BIGINT, cost DECIMAL(38,12)"
)


def cell(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    return v


def main(query_path, calls_path):
    with open(query_path, encoding="utf-8") as f:
        query = f.read()
    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.sql.session.timeZone", "Asia/Kolkata")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    df = spark.read.option("header", True).schema(SCHEMA).csv(calls_path)
    cols = [c.split()[0] for c in SCHEMA.split(", ")]
    df.selectExpr("to_timestamp(ts) AS ts", *cols[1:]).createOrReplaceTempView("calls")
    result = spark.sql(query)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(result.columns)
    for row in result.collect():
        w.writerow([cell(v) for v in row])
    sys.stdout.write(out.getvalue())
    spark.stop()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
