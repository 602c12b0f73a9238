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
