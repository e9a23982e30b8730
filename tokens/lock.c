/*
 * Serialise token opening across processes. SoftHSM rewrites its token files on every
 * C_Login, and a process that loads the module and enumerates slots at that moment
 * misses the token or gets CKR_GENERAL_ERROR (0.5-9% of concurrent starts). The lock is
 * taken before the module is loaded, when the token's own identity is not yet known, so
 * it is keyed by what decides which token files a module sees: the module's real path
 * and SoftHSM's SOFTHSM2_CONF. Unrelated tokens behind one module therefore share a
 * lock; opening takes milliseconds, so that costs little.
 */
#include "tokens/tok_int.h"
#include "common/common.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#define LOCK_WAIT_SAY_MS 1000     /* then say which lock file we wait for */
#define LOCK_WAIT_MAX_S 300       /* the run's deadline (the parent's) usually ends it first */
#define LOCK_POLL_MS 20

/* A directory only this user can create files in: ours (or root's), not
 * writable by group or others, not a symlink. Made 0700 when missing; one of
 * ours that others could write to (an older p11acme made /run/lock/p11acme
 * 01777) is narrowed to 0700. 0, or -1 after logging. */
static int lock_dir_private(const char *d)
{
	struct stat st;
	uid_t me = geteuid();

	if (mkdir(d, 0700) != 0 && errno != EEXIST) {
		log_error("cannot create the token lock directory %s: %s", d, strerror(errno));
		return -1;
	}
	if (lstat(d, &st) != 0 || !S_ISDIR(st.st_mode) || (st.st_uid != me && st.st_uid != 0)) {
		log_error("%s: not a directory of this user's (uid %ld); the token lock must live "
			  "where no other user can create it (set P11ACME_LOCK_DIR)", d, (long)me);
		return -1;
	}
	if ((st.st_mode & 022) == 0)
		return 0;
	if (st.st_uid != me || chmod(d, 0700) != 0) {
		log_error("%s: writable by other users (mode %04o); fix: chmod 0700 %s", d,
			  (unsigned)(st.st_mode & 07777), d);
		return -1;
	}
	log_warn("%s was writable by other users (mode %04o); narrowed to 0700", d,
		 (unsigned)(st.st_mode & 07777));
	return 0;
}

/* $P11ACME_LOCK_DIR; else root's own /run/lock/p11acme (0700, shared by root's
 * interactive runs and the timer's unit); else $XDG_RUNTIME_DIR/p11acme, else
 * /tmp/p11acme-<uid>: each user's own, so that no other user can hold the lock. */
const char *tok_lock_dir(void)
{
	static char buf[PATH_MAX];
	const char *d = getenv("P11ACME_LOCK_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");

	if (d != NULL && d[0] != '\0')
		return d;
	if (geteuid() == 0)
		return "/run/lock/p11acme";
	if (xdg != NULL && xdg[0] == '/')
		snprintf(buf, sizeof(buf), "%s/p11acme", xdg);
	else
		snprintf(buf, sizeof(buf), "/tmp/p11acme-%ld", (long)geteuid());
	return buf;
}

/* "p11acme-<16 hex of sha256(realpath(module) NUL SOFTHSM2_CONF)>.lock" */
static int lock_name(const char *module, char *buf, size_t len)
{
	char real[PATH_MAX];
	const char *conf = getenv("SOFTHSM2_CONF");
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	int ok;

	if (realpath(module, real) == NULL)
		snprintf(real, sizeof(real), "%s", module);
	ok = h != NULL && EVP_DigestInit_ex(h, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(h, real, strlen(real) + 1) &&
	     EVP_DigestUpdate(h, conf != NULL ? conf : "", conf != NULL ? strlen(conf) : 0) &&
	     EVP_DigestFinal_ex(h, md, &mdlen);
	EVP_MD_CTX_free(h);
	if (!ok)
		return -1;
	snprintf(buf, len, "%s/p11acme-%02x%02x%02x%02x%02x%02x%02x%02x.lock", tok_lock_dir(),
		 md[0], md[1], md[2], md[3], md[4], md[5], md[6], md[7]);
	return 0;
}

/* Open (create 0600) the lock file: ours, a regular file. fd or -1 (logged). */
static int lock_open(const char *path)
{
	struct stat st;
	int fd;

	if (lock_dir_private(tok_lock_dir()) != 0)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd < 0) {
		log_error("cannot open the token lock file %s: %s (set P11ACME_LOCK_DIR to a "
			  "writable directory)", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    fchmod(fd, 0600) != 0) {
		log_error("%s: not a regular file of this user's; refusing it as the token lock", path);
		close(fd);
		return -1;
	}
	return fd;
}

int tok_lock(const char *module)
{
	const struct timespec tick = { 0, LOCK_POLL_MS * 1000000L };
	char path[PATH_MAX];
	long waited = 0;
	int fd;

	if (lock_name(module, path, sizeof(path)) != 0) {
		log_error("%s: cannot compute the token lock file name", module);
		return -1;
	}
	if ((fd = lock_open(path)) < 0)
		return -1;
	/* Polled, not a blocking flock: bounded, and it says what it waits for. */
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			log_error("cannot lock %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (waited == LOCK_WAIT_SAY_MS)
			log_warn("waiting for the token lock %s: another p11acme process holds it", path);
		if (waited >= LOCK_WAIT_MAX_S * 1000L) {
			log_error("%s: still held by another process after %d s; giving up", path,
				  LOCK_WAIT_MAX_S);
			close(fd);
			return -1;
		}
		nanosleep(&tick, NULL);
		waited += LOCK_POLL_MS;
	}
	return fd;
}

void tok_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* closing the only descriptor releases the flock */
}

/* SoftHSM rewrites its token file during C_Login and C_GenerateKeyPair; a process
 * killed in the middle leaves the file truncated and the token gone. Termination
 * signals are therefore held (not lost) across those calls and acted on afterwards.
 * SIGKILL cannot be held: the signer arms PR_SET_PDEATHSIG with SIGTERM for this. */
void tok_hold_signals(sigset_t *old)
{
	sigset_t set;

	term_sigset(&set);
	sigprocmask(SIG_BLOCK, &set, old);
}

void tok_release_signals(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}
