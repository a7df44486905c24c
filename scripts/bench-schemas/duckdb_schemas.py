#!/usr/bin/env python3
"""The peer's answer for the schema files: DuckDB computes daily.csv from an OTLP/JSON span file or
a LiteLLM_SpendLogs export, with exact DECIMAL money as ../shared/bench/duckdb_daily.py does.

usage: duckdb_schemas.py FILE RATES_CSV OUT_CSV [threads]
  FILE  *.otlp.jsonl            OTLP/JSON lines ({"resourceSpans":[...]}): read_json with the
                                nested type given, three unnests (resourceSpans, scopeSpans,
                                spans), attributes looked up by key in a MAP per span
        *.csv / *.jsonl (other)  LiteLLM_SpendLogs rows; cache counts from metadata.usage_object

Both read the conventions as spendrecon's built-in schemas do: prompt tokens INCLUDE cache reads
and writes (gen_ai.usage.input_tokens, LiteLLM prompt_tokens); the gateway from the host of
server.address / api_base (openrouter.ai -> openrouter, api.ominigate.ai -> ominigate), else
gen_ai.provider.name / custom_llm_provider; a call is billable unless the span status is ERROR
(code 2) or it has error.type / the row's status is not 'success'. Spans without
gen_ai.usage.* are not calls and are left out. OTLP attributes are read on the span only (the
generated spans carry all of them; spendrecon's fallback to resource attributes is not needed
here). Output columns as duckdb_daily.py."""
import sys
import duckdb

log, rates, out = sys.argv[1:4]
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
con = duckdb.connect()
con.execute(f"SET threads={threads}")
con.execute("SET preserve_insertion_order=false")

GATEWAY = """CASE {host} WHEN 'openrouter.ai' THEN 'openrouter' WHEN 'api.ominigate.ai' THEN 'ominigate'
             ELSE lower({fallback}) END"""

if log.endswith(".otlp.jsonl") or log.endswith(".otlp.json"):
    # read_json(columns=...) with this nested type took 6x longer than reading each line as JSON
    # and json_transform-ing it (DuckDB 2.0.1, 100k spans: 10 s against 1.6 s); map_from_entries
    # per span cost another 2 s, a key list + list_position per lookup far less.
    # Only the fields the table needs; other keys (traceId, arrayValue, ...) are skipped.
    kv = "STRUCT(key VARCHAR, value STRUCT(stringValue VARCHAR, intValue VARCHAR))[]"
    span = f"STRUCT(startTimeUnixNano VARCHAR, attributes {kv}, status STRUCT(code INTEGER))"
    shape = f'{{"resourceSpans": "STRUCT(scopeSpans STRUCT(spans {span}[])[])[]"}}'
    src = f"""(SELECT json_transform(json, '{shape}').resourceSpans AS resourceSpans
              FROM read_ndjson_objects('{log}'))"""

    def a(key, field="stringValue"):  # a span attribute (the spans here carry all they need)
        return f"attrs[list_position(ks, '{key}')].value.{field}"

    def tok(key):
        return f"CAST({a(key, 'intValue')} AS BIGINT)"

    calls = f"""
    WITH lr AS (SELECT unnest(resourceSpans) AS x FROM {src}),
    ls AS (SELECT unnest(x.scopeSpans) AS y FROM lr),
    sp AS (SELECT unnest(y.spans) AS sp FROM ls),
    kv AS (SELECT sp.startTimeUnixNano AS start_ns, sp.status.code AS code, sp.attributes AS attrs,
                  list_transform(sp.attributes, lambda e: e.key) AS ks FROM sp),
    c0 AS (
      SELECT CAST(make_timestamp(CAST(start_ns AS BIGINT) // 1000) AS DATE) AS day,
        {GATEWAY.format(host=a('server.address'),
                        fallback=f"coalesce({a('gen_ai.provider.name')}, {a('gen_ai.system')})")} AS provider,
        {a('gen_ai.request.model')} AS model,
        {tok('gen_ai.usage.input_tokens')} AS p,
        coalesce({tok('gen_ai.usage.output_tokens')}, 0) AS c,
        coalesce({tok('gen_ai.usage.cache_read.input_tokens')}, 0) AS cr,
        coalesce({tok('gen_ai.usage.cache_creation.input_tokens')}, 0) AS cw,
        coalesce(code, 0) = 2 OR coalesce({a('error.type')}, '') <> '' AS failed
      FROM kv
      WHERE list_contains(ks, 'gen_ai.usage.input_tokens') OR list_contains(ks, 'gen_ai.usage.output_tokens')),
    calls AS (SELECT * EXCLUDE (failed) FROM c0 WHERE NOT failed)"""
else:
    if ".csv" in log:
        src = f"read_csv('{log}', header=true, types={{'metadata': 'VARCHAR', 'prompt_tokens': 'BIGINT', 'completion_tokens': 'BIGINT'}})"
    else:
        # metadata is an object in the JSON lines; read it as JSON text so both exports share the query
        src = f"""read_json('{log}', format='newline_delimited', columns={{"startTime": 'VARCHAR',
                  prompt_tokens: 'BIGINT', completion_tokens: 'BIGINT', model: 'VARCHAR',
                  custom_llm_provider: 'VARCHAR', api_base: 'VARCHAR', status: 'VARCHAR', metadata: 'JSON'}})"""
    u = "metadata->'usage_object'"
    calls = f"""
    WITH calls AS (
      SELECT CAST(CAST("startTime" AS TIMESTAMP) AS DATE) AS day,
        {GATEWAY.format(host="regexp_extract(api_base, '^[a-z]+://([^/:]+)', 1)", fallback='custom_llm_provider')} AS provider,
        model, prompt_tokens AS p, completion_tokens AS c,
        CAST(coalesce({u}->>'cache_read_input_tokens', {u}->'prompt_tokens_details'->>'cached_tokens', '0') AS BIGINT) AS cr,
        CAST(coalesce({u}->>'cache_creation_input_tokens', '0') AS BIGINT) AS cw
      FROM {src}
      WHERE lower(coalesce(status, 'success')) = 'success')"""

con.execute(f"""
CREATE TEMP TABLE r AS SELECT model,
  CAST(input_per_mtok AS DECIMAL(18,6)) i, CAST(output_per_mtok AS DECIMAL(18,6)) o,
  CAST(coalesce(cache_read_per_mtok, input_per_mtok) AS DECIMAL(18,6)) rr,
  CAST(coalesce(cache_write_per_mtok, input_per_mtok) AS DECIMAL(18,6)) ww,
  long_context_threshold lt, CAST(long_input_per_mtok AS DECIMAL(18,6)) li, CAST(long_output_per_mtok AS DECIMAL(18,6)) lo
FROM read_csv('{rates}', header=true, all_varchar=false)""")
con.execute(f"""
COPY (
  {calls}
  SELECT day, provider, calls.model, count(*) AS requests, sum(p) AS prompt_tokens, sum(cr) AS cached_tokens,
    sum(cw) AS cache_write_tokens, sum(c) AS completion_tokens, sum(p + c) AS total_tokens,
    CAST(sum(CASE WHEN r.lt IS NOT NULL AND p > r.lt THEN (p - cr - cw) * r.li + cr * r.rr + cw * r.ww + c * r.lo
                  ELSE (p - cr - cw) * r.i + cr * r.rr + cw * r.ww + c * r.o END) / 1000000 AS DECIMAL(38,12)) AS cost_usd
  FROM calls LEFT JOIN r ON calls.model = r.model
  GROUP BY ALL ORDER BY day, provider, calls.model
) TO '{out}' (FORMAT CSV, HEADER)""")
