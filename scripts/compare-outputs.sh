#!/usr/bin/env bash
# Proves a change leaves every command's outputs on the sample month byte-identical: builds
# BASE (a git revision, default HEAD~1) in a temporary worktree, or takes BASE as a binary
# already built, builds the working tree, runs scripts/sample-outputs.sh with both binaries,
# and diffs the two sets.
#
#   scripts/compare-outputs.sh [BASE]
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-HEAD~1}
root=$(pwd)
work=$(mktemp -d)
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
target=${CARGO_TARGET_DIR:-$root/target}
if [ -x "$base" ] && [ -f "$base" ]; then
    # Usage messages name the binary: give both the same name.
    mkdir -p "$work/bin"
    cp "$base" "$work/bin/spendrecon"
    before_bin=$work/bin/spendrecon
else
    git worktree add --detach "$work/base" "$base" >/dev/null
    (cd "$work/base" && CARGO_TARGET_DIR="$target/compare-base" cargo build --quiet --bin spendrecon)
    before_bin=$target/compare-base/debug/spendrecon
fi
cargo build --quiet --bin spendrecon
# Each side runs the working tree's script on the working tree's sample data.
bash scripts/sample-outputs.sh "$before_bin" "$work/before"
bash scripts/sample-outputs.sh "$target/debug/spendrecon" "$work/after"
if diff -r "$work/before" "$work/after" >"$work/diff"; then
    echo "same outputs: $(find "$work/after" -type f | wc -l) files byte-identical to $base"
else
    head -100 "$work/diff"
    echo "outputs differ from $base"
    exit 1
fi
