#!/usr/bin/env bash
# `spendrecon daily --schema otel|litellm` against DuckDB on the same files, and against today's
# JSONL (`daily --logs logs.jsonl`) for the same calls. Checks every daily row against DuckDB's
# (requests, prompt tokens, cost within 0.005), and DuckDB's table for each schema file against
# DuckDB's table for logs.jsonl (the generator's check: same calls, same table).
#
# usage: scripts/bench-schemas/run.sh BIN DATA_DIR [N=10000000]
#   BIN       a spendrecon binary (a release build for figures worth quoting); `-` times DuckDB only
#   DATA_DIR  generated here when its files are missing (gen_schemas.py, which runs the shared
#             ../shared/bench/gen.py first); N must match the calls already in DATA_DIR
# Installs the pinned duckdb 2.0.1 / polars 2.1.0 of the shared bench with pip when missing.
set -u
S=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$S/../.." && pwd)
[ $# -ge 2 ] || { sed -n 2,11p "$0"; exit 2; }
bin=$1; data=$2; n=${3:-10000000}
if [ "$bin" != "-" ]; then
  [ -x "$bin" ] || { echo "no executable $bin (pass - to time DuckDB only)"; exit 2; }
  bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
fi
shared=${SHARED_BENCH:-}
for d in "$root/../shared/bench"; do
  [ -z "$shared" ] && [ -f "$d/duckdb_daily.py" ] && shared=$(cd "$d" && pwd)
done
[ -n "$shared" ] || { echo "cannot find the shared bench (set SHARED_BENCH=DIR)"; exit 2; }
python3 -c "import duckdb, polars, pyarrow; assert duckdb.__version__ == '2.0.1' and polars.__version__ == '2.1.0'" 2>/dev/null \
  || pip install -q duckdb==2.0.1 polars==2.1.0 pyarrow >/dev/null 2>&1
mkdir -p "$data"; data=$(cd "$data" && pwd)
for f in logs.jsonl logs.otlp.jsonl logs.litellm.csv logs.litellm.jsonl; do
  if [ ! -f "$data/$f" ]; then
    echo "generating $n calls in $data ..."
    SHARED_BENCH=$shared python3 "$S/gen_schemas.py" "$data" "$n" || exit 1
    break
  fi
done
tmp=$(mktemp -d /tmp/bench-schemas.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/rates"; cp -r "$root/rates/." "$tmp/rates/"; cp "$data/rates/models.csv" "$tmp/rates/"

t() { # label, command...: prints wall seconds, peak RSS MiB and exit status; leaves them in $wall $rss $rc
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  read -r wall rss < <(tail -1 "$tmp/time")
  rss=$((rss / 1024))
  printf '  %-44s %8s s %6d MiB  rc=%s\n' "$label" "$wall" "$rss" "$rc"
  if [ "$rc" != 0 ]; then sed -n 1,3p "$tmp/err" | cut -c1-160 | sed 's/^/      | /'; fi
}
cmp_rows() { # REF_CSV OTHER_CSV: daily rows of OTHER equal to REF's (requests, prompt tokens, cost within 0.005)
  python3 - "$1" "$2" <<'EOF'
import csv, sys
from decimal import Decimal
a, b = sys.argv[1:3]
key = lambda r: (r["day"], r["provider"], r["model"])
A = {key(r): r for r in csv.DictReader(open(a, encoding="utf-8-sig"))}
try:
    B = {key(r): r for r in csv.DictReader(open(b, encoding="utf-8-sig"))}
except FileNotFoundError:
    print("      no daily.csv"); sys.exit(1)
bad = [k for k in A if k not in B or int(B[k]["requests"]) != int(A[k]["requests"])
       or int(B[k]["prompt_tokens"]) != int(A[k]["prompt_tokens"])
       or abs(Decimal(B[k]["cost_usd"] or 0) - Decimal(A[k]["cost_usd"] or 0)) > Decimal("0.005")]
extra = [k for k in B if k not in A]
tot = lambda R: sum(Decimal(r["cost_usd"] or 0) for r in R.values())
print(f"      rows {len(A) - len(bad)}/{len(A)} equal to the reference" + (f", {len(extra)} extra" if extra else "")
      + f"; total cost {tot(B)} vs {tot(A)}")
for k in bad[:3]:
    print(f"      differs {k}: {dict(B.get(k, {}))} vs {dict(A[k])}")
sys.exit(1 if bad or extra else 0)
EOF
}
ratio() { python3 -c "import sys; a, b = map(float, sys.argv[1:]); print(f'{a / b:.2f}' if b else '-')" "$1" "$2"; }

printf 'N=%s calls, %s cores, load %s, DuckDB %s\n' "$n" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  "$(python3 -c 'import duckdb; print(duckdb.__version__)')"
mib() { echo $(( $(stat -c %s "$1") / 1048576 )); }

echo "== logs.jsonl ($(mib "$data/logs.jsonl") MiB): today's JSONL, the reference"
t "duckdb_daily.py (2 threads, exact money)" python3 "$shared/duckdb_daily.py" "$data/logs.jsonl" "$tmp/rates/models.csv" "$tmp/ref.csv"
[ "$rc" = 0 ] || { echo "DuckDB failed on logs.jsonl"; exit 1; }
duck_jsonl=$wall
sr_jsonl=""
if [ "$bin" != "-" ]; then
  t "spendrecon daily" "$bin" daily --logs "$data/logs.jsonl" --rates "$tmp/rates" --out "$tmp/sr-jsonl"
  if [ "$rc" = 0 ]; then sr_jsonl=$wall; sr_jsonl_rss=$rss; fi
  cmp_rows "$tmp/ref.csv" "$tmp/sr-jsonl/daily.csv"
  [ -n "$sr_jsonl" ] && echo "      ratio spendrecon/duckdb = $(ratio "$sr_jsonl" "$duck_jsonl")"
fi

summary=()
for spec in "otel logs.otlp.jsonl" "litellm logs.litellm.csv" "litellm logs.litellm.jsonl"; do
  set -- $spec; schema=$1; f=$2; file=$data/$f
  echo "== $f ($(mib "$file") MiB, x$(ratio "$(stat -c %s "$file")" "$(stat -c %s "$data/logs.jsonl")") the bytes of logs.jsonl; --schema $schema)"
  t "duckdb_schemas.py (2 threads, exact money)" python3 "$S/duckdb_schemas.py" "$file" "$tmp/rates/models.csv" "$tmp/duck-$f.csv"
  duck=""; [ "$rc" = 0 ] && duck=$wall
  line="$f: duckdb ${duck:-failed} s / ${rss} MiB"
  if [ -n "$duck" ]; then
    echo "      ratio duckdb/duckdb-on-logs.jsonl = $(ratio "$duck" "$duck_jsonl")"
    # the generator's check: the same calls give DuckDB the same table as logs.jsonl does
    if cmp -s "$tmp/ref.csv" "$tmp/duck-$f.csv"; then echo "      duckdb table identical to logs.jsonl's (generator check)"
    else echo "      duckdb table DIFFERS from logs.jsonl's: generator or query wrong"; cmp_rows "$tmp/ref.csv" "$tmp/duck-$f.csv"; fi
  fi
  if [ "$bin" != "-" ]; then
    t "spendrecon daily --schema $schema" "$bin" daily --schema "$schema" --logs "$file" --rates "$tmp/rates" --out "$tmp/sr-$f"
    if [ "$rc" = 0 ]; then
      sr=$wall; mem=$rss
      ref=$tmp/ref.csv; [ -n "$duck" ] && ref=$tmp/duck-$f.csv
      cmp_rows "$ref" "$tmp/sr-$f/daily.csv" && ok=equal || ok=DIFFERENT
      [ -n "$duck" ] && echo "      ratio spendrecon/duckdb = $(ratio "$sr" "$duck")"
      if [ -n "$sr_jsonl" ]; then
        echo "      ratio spendrecon $f / spendrecon logs.jsonl = $(ratio "$sr" "$sr_jsonl")$( [ "$schema" = otel ] && echo ' (goal: <= 2.00)')"
      fi
      line="$line; spendrecon $sr s / $mem MiB (rows $ok$( [ "$mem" -le 512 ] && echo ', memory <= 512 MiB' || echo ', memory OVER 512 MiB'))"
      [ -n "$sr_jsonl" ] && line="$line, x$(ratio "$sr" "$sr_jsonl") of today's JSONL"
    else
      echo "      spendrecon could not read it (is --schema $schema built into this binary?)"
      line="$line; spendrecon failed (rc=$rc)"
    fi
  fi
  summary+=("$line")
done
echo "== summary (today's JSONL: duckdb $duck_jsonl s${sr_jsonl:+, spendrecon $sr_jsonl s / $sr_jsonl_rss MiB})"
printf '  %s\n' "${summary[@]}"
