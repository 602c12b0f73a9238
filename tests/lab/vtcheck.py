"""Shared host-side checks for lab tests of vfio-trace: what the workload's own counters say
the tracer must have seen, and an exact comparison with a tracer's total document."""
import json, lzma, os, shutil, subprocess, sys, tempfile


class Out:
    def __init__(self, path):
        self.path = path

    def read(self, name):
        try:
            with open(os.path.join(self.path, name)) as f:
                return f.read()
        except FileNotFoundError:
            fail(f"the guest wrote no {name}")

    def exists(self, name):
        return os.path.exists(os.path.join(self.path, name))

    def json_lines(self, name):
        return [json.loads(l) for l in self.read(name).splitlines() if l.strip()]

    def scenarios(self):
        return [l.split()[0] for l in self.read("scenarios").splitlines() if l.strip()]

    def notes(self):
        """The guest's notes (note KEY VALUE...) as a dict; empty without any."""
        if not self.exists("notes"):
            return {}
        return dict(l.split("=", 1) for l in self.read("notes").splitlines() if "=" in l)

    def guest_failure(self):
        """The guest's own fail=... note, if any."""
        if not self.exists("notes"):
            return None
        for line in self.read("notes").splitlines():
            if line.startswith("fail="):
                return line[5:]
        return None


def fail(msg):
    print(msg)
    sys.exit(1)


# The host's own build: what reads a recording the guest wrote.
VT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "vfio-trace")


def report(path, *args, rc=0, as_nobody=None):
    """build/vfio-trace report PATH --json ARGS: its JSON lines and its stderr (fail() on another
    exit status than rc). as_nobody (a scratch directory): run as user nobody when we are root,
    the binary and the file copied where nobody can read them, whatever the checkout's modes."""
    cmd = [VT, "report", path, "--json", *args]
    if as_nobody and os.geteuid() == 0 and shutil.which("setpriv"):
        os.chmod(as_nobody, 0o755)
        for f in (VT, path):
            shutil.copy(f, as_nobody)
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
               os.path.join(as_nobody, "vfio-trace"), "report",
               os.path.join(as_nobody, os.path.basename(path)), "--json", *args]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != rc:
        fail(f"report {os.path.basename(path)} {' '.join(args)}: exit {p.returncode}: "
             f"{p.stderr.strip()[:300]}")
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()], p.stderr


def merged_workloads(out, names):
    """One workload document for several runs: counters summed, containers concatenated."""
    m = {"totals": {}, "containers": []}
    for n in names:
        w = json.loads(out.read(f"{n}.wl.json"))
        for k, v in w["totals"].items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                m["totals"][k] = m["totals"].get(k, 0) + v
        m["containers"] += w["containers"]
    return m


def expected_ops(wl):
    """(op, field) -> count the tracer must report for one workload run."""
    t = wl["totals"]
    td = t.get("teardown_dma_expected", 0)
    return {
        ("unmap", "count"): t["unmap_dma_ok"] + t["unmap_dma_err"],
        ("unmap", "errors"): t["unmap_dma_err"],
        ("unmap", "bytes"): t["unmap_bytes_unmapped"],
        ("map", "count"): t["map_dma_ok"] + t["map_dma_err"],
        ("map", "bytes"): t["bytes_mapped"],
        # vfio_remove_dma also runs for the vfio_dma a teardown removes
        ("remove_dma", "count"): t["vfio_dma_removed"] + td,
        ("unmap_unpin", "count"): t["vfio_dma_removed"] + td,
        ("notify", "count"): t["notifies_expected"],
        ("notify", "bytes"): t["notify_bytes_expected"],
        ("retry", "count"): t["retries_expected"],
        ("callback", "count"): t["dma_unmap_calls_expected"],
        ("callback", "bytes"): t["dma_unmap_bytes_expected"],
        ("pin", "count"): t["pin_ok"] + t["pin_err"],
        ("pin", "errors"): t["pin_err"],
        ("pin", "einval"): t["pin_einval"],
        ("pin", "pages"): t["pages_pinned"],
        ("unpin", "count"): t["unpin_calls_expected"],
        ("unpin", "pages"): t["pages_unpinned_expected"],
        ("register", "count"): t["register_expected"],
        ("unregister", "count"): t["unregister_expected"],
        ("teardown", "count"): t.get("teardowns_expected", 0),
        ("teardown", "mappings"): td,
        ("teardown", "bytes"): t.get("teardown_bytes_expected", 0),
    }


# (op, field of expected_ops) -> vfio-trace export's counter (vfio_trace_<name>)
EXPORT_COUNTERS = {
    ("unmap", "count"): "unmaps_total", ("unmap", "errors"): "unmap_errors_total",
    ("unmap", "bytes"): "unmapped_bytes_total", ("map", "count"): "maps_total",
    ("map", "bytes"): "mapped_bytes_total", ("notify", "count"): "notifies_total",
    ("notify", "bytes"): "notify_bytes_total", ("retry", "count"): "notify_retries_total",
    ("callback", "count"): "dma_unmap_callbacks_total",
    ("callback", "bytes"): "dma_unmap_callback_bytes_total", ("pin", "count"): "pins_total",
    ("pin", "errors"): "pin_errors_total", ("pin", "einval"): "pin_einval_total",
    ("pin", "pages"): "pinned_pages_total", ("unpin", "count"): "unpins_total",
    ("unpin", "pages"): "unpinned_pages_total", ("register", "count"): "device_registrations_total",
    ("unregister", "count"): "device_unregistrations_total", ("teardown", "count"): "teardowns_total",
    ("teardown", "mappings"): "teardown_mappings_total", ("teardown", "bytes"): "teardown_bytes_total",
}


def kernel_version(out):
    """(major, minor) of the kernel a lab test ran on (its output is out/<kver>/<test>)."""
    kver = os.path.basename(os.path.dirname(os.path.abspath(out.path)))
    return tuple(int(x) for x in kver.split("-")[0].split(".")[:2])


def expected_lock_acquisitions(w, kernel):
    """(iommu->lock, device_list_lock) acquisitions of a workload run on kernel (major, minor),
    per operation from drivers/vfio/vfio_iommu_type1.c (6.1 and 6.12 alike):
      iommu->lock: MAP_DMA 1, UNMAP_DMA 1 + 1 per notify (taken back after the callbacks),
        type1 pin 1, type1 unpin 1 (the callbacks' unpins), register 1, unregister 1,
        detach_group 1 per group at teardown;
      device_list_lock: notify 1, register 1, unregister 1.
    A pin through a device without dma_unmap reaches type1 (and its -EINVAL) on 6.1 only:
    from 6.2 on vfio_pin_pages (drivers/vfio/vfio_main.c) refuses it first."""
    t = w["totals"]
    groups = sum(len(c["groups"]) for c in w["containers"])
    pins_reaching_type1 = t["pin_ok"] + t["pin_err"]
    if w["params"].get("nocb") and kernel >= (6, 2):
        pins_reaching_type1 -= t["pin_einval"]
    iommu = (t["map_dma_ok"] + t["map_dma_err"] + t["unmap_dma_ok"] + t["unmap_dma_err"] +
             t["notifies_expected"] + pins_reaching_type1 + t["unpin_calls_expected"] +
             t["register_expected"] + t["unregister_expected"] + groups)
    dlist = t["notifies_expected"] + t["register_expected"] + t["unregister_expected"]
    return iommu, dlist


def prom_sum(text, metric):
    """The sum of every sample of vfio_trace_<metric> in a Prometheus text exposition."""
    name = "vfio_trace_" + metric
    return sum(int(float(l.rsplit(" ", 1)[1])) for l in text.splitlines()
               if l.startswith(name + "{") or l.startswith(name + " "))


def expected_devices(wl):
    """device name -> expected dma_unmap callbacks and bytes."""
    devs = {}
    for c in wl["containers"]:
        for d in c["devices"]:
            dc = d["counters"]
            e = devs.setdefault(d["name"], {"callback": 0, "callback_bytes": 0})
            e["callback"] += dc["dma_unmap_calls_expected"]
            e["callback_bytes"] += dc["dma_unmap_bytes_expected"]
    return devs


def expected_events(wl):
    """Events snoop must deliver (shown + dropped) for one workload run."""
    ops = expected_ops(wl)
    return sum(ops[(op, "count")] for op in ("unmap", "map", "remove_dma", "unmap_unpin",
                                            "notify", "retry", "callback", "pin", "unpin",
                                            "register", "unregister", "teardown"))


def compare_total(name, total, wl):
    """Problems (strings) between a tracer's {"type":"total"} document and the workload."""
    problems = []
    for (op, field), want in expected_ops(wl).items():
        got = total["ops"][op].get(field)
        if got != want:
            problems.append(f"{name}: {op}.{field} = {got}, workload says {want}")
    bydev = {d["name"]: d for d in total["devices"]}
    for dev, e in expected_devices(wl).items():
        if e["callback"] == 0 and dev not in bydev:
            continue
        d = bydev.get(dev)
        if d is None:
            problems.append(f"{name}: device {dev} missing from the tracer's devices")
            continue
        cb = d["ops"]["callback"]
        if cb["count"] != e["callback"] or cb["bytes"] != e["callback_bytes"]:
            problems.append(f"{name}: {dev} callbacks {cb['count']}/{cb['bytes']}B, "
                            f"expected {e['callback']}/{e['callback_bytes']}B")
    if any(total["lost"].values()):
        problems.append(f"{name}: tracer lost data: {total['lost']}")
    return problems


def run_ok(out, name, tracer="trace"):
    """None, or why the workload or the tracer of scenario `name` did not exit 0."""
    for what, rc, err in (("workload", f"{name}.wl.rc", f"{name}.wl.err"),
                          ("tracer", f"{name}.{tracer}.rc", f"{name}.{tracer}.err")):
        code = out.read(rc).strip()
        if code != "0":
            return f"{name}: {what} exit {code}: {out.read(err)[-300:].strip()}"
    # The lab kernels take fentry: a fallback to kprobes is a verifier rejection (it happened:
    # a BTF pointer in a hash), not a choice, even though the numbers would still be right.
    fell = [l for l in out.read(f"{name}.{tracer}.err").splitlines()
            if "fentry programs did not" in l]
    if fell:
        return f"{name}: {fell[0].strip()}"
    # No false deadlock alarm in any ordinary scenario.
    alarms = [l for l in out.read(f"{name}.{tracer}.err").splitlines() if "DEADLOCK" in l]
    if alarms:
        return f"{name}: false alarm: {alarms[0]}"
    return None


def finish(problems):
    if problems:
        more = f" (+{len(problems) - 6} more)" if len(problems) > 6 else ""
        fail("; ".join(problems[:6]) + more)
    sys.exit(0)


def kernel_config(out, kver, option):
    """An option's value in the kernel's own config (build/lab/k/<kver>/boot/config-<kver>,
    which tests/lab/fetch and build-kernel both keep), or None when it is not set."""
    path = os.path.join(out, "..", "..", "..", "k", kver, "boot", "config-" + kver)
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(option + "="):
                    return line.strip().split("=", 1)[1]
    except FileNotFoundError:
        fail(f"no kernel config {path}")
    return None


def has_kprobe_multi(out, kver):
    """The kernel has kprobe_multi links (fprobe): what a command without a count attaches
    with (lib/loader.c), checked against the kernel's config, not against vfio-trace."""
    return kernel_config(out, kver, "CONFIG_FPROBE") == "y"


def type1_functions(out, kver):
    """Function symbols of the kernel's vfio_iommu_type1.ko (build/lab/k/<kver>/lib/modules),
    out: the run's output directory (build/lab/out/<kver>/<test>)."""
    mdir = os.path.join(out, "..", "..", "..", "k", kver, "lib", "modules", kver)
    for root, _, files in os.walk(mdir):
        for f in files:
            if f.startswith("vfio_iommu_type1.ko"):
                path = os.path.join(root, f)
                if f.endswith(".xz"):
                    with lzma.open(path) as z, tempfile.NamedTemporaryFile(suffix=".ko") as t:
                        t.write(z.read())
                        t.flush()
                        syms = subprocess.run(["nm", t.name], capture_output=True, text=True).stdout
                elif f.endswith(".ko"):
                    syms = subprocess.run(["nm", path], capture_output=True, text=True).stdout
                else:
                    fail(f"cannot read {path} (only .ko and .ko.xz)")
                return {l.split()[2] for l in syms.splitlines() if len(l.split()) == 3 and l.split()[1] in "tT"}
    fail(f"no vfio_iommu_type1.ko under {mdir}")
