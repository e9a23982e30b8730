/*
 * client/strict.c: ownership, mode and content checks of renewal confs (strict.h).
 */
#include "client/strict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"

int strict_path_check(const char *path, int want_dir, char *err, size_t errlen)
{
	struct stat st;
	uid_t me = geteuid();

	if (lstat(path, &st) != 0)
		return 0;   /* what does not exist is reported by whoever reads it */
	if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a %s; refusing it (renew acts on what it says)",
			 path, want_dir ? "directory" : "regular file");
		return -1;
	}
	if (st.st_uid != me && st.st_uid != 0) {
		snprintf(err, errlen, "%s: owned by uid %ld, not by root or the user running renew "
			 "(uid %ld), who would run its hooks; refusing it. Fix: chown %ld %s", path,
			 (long)st.st_uid, (long)me, (long)me, path);
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s: writable by %s (mode %04o), who could make renew run any "
			 "command; refusing it. Fix: chmod go-w %s", path,
			 st.st_mode & S_IWOTH ? "others" : "its group",
			 (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	return 0;
}

int strict_text_check(const char *path, const char *text, size_t len, char *err,
		      size_t errlen)
{
	size_t line = 1, start = 0;
	char *copy = NULL;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && text[i] != '\n')
			continue;
		/* one line, tabs and a CR as spaces: what is left must be text */
		if ((copy = strndup(text + start, i - start)) == NULL)
			return -1;
		for (char *p = copy; *p != '\0'; p++)
			if (*p == '\t' || *p == '\r')
				*p = ' ';
		if (strlen(copy) != i - start || !text_is_safe(copy, i - start)) {
			snprintf(err, errlen, "%s:%zu: %s; refusing the whole file (a line cut "
				 "there would silently drop the rest)", path, line,
				 strlen(copy) != i - start ? "a NUL byte" :
				 "a control character or invalid UTF-8");
			free(copy);
			return -1;
		}
		free(copy);
		line++;
		start = i + 1;
	}
	return 0;
}
