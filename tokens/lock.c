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

/* $P11ACME_LOCK_DIR, else /run/lock/p11acme when we can use it, else /tmp. */
const char *tok_lock_dir(void)
{
	const char *d = getenv("P11ACME_LOCK_DIR");

	if (d != NULL && d[0] != '\0')
		return d;
	/* world-writable and sticky like /tmp: users with their own tokens share it */
	if (mkdir("/run/lock/p11acme", 01777) == 0)
		chmod("/run/lock/p11acme", 01777);
	if (access("/run/lock/p11acme", W_OK | X_OK) == 0)
		return "/run/lock/p11acme";
	return "/tmp";
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

int tok_lock(const char *module)
{
	char path[PATH_MAX];
	int fd;

	if (lock_name(module, path, sizeof(path)) != 0) {
		log_error("%s: cannot compute the token lock file name", module);
		return -1;
	}
	/* read-only is enough for flock, and works for a file another user created */
	fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
	if (fd < 0) {
		log_error("cannot open the token lock file %s: %s (set P11ACME_LOCK_DIR to a "
			  "writable directory)", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		log_debug("waiting for the token lock %s", path);
		while (flock(fd, LOCK_EX) != 0) {
			if (errno == EINTR)
				continue;
			log_error("cannot lock %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
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
