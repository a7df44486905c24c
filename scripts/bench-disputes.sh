#!/usr/bin/env bash
# Per-call matching at scale (docs/commands/reconcile.md, "Per-call matching and disputes"):
# N logged calls and an OpenRouter activity export of N generations (1 % of them listed twice,
# 0.1 % never logged, 0.1 % of the calls never billed), reconciled with ids (per-call matching
# runs) and without (the same files less the id columns: today's day-level reconcile). Prints
# wall seconds, user and system CPU seconds and peak RSS (KiB) of each run, via /usr/bin/time,
# the load average before each run, and the ratio of the wall times. Figures in
# docs/performance.md ("Per-call matching at 10M calls").
#
#   bash scripts/bench-disputes.sh [N] [WORKDIR]     # N defaults to 1000000
#
# At N = 10M the inputs take 5.2 GB in WORKDIR (put it on a disk with room, e.g. under /tmp)
# and the runs about 3.5 GB more of TMPDIR for the sorted runs; delete WORKDIR afterwards.
# Uses the release binary (built at nice 10 when missing).
set -euo pipefail
N=${1:-1000000}
W=${2:-target/bench-disputes}
cd "$(dirname "$0")/.."
[ -x target/release/spendrecon ] || nice -n 10 cargo build --release -j 2
mkdir -p "$W"
python3 - "$N" "$W" <<'PY'
import sys, os
n, w = int(sys.argv[1]), sys.argv[2]
hdr = ("generation_id,created_at,cost_total,cost_web_search,cost_cache,cost_file_processing,"
       "byok_usage_inference,tokens_prompt,tokens_completion,tokens_reasoning,tokens_cached,"
       "model_permaslug,provider_name,variant,cancelled,streamed,user,finish_reason_raw,"
       "finish_reason_normalized,generation_time_ms,time_to_first_token_ms,api_key_disabled,"
       "api_key_name,app_name\n")
with open(f"{w}/logs-ids.csv", "w") as li, open(f"{w}/logs-noids.csv", "w") as ln, \
     open(f"{w}/activity-ids.csv", "w") as ai, open(f"{w}/activity-noids.csv", "w") as an:
    li.write("ts,provider,model,prompt_tokens,completion_tokens,request_id\n")
    ln.write("ts,provider,model,prompt_tokens,completion_tokens\n")
    ai.write(hdr)
    an.write(hdr)
    for i in range(n):
        day = 1 + i * 30 // n
        sec = (i * 7919) % 86400
        ts = f"2026-04-{day:02d}T{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}Z"
        p, c = 500 + i % 5000, 50 + i % 700
        gid = f"gen-{1770000000 + i}-{i * 2654435761 % 4294967296:08x}abcdEFGHijkl"
        if i % 1000 != 7:   # 0.1 % of the generations are never logged
            li.write(f"{ts},openrouter,anthropic/claude-sonnet-4.6,{p},{c},{gid}\n")
            ln.write(f"{ts},openrouter,anthropic/claude-sonnet-4.6,{p},{c}\n")
        if i % 1000 == 3:   # 0.1 % of the calls are never billed
            continue
        cost = (p * 3 + c * 15) / 1e6
        created = ts.replace("T", " ").replace("Z", ".000")
        rest = (f",{cost:.6f},0,0,0,0,{p},{c},0,0,anthropic/claude-4.6-sonnet-20260217,Anthropic,"
                "standard,false,true,,stop,stop,900,200,false,prod,app\n")
        for _ in range(2 if i % 100 == 5 else 1):   # 1 % listed twice
            ai.write(gid + "," + created + rest)
            an.write("," + created + rest)
PY
ls -l "$W"
run() {
  local name=$1; shift
  rm -rf "$W/out-$name"
  echo "$name: load $(cut -d' ' -f1-3 /proc/loadavg)"
  /usr/bin/time -f "%e %U %S %M" -o "$W/time-$name" target/release/spendrecon reconcile "$@" \
    --out "$W/out-$name" --quiet || true
  # reconcile exits 1 on what it flags; time then writes that first: the figures are the last line.
  echo "$name: $(tail -1 "$W/time-$name") (wall s, user s, sys s, peak KiB)"
}
run noids --logs "$W/logs-noids.csv" --invoices "$W/activity-noids.csv"
run ids --logs "$W/logs-ids.csv" --invoices "$W/activity-ids.csv"
wall() { tail -1 "$W/time-$1" | cut -d' ' -f1; }
echo "ids / noids wall: $(awk -v a="$(wall noids)" -v b="$(wall ids)" 'BEGIN{printf "%.2f", b / a}')"
head -5 "$W/out-ids/disputes.csv"
