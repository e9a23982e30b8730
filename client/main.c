/*
 * client/main.c: global options (git style, before the command), environment
 * defaults, and dispatch. Only this file exits.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "client/certs.h"
#include "client/client.h"
#include "client/opts.h"
#include "common/common.h"
#include "common/trace.h"

#ifndef P11ACME_VERSION
#define P11ACME_VERSION "0"
#endif

static void usage(FILE *f)
{
	fprintf(f,
"usage: p11acme [global options] COMMAND [options]\n"
"\n"
"Global options (before or after the command; each also read from the\n"
"environment variable shown; long options are never abbreviated):\n"
"  --server URL           ACME directory URL (P11ACME_SERVER; default Let's Encrypt)\n"
"  --staging              Let's Encrypt staging (P11ACME_STAGING=1)\n"
"  --key URI              account key, pkcs11: URI (P11ACME_KEY)\n"
"  --module PATH|NAME     PKCS#11 module: a path, or a name p11-kit registers\n"
"                         (P11ACME_MODULE); default: the module whose token the\n"
"                         key URI names\n"
"  --module-args STRING   the module's C_Initialize arguments, e.g. NSS softoken's\n"
"                         \"configdir='sql:DIR' ...\" (P11ACME_MODULE_ARGS)\n"
"  --pin-source SRC       file:PATH, env:NAME or fd:N (P11ACME_PIN_SOURCE)\n"
"  --signer unix:PATH|exec:COMMAND  sign through a signer service instead of\n"
"                         --key/--module/--pin-source (P11ACME_SIGNER)\n"
"  --ca-bundle FILE       trust anchors for the CA's TLS (P11ACME_CA_BUNDLE)\n"
"  --config-dir DIR       default /etc/p11acme (P11ACME_CONFIG_DIR)\n"
"  --timeout SECONDS      bound on one issuance, default 90 + --hook-timeout\n"
"                         (P11ACME_TIMEOUT)\n"
"  --hook-timeout SECONDS bound on each hook run, default 300, 0 for none\n"
"                         (P11ACME_HOOK_TIMEOUT)\n"
"  --allow-extractable-key  accept a key that can leave the token (P11ACME_ALLOW_EXTRACTABLE_KEY=1)\n"
"  --json                 machine-readable results (P11ACME_JSON=1)\n"
"  -v, -q                 more / fewer messages (P11ACME_VERBOSE=N, P11ACME_QUIET=1)\n"
"  --version, --help\n"
"\n"
"Commands:\n"
"  account register|show|thumbprint|rollover|deactivate|migrate\n"
"  issue -d NAME [-d NAME...] (--webroot DIR | --standalone | --stateless |\n"
"        --dns-hook CMD | --reuse-only) [options]\n"
"  renew [--cert-name NAME | --all] [options]\n"
"  revoke --cert FILE [--reason CODE]\n""  certificates [--cert-name NAME]   names, expiry, renewal method, key location\n"
"  delete --cert-name NAME           remove its renewal conf, live/ and archive/\n"
"  key generate --key URI --type TYPE | key show --key URI\n"
"  serve-http01 [--listen ADDR:PORT] [--thumbprint T]\n"
"  http01-config nginx|apache\n"
"  signer serve --socket PATH [--policy FILE] [--audit-log FILE] [options]\n"
"  signer check [--policy FILE] [--user NAME] | signer connect --socket PATH\n"
"\n"
"'p11acme COMMAND --help' describes each command. Exit status: 0 success,\n"
"1 failure, 2 usage or configuration error, 3 --reuse-only needs a challenge.\n");
}

static int env_flag(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

/* Seconds from min to 86400 (one day). */
static int parse_timeout(const char *s, int min, int *out)
{
	long v;

	if (parse_long(s, min, 86400, &v) != 0)
		return -1;
	*out = (int)v;
	return 0;
}

/* Verbosity and flags that are not struct globals members. */
struct cli_flags {
	int verbose, quiet, staging;
};

/* Defaults from the P11ACME_* environment; options override them. */
static int globals_from_env(struct globals *g, struct cli_flags *f)
{
	const char *v;

	g->server = getenv("P11ACME_SERVER");
	f->staging = env_flag("P11ACME_STAGING");
	g->key_uri = getenv("P11ACME_KEY");
	g->module = getenv("P11ACME_MODULE");
	g->module_args = getenv("P11ACME_MODULE_ARGS");
	g->pin_source = getenv("P11ACME_PIN_SOURCE");
	g->signer = getenv("P11ACME_SIGNER");
	if (g->signer != NULL && *g->signer == '\0')
		g->signer = NULL;
	g->ca_bundle = getenv("P11ACME_CA_BUNDLE");
	g->config_dir = getenv("P11ACME_CONFIG_DIR");
	g->allow_extractable = env_flag("P11ACME_ALLOW_EXTRACTABLE_KEY");
	g->json = env_flag("P11ACME_JSON");
	g->hook_timeout = 300;
	f->quiet = env_flag("P11ACME_QUIET");
	if ((v = getenv("P11ACME_VERBOSE")) != NULL && *v != '\0')
		f->verbose = atoi(v);
	if ((v = getenv("P11ACME_TIMEOUT")) != NULL && *v != '\0' &&
	    parse_timeout(v, 1, &g->timeout) != 0) {
		log_error("P11ACME_TIMEOUT: not a number of seconds (1..86400): %s", v);
		return EXIT_USAGE;
	}
	g->timeout_given = g->timeout > 0;
	if ((v = getenv("P11ACME_HOOK_TIMEOUT")) != NULL && *v != '\0' &&
	    parse_timeout(v, 0, &g->hook_timeout) != 0) {
		log_error("P11ACME_HOOK_TIMEOUT: not a number of seconds (0..86400): %s", v);
		return EXIT_USAGE;
	}
	return -1;
}

enum { O_SERVER = 256, O_STAGING, O_KEY, O_MODULE, O_PIN, O_CA, O_CONFDIR, O_TIMEOUT,
       O_HOOK_TIMEOUT, O_EXTRACT, O_JSON, O_VERSION, O_SIGNER, O_MODULE_ARGS };

static const struct option global_opts[] = {
	{ "server", required_argument, NULL, O_SERVER },
	{ "staging", no_argument, NULL, O_STAGING },
	{ "key", required_argument, NULL, O_KEY },
	{ "module", required_argument, NULL, O_MODULE },
	{ "module-args", required_argument, NULL, O_MODULE_ARGS },
	{ "pin-source", required_argument, NULL, O_PIN },
	{ "signer", required_argument, NULL, O_SIGNER },
	{ "ca-bundle", required_argument, NULL, O_CA },
	{ "config-dir", required_argument, NULL, O_CONFDIR },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "hook-timeout", required_argument, NULL, O_HOOK_TIMEOUT },
	{ "allow-extractable-key", no_argument, NULL, O_EXTRACT },
	{ "json", no_argument, NULL, O_JSON },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* One global option; returns -1 to go on, else the exit status. The messages
 * name the option's value only where it cannot be a secret (a number). */
static int global_option(int c, struct globals *g, struct cli_flags *f)
{
	switch (c) {
	case O_SERVER: g->server = optarg; f->staging = 0; break;
	case O_STAGING: f->staging = 1; g->server = NULL; break;
	case O_KEY: g->key_uri = optarg; break;
	case O_MODULE: g->module = optarg; break;
	case O_MODULE_ARGS: g->module_args = optarg; break;
	case O_PIN: g->pin_source = optarg; break;
	case O_SIGNER: g->signer = optarg; break;
	case O_CA: g->ca_bundle = optarg; break;
	case O_CONFDIR: g->config_dir = optarg; break;
	case O_TIMEOUT:
		if (parse_timeout(optarg, 1, &g->timeout) != 0) {
			log_error("--timeout: not a number of seconds (1..86400): %s", optarg);
			return EXIT_USAGE;
		}
		g->timeout_given = 1;
		break;
	case O_HOOK_TIMEOUT:
		if (parse_timeout(optarg, 0, &g->hook_timeout) != 0) {
			log_error("--hook-timeout: not a number of seconds (0..86400): %s", optarg);
			return EXIT_USAGE;
		}
		break;
	case O_EXTRACT: g->allow_extractable = 1; break;
	case O_JSON: g->json = 1; break;
	case 'v': f->verbose++; break;
	case 'q': f->quiet = 1; break;
	case 'h': usage(stdout); return EXIT_OK;
	case O_VERSION: printf("p11acme %s\n", P11ACME_VERSION); return EXIT_OK;
	default: usage(stderr); return EXIT_USAGE;
	}
	return -1;
}

static void globals_finish(struct globals *g, const struct cli_flags *f)
{
	if (g->server == NULL || *g->server == '\0')
		g->server = f->staging ? LE_STAGING_URL : LE_PRODUCTION_URL;
	if (g->config_dir == NULL || *g->config_dir == '\0')
		g->config_dir = "/etc/p11acme";
	if (g->ca_bundle != NULL && *g->ca_bundle == '\0')
		g->ca_bundle = NULL;
	/* No hook bound: no run bound either, else a slow hook would end the run. */
	if (!g->timeout_given)
		g->timeout = g->hook_timeout > 0 ? TIMEOUT_BASE + g->hook_timeout : 86400;
	log_verbosity = f->quiet ? LOG_ERROR : LOG_INFO + f->verbose;
}

/* What a global option given after the command changes (opts.c applies it). */
static struct globals *cur_g;
static struct cli_flags *cur_f;

static int global_after_command(int c, const char *arg)
{
	int rc;

	(void)arg; /* global_option reads optarg, which is still arg here */
	rc = global_option(c, cur_g, cur_f);
	globals_finish(cur_g, cur_f);
	return rc;
}

static const struct {
	const char *name;
	int (*fn)(const struct globals *, int, char **);
} commands[] = {
	{ "account", cmd_account },
	{ "issue", cmd_issue },
	{ "renew", cmd_renew },
	{ "revoke", cmd_revoke },
	{ "certificates", cmd_certificates },
	{ "delete", cmd_delete },
	{ "key", cmd_key },
	{ "serve-http01", cmd_serve_http01 },
	{ "http01-config", cmd_http01_config },
	{ "signer", cmd_signer },
};

static int dispatch(const struct globals *g, int argc, char **argv)
{
	const char *cmd = argv[0];
	size_t i;

	optind = 1; /* each command parses its own argv from argv[1] */
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].fn(g, argc, argv);
	if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	log_error("unknown command '%s'", cmd);
	usage(stderr);
	return EXIT_USAGE;
}

static long long cpu_us(const struct rusage *r)
{
	return (r->ru_utime.tv_sec + r->ru_stime.tv_sec) * 1000000LL + r->ru_utime.tv_usec +
	       r->ru_stime.tv_usec;
}

/* The trace's last line: exit status, and the peak RSS and CPU time of this process
 * and of its children (the signer, reaped by now), for the bench's distance to the
 * floor and its split of the CPU. */
static int trace_exit(int rc)
{
	struct rusage self, kids;

	if (trace_on() && getrusage(RUSAGE_SELF, &self) == 0 &&
	    getrusage(RUSAGE_CHILDREN, &kids) == 0)
		trace("exit %d maxrss_self_kb=%ld maxrss_children_kb=%ld cpu_self_us=%lld "
		      "cpu_children_us=%lld", rc, self.ru_maxrss, kids.ru_maxrss, cpu_us(&self),
		      cpu_us(&kids));
	return rc;
}

int main(int argc, char **argv)
{
	struct globals g = { 0 };
	struct cli_flags f = { 0 };
	int c, rc;

	trace_open();
	trace("main");
	/* An ignored SIGCHLD is inherited across exec and would make the kernel reap
	 * our hooks before we can read their exit status. */
	signal(SIGCHLD, SIG_DFL);
	if ((rc = globals_from_env(&g, &f)) >= 0)
		return rc;
	/* '+': stop at the command, so its options stay its own. */
	cur_g = &g;
	cur_f = &f;
	opts_set_globals(global_opts, "vq", global_after_command);
	optind = 0;
	while ((c = opts_getopt(argc, argv, "+vqh", global_opts)) != -1)
		if ((rc = global_option(c, &g, &f)) >= 0)
			return rc;
	globals_finish(&g, &f);
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return trace_exit(dispatch(&g, argc - optind, argv + optind));
}
