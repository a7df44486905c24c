#!/usr/bin/env bash
# `reconcile` against `daily` on the same N calls (issue 17, item 6): wall time, CPU time and peak
# resident memory of each, runs alternated, and the duplicate-id findings reconcile reported.
#
# usage: scripts/bench-reconcile/run.sh BIN DATA_DIR [N=10000000] [RUNS=2] [DUP_PER_MILLE=1]
#   BIN       a spendrecon binary (a release build for figures worth quoting)
#   DATA_DIR  holds logs.csv and rates/models.csv; generated there by gen.py (N calls, DUP_PER_MILLE
#             of every thousand logged twice) when logs.csv is missing. A directory made by the
#             shared bench (../shared/bench/gen.py) works as well.
# The rates are the repository's rates/ with the generated models.csv over them, as the shared
# bench's run.sh prepares them; reconcile reads the sample month's OminiGate invoice (a month of
# day-level lines: no per-call matching). Spilled runs go to TMPDIR.
set -u
S=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$S/../.." && pwd)
[ $# -ge 2 ] || { sed -n 2,13p "$0"; exit 2; }
bin=$1; data=$2; n=${3:-10000000}; runs=${4:-2}; dup=${5:-1}
[ -x "$bin" ] || { echo "no executable $bin"; exit 2; }
if [ ! -f "$data/logs.csv" ]; then
  python3 -c "import duckdb" 2>/dev/null || pip install -q duckdb==2.0.1 >/dev/null 2>&1
  echo "generating $n calls in $data ..."
  python3 "$S/gen.py" "$data" "$n" "$dup" || exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-reconcile.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/rates"; cp -r "$root/rates/." "$tmp/rates/"; cp "$data/rates/models.csv" "$tmp/rates/"
logs=$data/logs.csv
invoice=$root/sample-data/invoices/ominigate-2026-04.csv
printf 'N=%s calls (%s records, %s MiB), %s cores, load %s\n' "$n" \
  "$(($(wc -l <"$logs") - 1))" "$(($(stat -c %s "$logs") >> 20))" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
t() { # label, command...: wall s, CPU s, peak MiB
  local label=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err"
  local rc=$?
  read -r wall user sys rss < <(tail -n 1 "$tmp/time")
  printf '%-10s %8.2f s wall %8.2f s CPU %7d MiB  rc=%s\n' "$label" "$wall" \
    "$(echo "$user + $sys" | bc)" $((rss / 1024)) "$rc"
  echo "$label $wall" >>"$tmp/walls"
}
for i in $(seq "$runs"); do
  rm -rf "$tmp/daily" "$tmp/recon"
  t daily "$bin" daily --logs "$logs" --rates "$tmp/rates" --out "$tmp/daily" --quiet
  t reconcile "$bin" reconcile --logs "$logs" --invoices "$invoice" --rates "$tmp/rates" \
    --out "$tmp/recon" --quiet
done
awk '{ s[$1] += $2; c[$1]++ } END {
  d = s["daily"] / c["daily"]; r = s["reconcile"] / c["reconcile"]
  printf "mean wall: daily %.2f s, reconcile %.2f s, reconcile/daily %.2f\n", d, r, r / d }' "$tmp/walls"
awk -F, 'NR > 1 && $1 == "duplicate_request_id" { n += $5; rows++ } END {
  printf "duplicate_request_id: %d records in %d findings rows\n", n, rows }' "$tmp/recon/findings.csv"
echo "findings.csv sha256 $(sha256sum <"$tmp/recon/findings.csv" | cut -c1-16), recon.csv $(sha256sum <"$tmp/recon/recon.csv" | cut -c1-16), fees.csv $(sha256sum <"$tmp/recon/fees.csv" 2>/dev/null | cut -c1-16)"
[ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cp "$tmp/recon/"*.csv "$KEEP/"
exit 0
