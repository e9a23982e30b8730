/*
 * Who a client of the signer service is: the kernel's peer credentials of its
 * connection (SO_PEERCRED, fixed at connect time, so a client cannot change them
 * by passing the socket on), mapped to the user name and the groups of that uid in
 * the user database. Over SSH, a forwarded socket and a forced command both connect
 * as the login user, so one login per host is one identity per host.
 */
#include "signer/internal.h"
#include "common/common.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#define ID_MAX_GROUPS 1024

static long buf_size(int name)
{
	long n = sysconf(name);

	return n > 0 && n < 1024 * 1024 ? n : 16384;
}

static int add_group(struct peer_id *id, gid_t gid)
{
	struct group gr, *res = NULL;
	long bl = buf_size(_SC_GETGR_R_SIZE_MAX);
	char *buf = NULL, *name = NULL;
	int r;

	/* Large groups need a larger buffer than sysconf suggests. */
	for (;;) {
		free(buf);
		if ((buf = malloc((size_t)bl)) == NULL)
			return -1;
		r = getgrgid_r(gid, &gr, buf, (size_t)bl, &res);
		if (r != ERANGE || bl >= 4 * 1024 * 1024)
			break;
		bl *= 2;
	}
	if (r == 0 && res != NULL)
		name = strdup(gr.gr_name);
	free(buf);
	if (name == NULL)   /* a gid without a name matches no [group] section */
		return 0;
	id->groups[id->n_groups++] = name;
	return 0;
}

static int load_groups(struct peer_id *id, const char *user, gid_t primary)
{
	gid_t *gids = NULL;
	int n = 64, i, rc = -1;

	for (;;) {
		free(gids);
		if ((gids = malloc((size_t)n * sizeof(*gids))) == NULL)
			return -1;
		if (getgrouplist(user, primary, gids, &n) >= 0)
			break;
		/* n is now the number needed; a user in absurdly many groups is refused. */
		if (n > ID_MAX_GROUPS) {
			log_error("signer: user %s is in more than %d groups", user, ID_MAX_GROUPS);
			goto out;
		}
	}
	if ((id->groups = calloc((size_t)n, sizeof(*id->groups))) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if (add_group(id, gids[i]) < 0)
			goto out;
	rc = 0;
out:
	free(gids);
	return rc;
}

int peer_lookup(uid_t uid, struct peer_id *id)
{
	struct passwd pw, *res = NULL;
	long bl = buf_size(_SC_GETPW_R_SIZE_MAX);
	char *buf = NULL;
	int rc = -1;

	id->uid = uid;
	if ((buf = malloc((size_t)bl)) == NULL)
		return -1;
	if (getpwuid_r(uid, &pw, buf, (size_t)bl, &res) != 0 || res == NULL) {
		/* No passwd entry: no user name and no groups, so no section matches. */
		snprintf(id->user, sizeof(id->user), "uid:%u", (unsigned)uid);
		id->known = 0;
		rc = 0;
		goto out;
	}
	if (strlen(pw.pw_name) >= sizeof(id->user)) {
		snprintf(id->user, sizeof(id->user), "uid:%u", (unsigned)uid);
		rc = 0;
		goto out;
	}
	snprintf(id->user, sizeof(id->user), "%s", pw.pw_name);
	id->known = 1;
	rc = load_groups(id, pw.pw_name, pw.pw_gid);
out:
	free(buf);
	return rc;
}

int peer_identify(int fd, struct peer_id *id)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	memset(id, 0, sizeof(*id));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || len != sizeof(cr)) {
		log_error("signer: SO_PEERCRED: %s", strerror(errno));
		return -1;
	}
	id->pid = cr.pid;
	return peer_lookup(cr.uid, id);
}

void peer_free(struct peer_id *id)
{
	size_t i;

	for (i = 0; i < id->n_groups; i++)
		free(id->groups[i]);
	free(id->groups);
	id->groups = NULL;
	id->n_groups = 0;
}

int peer_lookup_name(const char *user, struct peer_id *id)
{
	struct passwd pw, *res = NULL;
	long bl = buf_size(_SC_GETPW_R_SIZE_MAX);
	char *buf = NULL;
	int rc = -1;

	memset(id, 0, sizeof(*id));
	if ((buf = malloc((size_t)bl)) == NULL)
		return -1;
	if (getpwnam_r(user, &pw, buf, (size_t)bl, &res) == 0 && res != NULL)
		rc = peer_lookup(pw.pw_uid, id);
	free(buf);
	return rc;
}
