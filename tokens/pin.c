/*
 * PIN sources. A PIN never comes from argv (it would show in ps and shell history).
 * Exactly one trailing "\n" or "\r\n" is stripped, because a file written by echo
 * otherwise fails, and every failure burns one of the token's few retries. For the
 * same reason a PIN that still ends in a newline after that (a file with a blank line
 * at its end) is refused before any login: no token PIN ends in a line break.
 */
#include "tokens/tokens.h"
#include "common/common.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/crypto.h>

#define PIN_MAX 1024

static void pin_strip_newline(char *pin)
{
	size_t n = strlen(pin);

	if (n > 0 && pin[n - 1] == '\n') {
		pin[--n] = '\0';
		if (n > 0 && pin[n - 1] == '\r')
			pin[--n] = '\0';
	}
}

/* Common checks after a read: one newline stripped, not empty, no NUL inside. */
static char *pin_finish(char *pin, size_t len, const char *from, const char *what)
{
	if (pin == NULL)
		return NULL;
	if (strlen(pin) != len) {
		log_error("%s: the PIN from %s contains a NUL byte", what, from);
		goto bad;
	}
	pin_strip_newline(pin);
	if (pin[0] == '\0') {
		log_error("%s: the PIN from %s is empty", what, from);
		goto bad;
	}
	if (pin[strlen(pin) - 1] == '\n' || pin[strlen(pin) - 1] == '\r') {
		log_error("%s: the PIN from %s ends in more than one line break; not logging in "
			  "with it (a wrong PIN uses up one of the token's tries): remove the blank "
			  "line(s) at its end, one newline is fine", what, from);
		goto bad;
	}
	return pin;
bad:
	OPENSSL_cleanse(pin, len);
	free(pin);
	return NULL;
}

/* A PIN file others can read is a PIN others know: warn (the login still goes on). */
static void pin_file_mode(const char *path, const char *what)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & (S_IRGRP | S_IROTH)))
		log_warn("%s: the PIN file %s is readable by %s (mode %04o); make it readable by "
			 "its owner only: chmod 600 %s", what, path,
			 (st.st_mode & S_IROTH) ? "every user" : "its group",
			 (unsigned int)(st.st_mode & 07777), path);
}

static char *pin_from_file(const char *path, const char *what)
{
	size_t len = 0;
	/* a regular file only: a FIFO or a terminal would block the run */
	char *pin = file_read(path, PIN_MAX, &len, FILE_REGULAR);
	int err = errno;

	if (pin != NULL)
		pin_file_mode(path, what);

	if (pin == NULL) {
		log_error("%s: cannot read the PIN file %s: %s%s", what, path,
			  err == EFBIG ? "larger than a PIN can be" : file_error(path, err, FILE_REGULAR),
			  err == EINVAL ? "; name a regular file holding only the PIN (chmod 600 it), "
			  "or pass a pipe as --pin-source fd:N" : "");
		return NULL;
	}
	return pin_finish(pin, len, path, what);
}

/* Copy, then wipe the value in place (it may live in the block that /proc/PID/environ
 * shows) and unset it, so that hooks and children do not inherit the PIN. */
static char *pin_from_env(const char *name, const char *what)
{
	char *val = getenv(name);
	char *pin = NULL;
	size_t len;

	if (val == NULL) {
		log_error("%s: the PIN variable %s is not set", what, name);
		return NULL;
	}
	len = strlen(val);
	pin = strdup(val);
	OPENSSL_cleanse(val, len);
	unsetenv(name);
	if (pin == NULL) {
		log_error("%s: out of memory reading the PIN", what);
		return NULL;
	}
	return pin_finish(pin, len, name, what);
}

/* Read up to PIN_MAX bytes from fd until EOF; the fd (unless 0-2) is closed after. */
static char *pin_from_fd(int fd, const char *what)
{
	char *pin = calloc(1, PIN_MAX + 1);
	size_t len = 0;
	ssize_t n;

	if (pin == NULL)
		goto out;
	while (len < PIN_MAX && (n = read(fd, pin + len, PIN_MAX - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("%s: cannot read the PIN from fd %d: %s", what, fd, strerror(errno));
			OPENSSL_cleanse(pin, PIN_MAX);
			free(pin);
			pin = NULL;
			goto out;
		}
		len += (size_t)n;
	}
	pin[len] = '\0';
	pin = pin_finish(pin, len, "the file descriptor", what);
out:
	if (fd > 2) /* keep stdin/stdout/stderr valid for the rest of the process */
		close(fd);
	return pin;
}

/* No-echo prompt on the terminal (stdin). */
static char *pin_from_tty(const char *what)
{
	struct termios old, noecho;
	char *pin = calloc(1, PIN_MAX + 2);
	int restore = 0;

	if (pin == NULL)
		return NULL;
	if (tcgetattr(STDIN_FILENO, &old) == 0) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho) == 0;
	}
	fprintf(stderr, "PIN for %s: ", what);
	fflush(stderr);
	if (fgets(pin, PIN_MAX + 2, stdin) == NULL)
		pin[0] = '\0';
	if (restore)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return pin_finish(pin, strlen(pin), "the terminal", what);
}

int tok_pin_source_parse(const char *source, struct tok_pin_source *out)
{
	long v;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (source == NULL)
		return TOK_ERR_CONFIG;
	if (strncmp(source, "file:", 5) == 0 || source[0] == '/') {
		out->kind = TOK_PIN_FILE;
		out->name = source[0] == '/' ? source : source + 5;
		return TOK_OK;
	}
	if (strncmp(source, "env:", 4) == 0 && source[4] != '\0') {
		out->kind = TOK_PIN_ENV;
		out->name = source + 4;
		return TOK_OK;
	}
	if (strncmp(source, "fd:", 3) == 0 && parse_long(source + 3, 0, INT_MAX, &v) == 0) {
		out->kind = TOK_PIN_FD;
		out->fd = (int)v;
		return TOK_OK;
	}
	return TOK_ERR_CONFIG;
}

static char *pin_from_source(const char *source, const char *what)
{
	struct tok_pin_source ps;

	if (tok_pin_source_parse(source, &ps) != TOK_OK) {
		log_error("%s: unusable PIN source '%s' (use file:PATH, env:NAME or fd:N)", what,
			  source);
		return NULL;
	}
	switch (ps.kind) {
	case TOK_PIN_FILE: return pin_from_file(ps.name, what);
	case TOK_PIN_ENV: return pin_from_env(ps.name, what);
	default: return pin_from_fd(ps.fd, what);
	}
}

char *tok_pin_read(const char *source, const char *pin_value, const char *what)
{
	char *pin = NULL;

	if (what == NULL)
		what = "token";
	if (source != NULL)
		return pin_from_source(source, what);
	if (pin_value != NULL) {
		log_warn("%s: PIN taken from pin-value in the URI; it shows in ps and logs, "
			 "use pin-source=file:PATH instead", what);
		pin = strdup(pin_value);
		if (pin == NULL)
			log_error("%s: out of memory reading the PIN", what);
		return pin;
	}
	if (isatty(STDIN_FILENO))
		return pin_from_tty(what);
	log_error("%s: no PIN source: give --pin-source file:PATH|env:NAME|fd:N, or "
		  "pin-source= in the URI, or run on a terminal to be asked", what);
	return NULL;
}

void tok_pin_forget(const char *source)
{
	struct tok_pin_source ps;
	char *val = NULL;

	if (tok_pin_source_parse(source, &ps) != TOK_OK)
		return;
	if (ps.kind == TOK_PIN_ENV) {
		val = getenv(ps.name);
		if (val != NULL)
			OPENSSL_cleanse(val, strlen(val));
		unsetenv(ps.name);
	} else if (ps.kind == TOK_PIN_FD && ps.fd > 2) {
		close(ps.fd);
	}
}
