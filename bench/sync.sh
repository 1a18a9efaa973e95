#!/usr/bin/env bash
# Times a content-exact sync plan against `rsync -anc --delete`, and a
# cached re-plan against `rsync -an --delete`, side by side on a generated
# tree pair, and reports peak memory.
#
#   bench/sync.sh [FILES]        (default 100000, about 1 GB per side)
#
# Needs python3, rsync and hyperfine (Debian: apt-get install rsync
# hyperfine). The pair is made once by ../shared/bench/gen-tree.py under
# target/bench-corpus/ and reused. The plan is checked against the pair's
# expected.tsv before anything is timed. Runs are on a warm page cache
# (hyperfine warms up); DROP_CACHES=1 adds a cold-cache round (root only).
#
# trainyard's side is the scan_pair example of trainyard-core (scan both
# trees, compare); switch it to `trainyard sync plan` once that exists.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-100000}
corpus=target/bench-corpus/tree-$files
gen=${TRAINYARD_GEN_TREE:-../shared/bench/gen-tree.py}
if [ ! -f "$corpus/expected.tsv" ]; then
  mkdir -p target/bench-corpus
  python3 "$gen" "$corpus" --files "$files"
fi
cargo build --release --quiet -p trainyard-core --example scan_pair
bin=$PWD/target/release/examples/scan_pair
cd "$corpus"
rm -rf cache

echo "size: $(du -sh source | cut -f1) source, $(du -sh target | cut -f1) target," \
  "$(find source -type f | wc -l) files, $(wc -l < expected.tsv) differences"
# The plan must be exact before it is fast.
"$bin" source target --tsv | LC_ALL=C sort > plan.tsv
LC_ALL=C sort expected.tsv | diff - plan.tsv > /dev/null \
  || { echo "plan differs from expected.tsv:"; LC_ALL=C sort expected.tsv | diff - plan.tsv | head; exit 1; }
echo "plan == expected.tsv ($(wc -l < plan.tsv) changes)"
"$bin" source target

hyperfine -N --warmup 2 --export-markdown "../sync-$files.md" \
  -n "rsync -anc --delete (content)" "rsync -anc --delete source/ target/" \
  -n "scan_pair (cold content plan)" "$bin source target" \
  -n "rsync -an --delete (metadata)" "rsync -an --delete source/ target/" \
  -n "scan_pair --cache (cached re-plan)" "$bin source target --cache cache"

rm -f rss.txt
if [ "${DROP_CACHES:-0}" = 1 ]; then
  echo "cold page cache, one run each:" >> rss.txt
  for cmd in "rsync -anc --delete source/ target/" "$bin source target"; do
    sync; echo 3 > /proc/sys/vm/drop_caches
    /usr/bin/time -a -o rss.txt -f "  %e s, %M KiB: ${cmd##*/}" $cmd > /dev/null 2>&1
  done
fi
echo "warm page cache, peak resident memory:" >> rss.txt
t() { label=$1; shift; /usr/bin/time -a -o rss.txt -f "  %e s, %M KiB: $label" "$@" > /dev/null 2>&1; }
t "rsync -anc --delete" rsync -anc --delete source/ target/
t "scan_pair (cold content plan)" "$bin" source target
t "rsync -an --delete" rsync -an --delete source/ target/
t "scan_pair --cache (cached re-plan)" "$bin" source target --cache cache
echo
cat rss.txt
echo "results: target/bench-corpus/sync-$files.md"
