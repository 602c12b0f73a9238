// SPDX-License-Identifier: GPL-2.0
/*
 * What export hands over: GET /metrics over plain HTTP (libmicrohttpd, its own thread: at most
 * 32 connections, 8 per client address, 10 s idle timeout; the exposition rendered under the
 * lock the interval update takes), and the textfile for node_exporter, replaced atomically.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include "trace.h"
#include "export.h"

char *export_render(struct export *x, bool openmetrics, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	pthread_mutex_lock(&x->lock);
	vt_prom_write(&x->prom, f, openmetrics);
	pthread_mutex_unlock(&x->lock);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* DIR/vfio_trace.prom replaced by rename(): node_exporter reads the old file or the new one,
 * never half of one (its own temporary name does not end in .prom, so it is never read). */
int export_write_textfile(struct export *x)
{
	char tmp[4096], dst[4096];
	size_t len;
	char *buf = export_render(x, false, &len);
	FILE *f;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	snprintf(dst, sizeof(dst), "%s/vfio_trace.prom", x->textfile_dir);
	snprintf(tmp, sizeof(tmp), "%s/.vfio_trace.prom.%d", x->textfile_dir, (int)getpid());
	f = fopen(tmp, "w");
	if (!f || fwrite(buf, 1, len, f) != len || fflush(f) || fsync(fileno(f)))
		err = errno ? -errno : -EIO;
	if (f && fclose(f) && !err)
		err = errno ? -errno : -EIO;
	if (!err && rename(tmp, dst))
		err = -errno;
	if (err) {
		unlink(tmp);
		if (!x->textfile_failing)
			vt_err("cannot write %s: %s (trying again every interval)", dst,
			       strerror(-err));
	} else if (x->textfile_failing) {
		vt_warn("%s written again", dst);
	}
	x->textfile_failing = err != 0;
	free(buf);
	return err;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

#define TEXT "text/plain; charset=utf-8"

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct export *x = cls;
	const char *accept;
	bool om, ready;
	size_t len;
	char *body;

	(void)version;
	(void)upload;
	if (*upload_size) { /* a body nobody asked for: read and ignored */
		*upload_size = 0;
		return MHD_YES;
	}
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT, "GET or HEAD only\n", 17,
			     MHD_RESPMEM_PERSISTENT);
	if (!strcmp(url, "/"))
		return reply(c, MHD_HTTP_OK, TEXT,
			     "vfio-trace export: the metrics are at /metrics\n", 47,
			     MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, TEXT,
			     "not found: the metrics are at /metrics\n", 39,
			     MHD_RESPMEM_PERSISTENT);
	pthread_mutex_lock(&x->lock);
	ready = x->ready;
	pthread_mutex_unlock(&x->lock);
	if (!ready)
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, TEXT,
			     "vfio-trace export: attaching, not tracing yet\n", 46,
			     MHD_RESPMEM_PERSISTENT);
	accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	om = accept && strstr(accept, "application/openmetrics-text");
	body = export_render(x, om, &len);
	if (!body)
		return MHD_NO;
	return reply(c, MHD_HTTP_OK, om ? VT_PROM_CT_OPENMETRICS : VT_PROM_CT_TEXT, body, len,
		     MHD_RESPMEM_MUST_FREE);
}

/* ADDR:PORT or [IPv6]:PORT, numeric (a static binary has no name service), bound and
 * listening; -2 (bad argument) or -1 (cannot listen) with one line said. */
int export_listen(const char *spec)
{
	const char *raw = spec, *colon = strrchr(raw, ':');
	char shown[VT_ESC_SIZE(64)];
	struct sockaddr_storage ss = {};
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	char host[64], *end;
	size_t hl;
	long port;
	int fd, one = 1;

	spec = vt_esc(shown, sizeof(shown), raw, 64); /* in messages; raw is parsed */
	if (!colon || !colon[1]) {
		vt_err("--listen wants ADDR:PORT (e.g. 127.0.0.1:9826), got '%s'", spec);
		return -2;
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || port < 1 || port > 65535) {
		vt_err("--listen %s: the port must be a number from 1 to 65535", spec);
		return -2;
	}
	hl = colon - raw;
	if (hl >= 2 && raw[0] == '[' && raw[hl - 1] == ']') {
		hl -= 2;
		memcpy(host, raw + 1, hl < sizeof(host) ? hl : 0);
	} else if (hl < sizeof(host)) {
		memcpy(host, raw, hl);
	}
	if (hl >= sizeof(host)) {
		vt_err("--listen %s: not a numeric IPv4 or [IPv6] address", spec);
		return -2;
	}
	host[hl] = 0;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
	} else {
		vt_err("--listen %s: not a numeric IPv4 or [IPv6] address", spec);
		return -2;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 ||
	    bind(fd, (struct sockaddr *)&ss,
		 ss.ss_family == AF_INET ? sizeof(*in4) : sizeof(*in6)) ||
	    listen(fd, 64)) {
		vt_err("cannot listen on %s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

struct MHD_Daemon *export_serve(struct export *x, int fd, const char *spec)
{
	/* A slow client holds one of 32 connections (8 per address) for 10 s at most. */
	struct MHD_Daemon *d =
		MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD, 0, NULL, NULL, on_request, x,
				 MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
				 (unsigned)32, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)8,
				 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);

	if (!d)
		vt_err("cannot start the HTTP server on %s", spec);
	return d;
}
