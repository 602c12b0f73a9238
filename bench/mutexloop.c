// SPDX-License-Identifier: GPL-2.0
/*
 * bench/mutexloop SECS: a mutex-heavy loop that never touches VFIO. Each iteration writes one
 * byte into a pipe and reads it back (non-blocking, one thread): pipe_write and pipe_read each
 * take and release the pipe's mutex (pipe->mutex via __pipe_lock) once, and nothing sleeps.
 * Prints "iterations=N seconds=S rate=R" (iterations per second) on stdout.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0, t0, t;
	unsigned long n = 0;
	int p[2];
	char c = 'x';

	if (secs <= 0 || pipe2(p, O_NONBLOCK)) {
		fprintf(stderr, "usage: mutexloop SECS\n");
		return 2;
	}
	t0 = now();
	do {
		for (int i = 0; i < 1000; i++) {
			if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1) {
				perror("mutexloop");
				return 1;
			}
		}
		n += 1000;
		t = now();
	} while (t - t0 < secs);
	printf("iterations=%lu seconds=%.6f rate=%.1f\n", n, t - t0, n / (t - t0));
	return 0;
}
