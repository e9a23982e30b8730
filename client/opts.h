/*
 * client/opts.h: command-line option parsing shared by main.c and every command.
 *
 * Two rules getopt_long alone does not give:
 *  - Long options match exactly. getopt_long takes any unique prefix, so a mistyped
 *    `--pin 1234` became `--pin-source 1234`. Here an unknown option is refused
 *    before anything runs, and the message names the option only, never a value
 *    (`--pin=1234` is reported as `--pin`): what follows a mistyped option may be
 *    a secret.
 *  - Global options work after the command too (`p11acme renew --all --json`), as
 *    certbot users type them. main.c registers its one table of global options and
 *    the function that applies one; every command's option loop accepts them, and
 *    a command option of the same name (key's --key) wins.
 */
#ifndef P11ACME_CLIENT_OPTS_H
#define P11ACME_CLIENT_OPTS_H

#include <getopt.h>

/* The global options (main.c's table) and the function that applies one of them:
 * apply(val, optarg) returns -1 to go on, or an exit status after printing why. */
void opts_set_globals(const struct option *table, const char *shortopts,
		      int (*apply)(int val, const char *arg));

/* getopt_long with exact long names and the global options merged in. Call it in a
 * loop after setting optind = 0, as with getopt_long. Global options are applied
 * here and never returned. Returns the option's val, -1 at the end, or '?' after
 * printing "p11acme: unknown option ..." (or "... needs a value", or the global
 * option's own error). No message ever contains an option's argument. */
int opts_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);

#endif
