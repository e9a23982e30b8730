/*
 * signer_key_ensure(): find out whether the token holds the key a URI names, and
 * generate it when asked to, in a signer child of its own (like key generate), so
 * the CLI process never reads the PIN or loads the module. account migrate uses it
 * to create the key it moves an account to only once every check has passed.
 */
#include "signer/internal.h"
#include "tokens/tokens.h"
#include "common/common.h"

#include <stdlib.h>
#include <string.h>

struct ensure_arg {
	const char *type; /* generate a key of this type when absent; NULL: only look */
};

static int ensure_child(int fd, const struct signer_config *cfg, void *arg)
{
	const struct ensure_arg *ea = arg;
	struct tok_ctx *ctx = NULL;
	struct tok_opts o;
	struct wire_field f;
	const char *state = "absent";
	int rc;

	signer_tok_opts(cfg, &o);
	if ((rc = tok_open(cfg->key_uri, &o, &ctx)) != TOK_OK)
		goto out;
	if ((rc = tok_key_present(ctx, cfg->key_uri)) < 0)
		goto out;
	if (rc == 1)
		state = "present";
	else if (ea->type != NULL) {
		if ((rc = tok_generate_key(ctx, cfg->key_uri, ea->type)) != TOK_OK)
			goto out;
		state = "generated";
	}
	rc = TOK_OK;
out:
	f.p = (const unsigned char *)state;
	f.len = strlen(state);
	rc = signer_admin_reply(fd, rc, &f, 1);
	tok_close(ctx);
	return rc;
}

int signer_key_ensure(const struct signer_config *cfg, const char *type, int *state)
{
	struct ensure_arg ea = { type };
	unsigned char *buf = NULL;
	struct wire_msg resp;
	int rc;

	*state = SIGNER_KEY_ABSENT;
	if (cfg == NULL || cfg->key_uri == NULL) {
		log_error("a token key URI (--key) is required");
		return SIGNER_ERR_CONFIG;
	}
	if ((rc = signer_admin_run(cfg, ensure_child, &ea, &buf, &resp)) != SIGNER_OK)
		goto out;
	if (resp.nfields == 1 && resp.f[0].len == 7 && memcmp(resp.f[0].p, "present", 7) == 0)
		*state = SIGNER_KEY_PRESENT;
	else if (resp.nfields == 1 && resp.f[0].len == 9 && memcmp(resp.f[0].p, "generated", 9) == 0)
		*state = SIGNER_KEY_GENERATED;
out:
	free(buf);
	return rc;
}
