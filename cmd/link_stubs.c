// SPDX-License-Identifier: GPL-2.0
/*
 * Link-time stand-in for p11-kit (see the Makefile, HTTP_LIBS): the static gnutls that
 * Debian's libmicrohttpd.a needs refers to p11-kit, which Debian ships only as a shared
 * library. vfio-trace export serves plain HTTP; gnutls's PKCS#11 code is never reached. Should
 * it be, every p11-kit call fails (NULL, 0) and gnutls reports PKCS#11 as unavailable.
 */
long vt_p11kit_absent(void);

long vt_p11kit_absent(void)
{
	return 0;
}

/*
 * gnutls initializes itself at every start, twice over: its own constructor and
 * libmicrohttpd's (MHD_init calls gnutls_global_init when built with HTTPS, as Debian's is):
 * random generator, crypto backends, the system priority file. vfio-trace never speaks TLS
 * (export serves plain HTTP), yet every command paid it: +1.0 MiB of resident memory before
 * main (vfio-trace --version's peak RSS 2.7 MiB, 1.7 MiB without; issue #20, where peak RSS is
 * measured against a loader that has none of it). gnutls's constructor asks this weak hook
 * whether to skip; the Makefile links libmicrohttpd's two calls to these no-ops (--wrap).
 */
int _gnutls_global_init_skip(void);
int __wrap_gnutls_global_init(void);
void __wrap_gnutls_global_deinit(void);

int _gnutls_global_init_skip(void)
{
	return 1;
}

int __wrap_gnutls_global_init(void)
{
	return 0;
}

void __wrap_gnutls_global_deinit(void)
{
}
