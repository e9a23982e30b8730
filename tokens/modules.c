/*
 * Which PKCS#11 module to load. A module is named by a path, or by the name p11-kit
 * registers it under (/usr/share/p11-kit/modules/NAME.module, /etc/pkcs11/modules/,
 * ~/.config/pkcs11/modules/; RFC 7512 module-name=). With no module at all, the
 * registered modules are searched for the token the URI names: exactly one module
 * must have it, and an ambiguity lists the candidates.
 *
 * p11-kit is asked for its registered modules without initialising any of them
 * (P11_KIT_MODULE_UNMANAGED); the search then loads each through libp11 in turn,
 * under that module's token lock, and unloads it before the next.
 */
#include "tokens/tok_int.h"
#include "common/common.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <p11-kit/p11-kit.h>

#define MOD_MAX 32

struct modlist {
	size_t n;
	char *name[MOD_MAX], *path[MOD_MAX];
};

static void modlist_free(struct modlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->name[i]);
		free(l->path[i]);
	}
	l->n = 0;
}

/* p11-kit's registered modules (name and file), in p11-kit's order. */
static void modlist_load(struct modlist *l)
{
	CK_FUNCTION_LIST **m = p11_kit_modules_load(NULL, P11_KIT_MODULE_UNMANAGED);
	size_t i;

	memset(l, 0, sizeof(*l));
	for (i = 0; m != NULL && m[i] != NULL && l->n < MOD_MAX; i++) {
		char *name = p11_kit_module_get_name(m[i]);
		char *path = p11_kit_module_get_filename(m[i]);

		if (name == NULL || path == NULL) {
			free(name);
			free(path);
			continue;
		}
		l->name[l->n] = name;
		l->path[l->n++] = path;
	}
	if (m != NULL)
		p11_kit_modules_release(m);
}

/* "a, b, c" of the registered names, for messages. */
static void modlist_names(const struct modlist *l, char *buf, size_t len)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < l->n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", l->name[i]);
	if (l->n == 0)
		snprintf(buf, len, "none");
}

char *tok_module_by_name(const char *name, const char *uri)
{
	struct modlist l;
	char names[512], *path = NULL;
	size_t i;

	modlist_load(&l);
	for (i = 0; i < l.n && path == NULL; i++)
		if (strcmp(l.name[i], name) == 0)
			path = strdup(l.path[i]);
	if (path == NULL) {
		modlist_names(&l, names, sizeof(names));
		log_error("%s: no PKCS#11 module is registered with p11-kit as '%s' (registered: "
			  "%s); give the module's path instead, or register it in "
			  "/etc/pkcs11/modules/%s.module", uri, name, names, name);
	}
	modlist_free(&l);
	return path;
}

/* Load path, count its initialised tokens that match u (describing the first in
 * desc), unload it. -1 when the module cannot be loaded or listed. */
static int module_matches(const char *path, const struct tok_uri *u, char *desc, size_t len)
{
	PKCS11_CTX *ctx = PKCS11_CTX_new();
	PKCS11_SLOT *slots = NULL;
	unsigned int i, n = 0;
	int loaded = 0, found = -1, lock = tok_lock(path);

	if (ctx == NULL || lock < 0 || PKCS11_CTX_load(ctx, path) != 0)
		goto out;
	loaded = 1;
	if (PKCS11_enumerate_slots(ctx, &slots, &n) != 0)
		goto out;
	for (i = 0, found = 0; i < n; i++) {
		const PKCS11_TOKEN *t = slots[i].token;
		if (t == NULL || !t->initialized || !tok_token_matches(u, t))
			continue;
		if (found++ == 0)
			tok_describe(t, desc, len);
	}
out:
	if (slots != NULL)
		PKCS11_release_all_slots(ctx, slots, n);
	if (loaded)
		PKCS11_CTX_unload(ctx);
	if (ctx != NULL)
		PKCS11_CTX_free(ctx);
	tok_unlock(lock);
	tok_last_ckr(); /* drop what a module that would not load left in the queue */
	return found;
}

char *tok_module_search(const struct tok_uri *u, const char *uri)
{
	struct modlist l;
	char desc[MOD_MAX][256], names[512], *path = NULL;
	int hit[MOD_MAX] = { 0 }, devnull = -1, saved = -1;
	size_t i, nhit = 0, last = 0;

	modlist_load(&l);
	/* Modules without their device or daemon (a TPM module with no TPM) print errors
	 * on loading; they are not the module asked for, so keep them quiet unless -v -v. */
	if (log_verbosity < LOG_DEBUG && (devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0) {
		fflush(stderr);
		saved = fcntl(2, F_DUPFD_CLOEXEC, 3);
		if (saved >= 0)
			dup2(devnull, 2);
	}
	for (i = 0; i < l.n; i++)
		if ((hit[i] = module_matches(l.path[i], u, desc[i], sizeof(desc[i]))) > 0) {
			nhit++;
			last = i;
		}
	if (saved >= 0) {
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
	}
	if (devnull >= 0)
		close(devnull);
	if (nhit == 1) {
		log_debug("%s: the token is in module '%s' (%s)", uri, l.name[last], l.path[last]);
		path = strdup(l.path[last]);
		goto out;
	}
	modlist_names(&l, names, sizeof(names));
	if (nhit == 0) {
		log_error("%s: no PKCS#11 module registered with p11-kit (%s) has a token that "
			  "matches the URI; give the module with --module PATH|NAME or module-name= "
			  "in the URI", uri, names);
		goto out;
	}
	log_error("%s: the tokens of several PKCS#11 modules match the URI; add "
		  "module-name=NAME to the URI or give --module NAME:", uri);
	for (i = 0; i < l.n; i++)
		if (hit[i] > 0)
			log_error("  module '%s' (%s): %s%s", l.name[i], l.path[i], desc[i],
				  hit[i] > 1 ? ", and more" : "");
out:
	modlist_free(&l);
	return path;
}
