/*-------------------------------------------------------------------------
 *
 * fuzz_codec.c
 *	  A libFuzzer target for the block codec (make -C test/codec fuzz,
 *	  which needs clang).  Each input is used twice:
 *	  - as a block: decoding it must fail with a message or give a sane
 *		output (increasing timestamps, consistent value arrays), never
 *		touch memory outside the input and the arrays;
 *	  - as a samples block and as int columns: the same, timestamps never
 *		going back;
 *	  - as a series: the bytes become points (timestamps made increasing,
 *		ints and doubles of any bits, the encoder's options from the first
 *		bytes), which must encode within vs_block_bound() and decode back
 *		bit for bit.
 *
 *-------------------------------------------------------------------------
 */
#include "store/codec.h"

#include <stdlib.h>
#include <string.h>

/* crash stops the fuzzer on a broken property */
static void
crash(void)
{
	abort();
}

/* decode_input decodes data as a block and checks the output */
static void
decode_input(const uint8_t *data, size_t size)
{
	int			n = vs_block_npoints(data, size);
	int64_t    *ts;
	uint8_t    *is_int;
	int64_t    *iv;
	double	   *dv;
	const char *err = NULL;
	int			got;

	if (n < 0)
		return;
	ts = malloc(((size_t) n + 1) * sizeof(int64_t));
	is_int = malloc((size_t) n + 1);
	iv = malloc(((size_t) n + 1) * sizeof(int64_t));
	dv = malloc(((size_t) n + 1) * sizeof(double));
	got = vs_block_decode(data, size, ts, is_int, iv, dv, &err);
	if (got == -1 && err == NULL)
		crash();
	if (got >= 0 && got != n)
		crash();
	for (int i = 0; i < got; i++)
	{
		double		back = (double) iv[i];

		if (i > 0 && ts[i] <= ts[i - 1])
			crash();
		if (is_int[i] > 1 || (!is_int[i] && iv[i] != 0) ||
			(is_int[i] && memcmp(&back, &dv[i], 8) != 0))
			crash();
	}
	free(ts);
	free(is_int);
	free(iv);
	free(dv);
}

/*
 * decode_samples_input decodes data as a samples block (timestamps may
 * repeat, never go back) and as int columns of any shape
 */
static void
decode_samples_input(const uint8_t *data, size_t size)
{
	int			n = vs_samples_npoints(data, size);
	int			ncols = 0;
	const char *err = NULL;

	if (n >= 0)
	{
		int64_t    *ts = malloc(((size_t) n + 1) * sizeof(int64_t));
		uint8_t    *is_int = malloc((size_t) n + 1);
		int64_t    *iv = malloc(((size_t) n + 1) * sizeof(int64_t));
		double	   *dv = malloc(((size_t) n + 1) * sizeof(double));
		int			got = vs_samples_decode(data, size, ts, is_int, iv, dv, &err);

		if ((got == -1 && err == NULL) || (got >= 0 && got != n))
			crash();
		for (int i = 1; i < got; i++)
			if (ts[i] < ts[i - 1])
				crash();
		free(ts);
		free(is_int);
		free(iv);
		free(dv);
	}
	n = vs_ints_shape(data, size, &ncols);
	if (n >= 0)
	{
		int64_t    *cols[VS_INTS_MAX_COLUMNS];
		int			got;

		for (int c = 0; c < ncols; c++)
			cols[c] = malloc(((size_t) n + 1) * sizeof(int64_t));
		got = vs_ints_decode(data, size, cols, ncols, n, &err);
		if ((got == -1 && err == NULL) || (got >= 0 && got != n))
			crash();
		for (int c = 0; c < ncols; c++)
			free(cols[c]);
	}
}

/* take reads up to 8 bytes of the input as a number */
static uint64_t
take(const uint8_t **p, const uint8_t *end, int bytes)
{
	uint64_t	v = 0;

	for (int i = 0; i < bytes && *p < end; i++)
		v |= (uint64_t) *(*p)++ << (8 * i);
	return v;
}

/* roundtrip_input turns data into a series and round-trips it */
static void
roundtrip_input(const uint8_t *data, size_t size)
{
	const uint8_t *p = data;
	const uint8_t *end = data + size;
	VsBlockOptions opt;
	int			n;
	int64_t    *ts;
	uint8_t    *is_int;
	int64_t    *iv;
	double	   *dv;
	uint8_t    *block;
	int64_t    *ts2;
	uint8_t    *is_int2;
	int64_t    *iv2;
	double	   *dv2;
	size_t		len;
	const char *err;
	uint64_t	t;
	uint64_t	flags = take(&p, end, 2);

	opt.ts_order = (int) (flags % 4) - 1;
	opt.value_order = (int) (flags / 4 % 4) - 1;
	opt.frame_log2 = flags / 16 % 6 == 0 ? VS_AUTO : (int) (flags / 16 % 6) + 3;
	opt.frame_base = (int) (flags / 96 % 3) - 1;
	opt.doubles = (int) (flags / 288 % 5) - 1;
	opt.gcd = flags / 1440 % 2 ? VS_AUTO : 0;
	t = take(&p, end, 8);
	n = (int) ((end - p) / 6);
	ts = malloc(((size_t) n + 1) * sizeof(int64_t));
	is_int = malloc((size_t) n + 1);
	iv = malloc(((size_t) n + 1) * sizeof(int64_t));
	dv = malloc(((size_t) n + 1) * sizeof(double));
	for (int i = 0; i < n; i++)
	{
		uint64_t	kind = take(&p, end, 1);
		uint64_t	step = take(&p, end, 1);
		uint64_t	v = take(&p, end, 4);

		/* steps of 1..255 units, where the unit varies */
		t += (step | 1) << (kind & 0x30);
		memcpy(&ts[i], &t, 8);
		if (i > 0 && ts[i] <= ts[i - 1])
		{
			n = i;
			break;
		}
		is_int[i] = kind & 1;
		if (kind & 1)
		{
			uint64_t	u = (v << (kind & 0xc0 ? 32 : 0)) - 1000;

			memcpy(&iv[i], &u, 8);
		}
		else if (kind & 2)
			dv[i] = (double) (int32_t) v / 100;
		else
		{
			uint64_t	bits = v * UINT64_C(0x9e3779b97f4a7c15);

			memcpy(&dv[i], &bits, 8);
		}
	}
	block = malloc(vs_block_bound(n) + 1);
	len = vs_block_encode_opt(ts, is_int, iv, dv, n, block, &opt);
	if (len == 0 || len > vs_block_bound(n))
		crash();
	ts2 = malloc(((size_t) n + 1) * sizeof(int64_t));
	is_int2 = malloc((size_t) n + 1);
	iv2 = malloc(((size_t) n + 1) * sizeof(int64_t));
	dv2 = malloc(((size_t) n + 1) * sizeof(double));
	if (vs_block_decode(block, len, ts2, is_int2, iv2, dv2, &err) != n)
		crash();
	for (int i = 0; i < n; i++)
	{
		if (ts2[i] != ts[i] || is_int2[i] != is_int[i] ||
			(is_int[i] ? iv2[i] != iv[i] : memcmp(&dv2[i], &dv[i], 8) != 0))
			crash();
	}
	free(ts);
	free(is_int);
	free(iv);
	free(dv);
	free(block);
	free(ts2);
	free(is_int2);
	free(iv2);
	free(dv2);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput is libFuzzer's entry point */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	decode_input(data, size);
	decode_samples_input(data, size);
	roundtrip_input(data, size);
	return 0;
}
