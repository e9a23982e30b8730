/*
 * client/opts.c: exact long options and global options after the command (opts.h).
 */
#include "client/opts.h"

#include <stdio.h>
#include <string.h>

#include "common/common.h"

#define MERGED_MAX 128
#define GLOBAL_VAL 0x10000    /* merged global option i returns GLOBAL_VAL + i */

static const struct option *globals_tab;
static const char *globals_short = "";
static int (*globals_apply)(int val, const char *arg);

/* The table getopt_long sees: the command's options, then the global ones it lacks. */
static struct option merged[MERGED_MAX];
static char merged_short[64];
static char short_global[256];  /* 1 for a short option that is a merged global one */

void opts_set_globals(const struct option *table, const char *shortopts,
		      int (*apply)(int val, const char *arg))
{
	globals_tab = table;
	globals_short = shortopts;
	globals_apply = apply;
}

static const struct option *long_find(const struct option *tab, const char *name, size_t len)
{
	for (; tab->name != NULL; tab++)
		if (strlen(tab->name) == len && strncmp(tab->name, name, len) == 0)
			return tab;
	return NULL;
}

/* --help and --version after a command are the command's (or nobody's). */
static int global_mergeable(const struct option *o, const struct option *cmd)
{
	return strcmp(o->name, "help") != 0 && strcmp(o->name, "version") != 0 &&
	       long_find(cmd, o->name, strlen(o->name)) == NULL;
}

static int merge(const char *shortopts, const struct option *longopts)
{
	size_t n = 0, s = strlen(shortopts);

	memset(short_global, 0, sizeof(short_global));
	for (const struct option *o = longopts; o->name != NULL; o++) {
		if (n + 1 >= MERGED_MAX)
			return -1;
		merged[n++] = *o;
	}
	if (s >= sizeof(merged_short))
		return -1;
	memcpy(merged_short, shortopts, s + 1);
	if (globals_tab == NULL || globals_tab == longopts)
		goto done;
	for (size_t i = 0; globals_tab[i].name != NULL; i++) {
		if (!global_mergeable(&globals_tab[i], longopts))
			continue;
		if (n + 1 >= MERGED_MAX)
			return -1;
		merged[n] = globals_tab[i];
		merged[n].flag = NULL;
		merged[n++].val = GLOBAL_VAL + (int)i;
	}
	for (const char *p = globals_short; *p != '\0'; p++) {
		if (strchr(shortopts, *p) != NULL || s + 1 >= sizeof(merged_short))
			continue;
		merged_short[s++] = *p;
		merged_short[s] = '\0';
		short_global[(unsigned char)*p] = 1;
	}
done:
	memset(&merged[n], 0, sizeof(merged[n]));
	return 0;
}

/* One "--name[=value]" argument at argv[*i]; steps over its separate value. */
static int check_long(int argc, char **argv, int *i)
{
	const char *name = argv[*i] + 2;
	size_t len = strcspn(name, "=");
	const struct option *o = long_find(merged, name, len);

	if (o == NULL) {
		log_error("unknown option '--%.*s' (long options are not abbreviated; see --help)",
			  (int)len > 64 ? 64 : (int)len, name);
		return -1;
	}
	if (o->has_arg == no_argument && name[len] == '=') {
		log_error("option '--%s' takes no value", o->name);
		return -1;
	}
	if (o->has_arg == required_argument && name[len] != '=') {
		if (*i + 1 >= argc) {
			log_error("option '--%s' needs a value", o->name);
			return -1;
		}
		(*i)++;
	}
	return 0;
}

/* One cluster of short options ("-vv", "-dNAME", "-d NAME") at argv[*i]. */
static int check_short(int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	for (size_t j = 1; a[j] != '\0'; j++) {
		const char *p = a[j] == ':' || a[j] == '+' ? NULL : strchr(merged_short, a[j]);

		if (p == NULL) {
			if ((unsigned char)a[j] >= 0x20 && (unsigned char)a[j] < 0x7f)
				log_error("unknown option '-%c' (see --help)", a[j]);
			else
				log_error("unknown option (see --help)");
			return -1;
		}
		if (p[1] != ':')
			continue;
		if (a[j + 1] == '\0' && p[2] != ':') {
			if (*i + 1 >= argc) {
				log_error("option '-%c' needs a value", a[j]);
				return -1;
			}
			(*i)++;
		}
		return 0;
	}
	return 0;
}

/* The whole argv before any option takes effect, as getopt_long will walk it. */
static int check_all(int argc, char **argv)
{
	int stop_at_arg = merged_short[0] == '+';

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			break;
		if (a[0] != '-' || a[1] == '\0') {
			if (stop_at_arg)
				break;
			continue;
		}
		if ((a[1] == '-' ? check_long(argc, argv, &i) : check_short(argc, argv, &i)) != 0)
			return -1;
	}
	return 0;
}

int opts_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	int c;

	if (optind == 0) {
		opterr = 0;
		if (merge(shortopts, longopts) != 0) {
			log_error("internal: too many options");
			return '?';
		}
		if (check_all(argc, argv) != 0)
			return '?';
	}
	for (;;) {
		c = getopt_long(argc, argv, merged_short, merged, NULL);
		if (c >= GLOBAL_VAL && c < GLOBAL_VAL + MERGED_MAX) {
			if (globals_apply(globals_tab[c - GLOBAL_VAL].val, optarg) >= 0)
				return '?';
			continue;
		}
		if (c > 0 && c < 256 && short_global[c]) {
			if (globals_apply(c, optarg) >= 0)
				return '?';
			continue;
		}
		if (c == '?' || c == ':')
			log_error("invalid option (see --help)");
		return c;
	}
}
