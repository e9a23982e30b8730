/*
 * client/migrate.h: `p11acme account migrate` (migrate.c) and the readers of other
 * clients' account files (migrate_read.c).
 *
 * A reader only finds files and reads metadata (the account URL, the account's
 * name); it never opens the old key. The key's path goes to the signer, which reads
 * the key in its own process (signer_config.account_key_file).
 */
#ifndef P11ACME_CLIENT_MIGRATE_H
#define P11ACME_CLIENT_MIGRATE_H

/* account migrate (migrate.c): argv[0] is "migrate". An enum exit_status. */
struct globals;
int cmd_account_migrate(const struct globals *g, int argc, char **argv);

/* Where an account of another client lives. All strings malloc'd. */
struct migrate_src {
	char *format;      /* "certbot", "lego", "uacme", "dehydrated", "lacme", "key" */
	char *key_path;    /* the old account key file (PEM or JWK) */
	char *account_url; /* from the client's metadata; NULL when it keeps none */
	char *id;          /* the account's name in those files (certbot id, lego email),
			    * or NULL */
};

/* Find the account for server in FORMAT:PATH (from), picking account_id (may be
 * NULL) when the files hold several. Returns an enum exit_status: EXIT_OK with *src
 * filled; EXIT_USAGE after a message naming what is wrong (unknown format, missing or
 * unreadable directory, no account for server, several accounts without --account:
 * then each is listed). */
int migrate_find(const char *from, const char *server, const char *account_id,
		 struct migrate_src *src);
void migrate_src_free(struct migrate_src *src);

#endif
