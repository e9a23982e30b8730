/*
 * sig_tool: drives the signer for tests/t/signer-*.sh.
 *
 *   sig_tool [-m MODULE] [-p PIN_SOURCE] [-n NEW_KEY] [-c CERT_KEY] [-x] KEY CMD [ARG...]
 *
 *   alg | jwk | thumbprint [account|new|cert]
 *   sign URL NONCE KID|- PAYLOAD      one flattened JWS on stdout
 *   sign-many N URL                    N JWSs, one per line (kid mode, distinct payloads)
 *   keychange URL ACCOUNT_URL          inner key-change JWS
 *   csr NAME...                        DER CSR on stdout
 *   isolation [PIN_ENV [PIN]]          after start: checks this process has no PKCS#11
 *                                      module mapped, no PIN_ENV (nor PIN_ENV=PIN in the
 *                                      environment block), an fd: PIN source closed;
 *                                      prints "isolated"
 *   hold                               prints the signer's pid, then sleeps (kill me)
 *   malformed                          sends truncated, oversized, bad-version, unknown-op
 *                                      and bad-field frames; each must get an error and
 *                                      a good request must still work; prints "ok"
 *   keyshow [json] | keygen TYPE       p11acme key show / key generate
 *
 * Exit status: 0 ok; 1 failure; 2 configuration error (SIGNER_ERR_CONFIG, SIGNER_ERR_PIN).
 */
#include "signer/internal.h"
#include "common/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

static int status_exit(int rc)
{
	return rc == SIGNER_OK ? 0 : rc == SIGNER_ERR_CONFIG || rc == SIGNER_ERR_PIN ? 2 : 1;
}

static enum signer_key key_arg(int argc, char **argv, int i)
{
	if (i >= argc || strcmp(argv[i], "account") == 0)
		return SIGNER_KEY_ACCOUNT;
	return strcmp(argv[i], "new") == 0 ? SIGNER_KEY_NEW : SIGNER_KEY_CERT;
}

/*
 * The module and the PIN must live only in the child: no PKCS#11 module mapped here
 * (libp11 itself is linked into every binary; loading a module is what counts), the
 * PIN variable gone from the environment and from the original environment block,
 * and an fd: PIN source closed.
 */
static int isolated(const struct signer_config *cfg, const char *pin_env, const char *pin)
{
	char *maps = file_read("/proc/self/maps", 1 << 24, NULL, 0), *env = NULL, *entry = NULL;
	size_t envlen = 0, i;
	int ok = 1;

	if (maps == NULL || (env = file_read("/proc/self/environ", 1 << 20, &envlen, 0)) == NULL) {
		fprintf(stderr, "cannot read /proc/self/maps or environ\n");
		ok = 0;
		goto out;
	}
	if (strstr(maps, "softhsm") != NULL || strstr(maps, "p11-kit-client") != NULL ||
	    strstr(maps, "p11-kit-proxy") != NULL || strstr(maps, "opensc-pkcs11") != NULL) {
		fprintf(stderr, "a PKCS#11 module is mapped in the parent\n");
		ok = 0;
	}
	if (pin_env != NULL && getenv(pin_env) != NULL) {
		fprintf(stderr, "%s is still in the parent's environment\n", pin_env);
		ok = 0;
	}
	if (pin_env != NULL && pin != NULL && (entry = xasprintf("%s=%s", pin_env, pin)) != NULL)
		for (i = 0; i < envlen; i += strlen(env + i) + 1)
			if (strcmp(env + i, entry) == 0) {
				fprintf(stderr, "the PIN is still in /proc/self/environ\n");
				ok = 0;
			}
	if (cfg->pin_source != NULL && strncmp(cfg->pin_source, "fd:", 3) == 0 &&
	    fcntl(atoi(cfg->pin_source + 3), F_GETFD) != -1) {
		fprintf(stderr, "the PIN descriptor is still open in the parent\n");
		ok = 0;
	}
out:
	free(maps);
	free(env);
	free(entry);
	return ok;
}

/* Send raw bytes as one message; expect an error response. */
static int expect_error(int fd, const unsigned char *msg, size_t len, const char *what)
{
	unsigned char *buf = malloc(WIRE_MAX_FRAME + 1);
	struct wire_msg resp;
	size_t rlen;
	const char *why;
	int ok = 0;

	if (buf == NULL)
		return 0;
	if (send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len)
		fprintf(stderr, "%s: send failed\n", what);
	else if (wire_recv(fd, buf, WIRE_MAX_FRAME + 1, &rlen) != 1)
		fprintf(stderr, "%s: no response\n", what);
	else if (wire_decode(buf, rlen, &resp, &why) < 0 || resp.op != WIRE_RESP_ERR)
		fprintf(stderr, "%s: expected an error response\n", what);
	else
		ok = 1;
	free(buf);
	return ok;
}

static int still_serving(int fd)
{
	unsigned char *buf = malloc(WIRE_MAX_FRAME + 1);
	unsigned char k = SIGNER_KEY_ACCOUNT;
	struct wire_field f = { &k, 1 };
	struct wire_msg resp;
	int ok;

	if (buf == NULL)
		return 0;
	ok = signer_roundtrip(fd, WIRE_OP_THUMBPRINT, &f, 1, buf, &resp) == SIGNER_OK &&
	     resp.nfields == 1 && resp.f[0].len == 43;
	if (!ok)
		fprintf(stderr, "the signer stopped serving\n");
	free(buf);
	return ok;
}

static int malformed(const struct signer_config *cfg)
{
	unsigned char *big = NULL, *buf = NULL;
	unsigned char good[] = { 0, 0, 0, 7, WIRE_VERSION, WIRE_OP_THUMBPRINT, 0, 0, 0, 1, 0 };
	unsigned char m[sizeof(good)];
	struct wire_msg resp;
	pid_t pid;
	int fd, ok = 1;

	if ((big = calloc(1, WIRE_MAX_FRAME + 100)) == NULL ||
	    (buf = malloc(WIRE_MAX_FRAME + 1)) == NULL ||
	    signer_fork(cfg, signer_child_main, NULL, &fd, &pid) < 0 ||
	    signer_roundtrip(fd, 0, NULL, 0, buf, &resp) != SIGNER_OK)
		return 0;
	ok &= still_serving(fd);
	/* Truncated: the prefix promises more than the message holds. */
	ok &= expect_error(fd, good, sizeof(good) - 1, "truncated frame") && still_serving(fd);
	/* Truncated field: the prefix fits, a field length does not. */
	memcpy(m, good, sizeof(m));
	m[9] = 2;
	ok &= expect_error(fd, m, sizeof(m), "truncated field") && still_serving(fd);
	/* Oversized: larger than 64 KiB, with a matching prefix. */
	big[1] = (WIRE_MAX_FRAME + 96) >> 16;
	big[2] = ((WIRE_MAX_FRAME + 96) >> 8) & 0xff;
	big[4] = WIRE_VERSION;
	big[5] = WIRE_OP_SIGN;
	ok &= expect_error(fd, big, WIRE_MAX_FRAME + 100, "oversized frame") && still_serving(fd);
	/* Oversized prefix in a small message. */
	memcpy(m, good, sizeof(m));
	m[0] = 0xff;
	ok &= expect_error(fd, m, sizeof(m), "oversized prefix") && still_serving(fd);
	/* Unknown op, bad version, bad key selector, short frame. */
	memcpy(m, good, sizeof(m));
	m[5] = 0x7e;
	ok &= expect_error(fd, m, sizeof(m), "unknown op") && still_serving(fd);
	memcpy(m, good, sizeof(m));
	m[4] = WIRE_VERSION + 1;
	ok &= expect_error(fd, m, sizeof(m), "bad version") && still_serving(fd);
	memcpy(m, good, sizeof(m));
	m[10] = 9;
	ok &= expect_error(fd, m, sizeof(m), "bad key") && still_serving(fd);
	ok &= expect_error(fd, good, 3, "short prefix") && still_serving(fd);
	close(fd);
	ok &= signer_reap(pid) == 0;
	free(big);
	free(buf);
	return ok;
}

static int hold(const struct signer_config *cfg)
{
	unsigned char *buf = malloc(WIRE_MAX_FRAME + 1);
	struct wire_msg resp;
	pid_t pid;
	int fd;

	if (buf == NULL || signer_fork(cfg, signer_child_main, NULL, &fd, &pid) < 0 ||
	    signer_roundtrip(fd, 0, NULL, 0, buf, &resp) != SIGNER_OK)
		return 1;
	printf("%d\n", (int)pid);
	fflush(stdout);
	for (;;)
		pause();
}

static int run(struct signer *s, int argc, char **argv, int i)
{
	const char *cmd = argv[i];
	char *out = NULL;
	unsigned char *der = NULL;
	size_t derlen;
	long n, k;
	int rc = SIGNER_ERR;

	if (strcmp(cmd, "alg") == 0) {
		const char *a = signer_alg(s, key_arg(argc, argv, i + 1));
		if (a != NULL)
			printf("%s\n", a);
		return a != NULL ? SIGNER_OK : SIGNER_ERR;
	}
	if (strcmp(cmd, "jwk") == 0)
		rc = signer_jwk(s, key_arg(argc, argv, i + 1), &out);
	else if (strcmp(cmd, "thumbprint") == 0)
		rc = signer_thumbprint(s, key_arg(argc, argv, i + 1), &out);
	else if (strcmp(cmd, "sign") == 0 && argc - i == 5)
		rc = signer_sign(s, argv[i + 1], argv[i + 2],
				 strcmp(argv[i + 3], "-") == 0 ? NULL : argv[i + 3], argv[i + 4], &out);
	else if (strcmp(cmd, "keychange") == 0 && argc - i == 3)
		rc = signer_keychange(s, argv[i + 1], argv[i + 2], &out);
	else if (strcmp(cmd, "csr") == 0 && argc - i >= 2) {
		rc = signer_csr(s, (const char *const *)argv + i + 1, (size_t)(argc - i - 1),
				&der, &derlen);
		if (rc == SIGNER_OK)
			fwrite(der, 1, derlen, stdout);
		free(der);
		return rc;
	} else if (strcmp(cmd, "sign-many") == 0 && argc - i == 3) {
		n = strtol(argv[i + 1], NULL, 10);
		for (k = 0, rc = SIGNER_OK; k < n && rc == SIGNER_OK; k++) {
			char payload[64], nonce[32];
			snprintf(payload, sizeof(payload), "{\"n\":%ld}", k);
			snprintf(nonce, sizeof(nonce), "nonce%ld", k);
			rc = signer_sign(s, argv[i + 2], nonce, "https://ca/acct/1", payload, &out);
			if (rc == SIGNER_OK)
				printf("%s\n", out);
			free(out);
			out = NULL;
		}
		return rc;
	} else {
		fprintf(stderr, "sig_tool: bad command %s\n", cmd);
		return SIGNER_ERR;
	}
	if (rc == SIGNER_OK)
		printf("%s\n", out);
	free(out);
	return rc;
}

int main(int argc, char **argv)
{
	struct signer_config cfg;
	struct signer *s = NULL;
	int i, rc;

	memset(&cfg, 0, sizeof(cfg));
	for (i = 1; i + 1 < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strcmp(argv[i], "-m") == 0)
			cfg.module = argv[++i];
		else if (strcmp(argv[i], "-p") == 0)
			cfg.pin_source = argv[++i];
		else if (strcmp(argv[i], "-n") == 0)
			cfg.new_key_uri = argv[++i];
		else if (strcmp(argv[i], "-c") == 0)
			cfg.cert_key_uri = argv[++i];
		else if (strcmp(argv[i], "-x") == 0)
			cfg.allow_extractable = 1;
		else if (strcmp(argv[i], "-v") == 0)
			log_verbosity = LOG_DEBUG;
		else
			break;
	}
	if (argc - i < 2) {
		fprintf(stderr, "usage: sig_tool [-m MODULE] [-p PIN] [-n NEW] [-c CERT] [-x] KEY CMD [ARG...]\n");
		return 2;
	}
	cfg.key_uri = argv[i++];
	if (strcmp(argv[i], "keyshow") == 0)
		return status_exit(signer_key_show(&cfg, i + 1 < argc && strcmp(argv[i + 1], "json") == 0));
	if (strcmp(argv[i], "keygen") == 0 && i + 1 < argc)
		return status_exit(signer_key_generate(&cfg, argv[i + 1]));
	if (strcmp(argv[i], "malformed") == 0) {
		rc = malformed(&cfg);
		printf("%s\n", rc ? "ok" : "FAILED");
		return rc ? 0 : 1;
	}
	if (strcmp(argv[i], "hold") == 0)
		return hold(&cfg);
	if ((rc = signer_start(&cfg, &s)) != SIGNER_OK)
		return status_exit(rc);
	if (strcmp(argv[i], "isolation") == 0) {
		rc = isolated(&cfg, i + 1 < argc ? argv[i + 1] : NULL, i + 2 < argc ? argv[i + 2] : NULL)
			     ? SIGNER_OK : SIGNER_ERR;
		if (rc == SIGNER_OK)
			printf("isolated\n");
	} else
		rc = run(s, argc, argv, i);
	signer_stop(s);
	return status_exit(rc);
}
