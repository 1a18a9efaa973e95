#!/usr/bin/env bash
# Times trainyard's history work against the `git log` floor (and against
# git-cliff for the changelog, when it is installed) on a generated
# history, side by side in one run, and reports peak memory.
#
#   bench/history.sh [COMMITS]        (default 100000)
#
# Needs python3, git and hyperfine (Debian: apt-get install hyperfine);
# for the git-cliff column: cargo install git-cliff --locked, or set
# GIT_CLIFF=/path/to/git-cliff. The corpus is made once by
# ../shared/bench/gen-history.py under target/bench-corpus/ and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
commits=${1:-100000}
corpus=target/bench-corpus/history-$commits
if [ ! -d "$corpus/.git" ]; then
  mkdir -p target/bench-corpus
  python3 ../shared/bench/gen-history.py "$corpus" --commits "$commits"
fi
# The same history without any tag: `version next` then walks it whole.
untagged=target/bench-corpus/untagged-$commits
if [ ! -d "$untagged/.git" ]; then
  git clone --quiet --no-local "$corpus" "$untagged"
  git -C "$untagged" tag -l | xargs -r git -C "$untagged" tag -d > /dev/null
fi
cargo build --release --quiet
bin=$PWD/target/release/trainyard
cliff=${GIT_CLIFF:-$(command -v git-cliff || true)}

(cd "$untagged" && hyperfine -N --warmup 2 --export-markdown "../untagged-$commits.md" \
  -n "git log --format=%H%x00%B (floor, untagged)" "git log --format=%H%x00%B" \
  -n "trainyard version next (untagged: the whole history)" "$bin version next")

cd "$corpus"

hyperfine -N --warmup 2 --export-markdown "../history-$commits.md" \
  -n "git log --format=%H%x00%B (floor)" "git log --format=%H%x00%B" \
  -n "trainyard version history (every commit classified)" "$bin version history" \
  -n "trainyard changelog --all" "$bin changelog --all" \
  -n "git describe --tags" "git describe --tags" \
  -n "trainyard version next" "$bin version next"

echo
echo "peak resident memory:"
/usr/bin/time -f "  git log: %e s, %M KiB" git log --format=%H%x00%B > /dev/null
/usr/bin/time -f "  trainyard changelog --all: %e s, %M KiB" "$bin" changelog --all > /dev/null
if [ -n "$cliff" ]; then
  # git-cliff with its default configuration; one run, it is slow.
  /usr/bin/time -f "  git-cliff: %e s, %M KiB" "$cliff" -o /dev/null 2> >(grep -v WARN >&2)
fi
echo "results: target/bench-corpus/history-$commits.md, target/bench-corpus/untagged-$commits.md"
