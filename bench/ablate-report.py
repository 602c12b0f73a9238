#!/usr/bin/env python3
"""bench/ablate-report.py OUT...: bench/ablate's table. Per build, from every window of every
OUT (a raw dir's parent, one per boot of the same kernel): BPF ns per storm cycle (the programs
the tracer loaded, as bench/report.py counts them), its ratio to the empty programs on top's
points, the storm rate under bpf_stats and its ratio, and ns per run of the programs that run
every cycle. Medians over the windows."""
import glob, re, statistics, sys

from report import prog_delta, storm_rate  # bench/report.py's readers of the same raw files

BUILDS = {"empty-lean": "the empty programs on top's points (the limit)", "v0": "top as shipped",
          "v1": "no accounts", "v2": "no clock reads", "v3": "no device-list reads",
          "v4": "none of the three: the entry/exit state alone"}


def main():
    res = {}
    for out in sys.argv[1:]:
        raw = out + "/raw"
        for sp in sorted(glob.glob(f"{raw}/storm-stats-*-p*-w*.json")):
            mode, tag, w = re.search(r"storm-stats-(.+)-(p\d+)-(w\d+)\.json$", sp).groups()
            rate, cyc = storm_rate(sp)
            rows = prog_delta(raw, f"{mode}-{tag}", w + "-")
            if not cyc or rows is None:
                continue
            r = res.setdefault(mode, {"npc": [], "rate": [], "per": {}})
            for row in rows:
                if row["run_cnt"] >= cyc / 2:  # runs every cycle
                    r["per"].setdefault(row["name"], []).append(row["run_time_ns"] / row["run_cnt"])
            r["npc"].append(sum(row["run_time_ns"] for row in rows) / cyc)
            r["rate"].append(rate)
    if "empty-lean" not in res:
        sys.exit("bench/ablate-report.py: no empty-lean windows")
    med = statistics.median
    base, brate = med(res["empty-lean"]["npc"]), med(res["empty-lean"]["rate"])
    print("| build | BPF ns per storm cycle (x the limit) | windows (min-max) | storm rate (x the limit) | ns per run, each program of the cycle |")
    print("|---|---|---|---|---|")
    for m, what in BUILDS.items():
        if m not in res:
            continue
        r = res[m]
        per = ", ".join(f"{n} {med(v):.0f}" for n, v in sorted(r["per"].items()))
        print(f"| {m}: {what} | {med(r['npc']):,.0f} ({med(r['npc']) / base:.2f}) | {len(r['npc'])} "
              f"({min(r['npc']):,.0f}-{max(r['npc']):,.0f}) | {med(r['rate']):,.0f}/s ({med(r['rate']) / brate:.2f}) | {per} |")


if __name__ == "__main__":
    main()
