//! What differs between the SQL engines `spendrecon sql` writes for: quoting, literals, the local
//! and UTC day of a timestamp, epoch numbers to timestamps, nested fields (docs/engines.md,
//! "spendrecon sql"). Everything else in the query is SQL the seven engines share.

use crate::domain::Day;

/// The engine a query is written for (`--dialect`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Duckdb,
    Spark,
    Trino,
    Bigquery,
    Clickhouse,
    Snowflake,
    Postgres,
}

/// The unit of an epoch number (`[timestamp] form = "epoch_*"` of a schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Epoch {
    S,
    Ms,
    Us,
    Ns,
}

/// What a nested field is read as (it matters where the engine stores nested data as JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Text,
    Bool,
    Time,
    /// An exact decimal (the gateway's reported `cost`).
    Decimal,
}

use Dialect::*;

impl Dialect {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Duckdb => "duckdb",
            Spark => "spark",
            Trino => "trino",
            Bigquery => "bigquery",
            Clickhouse => "clickhouse",
            Snowflake => "snowflake",
            Postgres => "postgres",
        }
    }

    /// An identifier part (already checked to hold only `[A-Za-z0-9_$-]`), quoted. Snowflake
    /// folds it to upper case first, as Snowflake resolves an unquoted name; every other engine
    /// gets it as written.
    pub(crate) fn quote(self, part: &str) -> String {
        match self {
            Spark | Bigquery | Clickhouse => format!("`{part}`"),
            Snowflake => format!("\"{}\"", part.to_ascii_uppercase()),
            Duckdb | Trino | Postgres => format!("\"{part}\""),
        }
    }

    /// An output column name, quoted as written (lower case in every engine's result header).
    pub(crate) fn alias(self, name: &str) -> String {
        match self {
            Spark | Bigquery | Clickhouse => format!("`{name}`"),
            _ => format!("\"{name}\""),
        }
    }

    /// A string literal. Spark, BigQuery, ClickHouse and Snowflake read backslash escapes in
    /// string literals; the others follow the standard (only `''`). Control characters are
    /// refused before this.
    pub(crate) fn string(self, s: &str) -> String {
        match self {
            Spark | Bigquery | Clickhouse | Snowflake => {
                format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
            }
            Duckdb | Trino | Postgres => format!("'{}'", s.replace('\'', "''")),
        }
    }

    pub(crate) fn date(self, d: Day) -> String {
        match self {
            Clickhouse => format!("toDate('{d}')"),
            _ => format!("DATE '{d}'"),
        }
    }

    pub(crate) fn boolean(self, b: bool) -> &'static str {
        match (self, b) {
            (Clickhouse, true) => "true",
            (Clickhouse, false) => "false",
            (_, true) => "TRUE",
            (_, false) => "FALSE",
        }
    }

    /// The 64-bit integer type of the sums.
    pub(crate) fn int_type(self) -> &'static str {
        match self {
            Bigquery => "INT64",
            Clickhouse => "Int64",
            _ => "BIGINT",
        }
    }

    fn text_type(self) -> &'static str {
        match self {
            Spark | Bigquery => "STRING",
            Clickhouse => "String",
            Postgres => "TEXT",
            Duckdb | Trino | Snowflake => "VARCHAR",
        }
    }

    /// `e` as text.
    pub(crate) fn text(self, e: &str) -> String {
        format!("CAST({e} AS {})", self.text_type())
    }

    /// `e` (text) as a 64-bit integer, NULL where it is not one.
    pub(crate) fn try_int(self, e: &str) -> String {
        match self {
            Duckdb | Snowflake => format!("TRY_CAST({e} AS BIGINT)"),
            Spark | Trino => format!("try_cast({e} AS BIGINT)"),
            Bigquery => format!("SAFE_CAST({e} AS INT64)"),
            Clickhouse => format!("toInt64OrNull({e})"),
            Postgres => format!("CASE WHEN {e} ~ '^[0-9]+$' THEN CAST({e} AS BIGINT) END"),
        }
    }

    /// A boolean as the result column holds it: ClickHouse's comparisons give UInt8, so its
    /// flags are cast to Bool; the others have booleans already.
    pub(crate) fn bool_out(self, e: &str) -> String {
        match self {
            Clickhouse => format!("CAST({e} AS Bool)"),
            _ => e.to_string(),
        }
    }

    /// The UTC calendar day of `ts` (a timestamp holding UTC, as the engine's docs section says).
    pub(crate) fn utc_day(self, ts: &str) -> String {
        match self {
            Duckdb | Trino | Snowflake | Postgres => format!("CAST({ts} AS DATE)"),
            Spark => format!("date_from_unix_date(CAST(unix_seconds({ts}) DIV 86400 AS INT))"),
            Bigquery => format!("DATE({ts}, 'UTC')"),
            Clickhouse => format!("toDate({ts}, 'UTC')"),
        }
    }

    /// The calendar day of `ts` in the zone `tz` (an IANA name, checked by chrono-tz), whatever
    /// the session's time zone.
    pub(crate) fn local_day(self, ts: &str, tz: &str) -> String {
        if tz == "UTC" {
            return self.utc_day(ts);
        }
        let z = self.string(tz);
        match self {
            Duckdb | Postgres => format!("CAST(({ts} AT TIME ZONE 'UTC') AT TIME ZONE {z} AS DATE)"),
            Trino => format!("CAST(with_timezone({ts}, 'UTC') AT TIME ZONE {z} AS DATE)"),
            Spark => format!(
                "date_from_unix_date(CAST(unix_seconds(from_utc_timestamp({ts}, {z})) DIV 86400 AS INT))"
            ),
            Bigquery => format!("DATE({ts}, {z})"),
            Clickhouse => format!("toDate({ts}, {z})"),
            Snowflake => format!("CAST(CONVERT_TIMEZONE('UTC', {z}, {ts}) AS DATE)"),
        }
    }

    /// `ts` cut to the millisecond: the order of calls within a month, as the local reader keeps
    /// times (milliseconds), so calls a few microseconds apart tie as they do there.
    pub(crate) fn ts_order(self, ts: &str) -> String {
        match self {
            Duckdb | Trino => format!("date_trunc('millisecond', {ts})"),
            Postgres => format!("date_trunc('milliseconds', {ts})"),
            Snowflake => format!("DATE_TRUNC('MILLISECOND', {ts})"),
            Spark => format!("unix_millis({ts})"),
            Bigquery => format!("UNIX_MILLIS({ts})"),
            Clickhouse => format!("toUnixTimestamp64Milli(toDateTime64({ts}, 3, 'UTC'))"),
        }
    }

    /// A text ordering by bytes, as Rust compares strings (PostgreSQL would use the database's
    /// collation otherwise).
    pub(crate) fn bytewise(self, e: &str) -> String {
        match self {
            Postgres => format!("{e} COLLATE \"C\""),
            _ => e.to_string(),
        }
    }

    /// An epoch number `e` as the timestamp type the query reads `ts` as.
    pub(crate) fn epoch(self, e: &str, unit: Epoch) -> String {
        use Epoch::*;
        match self {
            Duckdb => match unit {
                S => format!("make_timestamp({e} * 1000000)"),
                Ms => format!("make_timestamp({e} * 1000)"),
                Us => format!("make_timestamp({e})"),
                Ns => format!("make_timestamp({e} // 1000)"),
            },
            Spark => match unit {
                S => format!("timestamp_seconds({e})"),
                Ms => format!("timestamp_millis({e})"),
                Us => format!("timestamp_micros({e})"),
                Ns => format!("timestamp_micros({e} DIV 1000)"),
            },
            // Plain arithmetic on a zone-less timestamp: from_unixtime returns a timestamp with
            // time zone. Trino adds no microseconds; milliseconds are what the order needs.
            Trino => {
                let epoch = "TIMESTAMP '1970-01-01 00:00:00.000'";
                match unit {
                    S => format!("date_add('second', {e}, {epoch})"),
                    Ms => format!("date_add('millisecond', {e}, {epoch})"),
                    Us => format!("date_add('millisecond', {e} / 1000, {epoch})"),
                    Ns => format!("date_add('millisecond', {e} / 1000000, {epoch})"),
                }
            }
            Bigquery => match unit {
                S => format!("TIMESTAMP_SECONDS({e})"),
                Ms => format!("TIMESTAMP_MILLIS({e})"),
                Us => format!("TIMESTAMP_MICROS({e})"),
                Ns => format!("TIMESTAMP_MICROS(DIV({e}, 1000))"),
            },
            Clickhouse => match unit {
                S => format!("fromUnixTimestamp64Milli(toInt64({e}) * 1000, 'UTC')"),
                Ms => format!("fromUnixTimestamp64Milli(toInt64({e}), 'UTC')"),
                Us => format!("fromUnixTimestamp64Micro(toInt64({e}), 'UTC')"),
                Ns => format!("fromUnixTimestamp64Nano(toInt64({e}), 'UTC')"),
            },
            Snowflake => {
                let scale = match unit {
                    S => 0,
                    Ms => 3,
                    Us => 6,
                    Ns => 9,
                };
                format!("TO_TIMESTAMP_NTZ({e}, {scale})")
            }
            // interval * bigint: exact for whole microseconds below 2^53 (year 2255).
            Postgres => {
                let epoch = "TIMESTAMP '1970-01-01 00:00:00'";
                match unit {
                    S => format!("({epoch} + {e} * INTERVAL '1 second')"),
                    Ms => format!("({epoch} + {e} * INTERVAL '1 millisecond')"),
                    Us => format!("({epoch} + {e} * INTERVAL '1 microsecond')"),
                    Ns => format!("({epoch} + ({e} / 1000) * INTERVAL '1 microsecond')"),
                }
            }
        }
    }

    /// A reported cost `e` (USD) as a whole number of billionths of a USD, rounded half away
    /// from zero: read as an exact decimal first, so a cost stored as a double still gives the
    /// decimal it was written as (to 12 places), and the sum is an integer sum.
    pub(crate) fn nanos(self, e: &str) -> String {
        match self {
            Bigquery => format!("CAST(ROUND(CAST({e} AS BIGNUMERIC) * 1000000000) AS INT64)"),
            Clickhouse => format!("toInt64(round(toDecimal128({e}, 12) * 1000000000))"),
            Snowflake => format!("CAST(ROUND(CAST({e} AS NUMBER(38, 12)) * 1000000000) AS BIGINT)"),
            Postgres => format!("CAST(ROUND(CAST({e} AS NUMERIC) * 1000000000) AS BIGINT)"),
            Duckdb | Spark | Trino => {
                format!("CAST(ROUND(CAST({e} AS DECIMAL(38, 12)) * 1000000000) AS BIGINT)")
            }
        }
    }

    /// The field `path` (keys, checked like identifiers) inside the column `col` (quoted):
    /// STRUCT / ROW / named Tuple fields, Snowflake OBJECT/VARIANT paths, PostgreSQL jsonb paths.
    pub(crate) fn nested(self, col: &str, path: &[&str], kind: Kind) -> String {
        match self {
            Duckdb | Trino => {
                let keys: Vec<String> = path.iter().map(|k| format!("\"{k}\"")).collect();
                format!("{col}.{}", keys.join("."))
            }
            Spark | Bigquery => {
                let keys: Vec<String> = path.iter().map(|k| format!("`{k}`")).collect();
                format!("{col}.{}", keys.join("."))
            }
            Clickhouse => path
                .iter()
                .fold(col.to_string(), |e, k| format!("tupleElement({e}, '{k}')")),
            // The keys of a VARIANT are case-sensitive: written as given.
            Snowflake => {
                let keys: Vec<String> = path.iter().map(|k| format!("\"{k}\"")).collect();
                let ty = match kind {
                    Kind::Int => "BIGINT",
                    Kind::Text => "VARCHAR",
                    Kind::Bool => "BOOLEAN",
                    Kind::Time => "TIMESTAMP_NTZ",
                    Kind::Decimal => "NUMBER(38, 12)",
                };
                format!("{col}:{}::{ty}", keys.join("."))
            }
            Postgres => {
                let e = format!("({col} #>> '{{{}}}')", path.join(","));
                match kind {
                    Kind::Int => format!("CAST({e} AS BIGINT)"),
                    Kind::Bool => format!("CAST({e} AS BOOLEAN)"),
                    Kind::Text => e,
                    Kind::Time => format!("CAST({e} AS TIMESTAMP)"),
                    Kind::Decimal => format!("CAST({e} AS NUMERIC)"),
                }
            }
        }
    }

    /// The host of a URL or host name `e` (lower-cased text): scheme, path, user and port taken
    /// off, as `Mapping::gateway_of_host` does.
    pub(crate) fn host(self, e: &str) -> String {
        let steps = [
            ("^[a-z][a-z0-9+.-]*://", ""),
            ("[/?#].*$", ""),
            ("^.*@", ""),
            (":[0-9]*$", ""),
            ("[.]$", ""),
        ];
        steps.iter().fold(e.to_string(), |acc, (pat, rep)| {
            let (p, r) = (self.string(pat), self.string(rep));
            match self {
                Clickhouse => format!("replaceRegexpOne({acc}, {p}, {r})"),
                Bigquery | Snowflake => format!("REGEXP_REPLACE({acc}, {p}, {r})"),
                _ => format!("regexp_replace({acc}, {p}, {r})"),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_per_dialect() {
        assert_eq!(Postgres.string("o'neil\\x"), "'o''neil\\x'");
        assert_eq!(Bigquery.string("o'neil\\x"), "'o\\'neil\\\\x'");
        assert_eq!(Snowflake.quote("calls"), "\"CALLS\"");
        assert_eq!(Postgres.quote("startTime"), "\"startTime\"");
        assert_eq!(
            Clickhouse.date(Day::parse("2026-03-01").unwrap()),
            "toDate('2026-03-01')"
        );
    }
}
