// SPDX-License-Identifier: GPL-2.0
/*
 * Alerts as data (lib/storm.h): each alert is one JSON object; its text line (stderr live,
 * stdout in report), its syslog line and the -j streams' record are all made from that
 * object, so the live and the recorded alert cannot say different things.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include "storm.h"
#include "report.h"

static const char *jstr(json_object *a, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(a, key, &v) ? json_object_get_string(v) : "";
}

static uint64_t jnum(json_object *a, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(a, key, &v) ? (uint64_t)json_object_get_int64(v) : 0;
}

static bool jhas(json_object *a, const char *key)
{
	return json_object_object_get_ex(a, key, NULL);
}

json_object *vt_alert_new(const char *kind, uint64_t ts)
{
	json_object *a = json_object_new_object();

	json_object_object_add(a, "type", json_object_new_string("alert"));
	json_object_object_add(a, "alert", json_object_new_string(kind));
	json_object_object_add(a, "ts_ns", json_object_new_uint64(ts));
	return a;
}

json_object *vt_alert_storm(const struct vt_storm_hit *h, const struct vt_storm_cfg *cfg,
			    const char *comm, const char *vm)
{
	json_object *a = vt_alert_new("STORM", h->ts), *why = json_object_new_array();
	json_object *thr = json_object_new_object();

	if (h->why & VT_STORM_BY_RATE)
		json_object_array_add(why, json_object_new_string("rate"));
	if (h->why & VT_STORM_BY_BYTES)
		json_object_array_add(why, json_object_new_string("bytes"));
	if (h->why & VT_STORM_BY_P99)
		json_object_array_add(why, json_object_new_string("p99"));
	json_object_object_add(a, "pid", json_object_new_int64(h->tgid));
	json_object_object_add(a, "comm", json_object_new_string(comm));
	json_object_object_add(a, "vm", json_object_new_string(vm));
	json_object_object_add(a, "why", why);
	json_object_object_add(a, "window_s", json_object_new_double(h->secs));
	json_object_object_add(a, "unmaps", json_object_new_uint64(h->unmaps));
	json_object_object_add(a, "bytes", json_object_new_uint64(h->bytes));
	json_object_object_add(a, "unmaps_per_s",
			       json_object_new_double(h->secs ? h->unmaps / h->secs : 0));
	json_object_object_add(a, "bytes_per_s",
			       json_object_new_double(h->secs ? h->bytes / h->secs : 0));
	json_object_object_add(a, "p99_ns", json_object_new_uint64(h->p99_ns));
	json_object_object_add(a, "max_ns", json_object_new_uint64(h->max_ns));
	json_object_object_add(a, "total_unmaps", json_object_new_uint64(h->total_unmaps));
	json_object_object_add(a, "total_bytes", json_object_new_uint64(h->total_bytes));
	json_object_object_add(a, "nth", json_object_new_int(h->nth));
	json_object_object_add(thr, "rate", json_object_new_double(cfg->rate));
	json_object_object_add(thr, "bytes", json_object_new_uint64(cfg->bytes));
	json_object_object_add(thr, "p99_ns", json_object_new_uint64(cfg->p99_ns));
	json_object_object_add(thr, "quiet_s", json_object_new_double(cfg->quiet));
	json_object_object_add(a, "thresholds", thr);
	json_object_object_add(a, "threads", json_object_new_array());
	return a;
}

void vt_alert_add_event(json_object *a, const struct vtr_event *e)
{
	char comm[32], vm[128], hex[24];

	vt_proc_ident(e->tgid, comm, sizeof(comm), vm, sizeof(vm));
	snprintf(hex, sizeof(hex), "%#llx", (unsigned long long)e->container);
	json_object_object_add(a, "container", json_object_new_string(hex));
	json_object_object_add(a, "pid", json_object_new_int64(e->tgid));
	json_object_object_add(a, "comm", json_object_new_string(comm));
	json_object_object_add(a, "vm", json_object_new_string(vm));
	json_object_object_add(a, "tid", json_object_new_int64(e->pid));
	json_object_object_add(
		a, "thread_comm",
		json_object_new_string_len(e->comm, strnlen(e->comm, sizeof(e->comm))));
}

void vt_alert_add_thread(json_object *a, uint32_t tid, const char *comm, const char *stack)
{
	json_object *threads, *t = json_object_new_object();

	if (!json_object_object_get_ex(a, "threads", &threads)) {
		threads = json_object_new_array();
		json_object_object_add(a, "threads", threads);
	}
	json_object_object_add(t, "tid", json_object_new_int64(tid));
	json_object_object_add(t, "comm", json_object_new_string(comm));
	if (stack) {
		json_object *lines = json_object_new_array();

		for (const char *p = stack; *p;) {
			size_t l = strcspn(p, "\n");

			if (l)
				json_object_array_add(lines, json_object_new_string_len(p, l));
			p += l + !!p[l];
		}
		json_object_object_add(t, "stack", lines);
	}
	json_object_array_add(threads, t);
}

/* A small /proc file into buf (NUL-terminated), its length; -1 with errno. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, got = 0;

	if (fd < 0)
		return -1;
	while (got < (ssize_t)len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	n = got ? got : (n < 0 ? -1 : 0);
	close(fd);
	buf[got] = 0;
	return n;
}

/* Whether thread tid's state in /proc/<tgid>/task/<tid>/stat is R (running or runnable). */
static bool thread_runnable(uint32_t tgid, uint32_t tid)
{
	char path[64], stat[512];
	const char *p;

	snprintf(path, sizeof(path), "/proc/%u/task/%u/stat", tgid, tid);
	if (read_small(path, stat, sizeof(stat)) <= 0)
		return false;
	p = strrchr(stat, ')'); /* the comm before it may hold anything */
	return p && p[1] == ' ' && p[2] == 'R';
}

void vt_alert_add_proc_threads(json_object *a, uint32_t tgid, unsigned max)
{
	char path[64], comm[64], stack[4096];
	unsigned n = 0, more = 0;
	struct dirent *de;
	DIR *d;

	json_object_object_add(a, "stacks_from", json_object_new_string("/proc/<tid>/stack"));
	snprintf(path, sizeof(path), "/proc/%u/task", tgid);
	d = opendir(path);
	if (!d)
		return; /* gone already: the alert names it, without threads */
	while ((de = readdir(d))) {
		uint32_t tid = strtoul(de->d_name, NULL, 10);
		ssize_t l;

		if (!tid)
			continue;
		if (n++ >= max) {
			more++;
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%u/task/%u/comm", tgid, tid);
		l = read_small(path, comm, sizeof(comm));
		if (l > 0 && comm[l - 1] == '\n')
			comm[l - 1] = 0;
		if (l <= 0)
			strcpy(comm, "?");
		/* A runnable thread's stack is not read: inside a kretprobed function (the ftrace
		 * backend's probes) the unwinder makes 6.1 WARN in rethook_find_ret_addr (tsk !=
		 * current && task_is_running), seen in the lab's ftrace test; as the BPF side's
		 * task iterator, it says "running" instead. */
		if (thread_runnable(tgid, tid)) {
			json_object *threads;

			vt_alert_add_thread(a, tid, comm, NULL);
			if (json_object_object_get_ex(a, "threads", &threads))
				json_object_object_add(
					json_object_array_get_idx(
						threads, json_object_array_length(threads) - 1),
					"running", json_object_new_boolean(1));
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%u/task/%u/stack", tgid, tid);
		/* root only; a thread running on a CPU right now shows an empty stack */
		l = read_small(path, stack, sizeof(stack));
		vt_alert_add_thread(a, tid, comm, l >= 0 ? stack : NULL);
	}
	closedir(d);
	if (more)
		json_object_object_add(a, "threads_not_shown", json_object_new_int(more));
}

static void storm_text(json_object *a, char *buf, size_t len)
{
	char comm[VT_ESC_SIZE(32)], vm[VT_ESC_SIZE(128)], why[32] = "", p99[16];
	json_object *w, *th, *x;
	size_t o;
	int nthreads = 0;

	if (json_object_object_get_ex(a, "why", &w))
		for (size_t i = 0; i < json_object_array_length(w); i++)
			snprintf(why + strlen(why), sizeof(why) - strlen(why), "%s%s", i ? "+" : "",
				 json_object_get_string(json_object_array_get_idx(w, i)));
	if (json_object_object_get_ex(a, "threads", &th))
		nthreads = json_object_array_length(th);
	o = snprintf(
		buf, len,
		"STORM in process %llu (%s)%s%s: %llu UNMAP_DMA in %.2f s (%.0f/s, %.1f MiB/s, "
		"p99 %s) crossed the %s threshold; %llu unmaps, %llu bytes since tracing began; "
		"%d thread%s",
		(unsigned long long)jnum(a, "pid"), vt_esc(comm, sizeof(comm), jstr(a, "comm"), 32),
		*jstr(a, "vm") ? " VM " : "", vt_esc(vm, sizeof(vm), jstr(a, "vm"), 128),
		(unsigned long long)jnum(a, "unmaps"),
		json_object_object_get_ex(a, "window_s", &x) ? json_object_get_double(x) : 0,
		json_object_object_get_ex(a, "unmaps_per_s", &x) ? json_object_get_double(x) : 0,
		(json_object_object_get_ex(a, "bytes_per_s", &x) ? json_object_get_double(x) : 0) /
			1048576.0,
		vt_fmt_ns(p99, sizeof(p99), jnum(a, "p99_ns")), why,
		(unsigned long long)jnum(a, "total_unmaps"),
		(unsigned long long)jnum(a, "total_bytes"), nthreads, nthreads == 1 ? "" : "s");
	/* each thread: tid (comm) and its innermost kernel frames */
	for (int i = 0; i < nthreads && o < len; i++) {
		json_object *t = json_object_array_get_idx(th, i), *st;
		char tc[VT_ESC_SIZE(32)], fr[VT_ESC_SIZE(64)];

		o += snprintf(buf + o, len - o, "%s %llu (%s)", i ? "," : ":",
			      (unsigned long long)jnum(t, "tid"),
			      vt_esc(tc, sizeof(tc), jstr(t, "comm"), 32));
		if (json_object_object_get_ex(t, "stack", &st) && json_object_array_length(st) &&
		    o < len) {
			/* "vfio_remove_dma+0x2a [vfio_iommu_type1]" (bpf) or "[<0>] vfio_remove_dma
			 * +0x2a/0x80 [vfio_iommu_type1]" (/proc): the symbol */
			const char *f = json_object_get_string(json_object_array_get_idx(st, 0));
			const char *sym = f[0] == '[' && strchr(f, ' ') ? strchr(f, ' ') + 1 : f;

			o += snprintf(buf + o, len - o, " in %s",
				      vt_esc(fr, sizeof(fr), sym, strcspn(sym, " ")));
		}
	}
}

char *vt_alert_text(json_object *a, char *buf, size_t len)
{
	const char *kind = jstr(a, "alert");
	char c1[VT_ESC_SIZE(32)], c2[VT_ESC_SIZE(32)], vm[VT_ESC_SIZE(128)];

	if (!strcmp(kind, "STORM")) {
		storm_text(a, buf, len);
	} else if (!strcmp(kind, "RETRY_STORM") && jhas(a, "more")) {
		snprintf(buf, len,
			 "%llu more retry storms in container %s since the last line about it "
			 "(one line a second per container)",
			 (unsigned long long)jnum(a, "more"), jstr(a, "container"));
	} else if (!strcmp(kind, "RETRY_STORM")) {
		snprintf(
			buf, len,
			"RETRY STORM in container %s: UNMAP_DMA by thread %llu (%s) notified the "
			"vfio_dma at iova %s (%llu bytes) %llu times in a row: a driver's dma_unmap "
			"callback does not unpin it, and the kernel BUG()s after 10",
			jstr(a, "container"), (unsigned long long)jnum(a, "tid"),
			vt_esc(c1, sizeof(c1), jstr(a, "thread_comm"), 32), jstr(a, "iova"),
			(unsigned long long)jnum(a, "size"),
			(unsigned long long)jnum(a, "notifies"));
	} else if (!strcmp(kind, "RETRY_LIMIT")) {
		snprintf(
			buf, len,
			"RETRY LIMIT in IOAS %s: IOMMU_IOAS_UNMAP by thread %llu (%s) gave up after "
			"%llu notifies without a gap between areas (the last: iova %s, %llu bytes) "
			"and failed with -EDEADLOCK (a kernel WARN); the areas not reached stay "
			"mapped and pinned",
			jstr(a, "ioas"), (unsigned long long)jnum(a, "tid"),
			vt_esc(c1, sizeof(c1), jstr(a, "thread_comm"), 32),
			(unsigned long long)jnum(a, "notifies"), jstr(a, "iova"),
			(unsigned long long)jnum(a, "size"));
	} else if (!strcmp(kind, "DEADLOCK")) {
		snprintf(
			buf, len,
			"DEADLOCK in container %s%s%s: thread %llu (%s) holds %s and waits for %s, "
			"held by thread %lld (%s), which waits for %s (alerted %lld ms after the "
			"cycle closed)",
			jstr(a, "container"), *jstr(a, "vm") ? " of VM " : "",
			vt_esc(vm, sizeof(vm), jstr(a, "vm"), 128),
			(unsigned long long)jnum(a, "tid"),
			vt_esc(c1, sizeof(c1), jstr(a, "thread_comm"), 32), jstr(a, "holds"),
			jstr(a, "waits_for"), (long long)jnum(a, "other_tid"),
			vt_esc(c2, sizeof(c2), jstr(a, "other_comm"), 32), jstr(a, "holds"),
			(long long)jnum(a, "alerted_ms"));
	} else {
		snprintf(buf, len, "%s alert", kind);
	}
	return buf;
}

void vt_alert_emit(const struct vt_alert_out *out, json_object *a)
{
	char text[4096];

	if (out->text_stderr || out->syslog)
		vt_alert_text(a, text, sizeof(text));
	if (out->text_stderr) {
		if (!strcmp(jstr(a, "alert"), "DEADLOCK")) /* the loudest: no "warning:" */
			fprintf(stderr, "%s: %s\n", vt_prog, text);
		else
			vt_warn("%s", text);
	}
	if (out->syslog) {
		/* the names in text are escaped already: one line, no control bytes */
		openlog("vfio-trace", LOG_PID, LOG_DAEMON);
		syslog(LOG_WARNING, "%s", text);
	}
	if (out->json_stdout)
		vt_json_print(stdout, a, false);
}

void vt_tracer_alert(const struct vt_tracer_opts *o, json_object *a)
{
	struct vt_alert_out out = o->alert_out;

	out.text_stderr = true;
	vt_alert_emit(&out, a);
	if (o->on_alert)
		o->on_alert(o->ctx, a);
}

void vt_deadlock_alert(const struct vt_tracer_opts *o, const struct vtr_event *e)
{
	const char *held = e->size == VT_KIND_IOMMU_LOCK ? "device_list_lock" : "iommu->lock";
	const char *wanted = e->size == VT_KIND_IOMMU_LOCK ? "iommu->lock" : "device_list_lock";
	json_object *a = vt_alert_new("DEADLOCK", e->ts);

	vt_alert_add_event(a, e);
	json_object_object_add(a, "holds", json_object_new_string(held));
	json_object_object_add(a, "waits_for", json_object_new_string(wanted));
	json_object_object_add(a, "other_tid", json_object_new_int64(e->ret));
	json_object_object_add(a, "other_comm",
			       json_object_new_string_len(e->dev, strnlen(e->dev, 16)));
	json_object_object_add(a, "alerted_ms",
			       json_object_new_int64((int64_t)((vt_now_ns() - e->ts) / 1e6 + 0.5)));
	vt_tracer_alert(o, a);
	json_object_put(a);
}
