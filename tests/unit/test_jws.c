/*
 * Unit tests for signer/jws.c with software keys: the RFC 7638 §3.1 known answer,
 * JWK padding, ES256/ES384/RS256 JWSs that verify (and forgeries that do not),
 * short r/s kept at 64 bytes, key-change and CSR structure, unsupported keys.
 */
#include "signer/internal.h"
#include "common/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tests/unit/check.h"

/* RFC 7638 §3.1 (the key of RFC 7517 appendix A.1). */
static const char rfc7638_jwk[] =
	"{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxu"
	"hDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQ"
	"R0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQF"
	"h6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\","
	"\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";
static const char rfc7638_thumbprint[] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

/* Fixed RSA test keys (test use only): generating them takes minutes under valgrind. */
static const char rsa2048_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC1cJDO5uPyOsy2\n"
	"ZnbaU4MDu2ua9zKd3EQl7Rz8iicty2PZ0ro//kMTLdwqnqAuXYwWB5REFiA3SVSV\n"
	"HuoRbXf4fb/njDM76JxGvqT8YFCW2HkpGzhsztIIcMiMTmq0AnQX5etrgN9wL6S0\n"
	"66Ii8tWYzdsbxC4mQBpg5yqJaKol17atNOKE0q9EG648XEB5uti8+ocmzWWbBjMu\n"
	"OuDPqSENYZhmPAENh9Z26L+McSGS+gERfC/YG+4wBK0Ar+H0xWSCGE20Q8FZA8gm\n"
	"oMs2TCVKp32AZpXygwNJRYo1R38ctljgINjTigEmhpJbg76yp7MM5LlHPfrvX/dK\n"
	"vt1LBUNfAgMBAAECggEAAZ4ODY2LN10SrfS3cqimELHzqEF83vPPEkhWMAb8rbVU\n"
	"FpyAyYkbpBsOVis1+MPWkzUghHFu6DqwnfpCyTBFagMqGiKqvffCp7ulw0sJ7yiY\n"
	"I1VQJKsF4rgXO9z1F0NHMYOhQPndMcF3isPn0+PI/mA3+gUsm9tlboQjT5PW609I\n"
	"cyPnu20zq5MhtJaeVdm+2+dqDVYp3r4M8GjlfXj+3jMvNe1VBqowQ70iLHcbBzfz\n"
	"9tOmb40HhZcNPMB1o6PnwWbNcKh5s4V/KC5db3AH6wb8f8DUE/EEeM9HKyOGzgZL\n"
	"wH+dr/K4AiQHVBV1GELotweVBBhBF8GfVBq9/k7ZGQKBgQD1YXjKGZUMnvGxNL0d\n"
	"tbzouMbTMRpK4vMPLGGpbEj/bRVa+Dy33lI/tS6WrqonL7fsY+UruHlYgH6FfgVk\n"
	"1NwJPdtfZd0W3R2Dv06b/YZmW7D22ULWqfVu1Jv9Ws1Ip2TYCJHb33PB4wKLSUEI\n"
	"xmcB7+gmFvMbf6D4OMheRwOL6QKBgQC9SrPrY8oA1HNjeJjAt5/aUqT25MwVuJQ8\n"
	"IBfsE3FCb7qkS0xlwymp0ZwGbLnFwZKA4jeX9S093nj9f5szHqvd9vcLprwE6Pxp\n"
	"anD+sytAVQKwpV5aAS3nSawYVHXrCPIzJwYQhNuUTcwPyTUEW52BeIB7qu5s4ASB\n"
	"zarVUXLwBwKBgGTrg8xLHTwlmu3w7N7tQhbM+CkgBtpJ4QGalUgjGxrCeIgDlKVi\n"
	"sJ03HUQn7h9TxudYZobGxlGZ929b10gTK7Q5VqIzuOyQYHUxF1mcucwbZfsAfDbh\n"
	"i+nbU5St5cQ95IHddG/jxS42+XLj2/WJ9A+d5fLUeYQTx9aPNAliV5kRAoGAOsKN\n"
	"x2xasJdCmoY9JNXbkXJGMz4i/DsoCOINiwMeDXmRfp7BQHWs4UJoJLZrlK/aQpf2\n"
	"mf1J5gLBnC+Yhe3nfCfF2KARjZSlhjO8j9QegQHiq+MpvtbO4RVFjufpEuTcCnT6\n"
	"tPYJE6hyyBO1mXy3EBHQEJOnH7UKsSCe/0khXNECgYEAue5IhqEUg1vIjXoXK5ht\n"
	"zspvrNsV1i98E8cavr+o+qWMLRzDnHEsmASAzK3YAtDTbAhcij2mwkQ+uxOp1zSz\n"
	"ii37RVoZVp+zAhT3SvWtPFvau/3Ppim8J6nuIGtX0JDitHPNEH6wtyF7wMh1vYvG\n"
	"S7PKgpYpDJI3mwMdlRNbsag=\n"
	"-----END PRIVATE KEY-----\n";

static const char rsa4096_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIJQwIBADANBgkqhkiG9w0BAQEFAASCCS0wggkpAgEAAoICAQC0b2yi50cuT5Vb\n"
	"souCYk4OUjuJvWfrqDAqjgYDo9Er0qaCdtEe4lzPMMy+266dTp9dVexHfpeV3iU0\n"
	"YFwj1/PClTr2uzcc4upFvUJvYpRrbUmBv2HyFDDZ0C97ReTen3O/JoRnnKea6d2w\n"
	"5E++dkafr86F1ug0noP6YpH+6u56Tv2PSAU7UHxl5+G2HUCiVG1qfE10EsgmSx8v\n"
	"6iYVJyNjkTAjU8KS9/504bEmYKsr11GT8rjP/bcmfUiF/H1UvUzUkedQxRaFIIRU\n"
	"bxBDMKQ4euNAdmlfVQ87HbcKNU2+bOMBYX7a0KUGa/hKGBi6UBE0PDaIIIq7S8d0\n"
	"SR3HuS45jasmCTezESYxqkJIJHffl8XtxSpaZWg0qTSz6shzWbNHYs06UQLW4cib\n"
	"P11JDpXE/z9DYJHLOo0WjLU0dkq5VWd+SlMGmNYVHspMW5XLMbtAWK5BkDMMOdnS\n"
	"lgnZQU4z8u6gYcmcRlvNhlZMs2QuaRZ9d53jmZ2fSYlT2yihvqy85yfCqxJxtUab\n"
	"ty1OCYI2rM0vr45BQEKyHJOSUxRQvPwSd2M3g9ZVXhY0pwQWS1IdWyF3OKgg3h/s\n"
	"2nCV3PUjIMoo6YNNWFh6Q+3/7lz1yiKKelXCq5iEeHdqPRsgi7ZIsZEe85thxyAc\n"
	"kMWJG2i+1Ul6eB9Lzr+lAyQGOXAA7QIDAQABAoICAB/UtlQIu/hyBrXOCil+wSlq\n"
	"nWE/vjkHCzQ+qNX0jN6Pw1sprdumcFwGzl/vLl9G8vtKwKueLAy+y05xn1+dZb3S\n"
	"iLvlLCRW7aBO8ozm1asb9QdEJXnI0RNj1DSJkIYrmAZFO79xlenQzxC5Pk4p3Gyo\n"
	"XaUj1AQQYNUHlZzkghymmbmwqWec2804eoufnnrkrQbHlfxfodqLjx1rT7uUk3wp\n"
	"rVXWHXHC+StSc2eDTz8lNZmFjM/4gNpz6Jrmf4+283peoPGRS1dB9MZWb4aC6r2i\n"
	"BDwnh5BPV6gEpnlRDP2GhQeF1RSyESLQYlVj6dzYaiiOZMpf/0lqZW3gxjWpN/uY\n"
	"RJ+oAmLJgW75G1xfhAAt05qJsZtvjsABnlNgdPZEgmKNHosBjwpxsXzk0xAzZjdl\n"
	"KWR/+9m1v/9Vs5P2BkHv7XJBtx09Ng/q1qsgUzBo78I1DAiy8/nGu8j6c0LrHAGu\n"
	"xX72RW29IedQvbB9M2TWm+uk+ey3QmViE2QYp8nFxhXf1TdFalbMr8CujFGiAbas\n"
	"IyRtlu+vtOMgVcGfativDvHzLzKRgnlb8Q5aeJHpWsz138fVMFKqCf2fltu4aVci\n"
	"txOkatXyeWfx6dqJRHloug57+x9FkiZxr+3onU8L9Kw83f3eun2kmCgUI9yvGzpA\n"
	"+oUurkLRd7NnOV3A/zkBAoIBAQDk7JL+4QZOWwfMiX/GjlWONfODESd+J/IZrye/\n"
	"Qf3Q8kN0lbX/yvObXbhHBXJceQ0rJFiMyxsR4tguqm1BEi5+vEEhWKpT3HEdvcwn\n"
	"6X5BxNe0FkEysGoMd14jxPAlH6vO1nqhBkIxqnYd2isfUgIW1nhUotL0xmesoE8Q\n"
	"lSvORoXMOlz024AOM/Em6AGSR2F/UbO1whbZC7QAvBl1RAVMoCtYcMKZEyJQ+nm0\n"
	"FuCPnqHl7qs9+9xSguIGfFjIQ+xrYvZRPuELtQLWkLf6iqlxooHioQmIIk6gh5Lx\n"
	"yiAhmbIgoYa4b/1r1CgH8N8rQl0fl2GpYeIDgNnWNBPl5nyBAoIBAQDJxrD2hSgH\n"
	"xgbm+yTheXX66K7pcqmdz7sKZ6qZO80FCUPM4+/4vGvgtSlaomn0eZaNFoHixRbu\n"
	"Svwihm3ZiQJFVufAx0de7jZYhUy7WuN7Kx2eFvBNHCRey0txxALdV9fZAVuTS8V1\n"
	"lcDKve72kwTrMYAEu4uNd4OvGBymFnqtGbW03BRhL2ZSFsmlGH1LMR6J9uTQrpaZ\n"
	"YH3EI1VHmZQUT1kNUYUN5tGG0PLbqBVwqqx0h2BbQT7V7mEG2VFNTyTLTBwIIaa8\n"
	"ze0seCQXDMXFPhPcvmepPLS+2i79CbuI1y2ngUw+kkp1ijofJWYr+xXP2dbL5VYM\n"
	"gn9ALycYRf5tAoIBAQCnCo00WGRulnP5ZreK3d9F9s4qbEECCAnbffil0XRwm+Zm\n"
	"0rtL2/6n9tn5UNsi6N2YBlxq1+V3xqvyWT+BhM/SgHGR8I3QxYDwr8ahtPoA6a5v\n"
	"5PFMGHg5gnx540FMBXEra0tt5hA1B2pK3CAtKX0GxxZkw67lF0UdLJikxASD7ufA\n"
	"nzGnJeep9XLY7d//qgBVk/tq/CYJ2EVPZ/G3pJutTw5x6U3FvrWCm1Jk+3B+u8Ts\n"
	"75uajgY1WvWsv91UvGNt9HdBz30NOtbIVC87LST5GxhlkxZOdKIk9uhdcBzEB893\n"
	"igWw3V7w6I0RRkzB1xn2bFLB8v+liMbrS3LdhbKBAoIBAFsCe581wDCBaWuVq7Tn\n"
	"jAd4HCy/wzGjGMJAr/odtwOmgiZQSVTv59ia3eQ7jX7vuLA6jqsyKn2g5MjNyY5s\n"
	"9dFAuZeCSvbOi0SyG0IGZMSRVfKQdiLRprX7DDRsLL6ZeIowypVNf+rheOv5b2dY\n"
	"OMe8s/lufit41LSNM57WVM7u4b6J5cdQEd7E2H7W5OydYyDnc52MofDcTN3C8hwx\n"
	"cVEX2RrgwhrbGXatmFzrG4CN+us0hImkjCsCMlFchAdSw03PLnWceBCA8ZE1P1IG\n"
	"OM4Wie7vEuKKtxu+XaNUWHoIVFdRQoqWgW8ywbR6sfL0dYoiv3eIIZ/S3IKewgt4\n"
	"xqECggEBAMYYgGbr+5im8/a5GE3r+QFBjG/qs7vpsgJbkjJ7nG/xYrMRxCJw7IgN\n"
	"K0MAVxOAKwc3mfiitoahMKVRBIdMa8QW3xD1uB5TaQox/0D+mwTZI+QSfBo4SFbg\n"
	"y9miiNsp5PmCdZwwPbcPEpwL6On+yVReElA8sOmV+pmm9sARGfWiTlMo3kCjupgG\n"
	"AB3SOLUHfd4u6iccFowEro4rSSSJnS5JVxPAm7D5Ga1nKKDphl5G3LJA/pZDPVWa\n"
	"azGPDlKiJ/LaUF+oPRJ+lnca0VqNQ0yiCbqNQ2sQqMareG1OfGMNRZhIv3z7S2ia\n"
	"ptYwGLDFZW32FuUkqBjQga0hMnIdqx0=\n"
	"-----END PRIVATE KEY-----\n";

static BIGNUM *b64_bn(const char *s)
{
	size_t len;
	unsigned char *bin = b64url_decode(s, &len);
	BIGNUM *bn = bin != NULL ? BN_bin2bn(bin, (int)len, NULL) : NULL;

	free(bin);
	return bn;
}

/* An RSA public EVP_PKEY from the JWK's n and e, to run jws_jwk on a known key. */
static EVP_PKEY *rsa_from_jwk(const cJSON *jwk)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pk = NULL;
	BIGNUM *n = b64_bn(cJSON_GetObjectItem(jwk, "n")->valuestring);
	BIGNUM *e = b64_bn(cJSON_GetObjectItem(jwk, "e")->valuestring);

	if (bld != NULL && ctx != NULL && n != NULL && e != NULL &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
	    EVP_PKEY_fromdata_init(ctx) == 1)
		EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	return pk;
}

static void test_rfc7638(void)
{
	cJSON *jwk = cJSON_Parse(rfc7638_jwk), *ours = NULL;
	EVP_PKEY *pk = NULL;
	char *tp = NULL, *tp2 = NULL;

	CHECK(jwk != NULL, "RFC 7638 JWK does not parse");
	if (jwk == NULL)
		return;
	/* From the JWK as given (extra members alg/kid must be ignored). */
	tp = jws_thumbprint(jwk);
	CHECK(tp != NULL && strcmp(tp, rfc7638_thumbprint) == 0,
	      "RFC 7638 thumbprint %s", tp ? tp : "(null)");
	/* From an EVP_PKEY through jws_jwk: same members, same thumbprint. */
	pk = rsa_from_jwk(jwk);
	CHECK(pk != NULL, "cannot build the RFC 7638 key");
	if (pk != NULL && (ours = jws_jwk(pk)) != NULL) {
		tp2 = jws_thumbprint(ours);
		CHECK(tp2 != NULL && strcmp(tp2, rfc7638_thumbprint) == 0,
		      "thumbprint via jws_jwk %s", tp2 ? tp2 : "(null)");
		CHECK(strcmp(cJSON_GetObjectItem(ours, "n")->valuestring,
			     cJSON_GetObjectItem(jwk, "n")->valuestring) == 0, "n differs");
		CHECK(cJSON_GetArraySize(ours) == 3, "RSA JWK has extra members");
	} else
		CHECK(0, "jws_jwk failed on the RFC 7638 key");
	CHECK(jws_alg(pk) != NULL && strcmp(jws_alg(pk), "RS256") == 0, "alg of RFC key");
	free(tp);
	free(tp2);
	cJSON_Delete(ours);
	cJSON_Delete(jwk);
	EVP_PKEY_free(pk);
}

static EVP_PKEY *gen_key(const char *type, const char *param)
{
	const char *pem = strcmp(param, "4096") == 0 ? rsa4096_pem : rsa2048_pem;
	BIO *b = NULL;
	EVP_PKEY *pk = NULL;

	if (strcmp(type, "EC") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", param);
	if (strcmp(param, "1024") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	if ((b = BIO_new_mem_buf(pem, -1)) != NULL)
		pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	return pk;
}

/* Independent of jws_sign_bytes: raw r||s back to DER, then EVP_DigestVerify. */
static int verify_raw(EVP_PKEY *pk, const char *alg, const char *input,
		      const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const EVP_MD *md = strcmp(alg, "ES384") == 0 ? EVP_sha384() : EVP_sha256();
	ECDSA_SIG *es = NULL;
	unsigned char *der = NULL;
	int derlen, ok = 0;

	if (alg[0] == 'E') {
		es = ECDSA_SIG_new();
		ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)siglen / 2, NULL),
			       BN_bin2bn(sig + siglen / 2, (int)siglen / 2, NULL));
		derlen = i2d_ECDSA_SIG(es, &der);
		ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, pk) == 1 &&
		     EVP_DigestVerify(ctx, der, (size_t)derlen, (const unsigned char *)input,
				      strlen(input)) == 1;
	} else
		ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, pk) == 1 &&
		     EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)input,
				      strlen(input)) == 1;
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* Verify a flattened JWS; returns 1 when valid. Fills *hdr when asked. */
static int verify_jws(EVP_PKEY *pk, const char *alg, const char *jws_text, size_t want_siglen,
		      cJSON **hdr)
{
	cJSON *jws = cJSON_Parse(jws_text);
	const char *p, *pl, *s;
	char *input = NULL;
	unsigned char *sig = NULL, *hj = NULL;
	size_t siglen = 0, hlen;
	int ok = 0;

	if (jws == NULL || cJSON_GetArraySize(jws) != 3)
		goto out;
	p = cJSON_GetObjectItem(jws, "protected")->valuestring;
	pl = cJSON_GetObjectItem(jws, "payload")->valuestring;
	s = cJSON_GetObjectItem(jws, "signature")->valuestring;
	if ((sig = b64url_decode(s, &siglen)) == NULL || siglen != want_siglen)
		goto out;
	input = xasprintf("%s.%s", p, pl);
	ok = verify_raw(pk, alg, input, sig, siglen);
	if (hdr != NULL && (hj = b64url_decode(p, &hlen)) != NULL)
		*hdr = cJSON_Parse((char *)hj);
out:
	free(input);
	free(sig);
	free(hj);
	cJSON_Delete(jws);
	return ok;
}

/* Replace the value of member name in a flattened JWS text. */
static char *jws_with(const char *jws_text, const char *name, const char *value)
{
	cJSON *jws = cJSON_Parse(jws_text);
	char *out;

	cJSON_ReplaceItemInObject(jws, name, cJSON_CreateString(value));
	out = cJSON_PrintUnformatted(jws);
	cJSON_Delete(jws);
	return out;
}

static void test_key(const char *type, const char *param, const char *want_alg, size_t siglen,
		     size_t coord_len)
{
	EVP_PKEY *pk = gen_key(type, param);
	cJSON *jwk = NULL, *hdr = NULL;
	const char *alg;
	char *jws = NULL, *bad = NULL, *get = NULL, *tp = NULL;

	CHECK(pk != NULL, "%s %s keygen", type, param);
	if (pk == NULL)
		return;
	alg = jws_alg(pk);
	CHECK(alg != NULL && strcmp(alg, want_alg) == 0, "alg %s, want %s", alg ? alg : "(none)", want_alg);
	jwk = jws_jwk(pk);
	CHECK(jwk != NULL, "%s jwk", want_alg);
	if (alg == NULL || jwk == NULL)
		goto out;
	if (coord_len > 0) {
		CHECK(strlen(cJSON_GetObjectItem(jwk, "x")->valuestring) == coord_len &&
		      strlen(cJSON_GetObjectItem(jwk, "y")->valuestring) == coord_len,
		      "%s: x/y not padded to %zu chars", alg, coord_len);
	}
	tp = jws_thumbprint(jwk);
	CHECK(tp != NULL && strlen(tp) == 43, "%s thumbprint", alg);

	jws = jws_acme(pk, alg, jwk, "https://ca.test/new-order", "nonce-1", NULL,
		       "{\"a\":1}", 7);
	CHECK(jws != NULL && verify_jws(pk, alg, jws, siglen, &hdr), "%s jwk JWS does not verify", alg);
	if (hdr != NULL) {
		CHECK(cJSON_GetArraySize(hdr) == 4 &&
		      strcmp(cJSON_GetObjectItem(hdr, "alg")->valuestring, alg) == 0 &&
		      strcmp(cJSON_GetObjectItem(hdr, "nonce")->valuestring, "nonce-1") == 0 &&
		      strcmp(cJSON_GetObjectItem(hdr, "url")->valuestring, "https://ca.test/new-order") == 0 &&
		      cJSON_Compare(cJSON_GetObjectItem(hdr, "jwk"), jwk, 1),
		      "%s protected header", alg);
		cJSON_Delete(hdr);
		hdr = NULL;
	}
	/* Forgeries: another payload, another header, a flipped signature. */
	if (jws != NULL) {
		bad = jws_with(jws, "payload", "eyJhIjoyfQ");
		CHECK(!verify_jws(pk, alg, bad, siglen, NULL), "%s tampered payload verifies", alg);
		free(bad);
		bad = jws_with(jws, "protected", "eyJhbGciOiJub25lIn0");
		CHECK(!verify_jws(pk, alg, bad, siglen, NULL), "%s tampered header verifies", alg);
		free(bad);
		bad = jws_with(jws, "signature", "");
		CHECK(!verify_jws(pk, alg, bad, siglen, NULL), "%s empty signature verifies", alg);
		free(bad);
		bad = NULL;
	}
	/* POST-as-GET with kid: payload is the empty string. */
	get = jws_acme(pk, alg, jwk, "https://ca.test/o/1", "n2", "https://ca.test/acct/9", "", 0);
	CHECK(get != NULL && strstr(get, "\"payload\":\"\"") != NULL &&
	      verify_jws(pk, alg, get, siglen, &hdr), "%s POST-as-GET", alg);
	if (hdr != NULL) {
		CHECK(cJSON_GetObjectItem(hdr, "jwk") == NULL &&
		      strcmp(cJSON_GetObjectItem(hdr, "kid")->valuestring, "https://ca.test/acct/9") == 0,
		      "%s kid header", alg);
		cJSON_Delete(hdr);
	}
out:
	free(jws);
	free(get);
	free(tp);
	cJSON_Delete(jwk);
	EVP_PKEY_free(pk);
}

/* ~1 in 128 ES256 signatures has r or s below 2^248; the raw form must stay 64 bytes. */
static void test_short_rs(void)
{
	EVP_PKEY *pk = gen_key("EC", "P-256");
	unsigned char *sig = NULL;
	size_t siglen = 0;
	char input[32];
	int i, found = 0;

	for (i = 0; i < 20000 && !found; i++) {
		snprintf(input, sizeof(input), "input-%d", i);
		free(sig);
		sig = NULL;
		if (jws_sign_bytes(pk, "ES256", (unsigned char *)input, strlen(input), &sig, &siglen) < 0)
			break;
		CHECK(siglen == 64, "ES256 signature of %zu bytes", siglen);
		found = sig[0] == 0 || sig[32] == 0;
	}
	CHECK(found, "no short r or s in %d signatures", i);
	CHECK(found && verify_raw(pk, "ES256", input, sig, siglen),
	      "signature with a short half does not verify");
	fprintf(stderr, "# short r/s after %d signatures\n", i);
	free(sig);
	EVP_PKEY_free(pk);
}

static void test_keychange(void)
{
	EVP_PKEY *oldk = gen_key("EC", "P-256"), *newk = gen_key("EC", "P-384");
	cJSON *oj = jws_jwk(oldk), *nj = jws_jwk(newk), *hdr = NULL, *jws = NULL, *pay = NULL;
	char *inner = jws_keychange(newk, "ES384", nj, oj, "https://ca.test/kc", "https://ca.test/acct/1");
	unsigned char *p = NULL;

	CHECK(inner != NULL && verify_jws(newk, "ES384", inner, 96, &hdr), "key-change JWS");
	if (hdr != NULL)
		CHECK(cJSON_GetArraySize(hdr) == 3 && cJSON_Compare(cJSON_GetObjectItem(hdr, "jwk"), nj, 1) &&
		      strcmp(cJSON_GetObjectItem(hdr, "url")->valuestring, "https://ca.test/kc") == 0 &&
		      cJSON_GetObjectItem(hdr, "nonce") == NULL, "key-change header");
	if (inner != NULL && (jws = cJSON_Parse(inner)) != NULL &&
	    (p = b64url_decode(cJSON_GetObjectItem(jws, "payload")->valuestring, NULL)) != NULL &&
	    (pay = cJSON_Parse((char *)p)) != NULL)
		CHECK(strcmp(cJSON_GetObjectItem(pay, "account")->valuestring, "https://ca.test/acct/1") == 0 &&
		      cJSON_Compare(cJSON_GetObjectItem(pay, "oldKey"), oj, 1), "key-change payload");
	else
		CHECK(0, "key-change payload does not parse");
	free(inner);
	free(p);
	cJSON_Delete(hdr);
	cJSON_Delete(jws);
	cJSON_Delete(pay);
	cJSON_Delete(oj);
	cJSON_Delete(nj);
	EVP_PKEY_free(oldk);
	EVP_PKEY_free(newk);
}

static void test_csr(void)
{
	EVP_PKEY *pk = gen_key("EC", "P-256");
	const char *names[] = { "www.example.test", "example.test", "a.example.test" };
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len;
	X509_REQ *req = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES *gens = NULL;
	char cn[256] = "";
	int i;

	CHECK(jws_csr(pk, names, 3, &der, &len) == 0, "CSR");
	p = der;
	if (der != NULL && (req = d2i_X509_REQ(NULL, &p, (long)len)) != NULL) {
		CHECK(X509_REQ_verify(req, pk) == 1, "CSR signature");
		X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, cn, sizeof(cn));
		CHECK(strcmp(cn, names[0]) == 0, "CSR CN %s", cn);
		exts = X509_REQ_get_extensions(req);
		gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
		CHECK(gens != NULL && sk_GENERAL_NAME_num(gens) == 3, "CSR SAN count");
		for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens) && i < 3; i++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
			CHECK(g->type == GEN_DNS &&
			      strcmp((const char *)ASN1_STRING_get0_data(g->d.dNSName), names[i]) == 0,
			      "SAN %d", i);
		}
	} else
		CHECK(0, "CSR does not parse");
	free(der);
	der = NULL;
	CHECK(jws_csr(pk, names, 0, &der, &len) < 0 && der == NULL, "CSR without names accepted");
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	EVP_PKEY_free(pk);
}

static void test_unsupported(void)
{
	EVP_PKEY *p521 = gen_key("EC", "P-521"), *rsa1024 = gen_key("RSA", "1024");
	cJSON *bad = cJSON_Parse("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"a\\\"b\",\"y\":\"AA\"}");

	CHECK(jws_alg(p521) == NULL, "P-521 accepted");
	CHECK(jws_alg(rsa1024) == NULL, "RSA-1024 accepted");
	/* A member that would need JSON escaping never reaches the canonical input. */
	CHECK(jws_thumbprint(bad) == NULL, "thumbprint of a malformed JWK");
	cJSON_Delete(bad);
	EVP_PKEY_free(p521);
	EVP_PKEY_free(rsa1024);
}

int main(void)
{
	log_verbosity = LOG_QUIET;
	test_rfc7638();
	test_key("EC", "P-256", "ES256", 64, 43);
	test_key("EC", "P-384", "ES384", 96, 64);
	test_key("RSA", "2048", "RS256", 256, 0);
	test_key("RSA", "4096", "RS256", 512, 0);
	test_short_rs();
	test_keychange();
	test_csr();
	test_unsupported();
	if (failures > 0) {
		fprintf(stderr, "test_jws: %d failures\n", failures);
		return 1;
	}
	printf("test_jws: ok\n");
	return 0;
}
