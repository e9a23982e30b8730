/*
 * Loading the module, selecting the token and logging in, through libp11, plus our own
 * PKCS#11 session on the same slot for what libp11 0.4.12 cannot do (attribute reads,
 * key generation templates). Sessions of one application share the login state, so our
 * session is logged in whenever libp11's are. We never call C_CloseAllSessions or
 * PKCS11_open_session: either would log libp11's sessions out.
 */
#include "tokens/tok_int.h"
#include "common/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>

/* Where p11-kit keeps its modules, pkg-config's p11-kit-1 p11_module_path at build
 * time: see the Makefile. */
#ifndef P11ACME_MODULE_DIR
#error "build through the Makefile: P11ACME_MODULE_DIR comes from pkg-config p11-kit-1"
#endif
_Static_assert(sizeof(P11ACME_MODULE_DIR) > 1,
	       "pkg-config p11-kit-1 gave no p11_module_path (libp11-kit-dev)");
#define MODULE_DIR P11ACME_MODULE_DIR "/"

/* A bare name: the p11-kit registered module of that name, else (for names p11-kit
 * does not know, as before) MODULE_DIR/NAME.so when that file exists. */
static char *module_named(const char *n, const char *uri)
{
	char *p = NULL;

	if (strcmp(n, "..") == 0 || strcmp(n, ".") == 0 || n[0] == '\0') {
		log_error("%s: '%s' is not a module name", uri, n);
		return NULL;
	}
	p = strlen(n) > 3 && strcmp(n + strlen(n) - 3, ".so") == 0 ? xasprintf(MODULE_DIR "%s", n)
								    : xasprintf(MODULE_DIR "%s.so", n);
	if (p != NULL && access(p, R_OK) == 0)
		return p;
	free(p);
	return tok_module_by_name(n, uri);
}

/* --module (a path, or a name p11-kit registers), else module-path, else
 * module-name, else the registered module that has the URI's token. */
static char *module_resolve(const struct tok_opts *o, const struct tok_uri *u, const char *uri)
{
	const char *n = u->module_name;

	if (o != NULL && o->module != NULL)
		return strchr(o->module, '/') != NULL ? strdup(o->module)
						       : module_named(o->module, uri);
	if (u->module_path != NULL)
		return strdup(u->module_path);
	if (n == NULL)
		return tok_module_search(u, uri);
	if (strchr(n, '/') != NULL) {
		log_error("%s: module-name '%s' must be a bare name; use module-path for a path",
			  uri, n);
		return NULL;
	}
	return module_named(n, uri);
}

void tok_describe(const PKCS11_TOKEN *t, char *buf, size_t len)
{
	snprintf(buf, len, "label '%s', serial '%s', manufacturer '%s', model '%s'",
		 t->label ? t->label : "", t->serialnr ? t->serialnr : "",
		 t->manufacturer ? t->manufacturer : "", t->model ? t->model : "");
}

/* Token fields are blank-padded to a fixed width; compare without trailing blanks
 * (the URI side has lost its padding, NULs too, in tok_uri_parse). */
static int attr_eq(const char *want, const char *have)
{
	size_t nw, nh;

	if (want == NULL)
		return 1;
	if (have == NULL)
		return 0;
	for (nw = strlen(want); nw > 0 && want[nw - 1] == ' '; nw--)
		;
	for (nh = strlen(have); nh > 0 && have[nh - 1] == ' '; nh--)
		;
	return nw == nh && memcmp(want, have, nw) == 0;
}

int tok_token_matches(const struct tok_uri *u, const PKCS11_TOKEN *t)
{
	return attr_eq(u->token, t->label) && attr_eq(u->manufacturer, t->manufacturer) &&
	       attr_eq(u->model, t->model) && attr_eq(u->serial, t->serialnr);
}

static void list_tokens(const struct tok_ctx *c)
{
	char desc[512];
	unsigned int i, n = 0;

	for (i = 0; i < c->nslots; i++) {
		if (c->slots[i].token == NULL || !c->slots[i].token->initialized)
			continue;
		tok_describe(c->slots[i].token, desc, sizeof(desc));
		log_error("  token present: %s", desc);
		n++;
	}
	if (n == 0)
		log_error("  no initialised token present in module %s", c->module);
}

/* Pick exactly one initialised token matching the URI. */
static int select_token(struct tok_ctx *c, const struct tok_uri *u)
{
	unsigned int i, n = 0;

	for (i = 0; i < c->nslots; i++) {
		PKCS11_TOKEN *t = c->slots[i].token;
		if (t == NULL || !t->initialized || !tok_token_matches(u, t))
			continue;
		c->slot = &c->slots[i];
		n++;
	}
	if (n == 1)
		return TOK_OK;
	c->slot = NULL;
	log_error("%s: %s token in module %s matches the URI%s", c->uri, n == 0 ? "no" : "more than one",
		  c->module, n == 0 ? "" : "; add token=, serial= or model= to pick one");
	list_tokens(c);
	return TOK_ERR_CONFIG;
}

/*
 * The function list libp11 itself calls. libp11 0.4.12 has no accessor for it, and a
 * second C_GetFunctionList is not the same instance on every module: p11-kit-client.so
 * hands out a new, uninitialised instance (with its own server connection) per call.
 * The list is the first member of libp11's private context, as it has been since
 * libp11's beginning; check that it looks like a function list before using it.
 */
static CK_FUNCTION_LIST_PTR libp11_function_list(PKCS11_CTX *ctx)
{
	CK_FUNCTION_LIST_PTR fl;

	if (ctx == NULL || ctx->_private == NULL)
		return NULL;
	fl = *(CK_FUNCTION_LIST_PTR *)ctx->_private;
	if (fl == NULL || fl->version.major < 2 || fl->version.major > 3 ||
	    fl->C_OpenSession == NULL || fl->C_GetAttributeValue == NULL)
		return NULL;
	return fl;
}

/* libp11 asks its UI method for the PIN of a CKA_ALWAYS_AUTHENTICATE key before
 * each signature. Answer with the PIN we logged in with; never anything else, and
 * never a prompt on a terminal (OpenSSL's default UI would read the console). */
static int ui_read(UI *ui, UI_STRING *uis)
{
	const struct tok_ctx *c = UI_get0_user_data(ui);
	enum UI_string_types t = UI_get_string_type(uis);

	if ((t != UIT_PROMPT && t != UIT_VERIFY) || c == NULL || c->pin == NULL) {
		log_error("%s: the token asked for input that p11acme cannot give", c ? c->uri : "?");
		return 0;
	}
	return UI_set_result(ui, uis, c->pin) == 0 ? 1 : 0;
}

static int ui_install(struct tok_ctx *c)
{
	if ((c->ui = UI_create_method("p11acme PIN source")) == NULL ||
	    UI_method_set_reader(c->ui, ui_read) != 0 ||
	    PKCS11_set_ui_method(c->p11, c->ui, c) != 0) {
		log_error("%s: cannot set up PIN handling for libp11", c->uri);
		return TOK_ERR;
	}
	return TOK_OK;
}

/* Load the module through libp11 and use libp11's own function list for what libp11
 * cannot do (attribute checks, key generation). */
static int load_module(struct tok_ctx *c)
{
	c->p11 = PKCS11_CTX_new();
	if (c->p11 != NULL && ui_install(c) != TOK_OK)
		return TOK_ERR;
	/* libp11 hands this to C_Initialize as CK_C_INITIALIZE_ARGS.pReserved */
	if (c->p11 != NULL && c->module_args != NULL)
		PKCS11_CTX_init_args(c->p11, c->module_args);
	if (c->p11 == NULL || PKCS11_CTX_load(c->p11, c->module) != 0) {
		unsigned long rv = tok_last_ckr();
		log_error("%s: cannot load the PKCS#11 module %s (%s): check the path and that "
			  "the module's configuration is readable%s", c->uri, c->module,
			  tok_ckr_name(rv), rv != CKR_ARGUMENTS_BAD ? "" : c->module_args == NULL ?
			  "; this module may need initialisation arguments: give them with "
			  "--module-args (NSS softoken: \"configdir='sql:DIR' certPrefix='' "
			  "keyPrefix='' secmod='secmod.db' flags=\")" :
			  "; the module rejects the --module-args given");
		return TOK_ERR;
	}
	c->loaded = 1;
	if ((c->fl = libp11_function_list(c->p11)) == NULL) {
		log_error("%s: cannot reach the function list of module %s through libp11",
			  c->uri, c->module);
		return TOK_ERR;
	}
	if (PKCS11_enumerate_slots(c->p11, &c->slots, &c->nslots) != 0) {
		log_error("%s: cannot list the slots of module %s: %s", c->uri, c->module,
			  tok_ckr_name(tok_last_ckr()));
		return TOK_ERR;
	}
	return TOK_OK;
}

int tok_session(struct tok_ctx *c, int rw)
{
	CK_FLAGS fl = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
	CK_RV rv;

	if (c->sess_open && (c->sess_rw || !rw))
		return TOK_OK;
	if (c->sess_open) {
		c->fl->C_CloseSession(c->sess);
		c->sess_open = 0;
	}
	rv = c->fl->C_OpenSession(c->slot_id, fl, NULL, NULL, &c->sess);
	if (rv != CKR_OK) {
		log_error("%s: cannot open a %s session on token '%s': %s", c->uri,
			  rw ? "read-write" : "read-only", c->slot->token->label, tok_ckr_name(rv));
		return TOK_ERR;
	}
	c->sess_open = 1;
	c->sess_rw = rw;
	return TOK_OK;
}

/* Refuse a locked PIN before spending a try; warn when one try is left. */
static int check_pin_state(const struct tok_ctx *c)
{
	const PKCS11_TOKEN *t = c->slot->token;

	if (t->userPinLocked) {
		log_error("%s: the user PIN of token '%s' is locked (CKF_USER_PIN_LOCKED); "
			  "unlock it with the SO PIN (e.g. pkcs11-tool --init-pin --login --login-type so)",
			  c->uri, t->label);
		return TOK_ERR_PIN;
	}
	if (!t->userPinSet) {
		log_error("%s: token '%s' has no user PIN set; initialise it first", c->uri, t->label);
		return TOK_ERR_CONFIG;
	}
	if (t->userPinFinalTry)
		log_warn("%s: token '%s' reports one PIN try left (CKF_USER_PIN_FINAL_TRY); "
			 "a wrong PIN now locks it", c->uri, t->label);
	else if (t->userPinCountLow)
		log_warn("%s: token '%s' reports a wrong PIN was entered before "
			 "(CKF_USER_PIN_COUNT_LOW)", c->uri, t->label);
	return TOK_OK;
}

/* A refused PIN: say so, and record it so that no later run tries the same PIN. */
static int login_refused(struct tok_ctx *c, const char *source, const char *pin_value,
			 unsigned long rv)
{
	if (rv == CKR_PIN_INCORRECT)
		log_error("%s: the PIN for token '%s' is wrong (CKR_PIN_INCORRECT); not retrying, "
			  "since each wrong PIN uses up one of the token's tries", c->uri,
			  c->slot->token->label);
	else
		log_error("%s: token '%s' refused the PIN: %s", c->uri, c->slot->token->label,
			  tok_ckr_name(rv));
	tok_pinmark_set(c, source, pin_value, rv);
	return TOK_ERR_PIN;
}

/* Log in exactly once. libp11 would accept a second login silently, and a retry after
 * CKR_PIN_INCORRECT burns another of the token's tries, as does a later run with the
 * same PIN source (pinmark.c). */
static int login_once(struct tok_ctx *c, const struct tok_uri *u, const struct tok_opts *o)
{
	const char *source = o != NULL && o->pin_source != NULL ? o->pin_source : u->pin_source;
	char what[300];
	char *pin = NULL;
	unsigned long rv;
	sigset_t held;
	int ret = TOK_ERR, ok;

	snprintf(what, sizeof(what), "token '%s'", c->slot->token->label);
	if (!c->slot->token->loginRequired)
		return TOK_OK;
	if ((ret = tok_pinmark_check(c, source, u->pin_value)) != TOK_OK)
		return ret;
	if (o != NULL && o->pin != NULL)
		pin = strdup(o->pin);   /* logging in again: the PIN read the first time */
	else
		pin = tok_pin_read(source, u->pin_value, what);
	if (pin == NULL) {
		ret = TOK_ERR_CONFIG;
		goto out;
	}
	ERR_clear_error();
	tok_hold_signals(&held);
	ok = PKCS11_login(c->slot, 0, pin) == 0;
	tok_release_signals(&held);
	if (ok) {
		ret = TOK_OK;
		tok_pinmark_clear(c);
		c->pin = pin;   /* for CKA_ALWAYS_AUTHENTICATE keys (ui_read) */
		pin = NULL;
		goto out;
	}
	rv = tok_last_ckr();
	if (tok_pin_refused(rv)) {
		ret = login_refused(c, source, u->pin_value, rv);
		goto out;
	}
	ret = TOK_ERR;
	log_error("%s: login to token '%s' failed: %s", c->uri, c->slot->token->label,
		  tok_ckr_name(rv));
out:
	secret_free(pin);
	return ret;
}

/* Everything tok_open does while it holds the lock. */
static int open_locked(struct tok_ctx *c, const struct tok_uri *u, const struct tok_opts *o)
{
	int rc;

	rc = load_module(c);
	if (rc == TOK_OK)
		rc = select_token(c, u);
	if (rc == TOK_OK)
		rc = check_pin_state(c);
	if (rc != TOK_OK)
		return rc;
	c->slot_id = PKCS11_get_slotid_from_slot(c->slot);
	return login_once(c, u, o);
}

int tok_open(const char *uri, const struct tok_opts *o, struct tok_ctx **out)
{
	struct tok_uri u;
	struct tok_ctx *c = NULL;
	char err[512];
	int rc = TOK_ERR;

	*out = NULL;
	if (tok_uri_parse(uri, &u, err, sizeof(err)) != TOK_OK) {
		char *shown = uri_redact_pin(uri, "(hidden)");
		log_error("%s: %s", shown ? shown : "(no URI)", err);
		free(shown);
		return TOK_ERR_CONFIG;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto out;
	c->lock_fd = -1;
	c->allow_extractable = o != NULL ? o->allow_extractable : 0;
	c->mark_dir = o != NULL ? o->pin_marker_dir : NULL;
	c->module_args = o != NULL ? o->module_args : NULL;
	c->uri = uri_redact_pin(uri, "(hidden)");
	if (c->uri != NULL)
		c->module = module_resolve(o, &u, c->uri);
	if (c->uri == NULL || c->module == NULL) {
		rc = TOK_ERR_CONFIG;
		goto out;
	}
	/* libp11 reports a missing file as CKR_GENERAL_ERROR; say what is missing instead.
	 * p11-kit may register a module by a bare file name, left to the dynamic loader. */
	if (strchr(c->module, '/') != NULL && access(c->module, R_OK) != 0) {
		log_error("%s: PKCS#11 module %s: %s; give the module's path with --module or "
			  "module-path=, or install it", c->uri, c->module, strerror(errno));
		rc = TOK_ERR_CONFIG;
		goto out;
	}
	c->lock_fd = tok_lock(c->module);
	if (c->lock_fd < 0)
		goto out;
	rc = open_locked(c, &u, o);
	tok_unlock(c->lock_fd);
	c->lock_fd = -1;
out:
	tok_uri_free(&u);
	if (rc != TOK_OK) {
		tok_close(c);
		c = NULL;
	}
	*out = c;
	return rc;
}

/* The order libp11 0.4.12 needs: keys, then slots, then the module; any other order
 * reads freed memory. Our session goes before C_Finalize (in PKCS11_CTX_unload). */
void tok_close(struct tok_ctx *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nkeys; i++)
		EVP_PKEY_free(c->keys[i]);
	if (c->sess_open)
		c->fl->C_CloseSession(c->sess);
	if (c->slots != NULL)
		PKCS11_release_all_slots(c->p11, c->slots, c->nslots);
	if (c->p11 != NULL) {
		if (c->loaded)
			PKCS11_CTX_unload(c->p11);
		PKCS11_CTX_free(c->p11);
	}
	UI_destroy_method(c->ui);
	secret_free(c->pin);
	free(c->mark_path);
	tok_unlock(c->lock_fd);
	free(c->module);
	free(c->uri);
	free(c);
}

char *tok_pin_copy(const struct tok_ctx *c)
{
	return c != NULL && c->pin != NULL ? strdup(c->pin) : NULL;
}
