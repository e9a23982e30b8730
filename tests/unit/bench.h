/*
 * What the signer benchmarks share (tests/unit/sig_bench.c, tests/bench/svc_bench.c):
 * the clock and medians, the rate loop, one JWS through a signer and one signed
 * directly with the token key opened in this process, and the common options.
 * Header-only (static inline), so that svc_bench, which tests/bench/signer-service.sh
 * builds on its own, needs no second source file.
 */
#ifndef P11ACME_TESTS_BENCH_H
#define P11ACME_TESTS_BENCH_H

#include "signer/internal.h"
#include "tokens/tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAXR 64

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts v. */
static inline double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The request every JWS of a benchmark carries (a fresh nonce each time). */
struct bench_req {
	const char *url, *kid, *payload;
};

/* One JWS: number i of the loop (for its nonce). 0 or -1. */
typedef int (*bench_one_fn)(void *arg, const struct bench_req *r, long i);

/* one() for at least secs seconds: JWS per second, or -1 when one failed. *count
 * (may be NULL) gets how many were made. */
static inline double bench_rate(bench_one_fn one, void *arg, const struct bench_req *r,
				double secs, long *count)
{
	double t0 = now(), t;
	long n = 0;

	do {
		if (one(arg, r, n) != 0)
			return -1;
		n++;
	} while ((t = now() - t0) < secs);
	if (count != NULL)
		*count = n;
	return (double)n / t;
}

/* One JWS through a signer (arg: struct signer *): one request, one response. */
static inline int bench_signer_one(void *arg, const struct bench_req *r, long i)
{
	char *jws = NULL, nonce[32];

	snprintf(nonce, sizeof(nonce), "nonce-%ld", i);
	if (signer_sign(arg, r->url, nonce, r->kid, r->payload, &jws) != SIGNER_OK)
		return -1;
	free(jws);
	return 0;
}

/* The direct path: the token key in this process, and its JWK. */
struct bench_direct {
	struct tok_ctx *ctx;
	EVP_PKEY *pk;
	cJSON *jwk;
	const char *alg;
};

/* Open cfg's key in this process (after every signer_start, so that no signer child
 * inherits it). 0 or -1. bench_direct_close afterwards in every case. */
static inline int bench_direct_open(const struct signer_config *cfg, const char *alg,
				    struct bench_direct *d)
{
	struct tok_opts o;

	memset(d, 0, sizeof(*d));
	memset(&o, 0, sizeof(o));
	o.module = cfg->module;
	o.pin_source = cfg->pin_source;
	o.allow_extractable = 0;
	d->alg = alg;
	if (alg == NULL || tok_open(cfg->key_uri, &o, &d->ctx) != TOK_OK ||
	    tok_load_key(d->ctx, cfg->key_uri, &d->pk) != TOK_OK || (d->jwk = jws_jwk(d->pk)) == NULL)
		return -1;
	return 0;
}

static inline void bench_direct_close(struct bench_direct *d)
{
	cJSON_Delete(d->jwk);
	tok_close(d->ctx);
}

/* One JWS built here (arg: struct bench_direct *): jws_acme, the signer's own code. */
static inline int bench_direct_one(void *arg, const struct bench_req *r, long i)
{
	const struct bench_direct *d = arg;
	char *jws = NULL, nonce[32];

	snprintf(nonce, sizeof(nonce), "nonce-%ld", i);
	if ((jws = jws_acme(d->pk, d->alg, d->jwk, r->url, nonce, r->kid, r->payload,
			    strlen(r->payload))) == NULL)
		return -1;
	free(jws);
	return 0;
}

/* The options both take: -m MODULE, -p PIN_SOURCE, -r ROUNDS, -s SECONDS. 1 when opt
 * was one of them (val taken), else 0. */
static inline int bench_opt(const char *opt, const char *val, struct signer_config *cfg,
			    int *rounds, double *secs)
{
	if (strcmp(opt, "-m") == 0)
		cfg->module = val;
	else if (strcmp(opt, "-p") == 0)
		cfg->pin_source = val;
	else if (strcmp(opt, "-r") == 0)
		*rounds = atoi(val);
	else if (strcmp(opt, "-s") == 0)
		*secs = atof(val);
	else
		return 0;
	return 1;
}

#endif
