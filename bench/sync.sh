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
# (hyperfine warms up); DROP_CACHES=1 adds a round on a cold page cache,
# every file read from the disk (root only; COLD_RUNS=3 runs each).
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

if [ "${DROP_CACHES:-0}" = 1 ]; then
  # Cold page cache: every run reads from the disk (needs root).
  hyperfine -N --runs "${COLD_RUNS:-3}" --export-markdown "../sync-$files-cold.md" \
    --prepare "sh -c 'sync; echo 3 > /proc/sys/vm/drop_caches'" \
    -n "rsync -anc --delete (content, cold cache)" "rsync -anc --delete source/ target/" \
    -n "scan_pair (cold content plan, cold cache)" "$bin source target" \
    -n "rsync -an --delete (metadata, cold cache)" "rsync -an --delete source/ target/" \
    -n "scan_pair --cache (cached re-plan, cold cache)" "$bin source target --cache cache"
fi

rm -f rss.txt
"$bin" source target > /dev/null 2>&1  # warm the page cache again
echo "warm page cache, peak resident memory:" >> rss.txt
t() { label=$1; shift; /usr/bin/time -a -o rss.txt -f "  %e s, %M KiB: $label" "$@" > /dev/null 2>&1; }
t "rsync -anc --delete" rsync -anc --delete source/ target/
t "scan_pair (cold content plan)" "$bin" source target
t "rsync -an --delete" rsync -an --delete source/ target/
t "scan_pair --cache (cached re-plan)" "$bin" source target --cache cache

# The whole command, side by side with rsync: `trainyard sync plan` (with
# --exact: no cache), a re-plan, and the apply. The apply writes into a
# fresh copy of the target each run (so the corpus stays as generated),
# made more than 2 s earlier so that its files are past the hash cache's
# racy window, as a target that is not being written to is:
#   - `sync apply` of a plan made in the prepare step (the stale check
#     re-reads both trees, then the apply, verification and log);
#   - `sync run` (plan, automatic approval, apply, verification and log
#     in one go; every target file is hashed, the copy being new to it);
#   - `rsync -a --delete` (no flush to disk, and size and time only: it
#     misses the modifications that keep both) and with `--fsync`.
cli=$OLDPWD/target/release/trainyard
(cd "$OLDPWD" && cargo build --release --quiet -p trainyard)
rm -rf work && mkdir -p work/.trainyard/syncs && git -C work init -q
for sync in "plan ../target" "apply copy"; do
  set -- $sync
  cat > "work/.trainyard/syncs/$1.yaml" <<YAML
sync_config:
  sync_id: $1
  name: $1
  type: cross_repo
  source: { type: file, location: ../source }
  target: { type: file, location: $2 }
  options: { dry_run_required: true, approval_required: false, conflict_strategy: theirs }
  filters: { include: [], exclude: [] }
  schedule: { trigger: manual }
  notifications: { on_success: [], on_failure: [] }
YAML
done
fresh="rm -rf work/copy && cp -a target work/copy && sleep 2.1"
cat > work/prepare-plan.sh <<SH
#!/bin/sh
$fresh
"$cli" -C work sync plan apply --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["plan_id"])' > work/plan-id
SH
eval "$fresh"
# `sync plan` exits 1 when it finds changes, like diff: -i.
hyperfine -N -i --warmup 1 --runs 5 --export-markdown "../sync-cli-plan-$files.md" \
  -n "rsync -anc --delete (content)" "rsync -anc --delete source/ target/" \
  -n "trainyard sync plan --exact" "$cli -C work sync plan plan --exact" \
  -n "rsync -an --delete (metadata)" "rsync -an --delete source/ target/" \
  -n "trainyard sync plan (cached re-plan)" "$cli -C work sync plan plan" || true
hyperfine --warmup 1 --runs 5 --export-markdown "../sync-cli-apply-$files.md" \
  -n "rsync -a --delete" --prepare "sh -c '$fresh'" "rsync -a --delete source/ work/copy/" \
  -n "rsync -a --delete --fsync" --prepare "sh -c '$fresh'" "rsync -a --delete --fsync source/ work/copy/" \
  -n "trainyard sync apply (planned)" --prepare "sh work/prepare-plan.sh" "sh -c '$cli -C work sync apply \$(cat work/plan-id)'" \
  -n "trainyard sync run (plan + apply + verify + log)" --prepare "sh -c '$fresh'" "$cli -C work sync run apply"
eval "$fresh"
t "trainyard sync run (plan + apply + verify + log)" "$cli" -C work sync run apply
if diff -r --no-dereference source work/copy > /dev/null; then
  echo "after sync run: the copy equals the source (diff -r --no-dereference)"
else
  echo "after sync run: the copy differs from the source"; exit 1
fi
eval "$fresh"
t "rsync -a --delete" rsync -a --delete source/ work/copy/
echo
cat rss.txt
echo "results: target/bench-corpus/sync-$files.md, sync-cli-plan-$files.md, sync-cli-apply-$files.md (and sync-$files-cold.md with DROP_CACHES=1)"
