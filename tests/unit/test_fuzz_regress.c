/*
 * Replays every input in tests/fuzz/regress/ through the same entry point as the
 * fuzz target that found it. A file is named <target>-<what>, e.g.
 * fuzz_link-leak-rel-unterminated-quote, and replayed through tests/fuzz/<target>.c,
 * included here with its LLVMFuzzerTestOneInput renamed.
 *
 * Each input runs in a child process, so a crash or an abort() from a target's
 * invariant is reported per file. Without a sanitizer, leaks are caught by
 * comparing glibc's in-use heap bytes before and after a second replay (the first
 * one absorbs one-time allocations); a build with ASan or valgrind reports them
 * itself (valgrind: run with --child-silent-after-fork=no, as tests/run.sh does
 * not, reports a child's leak at the child's exit). glibc's tcache keeps freed chunks counted as in use, which hides a leak
 * behind an unrelated free, so the test re-executes itself with the tcache off.
 *
 * Usage: test_fuzz_regress [DIR]   (default tests/fuzz/regress, from the repo root)
 */
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LLVMFuzzerTestOneInput fuzz_uri_one
#include "tests/fuzz/fuzz_uri.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_wire_one
#include "tests/fuzz/fuzz_wire.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_directory_one
#include "tests/fuzz/fuzz_directory.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_account_one
#include "tests/fuzz/fuzz_account.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_problem_one
#include "tests/fuzz/fuzz_problem.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_order_one
#include "tests/fuzz/fuzz_order.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_authz_one
#include "tests/fuzz/fuzz_authz.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_pem_chain_one
#include "tests/fuzz/fuzz_pem_chain.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_link_one
#include "tests/fuzz/fuzz_link.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_retry_after_one
#include "tests/fuzz/fuzz_retry_after.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_service_one
#include "tests/fuzz/fuzz_service.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_sanitize_one
#include "tests/fuzz/fuzz_sanitize.c"
#undef LLVMFuzzerTestOneInput

typedef int (*fuzz_fn)(const uint8_t *, size_t);

static const struct {
	const char *name;
	fuzz_fn fn;
} targets[] = {
	{ "fuzz_uri", fuzz_uri_one },
	{ "fuzz_wire", fuzz_wire_one },
	{ "fuzz_directory", fuzz_directory_one },
	{ "fuzz_account", fuzz_account_one },
	{ "fuzz_problem", fuzz_problem_one },
	{ "fuzz_order", fuzz_order_one },
	{ "fuzz_authz", fuzz_authz_one },
	{ "fuzz_pem_chain", fuzz_pem_chain_one },
	{ "fuzz_link", fuzz_link_one },
	{ "fuzz_retry_after", fuzz_retry_after_one },
	{ "fuzz_service", fuzz_service_one },
	{ "fuzz_sanitize", fuzz_sanitize_one },
};

static fuzz_fn target_for(const char *file)
{
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		size_t l = strlen(targets[i].name);

		if (strncmp(file, targets[i].name, l) == 0 && file[l] == '-')
			return targets[i].fn;
	}
	return NULL;
}

static unsigned char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL, *nb;
	size_t cap = 0, n = 0, r;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((nb = realloc(buf, cap)) == NULL)
				break;
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	/* an exact-size copy, so that a read past the end is visible to ASan/valgrind */
	nb = malloc(n ? n : 1);
	if (nb != NULL)
		memcpy(nb, buf, n);
	free(buf);
	*len = n;
	return nb;
}

/* In the child: replay twice, and fail on heap growth across the second replay. */
static int replay(fuzz_fn fn, const unsigned char *data, size_t len)
{
	struct mallinfo2 before, after;

	fn(data, len);
	before = mallinfo2();
	fn(data, len);
	after = mallinfo2();
	if (after.uordblks > before.uordblks) {
		fprintf(stderr, "  leak: %zu heap bytes still in use after the replay\n",
			after.uordblks - before.uordblks);
		return 3;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/fuzz/regress";
	struct dirent **ents = NULL;
	int n, failed = 0, ran = 0;

	const char *pre = getenv("LD_PRELOAD");
	char self[4096];
	ssize_t sl;

	/* Under valgrind (its preload is in LD_PRELOAD), valgrind finds the leaks and a
	 * re-exec would escape it. */
	if (getenv("FUZZ_REGRESS_REEXEC") == NULL && (pre == NULL || strstr(pre, "vgpreload") == NULL) &&
	    (sl = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[sl] = '\0';
		setenv("FUZZ_REGRESS_REEXEC", "1", 1);
		setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0", 1);
		execv(self, argv);
		/* cannot: go on; a leak may then go unnoticed without a sanitizer */
	}
	mallopt(M_MXFAST, 0);

	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "test_fuzz_regress: %s: %s (run from the repository root)\n", dir,
			strerror(errno));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		char path[4096];
		unsigned char *data;
		size_t len = 0;
		fuzz_fn fn;
		pid_t pid;
		int st = 0;

		if (name[0] == '.')
			goto next;
		if ((fn = target_for(name)) == NULL) {
			fprintf(stderr, "FAIL %s: no fuzz target named by its prefix\n", name);
			failed++;
			goto next;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if ((data = read_all(path, &len)) == NULL) {
			fprintf(stderr, "FAIL %s: cannot read\n", name);
			failed++;
			goto next;
		}
		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			int rc = replay(fn, data, len);

			free(data);
			free(ents[i]);
			_exit(rc);
		}
		free(data);
		ran++;
		if (pid < 0 || waitpid(pid, &st, 0) < 0) {
			perror("fork/waitpid");
			failed++;
		} else if (WIFSIGNALED(st)) {
			fprintf(stderr, "FAIL %s (%zu bytes): killed by signal %d (crash or a "
				"broken invariant in tests/fuzz/%.*s.c)\n", name, len, WTERMSIG(st),
				(int)(strchr(name, '-') - name), name);
			failed++;
		} else if (WEXITSTATUS(st) != 0) {
			fprintf(stderr, "FAIL %s (%zu bytes): exit %d\n", name, len, WEXITSTATUS(st));
			failed++;
		} else {
			printf("ok %s\n", name);
		}
next:
		free(ents[i]);
	}
	free(ents);
	printf("%d inputs replayed, %d failed\n", ran, failed);
	return failed ? 1 : 0;
}
