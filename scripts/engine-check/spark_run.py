#!/usr/bin/env python3
"""Loads a table of log records (load.py's CSV) into Apache Spark (local mode) as typed columns,
runs the query `spendrecon sql --dialect spark --table calls` printed, and writes its result as
CSV (dates as YYYY-MM-DD, booleans as true/false, as the usage file has them).

usage: spark_run.py CALLS_CSV QUERY_SQL OUT_CSV
"""
import csv
import sys

from pyspark.sql import SparkSession
from pyspark.sql.types import (BooleanType, DecimalType, IntegerType, LongType, StringType,
                               StructField, StructType, TimestampType)

SCHEMA = StructType([
    StructField("ts", TimestampType()), StructField("provider", StringType()),
    StructField("model", StringType()), StructField("prompt_tokens", LongType()),
    StructField("completion_tokens", LongType()), StructField("cached_tokens", LongType()),
    StructField("cache_write_tokens", LongType()), StructField("cache_write_1h_tokens", LongType()),
    StructField("reasoning_tokens", LongType()), StructField("status", IntegerType()),
    StructField("byok", BooleanType()), StructField("request_id", StringType()),
    StructField("cost", DecimalType(38, 12)), StructField("tenant", StringType()),
])


def cell(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


def main():
    calls, query, out = sys.argv[1:4]
    spark = (SparkSession.builder.master("local[2]").appName("spendrecon-engine-check")
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "4")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    df = (spark.read.option("header", True).option("timestampFormat", "yyyy-MM-dd HH:mm:ss.SSS")
          .option("mode", "FAILFAST").schema(SCHEMA).csv(calls))
    df.createOrReplaceTempView("calls")
    result = spark.sql(open(query).read().strip().rstrip(";"))
    rows = result.collect()
    with open(out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(result.columns)
        for r in rows:
            w.writerow([cell(v) for v in r])
    spark.stop()


if __name__ == "__main__":
    main()
