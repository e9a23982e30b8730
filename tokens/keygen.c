#include "tokens/tok_int.h"
int tok_generate_key(struct tok_ctx *c, const char *uri, const char *type)
{
	(void)c; (void)uri; (void)type;
	return TOK_ERR;
}
