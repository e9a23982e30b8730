/*
 * curl_floor: the memory floor of the HTTP stack p11acme is built on, for make bench.
 *
 *   curl_floor load             link Debian's libcurl and ask for its version: what
 *                               loading libcurl and its ~30 dependencies costs
 *   curl_floor get URL CAFILE   one verified HTTPS GET with libcurl (curl_global_init,
 *                               one easy handle, body discarded): the least any
 *                               libcurl-based ACME client must do for its first request
 *
 * Measured with the same rusage helper as the clients; see docs/BENCHMARKS.md.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static size_t discard(char *p, size_t size, size_t n, void *u)
{
	(void)p;
	(void)u;
	return size * n;
}

static int get(const char *url, const char *ca)
{
	CURL *h;
	CURLcode rc;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	h = curl_easy_init();
	if (!h)
		return 1;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CAINFO, ca);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK)
		fprintf(stderr, "curl_floor: %s: %s\n", url, curl_easy_strerror(rc));
	curl_easy_cleanup(h);
	curl_global_cleanup();
	return rc != CURLE_OK;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "load") == 0)
		return curl_version() == NULL;
	if (argc == 4 && strcmp(argv[1], "get") == 0)
		return get(argv[2], argv[3]);
	fprintf(stderr, "usage: curl_floor load | curl_floor get URL CAFILE\n");
	return 2;
}
