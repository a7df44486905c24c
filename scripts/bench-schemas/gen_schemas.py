#!/usr/bin/env python3
"""The shared benchmark's N calls, written again in the shapes of `--schema otel` and `--schema litellm`.

usage: gen_schemas.py DATA_DIR N

Reads DATA_DIR/logs.parquet (the shared generator's calls; when it is missing, runs
../shared/bench/gen.py DATA_DIR N first) and writes, for the same calls:

  logs.otlp.jsonl     OTLP/JSON as the OpenTelemetry Collector's file exporter writes it: one
                      ExportTraceServiceRequest a line, {"resourceSpans":[{resource, scopeSpans:
                      [{scope, spans:[...]}]}]}, one resource (service) per line and a batch of
                      1-50 of its spans, in time order as a batch span processor exports them.
                      One `chat MODEL` client span (kind 3) per call with the GenAI semantic
                      convention attributes; int64 values as strings (intValue), as the proto3
                      JSON mapping writes them. gen_ai.usage.input_tokens INCLUDES cache reads and
                      writes (the OTel convention), so it equals the call's prompt_tokens.
  logs.litellm.csv    LiteLLM_SpendLogs rows (the columns of LiteLLM's schema.prisma, in its order)
  logs.litellm.jsonl  the same rows as JSON lines (metadata, request_tags, messages, response and
                      proxy_server_request as the JSON values Postgres' row_to_json gives; the CSV
                      holds them as JSON text). prompt_tokens includes cache tokens (LiteLLM
                      normalises to the OpenAI convention); the cache counts are in
                      metadata.usage_object.

Per day x provider x model the billable calls, prompt, cached, cache-write and completion tokens
are those of logs.jsonl; scripts/bench-schemas/run.sh checks that through DuckDB.
Mapping from the shared generator's fields:
  ts -> startTimeUnixNano / startTime (zone-less UTC); ts + latency_ms -> end
  provider -> server.address (openrouter.ai | api.ominigate.ai) / api_base + custom_llm_provider
  status 500 -> span status {"code":2} + error.type / status "failure"
  tenant -> resource service.name / team (team_id, metadata.user_api_key_team_alias, api_key)
"""
import os, subprocess, sys, time
import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def shared_gen():
    for cand in (os.environ.get("SHARED_BENCH", ""), os.path.join(ROOT, "..", "shared", "bench")):
        if cand and os.path.isfile(os.path.join(cand, "gen.py")):
            return os.path.join(cand, "gen.py")
    sys.exit("gen_schemas: cannot find the shared bench's gen.py (set SHARED_BENCH=DIR)")


def q(s):  # a SQL string literal
    return "'" + s.replace("'", "''") + "'"


def s_attr(key, expr):  # SQL expression -> OTLP KeyValue with a string value (values here need no JSON escaping)
    return f"""'{{"key":"{key}","value":{{"stringValue":"' || {expr} || '"}}}}'"""


def i_attr(key, expr):  # int64 as a JSON string, as the proto3 JSON mapping writes it
    return f"""'{{"key":"{key}","value":{{"intValue":"' || CAST({expr} AS VARCHAR) || '"}}}}'"""


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    data, n = sys.argv[1], int(sys.argv[2])
    os.makedirs(data, exist_ok=True)
    src = os.path.join(data, "logs.parquet")
    if not os.path.exists(src):
        subprocess.run([sys.executable, shared_gen(), data, str(n)], check=True, stdout=subprocess.DEVNULL)
    con = duckdb.connect()
    con.execute("SET threads=2")
    con.execute("SET preserve_insertion_order=false")
    con.execute("SET memory_limit='4GB'")  # spill rather than take the shared machine's memory at 10M
    con.execute(f"SET temp_directory={q(os.path.join(data, '.duckdb-tmp'))}")
    have = con.execute(f"SELECT count(*) FROM read_parquet({q(src)})").fetchone()[0]
    if have != n:
        sys.exit(f"gen_schemas: {src} holds {have} calls, not {n}: use another DATA_DIR or N={have}")
    t0 = time.time()
    # The calls, with the time as a TIMESTAMP (UTC) and the rate-table cost LiteLLM would report.
    con.execute(f"""
    CREATE TEMP TABLE r AS SELECT model,
      input_per_mtok::DOUBLE i, output_per_mtok::DOUBLE o,
      coalesce(cache_read_per_mtok, input_per_mtok)::DOUBLE rr, coalesce(cache_write_per_mtok, input_per_mtok)::DOUBLE ww,
      long_context_threshold lt, long_input_per_mtok::DOUBLE li, long_output_per_mtok::DOUBLE lo
    FROM read_csv({q(os.path.join(data, 'rates', 'models.csv'))}, header=true)""")
    con.execute(f"""
    CREATE TEMP TABLE c AS
    SELECT l.*, CAST(CAST(ts AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP) AS t,
      CAST(CAST(ts AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS DATE) AS day,
      coalesce(status, 200) NOT BETWEEN 200 AND 299 AS failed,
      CASE WHEN coalesce(status, 200) NOT BETWEEN 200 AND 299 THEN 0.0
           WHEN r.lt IS NOT NULL AND prompt_tokens > r.lt
           THEN ((prompt_tokens - cached_tokens - cache_write_tokens) * r.li + cached_tokens * r.rr
                 + cache_write_tokens * r.ww + completion_tokens * r.lo) / 1e6
           ELSE ((prompt_tokens - cached_tokens - cache_write_tokens) * r.i + cached_tokens * r.rr
                 + cache_write_tokens * r.ww + completion_tokens * r.o) / 1e6 END AS spend
    FROM read_parquet({q(src)}) l LEFT JOIN r USING (model)""")
    # One team (LiteLLM) / service (OTel) per tenant of the shared generator.
    con.execute("""
    CREATE TEMP TABLE tn AS SELECT tenant,
      sha256('sk-' || tenant || '-prod') AS api_key,
      substr(md5(tenant), 1, 8) || '-' || substr(md5(tenant), 9, 4) || '-' || substr(md5(tenant), 13, 4) || '-'
        || substr(md5(tenant), 17, 4) || '-' || substr(md5(tenant), 21, 12) AS team_id,
      replace(tenant, 'tenant-', 'user-') || '@example.com' AS user_id
    FROM (SELECT DISTINCT tenant FROM c)""")

    t1 = time.time()
    write_otlp(con, os.path.join(data, "logs.otlp.jsonl"))
    t2 = time.time()
    write_litellm(con, data)
    row = con.execute("SELECT count(*), sum(prompt_tokens), sum(completion_tokens) FROM c").fetchone()
    print(f"{row} calls/prompt/completion; load {t1 - t0:.1f} s, otlp {t2 - t1:.1f} s, litellm {time.time() - t2:.1f} s")


def write_otlp(con, out):
    attrs = " || ',' || ".join([
        s_attr("gen_ai.operation.name", "'chat'"),
        s_attr("gen_ai.provider.name", "'openai'"),
        s_attr("gen_ai.request.model", "model"),
        s_attr("server.address", "CASE provider WHEN 'openrouter' THEN 'openrouter.ai' ELSE 'api.ominigate.ai' END"),
        i_attr("server.port", "443"),
        s_attr("gen_ai.response.model", "model"),
        s_attr("gen_ai.response.id", "request_id"),
    ]) + " || " + f"""CASE WHEN failed THEN '' ELSE ',' || '{{"key":"gen_ai.response.finish_reasons","value":{{"arrayValue":{{"values":[{{"stringValue":"' || CASE WHEN completion_tokens > 2400 THEN 'length' ELSE 'stop' END || '"}}]}}}}}}' END""" \
        + " || ',' || " + i_attr("gen_ai.usage.input_tokens", "prompt_tokens") \
        + " || ',' || " + i_attr("gen_ai.usage.output_tokens", "completion_tokens") \
        + " || " + f"CASE WHEN cached_tokens > 0 THEN ',' || {i_attr('gen_ai.usage.cache_read.input_tokens', 'cached_tokens')} ELSE '' END" \
        + " || " + f"CASE WHEN cache_write_tokens > 0 THEN ',' || {i_attr('gen_ai.usage.cache_creation.input_tokens', 'cache_write_tokens')} ELSE '' END" \
        + " || " + f"CASE WHEN failed THEN ',' || {s_attr('error.type', chr(39) + 'InternalServerError' + chr(39))} ELSE '' END"
    span = f"""'{{"traceId":"' || md5(request_id) || '","spanId":"' || substr(md5(request_id || '/s'), 1, 16)
      || '","parentSpanId":"' || substr(md5(request_id || '/p'), 1, 16) || '","name":"chat ' || model
      || '","kind":3,"startTimeUnixNano":"' || CAST(epoch_ns(t) AS VARCHAR)
      || '","endTimeUnixNano":"' || CAST(epoch_ns(t) + CAST(latency_ms AS BIGINT) * 1000000 AS VARCHAR)
      || '","attributes":[' || {attrs} || '],"status":' || CASE WHEN failed THEN '{{"code":2}}' ELSE '{{}}' END || '}}'"""
    resource = ("'{\"resourceSpans\":[{\"resource\":{\"attributes\":[' || "
                + " || ',' || ".join([s_attr("service.name", "tenant"), s_attr("service.version", "'1.8.2'"),
                                      s_attr("deployment.environment.name", "'prod'"),
                                      s_attr("telemetry.sdk.language", "'python'"), s_attr("telemetry.sdk.name", "'opentelemetry'"),
                                      s_attr("telemetry.sdk.version", "'1.38.0'")])
                + " || ']},\"scopeSpans\":[{\"scope\":{\"name\":\"opentelemetry.instrumentation.openai_v2\",\"version\":\"2.1b0\"},\"spans\":['"
                + " || spans || ']}]}]}'")
    days = [d for (d,) in con.execute("SELECT DISTINCT day FROM c ORDER BY day").fetchall()]
    part = out + ".part"
    with open(out, "wb") as dst:
        for d in days:
            # Each service's spans of the day in time order, cut into batches of 1-50 spans (a cut at
            # every 50th span and, at random, before about one span in 25), exported in time order.
            con.execute(f"""
            COPY (
              WITH d AS (SELECT *, row_number() OVER (PARTITION BY tenant ORDER BY t, request_id) AS rn
                         FROM c WHERE day = DATE '{d}'),
              b AS (SELECT *, sum(CASE WHEN rn % 50 = 1 OR hash(request_id) % 25 = 0 THEN 1 ELSE 0 END)
                              OVER (PARTITION BY tenant ORDER BY rn ROWS UNBOUNDED PRECEDING) AS batch FROM d),
              g AS (SELECT tenant, batch, max(t) AS sent, string_agg({span}, ',' ORDER BY rn) AS spans
                    FROM b GROUP BY tenant, batch)
              SELECT {resource} FROM g ORDER BY sent, tenant
            ) TO {q(part)} (FORMAT CSV, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\x1f')""")
            with open(part, "rb") as src:
                while chunk := src.read(1 << 22):
                    dst.write(chunk)
    os.remove(part)


def write_litellm(con, data):
    meta = """json_object(
      'user_api_key', tn.api_key, 'user_api_key_alias', 'key-' || c.tenant, 'user_api_key_team_id', tn.team_id,
      'user_api_key_org_id', NULL, 'user_api_key_user_id', tn.user_id, 'user_api_key_team_alias', c.tenant,
      'spend_logs_metadata', NULL, 'requester_ip_address', '', 'applied_guardrails', json('[]'),
      'status', CASE WHEN failed THEN 'failure' ELSE 'success' END,
      'usage_object', CASE WHEN c.model LIKE 'anthropic/%'
        THEN json_object('completion_tokens', completion_tokens, 'prompt_tokens', prompt_tokens,
               'total_tokens', prompt_tokens + completion_tokens, 'completion_tokens_details', NULL,
               'prompt_tokens_details', json_object('cached_tokens', cached_tokens),
               'cache_creation_input_tokens', cache_write_tokens, 'cache_read_input_tokens', cached_tokens)
        ELSE json_object('completion_tokens', completion_tokens, 'prompt_tokens', prompt_tokens,
               'total_tokens', prompt_tokens + completion_tokens, 'completion_tokens_details', NULL,
               'prompt_tokens_details', json_object('cached_tokens', cached_tokens, 'audio_tokens', 0)) END,
      'error_information', CASE WHEN failed THEN json_object('error_code', '500', 'error_class', 'InternalServerError',
               'error_message', 'litellm.InternalServerError: upstream returned 500') END)"""
    fmt = "'%Y-%m-%d %H:%M:%S.%g'"
    end = "t + to_milliseconds(CAST(latency_ms AS BIGINT))"
    # LiteLLM_SpendLogs' columns in schema.prisma's order.
    rows = f"""
    SELECT request_id, 'acompletion' AS call_type, tn.api_key AS api_key, spend,
      prompt_tokens + completion_tokens AS total_tokens, prompt_tokens, completion_tokens,
      strftime(t, {fmt}) AS "startTime", strftime({end}, {fmt}) AS "endTime",
      CAST(latency_ms AS BIGINT) AS request_duration_ms, strftime({end}, {fmt}) AS "completionStartTime",
      c.model AS model, md5(provider || '/' || c.model) AS model_id, split_part(c.model, '/', 2) AS model_group,
      CASE provider WHEN 'openrouter' THEN 'openrouter' ELSE 'openai' END AS custom_llm_provider,
      CASE provider WHEN 'openrouter' THEN 'https://openrouter.ai/api/v1' ELSE 'https://api.ominigate.ai/v1' END AS api_base,
      tn.user_id AS "user", {meta} AS metadata, 'False' AS cache_hit, 'Cache OFF' AS cache_key,
      json('[]') AS request_tags, tn.team_id AS team_id, CAST(NULL AS VARCHAR) AS organization_id, '' AS end_user,
      '' AS requester_ip_address, json('{{}}') AS messages, json('{{}}') AS response, CAST(NULL AS VARCHAR) AS session_id,
      CASE WHEN failed THEN 'failure' ELSE 'success' END AS status, CAST(NULL AS VARCHAR) AS mcp_namespaced_tool_name,
      CAST(NULL AS VARCHAR) AS agent_id, json('{{}}') AS proxy_server_request
    FROM c JOIN tn USING (tenant)"""
    con.execute(f"COPY ({rows}) TO {q(os.path.join(data, 'logs.litellm.csv'))} (FORMAT CSV, HEADER)")
    con.execute(f"COPY ({rows}) TO {q(os.path.join(data, 'logs.litellm.jsonl'))} (FORMAT JSON)")


if __name__ == "__main__":
    main()
