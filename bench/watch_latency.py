#!/usr/bin/env python3
"""Append-to-visible latency of `observatory watch --json` (issue 4's figure).

    bench/watch_latency.py [--lines 1000] [--corpus DIR] [--bin PATH]

Starts `observatory watch --json` on a transcript root, then appends one
complete line at a time to a session file and measures the time from the
end of the write to the moment the line's `message` event is read from
watch's stdout (it is committed to the database before it is printed).
Lines are appended one after another, each after the previous one was seen.

Without --corpus the root is a temp copy of fixtures/basic (a small DB);
with --corpus DIR (e.g. a gen-corpus output, its DB already ingested or not)
the lines go to a new file under DIR/projects/-bench-latency/, removed at
the end, so the figure includes the per-change rescan of every file.
Everything else (HOME, OBSERVATORY_HOME) lives in a temp dir.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1000)
    ap.add_argument("--corpus", help="transcript root to watch (holds projects/)")
    ap.add_argument("--bin", default=os.path.join(REPO, "target/release/observatory"))
    ap.add_argument("--db", help="database to use (default: a fresh one in a temp dir)")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="obs-watch-lat-")
    try:
        home = os.path.join(tmp, "home")
        os.makedirs(home)
        if args.corpus:
            root = os.path.abspath(args.corpus)
        else:
            root = os.path.join(tmp, "claude")
            shutil.copytree(os.path.join(REPO, "fixtures/basic"), root)
        target_dir = os.path.join(root, "projects", "-bench-latency")
        os.makedirs(target_dir, exist_ok=True)
        session = str(uuid.uuid4())
        target = os.path.join(target_dir, session + ".jsonl")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "OBSERVATORY_HOME": os.path.join(tmp, "obs"),
            "CLAUDE_CONFIG_DIR": root,
        }
        cmd = [args.bin, "watch", "--json", "-q"]
        if args.db:
            cmd += ["--db", args.db]
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        for line in proc.stdout:
            if json.loads(line).get("event") == "ready":
                break
        catch_up = time.monotonic() - t0
        lat = []
        parent = None
        with open(target, "a", buffering=1) as f:
            for i in range(args.lines):
                # a new uuid per line and run: a uuid already stored (an
                # earlier run on the same --db) is a copy, stored once and
                # never reported again
                u = str(uuid.uuid4())
                rec = {"type": "user", "uuid": u, "parentUuid": parent, "sessionId": session, "cwd": "/bench/latency",
                       "timestamp": "2026-11-22T00:00:00.000Z",
                       "message": {"role": "user", "content": f"latency probe {i}"}}
                f.write(json.dumps(rec) + "\n")
                f.flush()
                sent = time.monotonic()
                for line in proc.stdout:
                    e = json.loads(line)
                    if e.get("uuid") == u:
                        lat.append((time.monotonic() - sent) * 1000)
                        break
                parent = u
        proc.terminate()
        proc.wait(timeout=30)
        lat.sort()
        if len(lat) < args.lines:
            print(f"watch reported {len(lat)} of {args.lines} lines (it exited?)", file=sys.stderr)
            return 1

        def pct(p):
            return lat[min(len(lat) - 1, max(0, -(-p * len(lat) // 100) - 1))]

        print(f"catch-up ingest before ready: {catch_up * 1000:.0f} ms")
        print(f"{len(lat)} lines: p50 {pct(50):.1f} ms, p95 {pct(95):.1f} ms, p99 {pct(99):.1f} ms, "
              f"max {lat[-1]:.1f} ms, mean {statistics.mean(lat):.1f} ms")
    finally:
        if args.corpus:
            shutil.rmtree(os.path.join(os.path.abspath(args.corpus), "projects", "-bench-latency"), ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
