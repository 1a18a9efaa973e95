#!/usr/bin/env bash
# Plans of any size, and what re-plans cost the evidence store:
#
#   1. `trainyard sync plan --exact` of a 100,000-file pair in which every
#      file differs (gen-tree.py --change 100: adds, modifications that
#      keep size and time, modifications that do not, deletes), side by
#      side with `rsync -anc --delete`: time (hyperfine) and peak resident
#      memory (bench/peak-rss.py: the largest process, as /usr/bin/time's
#      %M, and the PSS of all processes together), the plan checked first against
#      expected.tsv;
#   2. the growth of the evidence store over ten plans of one unchanged
#      20,000-file pair (the first plan records the change list and diff;
#      the next ones should record little more than their plan document).
#
#   bench/sync-store.sh [FILES] [REPLAN_FILES]   (defaults 100000, 20000)
#
# Needs python3, rsync and hyperfine. Corpora are made once under
# target/bench-corpus/ by ../shared/bench/gen-tree.py and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-100000}
replan_files=${2:-20000}
gen=${TRAINYARD_GEN_TREE:-../shared/bench/gen-tree.py}
mkdir -p target/bench-corpus
cargo build --release --quiet -p trainyard
cli=$PWD/target/release/trainyard

# A repository beside the pair whose sync `s` plans source -> target.
workspace() {
  rm -rf "$1/work" && mkdir -p "$1/work/.trainyard/syncs" && git -C "$1/work" init -q
  cat > "$1/work/.trainyard/syncs/s.yaml" <<YAML
sync_config:
  sync_id: s
  name: s
  type: cross_repo
  source: { type: file, location: ../source }
  target: { type: file, location: ../target }
  options: { dry_run_required: true, approval_required: false, conflict_strategy: theirs }
  filters: { include: [], exclude: [] }
  schedule: { trigger: manual }
  notifications: { on_success: [], on_failure: [] }
YAML
}

big=target/bench-corpus/tree-$files-all
if [ ! -f "$big/expected.tsv" ]; then
  python3 "$gen" "$big" --files "$files" --change 100 --mean-kib 2
fi
workspace "$big"
cd "$big"
echo "== plan of $files files, $(wc -l < expected.tsv) differences"
# Exact before fast: the plan's change list is the expected one.
"$cli" -C work --json sync plan s --exact > plan.json || [ $? -eq 1 ]
python3 - <<'PY'
import json
plan = json.load(open("plan.json"))
got = sorted((c["kind"], c["path"]) for c in plan["changes"])
want = sorted(tuple(l.rstrip("\n").split("\t")) for l in open("expected.tsv"))
assert got == want, f"plan differs from expected.tsv: {len(got)} vs {len(want)}"
print(f"plan == expected.tsv ({len(got)} changes), recorded as {plan['plan_ref']}")
PY
hyperfine -N -i --warmup 1 --runs 3 --export-markdown "../sync-plan-$files-all.md" \
  -n "rsync -anc --delete" "rsync -anc --delete source/ target/" \
  -n "trainyard sync plan --exact" "$cli -C work sync plan s --exact"
# Peak resident memory, two ways: the largest single process (as
# /usr/bin/time's %M), and all of a command's processes together (rsync
# -anc works as three processes, trainyard as one).
rss=$OLDPWD/bench/peak-rss.py
echo "peak resident memory:"
python3 "$rss" "rsync -anc --delete" rsync -anc --delete source/ target/
python3 "$rss" "trainyard sync plan --exact" "$cli" -C work sync plan s --exact
cd - > /dev/null

small=target/bench-corpus/tree-$replan_files
if [ ! -f "$small/expected.tsv" ]; then
  python3 "$gen" "$small" --files "$replan_files"
fi
workspace "$small"
cd "$small"
echo "== ten plans of one unchanged $replan_files-file pair ($(wc -l < expected.tsv) differences)"
# The evidence store, and beside it the sync's state (its hash caches,
# rewritten by each plan, not evidence).
size() { du -sb work/.trainyard/evidence | cut -f1; }
state() { du -sb work/.trainyard/sync-state | cut -f1; }
"$cli" -C work sync plan s > /dev/null 2>&1 || true
first=$(size)
echo "  evidence store after the first plan: $first bytes (sync state $(state) bytes)"
previous=$first
for i in 2 3 4 5 6 7 8 9 10; do
  sleep 1  # a new second: another plan, not the same one again
  "$cli" -C work sync plan s > /dev/null 2>&1 || true
  now=$(size)
  echo "  plan $i: +$((now - previous)) bytes (sync state $(state) bytes)"
  previous=$now
done
echo "  growth over plans 2-10: $((previous - first)) bytes, $(((previous - first) / 9)) bytes per re-plan"
"$cli" -C work evidence verify > /dev/null && echo "  evidence verify: intact"
