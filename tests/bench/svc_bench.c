/*
 * svc_bench: JWS per second through the signer service (`p11acme signer serve`, over
 * its unix socket) against direct signing in this process and against the local signer
 * child that every p11acme run forks, with the same token key, in alternating rounds.
 *
 *   svc_bench [-m MODULE] [-p PIN_SOURCE] [-r ROUNDS] [-s SECONDS] [-P SERVICE_PID]
 *             [-c CLIENTS] -S unix:PATH KEY
 *
 * The request is what every renewal sends first: a newOrder payload for a name the
 * service's policy allows, signed with kid at a URL on the service's CA (start the
 * service with --server https://ca.test/dir). The service decides it (peer
 * credentials, policy, payload shape), writes its audit line and signs through its key
 * child; direct signing is jws_acme() with the key opened in this process.
 * Each round measures service, local child and direct back to back; the medians of the
 * rates and of the per-round ratios are printed (machine drift cancels in a ratio).
 * With -c CLIENTS (default 4; 1: not measured) each round also measures the service
 * with that many clients at once, each a process of its own with its own connection,
 * signing one request after another: the sum of their rates is what the service
 * signs per second for a fleet (it decides the next client's request while its key
 * child signs), against the same direct rate.
 * CPU per JWS: the CPU time (utime + stime from /proc) of every process on the path,
 * this one and its children (the local signer child), plus with -P the service and its
 * children (its key child), divided by the JWS signed. On a loaded machine the rates
 * measure waits for a CPU at each process boundary; the CPU cost does not.
 */
#include "tests/unit/bench.h"
#include "common/common.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct bench_req req = {
	"https://ca.test/order-plz", "https://ca.test/my-account/1",
	"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"bench.example.com\"}]}",
};

/* CPU seconds (user + system) of process pid and, recursively, of its children. */
static double tree_cpu(long pid, int depth)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	double sum = 0;
	long child;
	FILE *f;
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) != NULL) {
		/* after the ")" of comm: state ppid pgrp session tty tpgid flags minflt cminflt
		 * majflt cmajflt utime stime */
		if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
			sum = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
		fclose(f);
	}
	if (depth > 4)
		return sum;
	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	if ((d = opendir(path)) == NULL)
		return sum;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(buf, sizeof(buf), "/proc/%ld/task/%s/children", pid, e->d_name);
		if ((f = fopen(buf, "r")) == NULL)
			continue;
		while (fscanf(f, "%ld", &child) == 1)
			sum += tree_cpu(child, depth + 1);
		fclose(f);
	}
	closedir(d);
	return sum;
}

static long service_pid;

static double path_cpu(void)
{
	return tree_cpu((long)getpid(), 0) + (service_pid > 0 ? tree_cpu(service_pid, 0) : 0);
}

static long last_n; /* JWS signed by the last *_rate() call */

static double signer_rate(struct signer *s, double secs)
{
	return bench_rate(bench_signer_one, s, &req, secs, &last_n);
}

static double direct_rate(struct bench_direct *d, double secs)
{
	return bench_rate(bench_direct_one, d, &req, secs, &last_n);
}

#define MAXC 16
static int clients = 4;

/* One concurrent client: its own connection, signing for secs; its rate on fd. */
static void client_main(const struct signer_config *rcfg, double secs, int fd)
{
	struct signer *s = NULL;
	double rate = -1;

	if (signer_start(rcfg, &s) == SIGNER_OK)
		rate = signer_rate(s, secs);
	signer_stop(s);
	if (write(fd, &rate, sizeof(rate)) != (ssize_t)sizeof(rate))
		_exit(1);
	_exit(0);
}

/* JWS/s through the service with `clients` processes at once: the sum of their
 * rates, or -1 when one failed. */
static double concurrent_rate(const struct signer_config *rcfg, double secs)
{
	pid_t pids[MAXC];
	double sum = 0, rate;
	int p[2], k, n = 0, bad = 0;

	if (pipe(p) < 0)
		return -1;
	fflush(NULL);
	for (k = 0; k < clients; k++) {
		if ((pids[n] = fork()) == 0) {
			close(p[0]);
			client_main(rcfg, secs, p[1]);
		}
		n += pids[n] > 0;
	}
	close(p[1]);
	for (k = 0; k < n; k++) {
		if (read(p[0], &rate, sizeof(rate)) != (ssize_t)sizeof(rate) || rate < 0)
			bad = 1;
		else
			sum += rate;
	}
	close(p[0]);
	for (k = 0; k < n; k++)
		waitpid(pids[k], NULL, 0);
	return bad || n != clients ? -1 : sum;
}

static int parse_args(int argc, char **argv, struct signer_config *cfg, const char **remote,
		      int *rounds, double *secs)
{
	int i;

	for (i = 1; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (bench_opt(argv[i], argv[i + 1], cfg, rounds, secs))
			continue;
		if (strcmp(argv[i], "-S") == 0)
			*remote = argv[i + 1];
		else if (strcmp(argv[i], "-P") == 0)
			service_pid = atol(argv[i + 1]);
		else if (strcmp(argv[i], "-c") == 0)
			clients = atoi(argv[i + 1]);
	}
	if (i + 1 != argc || *remote == NULL || *rounds < 1 || *rounds > MAXR || *secs <= 0 ||
	    clients < 1 || clients > MAXC) {
		fprintf(stderr, "usage: svc_bench [-m MODULE] [-p PIN] [-r ROUNDS] [-s SECONDS] "
				"[-P SERVICE_PID] [-c CLIENTS (1-16)] -S unix:PATH KEY\n");
		return -1;
	}
	cfg->key_uri = argv[i];
	return 0;
}

static void report(const char *alg, int rounds, double secs, double *vr, double *lr, double *dr)
{
	double rv[MAXR], rl[MAXR];
	int i;

	printf("key: %s\n", alg);
	printf("rounds (service/local/direct JWS/s):");
	for (i = 0; i < rounds; i++) {
		rv[i] = vr[i] / dr[i];
		rl[i] = lr[i] / dr[i];
		printf(" %.0f/%.0f/%.0f", vr[i], lr[i], dr[i]);
	}
	printf("\nservice: %.0f JWS/s (median of %d x %.1f s)\n", median(vr, rounds), rounds, secs);
	printf("local: %.0f JWS/s\n", median(lr, rounds));
	printf("direct: %.0f JWS/s\n", median(dr, rounds));
	printf("service/direct, median of the rounds' ratios: %.1f%%\n", 100 * median(rv, rounds));
	printf("local/direct, median of the rounds' ratios: %.1f%%\n", 100 * median(rl, rounds));
}

/* The service with several clients at once, against the same rounds' direct rate. */
static void report_fleet(int rounds, double *vf, double *dr)
{
	double rf[MAXR];
	int i;

	if (clients < 2)
		return;
	printf("rounds (service with %d clients/direct JWS/s):", clients);
	for (i = 0; i < rounds; i++) {
		rf[i] = vf[i] / dr[i];
		printf(" %.0f/%.0f", vf[i], dr[i]);
	}
	printf("\nservice, %d clients at once: %.0f JWS/s\n", clients, median(vf, rounds));
	printf("service with %d clients/direct, median of the rounds' ratios: %.1f%%\n", clients,
	       100 * median(rf, rounds));
}

/* CPU per JWS of each path (with -P: the service's processes counted too). */
static void report_cpu(int rounds, double *vc, double *lc, double *dc)
{
	double rv[MAXR];
	int i;

	for (i = 0; i < rounds; i++)
		rv[i] = vc[i] > 0 ? dc[i] / vc[i] : 0;
	printf("CPU per JWS%s: service %.0f us, local %.0f us, direct %.0f us\n",
	       service_pid > 0 ? "" : " (service processes not counted: no -P)",
	       1e6 * median(vc, rounds), 1e6 * median(lc, rounds), 1e6 * median(dc, rounds));
	printf("direct/service CPU per JWS, median of the rounds' ratios: %.1f%%\n",
	       100 * median(rv, rounds));
}

int main(int argc, char **argv)
{
	struct signer_config cfg, rcfg;
	struct signer *svc = NULL, *loc = NULL;
	struct bench_direct d = { 0 };
	const char *alg, *remote = NULL;
	double vr[MAXR], lr[MAXR], dr[MAXR], vc[MAXR], lc[MAXR], dc[MAXR], vf[MAXR], secs = 1;
	double d2[MAXR], c0, c1;
	int i, rounds = 5, rc = 1;

	memset(&cfg, 0, sizeof(cfg));
	if (parse_args(argc, argv, &cfg, &remote, &rounds, &secs) < 0)
		return 2;
	rcfg = cfg;
	rcfg.remote = remote;
	/* both signers before this process loads the module, so no child inherits it */
	if (signer_start(&rcfg, &svc) != SIGNER_OK || signer_start(&cfg, &loc) != SIGNER_OK)
		goto out;
	alg = signer_alg(loc, SIGNER_KEY_ACCOUNT);
	if (bench_direct_open(&cfg, alg, &d) != 0)
		goto out;
	signer_rate(svc, secs / 4); /* warm-up */
	signer_rate(loc, secs / 4);
	direct_rate(&d, secs / 4);
	for (i = 0; i < rounds; i++) {
		c0 = path_cpu();
		if ((vr[i] = signer_rate(svc, secs)) < 0)
			goto out;
		c1 = path_cpu();
		vc[i] = (c1 - c0) / (double)last_n;
		if ((lr[i] = signer_rate(loc, secs)) < 0)
			goto out;
		c0 = path_cpu();
		lc[i] = (c0 - c1) / (double)last_n;
		if ((dr[i] = direct_rate(&d, secs)) < 0)
			goto out;
		dc[i] = (path_cpu() - c0) / (double)last_n;
		if (clients > 1 && (vf[i] = concurrent_rate(&rcfg, secs)) < 0)
			goto out;
	}
	memcpy(d2, dr, sizeof(dr));   /* report() sorts dr (median) */
	report(alg, rounds, secs, vr, lr, dr);
	report_fleet(rounds, vf, d2);
	report_cpu(rounds, vc, lc, dc);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "svc_bench: failed\n");
	signer_stop(svc);
	signer_stop(loc);
	bench_direct_close(&d);
	return rc;
}
