// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-workload: drive the VFIO type1 DMA-unmap path through the vfio_dmatest test module with
 * exact, known counts, so that tracers (vfio-trace, tracefs) can be checked against them.
 *
 * One process per container (forked), each with --devices devices and --threads cycle threads.
 * The parent coordinates (--ready-file, --hold, --go-file, --done-file), reads the module's
 * per-device sysfs counters before and after, and prints one JSON document.
 * `vfio-workload --help` documents the CLI and the JSON.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "../kmod/vfio_dmatest.h"
#include "wl.h"

/* ---- parent ------------------------------------------------------------------------------- */

static volatile sig_atomic_t parent_stop;
static pid_t child_pids[WL_MAX_CONTAINERS];
static unsigned nchildren;

static void on_signal_child(int sig)
{
	(void)sig;
	wl_stop = 1;
}

static void on_signal_parent(int sig)
{
	(void)sig;
	parent_stop = 1;
	for (unsigned i = 0; i < nchildren; i++)
		if (child_pids[i] > 0)
			kill(child_pids[i], SIGTERM);
}

static void install(void (*h)(int))
{
	struct sigaction sa = { .sa_handler = h };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= w;
	}
	return 0;
}

/* one byte from a child, -1 on EOF/error */
static int read_byte(int fd)
{
	unsigned char b;

	for (;;) {
		ssize_t r = read(fd, &b, 1);

		if (r == 1)
			return b;
		if (r < 0 && errno == EINTR)
			continue;
		return -1;
	}
}

static char *read_rest(int fd)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	for (;;) {
		ssize_t r;

		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += r;
	}
	buf[len] = 0;
	return buf;
}

static void sleep_s(double s, volatile sig_atomic_t *stop)
{
	double end = now_s() + s;

	while (!*stop) {
		double left = end - now_s();
		struct timespec ts;

		if (left <= 0)
			break;
		if (left > 0.1)
			left = 0.1;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(left * 1e9);
		nanosleep(&ts, NULL);
	}
}

static int touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0) {
		fprintf(stderr, "vfio-workload: error: cannot create %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

static void progress(const struct options *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void progress(const struct options *o, const char *fmt, ...)
{
	va_list ap;

	if (o->quiet)
		return;
	fputs("vfio-workload: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The child: one container. Protocol on `wfd`: 'R' (set up) or 'E' (setup failed), then 'D'
 * (cycles done), then the container's JSON, then EOF. On `rfd` it waits for 'G' (go); EOF means
 * abort (tear down without cycles). */
static __attribute__((noreturn)) void child_main(const struct options *o, unsigned index, int wfd,
						 int rfd)
{
	struct wcontainer *c = calloc(1, sizeof(*c));
	bool ok, go = false;
	const char *js;

	install(on_signal_child);
	if (!c) {
		fprintf(stderr, "vfio-workload: container %u: error: out of memory\n", index);
		_exit(1);
	}
	ok = wc_setup(c, o, index) == 0;
	write_all(wfd, ok ? "R" : "E", 1);
	if (ok)
		go = read_byte(rfd) == 'G';
	if (go && !wl_stop)
		wc_run(c);
	write_all(wfd, "D", 1);
	if (go && o->hold > 0)
		sleep_s(o->hold, &wl_stop);
	wc_teardown(c);
	js = json_object_to_json_string_ext(wc_to_json(c), JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE);
	write_all(wfd, js, strlen(js));
	_exit(atomic_load(&c->failed) ? 1 : 0);
}

static json_object *params_json(const struct options *o)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "scenario", json_object_new_string(scenario_names[o->scenario]));
	json_object_object_add(p, "devices", json_object_new_int(o->devices));
	json_object_object_add(p, "first_dev", json_object_new_int(o->first_dev));
	json_object_object_add(p, "driver", json_object_new_string(o->driver));
	json_object_object_add(p, "leave_mapped", json_object_new_int(o->leave_mapped));
	json_object_object_add(p, "containers", json_object_new_int(o->containers));
	json_object_object_add(p, "threads", json_object_new_int(o->threads));
	json_object_object_add(p, "iterations", json_object_new_int64(o->iterations));
	json_object_object_add(p, "duration_s", json_object_new_double(o->duration));
	json_object_object_add(p, "rate", json_object_new_double(o->rate));
	json_object_object_add(p, "maps", json_object_new_int(o->maps));
	json_object_object_add(p, "map_size", json_object_new_int64(o->map_size));
	json_object_object_add(p, "pin_pages", json_object_new_int(o->pin_pages));
	json_object_object_add(
		p, "unmap",
		json_object_new_string(o->unmap_mode == UNMAP_RANGE ? "range" : "each"));
	json_object_object_add(p, "unpin", json_object_new_boolean(o->unpin));
	json_object_object_add(p, "bad_unmaps", json_object_new_boolean(o->bad_unmaps));
	json_object_object_add(p, "delay_us", json_object_new_int(o->delay_us));
	json_object_object_add(p, "fault_k", json_object_new_int(o->fault_k));
	json_object_object_add(p, "nocb", json_object_new_boolean(o->nocb));
	json_object_object_add(p, "iommufd", json_object_new_boolean(o->iommufd));
	json_object_object_add(p, "past_limit", json_object_new_boolean(o->past_limit));
	json_object_object_add(p, "fds", json_object_new_int(o->fds));
	json_object_object_add(p, "verify", json_object_new_boolean(o->verify));
	json_object_object_add(p, "hold_s", json_object_new_double(o->hold));
	json_object_object_add(p, "page_size", json_object_new_int(sysconf(_SC_PAGESIZE)));
	json_object_object_add(p, "iova_base", json_object_new_int64(WL_IOVA_BASE));
	return p;
}

static int64_t jget(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

static void add_into(json_object *tot, json_object *cnt)
{
	json_object_object_foreach(cnt, k, v) {
		json_object_object_add(
			tot, k, json_object_new_int64(jget(tot, k) + json_object_get_int64(v)));
	}
}

static void device_name(const struct options *o, unsigned i, unsigned k, char *buf, size_t n)
{
	snprintf(buf, n, "%s.%u", o->nocb ? "vfio_dmatest_nocb" : o->driver,
		 o->first_dev + i * o->devices + k);
}

static int emit(const struct options *o, json_object *doc)
{
	const char *s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
								    JSON_C_TO_STRING_NOSLASHESCAPE |
								    JSON_C_TO_STRING_SPACED);
	char tmp[4096];
	FILE *f;

	if (!o->json_path) {
		printf("%s\n", s);
		return fflush(stdout) ? -1 : 0;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", o->json_path, (int)getpid());
	f = fopen(tmp, "we");
	if (!f || fprintf(f, "%s\n", s) < 0 || fclose(f) || rename(tmp, o->json_path)) {
		fprintf(stderr, "vfio-workload: error: cannot write %s: %s\n", o->json_path,
			strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	int c2p[WL_MAX_CONTAINERS][2], p2c[WL_MAX_CONTAINERS][2];
	json_object *doc, *conts, *totals, *errors, *module, *mcheck, *mism;
	json_object *before[WL_MAX_CONTAINERS][WL_MAX_DEVICES] = { { NULL } };
	bool failed = false, all_ready = true, go = false, interrupted = false;
	char err[600], name[64];
	struct utsname un;
	double t0;

	parse_args(argc, argv, &o);
	if (o.scenario == SC_DEADLOCK || o.scenario == SC_SLOW_NOTIFY) {
		install(on_signal_child);
		return hang_main(&o);
	}
	if (o.scenario == SC_PCI) {
		install(on_signal_child);
		return pci_main(&o);
	}
	t0 = now_s();
	errors = json_object_new_array();
	setvbuf(stderr, NULL, _IOLBF, 0);
	progress(&o, "%s: %u container(s) x %u device(s), %u thread(s), %llu iteration(s)%s",
		 scenario_names[o.scenario], o.containers, o.devices, o.threads,
		 (unsigned long long)o.iterations, o.duration > 0 ? " (or until --duration)" : "");

	if (o.module_stats)
		for (unsigned i = 0; i < o.containers; i++)
			for (unsigned k = 0; k < o.devices; k++) {
				device_name(&o, i, k, name, sizeof(name));
				before[i][k] = modstats_read(name, err, sizeof(err));
				if (!before[i][k]) {
					fprintf(stderr,
						"vfio-workload: error: %s (is vfio_dmatest loaded with "
						"enough devices?)\n",
						err);
					return 1;
				}
			}

	install(on_signal_parent);
	fflush(NULL);
	for (unsigned i = 0; i < o.containers; i++) {
		pid_t pid;

		if (pipe(c2p[i]) || pipe(p2c[i])) {
			fprintf(stderr, "vfio-workload: error: pipe: %s\n", strerror(errno));
			return 1;
		}
		pid = fork();
		if (pid < 0) {
			fprintf(stderr, "vfio-workload: error: fork: %s\n", strerror(errno));
			failed = true;
			close(c2p[i][0]);
			close(c2p[i][1]);
			close(p2c[i][0]);
			close(p2c[i][1]);
			break;
		}
		if (pid == 0) {
			for (unsigned j = 0; j < i; j++) {
				close(c2p[j][0]);
				close(p2c[j][1]);
			}
			close(c2p[i][0]);
			close(p2c[i][1]);
			child_main(&o, i, c2p[i][1], p2c[i][0]);
		}
		close(c2p[i][1]);
		close(p2c[i][0]);
		child_pids[nchildren++] = pid;
	}

	for (unsigned i = 0; i < nchildren; i++)
		if (read_byte(c2p[i][0]) != 'R')
			all_ready = false;
	if (all_ready && !failed && !parent_stop) {
		progress(&o, "set up (device fds open)%s",
			 o.go_file ? ", waiting for the go file" : "");
		go = true;
		if (o.ready_file && touch(o.ready_file))
			go = false;
		if (go && o.hold > 0)
			sleep_s(o.hold, &parent_stop);
		if (go && o.go_file) {
			double end = now_s() + o.go_timeout;

			while (access(o.go_file, F_OK) && !parent_stop) {
				if (now_s() > end) {
					fprintf(stderr,
						"vfio-workload: error: %s did not appear within %gs\n",
						o.go_file, o.go_timeout);
					json_object_array_add(
						errors, json_object_new_string("go file timeout"));
					go = false;
					break;
				}
				sleep_s(0.02, &parent_stop);
			}
		}
		if (parent_stop)
			go = false;
	}
	for (unsigned i = 0; i < nchildren; i++) {
		if (go)
			write_all(p2c[i][1], "G", 1);
		close(p2c[i][1]);
	}
	if (!go)
		failed = true;
	for (unsigned i = 0; i < nchildren; i++)
		read_byte(c2p[i][0]); /* 'D' (or EOF if the child died) */
	if (go) {
		progress(&o, "cycles done");
		if (o.done_file && touch(o.done_file))
			failed = true;
	}

	doc = json_object_new_object();
	conts = json_object_new_array();
	totals = json_object_new_object();
	for (unsigned i = 0; i < o.containers; i++) {
		json_object *cj = NULL;
		char *txt = NULL;
		int st = 0;

		if (i < nchildren) {
			txt = read_rest(c2p[i][0]);
			close(c2p[i][0]);
			while (waitpid(child_pids[i], &st, 0) < 0 && errno == EINTR)
				;
			child_pids[i] = 0;
			if (!WIFEXITED(st) || WEXITSTATUS(st)) {
				snprintf(err, sizeof(err), "container %u: process %s %d", i,
					 WIFEXITED(st) ? "exited with" : "killed by signal",
					 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
				json_object_array_add(errors, json_object_new_string(err));
				failed = true;
			}
			cj = txt && *txt ? json_tokener_parse(txt) : NULL;
			free(txt);
		}
		if (!cj) {
			snprintf(err, sizeof(err), "container %u: no report", i);
			fprintf(stderr, "vfio-workload: error: %s\n", err);
			json_object_array_add(errors, json_object_new_string(err));
			failed = true;
			continue;
		}
		{
			json_object *v, *devs;

			if (json_object_object_get_ex(cj, "error", &v)) {
				snprintf(err, sizeof(err), "container %u: %s", i,
					 json_object_get_string(v));
				json_object_array_add(errors, json_object_new_string(err));
				failed = true;
			}
			if (json_object_object_get_ex(cj, "interrupted", &v) &&
			    json_object_get_boolean(v))
				interrupted = true;
			if (json_object_object_get_ex(cj, "counters", &v))
				add_into(totals, v);
			if (json_object_object_get_ex(cj, "devices", &devs))
				for (size_t k = 0; k < json_object_array_length(devs); k++) {
					json_object *dj = json_object_array_get_idx(devs, k), *dc;

					if (json_object_object_get_ex(dj, "counters", &dc)) {
						add_into(totals, dc);
						json_object_object_add(dj, "expect_module",
								       expect_module(dc));
					}
				}
		}
		json_object_array_add(conts, cj);
	}

	/* the module's counters after, their delta and the comparison with the expectation */
	module = json_object_new_object();
	mcheck = json_object_new_object();
	mism = json_object_new_array();
	if (o.module_stats) {
		for (size_t i = 0; i < json_object_array_length(conts); i++) {
			json_object *cj = json_object_array_get_idx(conts, i), *devs, *idx;
			unsigned ci;

			if (!json_object_object_get_ex(cj, "index", &idx) ||
			    !json_object_object_get_ex(cj, "devices", &devs))
				continue;
			ci = json_object_get_int(idx);
			for (size_t k = 0; k < json_object_array_length(devs) && k < o.devices;
			     k++) {
				json_object *dj = json_object_array_get_idx(devs, k), *exp, *after,
					    *delta, *m;
				const char *dn =
					json_object_get_string(json_object_object_get(dj, "name"));

				after = modstats_read(dn, err, sizeof(err));
				if (!after) {
					fprintf(stderr, "vfio-workload: error: %s\n", err);
					json_object_array_add(errors, json_object_new_string(err));
					failed = true;
					continue;
				}
				delta = modstats_delta(before[ci][k], after);
				m = json_object_new_object();
				json_object_object_add(m, "before", json_object_get(before[ci][k]));
				json_object_object_add(m, "after", after);
				json_object_object_add(m, "delta", delta);
				json_object_object_add(module, dn, m);
				exp = json_object_object_get(dj, "expect_module");
				json_object_object_foreach(exp, key, ev) {
					int64_t want = json_object_get_int64(ev),
						got = jget(delta, key);

					if (want != got) {
						snprintf(
							err, sizeof(err),
							"%s %s: module %lld, workload expects %lld",
							dn, key, (long long)got, (long long)want);
						json_object_array_add(mism,
								      json_object_new_string(err));
					}
				}
				if (jget(after, "fault_k")) {
					snprintf(err, sizeof(err), "%s fault_k: %lld left armed",
						 dn, (long long)jget(after, "fault_k"));
					json_object_array_add(mism, json_object_new_string(err));
				}
			}
		}
		if (json_object_array_length(mism)) {
			fprintf(stderr,
				"vfio-workload: error: module counters differ from the workload's: %s%s\n",
				json_object_get_string(json_object_array_get_idx(mism, 0)),
				json_object_array_length(mism) > 1 ? " (more in module_check)" :
								     "");
			failed = true;
		}
	}
	json_object_object_add(mcheck, "checked", json_object_new_boolean(o.module_stats));
	json_object_object_add(
		mcheck, "ok",
		json_object_new_boolean(o.module_stats && !json_object_array_length(mism)));
	json_object_object_add(mcheck, "mismatches", mism);

	json_object_object_add(doc, "tool", json_object_new_string("vfio-workload"));
	json_object_object_add(doc, "schema", json_object_new_int(1));
	json_object_object_add(doc, "scenario", json_object_new_string(scenario_names[o.scenario]));
	json_object_object_add(doc, "kernel", json_object_new_string(uname(&un) ? "" : un.release));
	json_object_object_add(doc, "pid", json_object_new_int(getpid()));
	json_object_object_add(doc, "status", json_object_new_string(failed ? "error" : "ok"));
	if (parent_stop)
		interrupted = true;
	json_object_object_add(doc, "interrupted", json_object_new_boolean(interrupted));
	json_object_object_add(doc, "errors", errors);
	json_object_object_add(doc, "wall_s", json_object_new_double(now_s() - t0));
	json_object_object_add(doc, "params", params_json(&o));
	json_object_object_add(doc, "totals", totals);
	json_object_object_add(doc, "containers", conts);
	json_object_object_add(doc, "module", module);
	json_object_object_add(doc, "module_check", mcheck);
	if (emit(&o, doc))
		failed = true;
	progress(&o, "%s: %s, %.2fs", scenario_names[o.scenario],
		 failed	     ? "FAILED" :
		 interrupted ? "interrupted" :
			       "ok",
		 now_s() - t0);
	return failed ? 1 : interrupted ? 3 : 0;
}
