// SPDX-License-Identifier: GPL-2.0
/*
 * bench/prom-scrape [SERIES [SCRAPES]]: the CPU one /metrics scrape of vfio-trace export
 * costs, on the host (no VFIO, no lab): SERIES series (default 1,000; half per-VM unmaps, half
 * per-device callbacks, each with its latency histogram) rendered SCRAPES times (default 200)
 * to /dev/null the way export's HTTP handler renders them (lib/prom.c). Prints
 * "series=N scrapes=N bytes=N cpu_ms_per_scrape=X" (user + system CPU, getrusage).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "trace.h"
#include "prom.h"

static double cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

int main(int argc, char **argv)
{
	int nseries = argc > 1 ? atoi(argv[1]) : 1000, scrapes = argc > 2 ? atoi(argv[2]) : 200;
	struct vt_prom p;
	double t0, t1;
	size_t bytes = 0;

	vt_prom_init(&p, (size_t)nseries + 1, 300000000000ULL);
	for (int i = 0; i < nseries; i++) {
		struct vt_prom_key k;
		struct vtr_stat st;

		memset(&k, 0, sizeof(k));
		memset(&st, 0, sizeof(st));
		k.op = i % 2 ? VT_OP_CALLBACK : VT_OP_UNMAP;
		snprintf(k.vm, sizeof(k.vm), "vm-%04d", i / 2);
		snprintf(k.uuid, sizeof(k.uuid), "1b4e28ba-2fa1-11d2-883f-%012d", i / 2);
		if (i % 2) {
			snprintf(k.device, sizeof(k.device), "0000:%02x:00.%d", (i / 8) % 256,
				 i % 8);
			snprintf(k.driver, sizeof(k.driver), "mlx5_vfio_pci");
		}
		st.count = 1000 + i;
		st.bytes = st.count * 4096;
		st.lat_sum = st.count * 20000;
		for (unsigned s = 40; s < 80; s++)
			st.hist[s] = st.count / 40;
		if (vt_prom_add(&p, &k, &st, true, 1)) {
			fprintf(stderr, "prom-scrape: cannot add series %d\n", i);
			return 1;
		}
	}
	t0 = cpu_ms();
	for (int i = 0; i < scrapes; i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		if (!f)
			return 1;
		vt_prom_write(&p, f, i % 2); /* both formats, as scrapers ask */
		fclose(f);
		bytes = len;
		free(buf);
	}
	t1 = cpu_ms();
	printf("series=%zu scrapes=%d bytes=%zu cpu_ms_per_scrape=%.2f\n", p.n, scrapes, bytes,
	       (t1 - t0) / scrapes);
	vt_prom_free(&p);
	return 0;
}
