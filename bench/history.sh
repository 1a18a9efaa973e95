#!/usr/bin/env bash
# Times trainyard's history work against the `git log` floor on a generated
# history, side by side in one hyperfine run.
#
#   bench/history.sh [COMMITS]        (default 100000)
#
# Needs python3, git and hyperfine (Debian: apt-get install hyperfine). The
# corpus is made once by ../shared/bench/gen-history.py under
# target/bench-corpus/ and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
commits=${1:-100000}
corpus=target/bench-corpus/history-$commits
if [ ! -d "$corpus/.git" ]; then
  mkdir -p target/bench-corpus
  python3 ../shared/bench/gen-history.py "$corpus" --commits "$commits"
fi
cargo build --release --quiet
bin=$PWD/target/release/trainyard
cd "$corpus"
hyperfine -N --warmup 3 --export-markdown "../history-$commits.md" \
  -n "git log --format=%H%x00%B (floor)" "git log --format=%H%x00%B" \
  -n "trainyard version history (all commits classified)" "$bin version history" \
  -n "git describe --tags" "git describe --tags" \
  -n "trainyard version next" "$bin version next"
echo "results: target/bench-corpus/history-$commits.md"
