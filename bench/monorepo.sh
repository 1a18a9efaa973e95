#!/usr/bin/env bash
# Per-package history of a monorepo: `trainyard version history` of 20
# packages over a 100,000-commit generated history (every package's
# releases, each checked against its own commits: one walk, each commit
# attributed to its packages by the tree entries at their paths), side by
# side with one `git log --format=%H%x00%B` of the whole history and with
# git's own path-limited walk of the packages' paths.
#
#   bench/monorepo.sh [COMMITS] [PACKAGES]   (defaults 100000, 20)
#
# Needs python3 and hyperfine. The corpus is made once under
# target/bench-corpus/ by bench/gen-monorepo.py and reused; before timing,
# every package's release history is checked (no mismatch, and releases
# recorded by the generator all present).
set -euo pipefail
cd "$(dirname "$0")/.."
commits=${1:-100000}
packages=${2:-20}
corpus=target/bench-corpus/monorepo-$commits-$packages
mkdir -p target/bench-corpus
cargo build --release --quiet -p trainyard
cli=$PWD/target/release/trainyard
if [ ! -d "$corpus" ]; then
  python3 bench/gen-monorepo.py "$corpus" --commits "$commits" --packages "$packages" \
    --fixed 0 --release-every 40
fi
releases=$(wc -l < "$corpus/.git/expected-releases.tsv")
found=$("$cli" -C "$corpus" version history --check --json \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(len(p["releases"]) for p in d["packages"]))')
echo "releases: generator $releases, trainyard $found (version history --check passed)"
[ "$releases" = "$found" ]
# The same history as `git repack -adf` stores it: fast-import deltas each
# tree on the one before it, repack on the one after it; trainyard reads
# trees in the order their delta chains run, so both layouts are timed.
repacked=$corpus-repacked
if [ ! -d "$repacked" ]; then
  cp -r "$corpus" "$repacked"
  git -C "$repacked" repack -adf -q
fi
paths=$(cd "$corpus" && ls -d packages/* | tr '\n' ' ')
hyperfine --warmup 1 --runs 5 \
  -n 'git log --format=%H%x00%B' "git -C $corpus log --format=%H%x00%B > /dev/null" \
  -n "git log --format=%H -- <$packages package paths>" "git -C $corpus log --format=%H -- $paths > /dev/null" \
  -n "trainyard version history ($packages packages)" "$cli -C $corpus version history --json > /dev/null" \
  -n 'git log --format=%H%x00%B (repacked)' "git -C $repacked log --format=%H%x00%B > /dev/null" \
  -n "trainyard version history ($packages packages, repacked)" "$cli -C $repacked version history --json > /dev/null"
