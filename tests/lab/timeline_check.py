#!/usr/bin/env python3
"""Checks of vfio-trace report's pictures, shared by the lab's record test and the host test
t-timeline (usable on its own: timeline_check.py chrome TRACE.json [--window] [--snoop
SNOOP.jsonl] [OP=N ...] | timeline_check.py heatmap MAP.svg SNOOP.jsonl [FROM_S]).

chrome: the file parses as JSON (times read as exact decimals); it is a Trace Event Format
object; every process and thread with events is named; on every track (pid, tid) the complete
slices form a tree (each one inside the one it starts in, none partly overlapping another);
the calls nest as the kernel makes them (a vfio_dma removal inside an UNMAP_DMA or a teardown,
vfio_unmap_unpin inside a removal, a notify inside an UNMAP_DMA, a callback made by a notify
inside it; a thread's lock holds, waits and drops are on a track of their own per lock, where
they must nest or follow each other too; not checked with --window, whose edges may cut a caller off);
an IOMMU unmap slice's nested_flush_ns is the summed duration of the iotlb_sync slices inside
it and unmap_ns its latency_ns less that; and the events of
each operation are as many as expected (OP=N, or as many as in report snoop -j's SNOOP.jsonl).

heatmap: the SVG is XML that rsvg-convert renders to a PNG of its size; its column width is
the documented rule's (1, 2 or 5 x 10^k ns, 1 us at least, at most 200 columns) for the span
of the events; and its cells are exactly the non-empty (column, log2 latency) buckets of the
timed events report snoop -j shows, with their counts, computed here independently."""
import collections, json, os, subprocess, sys, tempfile
import xml.etree.ElementTree as ET
from decimal import Decimal

# What each operation's slice must lie inside (one of), when the outer one is in the file.
PARENTS = {"remove_dma": {"unmap", "teardown"}, "unmap_unpin": {"remove_dma"},
           "notify": {"unmap"},
           # the phases of vfio_unmap_unpin (a flush also inside the IOMMU unmap that made it)
           "iommu_unmap": {"unmap_unpin"}, "unpin_remote": {"unmap_unpin"},
           "iova_walk": {"unmap_unpin"}, "iotlb_sync": {"unmap_unpin", "iommu_unmap"}}
UNTIMED = {"retry", "register", "unregister", "deadlock"}
LAT_NONE = 2**64 - 1


def check_chrome(path, expect=None, strict_parents=True):
    """Problems found (a list of strings) and the events per category {cat: n}."""
    problems = []
    try:
        with open(path) as f:
            doc = json.load(f, parse_float=Decimal)
    except (OSError, ValueError) as e:
        return [f"{path}: does not parse: {e}"], {}
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        return [f"{path}: not an object with a traceEvents array"], {}
    named_p, named_t, tracks, cats = set(), set(), collections.defaultdict(list), collections.Counter()
    for i, e in enumerate(doc["traceEvents"]):
        ph = e.get("ph")
        if ph == "M":
            if e.get("name") == "process_name":
                named_p.add(e["pid"])
            elif e.get("name") == "thread_name":
                named_t.add((e["pid"], e["tid"]))
            if e.get("name") in ("process_name", "thread_name") and \
                    not isinstance(e.get("args", {}).get("name"), str):
                problems.append(f"metadata {i} has no name: {e}")
            continue
        if ph not in ("X", "i") or not isinstance(e.get("name"), str) or \
                not isinstance(e.get("ts"), Decimal) or "pid" not in e or "tid" not in e:
            problems.append(f"event {i} malformed: {e}")
            continue
        cats[e.get("cat")] += 1
        if e["pid"] not in named_p:
            problems.append(f"event {i}: process {e['pid']} not named before it")
        if e.get("cat") == "alert":
            continue
        if (e["pid"], e["tid"]) not in named_t:
            problems.append(f"event {i}: thread {e['tid']} not named before it")
        if ph == "X":
            if not isinstance(e.get("dur"), Decimal) or e["dur"] < 0:
                problems.append(f"slice {i} has no duration: {e}")
                continue
            tracks[(e["pid"], e["tid"])].append((e["ts"], e["ts"] + e["dur"], i, e))
    nested, inner = 0, collections.defaultdict(Decimal)
    for (pid, tid), sl in tracks.items():
        # the order a viewer builds the tree in: by start, the longer first, then file order
        sl.sort(key=lambda s: (s[0], -s[1], s[2]))
        stack = []
        for start, end, i, e in sl:
            while stack and stack[-1][1] <= start:
                stack.pop()
            if stack and end > stack[-1][1]:
                o = stack[-1][3]
                problems.append(f"track {pid}/{tid}: {e['name']} [{start}, {end}] overlaps "
                                f"{o['name']} [{o['ts']}, {o['ts'] + o['dur']}] partly")
                continue
            want = PARENTS.get(e["cat"])
            if e["cat"] == "callback" and "container" in e["args"]:
                want = {"notify"}  # a notify's (one outside an unmap has no container)
            if want and strict_parents:
                if not {s[3]["cat"] for s in stack} & want:
                    problems.append(f"track {pid}/{tid}: {e['name']} at {start} is inside "
                                    f"{[s[3]['name'] for s in stack]}, not in one of {sorted(want)}")
            nested += bool(stack)
            if stack and e["cat"] == "iotlb_sync" and stack[-1][3]["cat"] == "iommu_unmap":
                inner[stack[-1][2]] += e["dur"]
            stack.append((start, end, i, e))
            if e["cat"] == "iommu_unmap":
                inner[i] += 0  # a slice: its whole call, the flushes made inside nested in it
    # an IOMMU unmap's nested_flush_ns is the time of the flushes drawn inside it, exactly
    # (times are exact decimals of microseconds: ns * 1000)
    for i, flush_us in inner.items():
        e = doc["traceEvents"][i]
        got = e.get("args", {}).get("nested_flush_ns")
        if got is None or Decimal(got) != flush_us * 1000:
            problems.append(f"{e['name']} at {e['ts']}: nested_flush_ns {got}, the iotlb_sync "
                            f"slices inside it last {flush_us * 1000} ns")
        elif e["args"].get("unmap_ns") != e["args"].get("latency_ns") - got:
            problems.append(f"{e['name']} at {e['ts']}: unmap_ns {e['args'].get('unmap_ns')} "
                            f"!= latency_ns {e['args'].get('latency_ns')} - nested_flush_ns {got}")
    cats["flushes_in_unmaps"] = sum(1 for v in inner.values() if v)
    for op, n in (expect or {}).items():
        if cats.get(op, 0) != n:
            problems.append(f"{cats.get(op, 0)} {op} events in the trace, expected {n}")
    cats["nested"] = nested
    return problems[:20] + ([f"... {len(problems) - 20} more"] if len(problems) > 20 else []), cats


def col_width(span):
    """The documented rule (lib/timeline.h), independently."""
    decade = 1000
    while True:
        for step in (1, 2, 5):
            if span // (decade * step) < 200:
                return decade * step
        decade *= 10


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def check_heatmap(path, events, from_s=0):
    """Problems and the number of cells. events: report snoop -j's event documents of the
    same window; from_s: its --from."""
    problems = []
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        return [f"{path}: not XML: {e}"], 0
    with tempfile.TemporaryDirectory() as tmp:
        png = os.path.join(tmp, "heatmap.png")
        p = subprocess.run(["rsvg-convert", "-o", png, path], capture_output=True, text=True)
        if p.returncode != 0:
            problems.append(f"rsvg-convert: exit {p.returncode}: {p.stderr.strip()[:200]}")
        elif png_size(png) != (int(root.get("width")), int(root.get("height"))):
            problems.append(f"PNG {png_size(png)}, SVG {root.get('width')}x{root.get('height')}")
    ns = "{http://www.w3.org/2000/svg}"
    t0 = round(Decimal(str(from_s)) * 1000000000)
    timed = []
    for e in events:
        if e["op"] in UNTIMED or e["latency_ns"] == LAT_NONE:
            continue
        timed.append((e["op"], round(Decimal(repr(e["time_s"])) * 1000000000), e["latency_ns"]))
    want = collections.defaultdict(collections.Counter)
    if timed:
        width = col_width(max(t for _, t, _ in timed) - t0)
        if int(root.get("data-col-ns")) != width or int(root.get("data-t0-ns")) != t0:
            problems.append(f"columns of {root.get('data-col-ns')} ns from "
                            f"{root.get('data-t0-ns')}, expected {width} from {t0}")
        for op, t, lat in timed:
            want[op][((t - t0) // width, 0 if lat < 2 else lat.bit_length() - 1)] += 1
    got = {}
    for g in root.iter(ns + "g"):
        if g.get("class") != "panel":
            continue
        got[g.get("data-op")] = collections.Counter(
            {(int(r.get("data-col")), int(r.get("data-row"))): int(r.get("data-count"))
             for r in g.iter(ns + "rect") if r.get("data-count") is not None})
        if len(got[g.get("data-op")]) != int(g.get("data-cells")):
            problems.append(f"panel {g.get('data-op')}: data-cells {g.get('data-cells')}, "
                            f"{len(got[g.get('data-op')])} cells")
    for op in sorted(set(want) | set(got)):
        if want.get(op) != got.get(op):
            problems.append(f"heatmap {op}: {len(got.get(op, {}))} cells "
                            f"({sum(got.get(op, {}).values())} events), expected "
                            f"{len(want.get(op, {}))} ({sum(want.get(op, {}).values())})")
    return problems, sum(len(c) for c in got.values())


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "chrome":
        args, exp, window = sys.argv[3:], {}, False
        while args:
            a = args.pop(0)
            if a == "--window":
                window = True
            elif a == "--snoop" and args:
                with open(args.pop(0)) as f:
                    exp.update(collections.Counter(
                        d["op"] for d in map(json.loads, filter(str.strip, f))
                        if d.get("type") == "event"))
            else:
                exp[a.split("=")[0]] = int(a.split("=")[1])
        probs, cats = check_chrome(sys.argv[2], exp, strict_parents=not window)
        print(f"chrome trace: {dict(cats)}")
    elif len(sys.argv) in (4, 5) and sys.argv[1] == "heatmap":
        with open(sys.argv[3]) as f:
            evs = [json.loads(l) for l in f if l.strip()]
        probs, n = check_heatmap(sys.argv[2], [e for e in evs if e.get("type") == "event"],
                                 float(sys.argv[4]) if len(sys.argv) == 5 else 0)
        print(f"heatmap: {n} cells")
    else:
        sys.exit(__doc__.split("\n\n")[0])
    for p in probs:
        print(p)
    sys.exit(1 if probs else 0)
