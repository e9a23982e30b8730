/*
 * p11acme signer serve: one process, one poll() loop, many clients.
 *
 * Why an event loop and not a thread per client: there is one token session, and
 * signing must be serialised on it anyway; a signature takes 0.1-3 ms, far less than
 * any client's network time. A single loop with non-blocking sockets and a deadline
 * per connection gives a hung client nothing to block (it holds a slot, never the
 * signer), bounds memory (max_clients buffers of one frame), and needs no locks.
 *
 * Per connection: the service reads one frame (length prefix first), decides it
 * (enforce.c), has the key child sign what was allowed, and writes one response
 * before it reads the next frame. A frame must arrive within client_timeout once its
 * first byte has, a response must be taken within it, and a connection without a
 * request for idle_timeout is closed.
 */
#include "signer/internal.h"
#include "common/common.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#define SVC_MAX_CLIENTS 64
#define SVC_MAX_PER_USER 16
#define SVC_CLIENT_TIMEOUT 10
#define SVC_IDLE_TIMEOUT 600

struct conn {
	int fd;
	struct peer_id id;
	struct policy_rules rules;
	unsigned char *out;       /* pending response */
	size_t outlen, outoff;
	int closing;              /* close once out is written */
	int waiting;              /* its request is with the key child (svc->inflight) */
	size_t have;              /* bytes of the frame in `in` */
	time_t deadline;          /* CLOCK_MONOTONIC seconds */
	unsigned char in[WIRE_MAX_FRAME];
};

/* A signature request sent to the key child, its answer not yet taken. The client's
 * identity is copied (without groups): the answer is audited even when the client
 * has gone meanwhile. */
struct inflight {
	struct conn *c;           /* NULL once the client has gone */
	struct peer_id id;
	struct decision d;
};

/* Requests outstanding at the key child: while it signs one, the loop decides the
 * next. Two keep it busy; the socketpair's buffers hold two of the largest frames
 * (signer_sign_send). */
#define SVC_PIPELINE 2

struct svc {
	const struct signer_service_config *sc;
	struct signer *child;
	struct policy *policy;
	char origin[300];
	char alg[3][8];
	char thumbprint[64];
	int lfd, sigfd, audit_fd;
	int max, max_per_user, client_timeout, idle_timeout;
	struct conn **conns;      /* max slots, NULL when free */
	size_t nconns;
	int stop;
	struct inflight inflight[SVC_PIPELINE];   /* a FIFO: head, then head + 1 */
	size_t head, n_inflight;
};

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void audit(struct svc *sv, const struct peer_id *id, const char *op,
		  const struct decision *d, const char *decision, const char *reason)
{
	struct audit_entry a = { id, op, NULL, 0, NULL, decision, reason };

	if (d != NULL) {
		a.names = d->names;
		a.n_names = d->n_names;
		a.url = d->url;
	}
	audit_write(sv->audit_fd, &a);
}

/* ---- connections ---- */

static void conn_close(struct svc *sv, size_t i)
{
	struct conn *c = sv->conns[i];
	size_t k;

	for (k = 0; c->waiting && k < SVC_PIPELINE; k++)
		if (sv->inflight[k].c == c)
			sv->inflight[k].c = NULL;
	close(c->fd);
	peer_free(&c->id);
	policy_rules_free(&c->rules);
	free(c->out);
	free(c);
	sv->conns[i] = NULL;
	sv->nconns--;
}

/* Queue a response frame; the connection writes it before reading again. */
static void conn_queue(struct svc *sv, struct conn *c, unsigned char *frame, size_t len)
{
	if (frame == NULL) {
		c->closing = 1;
		return;
	}
	free(c->out);
	c->out = frame;
	c->outlen = len;
	c->outoff = 0;
	c->deadline = now_s() + sv->client_timeout;
}

static void conn_queue_err(struct svc *sv, struct conn *c, int status, const char *msg)
{
	unsigned char *f = NULL;
	size_t len = 0;

	if (wire_encode_err(status, msg, &f, &len) < 0)
		f = NULL;
	conn_queue(sv, c, f, len);
}

static void conn_queue_ok(struct svc *sv, struct conn *c, const char *const *strs, size_t n)
{
	struct wire_field f[3];
	unsigned char *frame = NULL;
	size_t i, len = 0;

	for (i = 0; i < n && i < 3; i++) {
		f[i].p = (const unsigned char *)strs[i];
		f[i].len = strlen(strs[i]);
	}
	if (wire_encode(WIRE_RESP_OK, f, n, &frame, &len) < 0)
		frame = NULL;
	conn_queue(sv, c, frame, len);
}

static void sections_text(const struct policy_rules *r, char *buf, size_t len)
{
	char label[300];
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < r->n && off + 1 < len; i++) {
		policy_section_label(r->sec[i], label, sizeof(label));
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? " " : "", label);
	}
}

/* Identify the peer and greet it: the ready frame, or the refusal. */
static void conn_greet(struct svc *sv, struct conn *c)
{
	const char *algs[3] = { sv->alg[0], sv->alg[1], sv->alg[2] };
	char msg[640], secs[600];
	int n;

	if ((n = policy_match(sv->policy, &c->id, &c->rules)) <= 0) {
		/* "denied: " for the client, the rest for the audit. */
		snprintf(msg, sizeof(msg), "denied: user %s (uid %u) matches no section of the "
			 "policy", c->id.user, (unsigned)c->id.uid);
		audit(sv, &c->id, "connect", NULL, "deny", msg + 8);
		conn_queue_err(sv, c, SIGNER_ERR_DENIED, msg);
		c->closing = 1;
		return;
	}
	sections_text(&c->rules, secs, sizeof(secs));
	snprintf(msg, sizeof(msg), "matches %s", secs);
	audit(sv, &c->id, "connect", NULL, "allow", msg);
	conn_queue_ok(sv, c, algs, 3);
}

/* Refuse a connection with a "busy" frame and an audit line (id may be unknown). */
static void refuse_busy(struct svc *sv, int fd, const struct peer_id *id, const char *why)
{
	unsigned char *f = NULL;
	char msg[400];
	size_t len;

	audit(sv, id, "busy", NULL, "deny", why);
	snprintf(msg, sizeof(msg), "signer service busy (%s)", why);
	if (wire_encode_err(SIGNER_ERR, msg, &f, &len) == 0)
		(void)send(fd, f, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(f);
	close(fd);
}

/* The connections open for uid. */
static int conns_of(const struct svc *sv, uid_t uid)
{
	size_t i;
	int n = 0;

	for (i = 0; i < (size_t)sv->max; i++)
		n += sv->conns[i] != NULL && sv->conns[i]->id.uid == uid;
	return n;
}

static void svc_accept(struct svc *sv)
{
	struct peer_id id = { 0 };
	struct conn *c;
	char why[300];
	size_t i;
	int fd;

	if ((fd = accept4(sv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("signer: accept: %s", strerror(errno));
		return;
	}
	if (peer_identify(fd, &id) < 0) {
		peer_free(&id);
		close(fd);
		return;
	}
	if (sv->nconns >= (size_t)sv->max) {
		refuse_busy(sv, fd, &id, "too many clients");
	} else if (conns_of(sv, id.uid) >= sv->max_per_user) {
		snprintf(why, sizeof(why), "user %s already has %d connections (--max-per-user)",
			 id.user, sv->max_per_user);
		refuse_busy(sv, fd, &id, why);
	} else if ((c = calloc(1, sizeof(*c))) == NULL) {
		refuse_busy(sv, fd, &id, "out of memory");
	} else {
		c->fd = fd;
		c->id = id;
		c->deadline = now_s() + sv->idle_timeout;
		for (i = 0; sv->conns[i] != NULL; i++)
			;
		sv->conns[i] = c;
		sv->nconns++;
		conn_greet(sv, c);
		return;
	}
	peer_free(&id);
}

/* ---- requests ---- */

/* The key selector of ALG/JWK/THUMBPRINT: 0..2, or -1. */
static int key_of(const struct wire_msg *m)
{
	if (m->nfields != 1 || m->f[0].len != 1 || m->f[0].p[0] > SIGNER_KEY_CERT)
		return -1;
	return m->f[0].p[0];
}

/* Have the key child do what the decision allowed, other than a signature (see
 * svc_send_sign): the response text (malloc'd), or NULL when it failed (the child
 * logged why on our stderr). */
static char *forward(struct svc *sv, const struct wire_msg *m, const struct decision *d)
{
	char *out = NULL, *account = NULL;
	const char *alg;
	int key = key_of(m);

	switch (m->op) {
	case WIRE_OP_ALG:
		if (key >= 0 && (alg = signer_alg(sv->child, (enum signer_key)key)) != NULL)
			out = strdup(alg);
		break;
	case WIRE_OP_JWK:
		if (key >= 0)
			signer_jwk(sv->child, (enum signer_key)key, &out);
		break;
	case WIRE_OP_THUMBPRINT:
		if (key >= 0)
			signer_thumbprint(sv->child, (enum signer_key)key, &out);
		break;
	case WIRE_OP_KEYCHANGE:
		if ((account = wire_strdup(m, 1)) != NULL)
			signer_keychange(sv->child, d->url, account, &out);
		break;
	}
	free(account);
	return out;
}

/* Audit what the key child did for a request and queue the answer for its client
 * (c NULL: the client has gone; the audit line is written all the same). */
static void conn_answer(struct svc *sv, struct conn *c, const struct peer_id *id,
			const struct decision *d, const char *res)
{
	const char *one[1] = { res };

	if (res == NULL) {
		audit(sv, id, req_op_name(d->op), d, "error", "the key process failed");
		if (c != NULL)
			conn_queue_err(sv, c, SIGNER_ERR, "the signer service could not do it "
				       "(its log says why)");
		if (!signer_alive(sv->child)) {
			log_error("signer: the key process has exited; stopping the service");
			sv->stop = 2;
		}
		return;
	}
	audit(sv, id, req_op_name(d->op), d, "allow", d->reason);
	if (c != NULL)
		conn_queue_ok(sv, c, one, 1);
}

/* Send an allowed signature request to the key child without waiting, and queue it
 * (the decision moves into the queue). 0, or -1 when it could not be sent. */
static int svc_send_sign(struct svc *sv, struct conn *c, const struct wire_msg *m,
			 struct decision *d)
{
	struct inflight *f = &sv->inflight[(sv->head + sv->n_inflight) % SVC_PIPELINE];
	char *nonce = wire_strdup(m, 1), *kid = m->nfields == 4 ? wire_strdup(m, 3) : NULL;
	int rc = SIGNER_ERR;

	if (sv->n_inflight < SVC_PIPELINE && nonce != NULL && (m->nfields != 4 || kid != NULL))
		rc = signer_sign_send(sv->child, d->url, nonce, kid, d->payload);
	free(nonce);
	free(kid);
	if (rc != SIGNER_OK)
		return -1;
	f->c = c;
	memset(&f->id, 0, sizeof(f->id));
	f->id.uid = c->id.uid;
	f->id.pid = c->id.pid;
	f->id.known = c->id.known;
	memcpy(f->id.user, c->id.user, sizeof(f->id.user));
	f->d = *d;
	f->d.user = f->id.user;
	memset(d, 0, sizeof(*d));
	sv->n_inflight++;
	c->waiting = 1;
	return 0;
}

static void conn_write(struct svc *sv, struct conn *c);

/* Take the key child's oldest answer and hand it to its client. */
static void svc_take(struct svc *sv)
{
	struct inflight *f = &sv->inflight[sv->head];
	struct conn *c = f->c;
	char *res = NULL;

	signer_sign_take(sv->child, &res);
	sv->head = (sv->head + 1) % SVC_PIPELINE;
	sv->n_inflight--;
	if (c != NULL)
		c->waiting = 0;
	conn_answer(sv, c, &f->id, &f->d, res);
	decision_free(&f->d);
	f->c = NULL;
	free(res);
	if (c != NULL && c->out != NULL)
		conn_write(sv, c);
}

/* Every answer still at the key child (before a request that waits for its own). */
static void svc_drain(struct svc *sv)
{
	while (sv->n_inflight > 0)
		svc_take(sv);
}

static void conn_request(struct svc *sv, struct conn *c)
{
	struct enforce_ctx e = { &c->rules, c->id.user, sv->origin };
	struct decision d;
	struct wire_msg m;
	const char *why = NULL;
	char msg[600], *res;
	size_t len = c->have;

	c->have = 0;
	if (wire_decode(c->in, len, &m, &why) < 0) {
		audit(sv, &c->id, "bad-frame", NULL, "error", why);
		if (m.version != 0 && m.version != WIRE_VERSION)
			wire_version_mismatch(msg, sizeof(msg), "client", m.version);
		else
			snprintf(msg, sizeof(msg), "malformed request: %s", why);
		conn_queue_err(sv, c, SIGNER_ERR, msg);
		return;
	}
	if (enforce_request(&e, &m, &d) < 0) {
		audit(sv, &c->id, req_op_name(d.op), &d, d.error ? "error" : "deny", d.reason);
		snprintf(msg, sizeof(msg), "denied: %s", d.reason);
		conn_queue_err(sv, c, d.error ? SIGNER_ERR : SIGNER_ERR_DENIED, msg);
	} else if (m.op == WIRE_OP_SIGN) {
		if (svc_send_sign(sv, c, &m, &d) < 0)
			conn_answer(sv, c, &c->id, &d, NULL);
	} else {
		svc_drain(sv);
		res = forward(sv, &m, &d);
		conn_answer(sv, c, &c->id, &d, res);
		free(res);
	}
	decision_free(&d);
}

static void conn_write(struct svc *sv, struct conn *c)
{
	ssize_t n;

	n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			c->closing = 1;
			free(c->out);
			c->out = NULL;
			c->outlen = c->outoff = 0;
		}
		return;
	}
	c->outoff += (size_t)n;
	if (c->outoff == c->outlen) {
		free(c->out);
		c->out = NULL;
		c->outlen = c->outoff = 0;
		c->deadline = now_s() + sv->idle_timeout;
	}
}

/* recv what the current frame still lacks: the prefix first, then (in the same call,
 * so that a frame that has arrived whole is never timed by our own backlog) the body.
 * Returns the bytes now in c->in, 0 at EOF, -1 when nothing more is there yet or on
 * an error (c->closing set). */
static long conn_fill(struct conn *c)
{
	long need;
	ssize_t n;

	for (;;) {
		if ((need = wire_frame_need(c->in, c->have)) < 0 || c->have == (size_t)need)
			return (long)c->have;
		n = recv(c->fd, c->in + c->have, (size_t)need - c->have, MSG_DONTWAIT);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				c->closing = 1;
			return -1;
		}
		c->have += (size_t)n;
	}
}

static void conn_read(struct svc *sv, struct conn *c)
{
	size_t before = c->have;
	long need, got = conn_fill(c);

	if (got == 0) {
		if (c->have > 0)
			audit(sv, &c->id, "bad-frame", NULL, "error",
			      "the client closed the connection inside a frame");
		c->closing = 1;
		return;
	}
	if (before == 0 && c->have > 0)
		c->deadline = now_s() + sv->client_timeout;
	if ((need = wire_frame_need(c->in, c->have)) < 0) {
		audit(sv, &c->id, "bad-frame", NULL, "error", "frame larger than 64 KiB");
		conn_queue_err(sv, c, SIGNER_ERR, "malformed request: frame larger than 64 KiB "
			       "(closing the connection)");
		c->closing = 1;
		c->have = 0;
	} else if (c->have == (size_t)need) {
		conn_request(sv, c);
	}
	if (c->out != NULL)
		conn_write(sv, c);
}

/* Close what is done or overdue. */
static void svc_sweep(struct svc *sv)
{
	time_t now = now_s();
	struct conn *c;
	size_t i;

	for (i = 0; i < (size_t)sv->max; i++) {
		if ((c = sv->conns[i]) == NULL)
			continue;
		if (c->closing && c->out == NULL) {
			conn_close(sv, i);
		} else if (!c->waiting && now >= c->deadline) {
			audit(sv, &c->id, "timeout", NULL, "error",
			      c->out != NULL ? "the client did not take its response in time" :
			      c->have > 0 ? "the client did not send a whole frame in time" :
			      "idle connection");
			conn_close(sv, i);
		}
	}
}

/* ---- the loop ---- */

static void svc_reload(struct svc *sv)
{
	struct policy *np = NULL;
	struct conn *c;
	char err[600];
	size_t i;

	if (policy_load(sv->sc->policy_path, &np, err, sizeof(err)) < 0) {
		log_error("signer: %s; keeping the policy in force", err);
		return;
	}
	policy_free(sv->policy);
	sv->policy = np;
	log_info("signer: policy %s reloaded (%zu sections)", sv->sc->policy_path, np->n);
	for (i = 0; i < (size_t)sv->max; i++) {
		if ((c = sv->conns[i]) == NULL || c->closing)
			continue;
		policy_rules_free(&c->rules);
		if (policy_match(sv->policy, &c->id, &c->rules) <= 0) {
			audit(sv, &c->id, "connect", NULL, "deny",
			      "no longer matches a section of the reloaded policy");
			c->closing = 1;
			free(c->out);
			c->out = NULL;
		}
	}
}

static void svc_signal(struct svc *sv)
{
	struct signalfd_siginfo si;

	while (read(sv->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			svc_reload(sv);
		else
			sv->stop = 1;
	}
}

/* poll() timeout in ms: until the earliest deadline. */
static int svc_timeout(const struct svc *sv)
{
	time_t now = now_s(), first = 0;
	size_t i;

	for (i = 0; i < (size_t)sv->max; i++)
		if (sv->conns[i] != NULL && !sv->conns[i]->waiting &&
		    (first == 0 || sv->conns[i]->deadline < first))
			first = sv->conns[i]->deadline;
	if (first == 0)
		return -1;
	return first <= now ? 0 : (int)(first - now) * 1000;
}

static void conn_events(struct svc *sv, struct conn *c, short revents)
{
	if (revents & POLLOUT)
		conn_write(sv, c);
	/* A request is read only when the key child's queue has room for it: poll()
	 * saw room for one, and an earlier connection may have taken it since. */
	if ((revents & POLLIN) && c->out == NULL && !c->closing && !c->waiting &&
	    sv->n_inflight < SVC_PIPELINE)
		conn_read(sv, c);
	else if ((revents & (POLLERR | POLLHUP | POLLNVAL)) && !(revents & POLLIN))
		c->closing = 1, free(c->out), c->out = NULL;
}

/* The poll set: the signals, the listening socket, the key child (while it has
 * answers to give), then every connection. With SVC_PIPELINE requests at the key
 * child no new request is read. Returns the connections' count (map: slot of each). */
static size_t svc_pollset(struct svc *sv, struct pollfd *pfd, size_t *map)
{
	int full = sv->n_inflight >= SVC_PIPELINE;
	struct conn *c;
	size_t i, n;

	pfd[0] = (struct pollfd){ .fd = sv->sigfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sv->lfd, .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = sv->n_inflight > 0 ? signer_fd(sv->child) : -1,
				  .events = POLLIN };
	for (i = 0, n = 0; i < (size_t)sv->max; i++) {
		if ((c = sv->conns[i]) == NULL)
			continue;
		pfd[3 + n].fd = c->fd;
		pfd[3 + n].events = c->out != NULL ? POLLOUT :
				    c->closing || c->waiting || full ? 0 : POLLIN;
		pfd[3 + n].revents = 0;
		map[n++] = i;
	}
	return n;
}

static int svc_loop(struct svc *sv)
{
	struct pollfd *pfd = calloc((size_t)sv->max + 3, sizeof(*pfd));
	size_t *map = calloc((size_t)sv->max, sizeof(*map));
	size_t i, n;
	int r;

	if (pfd == NULL || map == NULL) {
		log_error("signer: out of memory");
		sv->stop = 2;
	}
	while (!sv->stop) {
		n = svc_pollset(sv, pfd, map);
		r = poll(pfd, n + 3, svc_timeout(sv));
		if (r < 0 && errno != EINTR) {
			log_error("signer: poll: %s", strerror(errno));
			sv->stop = 2;
			break;
		}
		if (r > 0 && (pfd[2].revents & (POLLIN | POLLERR | POLLHUP)))
			svc_take(sv);
		for (i = 0; r > 0 && i < n; i++)
			if (pfd[3 + i].revents != 0 && sv->conns[map[i]] != NULL)
				conn_events(sv, sv->conns[map[i]], pfd[3 + i].revents);
		if (r > 0 && (pfd[1].revents & POLLIN))
			svc_accept(sv);
		if (r > 0 && (pfd[0].revents & POLLIN))
			svc_signal(sv);
		svc_sweep(sv);
	}
	svc_drain(sv);
	free(pfd);
	free(map);
	return sv->stop == 1 ? SIGNER_OK : SIGNER_ERR;
}

/* ---- set-up ---- */

static int group_id(const char *name, gid_t *gid)
{
	struct group gr, *res = NULL;
	char buf[16384], *end = NULL;
	unsigned long v;

	if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) == 0 && res != NULL) {
		*gid = gr.gr_gid;
		return 0;
	}
	v = strtoul(name, &end, 10);
	if (*name != '\0' && *end == '\0' && v < 0xffffffffUL) {
		*gid = (gid_t)v;
		return 0;
	}
	return -1;
}

/* An existing socket file: a live service is an error; a stale one is replaced.
 * Anything else at that path is left alone (exit 2). */
static int clear_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat sb;
	int fd, r;

	if (lstat(path, &sb) < 0)
		return errno == ENOENT ? SIGNER_OK : (log_error("signer: %s: %s", path,
								 strerror(errno)), SIGNER_ERR);
	if (!S_ISSOCK(sb.st_mode)) {
		log_error("signer: %s exists and is not a socket; remove it or choose another "
			  "--socket", path);
		return SIGNER_ERR_CONFIG;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return SIGNER_ERR;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (r == 0) {
		log_error("signer: %s: another signer service is listening there", path);
		return SIGNER_ERR;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		log_error("signer: %s: cannot remove the stale socket: %s", path, strerror(errno));
		return SIGNER_ERR;
	}
	return SIGNER_OK;
}

static int listen_socket(struct svc *sv)
{
	const struct signer_service_config *sc = sv->sc;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int mode = sc->socket_mode >= 0 ? sc->socket_mode : sc->socket_group ? 0660 : 0666;
	gid_t gid = (gid_t)-1;
	mode_t old;
	int rc, r;

	if (strlen(sc->socket_path) >= sizeof(sa.sun_path)) {
		log_error("signer: --socket %s: path too long", sc->socket_path);
		return SIGNER_ERR_CONFIG;
	}
	if (sc->socket_group != NULL && group_id(sc->socket_group, &gid) < 0) {
		log_error("signer: --socket-group %s: no such group", sc->socket_group);
		return SIGNER_ERR_CONFIG;
	}
	memcpy(sa.sun_path, sc->socket_path, strlen(sc->socket_path) + 1);
	if ((rc = clear_stale(sc->socket_path, &sa)) != SIGNER_OK)
		return rc;
	if ((sv->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		goto fail;
	/* Never more open than asked, not even between bind and chmod. */
	old = umask((mode_t)(~mode & 0777));
	r = bind(sv->lfd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || (gid != (gid_t)-1 && chown(sc->socket_path, (uid_t)-1, gid) < 0) ||
	    chmod(sc->socket_path, (mode_t)mode) < 0 || listen(sv->lfd, 128) < 0)
		goto fail;
	return SIGNER_OK;
fail:
	log_error("signer: %s: %s", sc->socket_path, strerror(errno));
	return SIGNER_ERR;
}

static int block_signals(struct svc *sv)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    (sv->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		log_error("signer: signalfd: %s", strerror(errno));
		return SIGNER_ERR;
	}
	return SIGNER_OK;
}

static int svc_start_child(struct svc *sv, const struct signer_config *cfg)
{
	struct signer_config kc = *cfg;
	const char *alg;
	char *tp = NULL;
	int rc, k;

	/* Block at once on the key child's socket, here and (inherited) in the child:
	 * spinning would double the service's CPU per signature and gain little, since
	 * the pipeline keeps the key child busy anyway (docs/BENCHMARKS.md). */
	wire_set_spin(0);
	kc.relogin = 1;
	kc.remote = NULL;
	kc.cert_key_uri = NULL;   /* clients make their own certificate keys */
	if ((rc = signer_start(&kc, &sv->child)) != SIGNER_OK)
		return rc;
	for (k = 0; k < 3; k++)
		if ((alg = signer_alg(sv->child, (enum signer_key)k)) != NULL)
			snprintf(sv->alg[k], sizeof(sv->alg[k]), "%s", alg);
	if ((rc = signer_thumbprint(sv->child, SIGNER_KEY_ACCOUNT, &tp)) != SIGNER_OK)
		return rc;
	snprintf(sv->thumbprint, sizeof(sv->thumbprint), "%s", tp);
	free(tp);
	return SIGNER_OK;
}

static int svc_setup(struct svc *sv, const struct signer_config *cfg)
{
	char err[600];
	int rc;

	if (sv->sc->socket_path == NULL || sv->sc->policy_path == NULL) {
		log_error("signer: serve needs --socket and a policy");
		return SIGNER_ERR_CONFIG;
	}
	if (sv->sc->ca_url == NULL || url_origin(sv->sc->ca_url, sv->origin,
						 sizeof(sv->origin)) < 0) {
		log_error("signer: --server %s: not an http(s) URL", sv->sc->ca_url ?
			  sv->sc->ca_url : "(none)");
		return SIGNER_ERR_CONFIG;
	}
	if (policy_load(sv->sc->policy_path, &sv->policy, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return SIGNER_ERR_CONFIG;
	}
	if (sv->policy->n == 0)
		log_warn("signer: %s has no sections: every client will be refused",
			 sv->sc->policy_path);
	if ((sv->audit_fd = audit_open(sv->sc->audit_path)) == -2)
		return SIGNER_ERR_CONFIG;
	if ((sv->conns = calloc((size_t)sv->max, sizeof(*sv->conns))) == NULL)
		return SIGNER_ERR;
	/* The key child first: it must not inherit the listening socket. */
	if ((rc = svc_start_child(sv, cfg)) != SIGNER_OK)
		return rc;
	if ((rc = listen_socket(sv)) != SIGNER_OK || (rc = block_signals(sv)) != SIGNER_OK)
		return rc;
	/* Only now: the line says that clients can connect. */
	log_info("signer: listening on %s (account key %s, thumbprint %s)", sv->sc->socket_path,
		 sv->alg[0], sv->thumbprint);
	return SIGNER_OK;
}

int signer_serve(const struct signer_config *cfg, const struct signer_service_config *sc)
{
	struct svc sv = { 0 };
	size_t i;
	int rc;

	sv.sc = sc;
	sv.lfd = sv.sigfd = sv.audit_fd = -1;
	sv.max = sc->max_clients > 0 ? sc->max_clients : SVC_MAX_CLIENTS;
	sv.max_per_user = sc->max_per_user > 0 ? sc->max_per_user : SVC_MAX_PER_USER;
	if (sv.max_per_user > sv.max)
		sv.max_per_user = sv.max;
	sv.client_timeout = sc->client_timeout > 0 ? sc->client_timeout : SVC_CLIENT_TIMEOUT;
	sv.idle_timeout = sc->idle_timeout > 0 ? sc->idle_timeout : SVC_IDLE_TIMEOUT;
	if ((rc = svc_setup(&sv, cfg)) == SIGNER_OK)
		rc = svc_loop(&sv);
	for (i = 0; sv.conns != NULL && i < (size_t)sv.max; i++)
		if (sv.conns[i] != NULL)
			conn_close(&sv, i);
	free(sv.conns);
	if (sv.lfd >= 0) {
		close(sv.lfd);
		unlink(sc->socket_path);
	}
	if (sv.sigfd >= 0)
		close(sv.sigfd);
	if (sv.audit_fd >= 0)
		close(sv.audit_fd);
	signer_stop(sv.child);
	policy_free(sv.policy);
	if (rc == SIGNER_OK)
		log_info("signer: stopped");
	return rc;
}

/* ---- signer check ---- */

int signer_policy_check(const char *policy_path, const char *user)
{
	struct policy *p = NULL;
	struct policy_rules r = { 0 };
	struct peer_id id;
	char err[600], secs[400];
	size_t i;
	int rc = SIGNER_ERR_CONFIG;

	memset(&id, 0, sizeof(id));
	if (policy_load(policy_path, &p, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out;
	}
	rc = SIGNER_OK;
	if (user == NULL) {
		policy_print(stdout, p);
		goto out;
	}
	rc = SIGNER_ERR;
	if (peer_lookup_name(user, &id) < 0) {
		log_error("signer: no such user: %s", user);
		goto out;
	}
	if (policy_match(p, &id, &r) <= 0) {
		printf("user %s matches no section: refused at connect\n", user);
		goto out;
	}
	sections_text(&r, secs, sizeof(secs));
	printf("user %s (groups:", user);
	for (i = 0; i < id.n_groups; i++)
		printf(" %s", id.groups[i]);
	printf(") matches: %s\n", secs);
	policy_print_rules(stdout, &r);
	rc = SIGNER_OK;
out:
	policy_rules_free(&r);
	peer_free(&id);
	policy_free(p);
	return rc;
}
