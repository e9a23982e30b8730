/*
 * Signer wire format: length-prefixed, versioned, bounded frames (see internal.h).
 * Encoding and decoding work on buffers only; the transport (one frame per
 * SOCK_SEQPACKET message) is the last section, so a stream transport can replace it.
 */
#include "signer/internal.h"
#include "common/common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int wire_encode(uint8_t op, const struct wire_field *fields, size_t nfields,
		unsigned char **frame, size_t *framelen)
{
	unsigned char *buf = NULL, *p;
	size_t body = 2, i;

	*frame = NULL;
	*framelen = 0;
	if (nfields > WIRE_MAX_FIELDS) {
		log_error("signer: request has too many fields (%zu)", nfields);
		return -1;
	}
	/* Check each addition against the bound so that no size_t sum can wrap. */
	for (i = 0; i < nfields; i++) {
		if (fields[i].len > WIRE_MAX_BODY || body + 4 + fields[i].len > WIRE_MAX_BODY) {
			log_error("signer: request larger than %u bytes", WIRE_MAX_FRAME);
			return -1;
		}
		body += 4 + fields[i].len;
	}
	if ((buf = malloc(4 + body)) == NULL) {
		log_error("signer: out of memory");
		return -1;
	}
	put_u32(buf, (uint32_t)body);
	buf[4] = WIRE_VERSION;
	buf[5] = op;
	p = buf + 6;
	for (i = 0; i < nfields; i++) {
		put_u32(p, (uint32_t)fields[i].len);
		if (fields[i].len > 0)
			memcpy(p + 4, fields[i].p, fields[i].len);
		p += 4 + fields[i].len;
	}
	*frame = buf;
	*framelen = 4 + body;
	return 0;
}

int wire_decode(const unsigned char *frame, size_t framelen, struct wire_msg *m,
		const char **why)
{
	size_t off, body;
	uint32_t flen;

	memset(m, 0, sizeof(*m));
	if (framelen < 4) {
		*why = "truncated length prefix";
		return -1;
	}
	body = get_u32(frame);
	if (body > WIRE_MAX_BODY) {
		*why = "frame larger than 64 KiB";
		return -1;
	}
	if (body != framelen - 4) {
		*why = body > framelen - 4 ? "truncated frame" : "trailing bytes after frame";
		return -1;
	}
	if (body < 2) {
		*why = "frame too short for version and op";
		return -1;
	}
	m->version = frame[4];
	m->op = frame[5];
	if (m->version != WIRE_VERSION) {
		*why = "unsupported protocol version";
		return -1;
	}
	for (off = 6; off < framelen; off += 4 + flen) {
		if (m->nfields == WIRE_MAX_FIELDS) {
			*why = "too many fields";
			return -1;
		}
		if (framelen - off < 4) {
			*why = "truncated field length";
			return -1;
		}
		flen = get_u32(frame + off);
		if (flen > framelen - off - 4) {
			*why = "truncated field";
			return -1;
		}
		m->f[m->nfields].p = frame + off + 4;
		m->f[m->nfields].len = flen;
		m->nfields++;
	}
	return 0;
}

char *wire_strdup(const struct wire_msg *m, size_t i)
{
	char *s = NULL;

	if (i >= m->nfields || memchr(m->f[i].p, '\0', m->f[i].len) != NULL)
		return NULL;
	if ((s = malloc(m->f[i].len + 1)) == NULL)
		return NULL;
	memcpy(s, m->f[i].p, m->f[i].len);
	s[m->f[i].len] = '\0';
	return s;
}

/* ---- Transport: one frame per SOCK_SEQPACKET message ---- */

int wire_send(int fd, const unsigned char *frame, size_t framelen)
{
	ssize_t n;

	do
		n = send(fd, frame, framelen, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		log_error("signer: send: %s", strerror(errno));
		return -1;
	}
	if ((size_t)n != framelen) {
		log_error("signer: short send (%zd of %zu bytes)", n, framelen);
		return -1;
	}
	return 0;
}

/*
 * A reply (a signature: 0.1-3 ms) or the next request of a busy client usually
 * arrives within a few hundred microseconds. Sleeping in recvmsg() then costs a
 * cross-CPU wake-up, which on a virtual machine is as slow as the rest of the
 * round trip; polling briefly first avoids it. The bound keeps an idle signer from
 * burning CPU: after WIRE_SPIN_NS without a message it blocks as before. Each empty
 * poll yields the CPU (sched_yield), so on a busy machine the spin gives way to any
 * process waiting for that CPU (the key child it waits for, above all) instead of
 * competing with it; on an idle one it costs nothing but the spin.
 */
#define WIRE_SPIN_NS 300000L

static long spin_ns = WIRE_SPIN_NS;

void wire_set_spin(long ns)
{
	spin_ns = ns;
}

static long elapsed_ns(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

static ssize_t recv_spin_then_block(int fd, struct msghdr *mh)
{
	struct timespec t0;
	ssize_t n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (spin_ns <= 0)
			break;
		n = recvmsg(fd, mh, MSG_DONTWAIT);
		if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return n;
		sched_yield();
	} while (elapsed_ns(&t0) < spin_ns);
	do
		n = recvmsg(fd, mh, 0);
	while (n < 0 && errno == EINTR);
	return n;
}

int wire_poll(struct pollfd *pfd, nfds_t n, int timeout_ms)
{
	struct timespec t0;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (spin_ns > 0 && timeout_ms != 0 && elapsed_ns(&t0) < spin_ns) {
		if ((r = poll(pfd, n, 0)) != 0)
			return r;
		sched_yield();
	}
	return poll(pfd, n, timeout_ms);
}

int wire_recv(int fd, unsigned char *buf, size_t bufsize, size_t *len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = bufsize };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	*len = 0;
	n = recv_spin_then_block(fd, &mh);
	if (n < 0) {
		log_error("signer: receive: %s", strerror(errno));
		return -1;
	}
	if (n == 0)
		return 0;
	/* bufsize > WIRE_MAX_FRAME, so a full buffer also means "too large". */
	if ((mh.msg_flags & MSG_TRUNC) || (size_t)n > WIRE_MAX_FRAME)
		return -2;
	*len = (size_t)n;
	return 1;
}

int wire_send_ok(int fd, const struct wire_field *fields, size_t nfields)
{
	unsigned char *frame = NULL;
	size_t len;
	int rc = -1;

	if (wire_encode(WIRE_RESP_OK, fields, nfields, &frame, &len) < 0)
		goto out;
	rc = wire_send(fd, frame, len);
out:
	free(frame);
	return rc;
}

int wire_send_err(int fd, int status)
{
	unsigned char *frame = NULL;
	size_t len;
	int rc = -1;

	if (wire_encode_err(status, NULL, &frame, &len) == 0)
		rc = wire_send(fd, frame, len);
	free(frame);
	return rc;
}

/* ---- Error frames: the status byte, and a message (the signer service tells its
 * client why) ---- */

int wire_encode_err(int status, const char *msg, unsigned char **frame, size_t *framelen)
{
	unsigned char code;
	struct wire_field f[2];

	/* -status as one byte; anything outside the known range is a runtime failure. */
	code = (unsigned char)(status <= SIGNER_ERR && status >= SIGNER_ERR_DENIED ? -status
									      : -SIGNER_ERR);
	f[0].p = &code;
	f[0].len = 1;
	if (msg != NULL) {
		f[1].p = (const unsigned char *)msg;
		f[1].len = strnlen(msg, 1024);
	}
	return wire_encode(WIRE_RESP_ERR, f, msg != NULL ? 2 : 1, frame, framelen);
}

void wire_version_mismatch(char *buf, size_t len, const char *peer, unsigned version)
{
	snprintf(buf, len, "unsupported protocol version: the %s speaks protocol version %u, "
		 "this p11acme %u; run the same p11acme release on both ends", peer, version,
		 WIRE_VERSION);
}

int wire_err_status(const struct wire_msg *m)
{
	int v;

	if (m->nfields < 1 || m->f[0].len != 1)
		return SIGNER_ERR;
	v = -(int)m->f[0].p[0];
	return v <= SIGNER_ERR && v >= SIGNER_ERR_DENIED ? v : SIGNER_ERR;
}

/* ---- Transport: frames over a byte stream (the signer service, its clients) ----
 *
 * A stream has no message boundaries, so the length prefix frames it. A prefix
 * beyond WIRE_MAX_BODY cannot be skipped safely (nothing says where the next frame
 * starts): the reader reports it and the connection is closed.
 */

long wire_frame_need(const unsigned char *buf, size_t have)
{
	uint32_t body;

	if (have < 4)
		return 4;
	body = get_u32(buf);
	if (body > WIRE_MAX_BODY)
		return -1;
	return 4 + (long)body;
}

/* Wait for fd to become readable (POLLIN) or writable (POLLOUT) before deadline.
 * 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, const struct timespec *deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	struct timespec now;
	long ms;
	int r;

	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (deadline->tv_sec - now.tv_sec) * 1000 +
		     (deadline->tv_nsec - now.tv_nsec) / 1000000;
		if (ms < 0)
			ms = 0;
		r = poll(&p, 1, ms > INT_MAX ? INT_MAX : (int)ms);
		if (r >= 0 || errno != EINTR)
			return r > 0 ? 1 : r;
	}
}

static void deadline_in(struct timespec *d, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += timeout_ms / 1000;
	d->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (d->tv_nsec >= 1000000000L) {
		d->tv_sec++;
		d->tv_nsec -= 1000000000L;
	}
}

int wire_send_stream(int fd, const unsigned char *frame, size_t framelen, int timeout_ms)
{
	struct timespec deadline;
	size_t off = 0;
	ssize_t n;
	int r;

	deadline_in(&deadline, timeout_ms);
	while (off < framelen) {
		n = send(fd, frame + off, framelen - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			log_error("signer: send: %s", strerror(errno));
			return -1;
		}
		if ((r = wait_fd(fd, POLLOUT, &deadline)) <= 0) {
			log_error("signer: send: %s", r == 0 ? "timed out" : strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Read exactly len bytes. 1 done, 0 EOF before the first byte, -1 error or EOF
 * within, -3 timed out. */
static int read_full(int fd, unsigned char *buf, size_t len, const struct timespec *deadline)
{
	size_t off = 0;
	ssize_t n;
	int r;

	while (off < len) {
		n = recv(fd, buf + off, len - off, MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == 0)
			return off == 0 ? 0 : -1;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if ((r = wait_fd(fd, POLLIN, deadline)) < 0)
			return -1;
		if (r == 0)
			return -3;
	}
	return 1;
}

int wire_recv_stream(int fd, unsigned char *buf, size_t bufsize, size_t *len, int timeout_ms)
{
	struct timespec deadline;
	long need;
	int r;

	*len = 0;
	deadline_in(&deadline, timeout_ms);
	if ((r = read_full(fd, buf, 4, &deadline)) != 1)
		return r;
	need = wire_frame_need(buf, 4);
	if (need < 0 || (size_t)need > bufsize)
		return -2;
	if ((r = read_full(fd, buf + 4, (size_t)need - 4, &deadline)) != 1)
		return r == 0 ? -1 : r;
	*len = (size_t)need;
	return 1;
}
