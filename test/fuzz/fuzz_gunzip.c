/*
 * fuzz_gunzip.c
 *	  The gzip bodies Warp 10's update and exec take (src/daemon/api_warp10.c:
 *	  warp10_gunzip): the input is the body as sent.  An inflated body is
 *	  NUL-terminated and never over the limit (here 1 MB, max-body-size in
 *	  the daemon); a refusal says why.
 */
#include "../../src/daemon/api_warp10.c"

#include <assert.h>

#include "fuzz_common.h"

#define FZ_MAX (1L << 20)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *err = NULL;
	size_t		outlen = 0;
	char	   *copy = malloc(size ? size : 1);
	char	   *out;

	memcpy(copy, data, size);
	out = warp10_gunzip(copy, size, FZ_MAX, &outlen, &err);
	if (out != NULL)
	{
		assert(err == NULL && (long) outlen <= FZ_MAX && out[outlen] == '\0');
		free(out);
	}
	else
		assert(err != NULL && err[0] != '\0');
	free(copy);
	return 0;
}
