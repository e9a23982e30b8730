/*
 * The signer service's policy: which client may do what for which names.
 *
 *   [user NAME] / [group NAME]     a section; a client gets every section it matches
 *   names = PATTERN...             exact DNS name, *.D (anything below D), or *
 *   allow = order revoke account
 *
 * A request is allowed when, for each name it carries, some matching section grants
 * the permission and matches the name: the union of the sections' (permission, name)
 * grants, never a permission of one section combined with the names of another.
 * Parsing is strict (an unknown key, permission or pattern is an error naming the
 * file and line) because a typo in a policy must not widen or silently narrow it.
 */
#include "signer/internal.h"
#include "common/common.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define POLICY_MAX_BYTES (1024 * 1024)
#define POLICY_MAX_SECTIONS 4096
#define POLICY_MAX_NAMES 65536

static const struct {
	const char *word;
	unsigned bit;
} perms[] = {
	{ "order", POLICY_ORDER },
	{ "revoke", POLICY_REVOKE },
	{ "account", POLICY_ACCOUNT },
};

const char *policy_perm_word(unsigned bit)
{
	size_t i;

	for (i = 0; i < sizeof(perms) / sizeof(perms[0]); i++)
		if (perms[i].bit == bit)
			return perms[i].word;
	return "?";
}

/* One DNS label: 1..63 of [a-z0-9-], not starting or ending with '-'. */
static int label_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return 0;
	for (i = 0; i < len; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return 0;
	return 1;
}

int dns_name_valid(const char *name, int allow_wildcard)
{
	const char *p = name, *dot;
	size_t len = strlen(name);

	if (len == 0 || len > 253)
		return 0;
	if (allow_wildcard && strncmp(p, "*.", 2) == 0)
		p += 2;
	for (;;) {
		dot = strchr(p, '.');
		if (!label_valid(p, dot != NULL ? (size_t)(dot - p) : strlen(p)))
			return 0;
		if (dot == NULL)
			return 1;
		p = dot + 1;
	}
}

/* name (lowercase, valid, maybe "*.x") against one pattern. */
int policy_pattern_match(const char *pattern, const char *name)
{
	size_t pl, nl;

	if (strcmp(pattern, "*") == 0)
		return 1;
	if (strncmp(pattern, "*.", 2) != 0)
		return strcmp(pattern, name) == 0;
	/* *.D: any name that ends in ".D" with at least one label before it; this
	 * includes the wildcard identifier *.D and *.x.D. D itself is not below D. */
	pl = strlen(pattern + 1);   /* ".D" */
	nl = strlen(name);
	return nl > pl && strcmp(name + nl - pl, pattern + 1) == 0;
}

struct parse_state {
	struct policy *p;
	const char *path;
	size_t line;
	char *err;
	size_t errlen;
};

static int perr(struct parse_state *st, const char *fmt, const char *arg)
{
	char msg[400];

	snprintf(msg, sizeof(msg), fmt, arg);
	snprintf(st->err, st->errlen, "%s:%zu: %s", st->path, st->line, msg);
	return -1;
}

static int section_start(struct parse_state *st, char *line)
{
	struct policy *p = st->p;
	struct policy_section *s, *ns;
	char *end = strchr(line, ']'), *name;
	int is_group;
	size_t i;

	if (end == NULL || str_trim(end + 1)[0] != '\0')
		return perr(st, "%s", "a section header is [user NAME] or [group NAME]");
	*end = '\0';
	line = str_trim(line + 1);
	if (strncmp(line, "user", 4) == 0 && (line[4] == ' ' || line[4] == '\t'))
		is_group = 0;
	else if (strncmp(line, "group", 5) == 0 && (line[5] == ' ' || line[5] == '\t'))
		is_group = 1;
	else
		return perr(st, "unknown section '[%s]' (use [user NAME] or [group NAME])", line);
	name = str_trim(line + (is_group ? 5 : 4));
	if (name[0] == '\0' || strlen(name) > 255 || strpbrk(name, " \t[]") != NULL)
		return perr(st, "bad %s name in section header", is_group ? "group" : "user");
	for (i = 0; i < p->n; i++)
		if (p->sec[i].is_group == is_group && strcmp(p->sec[i].name, name) == 0) {
			char first[32];

			snprintf(first, sizeof(first), "%u", p->sec[i].line);
			return perr(st, "duplicate section (first at line %s)", first);
		}
	if (p->n >= POLICY_MAX_SECTIONS)
		return perr(st, "%s", "too many sections");
	if ((ns = realloc(p->sec, (p->n + 1) * sizeof(*ns))) == NULL)
		return perr(st, "%s", "out of memory");
	p->sec = ns;
	s = &p->sec[p->n];
	memset(s, 0, sizeof(*s));
	s->is_group = is_group;
	s->line = (unsigned)st->line;
	if ((s->name = strdup(name)) == NULL)
		return perr(st, "%s", "out of memory");
	p->n++;
	return 0;
}

static int add_name(struct parse_state *st, struct policy_section *s, char *w)
{
	char **nn;
	char *c;

	for (c = w; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	if (strcmp(w, "*") != 0 && !dns_name_valid(w, 1))
		return perr(st, "not a name pattern: '%s' (a DNS name, *.DOMAIN or *)", w);
	if (s->n_names >= POLICY_MAX_NAMES)
		return perr(st, "%s", "too many names in one section");
	if ((nn = realloc(s->names, (s->n_names + 1) * sizeof(*nn))) == NULL ||
	    (s->names = nn, (nn[s->n_names] = strdup(w)) == NULL))
		return perr(st, "%s", "out of memory");
	s->n_names++;
	return 0;
}

static int add_perm(struct parse_state *st, struct policy_section *s, const char *w)
{
	size_t i;

	for (i = 0; i < sizeof(perms) / sizeof(perms[0]); i++)
		if (strcmp(w, perms[i].word) == 0) {
			s->allow |= perms[i].bit;
			return 0;
		}
	return perr(st, "unknown permission '%s' (allow: order, revoke, account)", w);
}

static int key_value(struct parse_state *st, char *line)
{
	struct policy_section *s;
	char *eq = strchr(line, '='), *key, *w, *save = NULL;
	int names;

	if (eq == NULL)
		return perr(st, "%s", "not 'key = value' or a [section]");
	*eq = '\0';
	key = str_trim(line);
	if (strcmp(key, "names") == 0)
		names = 1;
	else if (strcmp(key, "allow") == 0)
		names = 0;
	else
		return perr(st, "unknown key '%s' (names, allow)", key);
	if (st->p->n == 0)
		return perr(st, "'%s' outside a section", key);
	s = &st->p->sec[st->p->n - 1];
	for (w = strtok_r(eq + 1, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save))
		if ((names ? add_name(st, s, w) : add_perm(st, s, w)) < 0)
			return -1;
	return 0;
}

static int parse_line(struct parse_state *st, char *line)
{
	line = str_trim(line);
	if (line[0] == '\0' || line[0] == '#')
		return 0;
	if (line[0] == '[')
		return section_start(st, line);
	return key_value(st, line);
}

int policy_parse(const char *path, const char *text, size_t len, struct policy **out,
		 char *err, size_t errlen)
{
	struct parse_state st = { NULL, path, 0, err, errlen };
	char *copy = NULL, *line, *next;
	int rc = -1;

	*out = NULL;
	if ((st.p = calloc(1, sizeof(*st.p))) == NULL || (copy = malloc(len + 1)) == NULL ||
	    (st.p->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "%s: not a text file (NUL byte)", path);
		goto out;
	}
	for (next = copy; (line = str_next_line(&next)) != NULL;) {
		st.line++;
		if (strlen(line) > 4096) {
			perr(&st, "%s", "line longer than 4096 characters");
			goto out;
		}
		if (parse_line(&st, line) < 0)
			goto out;
	}
	*out = st.p;
	st.p = NULL;
	rc = 0;
out:
	policy_free(st.p);
	free(copy);
	return rc;
}

int policy_load(const char *path, struct policy **out, char *err, size_t errlen)
{
	struct stat sb;
	char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((text = file_read(path, POLICY_MAX_BYTES, &len, 0)) == NULL) {
		snprintf(err, errlen, "%s: %s", path,
			 errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
		return -1;
	}
	/* Whoever can write the policy owns the account: refuse what others may edit. */
	if (stat(path, &sb) == 0 && (sb.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(err, errlen, "%s: writable by group or others (mode %03o); "
			 "chmod go-w it", path, (unsigned)(sb.st_mode & 0777));
		free(text);
		return -1;
	}
	rc = policy_parse(path, text, len, out, err, errlen);
	free(text);
	return rc;
}

void policy_free(struct policy *p)
{
	size_t i, j;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++) {
		for (j = 0; j < p->sec[i].n_names; j++)
			free(p->sec[i].names[j]);
		free(p->sec[i].names);
		free(p->sec[i].name);
	}
	free(p->sec);
	free(p->path);
	free(p);
}

static int section_matches(const struct policy_section *s, const struct peer_id *id)
{
	size_t i;

	if (!s->is_group)
		return id->known && strcmp(s->name, id->user) == 0;
	for (i = 0; i < id->n_groups; i++)
		if (strcmp(s->name, id->groups[i]) == 0)
			return 1;
	return 0;
}

int policy_match(const struct policy *p, const struct peer_id *id, struct policy_rules *r)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	if (p == NULL || p->n == 0)
		return 0;
	if ((r->sec = calloc(p->n, sizeof(*r->sec))) == NULL)
		return -1;
	for (i = 0; i < p->n; i++)
		if (section_matches(&p->sec[i], id)) {
			r->sec[r->n++] = &p->sec[i];
			r->allow |= p->sec[i].allow;
		}
	return (int)r->n;
}

void policy_rules_free(struct policy_rules *r)
{
	free(r->sec);
	memset(r, 0, sizeof(*r));
}

int policy_allows(const struct policy_rules *r, unsigned perm, const char *name)
{
	size_t i, j;

	for (i = 0; i < r->n; i++) {
		if ((r->sec[i]->allow & perm) == 0)
			continue;
		for (j = 0; j < r->sec[i]->n_names; j++)
			if (policy_pattern_match(r->sec[i]->names[j], name))
				return 1;
	}
	return 0;
}

void policy_section_label(const struct policy_section *s, char *buf, size_t len)
{
	snprintf(buf, len, "[%s %s]", s->is_group ? "group" : "user", s->name);
}

static void print_rules(FILE *f, char *const *names, size_t n_names, unsigned allow)
{
	size_t i, k;

	fputs("  names:", f);
	for (i = 0; i < n_names; i++)
		fprintf(f, " %s", names[i]);
	fputs(n_names == 0 ? " (none)\n" : "\n", f);
	fputs("  allow:", f);
	for (k = 0; k < sizeof(perms) / sizeof(perms[0]); k++)
		if (allow & perms[k].bit)
			fprintf(f, " %s", perms[k].word);
	fputs(allow == 0 ? " (none)\n" : "\n", f);
}

void policy_print(FILE *f, const struct policy *p)
{
	const char *base = strrchr(p->path, '/');
	char label[300];
	size_t i;

	base = base != NULL ? base + 1 : p->path;
	if (p->n == 0)
		fprintf(f, "%s: no sections: every client is refused\n", p->path);
	for (i = 0; i < p->n; i++) {
		policy_section_label(&p->sec[i], label, sizeof(label));
		fprintf(f, "%s (%s:%u)\n", label, base, p->sec[i].line);
		print_rules(f, p->sec[i].names, p->sec[i].n_names, p->sec[i].allow);
	}
}

/* The union for one client: every section's names, per permission. */
void policy_print_rules(FILE *f, const struct policy_rules *r)
{
	static const unsigned bits[] = { POLICY_ORDER, POLICY_REVOKE, POLICY_ACCOUNT };
	size_t i, j, k;

	for (k = 0; k < sizeof(bits) / sizeof(bits[0]); k++) {
		fprintf(f, "  %s:", policy_perm_word(bits[k]));
		if ((r->allow & bits[k]) == 0) {
			fputs(" (not allowed)\n", f);
			continue;
		}
		for (i = 0; i < r->n; i++)
			if (r->sec[i]->allow & bits[k])
				for (j = 0; j < r->sec[i]->n_names; j++)
					fprintf(f, " %s", r->sec[i]->names[j]);
		fputc('\n', f);
	}
}
