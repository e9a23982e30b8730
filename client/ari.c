/*
 * client/ari.c: RFC 9773 ACME Renewal Information and the certificate facts
 * renew decides on (ari.h).
 */
#include "client/ari.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "client/acme.h"
#include "client/parse.h"
#include "common/common.h"

#define CERT_FILE_MAX (256 * 1024)

/* ---- dates ---- */

time_t rfc3339_parse(const char *s)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, n = 0, oh = 0, om = 0;
	const char *p;
	time_t t;

	if (s == NULL || sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		return -1;
	p = s + n;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (sscanf(p, "%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3 || n != 8)
		return -1;
	p += n;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5)
			return -1;
		if (*p == '-') {
			oh = -oh;
			om = -om;
		}
		p += 6;
	} else {
		return -1;
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	return t - (time_t)oh * 3600 - (time_t)om * 60;
}

void rfc3339_format(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

time_t spread_offset(const char *host, const char *name, time_t span)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char *in = xasprintf("%s\n%s", host, name);
	uint64_t v = 0;

	if (span <= 0 || in == NULL) {
		free(in);
		return 0;
	}
	SHA256((const unsigned char *)in, strlen(in), md);
	free(in);
	for (int i = 0; i < 8; i++)
		v = (v << 8) | md[i];
	return (time_t)(v % ((uint64_t)span + 1));
}

/* ---- the certificate ---- */

int asn1_time_to_time(const ASN1_TIME *a, time_t *out)
{
	struct tm tm = { 0 };

	if (a == NULL || ASN1_TIME_to_tm(a, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

/* The content octets of the serial's DER INTEGER (with a leading 0x00 when the
 * high bit is set, as RFC 9773 asks), base64url. */
static char *serial_b64(X509 *x)
{
	const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
	unsigned char *der = NULL, *p;
	size_t off, clen;
	int len;
	char *out = NULL;

	if (serial == NULL || (len = i2d_ASN1_INTEGER((ASN1_INTEGER *)serial, NULL)) < 3)
		return NULL;
	if ((der = malloc((size_t)len)) == NULL)
		return NULL;
	p = der;
	if (i2d_ASN1_INTEGER((ASN1_INTEGER *)serial, &p) != len)
		goto out;
	/* tag, then a short or long form length */
	if (der[1] < 0x80) {
		off = 2;
		clen = der[1];
	} else {
		size_t nl = der[1] & 0x7f;
		if (nl == 0 || nl > 2 || (size_t)len < 2 + nl)
			goto out;
		clen = 0;
		for (size_t i = 0; i < nl; i++)
			clen = (clen << 8) | der[2 + i];
		off = 2 + nl;
	}
	if (off + clen != (size_t)len || clen == 0)
		goto out;
	out = b64url_encode(der + off, clen);
out:
	free(der);
	return out;
}

char *ari_cert_id(X509 *x)
{
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(x);
	char *a = NULL, *s = NULL, *id = NULL;

	if (aki == NULL || ASN1_STRING_length(aki) <= 0)
		return NULL;
	a = b64url_encode(ASN1_STRING_get0_data(aki), (size_t)ASN1_STRING_length(aki));
	s = serial_b64(x);
	if (a != NULL && s != NULL)
		id = xasprintf("%s.%s", a, s);
	free(a);
	free(s);
	return id;
}

int cert_info_load(const char *path, struct cert_info *ci)
{
	char *pem = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	X509 *x = NULL;
	int rc = -1;

	memset(ci, 0, sizeof(*ci));
	if ((pem = file_read(path, CERT_FILE_MAX, &len, FILE_REGULAR)) == NULL) {
		if (errno == ENOENT)
			return 1;
		log_error("%s: %s", path, file_error(path, errno, FILE_REGULAR));
		return -1;
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		log_openssl_errors(path);
		log_error("%s: not a PEM certificate", path);
		goto out;
	}
	if (asn1_time_to_time(X509_get0_notBefore(x), &ci->not_before) != 0 ||
	    asn1_time_to_time(X509_get0_notAfter(x), &ci->not_after) != 0 ||
	    ci->not_after <= ci->not_before) {
		log_error("%s: unusable validity dates", path);
		goto out;
	}
	ci->cert_id = ari_cert_id(x);
	rc = 0;
out:
	X509_free(x);
	BIO_free(bio);
	free(pem);
	return rc;
}

void cert_info_free(struct cert_info *ci)
{
	free(ci->cert_id);
	memset(ci, 0, sizeof(*ci));
}

/* ---- renewalInfo ---- */

int ari_fetch(struct http *h, const char *renewal_info, const char *cert_id,
	      struct ari_window *w)
{
	struct http_resp r = { 0 };
	cJSON *root = NULL, *win, *st, *en, *ex;
	char *url = NULL;
	size_t blen;
	int rc = -1;

	memset(w, 0, sizeof(*w));
	blen = strlen(renewal_info);
	url = xasprintf("%s%s%s", renewal_info,
			blen > 0 && renewal_info[blen - 1] == '/' ? "" : "/", cert_id);
	if (url == NULL || http_get(h, url, "application/json", &r) != 0)
		goto out;
	if (r.code != 200) {
		acme_report(url, &r);
		goto out;
	}
	root = cJSON_ParseWithLength(r.body, r.len);
	win = cJSON_GetObjectItemCaseSensitive(root, "suggestedWindow");
	st = cJSON_GetObjectItemCaseSensitive(win, "start");
	en = cJSON_GetObjectItemCaseSensitive(win, "end");
	if (!cJSON_IsString(st) || !cJSON_IsString(en) ||
	    (w->start = rfc3339_parse(st->valuestring)) == (time_t)-1 ||
	    (w->end = rfc3339_parse(en->valuestring)) == (time_t)-1) {
		log_error("%s: no usable suggestedWindow", url);
		goto out;
	}
	if (w->end <= w->start) {
		log_error("%s: the suggested window ends before it starts", url);
		goto out;
	}
	ex = cJSON_GetObjectItemCaseSensitive(root, "explanationURL");
	if (cJSON_IsString(ex) && (w->explanation = strdup(ex->valuestring)) == NULL)
		goto out;
	if (r.retry_after != NULL)
		retry_after_parse(r.retry_after, strlen(r.retry_after), time(NULL), &w->retry_after);
	rc = 0;
out:
	if (rc != 0)
		ari_window_free(w);
	cJSON_Delete(root);
	http_resp_free(&r);
	free(url);
	return rc;
}

void ari_window_free(struct ari_window *w)
{
	free(w->explanation);
	memset(w, 0, sizeof(*w));
}
