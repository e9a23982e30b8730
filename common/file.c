#include "common/common.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a file of mode m is when it is not a regular file, else NULL. */
static const char *file_kind(mode_t m)
{
	if (S_ISREG(m))
		return NULL;
	if (S_ISFIFO(m))
		return "a FIFO, not a regular file";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device, not a regular file";
	if (S_ISDIR(m))
		return "a directory, not a regular file";
	if (S_ISLNK(m))
		return "a symbolic link, not a regular file";
	if (S_ISSOCK(m))
		return "a socket, not a regular file";
	return "not a regular file";
}

const char *file_error(const char *path, int err, int flags)
{
	struct stat st;
	const char *kind;

	if (err == EFBIG)
		return "larger than such a file can be";
	if (((flags & FILE_NOFOLLOW) ? lstat(path, &st) : stat(path, &st)) == 0 &&
	    (kind = file_kind(st.st_mode)) != NULL)
		return kind;
	return strerror(err);
}

int file_regular(const char *path, int flags)
{
	struct stat st;

	if (((flags & FILE_NOFOLLOW) ? lstat(path, &st) : stat(path, &st)) != 0)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* open(2) for file_read: a descriptor, or -1 with errno. */
static int file_open(const char *path, int flags)
{
	int fd, oflags = O_RDONLY | O_CLOEXEC | (flags & FILE_NOFOLLOW ? O_NOFOLLOW : 0) |
			 (flags & FILE_REGULAR ? O_NONBLOCK : 0);
	struct stat st;

	/* A FIFO or a device where a regular file belongs is not even opened (a
	 * terminal or a tape acts on open); one swapped in after the stat is caught
	 * below, and O_NONBLOCK makes its open return at once. */
	if ((flags & FILE_REGULAR) && file_regular(path, flags) != 0)
		return -1;
	if ((fd = open(path, oflags)) < 0)
		return -1;
	if ((flags & FILE_REGULAR) && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

char *file_read(const char *path, size_t maxlen, size_t *len, int flags)
{
	size_t cap = 4096, n = 0;
	char *buf = NULL, *nb;
	ssize_t r;
	int fd = file_open(path, flags);

	if (fd < 0)
		return NULL;
	buf = malloc(cap + 1);
	if (buf == NULL)
		goto fail;
	for (;;) {
		if (n == cap) {
			if (cap > maxlen) {
				errno = EFBIG;
				goto fail;
			}
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (nb == NULL)
				goto fail;
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > maxlen) {
			errno = EFBIG;
			goto fail;
		}
	}
	close(fd);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
fail:
	r = errno;
	close(fd);
	free(buf);
	errno = (int)r;
	return NULL;
}

static char *dir_of(const char *path)
{
	char *copy = strdup(path), *d;

	if (copy == NULL)
		return NULL;
	d = strdup(dirname(copy));
	free(copy);
	return d;
}

int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int pid_is_gone(long pid)
{
	return pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

#define TMP_PREFIX ".p11acme-tmp-"

/* Remove the temporaries of writers that were killed before their rename: the
 * temporary's name carries the writer's PID, and only dead writers' files go. */
static void sweep_stale_tmp(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *end, *p;
	long pid;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0)
			continue;
		pid = strtol(e->d_name + strlen(TMP_PREFIX), &end, 10);
		if (*end != '-' || !pid_is_gone(pid))
			continue;
		if ((p = xasprintf("%s/%s", dir, e->d_name)) != NULL)
			unlink(p);
		free(p);
	}
	closedir(d);
}

int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char *dir = dir_of(path), *tmp = NULL;
	int fd = -1, saved, created = 0;

	if (dir == NULL)
		return -1;
	sweep_stale_tmp(dir);
	tmp = xasprintf("%s/" TMP_PREFIX "%ld-XXXXXX", dir, (long)getpid());
	if (tmp == NULL)
		goto fail;
	fd = mkstemp(tmp);
	if (fd < 0)
		goto fail;
	created = 1;
	if (fchmod(fd, mode) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	fsync_dir(dir);
	free(tmp);
	free(dir);
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (created)
		unlink(tmp);
	free(tmp);
	free(dir);
	errno = saved;
	return -1;
}

int mkdir_p(const char *path, mode_t mode)
{
	char *copy = strdup(path), *p;
	struct stat st;

	if (copy == NULL)
		return -1;
	for (p = copy + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(copy, mode) < 0 && errno != EEXIST) {
				free(copy);
				return -1;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	free(copy);
	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}
