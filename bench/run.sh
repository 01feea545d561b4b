#!/usr/bin/env bash
# bench/run.sh: observatory vs ccusage 20.0.24 on a gen-corpus corpus (issue 6), plus a
# per-model correctness comparison with ccusage (issue 3).
#
#   bench/run.sh [--quick]
#
# Environment (defaults in brackets):
#   BENCH_DIR   work dir for everything this script writes [/tmp/obs-bench]
#   SIZE        corpus size passed to gen-corpus [1G]; --quick sets 200M
#   RUNS        timed runs per tool and figure [5]; --quick sets 3
#   APPEND_RUNS runs of each append figure [RUNS, at least 9]: a run takes ~0.1-0.4 s, and a
#               WAL fold (~+200 ms) comes every few runs, so 3 samples give no stable median
#   REPEAT_RUNS pairs of the repeat figure [RUNS, at least 9]: observatory's ~30 ms moves by
#               several ms from run to run on these machines (a pair costs ~3 s of ccusage)
#   SHORT_RUNS  runs of `status`, `sessions`, `tools`, `blocks` [RUNS, at least 15]: ~0.1 s each
#   HISTORY_COPIES deleted copies of every tracked file's row for the history figure (g) [12]
#   BIG=1       also measure peak RSS of a cold ingest of SIZE + one 600M file (--big-file 600M);
#               off by default: generating and ingesting ~1.6 GB adds several minutes
#   BIG_FILE    size of that single file [600M]
#   OBS_BIN     observatory binary [target/release/observatory, built if missing]; it is copied
#               into BENCH_DIR/bin first so a rebuild during the run cannot change it
#   CCUSAGE_VERSION [20.0.24] (20.0.26 has no linux-x64 native package on the registry)
#   CCUSAGE_VIA native|launcher: time the native binary directly (default; the faster, stricter
#               baseline) or through the npm launcher (node), as `npx ccusage` runs it
#
# Nothing outside BENCH_DIR is written: every command runs under `env -i` with HOME (an empty
# folder), OBSERVATORY_HOME, CLAUDE_CONFIG_DIR (the corpus) and XDG_* set explicitly, so neither
# ~/.claude nor the real data dir is read or touched. Safe to re-run: the corpus is reused when its
# manifest matches, files appended to by step (c) are truncated back (also on failure, and at the
# start of the next run if a previous run was killed), and every DB is recreated.
#
# Output: $BENCH_DIR/results.md (figures table + correctness comparison), raw timings in
# $BENCH_DIR/run/times.tsv, each command's stdout/stderr in $BENCH_DIR/run/.
set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HELPER="$REPO/bench/helper.py"
QUICK=0
for arg in "$@"; do
  case $arg in
    --quick) QUICK=1 ;;
    -h|--help) sed -n '2,33p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done
if [ "$QUICK" = 1 ]; then SIZE=${SIZE:-200M}; RUNS=${RUNS:-3}; fi
SIZE=${SIZE:-1G}
RUNS=${RUNS:-5}
APPEND_RUNS=${APPEND_RUNS:-$(( RUNS > 9 ? RUNS : 9 ))}
REPEAT_RUNS=${REPEAT_RUNS:-$(( RUNS > 9 ? RUNS : 9 ))}
SHORT_RUNS=${SHORT_RUNS:-$(( RUNS > 15 ? RUNS : 15 ))}
HISTORY_COPIES=${HISTORY_COPIES:-12}
BIG=${BIG:-0}
BIG_FILE=${BIG_FILE:-600M}
BENCH_DIR=${BENCH_DIR:-/tmp/obs-bench}
CCUSAGE_VERSION=${CCUSAGE_VERSION:-20.0.24}
CCUSAGE_VIA=${CCUSAGE_VIA:-native}
PLACEHOLDER_CMDS="sessions tools blocks"   # issue 6: each <= 200 ms on the ingested corpus (ingest check included)

GEN="$REPO/../shared/tools/gen-corpus"
CORPUS="$BENCH_DIR/corpus-$SIZE"
BIG_CORPUS="$BENCH_DIR/corpus-$SIZE-big$BIG_FILE"
RUN="$BENCH_DIR/run"
EMPTY_HOME="$BENCH_DIR/home-empty"
OBS_HOME="$BENCH_DIR/obs-home"
DB="$OBS_HOME/observatory.db"
TIMES="$RUN/times.tsv"
META="$RUN/meta.json"
APPEND_STATE="$BENCH_DIR/append-state.json"
CC_DIR="$BENCH_DIR/ccusage-$CCUSAGE_VERSION"
CC_BIN=""
CC_CMD=(ccusage-not-installed)
HAVE_CC=0

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# median of the values on stdin
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) exit; if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

meta_set() { # key json-value
  python3 - "$META" "$1" "$2" <<'EOF'
import json, sys
p, k, v = sys.argv[1:]
m = json.load(open(p))
m[k] = json.loads(v)
json.dump(m, open(p, "w"), indent=1)
EOF
}

# A clean environment for every tool run: nothing from the caller's HOME or OBSERVATORY_* leaks in.
clean_env() { # corpus-dir cmd...
  local corpus=$1; shift
  env -i PATH="$PATH" LC_ALL=C.UTF-8 TZ=UTC TMPDIR="$BENCH_DIR/tmp" \
    HOME="$EMPTY_HOME" XDG_CONFIG_HOME="$EMPTY_HOME/.config" XDG_DATA_HOME="$EMPTY_HOME/.local/share" \
    XDG_CACHE_HOME="$EMPTY_HOME/.cache" XDG_STATE_HOME="$EMPTY_HOME/.local/state" \
    OBSERVATORY_HOME="$OBS_HOME" CLAUDE_CONFIG_DIR="$corpus" "$@"
}

obs() { clean_env "$CORPUS" "$OBS" "$@"; }

check_empty_home() {
  if [ -n "$(ls -A "$EMPTY_HOME")" ]; then
    echo "warning: something wrote into the empty HOME: $(ls -A "$EMPTY_HOME" | tr '\n' ' ') (cleared)" >&2
    rm -rf "${EMPTY_HOME:?}"/* "${EMPTY_HOME:?}"/.[!.]* 2>/dev/null || true
  fi
}

# timed MEASURE TOOL RUN CORPUS CMD...: wall (EPOCHREALTIME around the process), peak RSS, user and
# sys CPU (GNU time -v) appended to times.tsv; stdout/stderr kept in $RUN/MEASURE.TOOL.RUN.{out,err}.
timed() {
  local measure=$1 tool=$2 i=$3 corpus=$4; shift 4
  local base="$RUN/$measure.$tool.$i" t0 t1 rc=0
  t0=$EPOCHREALTIME
  clean_env "$corpus" /usr/bin/time -v -o "$base.time" "$@" >"$base.out" 2>"$base.err" || rc=$?
  t1=$EPOCHREALTIME
  check_empty_home
  if [ "$rc" != 0 ]; then
    echo "command failed (exit $rc): $*" >&2
    tail -n 5 "$base.err" >&2
    return 1
  fi
  local wall rss user sys
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f", b - a}')
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$base.time")
  user=$(awk -F': ' '/User time/ {print $2}' "$base.time")
  sys=$(awk -F': ' '/System time/ {print $2}' "$base.time")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$measure" "$tool" "$i" "$wall" "$rss" "$user" "$sys" >>"$TIMES"
  printf '  %-8s %-4s run %s: %8.3f s  %7d KiB  (user %s, sys %s)\n' "$measure" "$tool" "$i" "$wall" "$rss" "$user" "$sys" >&2
}


fresh_db() { rm -rf "$OBS_HOME"; mkdir -p "$OBS_HOME"; }

cleanup() {
  if [ -f "$APPEND_STATE" ]; then
    python3 "$HELPER" restore "$APPEND_STATE" || echo "run.sh: could not restore appended files (see $APPEND_STATE)" >&2
  fi
}

# ------------------------------------------------------------------ setup ---

setup() {
  [ -x "$GEN" ] || die "../shared is absent ($GEN not found): the corpus generator lives there; nothing to benchmark"
  [ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is required for peak RSS"
  mkdir -p "$BENCH_DIR" "$BENCH_DIR/tmp" "$EMPTY_HOME" "$BENCH_DIR/bin"
  cleanup   # a previous run killed during step (c)
  rm -rf "$RUN"; mkdir -p "$RUN"
  printf '# measure\ttool\trun\twall_s\tmaxrss_kib\tuser_s\tsys_s\n' >"$TIMES"
  check_empty_home

  local src=${OBS_BIN:-$REPO/target/release/observatory}
  if [ ! -x "$src" ]; then
    log "building observatory (cargo build --release)"
    (cd "$REPO" && cargo build --release)
  elif [ -n "$(find "$REPO/src" "$REPO/Cargo.toml" "$REPO/Cargo.lock" "$REPO/pricing.toml" "$REPO/schema.sql" -newer "$src" 2>/dev/null | head -n 1)" ]; then
    echo "warning: $src is older than some sources; benchmarking it anyway (run cargo build --release first to measure the current code)" >&2
  fi
  OBS="$BENCH_DIR/bin/observatory"
  cp -f "$src" "$OBS.tmp" && mv -f "$OBS.tmp" "$OBS"

  python3 - "$META" <<EOF
import json, sys
json.dump({"date": "$(date -u +%Y-%m-%dT%H:%MZ)",
           "machine": "$(nproc) CPUs, $(uname -m), $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo)",
           "runs": $RUNS, "size": "$SIZE", "load_start": "$(cut -d' ' -f1-3 /proc/loadavg)",
           "obs_version": "$("$OBS" --version | awk '{print $NF}') (binary sha256 $(sha256sum "$OBS" | cut -c1-12))",
           "cc_version": "ccusage (not run)", "placeholders": "$PLACEHOLDER_CMDS".split()}, open(sys.argv[1], "w"), indent=1)
EOF
}

gen_corpus() { # dir [extra gen-corpus args]
  local dir=$1 big=${2:-}
  if python3 "$HELPER" corpus-ok "$dir" "$SIZE" 1 "$big"; then
    echo "reusing corpus $dir (manifest matches)" >&2
    return
  fi
  log "generating corpus $dir (--size $SIZE --seed 1${big:+ --big-file $big})"
  rm -rf "$dir"
  (cd "$REPO" && ../shared/tools/gen-corpus --out "$dir" --size "$SIZE" --seed 1 ${big:+--big-file "$big"})
  python3 "$HELPER" corpus-ok "$dir" "$SIZE" 1 "$big" || die "generated corpus $dir does not match its manifest"
}

install_ccusage() {
  if ! command -v npm >/dev/null 2>&1; then
    echo "npm not found: skipping every ccusage measurement and the correctness comparison" >&2
    return
  fi
  CC_BIN="$CC_DIR/node_modules/@ccusage/ccusage-linux-x64/bin/ccusage"
  if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
    echo "not linux-x64: this script only knows the @ccusage/ccusage-linux-x64 binary; skipping ccusage" >&2
    return
  fi
  if [ ! -f "$CC_BIN" ]; then
    log "installing ccusage@$CCUSAGE_VERSION into $CC_DIR"
    mkdir -p "$CC_DIR"
    if ! (cd "$CC_DIR" && { [ -f package.json ] || npm init -y >/dev/null; } &&
          HOME="$BENCH_DIR/npm-home" npm_config_cache="$BENCH_DIR/npm-cache" \
            npm install --no-audit --no-fund --loglevel=error "ccusage@$CCUSAGE_VERSION" >&2); then
      echo "npm install ccusage@$CCUSAGE_VERSION failed: skipping ccusage" >&2
      return
    fi
  fi
  if [ ! -f "$CC_BIN" ]; then
    echo "ccusage installed without its native linux-x64 binary ($CC_BIN missing; 20.0.26 has none): skipping ccusage" >&2
    return
  fi
  [ -x "$CC_BIN" ] || chmod u+x "$CC_BIN"   # the launcher does this on first use
  local v
  v=$(clean_env "$CORPUS" "$CC_BIN" --version) || { echo "ccusage --version failed: skipping ccusage" >&2; return; }
  if [ "$CCUSAGE_VIA" = launcher ]; then
    CC_CMD=(node "$CC_DIR/node_modules/ccusage/src/cli.js" claude daily --offline --json)
  else
    CC_CMD=("$CC_BIN" claude daily --offline --json)
  fi
  echo "using $v at $CC_BIN (timed via: $CCUSAGE_VIA)" >&2
  meta_set cc_version "\"$v\""
  HAVE_CC=1
}

warm() { # corpus: page cache + one untimed run of each tool, so neither pays first-touch costs
  log "warming the page cache"
  find "$1/projects" -name '*.jsonl' -exec cat {} + >/dev/null
  if [ "$HAVE_CC" = 1 ]; then clean_env "$1" "${CC_CMD[@]}" >/dev/null; fi
}

# -------------------------------------------------------------- measures ---

# (a) cold ingest into a fresh DB vs ccusage daily; alternating, first tool swapped every pair.
measure_cold() {
  log "(a) cold ingest vs ccusage daily, $RUNS pairs"
  local i
  for i in $(seq 1 "$RUNS"); do
    fresh_db; sync
    if [ $((i % 2)) = 1 ] || [ "$HAVE_CC" = 0 ]; then
      timed cold obs "$i" "$CORPUS" "$OBS" ingest -q
      [ "$HAVE_CC" = 0 ] || timed cold cc "$i" "$CORPUS" "${CC_CMD[@]}"
    else
      timed cold cc "$i" "$CORPUS" "${CC_CMD[@]}"
      timed cold obs "$i" "$CORPUS" "$OBS" ingest -q
    fi
  done
  [ -f "$DB" ] || die "observatory did not create $DB (OBSERVATORY_HOME not honoured?)"
  # keep the last cold run's DB for (b)-(e); ccusage output of the last run for the comparison
  cp "$RUN/cold.cc.$RUNS.out" "$RUN/ccusage-daily.json" 2>/dev/null || true
}

# (b) repeat cost --by-model on the ingested DB (its incremental check finds nothing) vs ccusage.
measure_repeat() {
  log "(b) repeat cost --by-model --json vs ccusage daily, $REPEAT_RUNS pairs"
  local i
  for i in $(seq 1 "$REPEAT_RUNS"); do
    if [ $((i % 2)) = 1 ] || [ "$HAVE_CC" = 0 ]; then
      timed repeat obs "$i" "$CORPUS" "$OBS" cost --by-model --json
      [ "$HAVE_CC" = 0 ] || timed repeat cc "$i" "$CORPUS" "${CC_CMD[@]}"
    else
      timed repeat cc "$i" "$CORPUS" "${CC_CMD[@]}"
      timed repeat obs "$i" "$CORPUS" "$OBS" cost --by-model --json
    fi
  done
  cp "$RUN/repeat.obs.$REPEAT_RUNS.out" "$RUN/obs-cost.json"
  [ "$HAVE_CC" = 0 ] || cp "$RUN/repeat.cc.$REPEAT_RUNS.out" "$RUN/ccusage-daily.json"
}

# (d) DB size / corpus size (DB + WAL + SHM as left by the last command; no extra checkpoint).
measure_db_size() {
  log "(d) DB size"
  local db_bytes corpus_bytes
  db_bytes=0
  for f in "$DB" "$DB-wal" "$DB-shm"; do
    [ ! -f "$f" ] || db_bytes=$((db_bytes + $(stat -c %s "$f")))
  done
  corpus_bytes=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes"])' "$CORPUS/manifest.json")
  ls -l "$OBS_HOME" >&2
  meta_set db_bytes "$db_bytes"
  meta_set corpus_bytes "$corpus_bytes"
  local desc
  desc=$(python3 "$HELPER" corpus-desc "$CORPUS/manifest.json")
  meta_set corpus "\"gen-corpus --size $SIZE --seed 1: $desc\""
  obs status --json >"$RUN/status.json"
}

# (e) status, then the report commands issue 6 times (skipped if one does not exist).
measure_status() {
  log "(e) status and report commands, $SHORT_RUNS runs each"
  local i cmd
  for i in $(seq 1 "$SHORT_RUNS"); do timed status obs "$i" "$CORPUS" "$OBS" status; done
  for cmd in $PLACEHOLDER_CMDS; do
    if obs "$cmd" --help >/dev/null 2>&1; then
      for i in $(seq 1 "$SHORT_RUNS"); do timed "cmd-$cmd" obs "$i" "$CORPUS" "$OBS" "$cmd"; done
    else
      echo "  skipping \`observatory $cmd\`: not implemented yet (\`$cmd --help\` fails)" >&2
    fi
  done
}

# (g) the repeat run on a copy of the database given a long history: HISTORY_COPIES more rows
# for every tracked file, under paths that do not exist (12 x 3,221 = 38,652 for the 1 GiB corpus:
# a heavy user's year of transcripts Claude Code deleted, whose rows observatory keeps for good).
# Alternating with the same command on the database without them; the first run on the copy is
# not timed (it is the one that finds those files gone).
measure_history() {
  log "(g) repeat cost --by-model --json with $HISTORY_COPIES deleted copies of every file, $REPEAT_RUNS pairs"
  local hist="$BENCH_DIR/history" i rows
  rm -rf "$hist"; mkdir -p "$hist"
  clean_env "$CORPUS" python3 -c 'import os,sqlite3,sys; os.umask(0o077); s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d)' "$DB" "$hist/observatory.db"
  rows=$(python3 "$HELPER" history "$hist/observatory.db" "$HISTORY_COPIES")
  meta_set history_rows "$rows"
  obs --db "$hist/observatory.db" cost --by-model --json >/dev/null
  for i in $(seq 1 "$REPEAT_RUNS"); do
    timed history obs "$i" "$CORPUS" "$OBS" --db "$hist/observatory.db" cost --by-model --json
    timed history base "$i" "$CORPUS" "$OBS" cost --by-model --json
  done
  rm -rf "$hist"
}

# (c) append 1 MiB of NEW responses to each of 10 files, then cost --by-model --json (which ingests
# the 10 MiB first). The appended lines are copies of the file's own lines with every id (uuid,
# parentUuid, message.id, requestId, tool_use ids) replaced by a fresh one, so they are new API
# responses, not duplicates. Each run appends another MiB per file; files are truncated back after.
measure_append() {
  log "(c) append 1 MiB x 10 files, then cost --by-model --json, $APPEND_RUNS runs"
  local i n before after
  before=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["requests"])' "$RUN/obs-cost.json")
  for i in $(seq 1 "$APPEND_RUNS"); do
    n=$(python3 "$HELPER" append "$APPEND_STATE" "$CORPUS" 10 1M "bench-run-$i")
    sync
    timed append obs "$i" "$CORPUS" "$OBS" cost --by-model --json
    after=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["requests"])' "$RUN/append.obs.$i.out")
    if [ $((after - before)) != "$n" ]; then
      echo "  warning: appended $n new responses but requests went $before -> $after" >&2
    fi
    before=$after
  done
  meta_set append_new_responses "$n"
  python3 "$HELPER" restore "$APPEND_STATE"
  # the same with 1 MiB in all: 100 KiB to each of the 10 files
  log "(c2) append 100 KiB x 10 files, then cost --by-model --json, $APPEND_RUNS runs"
  for i in $(seq 1 "$APPEND_RUNS"); do
    n=$(python3 "$HELPER" append "$APPEND_STATE" "$CORPUS" 10 100K "bench-small-$i")
    sync
    timed append-small obs "$i" "$CORPUS" "$OBS" cost --by-model --json
  done
  meta_set append_small_new_responses "$n"
  python3 "$HELPER" restore "$APPEND_STATE"
}

# (f) peak RSS of a cold ingest of SIZE + one BIG_FILE session file.
measure_big() {
  [ "$BIG" = 1 ] || { echo "(f) skipped: set BIG=1 for the $BIG_FILE single-file memory figure" >&2; return; }
  gen_corpus "$BIG_CORPUS" "$BIG_FILE"
  log "(f) cold ingest of $BIG_CORPUS (peak RSS), 1 run each"
  find "$BIG_CORPUS/projects" -name '*.jsonl' -exec cat {} + >/dev/null
  local save=$OBS_HOME
  OBS_HOME="$BENCH_DIR/obs-home-big"; rm -rf "$OBS_HOME"; mkdir -p "$OBS_HOME"; sync
  timed big obs 1 "$BIG_CORPUS" "$OBS" ingest -q
  [ "$HAVE_CC" = 0 ] || timed big cc 1 "$BIG_CORPUS" "${CC_CMD[@]}"
  rm -rf "$OBS_HOME"; OBS_HOME=$save
  meta_set big_file "\"$BIG_FILE\""
  meta_set big_bytes "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes"])' "$BIG_CORPUS/manifest.json")"
}

# (4) per-model tokens and cost vs ccusage; our extra rules switched off one by one through a user
# price table on a copy of the DB, so the residual is what ccusage's own pricing adds or lacks.
compare_ccusage() {
  [ "$HAVE_CC" = 1 ] || { echo "correctness comparison skipped: no ccusage" >&2; return; }
  log "(4) correctness: observatory vs ccusage per model"
  local copy="$BENCH_DIR/compare.db" stage stages=()
  rm -f "$copy" "$copy-wal" "$copy-shm"
  obs cost --by-model --json --no-ingest >"$RUN/obs-cost.json"
  # (the copy private, as observatory wants its databases: no warning)
  clean_env "$CORPUS" python3 -c 'import os,sqlite3,sys; os.umask(0o077); s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d)' "$DB" "$copy"
  for stage in web geo lc; do
    python3 "$HELPER" mkpricing "$REPO/pricing.toml" "$RUN/pricing-$stage.toml" "$stage"
    # (the table stored costs are kept in: reprice takes no --pricing)
    clean_env "$CORPUS" env OBSERVATORY_PRICING="$RUN/pricing-$stage.toml" \
      "$OBS" --db "$copy" reprice -q
    clean_env "$CORPUS" env OBSERVATORY_PRICING="$RUN/pricing-$stage.toml" \
      "$OBS" --db "$copy" cost --by-model --json --no-ingest >"$RUN/obs-cost-$stage.json"
    stages+=("$stage=$RUN/obs-cost-$stage.json")
  done
  rm -f "$copy" "$copy-wal" "$copy-shm"
  python3 "$HELPER" compare "$RUN/obs-cost.json" "$RUN/ccusage-daily.json" "$CORPUS/manifest.json" "$DB" \
    "$RUN/compare.md" "${stages[@]}"
}

report() {
  meta_set load_end "\"$(cut -d' ' -f1-3 /proc/loadavg)\""
  log "results"
  python3 "$HELPER" report "$TIMES" "$META" "$RUN/figures.md" >/dev/null
  {
    echo "## Benchmark figures"
    echo
    cat "$RUN/figures.md"
    echo
    echo "Command: \`$(printf '%s ' SIZE="$SIZE" RUNS="$RUNS" BIG="$BIG" CCUSAGE_VIA="$CCUSAGE_VIA" bench/run.sh)\`."
    echo "ccusage timed as \`$(echo "${CC_CMD[*]}" | sed "s|$BENCH_DIR|\$BENCH_DIR|g")\` with CLAUDE_CONFIG_DIR=corpus and an empty HOME."
    if [ -f "$RUN/compare.md" ]; then
      echo
      echo "## Correctness vs ccusage"
      echo
      cat "$RUN/compare.md"
    fi
  } >"$BENCH_DIR/results.md"
  cat "$BENCH_DIR/results.md"
}

main() {
  setup
  trap cleanup EXIT
  gen_corpus "$CORPUS"
  install_ccusage
  warm "$CORPUS"
  measure_cold
  measure_repeat
  measure_db_size
  measure_status
  measure_history
  compare_ccusage
  measure_append
  measure_big
  report
}

main
