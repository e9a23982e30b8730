/*
 * client/signer_cmd.c: p11acme signer serve|check|connect, the command line of the
 * signer service (signer/service.c). The service itself lives in signer/: this file
 * only parses options and maps the result to an exit status.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "common/common.h"

#define DEFAULT_POLICY "/etc/p11acme/signer.policy"

static void signer_usage(FILE *f)
{
	fprintf(f,
"usage: p11acme --key URI [--module PATH] [--pin-source SRC] [--server URL]\n"
"               signer serve --socket PATH [options]\n"
"       p11acme signer check [--policy FILE] [--user NAME]\n"
"       p11acme signer connect --socket PATH\n"
"\n"
"serve    hold the account key's token session and sign for the clients the\n"
"         policy allows, over the unix socket PATH (clients: --signer unix:PATH)\n"
"  --socket PATH          the socket to listen on (required)\n"
"  --policy FILE          who may do what (default " DEFAULT_POLICY ")\n"
"  --audit-log FILE       append one JSON line per request (also to stderr)\n"
"  --socket-mode MODE     octal permissions (default 0666; 0660 with --socket-group)\n"
"  --socket-group GROUP   group of the socket\n"
"  --new-key URI          rollover target, for an admin's 'account rollover'\n"
"  --max-clients N        concurrent connections (default 64)\n"
"  --max-per-user N       concurrent connections of one unix user (default 16)\n"
"  --client-timeout SECS  to send one request or take one response (default 10)\n"
"  --idle-timeout SECS    a connection without requests is closed (default 600)\n"
"         It signs only for the CA of --server. SIGTERM stops it (the socket file\n"
"         is removed), SIGHUP re-reads the policy.\n"
"check    check a policy and print its rules (with --user, that user's rules)\n"
"connect  copy stdin/stdout to and from the socket (an SSH forced command; the\n"
"         client side is --signer 'exec:ssh -T USER@HOST')\n"
"\n"
"Exit status: 0 success (serve: stopped by SIGTERM), 1 failure, 2 usage or\n"
"configuration error (a policy error names FILE:LINE).\n");
}

static int exit_of(int signer_rc)
{
	if (signer_rc == SIGNER_OK)
		return EXIT_OK;
	return signer_rc == SIGNER_ERR_CONFIG || signer_rc == SIGNER_ERR_PIN ? EXIT_USAGE : EXIT_FAIL;
}

static int number(const char *opt, const char *s, long min, long max, int base, int *out)
{
	char *end = NULL;
	long v = strtol(s, &end, base);

	if (*s == '\0' || *end != '\0' || v < min || v > max)
		return cli_usage_error("signer", "%s: not a number from %ld to %ld: %s", opt,
				       min, max, s);
	*out = (int)v;
	return EXIT_OK;
}

struct serve_opts {
	struct signer_service_config sc;
	const char *new_key;
};

static int serve_option(int c, struct serve_opts *o)
{
	switch (c) {
	case 's': o->sc.socket_path = optarg; return EXIT_OK;
	case 'p': o->sc.policy_path = optarg; return EXIT_OK;
	case 'a': o->sc.audit_path = optarg; return EXIT_OK;
	case 'g': o->sc.socket_group = optarg; return EXIT_OK;
	case 'n': o->new_key = optarg; return EXIT_OK;
	case 'm': return number("--socket-mode", optarg, 0, 0777, 8, &o->sc.socket_mode);
	case 'c': return number("--max-clients", optarg, 1, 4096, 10, &o->sc.max_clients);
	case 'u': return number("--max-per-user", optarg, 1, 4096, 10, &o->sc.max_per_user);
	case 't': return number("--client-timeout", optarg, 1, 3600, 10, &o->sc.client_timeout);
	case 'i': return number("--idle-timeout", optarg, 1, 86400, 10, &o->sc.idle_timeout);
	case 'h': signer_usage(stdout); return -1;
	default: return cli_usage_error("signer", "unknown option");
	}
}

static int signer_serve_cmd(const struct globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "policy", required_argument, NULL, 'p' },
		{ "audit-log", required_argument, NULL, 'a' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "socket-group", required_argument, NULL, 'g' },
		{ "new-key", required_argument, NULL, 'n' },
		{ "max-clients", required_argument, NULL, 'c' },
		{ "max-per-user", required_argument, NULL, 'u' },
		{ "client-timeout", required_argument, NULL, 't' },
		{ "idle-timeout", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct serve_opts o = { .sc = { .socket_mode = -1, .policy_path = DEFAULT_POLICY } };
	struct signer_config cfg = { 0 };
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		if ((rc = serve_option(c, &o)) != EXIT_OK)
			return rc < 0 ? EXIT_OK : rc;
	if (optind < argc)
		return cli_usage_error("signer", "unexpected argument '%s'", argv[optind]);
	if (o.sc.socket_path == NULL)
		return cli_usage_error("signer", "serve needs --socket PATH");
	if (g->signer != NULL)
		return cli_usage_error("signer", "serve holds the key itself: give --key, "
				       "not --signer");
	if (g->key_uri == NULL)
		return cli_usage_error("signer", "serve needs the account key: --key URI");
	o.sc.ca_url = g->server;
	cfg.key_uri = g->key_uri;
	cfg.new_key_uri = o.new_key;
	cfg.module = g->module;
	cfg.pin_source = g->pin_source;
	cfg.allow_extractable = g->allow_extractable;
	return exit_of(signer_serve(&cfg, &o.sc));
}

static int signer_check_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *policy = DEFAULT_POLICY, *user = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'p')
			policy = optarg;
		else if (c == 'u')
			user = optarg;
		else if (c == 'h') {
			signer_usage(stdout);
			return EXIT_OK;
		} else
			return cli_usage_error("signer", "unknown option");
	}
	if (optind < argc)
		return cli_usage_error("signer", "unexpected argument '%s'", argv[optind]);
	return exit_of(signer_policy_check(policy, user));
}

static int signer_connect_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 's')
			path = optarg;
		else if (c == 'h') {
			signer_usage(stdout);
			return EXIT_OK;
		} else
			return cli_usage_error("signer", "unknown option");
	}
	if (path == NULL || optind < argc)
		return cli_usage_error("signer", "connect needs --socket PATH and nothing else");
	return exit_of(signer_bridge(path));
}

int cmd_signer(const struct globals *g, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (sub == NULL || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		signer_usage(sub != NULL ? stdout : stderr);
		return sub != NULL ? EXIT_OK : EXIT_USAGE;
	}
	optind = 0;   /* a full reset of getopt (glibc) for the subcommand's argv */
	if (strcmp(sub, "serve") == 0)
		return signer_serve_cmd(g, argc - 1, argv + 1);
	if (strcmp(sub, "check") == 0)
		return signer_check_cmd(argc - 1, argv + 1);
	if (strcmp(sub, "connect") == 0)
		return signer_connect_cmd(argc - 1, argv + 1);
	return cli_usage_error("signer", "unknown subcommand '%s' (serve, check, connect)", sub);
}
