#!/usr/bin/env bash
# bench/floor.sh: where a cold ingest's time goes (issue 6). Alternates, RUNS times each:
#   full    observatory ingest into a fresh database (as bench/run.sh measures it)
#   nostore the same source with the SQLite writer's write_batch call removed: files are
#           found, read, split, parsed and compressed (with the dictionary) exactly as in a
#           cold ingest, and the batches are dropped. The database gets its schema and a row
#           per file, no lines, rows or raw bytes: what a cold ingest costs before SQLite
#           stores its rows.
#   ccusage 20.0.24 `claude daily --offline --json` (the baseline of bench/run.sh)
# and prints each one's median wall, user and sys time and the ratios to ccusage.
#
#   bench/floor.sh            (after bench/run.sh has made the corpus and installed ccusage)
#
# Environment: BENCH_DIR [/tmp/obs-bench], SIZE [1G], RUNS [3]. Both binaries are built from
# the committed HEAD (git archive, so uncommitted changes are not measured) in BENCH_DIR/floor,
# with its own target folder. Nothing outside BENCH_DIR is written. A run that fails stops the
# script with its stderr.
set -euo pipefail
export LC_ALL=C
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/obs-bench}
SIZE=${SIZE:-1G}
RUNS=${RUNS:-3}
CORPUS="$BENCH_DIR/corpus-$SIZE"
CC="$BENCH_DIR/ccusage-20.0.24/node_modules/@ccusage/ccusage-linux-x64/bin/ccusage"
WORK="$BENCH_DIR/floor"
[ -f "$CORPUS/manifest.json" ] || { echo "floor.sh: no corpus at $CORPUS (run bench/run.sh first)" >&2; exit 1; }
[ -x "$CC" ] || { echo "floor.sh: no ccusage at $CC (run bench/run.sh first)" >&2; exit 1; }

rm -rf "$WORK/src" && mkdir -p "$WORK/src" "$WORK/home" "$WORK/db"
git -C "$REPO" archive HEAD | tar -x -C "$WORK/src"
build() { (cd "$WORK/src" && CARGO_TARGET_DIR="$WORK/target" cargo build --release -q) && cp "$WORK/target/release/observatory" "$WORK/$1"; }
build full
CALL='                    writer.write_batch(&file, &batch)?;'
n=$(grep -cF -- "$CALL" "$WORK/src/src/ingest/mod.rs" || true)
[ "$n" = 1 ] || { echo "floor.sh: expected the write_batch call once in src/ingest/mod.rs, found $n: update this script" >&2; exit 1; }
grep -vF -- "$CALL" "$WORK/src/src/ingest/mod.rs" > "$WORK/mod.rs" && mv "$WORK/mod.rs" "$WORK/src/src/ingest/mod.rs"
build nostore

run() { # name cmd...: one cold run; appends "name wall user sys" to $WORK/times
  local name=$1; shift
  rm -rf "$WORK/db" && mkdir -p "$WORK/db"
  if ! /usr/bin/time -f "$name %e %U %S" -a -o "$WORK/times" env -i PATH="$PATH" LC_ALL=C.UTF-8 TZ=UTC \
    HOME="$WORK/home" OBSERVATORY_HOME="$WORK/db" CLAUDE_CONFIG_DIR="$CORPUS" "$@" >/dev/null 2>"$WORK/stderr"; then
    echo "floor.sh: $name failed:" >&2; cat "$WORK/stderr" >&2; exit 1
  fi
}
: > "$WORK/times"
run warm "$CC" claude daily --offline --json   # page cache
: > "$WORK/times"
for i in $(seq "$RUNS"); do
  run full "$WORK/full" ingest -q
  run nostore "$WORK/nostore" ingest -q
  run ccusage "$CC" claude daily --offline --json
done
python3 - "$WORK/times" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, *v = line.split()
    if len(v) == 3 and all(x.replace('.', '', 1).isdigit() for x in v):
        rows.setdefault(name, []).append([float(x) for x in v])
med = {k: [statistics.median(r[i] for r in v) for i in range(3)] for k, v in rows.items()}
cc = med["ccusage"][0]
print(f"{'':8} {'wall s':>7} {'user s':>7} {'sys s':>6} {'/ ccusage':>9}   (medians of {len(rows['ccusage'])} runs)")
for k in ("full", "nostore", "ccusage"):
    w, u, s = med[k]
    print(f"{k:8} {w:7.2f} {u:7.2f} {s:6.2f} {w / cc:9.2f}")
EOF
