/*
 * fuzz_common.h
 *	  What the harnesses share: the input as a NUL-terminated copy, and
 *	  the input cut in two at its first NUL.
 */
#ifndef VSCOPE_FUZZ_COMMON_H
#define VSCOPE_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fz_strndup copies n bytes and a terminating NUL (malloc) */
static inline char *
fz_strndup(const uint8_t *data, size_t n)
{
	char	   *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

/*
 * fz_split cuts data at its first NUL: *a before (NUL-terminated), *b
 * after (NUL-terminated, "" when there is no NUL); both malloc'd
 */
static inline void
fz_split(const uint8_t *data, size_t size, char **a, char **b)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t		n = nul ? (size_t) (nul - data) : size;

	*a = fz_strndup(data, n);
	*b = nul ? fz_strndup(nul + 1, size - n - 1) : fz_strndup(data, 0);
}

#endif
