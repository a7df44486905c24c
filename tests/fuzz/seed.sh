#!/bin/sh
# Rebuilds the committed seed corpus (seeds/<target>/) from tests/fixtures/ and rates/.
# Run from the repository root: sh tests/fuzz/seed.sh
set -eu
out=tests/fuzz/seeds
rm -rf "$out"
mkdir -p "$out/log_line" "$out/invoice_csv" "$out/rate_table"
name() { echo "$1" | sed 's#^tests/fixtures/##; s#/#-#g'; }
# log_line: every line of the JSON-lines fixtures, and the CSV log fixtures whole.
for f in $(find tests/fixtures -name '*.jsonl' | sort); do
  n=0
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    printf '%s' "$line" > "$out/log_line/$(name "$f")-$n"
  done < "$f"
done
for f in tests/fixtures/daily/logs.csv tests/fixtures/daily/bad.csv \
  tests/fixtures/daily/bom_crlf_latin1.csv tests/fixtures/fees/scenario/logs.csv; do
  cp "$f" "$out/log_line/$(name "$f")"
done
# invoice_csv: the invoice fixtures.
for f in tests/fixtures/invoices/*.csv tests/fixtures/reconcile/invoice.csv \
  tests/fixtures/fees/reconcile/invoice.csv; do
  cp "$f" "$out/invoice_csv/$(name "$f")"
done
# rate_table: the shipped tables and the fixtures' rate tables, slug maps and fee policies.
for f in rates/models.csv rates/slugs.csv rates/aliases.csv rates/fees.toml \
  $(find tests/fixtures -name 'models.csv' -o -name 'slugs.csv' -o -name 'aliases.csv' -o -name 'fees.toml' | sort); do
  cp "$f" "$out/rate_table/$(name "$f" | sed 's#^rates-#shipped-#')"
done
