/*
 * sig_bench: JWS per second through the signer process versus signing directly
 * through libp11 in one process, and the signer's cold start.
 *
 *   sig_bench [-m MODULE] [-p PIN_SOURCE] [-r ROUNDS] [-s SECONDS] [-c COLD_RUNS] KEY
 *
 * signer: signer_sign() in a loop, one request and one response per JWS (no batching).
 * direct: the same JWS (jws_acme: header, base64url, EVP_DigestSign, r||s) built in
 *         this process with the token key from tok_open/tok_load_key.
 * round trip: THUMBPRINT requests, the cost of the process boundary alone.
 * cold:   signer_start (fork, module load, login, key lookup) + the first JWS.
 * Each rate is measured in ROUNDS rounds of SECONDS, signer and direct alternating;
 * medians are printed. The signer is started before this process loads the module,
 * so that its child never inherits the direct key.
 */
#include "tests/unit/bench.h"
#include "common/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct bench_req req = {
	"https://ca.test/acct/1", "https://ca.test/acct/1",
	"{\"status\":\"deactivated\",\"contact\":[\"mailto:a@example.test\"]}",
};

static int cold_start(const struct signer_config *cfg, double *ms)
{
	struct signer *s = NULL;
	double t0 = now();
	int rc;

	if ((rc = signer_start(cfg, &s)) == SIGNER_OK)
		rc = bench_signer_one(s, &req, 0) == 0 ? SIGNER_OK : SIGNER_ERR;
	*ms = (now() - t0) * 1000;
	signer_stop(s);
	return rc;
}

static double signer_rate(struct signer *s, double secs)
{
	return bench_rate(bench_signer_one, s, &req, secs, NULL);
}

/* The transport alone: THUMBPRINT requests, which sign nothing. */
static double roundtrip_rate(struct signer *s, double secs)
{
	char *tp = NULL;
	double t0 = now(), t;
	long n = 0;

	do {
		if (signer_thumbprint(s, SIGNER_KEY_ACCOUNT, &tp) != SIGNER_OK)
			return -1;
		free(tp);
		n++;
	} while ((t = now() - t0) < secs);
	return (double)n / t;
}

static double direct_rate(struct bench_direct *d, double secs)
{
	return bench_rate(bench_direct_one, d, &req, secs, NULL);
}

int main(int argc, char **argv)
{
	struct signer_config cfg;
	struct signer *s = NULL;
	struct bench_direct d = { 0 };
	const char *alg = NULL;
	double cold[MAXR * 4], sr[MAXR], dr[MAXR], rt[MAXR], ratio[MAXR], secs = 1, smed, dmed, cmed;
	char pairs[MAXR * 24 + 64];
	int i, n, rounds = 5, colds = 20, rc = 1;

	memset(&cfg, 0, sizeof(cfg));
	for (i = 1; i + 1 < argc && argv[i][0] == '-'; i += 2)
		if (!bench_opt(argv[i], argv[i + 1], &cfg, &rounds, &secs) && strcmp(argv[i], "-c") == 0)
			colds = atoi(argv[i + 1]);
	if (i >= argc || rounds < 1 || rounds > MAXR || colds < 1 || colds > MAXR * 4) {
		fprintf(stderr, "usage: sig_bench [-m MODULE] [-p PIN] [-r ROUNDS] [-s SECONDS] [-c COLD] KEY\n");
		return 2;
	}
	cfg.key_uri = argv[i];

	for (i = 0; i < colds; i++)
		if (cold_start(&cfg, &cold[i]) != SIGNER_OK)
			goto out;
	cmed = median(cold, colds);

	if (signer_start(&cfg, &s) != SIGNER_OK)
		goto out;
	alg = signer_alg(s, SIGNER_KEY_ACCOUNT);
	/* The direct key lives in this process, opened after the signer's fork (so the
	 * child never inherits it). Rounds alternate signer and direct, so that the
	 * machine's drift (large on a shared VM) hits both alike. */
	if (bench_direct_open(&cfg, alg, &d) != 0)
		goto out;
	signer_rate(s, secs / 4); /* warm-up */
	direct_rate(&d, secs / 4);
	for (i = 0; i < rounds; i++)
		if ((sr[i] = signer_rate(s, secs)) < 0 || (dr[i] = direct_rate(&d, secs)) < 0 ||
		    (rt[i] = roundtrip_rate(s, secs / 4)) < 0)
			goto out;
	signer_stop(s);
	s = NULL;

	/* Each round's signer and direct rates were measured back to back: their ratio
	 * cancels the drift between rounds. Recorded before median() sorts the arrays. */
	n = snprintf(pairs, sizeof(pairs), "rounds (signer/direct JWS/s):");
	for (i = 0; i < rounds; i++) {
		ratio[i] = sr[i] / dr[i];
		if (n > 0 && (size_t)n < sizeof(pairs))
			n += snprintf(pairs + n, sizeof(pairs) - (size_t)n, " %.0f/%.0f", sr[i], dr[i]);
	}
	smed = median(sr, rounds);
	dmed = median(dr, rounds);
	printf("key: %s (%s)\n", cfg.key_uri, alg);
	printf("signer: %.0f JWS/s (median of %d x %.1f s)\n", smed, rounds, secs);
	printf("direct: %.0f JWS/s (median of %d x %.1f s)\n", dmed, rounds, secs);
	printf("signer/direct: %.1f%%\n", 100 * smed / dmed);
	printf("%s\n", pairs);
	printf("signer/direct, median of the rounds' ratios: %.1f%%\n", 100 * median(ratio, rounds));
	printf("round trip without signing: %.0f/s (%.1f us)\n", median(rt, rounds),
	       1e6 / median(rt, rounds));
	printf("cold start (fork, load, login, first JWS): %.2f ms median of %d (min %.2f, max %.2f)\n",
	       cmed, colds, cold[0], cold[colds - 1]);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "sig_bench: failed\n");
	signer_stop(s);
	bench_direct_close(&d);
	return rc;
}
