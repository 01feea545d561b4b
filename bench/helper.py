#!/usr/bin/env python3
"""Helpers for bench/run.sh (Python 3.11 standard library only).

  helper.py corpus-ok DIR SIZE SEED BIG         exit 0 if DIR/manifest.json was written with these
                                                arguments and the files on disk still match it
  helper.py append STATE CORPUS NFILES BYTES SALT
                                                append >= BYTES of new lines to NFILES files
                                                (original sizes saved in STATE); prints the number
                                                of new API responses appended
  helper.py restore STATE                       truncate the files back to their saved sizes
  helper.py mkpricing PRICING_TOML OUT STAGE    write a user price table that switches our extra
                                                rules off: STAGE web (web search $0), geo (+ US-only
                                                x1), lc (+ no long-context tiers)
  helper.py corpus-desc MANIFEST                 one-line description of a gen-corpus manifest
  helper.py compare OURS_JSON CC_JSON MANIFEST DB OUT_MD [STAGE=JSON ...]
                                                per-model correctness table vs ccusage
  helper.py report TIMES_TSV META_JSON OUT_MD   final figures table (medians, pair ratios)
"""
import datetime
import hashlib
import json
import os
import re
import sqlite3
import statistics
import sys
import tomllib
from decimal import Decimal


# ------------------------------------------------------------------ corpus ---

def corpus_files(root):
    out = []
    for d, _, fs in os.walk(os.path.join(root, "projects")):
        for f in fs:
            if f.endswith(".jsonl"):
                out.append(os.path.join(d, f))
    return sorted(out)


def parse_size(s):  # same rule as gen-corpus
    s = s.strip().upper()
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(s[-1:], 1)
    return int(float(s[:-1] if s[-1:] in "KMG" else s) * mult)


def corpus_ok(d, size, seed, big):
    try:
        m = json.load(open(os.path.join(d, "manifest.json")))
    except (OSError, ValueError):
        return False
    a = m.get("args", {})
    want = {"size": size, "seed": int(seed), "big_file": big or None, "files": 2000, "projects": 200,
            "malformed_rate": 0.0}
    for k, v in want.items():
        if a.get(k) != v:
            print(f"corpus {d}: manifest {k}={a.get(k)!r}, want {v!r}", file=sys.stderr)
            return False
    files = corpus_files(d)
    total = sum(os.path.getsize(f) for f in files)
    if len(files) != m["files"] or total != m["bytes"]:
        print(f"corpus {d}: {len(files)} files / {total} bytes on disk, manifest says "
              f"{m['files']} / {m['bytes']}", file=sys.stderr)
        return False
    return True


# ------------------------------------------------------------------ append ---

ID_RE = re.compile(r"^(msg_01|req_011|toolu_01)[0-9A-Za-z]+$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def fresh(s, salt):
    """Same shape as s, new value, deterministic in (s, salt)."""
    h = hashlib.sha256((salt + s).encode()).hexdigest()
    if s[8:9] == "-":  # uuid
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"
    m = re.match(r"^(msg_01|req_011|toolu_01)", s)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    n = int(h, 16)
    tail = []
    for _ in range(len(s) - len(m.group(1))):
        n, r = divmod(n, 62)
        tail.append(alphabet[r])
    return m.group(1) + "".join(tail)


def remap(o, salt):
    if isinstance(o, dict):
        return {k: remap(v, salt) for k, v in o.items()}
    if isinstance(o, list):
        return [remap(v, salt) for v in o]
    if isinstance(o, str) and ID_RE.match(o):
        return fresh(o, salt)
    return o


def append(state, corpus, nfiles, nbytes, salt):
    files = corpus_files(corpus)
    step = max(1, len(files) // nfiles)
    chosen = files[::step][:nfiles]
    saved = json.load(open(state)) if os.path.exists(state) else {}
    for f in chosen:
        saved.setdefault(f, os.path.getsize(f))
    with open(state + ".tmp", "w") as fh:
        json.dump(saved, fh)
    os.replace(state + ".tmp", state)
    new_resp = set()
    for f in chosen:
        with open(f, "rb") as fh:
            src = [l for l in fh.read(saved[f]).split(b"\n") if l.strip()]
        out, size, rnd = [], 0, 0
        while size < nbytes:
            s2 = f"{salt}/{rnd}/"
            for line in src:
                o = remap(json.loads(line), s2)
                if o.get("type") == "assistant" and isinstance(o.get("message"), dict) \
                        and isinstance(o["message"].get("usage"), dict) and o["message"].get("id"):
                    if o["message"].get("model") != "<synthetic>":
                        new_resp.add(o["message"]["id"])
                b = json.dumps(o, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
                out.append(b)
                size += len(b)
                if size >= nbytes:
                    break
            rnd += 1
        with open(f, "ab") as fh:
            fh.write(b"".join(out))
    print(len(new_resp))


def restore(state):
    if not os.path.exists(state):
        return
    for f, size in json.load(open(state)).items():
        if os.path.exists(f) and os.path.getsize(f) != size:
            os.truncate(f, size)
    os.remove(state)


# ----------------------------------------------------------------- pricing ---

def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int,)):
        return str(v)
    if isinstance(v, (datetime.date,)):
        return v.isoformat()
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(v)


def mkpricing(src, out, stage):
    t = tomllib.load(open(src, "rb"))
    lines = ["schema = 1", "[globals]"]
    g = dict(t["globals"])
    g["web_search_usd_per_request"] = "0"
    if stage in ("geo", "lc"):
        g["us_only_multiplier"] = "1"
    for k, v in g.items():
        lines.append(f"{k} = {toml_value(v)}")
    if stage == "lc":
        for mid, m in t["models"].items():
            if "long_context" not in m:
                continue
            lines.append(f"\n[models.{mid}]")
            for k, v in m.items():
                if not isinstance(v, list) or not v or not isinstance(v[0], dict):
                    lines.append(f"{k} = {toml_value(v)}")
            # (an entry keeps the sections it does not write: say none)
            lines.append("long_context = []")
            for sub in ("rates", "fast"):
                for period in m.get(sub, []):
                    lines.append(f"[[models.{mid}.{sub}]]")
                    for k, v in period.items():
                        lines.append(f"{k} = {toml_value(v)}")
    with open(out, "w") as fh:
        fh.write("\n".join(lines) + "\n")


# ----------------------------------------------------------------- compare ---

LC = {  # README: whole-request long-context tiers (threshold, from, until) in UTC dates
    "claude-sonnet-4-20250514": (200000, "2025-08-12", "2026-04-30"),
    "claude-sonnet-4-5-20250929": (200000, "2025-08-12", "2026-04-30"),
    "claude-opus-4-6": (200000, "2026-02-05", "2026-03-12"),
    "claude-sonnet-4-6": (200000, "2026-02-17", "2026-03-12"),
    "claude-haiku-5-5": (100000, "0000-01-01", "9999-12-31"),
}


def fmt_int(n):
    return "–" if n is None else f"{n:,}"


def fmt_usd(x):
    return "–" if x is None else f"{Decimal(x):,.2f}"


def compare(ours_f, cc_f, man_f, db, out_md, stages):
    ours = json.load(open(ours_f))
    cc = json.load(open(cc_f))
    man = json.load(open(man_f))["models"]
    rows = {r["model"]: r for r in ours["rows"]}
    ccm, ccfast = {}, {}
    for day in cc["daily"]:
        for b in day["modelBreakdowns"]:
            name = b["modelName"]
            base = name[:-5] if name.endswith("-fast") else name
            agg = ccm.setdefault(base, {"in": 0, "out": 0, "cw": 0, "cr": 0, "cost": 0.0})
            agg["in"] += b["inputTokens"]
            agg["out"] += b["outputTokens"]
            agg["cw"] += b["cacheCreationTokens"]
            agg["cr"] += b["cacheReadTokens"]
            agg["cost"] += b["cost"]
            if name != base:
                ccfast[base] = ccfast.get(base, 0.0) + b["cost"]
    unpriced_cc = set(n[:-5] if n.endswith("-fast") else n for n in cc["totals"].get("unpricedModels", []))
    stage_rows = {}
    for name, f in stages:
        stage_rows[name] = {r["model"]: Decimal(r["cost_usd"]) if r["cost_usd"] is not None else None
                            for r in json.load(open(f))["rows"]}

    # facts from our DB, per model: fast / US-only / web-search / over-threshold responses
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    facts = {}
    for model, n, fast, geo, ws in con.execute(
            "select model, count(*), sum(fast), sum(us_only), sum(web_search_requests) from responses "
            "where model != '<synthetic>' group by model"):
        facts[model] = {"n": n, "fast": fast, "geo": geo, "ws": ws, "lc": 0, "over200k_kind": 0}
    for model, (thr, d0, d1) in LC.items():
        q = ("select count(*) from responses where model = ? and "
             "input_tokens + cache_creation_5m_tokens + cache_creation_1h_tokens + cache_read_tokens > ? "
             "and (at is null or date(at / 1000, 'unixepoch') between ? and ?)")
        if model in facts:
            facts[model]["lc"] = con.execute(q, (model, thr, d0, d1)).fetchone()[0]
    for model in facts:  # ccusage's rule: a single token kind above 200k (no date window)
        facts[model]["over200k_kind"] = con.execute(
            "select count(*) from responses where model = ? and (input_tokens > 200000 or cache_read_tokens > 200000 "
            "or cache_creation_5m_tokens + cache_creation_1h_tokens > 200000 or output_tokens > 200000)",
            (model,)).fetchone()[0]
    con.close()

    models = sorted(set(rows) | set(ccm) | set(man))
    L = []
    L.append("### Tokens per model: observatory vs ccusage (and the gen-corpus manifest)\n")
    L.append("Δ = observatory − ccusage. cache write = 5m + 1h. ccusage `-fast` rows are folded into their base model.\n")
    L.append("| model | requests obs | requests manifest | input obs | Δ input | output obs | Δ output "
             "| cache write obs | Δ cache write | cache read obs | Δ cache read |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    tok_diffs = 0
    for m in models:
        r, c, mm = rows.get(m), ccm.get(m), man.get(m)
        oi = r and r["input_tokens"]
        oo = r and r["output_tokens"]
        ow = r and r["cache_creation_5m_tokens"] + r["cache_creation_1h_tokens"]
        orr = r and r["cache_read_tokens"]

        def d(a, b):
            if a is None or b is None:
                return "n/a"
            return f"{a - b:+,}" if a != b else "0"
        for a, b in ((oi, c and c["in"]), (oo, c and c["out"]), (ow, c and c["cw"]), (orr, c and c["cr"])):
            if a != b:
                tok_diffs += 1
        man_match = "" if not mm or not r or (mm["requests"] == r["requests"] and mm["output_tokens"] == r["output_tokens"]
                                                and mm["cache_read_tokens"] == r["cache_read_tokens"]) else " ≠"
        L.append(f"| {m} | {fmt_int(r and r['requests'])} | {fmt_int(mm and mm['requests'])}{man_match} | {fmt_int(oi)} "
                 f"| {d(oi, c and c['in'])} | {fmt_int(oo)} | {d(oo, c and c['out'])} | {fmt_int(ow)} "
                 f"| {d(ow, c and c['cw'])} | {fmt_int(orr)} | {d(orr, c and c['cr'])} |")
    L.append("")
    L.append(f"Token fields that differ: {tok_diffs} (of {4 * len(models)}).\n")

    L.append("### Cost per model (USD)\n")
    hdr = "| model | observatory | ccusage | Δ obs − cc |"
    sep = "|---|---:|---:|---:|"
    names = [n for n, _ in stages]
    labels = {"web": "obs, web search $0", "geo": "obs, + US-only x1", "lc": "obs, + no long-context tier"}
    for n in names:
        hdr += f" {labels.get(n, n)} |"
        sep += "---:|"
    hdr += " residual (last column − cc) | responses: web search / US-only / fast / over our LC threshold / a kind > 200k |"
    sep += "---:|---|"
    L.append(hdr)
    L.append(sep)
    tot = {"obs": Decimal(0), "cc": Decimal(0)}
    tot_st = {n: Decimal(0) for n in names}
    for m in models:
        r, c, f = rows.get(m), ccm.get(m), facts.get(m, {})
        o = Decimal(r["cost_usd"]) if r and r["cost_usd"] is not None else None
        cv = None if c is None else Decimal(repr(c["cost"]))
        unp = m in unpriced_cc
        if o is not None:
            tot["obs"] += o
        if cv is not None:
            tot["cc"] += cv
        line = f"| {m} | {fmt_usd(o)} | {fmt_usd(cv)}{' (unpriced)' if unp else ''} | " \
               f"{'n/a' if o is None or cv is None else f'{o - cv:+,.2f}'} |"
        last = o
        for n in names:
            v = stage_rows[n].get(m)
            if v is not None:
                tot_st[n] += v
            line += f" {fmt_usd(v)} |"
            last = v
        resid = "n/a" if last is None or cv is None or unp else f"{last - cv:+,.4f}"
        line += f" {resid} | {f.get('ws', 0)} / {f.get('geo', 0)} / {f.get('fast', 0)} / {f.get('lc', 0)} / {f.get('over200k_kind', 0)} |"
        L.append(line)
    line = f"| **total** | {tot['obs']:,.2f} | {tot['cc']:,.2f} | {tot['obs'] - tot['cc']:+,.2f} |"
    for n in names:
        line += f" {tot_st[n]:,.2f} |"
    line += " |  |"
    L.append(line)
    L.append("")
    L.append(f"ccusage unpriced models (counted as $0 by ccusage): {', '.join(sorted(unpriced_cc)) or 'none'}. "
             f"ccusage `-fast` cost included above: " +
             (", ".join(f"{k} ${v:,.2f}" for k, v in sorted(ccfast.items())) or "none") + ".\n")
    text = "\n".join(L)
    print(text)
    with open(out_md, "w") as fh:
        fh.write(text + "\n")


# ------------------------------------------------------------------ report ---

def load_times(tsv):
    rec = {}
    for line in open(tsv):
        if not line.strip() or line.startswith("#"):
            continue
        measure, tool, run, wall, rss, user, sys_ = line.rstrip("\n").split("\t")
        rec.setdefault((measure, tool), {})[int(run)] = (float(wall), int(rss), float(user), float(sys_))
    return rec


def med(xs):
    return statistics.median(xs) if xs else None


def report(tsv, meta_f, out_md):
    rec = load_times(tsv)
    meta = json.load(open(meta_f))
    L = []
    L.append(f"Benchmark: {meta['date']} · {meta['machine']} · corpus {meta['corpus']} · "
             f"{meta['runs']} runs per figure unless a row says more, alternating tools, medians (range) · observatory {meta['obs_version']} · "
             f"{meta['cc_version']} (native binary, `claude daily --offline --json`) · load average at start / end: "
             f"{meta['load_start']} / {meta.get('load_end', '?')}\n")
    L.append("| figure | observatory | ccusage 20.0.24 | ratio obs/ccusage (median of pairs, range) | target (must / aim) |")
    L.append("|---|---:|---:|---:|---|")

    def series(measure, tool, i):
        d = rec.get((measure, tool), {})
        return [d[k][i] for k in sorted(d)]

    def pair_ratios(measure):
        a, b = rec.get((measure, "obs"), {}), rec.get((measure, "cc"), {})
        return [a[k][0] / b[k][0] for k in sorted(set(a) & set(b)) if b[k][0] > 0]

    def span(xs, f):
        return f"{f(med(xs))} ({f(min(xs))}–{f(max(xs))})" if xs else "–"

    s = lambda x: f"{x:.2f} s"
    ms = lambda x: f"{x * 1000:.0f} ms"
    mb = lambda x: f"{x / 1024:.0f} MiB = {x * 1024 / 1e6:.0f} MB"  # GNU time reports KiB
    rt = lambda x: f"{x:.3f}" if x >= 0.01 else f"{x:.4f}"

    def row(label, measure, fmt, target, with_cc=True):
        o = series(measure, "obs", 0)
        c = series(measure, "cc", 0) if with_cc else []
        r = pair_ratios(measure) if with_cc else []
        if not o and not c:
            return
        L.append(f"| {label} | {span(o, fmt)} | {span(c, fmt) if with_cc else '–'} | {span(r, rt) if r else '–'} | {target} |")

    row("cold `ingest -q` (fresh DB) vs `ccusage claude daily`, wall", "cold", s, "≤ 1.5 / ≤ 1.0")
    o, c = series("cold", "obs", 1), series("cold", "cc", 1)
    if o:
        L.append(f"| cold run, peak RSS (max over runs) | {mb(max(o))} | {mb(max(c)) if c else '–'} | – | – |")
    ou, osy = series("cold", "obs", 2), series("cold", "obs", 3)
    cu, csy = series("cold", "cc", 2), series("cold", "cc", 3)
    if ou:
        L.append(f"| cold run, CPU user + sys (median) | {med(ou):.2f} + {med(osy):.2f} s | "
                 f"{(f'{med(cu):.2f} + {med(csy):.2f} s') if cu else '–'} | – | – |")
    n_repeat = len(series("repeat", "obs", 0))
    row(f"repeat `cost --by-model --json` (nothing new) vs `ccusage claude daily`, wall ({n_repeat} pairs)",
        "repeat", ms, "≤ 0.02 / ≤ 0.01")
    o = series("repeat", "obs", 1)
    if o:
        L.append(f"| repeat run, peak RSS (max) | {mb(max(o))} | – | – | – |")
    n_append = len(series("append", "obs", 0))
    row(f"append 1 MiB to each of 10 files ({meta.get('append_new_responses', '?')} new responses per run; "
        f"{n_append} runs), then `cost --by-model --json`", "append", ms, "≤ 100 ms / ≤ 30 ms", with_cc=False)
    if ("append-small", "obs") in rec:
        n_small = len(series("append-small", "obs", 0))
        row(f"append 1 MiB in all, 100 KiB to each of 10 files ({meta.get('append_small_new_responses', '?')} new "
            f"responses per run; {n_small} runs), then `cost --by-model --json`", "append-small", ms,
            "≤ 100 ms / ≤ 30 ms", with_cc=False)
    if "db_bytes" in meta:
        L.append(f"| DB size / corpus size (raw lines kept) | {meta['db_bytes'] / 1e6:,.1f} MB / "
                 f"{meta['corpus_bytes'] / 1e6:,.1f} MB = **{meta['db_bytes'] / meta['corpus_bytes']:.3f}** | – | – | ≤ 0.35 / ≤ 0.25 |")
    row(f"`status`, wall ({len(series('status', 'obs', 0))} runs)", "status", ms, "–", with_cc=False)
    for cmd in meta.get("placeholders", []):
        if (f"cmd-{cmd}", "obs") in rec:
            row(f"`{cmd}`, wall ({len(series(f'cmd-{cmd}', 'obs', 0))} runs)", f"cmd-{cmd}", ms,
                "≤ 200 ms / ≤ 50 ms", with_cc=False)
        else:
            L.append(f"| `{cmd}` | not implemented yet (skipped) | – | – | ≤ 200 ms / ≤ 50 ms |")
    h, hb = rec.get(("history", "obs"), {}), rec.get(("history", "base"), {})
    if h:
        r = [h[k][0] / hb[k][0] for k in sorted(set(h) & set(hb)) if hb[k][0] > 0]
        L.append(f"| repeat `cost --by-model --json` with the rows of {meta.get('history_rows', 0):,} deleted transcripts "
                 f"kept (a heavy user's year), wall ({len(h)} pairs); the same database without them | "
                 f"{span(series('history', 'obs', 0), ms)}; {span(series('history', 'base', 0), ms)} | – | "
                 f"{span(r, rt)} (with / without) | – |")
    if ("big", "obs") in rec:
        o, c = series("big", "obs", 1), series("big", "cc", 1)
        ow, cw = series("big", "obs", 0), series("big", "cc", 0)
        L.append(f"| cold ingest of corpus + one {meta.get('big_file', '600M')} file ({meta.get('big_bytes', 0) / 1e6:,.0f} MB): peak RSS "
                 f"(wall) | {mb(max(o))} ({s(med(ow))}) | {(mb(max(c)) + f' ({s(med(cw))})') if c else '–'} | – | ≤ 100 MB / ≤ 64 MB |")
    else:
        L.append("| peak RSS, cold ingest with a 600 MB file | not run (BIG=1) | – | – | ≤ 100 MB / ≤ 64 MB |")
    L.append("| watch: append → committed, p99 | see `bench/watch_latency.py` | – | – | ≤ 50 ms / ≤ 20 ms |")
    text = "\n".join(L)
    print(text)
    with open(out_md, "w") as fh:
        fh.write(text + "\n")


def history(db, copies):
    """Give the database a long history: `copies` more rows for every current
    tracked file, under paths that do not exist (what the rows of transcripts
    Claude Code deleted look like to a run). Prints how many rows it added."""
    con = sqlite3.connect(db)
    cols = [r[1] for r in con.execute("PRAGMA table_info(source_files)") if r[1] != "id"]
    last = con.execute("SELECT max(id) FROM source_files").fetchone()[0]
    added = 0
    for i in range(1, copies + 1):
        exprs = ", ".join(f"'/deleted-history-{i}' || path" if c == "path" else c for c in cols)
        cur = con.execute(f"INSERT INTO source_files ({', '.join(cols)}) SELECT {exprs} FROM source_files "
                          f"WHERE superseded = 0 AND id <= ?", (last,))
        added += cur.rowcount
    con.commit()
    con.close()
    print(added)


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "corpus-ok":
        sys.exit(0 if corpus_ok(argv[2], argv[3], argv[4], argv[5]) else 1)
    elif cmd == "corpus-desc":
        m = json.load(open(argv[2]))
        print(f"{m['files']:,} files, {m['bytes'] / 1e6:,.0f} MB, {m['lines']:,} lines, {m['responses']:,} responses")
    elif cmd == "append":
        append(argv[2], argv[3], int(argv[4]), parse_size(argv[5]), argv[6])
    elif cmd == "restore":
        restore(argv[2])
    elif cmd == "history":
        history(argv[2], int(argv[3]))
    elif cmd == "mkpricing":
        mkpricing(argv[2], argv[3], argv[4])
    elif cmd == "compare":
        compare(argv[2], argv[3], argv[4], argv[5], argv[6], [a.split("=", 1) for a in argv[7:]])
    elif cmd == "report":
        report(argv[2], argv[3], argv[4])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
