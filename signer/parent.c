/*
 * The parent side of the signer: fork the child, wait until it is ready, and turn
 * each signer_* call into one request and one response over the socketpair.
 * This side never loads the PKCS#11 module; of the PIN it only keeps an env: or fd:
 * source's value for the run's later signers (see keep_env_pin, keep_fd_pin).
 */
#include "signer/internal.h"
#include "tokens/tokens.h"
#include "common/common.h"
#include "common/trace.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>

/* A signer of this process reported SIGNER_ERR_PIN (signer_pin_refused). */
static int pin_refused;
static time_t child_deadline;   /* signer_set_deadline; 0: none */

struct signer {
	int fd;
	pid_t pid;                    /* the child, an exec: command, or -1 (unix:) */
	int stream;                   /* a signer service: frames over a byte stream */
	int ready;                    /* the ready message was read (signer_ready) */
	int ready_rc;                 /* and what it said: SIGNER_OK or an error */
	int hung;                     /* missed the deadline (signer_set_deadline) */
	char alg[SIGNER_KEY__MAX][8];           /* "" when the slot has no key */
	unsigned char buf[WIRE_MAX_FRAME + 1];
};

/* ---- Process management ---- */

const char *signer_pin_source_env(const char *source)
{
	struct tok_pin_source ps;

	if (tok_pin_source_parse(source, &ps) != TOK_OK || ps.kind != TOK_PIN_ENV)
		return NULL;
	return ps.name;
}

void signer_each_pin_source(const struct signer_config *cfg,
			    void (*fn)(const char *source, void *arg), void *arg)
{
	const char *uris[SIGNER_KEY__MAX] = { cfg->key_uri, cfg->new_key_uri, cfg->cert_key_uri };
	char *seen[SIGNER_KEY__MAX] = { NULL };
	struct tok_uri u;
	char err[256];
	size_t i, j, n = 0;

	if (cfg->pin_source != NULL) {
		fn(cfg->pin_source, arg);
		return;
	}
	for (i = 0; i < SIGNER_KEY__MAX; i++) {
		if (uris[i] == NULL)
			continue;
		memset(&u, 0, sizeof(u));
		if (tok_uri_parse(uris[i], &u, err, sizeof(err)) == TOK_OK && u.pin_source != NULL) {
			for (j = 0; j < n && strcmp(seen[j], u.pin_source) != 0; j++)
				;
			if (j == n && (seen[n] = strdup(u.pin_source)) != NULL)
				fn(seen[n++], arg);
		}
		tok_uri_free(&u);
	}
	for (i = 0; i < n; i++)
		free(seen[i]);
}

static void forget_pin(const char *source, void *arg)
{
	(void)arg;
	tok_pin_forget(source);
}

/*
 * env: PIN sources are read once per run. At the first fork the value is copied
 * into one locked page of this process (mlock, left out of core dumps, wiped at
 * exit) and then wiped from the environment (forget_pin), so that hooks never
 * inherit it; each later signer child (renew --all starts one per certificate)
 * gets it back in its own environment, where tokens/pin.c reads and wipes it.
 */
#define KEPT_PAGE 4096
static char *kept_page;   /* "NAME\0VALUE\0" entries */
static size_t kept_used;

static void kept_wipe(void)
{
	if (kept_page == NULL)
		return;
	OPENSSL_cleanse(kept_page, KEPT_PAGE);
	munlock(kept_page, KEPT_PAGE);
	munmap(kept_page, KEPT_PAGE);
	kept_page = NULL;
	kept_used = 0;
}

static const char *kept_value(const char *name)
{
	size_t off = 0;

	while (off < kept_used) {
		const char *n = kept_page + off, *v = n + strlen(n) + 1;

		if (strcmp(n, name) == 0)
			return v;
		off = (size_t)(v - kept_page) + strlen(v) + 1;
	}
	return NULL;
}

static int kept_map(void)
{
	static int registered;
	void *p;

	if (kept_page != NULL)
		return 0;
	if ((p = mmap(NULL, KEPT_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0)) == MAP_FAILED)
		return -1;
	if (mlock(p, KEPT_PAGE) != 0)
		log_debug("signer: mlock of the PIN page: %s", strerror(errno));
	madvise(p, KEPT_PAGE, MADV_DONTDUMP);
	kept_page = p;
	if (!registered++)
		atexit(kept_wipe);
	return 0;
}

/* Before a fork: keep the value of an env: source that is set and not kept yet. */
static void keep_env_pin(const char *source, void *arg)
{
	struct tok_pin_source ps;
	const char *val;
	size_t nl, vl;

	(void)arg;
	if (tok_pin_source_parse(source, &ps) != TOK_OK || ps.kind != TOK_PIN_ENV ||
	    kept_value(ps.name) != NULL || (val = getenv(ps.name)) == NULL)
		return;
	nl = strlen(ps.name) + 1;
	vl = strlen(val) + 1;
	if (kept_map() != 0 || kept_used + nl + vl > KEPT_PAGE) {
		log_warn("signer: cannot keep the PIN of %s for a second signer of this run",
			 ps.name);
		return;
	}
	memcpy(kept_page + kept_used, ps.name, nl);
	memcpy(kept_page + kept_used + nl, val, vl);
	kept_used += nl + vl;
}

/* In the child: an env: source that the parent wiped gets its kept value back. */
static void restore_env_pin(const char *source, void *arg)
{
	struct tok_pin_source ps;
	const char *val;

	(void)arg;
	if (tok_pin_source_parse(source, &ps) != TOK_OK || ps.kind != TOK_PIN_ENV ||
	    getenv(ps.name) != NULL || (val = kept_value(ps.name)) == NULL)
		return;
	if (setenv(ps.name, val, 1) != 0)
		log_error("signer: cannot pass the PIN of %s on: %s", ps.name, strerror(errno));
}

/*
 * fd: sources are read once per run too: the first fork reads the descriptor to
 * its end into the locked page (as "fd:N"), and every signer child gets the value
 * back as a pipe on descriptor N, which tokens/pin.c reads and closes. Without it
 * the second certificate of renew --all would read a closed or drained descriptor.
 */
#define FD_PIN_MAX 1024   /* tokens/pin.c reads no more */

/* 0 when fd can be read (or is at its end), -1 at the run's deadline. */
static int fd_wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	long ms;
	int r;

	do {
		ms = child_deadline ? (long)(child_deadline - time(NULL)) * 1000L : -1;
		if (child_deadline && ms <= 0)
			return -1;
		r = poll(&p, 1, ms > INT_MAX ? INT_MAX : (int)ms);
	} while (r < 0 && errno == EINTR);
	return r > 0 || r < 0 ? 0 : -1;   /* a poll error: read() reports it */
}

static void keep_fd_pin(const char *source, void *arg)
{
	struct tok_pin_source ps;
	char buf[FD_PIN_MAX + 1];
	size_t len = 0, sl = strlen(source) + 1;
	ssize_t n;

	(void)arg;
	if (tok_pin_source_parse(source, &ps) != TOK_OK || ps.kind != TOK_PIN_FD ||
	    kept_value(source) != NULL)
		return;
	while (len < FD_PIN_MAX) {
		/* a writer that never closes must not hold the run past its deadline */
		if (fd_wait_readable(ps.fd) != 0) {
			log_error("signer: no PIN on fd %d before the deadline (--timeout)", ps.fd);
			goto out;   /* the child then reads an empty PIN and says so */
		}
		if ((n = read(ps.fd, buf + len, FD_PIN_MAX - len)) == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;   /* the child reports the descriptor's error */
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		log_error("signer: the PIN from fd %d contains a NUL byte", ps.fd);
	} else if (kept_map() != 0 || kept_used + sl + len + 1 > KEPT_PAGE) {
		log_warn("signer: cannot keep the PIN of %s for the signers of this run", source);
	} else {
		memcpy(kept_page + kept_used, source, sl);
		memcpy(kept_page + kept_used + sl, buf, len + 1);
		kept_used += sl + len + 1;
	}
out:
	OPENSSL_cleanse(buf, sizeof(buf));
}

/* In the child: descriptor N becomes a pipe that holds the kept value (less than
 * a pipe's buffer, so the write never blocks); an empty pipe when none is kept. */
static void restore_fd_pin(const char *source, void *arg)
{
	struct tok_pin_source ps;
	const char *val;
	int p[2];

	(void)arg;
	if (tok_pin_source_parse(source, &ps) != TOK_OK || ps.kind != TOK_PIN_FD)
		return;
	if (pipe(p) != 0) {
		log_error("signer: cannot pass the PIN of %s on: %s", source, strerror(errno));
		return;
	}
	if ((val = kept_value(source)) != NULL && write(p[1], val, strlen(val)) < 0)
		log_error("signer: cannot pass the PIN of %s on: %s", source, strerror(errno));
	close(p[1]);
	if (p[0] != ps.fd) {
		if (dup2(p[0], ps.fd) < 0)
			log_error("signer: cannot pass the PIN of %s on: %s", source, strerror(errno));
		close(p[0]);
	}
}

struct keep_fds {
	int fd[SIGNER_KEY__MAX + 1];
	size_t n;
};

static void keep_pin_fd(const char *source, void *arg)
{
	struct keep_fds *k = arg;
	struct tok_pin_source ps;

	if (k->n >= SIGNER_KEY__MAX + 1 || tok_pin_source_parse(source, &ps) != TOK_OK ||
	    ps.kind != TOK_PIN_FD)
		return;
	/* stdio stays open anyway */
	if (ps.fd > 2 && ps.fd < 65536)
		k->fd[k->n++] = ps.fd;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/*
 * Nothing the child inherits beyond stdio, its socket and an fd: PIN source: a
 * listening socket or a file of the client's must not stay open in the process
 * that holds the key.
 */
static void close_other_fds(struct keep_fds *k)
{
	unsigned int lo = 3;
	size_t i;

	qsort(k->fd, k->n, sizeof(k->fd[0]), cmp_int);
	for (i = 0; i < k->n; i++) {
		if ((unsigned int)k->fd[i] > lo)
			close_range(lo, (unsigned int)k->fd[i] - 1, 0);
		lo = (unsigned int)k->fd[i] + 1;
	}
	close_range(lo, ~0u, 0);
}

/* Runs in the child, before anything touches the token. */
static int harden(pid_t parent, struct keep_fds *k)
{
	/* No core dumps and no ptrace by other processes of the same user. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		log_warn("signer: prctl(PR_SET_DUMPABLE): %s", strerror(errno));
	/* SIGTERM, not SIGKILL: tokens/ holds it while SoftHSM rewrites its token file
	 * (C_Login), so a dying parent cannot leave the token truncated. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0) {
		log_error("signer: prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
		return -1;
	}
	/* The parent may have died before PDEATHSIG was armed. */
	if (getppid() != parent)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	close_other_fds(k);
	return 0;
}

int signer_fork(const struct signer_config *cfg, signer_child_fn fn, void *arg,
		int *fd, pid_t *pid)
{
	struct keep_fds keep;
	pid_t parent = getpid(), child;
	int sv[2];

	*fd = -1;
	*pid = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("signer: socketpair: %s", strerror(errno));
		return -1;
	}
	/* The service's one child (relogin) keeps the PIN itself: the service, which
	 * parses client input, must hold no copy. */
	if (!cfg->relogin) {
		signer_each_pin_source(cfg, keep_env_pin, NULL);
		signer_each_pin_source(cfg, keep_fd_pin, NULL);
	}
	/* Buffered output would otherwise be written twice, once by each process. */
	fflush(NULL);
	if ((child = fork()) < 0) {
		log_error("signer: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (child == 0) {
		close(sv[0]);
		memset(&keep, 0, sizeof(keep));
		keep.fd[keep.n++] = sv[1];
		signer_each_pin_source(cfg, keep_pin_fd, &keep);
		if (!cfg->relogin) {
			signer_each_pin_source(cfg, restore_env_pin, NULL);
			signer_each_pin_source(cfg, restore_fd_pin, NULL);
		}
		kept_wipe(); /* the child's copy: the value is in its environment now */
		if (harden(parent, &keep) < 0)
			_exit(1);
		trace_open();
		trace("signer-child");
		_exit(fn(sv[1], cfg, arg));
	}
	close(sv[1]);
	trace("signer-fork %d", (int)child);
	/* The child has its own copy of the environment and descriptors now. */
	signer_each_pin_source(cfg, forget_pin, NULL);
	*fd = sv[0];
	*pid = child;
	return 0;
}

int signer_reap(pid_t pid)
{
	int st, i;
	pid_t r;

	if (pid <= 0)
		return -1;
	/* The child exits at EOF; a child stuck in a token call gets 5 s, then SIGKILL. */
	for (i = 0; i < 500; i++) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		if (r < 0 && errno != EINTR)
			return -1;
		sleep_ms(i < 20 ? 1 : 10);
	}
	log_warn("signer: process %d did not exit; killing it", (int)pid);
	kill(pid, SIGKILL);
	while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	return -1;
}

/* ---- Requests ---- */

/* The status of an error response; its message (a signer service says why it
 * refused: the client has no other way to learn it) is logged here. */
static int resp_error(const struct wire_msg *resp)
{
	char *msg = wire_strdup(resp, 1);
	int rc = wire_err_status(resp);

	if (rc == SIGNER_ERR_PIN)
		pin_refused = 1;
	if (msg != NULL)
		log_error("signer: %s", msg);
	free(msg);
	return rc;
}

/* A stream (signer service) answers within this; signing takes milliseconds, but a
 * service that logs in again after a token error, or an ssh start, takes longer. */
#define REMOTE_TIMEOUT_MS 60000

static int child_hung;          /* the last wait for the child ended at the deadline */

void signer_set_deadline(time_t deadline)
{
	child_deadline = deadline;
}

/* Wait until the child's answer can be read, at most until the run's deadline: a
 * child stuck in the token (a hung module, a held lock, SIGSTOP) must not hang
 * the run. 0 when readable, -1 after logging. */
static int child_wait(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	time_t left;
	int r;

	if (child_deadline == 0)
		return 0;
	for (;;) {
		/* a second at least: a signature takes milliseconds, so one asked for
		 * at the deadline still gets its answer */
		left = child_deadline - time(NULL);
		r = wire_poll(&p, 1, left > 3600 ? 3600000 : left > 1 ? (int)left * 1000 : 1000);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return 0;   /* wire_recv reports the socket's error */
		if (r == 0 && left <= 1)
			break;
	}
	log_error("signer: no answer from the signer process by the deadline (--timeout); "
		  "the token (or its lock) does not answer");
	child_hung = 1;
	return -1;
}

/* A signer service of another release (the signer child is always this build). */
static void log_version_mismatch(int stream, unsigned version)
{
	char msg[256];

	wire_version_mismatch(msg, sizeof(msg), stream ? "signer service" : "signer process",
			      version);
	log_error("signer: %s", msg);
}

/* Encode and send one request. 0 or -1 (logged). */
static int request_send(int fd, int stream, uint8_t op, const struct wire_field *fields,
			size_t nfields)
{
	unsigned char *frame = NULL;
	size_t framelen;
	int r = -1;

	if (wire_encode(op, fields, nfields, &frame, &framelen) == 0)
		r = stream ? wire_send_stream(fd, frame, framelen, REMOTE_TIMEOUT_MS) :
			     wire_send(fd, frame, framelen);
	free(frame);
	return r;
}

static int roundtrip_io(int fd, int stream, uint8_t op, const struct wire_field *fields,
			size_t nfields, unsigned char *buf, struct wire_msg *resp)
{
	const char *why = NULL;
	size_t len;
	int r, rc = SIGNER_ERR;

	if (op != 0 && request_send(fd, stream, op, fields, nfields) < 0)
		goto out;
	if (!stream && child_wait(fd) != 0)
		goto out;
	r = stream ? wire_recv_stream(fd, buf, WIRE_MAX_FRAME + 1, &len, REMOTE_TIMEOUT_MS) :
		     wire_recv(fd, buf, WIRE_MAX_FRAME + 1, &len);
	if (r <= 0 && r != -2) {
		if (r == 0 || stream)
			log_error("signer: the signer %s", !stream ? "process has exited" :
				  r == -3 ? "service did not answer in time" :
				  "service closed the connection");
		goto out;
	}
	if (r == -2 || wire_decode(buf, len, resp, &why) < 0) {
		if (r != -2 && resp->version != 0 && resp->version != WIRE_VERSION)
			log_version_mismatch(stream, resp->version);
		else
			log_error("signer: malformed response: %s", r == -2 ? "too large" : why);
		goto out;
	}
	if (resp->op == WIRE_RESP_OK)
		rc = SIGNER_OK;
	else if (resp->op == WIRE_RESP_ERR)
		rc = resp_error(resp);
	else
		log_error("signer: malformed response: op %u", resp->op);
out:
	return rc;
}

int signer_roundtrip(int fd, uint8_t op, const struct wire_field *fields, size_t nfields,
		     unsigned char *buf, struct wire_msg *resp)
{
	return roundtrip_io(fd, 0, op, fields, nfields, buf, resp);
}

static int rt(struct signer *s, uint8_t op, const struct wire_field *fields, size_t nfields,
	      struct wire_msg *resp)
{
	int rc;

	child_hung = 0;
	rc = roundtrip_io(s->fd, s->stream, op, fields, nfields, s->buf, resp);
	s->hung = child_hung;
	return rc;
}

int signer_alive(struct signer *s)
{
	return s != NULL && s->pid > 0 && waitpid(s->pid, NULL, WNOHANG) == 0;
}

/* A response whose single field is text: copy it. */
static int resp_string(int rc, const struct wire_msg *resp, char **out)
{
	if (rc != SIGNER_OK)
		return rc;
	if (resp->nfields != 1 || (*out = wire_strdup(resp, 0)) == NULL) {
		log_error("signer: malformed response");
		return SIGNER_ERR;
	}
	return SIGNER_OK;
}

static int key_request(struct signer *s, uint8_t op, enum signer_key key, char **out)
{
	unsigned char k = (unsigned char)key;
	struct wire_field f = { &k, 1 };
	struct wire_msg resp;
	int rc;

	*out = NULL;
	if ((rc = signer_ready(s)) != SIGNER_OK)
		return rc;
	rc = rt(s, op, &f, 1, &resp);
	return resp_string(rc, &resp, out);
}

static void field_str(struct wire_field *f, const char *s)
{
	f->p = (const unsigned char *)s;
	f->len = strlen(s);
}

/* ---- signer.h ---- */

int signer_pin_refused(void)
{
	return pin_refused;
}

int signer_spawn(const struct signer_config *cfg, struct signer **out)
{
	struct signer *s = NULL;
	int rc;

	*out = NULL;
	if (cfg == NULL || (cfg->key_uri == NULL && cfg->account_key_file == NULL &&
			    cfg->remote == NULL)) {
		log_error("signer: no account key URI (--key)");
		return SIGNER_ERR_CONFIG;
	}
	if (pin_refused) {
		log_error("signer: not opening the token: it refused the PIN earlier in this run");
		return SIGNER_ERR_PIN;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_error("signer: out of memory");
		return SIGNER_ERR;
	}
	s->fd = -1;
	s->pid = -1;
	if (cfg->remote != NULL) {
		s->stream = 1;
		if ((rc = signer_remote_open(cfg->remote, &s->fd, &s->pid)) != SIGNER_OK) {
			signer_stop(s);
			return rc;
		}
	} else if (signer_fork(cfg, signer_child_main, NULL, &s->fd, &s->pid) < 0) {
		signer_stop(s);
		return SIGNER_ERR;
	}
	*out = s;
	return SIGNER_OK;
}

/* Read the ready message (the child's, or the service's): the algorithm of each key
 * slot, or its error. */
static int ready_read(struct signer *s)
{
	struct wire_msg resp;
	size_t i;
	int rc;

	if ((rc = rt(s, 0, NULL, 0, &resp)) != SIGNER_OK)
		return rc;
	if (resp.nfields != SIGNER_KEY__MAX) {
		log_error("signer: malformed ready message");
		return SIGNER_ERR;
	}
	for (i = 0; i < SIGNER_KEY__MAX; i++)
		if (resp.f[i].len < sizeof(s->alg[i]))
			memcpy(s->alg[i], resp.f[i].p, resp.f[i].len);
	trace("signer-ready");
	return SIGNER_OK;
}

int signer_ready(struct signer *s)
{
	if (s == NULL)
		return SIGNER_ERR;
	if (!s->ready) {
		s->ready_rc = ready_read(s);
		s->ready = 1;
	}
	return s->ready_rc;
}

int signer_start(const struct signer_config *cfg, struct signer **out)
{
	int rc = signer_spawn(cfg, out);

	if (rc == SIGNER_OK && (rc = signer_ready(*out)) != SIGNER_OK) {
		signer_stop(*out);
		*out = NULL;
	}
	return rc;
}

void signer_close(struct signer *s)
{
	if (s != NULL && s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
}

void signer_stop(struct signer *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	/* A child that missed the deadline will not see EOF soon (stuck in a lock or
	 * the token): SIGTERM now (held while SoftHSM rewrites its files), SIGKILL
	 * from signer_reap after its grace period. */
	if (s->hung && !s->stream && s->pid > 0)
		kill(s->pid, SIGTERM);
	signer_reap(s->pid);
	free(s);
}

const char *signer_alg(struct signer *s, enum signer_key key)
{
	static const char *const algs[] = { "ES256", "ES384", "RS256" };
	size_t i;

	if (s == NULL || (unsigned)key >= SIGNER_KEY__MAX || signer_ready(s) != SIGNER_OK)
		return NULL;
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(s->alg[key], algs[i]) == 0)
			return algs[i];
	return NULL;
}

int signer_jwk(struct signer *s, enum signer_key key, char **jwk_json)
{
	return key_request(s, WIRE_OP_JWK, key, jwk_json);
}

int signer_thumbprint(struct signer *s, enum signer_key key, char **thumbprint)
{
	return key_request(s, WIRE_OP_THUMBPRINT, key, thumbprint);
}

/* The sign request's fields: 3, or 4 with kid. */
static size_t sign_fields(struct wire_field f[4], const char *url, const char *nonce,
			  const char *kid, const char *payload)
{
	field_str(&f[0], url);
	field_str(&f[1], nonce);
	field_str(&f[2], payload != NULL ? payload : "");
	if (kid != NULL)
		field_str(&f[3], kid);
	return kid != NULL ? 4 : 3;
}

static int sign_check(struct signer *s, const char *url, const char *nonce)
{
	if (s == NULL || url == NULL || nonce == NULL) {
		log_error("signer: sign: missing url or nonce");
		return SIGNER_ERR;
	}
	return signer_ready(s);
}

int signer_sign(struct signer *s, const char *url, const char *nonce, const char *kid,
		const char *payload, char **jws)
{
	struct wire_field f[4];
	struct wire_msg resp;
	size_t n;
	int rc;

	*jws = NULL;
	if ((rc = sign_check(s, url, nonce)) != SIGNER_OK)
		return rc;
	n = sign_fields(f, url, nonce, kid, payload);
	trace("sign");
	rc = rt(s, WIRE_OP_SIGN, f, n, &resp);
	trace("signed");
	return resp_string(rc, &resp, jws);
}

int signer_sign_send(struct signer *s, const char *url, const char *nonce, const char *kid,
		     const char *payload)
{
	struct wire_field f[4];
	size_t n;
	int rc;

	if ((rc = sign_check(s, url, nonce)) != SIGNER_OK)
		return rc;
	if (s->stream) {
		log_error("signer: a pipelined sign needs the signer's own child");
		return SIGNER_ERR;
	}
	n = sign_fields(f, url, nonce, kid, payload);
	return request_send(s->fd, 0, WIRE_OP_SIGN, f, n) == 0 ? SIGNER_OK : SIGNER_ERR;
}

int signer_sign_take(struct signer *s, char **jws)
{
	struct wire_msg resp;

	*jws = NULL;
	if (s == NULL)
		return SIGNER_ERR;
	return resp_string(rt(s, 0, NULL, 0, &resp), &resp, jws);
}

int signer_fd(const struct signer *s)
{
	return s != NULL ? s->fd : -1;
}

int signer_keychange(struct signer *s, const char *url, const char *account_url,
		     char **inner_jws)
{
	struct wire_field f[2];
	struct wire_msg resp;
	int rc;

	*inner_jws = NULL;
	if (s == NULL || url == NULL || account_url == NULL) {
		log_error("signer: keychange: missing url or account url");
		return SIGNER_ERR;
	}
	if ((rc = signer_ready(s)) != SIGNER_OK)
		return rc;
	field_str(&f[0], url);
	field_str(&f[1], account_url);
	rc = rt(s, WIRE_OP_KEYCHANGE, f, 2, &resp);
	return resp_string(rc, &resp, inner_jws);
}

int signer_csr(struct signer *s, const char *const *names, size_t n_names,
	       unsigned char **der, size_t *der_len)
{
	struct wire_field f[WIRE_MAX_FIELDS];
	struct wire_msg resp;
	size_t i;
	int rc;

	*der = NULL;
	*der_len = 0;
	if (s == NULL || n_names == 0 || n_names > WIRE_MAX_FIELDS) {
		log_error("signer: a CSR needs 1 to %d names", WIRE_MAX_FIELDS);
		return SIGNER_ERR;
	}
	if ((rc = signer_ready(s)) != SIGNER_OK)
		return rc;
	for (i = 0; i < n_names; i++)
		field_str(&f[i], names[i]);
	if ((rc = rt(s, WIRE_OP_CSR, f, n_names, &resp)) != SIGNER_OK)
		return rc;
	if (resp.nfields != 1 || resp.f[0].len == 0 || (*der = malloc(resp.f[0].len)) == NULL) {
		log_error("signer: malformed CSR response");
		return SIGNER_ERR;
	}
	memcpy(*der, resp.f[0].p, resp.f[0].len);
	*der_len = resp.f[0].len;
	return SIGNER_OK;
}
