/*
 * PIN failure markers. A token that refuses a PIN (CKR_PIN_INCORRECT, _INVALID,
 * _LEN_RANGE, _EXPIRED, _LOCKED) has used up one of its few tries; a smartcard locks
 * after three, an HSM or a TPM counts them towards a lockout. An unattended renewal
 * that tries the same PIN again every hour locks the token within a day. So after a
 * refusal, a marker file records which PIN source was refused, and no login with
 * that same source is tried again until the source changes or the marker is removed.
 *
 * The marker names the token (its file name is a hash of the token's label, serial,
 * manufacturer and model, and SOFTHSM2_CONF, whatever module reaches the token) and records the PIN source's identity, never
 * the PIN or anything computed from it:
 *   file:PATH  "file:PATH dev=D ino=I mtime=S.N": editing or replacing the file
 *              changes it, so a fixed PIN file is tried once more by itself;
 *              a systemd credential ($CREDENTIALS_DIRECTORY/NAME) is a fresh copy
 *              on every start, so it is "credential:NAME" (removal clears it);
 *   fd:N       the same for a regular file behind the descriptor, else "fd:N";
 *   env:NAME   "env:NAME"; pin-value "pin-value": these cannot change visibly, so
 *              the administrator removes the marker after fixing the PIN.
 * A PIN typed at a terminal is neither checked nor recorded: a person is there.
 * A successful login removes the token's marker.
 */
#include "tokens/tok_int.h"
#include "common/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#define MARK_MAX 4096

static void stat_identity(const char *what, const struct stat *st, char *buf, size_t len)
{
	snprintf(buf, len, "%s dev=%lu ino=%lu mtime=%lld.%09ld", what, (unsigned long)st->st_dev,
		 (unsigned long)st->st_ino, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
}

/* NAME when path is $CREDENTIALS_DIRECTORY/NAME, else NULL. */
static const char *credential_name(const char *path)
{
	const char *d = getenv("CREDENTIALS_DIRECTORY");
	size_t n = d != NULL ? strlen(d) : 0;

	while (n > 1 && d[n - 1] == '/')
		n--;
	if (n == 0 || strncmp(path, d, n) != 0 || path[n] != '/' || path[n + 1] == '\0' ||
	    strchr(path + n + 1, '/') != NULL)
		return NULL;
	return path + n + 1;
}

/* The identity of a PIN source (see above) in buf; 0 when there is none to record
 * (a terminal prompt). */
static int source_identity(const char *source, const char *pin_value, char *buf, size_t len)
{
	struct tok_pin_source ps;
	struct stat st;

	if (source == NULL) {
		snprintf(buf, len, "pin-value");
		return pin_value != NULL;
	}
	snprintf(buf, len, "%s", source);
	if (tok_pin_source_parse(source, &ps) != TOK_OK)
		return 1;
	if (ps.kind == TOK_PIN_FILE && credential_name(ps.name) != NULL)
		snprintf(buf, len, "credential:%s", credential_name(ps.name));
	else if (ps.kind == TOK_PIN_FILE && stat(ps.name, &st) == 0)
		stat_identity(source, &st, buf, len);
	else if (ps.kind == TOK_PIN_FILE)
		snprintf(buf, len, "%s (missing)", source);
	else if (ps.kind == TOK_PIN_FD && fstat(ps.fd, &st) == 0 && S_ISREG(st.st_mode))
		stat_identity(source, &st, buf, len);
	return 1;
}

/* The marker directory: the caller's (the client's config dir), else the lock dir. */
static char *mark_dir(const struct tok_ctx *c)
{
	if (c->mark_dir != NULL)
		return xasprintf("%s/pin-failed", c->mark_dir);
	return xasprintf("%s/pin-failed-%lu", tok_lock_dir(), (unsigned long)geteuid());
}

/* DIR/<label, safe characters only>.<16 hex of sha256(label NUL serial NUL manufacturer
 * NUL model NUL SOFTHSM2_CONF)>. SoftHSM tokens copied from one another share a serial;
 * SOFTHSM2_CONF tells them apart. */
static char *mark_path(const struct tok_ctx *c)
{
	const PKCS11_TOKEN *t = c->slot->token;
	const char *parts[5] = { t->label, t->serialnr, t->manufacturer, t->model,
				 getenv("SOFTHSM2_CONF") };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char safe[40], *dir = NULL, *path = NULL;
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	int ok = h != NULL && EVP_DigestInit_ex(h, EVP_sha256(), NULL);

	for (i = 0; ok && i < 5; i++)
		ok = EVP_DigestUpdate(h, parts[i] ? parts[i] : "", parts[i] ? strlen(parts[i]) + 1 : 1);
	ok = ok && EVP_DigestFinal_ex(h, md, &mdlen) && mdlen >= 8;
	EVP_MD_CTX_free(h);
	for (i = 0; t->label != NULL && t->label[i] != '\0' && i < sizeof(safe) - 1; i++)
		safe[i] = (t->label[i] >= 'a' && t->label[i] <= 'z') ||
			  (t->label[i] >= 'A' && t->label[i] <= 'Z') ||
			  (t->label[i] >= '0' && t->label[i] <= '9') || t->label[i] == '-' ||
			  t->label[i] == '_' ? t->label[i] : '_';
	safe[i] = '\0';
	if (ok && (dir = mark_dir(c)) != NULL)
		path = xasprintf("%s/%s.%02x%02x%02x%02x%02x%02x%02x%02x", dir, safe, md[0], md[1],
				 md[2], md[3], md[4], md[5], md[6], md[7]);
	free(dir);
	return path;
}

/* The value of the "KEY: " line of marker text m, copied into buf ("" when absent). */
static void mark_field(const char *m, const char *key, char *buf, size_t len)
{
	size_t kl = strlen(key), n;
	const char *p = m, *e;

	buf[0] = '\0';
	for (; p != NULL && *p != '\0'; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, key, kl) != 0 || p[kl] != ':' || p[kl + 1] != ' ')
			continue;
		p += kl + 2;
		e = strchr(p, '\n');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), p);
		return;
	}
}

/* Only our own markers count: another user must not be able to stop our logins. */
static char *mark_read(const char *path)
{
	struct stat st;
	char *m;

	if (lstat(path, &st) != 0)
		return NULL;
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		log_warn("ignoring the PIN failure marker %s: not a regular file of this user", path);
		return NULL;
	}
	if ((m = file_read(path, MARK_MAX, NULL, FILE_NOFOLLOW | FILE_REGULAR)) == NULL)
		log_warn("cannot read the PIN failure marker %s: %s", path, strerror(errno));
	return m;
}

static void refuse(const struct tok_ctx *c, const char *source, const char *path,
		   const char *m)
{
	struct tok_pin_source ps;
	int parsed = source != NULL && tok_pin_source_parse(source, &ps) == TOK_OK;
	char err[64], when[64];
	const char *fix;

	mark_field(m, "error", err, sizeof(err));
	mark_field(m, "time", when, sizeof(when));
	if (parsed && ps.kind == TOK_PIN_FILE && credential_name(ps.name) != NULL)
		fix = "put the right PIN into the file the unit loads this credential from "
		      "(LoadCredential=), then";
	else if (parsed && ps.kind == TOK_PIN_FILE)
		fix = "put the right PIN into the PIN file (any change to the file allows one "
		      "new try), or";
	else if (parsed && ps.kind == TOK_PIN_ENV)
		fix = "set the right PIN in the variable, then";
	else
		fix = "fix the PIN, then";
	log_error("%s: token '%s' refused the PIN from %s before (%s, %s); not trying it again, "
		  "since each wrong PIN uses up one of the token's tries: %s remove %s",
		  c->uri, c->slot->token->label, source != NULL ? source : "pin-value in the URI",
		  err[0] ? err : "?", when[0] ? when : "earlier run", fix, path);
}

int tok_pinmark_check(struct tok_ctx *c, const char *source, const char *pin_value)
{
	char id[PATH_MAX + 128], seen[PATH_MAX + 128];
	char *m = NULL;
	int rc = TOK_OK;

	if (!source_identity(source, pin_value, id, sizeof(id)))
		return TOK_OK;
	free(c->mark_path);
	if ((c->mark_path = mark_path(c)) == NULL || (m = mark_read(c->mark_path)) == NULL)
		return TOK_OK;
	mark_field(m, "source", seen, sizeof(seen));
	if (strcmp(seen, id) == 0) {
		refuse(c, source, c->mark_path, m);
		rc = TOK_ERR_PIN;
	} else {
		log_info("%s: the PIN source changed since token '%s' refused a PIN (%s); trying it",
			 c->uri, c->slot->token->label, c->mark_path);
	}
	free(m);
	return rc;
}

void tok_pinmark_set(struct tok_ctx *c, const char *source, const char *pin_value,
		     unsigned long rv)
{
	char id[PATH_MAX + 128], when[32], *dir = NULL, *text = NULL;
	time_t now = time(NULL);
	struct tm tm;

	if (!source_identity(source, pin_value, id, sizeof(id)) || c->mark_path == NULL)
		return;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	text = xasprintf("# p11acme: token '%s' refused the PIN from this source. No login is tried\n"
			 "# with the same source until it changes or this file is removed.\n"
			 "token: %s\nserial: %s\nmodule: %s\nsource: %s\nerror: %s\ntime: %s\n",
			 c->slot->token->label, c->slot->token->label, c->slot->token->serialnr,
			 c->module, id, tok_ckr_name(rv), when);
	dir = mark_dir(c);
	if (text == NULL || dir == NULL || mkdir_p(dir, 0700) != 0 ||
	    file_write_atomic(c->mark_path, text, strlen(text), 0600) != 0) {
		log_warn("cannot record the refused PIN in %s: %s; a later run will try this PIN "
			 "again", c->mark_path, strerror(errno));
		goto out;
	}
	log_error("%s: recorded in %s; later runs will not try this PIN source again until it "
		  "changes or that file is removed", c->uri, c->mark_path);
out:
	free(dir);
	free(text);
}

void tok_pinmark_clear(struct tok_ctx *c)
{
	if (c->mark_path != NULL && unlink(c->mark_path) == 0)
		log_info("%s: the PIN works now; removed %s", c->uri, c->mark_path);
}

int tok_pin_refused(unsigned long rv)
{
	return rv == CKR_PIN_INCORRECT || rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE ||
	       rv == CKR_PIN_EXPIRED || rv == CKR_PIN_LOCKED;
}
