// SPDX-License-Identifier: GPL-2.0
/* vfio-trace doctor: host facts and, per attach point, the method that will be used and why. */
#include <getopt.h>
#include <string.h>
#include <json-c/json.h>
#include "vt.h"
#include "cmd.h"
#include "report.h"

static void doctor_usage(FILE *f)
{
	fprintf(f,
		"usage: vfio-trace doctor [-j|--json] [--kprobe] [--btf FILE] [--cleanup]\n"
		"  -j, --json   one JSON document instead of text\n"
		"  --kprobe     do not try fentry (as the tracer with --kprobe)\n"
		"  --btf FILE   the kernel's types from FILE (as the tracer with --btf FILE)\n"
		"  --cleanup    first remove the tracefs instances and kprobe events that a killed\n"
		"               run of the ftrace backend left behind\n"
		"exit 0 when vfio-trace can trace this host with one of its backends, 1 when it\n"
		"cannot (the reason is printed), 2 on bad arguments.\n");
}

static const char *yesno(bool b)
{
	return b ? "yes" : "no";
}

/* What the tracing commands attach functions with (lib/loader.c): fentry where the kernel
 * takes it, kprobe where not; a command that runs until it is stopped takes kprobes where the
 * perf kprobe PMU is there, for their quick detach (vfio-trace(8) "Stopping"): one
 * kprobe_multi link for all where the kernel has them, except export and record (and
 * --kprobe), which keep a kprobe per function so that the modules can be reloaded under them.
 * The table's METHOD column is the first case's, point by point. */
static const char *method_with_count(const struct vt_env *env)
{
	bool fentry = env->fentry_works && !env->force_kprobe;

	return fentry ? "fentry" : env->kprobes ? "kprobe" : "none";
}

static const char *method_export_record(const struct vt_env *env)
{
	bool fentry = env->fentry_works && !env->force_kprobe;

	return env->kprobes ? "kprobe" : fentry ? "fentry" : "none";
}

static const char *method_until_stopped(const struct vt_env *env)
{
	if (env->kprobes && env->kprobe_multi && !env->force_kprobe)
		return "kprobe_multi";
	return method_export_record(env);
}

static void print_text(const struct vt_env *env, const char *blocker, const char *ft_blocker)
{
	printf("kernel        %s\n", env->release);
	printf("vmlinux BTF   %s\n", yesno(env->vmlinux_btf));
	if (env->btf_file)
		printf("--btf         %s: vmlinux, vfio and vfio_iommu_type1 types; both backends "
		       "take them from it%s\n",
		       env->btf_file,
		       env->vmlinux_btf ? "" : " (no fentry without the kernel's BTF)");
	printf("module BTF    vfio: %s, vfio_iommu_type1: %s\n", yesno(env->btf_vfio),
	       yesno(env->btf_type1));
	printf("modules       vfio: %s, vfio_iommu_type1: %s\n",
	       env->mod_vfio ? "loaded" : "not loaded",
	       env->mod_type1	   ? "loaded" :
	       env->mod_vfio_avail ? "not loaded" :
				     "absent");
	printf("privileges    CAP_SYS_ADMIN %s, CAP_SYSLOG %s (CAP_BPF %s, CAP_PERFMON %s): %s\n",
	       yesno(env->cap_sys_admin), yesno(env->cap_syslog), yesno(env->cap_bpf),
	       yesno(env->cap_perfmon),
	       env->privileged && !env->ksyms_hidden[0] ? "enough" :
	       !env->privileged				? "not enough: need CAP_SYS_ADMIN" :
				  "not enough: kallsyms hides addresses, need CAP_SYSLOG");
	printf("kallsyms      %s\n", env->ksyms_hidden[0] ?
					     "addresses hidden (0): CAP_SYSLOG needed" :
					     "addresses readable");
	printf("tracefs       %s\n", env->tracefs[0] ? env->tracefs : "not mounted");
	printf("fentry        %s\n", !env->privileged  ? "not tried" :
				     env->force_kprobe ? "disabled (--kprobe)" :
				     env->fentry_works ? "works" :
							 "refused");
	printf("kprobes       %s\n", !env->privileged ? "not tried" :
				     env->kprobes     ? "work" :
							"refused");
	printf("kprobe_multi  %s\n", !env->privileged  ? "not tried" :
				     env->kprobe_multi ? "works" :
							 "refused (no CONFIG_FPROBE)");
	printf("methods       with a count: %s; until stopped (no count): %s; export, record "
	       "without --duration: %s\n\n",
	       method_with_count(env), method_until_stopped(env), method_export_record(env));
	printf("%-36s %-13s %s\n", "ATTACH POINT", "METHOD", "REASON");
	for (int i = 0; i < vt_npoints; i++) {
		const struct vt_point *p = &vt_points[i];

		printf("%-36s %-13s %s\n", p->name, vt_method_name(p->method), p->reason);
	}
	printf("\nbackend bpf     %s%s\n", blocker ? "cannot trace: " : "ready",
	       blocker ? blocker : "");
	printf("backend ftrace  %s%s\n", ft_blocker ? "cannot trace: " : "ready",
	       ft_blocker ? ft_blocker : "");
	if (blocker && ft_blocker)
		printf("\nverdict: vfio-trace cannot trace this host: %s\n", blocker);
	else if (blocker)
		printf("\nverdict: ready with --backend ftrace (or auto) only\n");
	else
		printf("\nverdict: ready\n");
}

static json_object *backend_json(const char *blocker)
{
	json_object *b = json_object_new_object();

	json_object_object_add(b, "ok", json_object_new_boolean(!blocker));
	json_object_object_add(b, "reason", blocker ? json_object_new_string(blocker) : NULL);
	return b;
}

static void print_json(const struct vt_env *env, const char *blocker, const char *ft_blocker)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array(), *x;

	json_object_object_add(o, "kernel", json_object_new_string(env->release));
	x = json_object_new_object();
	json_object_object_add(x, "vmlinux", json_object_new_boolean(env->vmlinux_btf));
	json_object_object_add(x, "vfio", json_object_new_boolean(env->btf_vfio));
	json_object_object_add(x, "vfio_iommu_type1", json_object_new_boolean(env->btf_type1));
	json_object_object_add(x, "file",
			       env->btf_file ? json_object_new_string(env->btf_file) : NULL);
	json_object_object_add(o, "btf", x);
	x = json_object_new_object();
	json_object_object_add(x, "vfio", json_object_new_boolean(env->mod_vfio));
	json_object_object_add(x, "vfio_iommu_type1", json_object_new_boolean(env->mod_type1));
	json_object_object_add(x, "vfio_available", json_object_new_boolean(env->mod_vfio_avail));
	json_object_object_add(o, "modules_loaded", x);
	x = json_object_new_object();
	json_object_object_add(x, "cap_bpf", json_object_new_boolean(env->cap_bpf));
	json_object_object_add(x, "cap_perfmon", json_object_new_boolean(env->cap_perfmon));
	json_object_object_add(x, "cap_sys_admin", json_object_new_boolean(env->cap_sys_admin));
	json_object_object_add(x, "cap_syslog", json_object_new_boolean(env->cap_syslog));
	json_object_object_add(x, "enough",
			       json_object_new_boolean(env->privileged && !env->ksyms_hidden[0]));
	json_object_object_add(o, "kallsyms_addresses",
			       json_object_new_boolean(!env->ksyms_hidden[0]));
	json_object_object_add(o, "privileges", x);
	json_object_object_add(o, "tracefs",
			       env->tracefs[0] ? json_object_new_string(env->tracefs) : NULL);
	json_object_object_add(o, "fentry", json_object_new_boolean(env->fentry_works));
	json_object_object_add(o, "kprobes", json_object_new_boolean(env->kprobes));
	json_object_object_add(o, "kprobe_multi", json_object_new_boolean(env->kprobe_multi));
	x = json_object_new_object();
	json_object_object_add(x, "with_count", json_object_new_string(method_with_count(env)));
	json_object_object_add(x, "until_stopped",
			       json_object_new_string(method_until_stopped(env)));
	json_object_object_add(x, "export_record",
			       json_object_new_string(method_export_record(env)));
	json_object_object_add(o, "methods", x);
	for (int i = 0; i < vt_npoints; i++) {
		const struct vt_point *p = &vt_points[i];
		json_object *j = json_object_new_object();

		json_object_object_add(j, "name", json_object_new_string(p->name));
		json_object_object_add(j, "module",
				       p->module ? json_object_new_string(p->module) : NULL);
		json_object_object_add(j, "method",
				       json_object_new_string(vt_method_name(p->method)));
		json_object_object_add(j, "symbol",
				       p->symbol[0] ? json_object_new_string(p->symbol) : NULL);
		json_object_object_add(j, "required", json_object_new_boolean(p->required));
		json_object_object_add(j, "use", json_object_new_string(p->use));
		json_object_object_add(j, "reason", json_object_new_string(p->reason));
		json_object_array_add(a, j);
	}
	json_object_object_add(o, "points", a);
	x = json_object_new_object();
	json_object_object_add(x, "bpf", backend_json(blocker));
	json_object_object_add(x, "ftrace", backend_json(ft_blocker));
	json_object_object_add(o, "backends", x);
	json_object_object_add(o, "ok", json_object_new_boolean(!blocker || !ft_blocker));
	json_object_object_add(o, "verdict",
			       json_object_new_string(!blocker	  ? "ready" :
						      !ft_blocker ? "ready with --backend ftrace" :
								    blocker));
	vt_json_print(stdout, o, true); /* valid UTF-8 like every JSON output */
	json_object_put(o);
}

int cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },	 { "kprobe", no_argument, NULL, 'K' },
		{ "btf", required_argument, NULL, 'Y' }, { "cleanup", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },	 { 0 },
	};
	bool json = false, kprobe = false, cleanup = false;
	const char *btf_path = NULL;
	struct vt_ksyms *ks;
	struct vt_env env;
	const char *blocker, *ft_blocker;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'K': kprobe = true; break;
		case 'C': cleanup = true; break;
		case 'Y':
			if (vt_btf_file_check(optarg))
				return VT_EXIT_USAGE;
			btf_path = optarg;
			break;
		case 'h': doctor_usage(stdout); return VT_EXIT_OK;
		default:
			vt_err("unknown option '%s' (see vfio-trace doctor --help)",
			       argv[optind - 1]);
			return VT_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		vt_err("unexpected argument '%s'", argv[optind]);
		return VT_EXIT_USAGE;
	}
	/* a killed --backend ftrace run's instance and events (said on stderr: stdout may be
	 * the JSON document) */
	if (cleanup)
		fprintf(stderr, "%s: %d ftrace leftovers removed\n", vt_prog,
			vt_ftrace_cleanup(false, stderr));
	ks = vt_ksyms_load();
	vt_env_probe(&env, false);
	env.btf_file = btf_path;
	if (kprobe || (btf_path && !env.vmlinux_btf))
		env.force_kprobe = true;
	vt_points_probe(&env, ks);
	vt_ksyms_free(ks);
	vt_caps_after_attach(VT_CAPS_NONE); /* its test attaches are done */
	blocker = vt_env_blocker(&env);
	ft_blocker = vt_ftrace_blocker(btf_path);
	/* the ftrace backend reads kallsyms too (the drivers' callbacks, stacks): hidden
	 * addresses stop it as they stop BPF */
	if (!ft_blocker && env.ksyms_hidden[0])
		ft_blocker = env.ksyms_hidden;
	if (json)
		print_json(&env, blocker, ft_blocker);
	else
		print_text(&env, blocker, ft_blocker);
	if (blocker && ft_blocker && !json)
		vt_err("%s", blocker);
	return blocker && ft_blocker ? VT_EXIT_FAIL : VT_EXIT_OK;
}
