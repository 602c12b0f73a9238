#!/usr/bin/env python3
"""bench/scale-report.py: numbers from a bench/scale-guest.sh run (called by bench/scale).

  scale-report.py OUTDIR --kernel K --out FILE.json [--svg FILE.svg] [--vm-seconds N] [--host-load S]

Prints a markdown table. Ratios within the run (TCG: absolute times mean little); medians over
rounds. Points: N (N containers, one process and one device each) or NxD (D devices each).
"""
import argparse, glob, json, os, re, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lab"))
from report import med, progs, read_res  # bench/report.py's readers of the same raw files
from vtcheck import compare_total  # the lab's exact comparison of a stat total with a workload

# issue #20's targets
COST_TARGET = 1.1      # BPF ns per storm cycle under top at 256 containers / at 1
CPU_TARGET = 0.02      # top's user+system CPU at 1 s intervals with 1,000 rows, share of a core
ROWS_TARGET = 1000
TEARDOWN_TARGET = 0.9  # a traced 100k-mapping teardown's speed / the untraced one's


def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


def point_key(p):
    n, _, d = p.partition("x")
    return (int(n), int(d or 1))


def storm(path):
    """total cycles/s over all containers, total cycles"""
    d = json.load(open(path))
    cs = d["containers"]
    cyc = sum(c["counters"]["cycles"] for c in cs)
    el = max(c["elapsed_s"] for c in cs)
    return cyc / el, cyc


def top_rows(path):
    """process + device rows of the fullest interval block of top -b's output"""
    best, cur, sect = 0, 0, None
    if not os.path.exists(path):
        return None
    for line in open(path, errors="replace"):
        s = line.strip()
        if s.startswith("==="):
            best, cur, sect = max(best, cur), 0, None
        elif s.startswith("PID ") or s.startswith("DEVICE "):
            sect = "rows"
        elif not s:
            sect = None if sect == "rows" else sect
        elif sect == "rows":
            cur += 1
    return max(best, cur)


def collect(raw, notes):
    tck = float(notes.get("clock_tck", 100))
    points = notes.get("points", "").split()
    modes = notes.get("modes", "").split()
    res = {"points": points, "modes": modes, "storm": {}, "bpf": {}, "top": {}}
    for p in points:
        st = res["storm"][p] = {}
        for m in modes:
            rates = [storm(f)[0] for f in sorted(glob.glob(f"{raw}/storm-{m}-{p}-[0-9]*.json"))]
            st[m] = {"cycles_per_s": [round(r) for r in rates], "median": round(med(rates)) if rates else None}
        u, e, t = (st.get(m, {}).get("median") for m in ("untraced", "empty-lean", "top"))
        st["top_vs_untraced"], st["top_vs_limit"], st["limit_vs_untraced"] = ratio(t, u), ratio(t, e), ratio(e, u)
        b = res["bpf"][p] = {}
        for m in ("empty-lean", "top"):
            pre = progs(f"{raw}/stats-{m}-{p}-pre.tsv")
            wins = []
            for sj in sorted(glob.glob(f"{raw}/storm-stats-{m}-{p}-w*.json")):
                w = re.search(r"-(w\d+)\.json$", sj).group(1)
                after = progs(f"{raw}/stats-{m}-{p}-{w}-after.tsv")
                if not after:
                    continue
                before = progs(f"{raw}/stats-{m}-{p}-{w}-before.tsv")
                ns = cnt = 0
                for pid, a in after.items():
                    if pid in pre:
                        continue
                    z = before.get(pid, {"run_cnt": 0, "run_time_ns": 0})
                    ns += a["run_time_ns"] - z["run_time_ns"]
                    cnt += a["run_cnt"] - z["run_cnt"]
                cyc = storm(sj)[1]
                if cyc and cnt:
                    wins.append((ns / cyc, cnt / cyc, ns / cnt))
            if wins:
                b[m] = {"windows": len(wins), "ns_per_cycle_windows": [round(x[0], 1) for x in wins],
                        "ns_per_cycle": round(med([x[0] for x in wins]), 1),
                        "runs_per_cycle": round(med([x[1] for x in wins]), 2),
                        "ns_per_run": round(med([x[2] for x in wins]), 1)}
        if "top" in b and "empty-lean" in b:
            b["top_vs_limit"] = ratio(b["top"]["ns_per_cycle"], b["empty-lean"]["ns_per_cycle"])
        cpu, rss, rows = [], [], []
        for f in sorted(glob.glob(f"{raw}/cpu-top-{p}-[0-9]*.txt")):
            c0, c1, u0, u1 = (float(x) for x in open(f).read().split())
            if u1 > u0:
                cpu.append((c1 - c0) / tck / (u1 - u0))
            r = re.search(r"-(\d+)\.txt$", f).group(1)
            rr = read_res(f"{raw}/tracer-top-{p}-{r}.res")
            if rr.get("maxrss_kb"):
                rss.append(rr["maxrss_kb"])
            n = top_rows(f"{raw}/top-{p}-{r}.out")
            if n is not None:
                rows.append(n)
        res["top"][p] = {"cpu_share": [round(c, 4) for c in cpu], "cpu_share_median": round(med(cpu), 4) if cpu else None,
                         "cpu_s_per_1s_interval": round(med(cpu), 4) if cpu else None,
                         "maxrss_kb": rss, "maxrss_kb_median": med(rss), "rows": rows, "rows_max": max(rows) if rows else None}
    # per-event cost against N=1 (one device per container)
    one = res["bpf"].get("1", {}).get("top", {}).get("ns_per_cycle")
    one_l = res["bpf"].get("1", {}).get("empty-lean", {}).get("ns_per_cycle")
    for p in points:
        b = res["bpf"][p]
        if "top" in b:
            b["top_vs_1"] = ratio(b["top"]["ns_per_cycle"], one)
        if "empty-lean" in b:
            b["limit_vs_1"] = ratio(b["empty-lean"]["ns_per_cycle"], one_l)
    return res


def top_td_dmas(path):
    """TD_DMAS of the last `total` row of top -b's output (vfio_dma removed at teardowns since
    start), or None"""
    col, last = None, None
    if not os.path.exists(path):
        return None
    for line in open(path, errors="replace"):
        f = line.split()
        if "TD_DMAS" in f and "UNMAPS" in f:
            col = f.index("TD_DMAS") + 2  # a total row starts with "total" and its span
        elif f and f[0] == "total" and col is not None and len(f) > col:
            last = int(f[col])
    return last


def merge_workloads(docs):
    """one workload document for several runs: counters summed, containers concatenated"""
    m = {"totals": {}, "containers": []}
    for w in docs:
        for k, v in w["totals"].items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                m["totals"][k] = m["totals"].get(k, 0) + v
        m["containers"] += w["containers"]
    return m


def teardown(raw, notes):
    """The teardown point: the workload's close time per mode (median over rounds x runs), the
    speed against untraced, and the tracers' counts checked exactly against the workloads'.
    Returns (result, problems)."""
    modes = notes.get("teardown_modes", "").split()
    maps = int(notes.get("teardown_maps", 0))
    problems = []
    res = {"maps": maps, "map_size": 4096, "runs_per_round": int(notes.get("teardown_runs", 1)),
           "dma_entry_limit": notes.get("dma_entry_limit"), "modes": {}}
    for m in modes:
        secs, rounds = [], {}
        for f in sorted(glob.glob(f"{raw}/td-{m}-[0-9]*-[0-9]*.json")):
            r = re.search(r"-(\d+)-\d+\.json$", f).group(1)
            w = json.load(open(f))
            t = w["totals"]
            if w.get("status") != "ok" or t.get("teardown_dma_expected") != maps:
                problems.append(f"teardown {m}: {os.path.basename(f)}: status {w.get('status')}, "
                                f"{t.get('teardown_dma_expected')} vfio_dma left mapped of {maps}")
                continue
            secs.append(w["containers"][0]["teardown_s"])
            rounds.setdefault(r, []).append(w)
        md = res["modes"][m] = {"teardown_s": [round(x, 4) for x in secs],
                                "median_s": round(med(secs), 4) if secs else None}
        # exact counts, per tracer start (a round): the runs' workloads summed
        checked = 0
        for r, docs in sorted(rounds.items()):
            wl = merge_workloads(docs)
            want = wl["totals"]["teardown_dma_expected"]
            if m == "top":
                got = top_td_dmas(f"{raw}/td-top-{r}.out")
                if got != want:
                    problems.append(f"teardown top round {r}: TD_DMAS {got}, workloads {want}")
                checked += 1
            elif m == "stat":
                p = f"{raw}/td-stat-{r}.json"
                tot = [json.loads(l) for l in open(p) if l.strip()] if os.path.exists(p) else []
                tot = [d for d in tot if d.get("type") == "total"]
                if len(tot) != 1:
                    problems.append(f"teardown stat round {r}: {len(tot)} total documents")
                    continue
                problems += [f"teardown stat round {r}: {x}" for x in compare_total("stat", tot[0], wl)]
                checked += 1
        if m in ("top", "stat"):
            md["rounds_checked"] = checked
    # one more teardown per tracer under bpf_stats: each program's runs and ns per vfio_dma
    for m in ("empty-lean", "top", "empty-vfio", "stat"):
        pre, before, after = (progs(f"{raw}/td-stats-{m}-{w}.tsv") for w in ("pre", "before", "after"))
        if not after or m not in res["modes"]:
            continue
        rows, ns = [], 0
        for pid, a in sorted(after.items()):
            if pid in pre:
                continue
            z = before.get(pid, {"run_cnt": 0, "run_time_ns": 0})
            cnt, t = a["run_cnt"] - z["run_cnt"], a["run_time_ns"] - z["run_time_ns"]
            if cnt:
                rows.append({"prog": a["name"], "attach": a["attach"], "runs_per_dma": round(cnt / maps, 3),
                             "ns_per_run": round(t / cnt, 1)})
                ns += t
        res["modes"][m]["bpf"] = {"ns_per_vfio_dma": round(ns / maps, 1), "programs": rows}
        # fentry unless the tracer fell back to (or chose) kprobes: vfio-trace's kp_/kr_ programs
        res["modes"][m]["attach"] = "kprobe" if any(r["prog"].startswith(("kp_", "kr_")) for r in rows) else "fentry"
    u = res["modes"].get("untraced", {}).get("median_s")
    for m, md in res["modes"].items():
        # speed = vfio_dma removed per second; against untraced = untraced time / this time
        md["speed_vs_untraced"] = ratio(u, md["median_s"])
        md["vfio_dma_per_s"] = round(maps / md["median_s"]) if md["median_s"] else None
    res["counts_exact"] = not problems
    return res, problems


def targets(res):
    """issue #20's targets: met/missed at the largest point measured (256 containers and 1,000
    rows are beyond this lab: vfio_dmatest ndev and the workload's --containers stop at 64)"""
    ns = [p for p in res["points"] if "x" not in p]
    big = max(ns, key=int)
    t = []
    c = res["bpf"][big].get("top_vs_1")
    lim = res["bpf"][big].get("limit_vs_1")
    t.append({"target": f"per-event BPF cost (top) at 256 containers <= {COST_TARGET}x 1 container",
              "measured_at": f"{big} containers", "value": c, "limit_value": lim,
              "top_over_its_limit": ratio(c, lim),
              "met": c is not None and c <= COST_TARGET})
    tp = res["top"][big]
    cpu, rows = tp["cpu_share_median"], tp["rows_max"]
    # CPU per row from the two largest one-device points (from 1 container to 16, top's CPU
    # follows the event rate and the number of processes more than its rows), extrapolated to
    # 1,000 rows
    t1 = res["top"][ns[0]]
    tm = res["top"][sorted(ns, key=int)[-2]] if len(ns) > 2 else t1
    ext = None
    if cpu is not None and tm["cpu_share_median"] is not None and rows and tm["rows_max"] is not None and rows > tm["rows_max"]:
        slope = (cpu - tm["cpu_share_median"]) / (rows - tm["rows_max"])
        ext = round(cpu + slope * (ROWS_TARGET - rows), 4)
    t.append({"target": f"top's CPU at 1 s intervals with {ROWS_TARGET} rows <= {CPU_TARGET:.0%} of a core",
              "measured_at": f"{rows} rows ({big} containers)", "value": cpu, "extrapolated_1000_rows": ext,
              "met": cpu is not None and cpu <= CPU_TARGET and (ext is None or ext <= CPU_TARGET)})
    r1, rb = t1["maxrss_kb_median"], tp["maxrss_kb_median"]
    t.append({"target": "top's peak RSS independent of rows beyond the rows themselves",
              "measured_at": f"{t1['rows_max']} -> {rows} rows", "value_kb": [r1, rb],
              "kb_per_row": round((rb - r1) / (rows - t1["rows_max"]), 2) if r1 and rb and rows and rows != t1["rows_max"] else None})
    td = res.get("teardown")
    if td and td["modes"]:
        md = td["modes"]
        v = {m: md.get(m, {}).get("speed_vs_untraced") for m in ("top", "stat", "empty-lean", "empty-vfio")}
        t.append({"target": f"a traced {td['maps']:,}-mapping teardown >= {TEARDOWN_TARGET}x the untraced speed, exact counts",
                  "measured_at": f"{td['maps']:,} vfio_dma of 4 KiB, one container", "value": v["top"],
                  "stat": v["stat"], "limit_top": v["empty-lean"], "limit_stat": v["empty-vfio"],
                  "counts_exact": td["counts_exact"],
                  "met": td["counts_exact"] and all(v[m] is not None and v[m] >= TEARDOWN_TARGET for m in ("top", "stat"))})
    return t


def table(res):
    o = [f"kernel {res['kernel']}, {res.get('rounds', '?')} rounds; host load (1/5/15 min) before / after: {res.get('host_load')}\n",
         "| point | untraced cycles/s | limit (empty-lean) | top | top / untraced | top / limit | BPF ns/cycle top (vs N=1) | limit ns/cycle (vs N=1) | top CPU share | top rows | top peak RSS |",
         "|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in res["points"]:
        s, b, t = res["storm"][p], res["bpf"][p], res["top"][p]
        f = lambda x: f"{x:,}" if isinstance(x, int) else ("-" if x is None else str(x))
        bt, bl = b.get("top", {}), b.get("empty-lean", {})
        lbl = f"{p.split('x')[0]} containers x {p.split('x')[1]} devices" if "x" in p else f"{p} containers"
        o.append(f"| {lbl} | {f(s['untraced']['median'])} | {f(s['empty-lean']['median'])} | {f(s['top']['median'])} | "
                 f"{f(s['top_vs_untraced'])} | {f(s['top_vs_limit'])} | {f(bt.get('ns_per_cycle'))} ({f(b.get('top_vs_1'))}) | "
                 f"{f(bl.get('ns_per_cycle'))} ({f(b.get('limit_vs_1'))}) | "
                 f"{t['cpu_share_median'] * 100:.2f} %" if t["cpu_share_median"] is not None else "-")
        o[-1] += f" | {f(t['rows_max'])} | {t['maxrss_kb_median'] / 1024:.1f} MiB |" if t["maxrss_kb_median"] else " | - | - |"
    td = res.get("teardown")
    if td and td["modes"]:
        o += ["", f"teardown: {td['maps']:,} vfio_dma of 4 KiB in one container, {td['runs_per_round']} runs per "
              f"tracer start; dma_entry_limit {td['dma_entry_limit']}; counts exact: {td['counts_exact']}", "",
              "| mode | teardown (median, s) | runs | vfio_dma/s | speed vs untraced |", "|---|---|---|---|---|"]
        for m, md in td["modes"].items():
            rate = f"{md['vfio_dma_per_s']:,}" if md["vfio_dma_per_s"] else "-"
            o.append(f"| {m}{' (' + md['attach'] + ')' if md.get('attach') else ''} | {md['median_s']} | {len(md['teardown_s'])} | {rate} | {md['speed_vs_untraced']} |")
        for m, md in td["modes"].items():
            if md.get("bpf"):
                o.append(f"- {m} under bpf_stats, one run (its MAP_DMA ioctls and the teardown): "
                         f"{md['bpf']['ns_per_vfio_dma']} BPF ns per vfio_dma; per vfio_dma: " +
                         ", ".join(f"{r['prog']} ({r['attach']}) {r['runs_per_dma']} x {r['ns_per_run']} ns"
                                   for r in md["bpf"]["programs"] if r["runs_per_dma"] >= 0.5))
    o.append("")
    for t in res["targets"]:
        o.append(f"- {t['target']}: " + json.dumps({k: v for k, v in t.items() if k != "target"}))
    return "\n".join(o)


def plot(res, svg, dat):
    ns = sorted((p for p in res["points"] if "x" not in p), key=int)
    with open(dat, "w") as f:
        for p in ns:
            b, t = res["bpf"][p], res["top"][p]
            f.write(f"{p} {b.get('top', {}).get('ns_per_cycle', 'NaN')} {b.get('empty-lean', {}).get('ns_per_cycle', 'NaN')} "
                    f"{(t['cpu_share_median'] or float('nan')) * 100} \"{p}\\n{t['rows_max'] or '?'} rows\"\n")
    gp = f"""set terminal svg size 720,400 dynamic font 'sans,11'
set output '{svg}'
set title 'vfio-trace top at scale ({res['kernel']}, TCG lab; ratios matter, not absolutes)'
set logscale x 2
set xrange [0.8:320]
set bmargin 5
set xlabel "containers (one process, one device each) and top's rows"
set ylabel 'BPF ns per storm cycle'
set y2label "top's CPU, % of one core (1 s intervals)"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set key top left
set grid
plot '{dat}' using 1:2:xtic(5) with linespoints lw 2 title 'top: BPF ns/cycle', \\
     '{dat}' using 1:3 with linespoints lw 2 title 'empty programs (limit): BPF ns/cycle', \\
     '{dat}' using 1:4 axes x1y2 with linespoints lw 2 dt 2 title "top's CPU (% of a core)"
"""
    subprocess.run(["gnuplot"], input=gp, text=True, check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--svg")
    ap.add_argument("--vm-seconds", type=int)
    ap.add_argument("--host-load")
    a = ap.parse_args()
    raw = os.path.join(a.outdir, "raw")
    if not os.path.isdir(raw):
        sys.exit(f"scale-report.py: {raw} missing")
    notes = {}
    np_ = os.path.join(a.outdir, "notes")
    if os.path.exists(np_):
        for line in open(np_):
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                notes[k] = v
    if not notes.get("points"):
        sys.exit("scale-report.py: no points in the run's notes (did the guest script start?)")
    res = collect(raw, notes)
    td_problems = []
    if notes.get("teardown_modes"):
        res["teardown"], td_problems = teardown(raw, notes)
    res.update({"kernel": a.kernel, "vm_seconds": a.vm_seconds, "host_load": a.host_load,
                "rounds": max((len(res["storm"][p]["untraced"]["cycles_per_s"]) for p in res["points"]), default=0),
                "guest": {k: notes.get(k) for k in ("clock_tck", "nproc", "mem_total_kb")},
                "failures": {k: v for k, v in notes.items() if k.startswith(("fail", "warn"))}})
    if td_problems:  # a traced teardown that did not count exactly fails the run
        res["failures"]["teardown_counts"] = "; ".join(td_problems[:6])
    res["targets"] = targets(res)
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    if a.svg:
        with tempfile.NamedTemporaryFile("w", suffix=".dat") as t:
            plot(res, a.svg, t.name)
    print(table(res))
    if res["failures"]:
        print(f"scale-report.py: failures in the run: {res['failures']}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
