#!/usr/bin/env python3
"""bench/report.py: numbers from a bench/guest.sh run (called by bench/run).

  report.py collect OUTDIR --kernel K --mode full|quick --out FILE.json [--vm-seconds N] [--vfio-trace BIN]
  report.py table FILE.json...         the summary table on stdout (markdown)
  report.py docs DOC.md FILE.json...   rewrite DOC.md between <!-- bench:begin --> and <!-- bench:end -->

Everything is a ratio within one run (TCG: absolute times mean little). Medians over rounds.

The limit of a tracer is empty programs on the attach points *it* uses: `top` runs 8 programs
per storm cycle (mode empty-lean), `locks` the same plus mutex_lock/mutex_unlock
(empty-locks), snoop (like stat and hist) 14 (empty); the bpftrace peer is compared with
empty. `vs_limit` uses the tracer's own limit, `vs_full_limit` the 14-program one.

The phases pass (bench/phases-guest.sh, a second guest with a real IOMMU domain, results in
phases-<kver>[-quick].json, `collect ... --pass phases`) has its own untraced, empty-lean and top
rows on a storm of MAP/UNMAP_DMA through VT-d, plus top-phases (`top --phases`) and its limit
empty-phases (stat's points and the phases'); the tables show them as "pci:" rows in the kernel's
column, their ratios within that pass.
"""
import glob, json, os, re, statistics, subprocess, sys, time

TARGETS = [
    # key, label, value path, op, limit
    ("per_event_vs_empty", "per-event BPF cost, top / empty programs on top's points", "<=", 1.5),
    ("per_event_vs_bpftrace", "per-event BPF cost, top / bpftrace", "<=", 0.5),
    ("per_event_export_vs_top", "per-event BPF cost, export / top (the same programs; export's by kprobe)", "<=", 1.05),
    ("per_event_export_pinned_vs_top", "per-event BPF cost, export --pin-modules / top (both fentry)", "<=", 1.05),
    ("storm_top_vs_limit", "storm throughput under top / under empty programs on top's points", ">=", 0.95),
    ("storm_top_vs_bpftrace", "storm throughput under top / under bpftrace", ">=", 1.4),
    ("mutex_locks_vs_empty", "unrelated-mutex overhead, locks / empty mutex_lock+unlock fentry", "<=", 1.2),
    ("startup_vs_bpftrace", "start-up (exec to attached), top / bpftrace", "<=", 0.25),
    ("rss_vs_bpftrace", "peak RSS, top / bpftrace", "<=", 0.1),
]


def limit_mode(m, table):
    """The empty-program mode on the same attach points as mode m."""
    if m.startswith("empty") and m in table:
        return m
    if m == "top-phases" and "empty-phases" in table:  # the phases pass (bench/phases-guest.sh)
        return "empty-phases"
    if m in ("top", "export", "export-pinned") and "empty-lean" in table:
        return "empty-lean"
    if m == "locks" and "empty-locks" in table:
        return "empty-locks"
    return "empty"


def med(xs):
    return statistics.median(xs) if xs else None


def ratio(a, b):
    return a / b if a is not None and b else None


def read_kv(path):
    d = {}
    if os.path.exists(path):
        for line in open(path):
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                d[k] = v
    return d


def read_res(path):
    d = {}
    if os.path.exists(path):
        for w in open(path).read().split():
            k, v = w.split("=", 1)
            d[k] = float(v)
    return d


def storm_rate(path):
    d = json.load(open(path))
    c = d["containers"][0]
    return c["counters"]["cycles"] / c["elapsed_s"], c["counters"]["cycles"]


def progs(path):
    out = {}
    if os.path.exists(path):
        for line in open(path):
            f = line.rstrip("\n").split("\t")
            if len(f) == 5:
                out[int(f[0])] = {"name": f[1], "attach": f[2], "run_cnt": int(f[3]), "run_time_ns": int(f[4])}
    return out


def prog_delta(raw, tag, win=""):
    pre = progs(f"{raw}/stats-{tag}-pre.tsv")
    before, after = (progs(f"{raw}/stats-{tag}-{win}{w}.tsv") for w in ("before", "after"))
    if not after:
        return None
    rows = []
    for pid, a in sorted(after.items()):
        if pid in pre:
            continue
        b = before.get(pid, {"run_cnt": 0, "run_time_ns": 0})
        cnt, ns = a["run_cnt"] - b["run_cnt"], a["run_time_ns"] - b["run_time_ns"]
        rows.append({"id": pid, "name": a["name"], "attach": a["attach"], "run_cnt": cnt, "run_time_ns": ns,
                     "ns_per_run": round(ns / cnt, 1) if cnt else None})
    return rows


def collect(args):
    outdir = args[0]
    opt = dict(zip(args[1::2], args[2::2]))
    raw = f"{outdir}/raw"
    notes = read_kv(f"{outdir}/notes")
    modes = notes.get("modes", "").split()
    res = {"kernel": opt["--kernel"], "mode": opt["--mode"], "pass": opt.get("--pass", "main"), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "commit": subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip(),
           "vfio_trace_version": subprocess.run([opt.get("--vfio-trace", "build/vfio-trace"), "--version"],
                                                capture_output=True, text=True).stdout.strip(),
           "vm_seconds": int(opt.get("--vm-seconds", 0)), "bpftrace": notes.get("bpftrace_version"),
           "locks": notes.get("locks"), "kallsyms_scan_s": notes.get("kallsyms_scan_s"),
           "kallsyms_text_syms": notes.get("kallsyms_text_syms"), "clocksource": notes.get("clocksource"), "ksymsload": read_kv_line_str(notes.get("ksymsload", "")), "failures": {k: v for k, v in notes.items() if k.startswith(("fail", "warn"))},
           "storm": {}, "bpf_cost": {}, "mutex": {}, "startup": {}}
    # 1. storm throughput
    for m in modes:
        rates = [storm_rate(p)[0] for p in sorted(glob.glob(f"{raw}/storm-{m}-[0-9]*.json"))]
        res["storm"][m] = {"cycles_per_s": [round(r) for r in rates], "median": round(med(rates)) if rates else None}
    base = res["storm"].get("untraced", {}).get("median")
    for m, s in res["storm"].items():
        lim = res["storm"].get(limit_mode(m, res["storm"]), {}).get("median")
        s["vs_untraced"] = round(ratio(s["median"], base), 3) if ratio(s["median"], base) else None
        s["vs_limit"] = round(ratio(s["median"], lim), 3) if ratio(s["median"], lim) else None
        s["limit"] = limit_mode(m, res["storm"])
        full = res["storm"].get("empty", {}).get("median")
        s["vs_full_limit"] = round(ratio(s["median"], full), 3) if ratio(s["median"], full) else None
    # 4. start-up and RSS, from every tracer start of the throughput rounds
    for m in modes:
        if m == "untraced":
            continue
        rr = [read_res(p) for p in sorted(glob.glob(f"{raw}/tracer-{m}-[0-9]*.res"))]
        att = [r["attach_s"] for r in rr if r.get("attach_s", -1) >= 0]
        rss = [r["maxrss_kb"] for r in rr if r.get("attach_s", -1) >= 0]
        res["startup"][m] = {"attach_s": att, "attach_s_median": med(att), "maxrss_kb": rss,
                             "maxrss_kb_median": med(rss), "exit_status": [int(r.get("status", -1)) for r in rr]}
    dd = [read_res(p) for p in sorted(glob.glob(f"{raw}/doctor-*.res"))]
    if dd:
        res["startup"]["doctor"] = {"total_s": [d["total_s"] for d in dd], "total_s_median": med([d["total_s"] for d in dd]),
                                    "maxrss_kb_median": med([d["maxrss_kb"] for d in dd])}
    # 2. per-program BPF cost
    for m in modes:
        if m == "untraced":
            continue
        wins = []
        for sp in sorted(glob.glob(f"{raw}/storm-stats-{m}-w*.json")):
            w = re.search(r"-(w\d+)\.json$", sp).group(1)
            rows = prog_delta(raw, m, w + "-")
            if rows is not None:
                wins.append((storm_rate(sp)[1], rows))
        if not wins:
            continue
        # per window: BPF ns per storm cycle; per program: median ns/run over the windows
        npc = [sum(r["run_time_ns"] for r in rows) / cyc for cyc, rows in wins if cyc]
        rpc = [sum(r["run_cnt"] for r in rows) / cyc for cyc, rows in wins if cyc]
        per = {}
        for cyc, rows in wins:
            for r in rows:
                p = per.setdefault(r["id"], {"id": r["id"], "name": r["name"], "attach": r["attach"], "run_cnt": 0,
                                             "run_time_ns": 0, "_npr": []})
                p["run_cnt"] += r["run_cnt"]
                p["run_time_ns"] += r["run_time_ns"]
                if r["run_cnt"]:
                    p["_npr"].append(r["run_time_ns"] / r["run_cnt"])
        progs_ = []
        for p in per.values():
            npr = p.pop("_npr")  # always dropped: a program that never ran leaves no internal key
            p["ns_per_run"] = round(med(npr), 1) if npr else None
            progs_.append(p)
        ns = sum(p["run_time_ns"] for p in progs_)
        cnt = sum(p["run_cnt"] for p in progs_)
        res["bpf_cost"][m] = {"windows": len(wins), "cycles": sum(c for c, _ in wins), "programs": progs_,
                              "run_time_ns": ns, "run_cnt": cnt,
                              "ns_per_cycle_windows": [round(x, 1) for x in npc],
                              "ns_per_cycle": round(med(npc), 1) if npc else None,
                              "runs_per_cycle": round(med(rpc), 2) if rpc else None,
                              "ns_per_run": round(med(npc) / med(rpc), 1) if npc and med(rpc) else None}
    for m, c in res["bpf_cost"].items():
        lm = limit_mode(m, res["bpf_cost"])
        lim = res["bpf_cost"].get(lm, {}).get("ns_per_cycle")
        c["limit"] = lm
        c["vs_limit"] = round(ratio(c["ns_per_cycle"], lim), 3) if ratio(c["ns_per_cycle"], lim) else None
        # the limit must sit on exactly the tracer's attach points, or the ratio means nothing
        # the points that run per storm cycle (not register/release, once per storm)
        fx = lambda cc: sorted(p["attach"] for p in cc.get("programs", []) if p["attach"].startswith(("fentry:", "fexit:"))
                               and p["run_cnt"] >= cc.get("cycles", 0) / 2)
        mine, theirs = fx(c), fx(res["bpf_cost"].get(lm, {}))
        # snoop has no count, so it runs by kprobe (kprobe_multi where the kernel has it: the
        # handlers' runs are counted in the two dispatchers'); its limit is fentry: the same
        # functions, not comparable per program, as export's
        c["points_match_limit"] = None if m in ("snoop", "export") else mine == theirs
        if mine != theirs and m in ("top", "locks", "export-pinned", "top-phases"):
            res["failures"][f"limit_points_{m}"] = f"{m} runs on {mine}, its limit {lm} on {theirs}"
    # 3. unrelated mutexes
    for path in sorted(glob.glob(f"{raw}/mutex-*-[0-9]*.txt")):
        m = re.match(r"mutex-(.*)-\d+\.txt", os.path.basename(path)).group(1)
        rate = float(read_kv_line(path).get("rate", 0))
        res["mutex"].setdefault(m, {"iter_per_s": []})["iter_per_s"].append(round(rate))
    ub = None
    for m in ("untraced",) + tuple(k for k in res["mutex"] if k != "untraced"):
        if m not in res["mutex"]:
            continue
        x = res["mutex"][m]
        x["median"] = med(x["iter_per_s"])
        if m == "untraced":
            ub = x["median"]
        x["vs_untraced"] = round(ratio(x["median"], ub), 3) if ub else None
        x["added_ns_per_iter"] = round(1e9 / x["median"] - 1e9 / ub, 1) if ub and x["median"] else None
        rows = prog_delta(raw, f"mutex-{m}", "")
        st = read_kv_line(f"{raw}/mutex-stats-{m}.txt")
        if rows and st:
            it = int(st["iterations"])
            ns = sum(r["run_time_ns"] for r in rows)
            cnt = sum(r["run_cnt"] for r in rows)
            x["stats"] = {"iterations": it, "programs": rows, "runs_per_iter": round(cnt / it, 3),
                          "bpf_ns_per_iter": round(ns / it, 1), "ns_per_run": round(ns / cnt, 1) if cnt else None}
    # targets
    t = {}
    bc, st, mu, su = res["bpf_cost"], res["storm"], res["mutex"], res["startup"]
    g = lambda d, m, k: d.get(m, {}).get(k)
    t["per_event_vs_empty"] = ratio(g(bc, "top", "ns_per_cycle"), g(bc, limit_mode("top", bc), "ns_per_cycle"))
    t["per_event_vs_bpftrace"] = ratio(g(bc, "top", "ns_per_cycle"), g(bc, "bpftrace", "ns_per_cycle"))
    t["per_event_export_vs_top"] = ratio(g(bc, "export", "ns_per_cycle"), g(bc, "top", "ns_per_cycle"))
    t["per_event_export_pinned_vs_top"] = ratio(g(bc, "export-pinned", "ns_per_cycle"), g(bc, "top", "ns_per_cycle"))
    t["storm_top_vs_limit"] = ratio(g(st, "top", "median"), g(st, limit_mode("top", st), "median"))
    t["storm_top_vs_bpftrace"] = ratio(g(st, "top", "median"), g(st, "bpftrace", "median"))
    t["mutex_locks_vs_empty"] = ratio(g(mu, "locks", "added_ns_per_iter"), g(mu, "empty-mutex", "added_ns_per_iter"))
    t["startup_vs_bpftrace"] = ratio(g(su, "top", "attach_s_median"), g(su, "bpftrace", "attach_s_median"))
    t["rss_vs_bpftrace"] = ratio(g(su, "top", "maxrss_kb_median"), g(su, "bpftrace", "maxrss_kb_median"))
    res["targets"] = {}
    if res["pass"] == "phases":
        # what --phases adds to top on this storm: throughput and BPF ns per cycle, against
        # top and against the empty programs on the points each one runs
        res["phases_cost"] = {
            "storm_top_phases_vs_top": ratio(g(st, "top-phases", "median"), g(st, "top", "median")),
            "storm_top_phases_vs_limit": ratio(g(st, "top-phases", "median"), g(st, "empty-phases", "median")),
            "bpf_ns_per_cycle_added": (g(bc, "top-phases", "ns_per_cycle") - g(bc, "top", "ns_per_cycle"))
            if g(bc, "top-phases", "ns_per_cycle") is not None and g(bc, "top", "ns_per_cycle") is not None else None,
            "per_event_top_phases_vs_limit": ratio(g(bc, "top-phases", "ns_per_cycle"), g(bc, "empty-phases", "ns_per_cycle")),
        }
        os.makedirs(os.path.dirname(opt["--out"]) or ".", exist_ok=True)
        json.dump(res, open(opt["--out"], "w"), indent=1)
        print(f"bench: wrote {opt['--out']}")
        return
    for key, label, op, limit in TARGETS:
        v = t[key]
        met = None if v is None else (v <= limit if op == "<=" else v >= limit)
        res["targets"][key] = {"label": label, "value": round(v, 3) if v is not None else None,
                               "target": f"{op} {limit}", "met": met}
    os.makedirs(os.path.dirname(opt["--out"]) or ".", exist_ok=True)
    json.dump(res, open(opt["--out"], "w"), indent=1)
    print(f"bench: wrote {opt['--out']}")


def read_kv_line_str(text):
    return {k: float(v) for k, v in (w.split("=", 1) for w in text.split() if "=" in w)}


def read_kv_line(path):
    if not os.path.exists(path):
        return {}
    return dict(w.split("=", 1) for w in open(path).read().split() if "=" in w)


def fmt(v, nd=2):
    if v is None:
        return "n/a"
    if isinstance(v, float) and abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def split_passes(loaded):
    """The main runs, one per kernel column, with each kernel's phases pass (if any) in
    r["_phases"]; a kernel with only a phases pass gets an empty main run."""
    main = [r for r in loaded if r.get("pass", "main") == "main"]
    for p in [r for r in loaded if r.get("pass") == "phases"]:
        r = next((m for m in main if m["kernel"] == p["kernel"]), None)
        if r is None:
            r = {"kernel": p["kernel"], "storm": {}, "bpf_cost": {}, "mutex": {}, "startup": {}, "targets": {},
                 "failures": {}, "_no_main": True}
            main.append(r)
        r["_phases"] = p
    return main


def pci_rows(r, key):
    """A kernel's phases pass rows of table key (storm or bpf_cost), named "pci: MODE"."""
    p = r.get("_phases")
    return {f"pci: {m}": v for m, v in p[key].items()} if p else {}


def table(files):
    res = split_passes([json.load(open(f)) for f in files if os.path.exists(f)])
    if not res:
        return "(no results)\n"
    ks = [r["kernel"] for r in res]
    o = []
    o.append("### Targets\n")
    o.append("| target | want | " + " | ".join(ks) + " |")
    o.append("|---|---|" + "---|" * len(ks))
    for key, label, op, limit in TARGETS:
        cells = []
        for r in res:
            x = r["targets"].get(key) or {"value": None}  # older results: not measured then
            cells.append("n/a" if x["value"] is None else f"{x['value']:.2f} {'met' if x['met'] else '**missed**'}")
        o.append(f"| {label} | {op} {limit} | " + " | ".join(cells) + " |")
    o.append("\n### Storm throughput (cycles/s, median; ratio to untraced / to the limit: empty programs on the mode's own points, top: empty-lean, locks: empty-locks, others: empty)\n")
    o.append("| mode | " + " | ".join(ks) + " |")
    o.append("|---|" + "---|" * len(ks))
    modes = []
    for r in res:
        modes += [m for m in r["storm"] if m not in modes]
    pci = []
    for r in res:
        pci += [m for m in pci_rows(r, "storm") if m not in pci]
    for m in modes + pci:
        cells = []
        for r in res:
            s = {**r["storm"], **pci_rows(r, "storm")}.get(m)
            cells.append("n/a" if not s or s["median"] is None else
                         f"{s['median']:,} ({fmt(s['vs_untraced'])} / {fmt(s['vs_limit'])}), n={len(s['cycles_per_s'])}")
        o.append(f"| {m} | " + " | ".join(cells) + " |")
    o.append("\n### Per-event BPF cost during a storm (bpf_stats: ns of BPF per storm cycle, median of the windows; runs per cycle; ns per run; ratio to the empty programs on the same points)\n")
    o.append("| programs | " + " | ".join(ks) + " |")
    o.append("|---|" + "---|" * len(ks))
    for m in [m for m in modes + pci if not m.endswith("untraced")]:
        cells = []
        for r in res:
            c = {**r["bpf_cost"], **pci_rows(r, "bpf_cost")}.get(m)
            cells.append("n/a" if not c else f"{fmt(c['ns_per_cycle'], 0)} ns, {fmt(c['runs_per_cycle'], 1)} runs, {fmt(c['ns_per_run'], 0)} ns/run ({fmt(c['vs_limit'])})")
        o.append(f"| {m} | " + " | ".join(cells) + " |")
    o.append("\n### Unrelated mutexes: pipe write+read loop (iterations/s, median; ratio to untraced; added ns per iteration)\n")
    o.append("| mode | " + " | ".join(ks) + " |")
    o.append("|---|" + "---|" * len(ks))
    mm = []
    for r in res:
        mm += [m for m in r["mutex"] if m not in mm]
    for m in mm:
        cells = []
        for r in res:
            x = r["mutex"].get(m)
            if not x:
                cells.append("n/a"); continue
            s = x.get("stats")
            extra = f"; {s['runs_per_iter']} BPF runs/iter, {fmt(s['ns_per_run'], 0)} ns/run" if s else ""
            cells.append(f"{x['median']:,.0f} ({fmt(x['vs_untraced'])}, +{fmt(x['added_ns_per_iter'], 0)} ns){extra}")
        o.append(f"| {m} | " + " | ".join(cells) + " |")
    o.append("\n### Start-up (exec to attached, s, median) and peak RSS (MiB, median)\n")
    o.append("| tool | " + " | ".join(ks) + " |")
    o.append("|---|" + "---|" * len(ks))
    for m in [m for m in modes if m != "untraced"] + ["doctor"]:
        cells = []
        for r in res:
            s = r["startup"].get(m)
            if m == "doctor":
                cells.append("n/a" if not s else f"{s['total_s_median']:.2f} s to exit, {s['maxrss_kb_median'] / 1024:.1f} MiB")
                continue
            cells.append("n/a" if not s or s["attach_s_median"] is None else
                         f"{s['attach_s_median']:.2f} s, {s['maxrss_kb_median'] / 1024:.1f} MiB")
        o.append(f"| {m} | " + " | ".join(cells) + " |")
    ph = [r for r in res if r.get("_phases")]
    if ph:
        o.append("\n### What `top --phases` adds on a storm through a real IOMMU domain (the pci: rows)\n")
        o.append("| measure | " + " | ".join(r["kernel"] for r in ph) + " |")
        o.append("|---|" + "---|" * len(ph))
        for key, label in (("storm_top_phases_vs_top", "storm throughput, top --phases / top"),
                           ("storm_top_phases_vs_limit", "storm throughput, top --phases / empty programs on its points"),
                           ("bpf_ns_per_cycle_added", "BPF ns per storm cycle added by --phases"),
                           ("per_event_top_phases_vs_limit", "BPF ns per cycle, top --phases / empty programs on its points")):
            o.append(f"| {label} | " + " | ".join(fmt(r["_phases"]["phases_cost"].get(key), 2 if "vs" in key else 0)
                                                  for r in ph) + " |")
    o.append("\nRuns: " + "; ".join([s for s in [f"{r['kernel']}: {r['mode']}, {r['date']}, repo {r['commit']}, "
                                    f"VM {r['vm_seconds']} s, clocksource {r.get('clocksource', '?')}, locks: {r['locks']}, {r['vfio_trace_version'] if isinstance(r['vfio_trace_version'], str) else ' '.join(r['vfio_trace_version'])}"
                                    + (f", `cat /proc/kallsyms` {r.get('kallsyms_scan_s')} s ({r.get('kallsyms_text_syms')} text symbols)" if r.get('kallsyms_scan_s') else "")
                                    + (f", vfio-trace's vt_ksyms_load() alone {r['ksymsload'].get('ksyms_load_s')} s and +{r['ksymsload'].get('syms_rss_kb', 0) / 1024:.1f} MiB RSS" if r.get('ksymsload') else "")
                                    + (f", failures: {r['failures']}" if r['failures'] else "") for r in res if not r.get("_no_main")]
             + [f"pci: rows of {r['kernel']}: phases pass, {r['_phases']['mode']}, {r['_phases']['date']}, "
                f"repo {r['_phases']['commit']}, VM {r['_phases']['vm_seconds']} s"
                + (f", failures: {r['_phases']['failures']}" if r['_phases']['failures'] else "")
                for r in ph]]))
    return "\n".join(o) + "\n"


def per_program(files):
    o = ["\n### Per program (ns per run under bpf_stats, median of the windows)\n"]
    for f in files:
        r = json.load(open(f))
        o.append(f"**{r['kernel']}**\n")
        o.append("| attach point | empty | top | snoop | bpftrace |")
        o.append("|---|---|---|---|---|")
        pts = {}
        for m in ("empty", "top", "snoop", "bpftrace"):  # empty-lean: the same programs as empty
            for p in r["bpf_cost"].get(m, {}).get("programs", []):
                if p["run_cnt"]:
                    pts.setdefault(p["attach"], {})[m] = p["ns_per_run"]
        for a in sorted(pts):
            o.append(f"| {a} | " + " | ".join(fmt(pts[a].get(m), 0) for m in ("empty", "top", "snoop", "bpftrace")) + " |")
        o.append("")
    return "\n".join(o) + "\n"


def docs(doc, files):
    # the tables are the full runs' (bench/results/<kver>.json): not the quick runs kept beside
    # them (<kver>-quick*.json) nor the scale bench's (scale-<kver>.json, its own format)
    # the phases pass's results (phases-<kver>.json, or -quick.json from a quick run) go in as the
    # pci: rows of their kernel, the quick ones only where no full one exists
    base = [os.path.basename(f) for f in files]
    files = [f for f, b in zip(files, base) if not b.startswith("scale-") and
             ("-quick" not in b or (b.startswith("phases-") and b.replace("-quick", "") not in base))]
    files = sorted(files, key=lambda f: [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", os.path.basename(f))], reverse=True)
    text = open(doc).read() if os.path.exists(doc) else "<!-- bench:begin -->\n<!-- bench:end -->\n"
    gen = "<!-- bench:begin -->\n<!-- generated by `make bench` (bench/report.py docs); do not edit by hand -->\n\n" + \
        table(files) + per_program(files) + "<!-- bench:end -->"
    text = re.sub(r"<!-- bench:begin -->.*<!-- bench:end -->", lambda _: gen, text, flags=re.S)
    open(doc, "w").write(text)
    print(f"bench: updated {doc}")


if __name__ == "__main__":
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "collect":
        collect(a)
    elif cmd == "table":
        suf = ""
        if "--suffix" in a:
            i = a.index("--suffix"); suf = a[i + 1]; a = a[:i] + a[i + 2:]
        sys.stdout.write(table([f + suf for f in a]))
    elif cmd == "docs":
        docs(a[0], a[1:])
    else:
        sys.exit(__doc__)
