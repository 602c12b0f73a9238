// SPDX-License-Identifier: GPL-2.0
/*
 * bench/vtexec [options] -- CMD [ARG...]: run CMD, measure its start-up and peak RSS.
 *   --match STR     a line of CMD's stderr (and stdout with --scan-stdout) containing STR means
 *                   "attached": its time since exec is recorded and --ready FILE created
 *   --scan-stdout   pipe CMD's stdout through vtexec too (else it is inherited untouched)
 *   --log FILE      where the scanned lines go (default /dev/null)
 *   --ready FILE    created (empty) when STR is seen
 *   --result FILE   written at the end: "attach_s=X total_s=X maxrss_kb=N status=N" (attach_s
 *                   -1 if STR never showed; total_s exec to exit); default stdout
 * SIGINT/SIGTERM to vtexec are passed on to CMD as SIGINT. maxrss is CMD's own peak resident
 * set (wait4's rusage), status its exit status (128+signal when killed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t child;
static void fwd(int s)
{
	(void)s;
	if (child > 0)
		kill(child, SIGINT);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *match = NULL, *log = "/dev/null", *ready = NULL, *result = NULL;
	int scan_out = 0, i, pfd[2], st = 0;
	double t0, attach = -1;
	struct rusage ru;
	FILE *lf, *in, *rf;
	char line[8192];

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--scan-stdout")) {
			scan_out = 1;
			continue;
		}
		if (i + 1 >= argc)
			break;
		if (!strcmp(argv[i], "--match"))
			match = argv[++i];
		else if (!strcmp(argv[i], "--log"))
			log = argv[++i];
		else if (!strcmp(argv[i], "--ready"))
			ready = argv[++i];
		else if (!strcmp(argv[i], "--result"))
			result = argv[++i];
		else
			break;
	}
	if (i >= argc - 1 || strcmp(argv[i], "--")) {
		fprintf(stderr,
			"usage: vtexec [--match STR] [--scan-stdout] [--log F] [--ready F] [--result F] -- CMD...\n");
		return 2;
	}
	if (pipe(pfd)) {
		perror("vtexec: pipe");
		return 1;
	}
	lf = fopen(log, "w");
	if (!lf) {
		perror(log);
		return 1;
	}
	signal(SIGINT, fwd);
	signal(SIGTERM, fwd);
	t0 = now();
	child = fork();
	if (child < 0) {
		perror("vtexec: fork");
		return 1;
	}
	if (child == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		close(pfd[0]);
		dup2(pfd[1], 2);
		if (scan_out)
			dup2(pfd[1], 1);
		close(pfd[1]);
		execvp(argv[i + 1], argv + i + 1);
		fprintf(stderr, "vtexec: exec %s: %s\n", argv[i + 1], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	in = fdopen(pfd[0], "r");
	for (;;) {
		errno = 0;
		if (!fgets(line, sizeof(line), in)) {
			if (errno == EINTR) {
				clearerr(in);
				continue;
			}
			break;
		}
		if (attach < 0 && match && strstr(line, match)) {
			attach = now() - t0;
			if (ready) {
				int fd = open(ready, O_CREAT | O_WRONLY, 0644);
				if (fd >= 0)
					close(fd);
			}
		}
		fputs(line, lf);
		fflush(lf);
	}
	while (wait4(child, &st, 0, &ru) < 0 && errno == EINTR)
		;
	rf = result ? fopen(result, "w") : stdout;
	if (!rf)
		rf = stdout;
	fprintf(rf, "attach_s=%.3f total_s=%.3f maxrss_kb=%ld status=%d\n", attach, now() - t0,
		ru.ru_maxrss, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	fclose(rf);
	fclose(lf);
	return 0;
}
