/*
 * client/pending.c: the record of an order in flight (pending.h).
 */
#include "client/pending.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "client/acme.h"
#include "client/cleanup.h"
#include "client/validate.h"
#include "common/common.h"

#define PENDING_MAX (256 * 1024)

static char *pending_path(const char *config_dir, const char *name)
{
	return xasprintf("%s/renewal/.%s.order", config_dir, name);
}

/* The tree may hold a copy of the key: wipe it, then free the tree. */
static void json_delete_wiped(cJSON *o)
{
	cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "key");

	if (cJSON_IsString(k) && k->valuestring != NULL)
		OPENSSL_cleanse(k->valuestring, strlen(k->valuestring));
	cJSON_Delete(o);
}

static cJSON *pending_json(const struct pending_order *p)
{
	cJSON *o = cJSON_CreateObject(), *arr;

	if (o == NULL || cJSON_AddStringToObject(o, "server", p->server) == NULL ||
	    cJSON_AddStringToObject(o, "account", p->account) == NULL ||
	    cJSON_AddStringToObject(o, "order", p->order_url) == NULL ||
	    (arr = cJSON_AddArrayToObject(o, "names")) == NULL)
		goto fail;
	for (size_t i = 0; i < p->n_names; i++)
		if (!cJSON_AddItemToArray(arr, cJSON_CreateString(p->names[i])))
			goto fail;
	if (p->key_pem != NULL && cJSON_AddStringToObject(o, "key", p->key_pem) == NULL)
		goto fail;
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

int pending_save(const char *config_dir, const char *name, const struct pending_order *p)
{
	char *path = pending_path(config_dir, name), *text = NULL;
	cJSON *o = pending_json(p);
	int rc = -1;

	if (path == NULL || o == NULL || (text = cJSON_PrintUnformatted(o)) == NULL)
		goto out;
	if (file_write_atomic(path, text, strlen(text), 0600) != 0) {
		log_warn("%s: %s; if this run cannot store the certificate, the next one orders "
			 "again", path, strerror(errno));
		goto out;
	}
	/* a signal before the authorizations are done removes it (cleanup.h) */
	cleanup_add_file(path);
	rc = 0;
out:
	json_delete_wiped(o);
	secret_free(text);
	free(path);
	return rc;
}

static char *jdup(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) && v->valuestring != NULL ? strdup(v->valuestring) : NULL;
}

static int pending_parse(const char *text, struct pending_order *p)
{
	cJSON *o = cJSON_Parse(text), *arr, *it;
	int rc = -1, n;

	if (!cJSON_IsObject(o))
		goto out;
	p->server = jdup(o, "server");
	p->account = jdup(o, "account");
	p->order_url = jdup(o, "order");
	p->key_pem = jdup(o, "key");
	arr = cJSON_GetObjectItemCaseSensitive(o, "names");
	if (p->server == NULL || p->account == NULL || p->order_url == NULL || !cJSON_IsArray(arr))
		goto out;
	n = cJSON_GetArraySize(arr);
	if (n < 1 || n > 100 || (p->names = calloc((size_t)n, sizeof(char *))) == NULL)
		goto out;
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it) || (p->names[p->n_names] = strdup(it->valuestring)) == NULL)
			goto out;
		p->n_names++;
	}
	rc = 0;
out:
	json_delete_wiped(o);
	return rc;
}

int pending_load(const char *config_dir, const char *name, struct pending_order *p)
{
	char *path = pending_path(config_dir, name), *text = NULL;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	if (path == NULL)
		return -1;
	if ((text = file_read(path, PENDING_MAX, NULL, FILE_NOFOLLOW | FILE_REGULAR)) == NULL) {
		rc = errno == ENOENT ? 1 : -1;
		if (rc < 0)
			log_warn("%s: %s; ordering afresh", path, strerror(errno));
		goto out;
	}
	if (pending_parse(text, p) != 0) {
		log_warn("%s: not a record of an order; ordering afresh", path);
		pending_free(p);
		goto out;
	}
	rc = 0;
out:
	secret_free(text);
	free(path);
	return rc;
}

int pending_matches(const struct pending_order *p, const char *server, const char *account,
		    char *const *names, size_t n_names)
{
	if (strcmp(p->server, server) != 0 || account == NULL || strcmp(p->account, account) != 0 ||
	    p->n_names != n_names)
		return 0;
	for (size_t i = 0; i < n_names; i++) {
		size_t j = 0;

		while (j < p->n_names && strcasecmp(names[i], p->names[j]) != 0)
			j++;
		if (j == p->n_names)
			return 0;
	}
	return 1;
}

void pending_remove(const char *config_dir, const char *name)
{
	char *path = pending_path(config_dir, name);

	if (path != NULL && unlink(path) != 0 && errno != ENOENT)
		log_warn("%s: %s", path, strerror(errno));
	free(path);
}

void pending_free(struct pending_order *p)
{
	free(p->server);
	free(p->account);
	free(p->order_url);
	for (size_t i = 0; i < p->n_names; i++)
		free(p->names[i]);
	free(p->names);
	secret_free(p->key_pem);
	memset(p, 0, sizeof(*p));
}

/* The certificate key of the record, or NULL (none, or not a key: logged). */
static EVP_PKEY *pending_key(const struct pending_order *p)
{
	BIO *b = BIO_new_mem_buf(p->key_pem, -1);
	EVP_PKEY *k = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (k == NULL)
		log_openssl_errors("order record key");
	return k;
}

/* Fetch the recorded order. 1: it can still give the certificate; 0: it cannot
 * (its state); -1: it could not be fetched (the CA's error is logged). */
static int pending_fetch(struct acme *a, const struct pending_order *p, struct acme_order *o)
{
	if (acme_order_get(a, p->order_url, o) != 0)
		return -1;
	switch (o->state) {
	case ACME_ST_PENDING: case ACME_ST_READY: case ACME_ST_PROCESSING:
		return 1;
	case ACME_ST_VALID:
		return o->certificate != NULL;
	default:
		return 0;
	}
}

int pending_resume(struct acme *a, const char *config_dir, const char *name,
		   char *const *names, size_t n_names, int want_key, struct acme_order *o,
		   char **order_url, EVP_PKEY **key)
{
	struct pending_order p = { 0 };
	int rc = 0;

	*key = NULL;
	if (pending_load(config_dir, name, &p) != 0)
		return 0;
	if (!pending_matches(&p, a->g->server, a->kid, names, n_names) ||
	    (want_key != (p.key_pem != NULL))) {
		log_info("%s: the order recorded by an earlier run is for another request; "
			 "ordering afresh", name);
		goto drop;
	}
	if ((rc = pending_fetch(a, &p, o)) < 0) {
		/* a CA that fails now would fail a new order too: one try per run */
		log_error("%s: the order %s of an earlier run could not be fetched; the next "
			  "run orders afresh", name, p.order_url);
		acme_order_free(o);
		goto drop;
	}
	if (rc == 0 || order_idents_check(o, names, n_names, NULL) != 0) {
		log_info("%s: the order %s of an earlier run is %s; ordering afresh", name,
			 p.order_url, rc == 0 && o->status != NULL ? o->status : "for other names now");
		acme_order_free(o);
		rc = 0;
		goto drop;
	}
	rc = 0;
	if ((want_key && (*key = pending_key(&p)) == NULL) ||
	    (*order_url = strdup(p.order_url)) == NULL) {
		EVP_PKEY_free(*key);
		*key = NULL;
		acme_order_free(o);
		goto drop;
	}
	log_info("%s: finishing the order %s of an earlier run (%s), which could not be "
		 "stored then, instead of ordering again", name, p.order_url, o->status);
	rc = 1;
	goto out;
drop:
	pending_remove(config_dir, name);
out:
	pending_free(&p);
	return rc;
}
