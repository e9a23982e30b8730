/*
 * client/prepost.h: renew's --pre-hook and --post-hook (prepost.c), certbot's: the
 * pre hook runs once per renew run, just before the first renewal (e.g. to stop the
 * web server that holds port 80 for --standalone), the post hook once at the end
 * of a run in which the pre hook ran or a renewal was attempted. Neither runs when
 * nothing is due. They get P11ACME_RENEWED (the names renewed, space separated, for
 * the post hook) and never the PIN (hook_run's environment).
 */
#ifndef P11ACME_CLIENT_PREPOST_H
#define P11ACME_CLIENT_PREPOST_H

#include "client/hook.h"

struct prepost {
	const char *pre, *post;   /* commands, or NULL */
	struct hook_opts ho;
	int pre_ran, pre_failed;  /* pre_failed: renewals are skipped for the run */
	int attempted;
	char renewed[4096];       /* names renewed in this run */
};

/* Before a renewal: runs the pre hook the first time. 0 to go on, -1 when the pre
 * hook failed (now or before in this run; logged once). */
int prepost_before(struct prepost *pp);
/* After a renewal attempt of name (renewed: it is live now). */
void prepost_after(struct prepost *pp, const char *name, int renewed);
/* At the end of the run: the post hook, when something was attempted. 0, or -1 when
 * it failed (logged). */
int prepost_end(struct prepost *pp);

#endif
