// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-trace hung: what is stuck on the VFIO type1 locks right now, on which lock, owned by
 * whom, and whether the waits form a cycle (a deadlock). Standalone and read-only: two BPF
 * iterators (lib/hung.c) read every type1 container's iommu->lock and
 * iommu->device_list_lock (owner, wait_list) and the tasks around them; nothing is attached,
 * no lock is taken, no VFIO file is opened. Meant to be run after a hang, within seconds.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <json-c/json.h>
#include "vt.h"
#include "hung.h"
#include "report.h"
#include "cmd.h"
#include "cli.h"

#define EXIT_STUCK    3
#define EXIT_DEADLOCK 4

static const char hung_usage[] =
	"usage: vfio-trace hung [-j] [-p PID[,PID...]] [--vm NAME] [--threshold SECS]\n"
	"                       [--timeout SECS] [--kprobe]\n"
	"  Tasks blocked on a VFIO type1 container's iommu->lock or iommu->device_list_lock:\n"
	"  the owner of each lock, the waiters, and cycles in the wait-for graph (a deadlock).\n"
	"  Read-only (BPF iterators), standalone, safe to run while the kernel is wedged.\n"
	"  -j, --json          one JSON document instead of text\n"
	"  -p, --pid PID,...   only report waits that involve these processes (-p may repeat)\n"
	"  --vm NAME           only report waits that involve the QEMU whose -name is NAME\n"
	"  --threshold SECS    a non-cyclic wait is STUCK after SECS (default 5)\n"
	"  --timeout SECS      give up after SECS (default 10; exit 1)\n"
	"  --kprobe            accepted for uniformity; hung attaches no probe\n"
	"exit: 0 nothing stuck, 3 stuck (a wait longer than the threshold), 4 deadlock (a cycle),\n"
	"1 cannot inspect (one line on stderr), 2 bad arguments.\n";

static const char *const lock_names[VTH_NLOCKS] = { "iommu->lock", "iommu->device_list_lock" };

struct glock {
	const struct vth_container_rec *c;
	int kind;
};

/* Sized to what was read: every container's two locks and every waiter read. */
struct graph {
	const struct vth_snapshot *s;
	struct glock *locks;
	size_t nlocks;
	struct vth_wait *waits;
	size_t nwaits;
	int *cycle;
	int ncycles;
};

static void on_alarm(int sig)
{
	static const char msg[] = "vfio-trace hung: timed out (--timeout): cannot inspect\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing left to do */
	}
	_exit(VT_EXIT_FAIL);
}

static int build(struct graph *g, const struct vth_snapshot *s)
{
	size_t maxw = vth_max_waits(s);

	g->s = s;
	g->locks = calloc(s->nconts * VTH_NLOCKS + 1, sizeof(*g->locks));
	g->waits = calloc(maxw, sizeof(*g->waits));
	g->cycle = calloc(maxw, sizeof(*g->cycle));
	if (!g->locks || !g->waits || !g->cycle)
		return -1;
	/* in vth_waits()'s order, so a wait's lock is its index here */
	for (size_t i = 0; i < s->nconts; i++)
		for (int l = 0; l < VTH_NLOCKS; l++)
			g->locks[g->nlocks++] = (struct glock){ &s->conts[i], l };
	g->nwaits = vth_waits(s, g->waits);
	g->ncycles = vth_find_cycles(g->waits, g->nwaits, g->cycle);
	if (g->ncycles < 0)
		g->ncycles = 0;
	return 0;
}

static void graph_free(struct graph *g)
{
	if (!g)
		return;
	free(g->locks);
	free(g->waits);
	free(g->cycle);
	free(g);
}

static const struct vth_lock *glock_lock(const struct glock *l)
{
	return &l->c->lock[l->kind];
}

static char *cont_id(const struct vth_container_rec *c, char *buf, size_t len)
{
	snprintf(buf, len, "%#llx", (unsigned long long)c->iommu);
	return buf;
}

/* Process identity, once per process (reading /proc never touches VFIO), read before the
 * capabilities are dropped (with hidepid, other users' /proc entries need CAP_SYS_PTRACE). */
static struct vt_ident_cache *idents;

static void ident(uint32_t tgid, char *comm, size_t clen, char *vm, size_t vlen)
{
	if (idents)
		vt_ident_get(idents, tgid, comm, clen, vm, vlen);
	else
		vt_proc_ident(tgid, comm, clen, vm, vlen);
}

/* Every process the report can name: containers' owners, lock owners, waiters, tasks. */
static void read_idents(const struct vth_snapshot *s)
{
	char comm[64], vm[128];

	idents = calloc(1, sizeof(*idents));
	for (size_t i = 0; idents && i < s->nconts; i++) {
		ident(s->conts[i].tgid, comm, sizeof(comm), vm, sizeof(vm));
		for (int l = 0; l < VTH_NLOCKS; l++) {
			const struct vth_lock *lk = &s->conts[i].lock[l];

			ident(lk->owner_tgid, comm, sizeof(comm), vm, sizeof(vm));
			for (unsigned k = 0; k < lk->nwaiters && k < VTH_MAX_WAITERS; k++)
				ident(lk->w[k].tgid, comm, sizeof(comm), vm, sizeof(vm));
		}
	}
	for (size_t i = 0; idents && i < s->ntasks; i++)
		ident(s->tasks[i].tgid, comm, sizeof(comm), vm, sizeof(vm));
}

static uint32_t tgid_of(const struct graph *g, uint32_t tid)
{
	const struct vth_task_rec *t = vth_task(g->s, tid);

	if (t)
		return t->tgid;
	for (size_t i = 0; i < g->nlocks; i++) {
		const struct vth_lock *lk = glock_lock(&g->locks[i]);

		if (lk->owner_pid == tid)
			return lk->owner_tgid;
		for (unsigned k = 0; k < lk->nwaiters; k++)
			if (lk->w[k].pid == tid)
				return lk->w[k].tgid;
	}
	return 0;
}

static bool involves(const struct graph *g, const size_t *chain, size_t n, struct vt_filter *f)
{
	if (!vt_filter_procs(f))
		return true;
	for (size_t k = 0; k < n; k++) {
		const struct vth_wait *w = &g->waits[chain[k]];

		if (vt_filter_proc(f, tgid_of(g, w->tid)) ||
		    (w->owner && vt_filter_proc(f, tgid_of(g, w->owner))))
			return true;
	}
	return false;
}

/* ---- JSON --------------------------------------------------------------------------------- */

static json_object *jlock_ref(const struct graph *g, int li)
{
	json_object *o = json_object_new_object();
	const struct glock *l = &g->locks[li];
	char id[32];

	json_object_object_add(o, "lock", json_object_new_string(lock_names[l->kind]));
	json_object_object_add(o, "container",
			       json_object_new_string(cont_id(l->c, id, sizeof(id))));
	snprintf(id, sizeof(id), "%#llx", (unsigned long long)glock_lock(l)->addr);
	json_object_object_add(o, "addr", json_object_new_string(id));
	return o;
}

static json_object *jtask(const struct graph *g, uint32_t tid)
{
	const struct vth_task_rec *t = vth_task(g->s, tid);
	char *const *st = vth_stack(g->s, tid);
	json_object *o = json_object_new_object(), *a;
	uint32_t tgid = tgid_of(g, tid);
	char comm[64], vm[128];
	long wi = vth_wait_of(g->waits, g->nwaits, tid);
	double b = vth_blocked_s(t);

	ident(tgid, comm, sizeof(comm), vm, sizeof(vm));
	json_object_object_add(o, "tid", json_object_new_int64(tid));
	json_object_object_add(o, "pid", json_object_new_int64(tgid));
	json_object_object_add(o, "comm", json_object_new_string(t ? t->comm : "?"));
	json_object_object_add(o, "process", json_object_new_string(comm));
	json_object_object_add(o, "vm", vm[0] ? json_object_new_string(vm) : NULL);
	json_object_object_add(o, "state",
			       t ? json_object_new_string(vth_state_name(t->state)) : NULL);
	json_object_object_add(
		o, "blocked_s",
		b >= 0 ? json_object_new_double((double)(long long)(b * 1000 + 0.5) / 1000) : NULL);
	json_object_object_add(o, "context_switches",
			       t ? json_object_new_uint64(t->nvcsw + t->nivcsw) : NULL);
	a = json_object_new_array();
	for (size_t i = 0; i < g->nlocks; i++)
		if (glock_lock(&g->locks[i])->owner_pid == tid)
			json_object_array_add(a, jlock_ref(g, (int)i));
	json_object_object_add(o, "holds", a);
	if (wi >= 0) {
		json_object *w = jlock_ref(g, g->waits[wi].lock);

		json_object_object_add(
			w, "owner_tid",
			g->waits[wi].owner ? json_object_new_int64(g->waits[wi].owner) : NULL);
		json_object_object_add(o, "waits_on", w);
	} else {
		json_object_object_add(o, "waits_on", NULL);
	}
	a = json_object_new_array();
	for (int k = 0; st && k < VTH_STACK_DEPTH && st[k]; k++)
		json_object_array_add(a, json_object_new_string(st[k]));
	json_object_object_add(o, "stack", a);
	return o;
}

static json_object *jcontainer(const struct graph *g, const struct vth_container_rec *c)
{
	json_object *o = json_object_new_object(), *locks = json_object_new_object();
	char comm[64], vm[128], id[32];

	ident(c->tgid, comm, sizeof(comm), vm, sizeof(vm));
	json_object_object_add(o, "container", json_object_new_string(cont_id(c, id, sizeof(id))));
	snprintf(id, sizeof(id), "%#llx", (unsigned long long)c->container);
	json_object_object_add(o, "vfio_container", json_object_new_string(id));
	json_object_object_add(o, "pid", json_object_new_int64(c->tgid));
	json_object_object_add(o, "comm", json_object_new_string(comm));
	json_object_object_add(o, "vm", vm[0] ? json_object_new_string(vm) : NULL);
	json_object_object_add(o, "fd", json_object_new_int64(c->fd));
	for (int l = 0; l < VTH_NLOCKS; l++) {
		const struct vth_lock *lk = &c->lock[l];
		json_object *x = json_object_new_object(), *w = json_object_new_array();

		snprintf(id, sizeof(id), "%#llx", (unsigned long long)lk->addr);
		json_object_object_add(x, "addr", json_object_new_string(id));
		if (lk->owner) {
			json_object *ow = json_object_new_object();

			json_object_object_add(ow, "tid", json_object_new_int64(lk->owner_pid));
			json_object_object_add(ow, "pid", json_object_new_int64(lk->owner_tgid));
			json_object_object_add(ow, "comm", json_object_new_string(lk->owner_comm));
			json_object_object_add(x, "owner", ow);
		} else {
			json_object_object_add(x, "owner", NULL);
		}
		json_object_object_add(x, "flags",
				       json_object_new_int64(lk->owner_word & VTH_MUTEX_FLAGS));
		for (unsigned k = 0; k < lk->nwaiters; k++) {
			json_object *y = json_object_new_object();

			json_object_object_add(y, "tid", json_object_new_int64(lk->w[k].pid));
			json_object_object_add(y, "pid", json_object_new_int64(lk->w[k].tgid));
			json_object_array_add(w, y);
		}
		json_object_object_add(x, "waiters", w);
		json_object_object_add(x, "waiters_truncated", json_object_new_boolean(lk->more));
		json_object_object_add(locks, lock_names[l], x);
	}
	json_object_object_add(o, "locks", locks);
	return o;
}

/* ---- text --------------------------------------------------------------------------------- */

static void lock_text(const struct graph *g, int li, char *buf, size_t len)
{
	const struct glock *l = &g->locks[li];
	char comm[64], vm[128], ec[VT_ESC_SIZE(64)], ev[VT_ESC_SIZE(128)];

	ident(l->c->tgid, comm, sizeof(comm), vm, sizeof(vm));
	snprintf(buf, len, "%s of container %#llx (pid %u %s%s%s)", lock_names[l->kind],
		 (unsigned long long)l->c->iommu, l->c->tgid,
		 vt_esc(ec, sizeof(ec), comm, sizeof(comm)), vm[0] ? ", VM " : "",
		 vt_esc(ev, sizeof(ev), vm, sizeof(vm)));
}

static void task_text(const struct graph *g, uint32_t tid, const char *indent)
{
	const struct vth_task_rec *t = vth_task(g->s, tid);
	char *const *st = vth_stack(g->s, tid);
	uint32_t tgid = tgid_of(g, tid);
	long wi = vth_wait_of(g->waits, g->nwaits, tid);
	char comm[64], vm[128], lk[1024], ec[VT_ESC_SIZE(64)], ev[VT_ESC_SIZE(128)];
	char tc[VT_ESC_SIZE(sizeof(t->comm))];
	double b = vth_blocked_s(t);

	ident(tgid, comm, sizeof(comm), vm, sizeof(vm));
	printf("%stid %u (%s) of pid %u %s%s%s, state %s", indent, tid,
	       t ? vt_esc(tc, sizeof(tc), t->comm, sizeof(t->comm)) : "?", tgid,
	       vt_esc(ec, sizeof(ec), comm, sizeof(comm)), vm[0] ? ", VM " : "",
	       vt_esc(ev, sizeof(ev), vm, sizeof(vm)), t ? vth_state_name(t->state) : "?");
	if (b >= 0)
		printf(", off CPU for %.1f s", b);
	printf("\n");
	for (size_t i = 0; i < g->nlocks; i++)
		if (glock_lock(&g->locks[i])->owner_pid == tid) {
			lock_text(g, (int)i, lk, sizeof(lk));
			printf("%s  holds %s\n", indent, lk);
		}
	if (wi >= 0) {
		lock_text(g, g->waits[wi].lock, lk, sizeof(lk));
		printf("%s  waits %s, owned by tid %u\n", indent, lk, g->waits[wi].owner);
	}
	for (int k = 0; st && k < VTH_STACK_DEPTH && st[k]; k++)
		printf("%s    %s\n", indent, vt_esc(lk, sizeof(lk), st[k], 256));
}

int cmd_hung(int argc, char **argv)
{
	struct vt_cli cli = { .threshold = 5, .timeout = 10 };
	struct vth_snapshot s;
	struct graph *g;
	struct vt_env env;
	char err[320];
	int rc = VT_EXIT_OK, nstuck = 0, ndead = 0;
	size_t nmore = 0;
	json_object *o = NULL, *a;
	struct utsname u;

	/* --kprobe is accepted (the common tracing options) and changes nothing: hung attaches
	 * no probe. */
	rc = vt_cli_parse(argc, argv, VT_CLI_PID | VT_CLI_HUNG, hung_usage, &cli);
	if (rc >= 0)
		return rc;
	rc = VT_EXIT_OK;
	signal(SIGALRM, on_alarm);
	alarm((unsigned)cli.timeout + (cli.timeout > (unsigned)cli.timeout));

	/* quick: no test attach at all (doctor's tries a kprobe, which on a kernel without the
	 * kprobe PMU is a kprobe_events write a kill -9 would leave behind) */
	vt_env_probe(&env, true);
	if (!env.privileged) {
		vt_err("cannot inspect: missing privileges: need %s (run as root)",
		       env.missing_caps);
		return VT_EXIT_FAIL;
	}
	if (!env.vmlinux_btf) {
		vt_err("cannot inspect: this kernel has no BTF (/sys/kernel/btf/vmlinux)");
		return VT_EXIT_FAIL;
	}
	if (!env.mod_type1 || !env.btf_type1 || !env.btf_vfio) {
		vt_err("cannot inspect: %s",
		       !env.mod_type1 ?
			       "vfio_iommu_type1 is not loaded (no type1 VFIO container can exist)" :
			       "vfio / vfio_iommu_type1 have no module BTF (CONFIG_DEBUG_INFO_BTF_MODULES)");
		return VT_EXIT_FAIL;
	}
	if (vth_collect(&s, err, sizeof(err))) {
		vt_err("cannot inspect: %s", err);
		return VT_EXIT_FAIL;
	}
	/* The iterators have run: nothing below needs a capability. */
	read_idents(&s);
	vt_caps_after_attach(VT_CAPS_NONE);
	g = calloc(1, sizeof(*g));
	if (!g || build(g, &s)) {
		vt_err("out of memory");
		graph_free(g);
		vth_snapshot_free(&s);
		return VT_EXIT_FAIL;
	}
	uname(&u);

	if (cli.json) {
		o = json_object_new_object();
		json_object_object_add(o, "tool", json_object_new_string("vfio-trace hung"));
		json_object_object_add(o, "kernel", json_object_new_string(u.release));
		json_object_object_add(o, "threshold_s", json_object_new_double(cli.threshold));
		json_object_object_add(o, "stack_source", json_object_new_string(s.stack_source));
		json_object_object_add(
			o, "blocked_basis",
			json_object_new_string(
				"now - task->sched_info.last_arrival: time since the task last got a CPU"));
		json_object_object_add(o, "container_fds", json_object_new_int64(s.nfds));
		a = json_object_new_array();
		for (size_t i = 0; i < s.nconts; i++)
			if (vt_filter_proc(&cli.filter, s.conts[i].tgid))
				json_object_array_add(a, jcontainer(g, &s.conts[i]));
		json_object_object_add(o, "containers", a);
	} else {
		printf("%zu type1 container(s), %zu wait(s) on their locks; stacks from %s\n",
		       s.nconts, g->nwaits, s.stack_source);
	}

	/* deadlocks: one per cycle, confirmed when every member is in D state */
	a = cli.json ? json_object_new_array() : NULL;
	for (int cy = 0; cy < g->ncycles; cy++) {
		size_t mem[64], nm = 0;
		bool all_d = true;
		json_object *d, *ts;

		for (size_t i = 0; i < g->nwaits && nm < 64; i++)
			if (g->cycle[i] == cy)
				mem[nm++] = i;
		if (!involves(g, mem, nm, &cli.filter))
			continue;
		for (size_t k = 0; k < nm; k++) {
			const struct vth_task_rec *t = vth_task(&s, g->waits[mem[k]].tid);

			if (!t || !(t->state & 0x2))
				all_d = false;
		}
		if (!all_d) {
			vt_dbg("cycle %d: not every member blocked (a torn read?): ignored", cy);
			continue;
		}
		ndead++;
		if (cli.json) {
			d = json_object_new_object();
			ts = json_object_new_array();
			for (size_t k = 0; k < nm; k++)
				json_object_array_add(ts, jtask(g, g->waits[mem[k]].tid));
			json_object_object_add(d, "tasks", ts);
			ts = json_object_new_array();
			for (size_t k = 0; k < nm; k++)
				json_object_array_add(ts, jlock_ref(g, g->waits[mem[k]].lock));
			json_object_object_add(d, "locks", ts);
			json_object_array_add(a, d);
		} else {
			printf("\nDEADLOCK: %zu tasks wait for each other\n", nm);
			for (size_t k = 0; k < nm; k++)
				task_text(g, g->waits[mem[k]].tid, "  ");
		}
	}
	if (cli.json)
		json_object_object_add(o, "deadlocks", a);

	/* the other waits: STUCK beyond the threshold (or behind a deadlock), else waiting */
	json_object *ja = cli.json ? json_object_new_array() : NULL;
	json_object *jw = cli.json ? json_object_new_array() : NULL;
	for (size_t i = 0; i < g->nwaits; i++) {
		size_t chain[64], n;
		const struct vth_task_rec *t = vth_task(&s, g->waits[i].tid);
		double b = vth_blocked_s(t);
		bool behind = false, stuck;

		if (g->cycle[i] >= 0)
			continue;
		n = vth_chain(g->waits, g->nwaits, i, chain, 64);
		if (!involves(g, chain, n, &cli.filter))
			continue;
		for (size_t k = 0; k < n; k++)
			if (g->cycle[chain[k]] >= 0)
				behind = true;
		/* b < 0: no blocked time, because the task ran after the snapshot's clock was read
		 * (a waiter just woken, still on the wait list): a passing wait, not STUCK. */
		stuck = behind || (b >= 0 && b >= cli.threshold);
		if (stuck)
			nstuck++;
		if (cli.json) {
			json_object *x = json_object_new_object(), *ch = json_object_new_array();
			uint32_t last = 0;

			json_object_object_add(x, "task", jtask(g, g->waits[i].tid));
			json_object_object_add(x, "behind_deadlock",
					       json_object_new_boolean(behind));
			for (size_t k = 0; k < n; k++) {
				json_object *e = jlock_ref(g, g->waits[chain[k]].lock);

				json_object_object_add(
					e, "waiter_tid",
					json_object_new_int64(g->waits[chain[k]].tid));
				json_object_object_add(
					e, "owner_tid",
					json_object_new_int64(g->waits[chain[k]].owner));
				json_object_array_add(ch, e);
				last = g->waits[chain[k]].owner;
			}
			json_object_object_add(x, "chain", ch);
			/* the end of the chain: the owner that waits for no VFIO lock, what it does */
			json_object_object_add(x, "chain_end",
					       last && !behind ? jtask(g, last) : NULL);
			json_object_array_add(stuck ? ja : jw, x);
		} else {
			printf("\n%s: ", stuck ? "STUCK" : "waiting");
			task_text(g, g->waits[i].tid, "");
			printf("  owner chain: tid %u", g->waits[i].tid);
			for (size_t k = 0; k < n; k++)
				printf(" -[%s]-> tid %u",
				       lock_names[g->locks[g->waits[chain[k]].lock].kind],
				       g->waits[chain[k]].owner);
			printf("%s\n", behind ? " (a deadlocked task)" : "");
			if (n && !behind && g->waits[chain[n - 1]].owner) {
				printf("  the last owner, not waiting on a VFIO lock:\n");
				task_text(g, g->waits[chain[n - 1]].owner, "    ");
			}
		}
	}
	rc = ndead ? EXIT_DEADLOCK : nstuck ? EXIT_STUCK : VT_EXIT_OK;
	/* A wait list longer than what was read may hide a cycle: never "ok" then. */
	for (size_t i = 0; i < g->nlocks; i++)
		nmore += glock_lock(&g->locks[i])->more != 0;
	if (nmore && rc == VT_EXIT_OK) {
		rc = VT_EXIT_FAIL;
		fprintf(stderr,
			"%s: %zu lock(s) had more than %d waiters; the rest were not "
			"examined: no verdict\n",
			vt_prog, nmore, VTH_MAX_WAITERS);
	}
	if (cli.json) {
		json_object_object_add(o, "locks_with_unread_waiters",
				       json_object_new_uint64(nmore));
		json_object_object_add(o, "stuck", ja);
		json_object_object_add(o, "waiting", jw);
		json_object_object_add(o, "verdict",
				       json_object_new_string(ndead  ? "deadlock" :
							      nstuck ? "stuck" :
							      nmore  ? "incomplete" :
								       "ok"));
		json_object_object_add(o, "exit", json_object_new_int(rc));
		vt_json_print(stdout, o, true);
		json_object_put(o);
	} else {
		printf("\nverdict: %s (exit %d)\n",
		       ndead  ? "DEADLOCK" :
		       nstuck ? "STUCK" :
		       nmore  ? "incomplete" :
				"nothing stuck",
		       rc);
	}
	graph_free(g);
	free(idents);
	idents = NULL;
	vth_snapshot_free(&s);
	return rc;
}
