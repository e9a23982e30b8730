/*
 * common/: the bottom layer, used by tokens/, signer/ and client/.
 * Logging, base64url, bounded file reading and atomic file writing, bounded
 * numbers and sleeps, the CSR builder and the pin-value redactor.
 * Nothing here knows about PKCS#11, JWS or ACME.
 */
#ifndef P11ACME_COMMON_H
#define P11ACME_COMMON_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>
#include <openssl/types.h>

/* ---- Logging: messages go to stderr, results to stdout. ---- */

enum log_level { LOG_QUIET = -1, LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Current verbosity; messages above it are dropped. Default LOG_WARN+1 (info). */
extern int log_verbosity;

/* Print "p11acme: <msg>\n" to stderr when level <= log_verbosity.
 * Errors are prefixed "error: ", warnings "warning: ". When stderr is the journal
 * (JOURNAL_STREAM), or P11ACME_LOG_PRIORITIES=1 asks for it (logger --prio-prefix),
 * each line starts with its sd-daemon priority: <3> error, <4> warning, <6> info,
 * <7> debug, so that `journalctl -p err` shows the failures. */
void logmsg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* That priority prefix for a line at level, or "" (for lines not printed by logmsg). */
const char *log_sd_prefix(int level);
/* The last error line logged (also one that -q printed nowhere, not thread-safe),
 * "" when none since log_last_error_clear: for --json results that carry the real
 * error. */
const char *log_last_error(void);
void log_last_error_clear(void);
#define log_error(...) logmsg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  logmsg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  logmsg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) logmsg(LOG_DEBUG, __VA_ARGS__)

/* Drain the OpenSSL error queue into one debug line per error (and discard it). */
void log_openssl_errors(const char *context);

/* ---- Sanitising text from outside (common/sanitize.c) ----
 * Every string a CA (or a file it influenced) sent is shown through these before
 * it is printed or logged: printable ASCII and valid UTF-8 stay as they are;
 * control characters (also C1 and DEL) and invalid UTF-8 become "\xNN" ("\n",
 * "\r", "\t" for those); at most `max` input bytes are kept, and the rest is
 * replaced by "...(N bytes cut)". logmsg() applies the same to its whole line. */
#define SANITIZE_FIELD_MAX 1024   /* one field of a message: a detail, a URL */
#define SANITIZE_NOTE_MAX 40      /* room for "...(N bytes cut)" */

/* Into out (outlen bytes, NUL-terminated); returns strlen(out). s NULL: "(none)". */
size_t sanitize_into(char *out, size_t outlen, const char *s, size_t len, size_t max);
/* The same, malloc'd; NULL on allocation failure. */
char *sanitize_dup(const char *s, size_t len, size_t max);
/* s (NUL-terminated, may be NULL) sanitised and bounded to SANITIZE_FIELD_MAX, in
 * one of 8 per-thread buffers: for a log argument, valid until 8 more calls. */
const char *safe_str(const char *s);
/* 1 when s holds only newlines, printable ASCII and valid UTF-8 without C1
 * controls: what may reach a terminal (tests and fuzz targets assert it). */
int text_is_safe(const char *s, size_t len);

/* ---- base64url (RFC 4648 §5), no padding. ---- */

/* Returns a malloc'd NUL-terminated string, or NULL on allocation failure. */
char *b64url_encode(const unsigned char *data, size_t len);

/* Decodes unpadded (or padded) base64url. Returns a malloc'd buffer (NUL-terminated
 * for convenience, *outlen excludes it), or NULL on invalid input. */
unsigned char *b64url_decode(const char *s, size_t *outlen);

/* Standard base64 (RFC 4648 §4, "+/") or base64url, padded or not, as
 * b64url_decode. For keys a person copied from a CA's page. */
unsigned char *b64any_decode(const char *s, size_t *outlen);

/* 1 when s is non-empty, at most maxlen chars, and only [A-Za-z0-9_-]. */
int b64url_valid(const char *s, size_t maxlen);

/* Standard base64 with padding, malloc'd (for PEM bodies). */
char *b64_encode(const unsigned char *data, size_t len);

/* ---- Files ---- */

/* Read at most maxlen bytes of a file. Returns malloc'd NUL-terminated data and sets
 * *len (may be NULL); NULL on error or when the file is larger than maxlen (errno set,
 * EFBIG for too large). flags: FILE_NOFOLLOW, FILE_REGULAR (what renew reads: a
 * FIFO put in place of live/NAME/cert.pem must not block it). */
char *file_read(const char *path, size_t maxlen, size_t *len, int flags);
#define FILE_NOFOLLOW 1  /* no symlink at the final component (ELOOP) */
#define FILE_REGULAR 2   /* a regular file only (else EINVAL), opened without blocking */
/* What went wrong reading path with flags, after file_read set err: "a FIFO, not a
 * regular file" (a device, directory, symbolic link with FILE_NOFOLLOW, socket),
 * "larger than such a file can be" (EFBIG), else strerror(err). For messages that
 * name the file and the fix. */
const char *file_error(const char *path, int err, int flags);
/* 0 when path is a regular file (a symlink followed unless FILE_NOFOLLOW); else -1
 * with errno (EINVAL: something else). Used before running a hook, which must not
 * be a FIFO or a device. */
int file_regular(const char *path, int flags);

/* Write data to path atomically: mkstemp in the same directory, fchmod(mode), write,
 * fsync, rename over path, fsync the directory. The temporary never replaces a
 * symlink target: rename replaces the link itself. Temporaries left in the directory
 * by killed writers (their PID is in the name) are removed first. Returns 0, or -1
 * with errno set and the target untouched. */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* 1 when process pid no longer exists (not this process): its temporaries are stale. */
int pid_is_gone(long pid);

/* The signals that end p11acme: SIGINT, SIGTERM, SIGHUP and SIGQUIT. The token
 * layer holds them across token-file rewrites; hooks get them passed on. */
void term_sigset(sigset_t *set);

/* mkdir -p with the given mode for each created component. 0 or -1 (errno). */
int mkdir_p(const char *path, mode_t mode);

/* fsync a directory by path. 0 or -1. */
int fsync_dir(const char *path);

/* ---- Memory helpers ---- */

/* Overwrite then free a NUL-terminated secret. NULL is fine. */
void secret_free(char *s);

/* s without leading blanks and tabs, and without trailing blanks, tabs and '\r'
 * (cut in place): for "key = value" lines (renewal confs, signer policies). */
char *str_trim(char *s);

/* The line that starts at *cursor, cut in place (its '\n' becomes NUL); *cursor
 * moves to the next line, or to NULL after the last one. NULL once *cursor is NULL.
 * For reading a text in memory line by line (signer policies, renewal confs). */
char *str_next_line(char **cursor);

/* Free a NULL-terminated array of malloc'd strings and the array. NULL is fine. */
void strv_free(char **v);

/* printf into a fresh malloc'd string; NULL on failure. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- Numbers and time ---- */

/* The one bounded-integer parser: s must be a whole decimal number (strtol syntax,
 * nothing after it) in [min, max]. Sets *out and returns 0, else -1 (*out untouched). */
int parse_long(const char *s, long min, long max, long *out);

/* Sleep ms milliseconds, resuming after signal handlers (EINTR). */
void sleep_ms(long ms);

/* ---- Certificate signing requests ---- */

/* The one CSR builder: a DER PKCS#10 request (malloc'd) with subject CN = names[0]
 * when it fits in 64 characters (RFC 5280), one SAN dNSName per name (n >= 1), the
 * public key pub (NULL: key's own; a token key may need a plain copy), signed with
 * key over SHA-256. 0; -2 when signing failed; -1 on any other failure. Nothing is
 * logged: OpenSSL's errors stay queued for the caller's message. */
int csr_build(EVP_PKEY *key, EVP_PKEY *pub, const char *const *names, size_t n,
	      unsigned char **der, size_t *der_len);

/* ---- pkcs11: URIs in records and messages ---- */

/* A copy of a pkcs11: URI (malloc'd) with each pin-value attribute dropped (mask
 * NULL: for what is recorded, e.g. renewal configs) or its value replaced by mask
 * (for messages). NULL for a NULL uri or on allocation failure. */
char *uri_redact_pin(const char *uri, const char *mask);

#endif
