#!/usr/bin/env bash
# Runs every command on the shipped sample month with the binary BIN and writes each command's
# outputs (CSV, JSON lines, terminal table, stderr summary, exit status, XLSX, FOCUS, HTML) into
# DIR/<case>/. Used by scripts/compare-outputs.sh to prove a change leaves behaviour as it was.
#
#   scripts/sample-outputs.sh target/debug/spendrecon /tmp/outputs
set -uo pipefail
bin=$(realpath "$1")
dest=$(realpath -m "$2")
cd "$(dirname "$0")/.."
rm -rf "$dest"
mkdir -p "$dest"

logs=(--logs sample-data/logs)
inv=(--invoices sample-data/invoices/openrouter-2026-04.xlsx --invoices sample-data/invoices/ominigate-2026-04.csv)
top=(--topups sample-data/topups/ledger-2026-04.csv)

run() { # case, then the arguments
    local name=$1
    shift
    local out="$dest/$name"
    mkdir -p "$out/files"
    # Arguments may name the case's directory as @OUT.
    local args=()
    for a in "$@"; do args+=("${a//@OUT/$out/files}"); done
    "$bin" "${args[@]}" >"$out/stdout" 2>"$out/stderr"
    echo $? >"$out/status"
}

run daily daily "${logs[@]}" --out @OUT --xlsx @OUT/daily.xlsx --focus @OUT/focus.csv
run daily-stdout daily "${logs[@]}"
run daily-json daily "${logs[@]}" --format json --out @OUT
run daily-table daily "${logs[@]}" --format table --tz Europe/Berlin --from 2026-04-03 --to 2026-04-20
run reconcile reconcile "${logs[@]}" "${inv[@]}" "${top[@]}" --out @OUT --xlsx @OUT/recon.xlsx --focus @OUT/focus.csv
run reconcile-stdout reconcile "${logs[@]}" "${inv[@]}" --tolerance-tokens 100 --tolerance-usd 0.5
run fees fees "${top[@]}" "${logs[@]}" --out @OUT --months 3 --growth-pct 10 --xlsx @OUT/fees.xlsx
run fees-sub fees "${top[@]}" "${logs[@]}" --byok-subscription 49 --format table
run forecast forecast "${logs[@]}" --to 2026-04-18 --move openrouter=ominigate:25 --months 2 --out @OUT --xlsx @OUT/forecast.xlsx
run forecast-stdout forecast "${logs[@]}" --to 2026-04-18
run audit audit "${logs[@]}" --out @OUT
run audit-table audit "${logs[@]}" --format table
run shadow shadow "${logs[@]}" --out @OUT
run shadow-stdout shadow "${logs[@]}" --tolerance-tokens 0 --tolerance-pct 0
run rollout rollout "${logs[@]}" --out @OUT
run rollout-tz rollout "${logs[@]}" --tz America/New_York --format json
run report report "${logs[@]}" "${inv[@]}" "${top[@]}" --out @OUT
run report-logs-only report "${logs[@]}" --out @OUT
run rates-import rates import-litellm tests/fixtures/litellm/model_prices.json --rates tests/fixtures/litellm/rates --effective-from 2026-12-01
run bad-usage daily
run bad-rates daily "${logs[@]}" --rates sample-data
run strict daily "${logs[@]}" --strict
run completions completions bash
run man man

# Paths of the temporary directory and of the binary (run.json's command line) are not part of
# the behaviour.
grep -rl -e "$dest" -e "$bin" "$dest" 2>/dev/null | while read -r f; do
    sed -i -e "s#$dest#DEST#g" -e "s#$bin#BIN#g" "$f"
done
