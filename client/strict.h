/*
 * client/strict.h: what renew trusts before it acts on a file, as OpenSSH's
 * StrictModes does for authorized_keys: a renewal conf names hooks that run as
 * the user running renew (root, from the timer), so a conf or the renewal
 * directory that another user can write, or that belongs to another user, is
 * refused, and so is a conf with bytes that are not text.
 */
#ifndef P11ACME_CLIENT_STRICT_H
#define P11ACME_CLIENT_STRICT_H

#include <stddef.h>

/* 0 when path (not followed if a symlink: then refused) is owned by the user
 * running (or by root) and not writable by group or others; else -1 with err
 * naming the file, what is wrong and the fix. want_dir: a directory, else a
 * regular file. */
int strict_path_check(const char *path, int want_dir, char *err, size_t errlen);

/* 0 when the conf text (len bytes) holds only text: no NUL, no control
 * character other than tab, CR and newline, valid UTF-8; else -1 with err
 * naming path and the line. */
int strict_text_check(const char *path, const char *text, size_t len, char *err,
		      size_t errlen);

#endif
