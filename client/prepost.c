/*
 * client/prepost.c: renew's --pre-hook and --post-hook (prepost.h).
 */
#include "client/prepost.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

static int run(const char *what, const char *cmd, const char *renewed,
	       const struct hook_opts *ho)
{
	char *env[1] = { xasprintf("P11ACME_RENEWED=%s", renewed) };
	int st;

	if (env[0] == NULL)
		return -1;
	log_info("running the %s hook", what);
	st = hook_run(cmd, NULL, 0, env, 1, ho);
	free(env[0]);
	if (st == 0)
		return 0;
	if (st > 0)
		log_error("%s hook '%s' exited with %d", what, cmd, st);
	else
		log_error("%s hook '%s' did not finish", what, cmd);
	return -1;
}

int prepost_before(struct prepost *pp)
{
	pp->attempted = 1;
	if (pp->pre_failed)
		return -1;
	if (pp->pre == NULL || pp->pre_ran)
		return 0;
	pp->pre_ran = 1;
	if (run("pre", pp->pre, "", &pp->ho) != 0) {
		pp->pre_failed = 1;
		log_error("the pre hook failed: no certificate is renewed in this run");
		return -1;
	}
	return 0;
}

void prepost_after(struct prepost *pp, const char *name, int renewed)
{
	size_t len = strlen(pp->renewed);

	if (!renewed || len + strlen(name) + 2 > sizeof(pp->renewed))
		return;
	snprintf(pp->renewed + len, sizeof(pp->renewed) - len, "%s%s", len ? " " : "", name);
}

int prepost_end(struct prepost *pp)
{
	if (pp->post == NULL || !pp->attempted)
		return 0;
	return run("post", pp->post, pp->renewed, &pp->ho);
}
