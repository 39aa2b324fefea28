/*-------------------------------------------------------------------------
 *
 * codec_test.c
 *	  Property tests of the block codec (src/store/codec.c): bit-exact round
 *	  trips over many random and adversarial series, under every encoder
 *	  choice; rejection of invalid input; and a decoder that survives every
 *	  prefix and random corruption of valid blocks.  Built with ASan and
 *	  UBSan (see the Makefile), so an out-of-bounds access or undefined
 *	  arithmetic fails the run.
 *
 *	  Seeds are fixed: every run tests the same series.  Each test case
 *	  prints one line when it fails; the last line is always
 *	  "codec: N passed, M failed", and the exit status is non-zero when a
 *	  case failed.
 *
 *-------------------------------------------------------------------------
 */
#include "store/codec.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a series of points, in the arrays the codec takes */
typedef struct Series
{
	int			n;
	int64_t    *ts;
	uint8_t    *is_int;
	int64_t    *iv;
	double	   *dv;
} Series;

/* microseconds from 2000-01-01 (PostgreSQL's epoch) to 2024-01-01 */
#define PG_2024 INT64_C(757382400000000)
#define MINUTE INT64_C(60000000)

static char failure[1024];

/* failf formats a failure message; returns it */
static const char *
failf(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(failure, sizeof(failure), fmt, ap);
	va_end(ap);
	return failure;
}

/* wrapf puts a context before the failure message why; returns it */
static const char *
wrapf(const char *why, const char *fmt,...)
{
	char		tmp[sizeof(failure)];
	char		ctx[256];
	va_list		ap;

	snprintf(tmp, sizeof(tmp), "%s", why);
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	return failf("%s: %s", ctx, tmp);
}

/* ----------------------------------------------------------------
 * Random numbers (splitmix64) and series
 * ----------------------------------------------------------------
 */

typedef struct Rng
{
	uint64_t	s;
} Rng;

/* rnd returns the next 64 random bits */
static uint64_t
rnd(Rng *r)
{
	uint64_t	z = (r->s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* rnd_below returns a random number in [0, n) (n > 0) */
static uint64_t
rnd_below(Rng *r, uint64_t n)
{
	return rnd(r) % n;
}

/* rnd_unit returns a random double in [0, 1) */
static double
rnd_unit(Rng *r)
{
	return (double) (rnd(r) >> 11) / 9007199254740992.0;
}

/* bits_of is the bit pattern of a double */
static uint64_t
bits_of(double d)
{
	uint64_t	u;

	memcpy(&u, &d, 8);
	return u;
}

/* double_of is the double of a bit pattern */
static double
double_of(uint64_t u)
{
	double		d;

	memcpy(&d, &u, 8);
	return d;
}

/* as_int64 converts the bits of u to an int64 without overflow */
static int64_t
as_int64(uint64_t u)
{
	int64_t		s;

	memcpy(&s, &u, 8);
	return s;
}

/* series_new allocates a series of n points, all zero */
static Series *
series_new(int n)
{
	Series	   *s = calloc(1, sizeof(Series));
	size_t		m = n > 0 ? (size_t) n : 1;

	s->n = n;
	s->ts = calloc(m, sizeof(int64_t));
	s->is_int = calloc(m, 1);
	s->iv = calloc(m, sizeof(int64_t));
	s->dv = calloc(m, sizeof(double));
	return s;
}

/* series_free frees s */
static void
series_free(Series *s)
{
	if (s == NULL)
		return;
	free(s->ts);
	free(s->is_int);
	free(s->iv);
	free(s->dv);
	free(s);
}

/* set_int makes point i the int v */
static void
set_int(Series *s, int i, int64_t v)
{
	s->is_int[i] = 1;
	s->iv[i] = v;
	s->dv[i] = 0;
}

/* set_double makes point i the double v */
static void
set_double(Series *s, int i, double v)
{
	s->is_int[i] = 0;
	s->iv[i] = 0;
	s->dv[i] = v;
}

/* regular_ts sets one point every step from t0 */
static void
regular_ts(Series *s, int64_t t0, int64_t step)
{
	for (int i = 0; i < s->n; i++)
		s->ts[i] = t0 + step * i;
}

/* gauge2 is the bench's value: a sine plus noise, with two decimals */
static double
gauge2(Rng *r, int k, double phase)
{
	double		v = 50 + 40 * sin(k / 300.0 + phase) + rnd_unit(r);

	return round(v * 100) / 100;
}

/* random_double returns a double of a random kind, special ones often */
static double
random_double(Rng *r)
{
	static const double specials[] = {
		0.0, -0.0, 1e308, -1e308, DBL_MAX, -DBL_MAX, DBL_MIN, -DBL_MIN,
		4.9e-324, -4.9e-324, 2.2250738585072009e-308, INFINITY, -INFINITY,
		1.0, -1.0, 0.1, 0.30000000000000004, 9007199254740993.0, 1e15, 1e16
	};

	switch (rnd_below(r, 8))
	{
		case 0:
			return specials[rnd_below(r, sizeof(specials) / sizeof(specials[0]))];
		case 1:
			/* NaN with a random payload and sign */
			return double_of(UINT64_C(0x7ff0000000000000) | (rnd(r) & UINT64_C(0x800fffffffffffff)) | 1);
		case 2:
			/* subnormal */
			return double_of(rnd(r) & UINT64_C(0x800fffffffffffff));
		case 3:
			return double_of(rnd(r));
		case 4:
			/* 17 significant digits */
			return (rnd_unit(r) - 0.5) * 1e6;
		default:
			return (double) ((int64_t) rnd_below(r, 2000001) - 1000000) / 100;
	}
}

/* ----------------------------------------------------------------
 * Round trips
 * ----------------------------------------------------------------
 */

/*
 * encode_exact encodes s into a buffer of exactly vs_block_bound() bytes
 * (so ASan sees any overflow), then copies the block into one of exactly
 * its size; returns it, or NULL with *len = 0 when the encoder refused.
 */
static uint8_t *
encode_exact(const Series *s, const VsBlockOptions *opt, size_t *len)
{
	size_t		bound = vs_block_bound(s->n);
	uint8_t    *buf = malloc(bound > 0 ? bound : 1);
	uint8_t    *block;

	*len = vs_block_encode_opt(s->ts, s->is_int, s->iv, s->dv, s->n, buf, opt);
	if (*len == 0)
	{
		free(buf);
		return NULL;
	}
	block = malloc(*len);
	memcpy(block, buf, *len);
	free(buf);
	return block;
}

/* the decoder's output, in arrays of exactly n entries */
typedef struct Decoded
{
	int			n;
	int64_t    *ts;
	uint8_t    *is_int;
	int64_t    *iv;
	double	   *dv;
	const char *err;
} Decoded;

/* decode_exact decodes a block into arrays sized by its header */
static void
decode_exact(const uint8_t *block, size_t len, Decoded *d)
{
	int			n = vs_block_npoints(block, len);
	size_t		m = n > 0 ? (size_t) n : 1;

	d->ts = malloc(m * sizeof(int64_t));
	d->is_int = malloc(m);
	d->iv = malloc(m * sizeof(int64_t));
	d->dv = malloc(m * sizeof(double));
	d->err = NULL;
	if (n < 0)
	{
		d->n = -1;
		d->err = "bad header";
		return;
	}
	d->n = vs_block_decode(block, len, d->ts, d->is_int, d->iv, d->dv, &d->err);
	if (d->n >= 0 && d->n != n)
		d->n = -2;
}

/* decoded_free frees the arrays of d */
static void
decoded_free(Decoded *d)
{
	free(d->ts);
	free(d->is_int);
	free(d->iv);
	free(d->dv);
}

/*
 * decoded_sane checks what any successful decode must give, even of
 * corrupt bytes: increasing timestamps and consistent value arrays.
 */
static const char *
decoded_sane(const Decoded *d)
{
	for (int i = 0; i < d->n; i++)
	{
		if (i > 0 && d->ts[i] <= d->ts[i - 1])
			return failf("decoded ts[%d] not increasing", i);
		if (d->is_int[i] > 1)
			return failf("decoded is_int[%d] = %d", i, d->is_int[i]);
		if (d->is_int[i] && bits_of(d->dv[i]) != bits_of((double) d->iv[i]))
			return failf("decoded int point %d: value is not (double) ivalue", i);
		if (!d->is_int[i] && d->iv[i] != 0)
			return failf("decoded double point %d: ivalue is not 0", i);
	}
	return NULL;
}

/* roundtrip encodes s with opt, decodes it, and compares bit for bit */
static const char *
roundtrip(const Series *s, const VsBlockOptions *opt, size_t *size_out)
{
	size_t		len;
	uint8_t    *block = encode_exact(s, opt, &len);
	Decoded		d;
	const char *why = NULL;

	if (block == NULL)
		return failf("encode refused a valid series of %d points", s->n);
	if (len > vs_block_bound(s->n))
		why = failf("encoded %zu bytes, more than the bound %zu", len, vs_block_bound(s->n));
	if (size_out)
		*size_out = len;
	decode_exact(block, len, &d);
	if (why == NULL && d.n != s->n)
		why = failf("decoded %d points of %d (%s)", d.n, s->n, d.err ? d.err : "");
	for (int i = 0; why == NULL && i < s->n; i++)
	{
		int			isint = s->is_int[i] != 0;

		if (d.ts[i] != s->ts[i])
			why = failf("ts[%d]: %lld for %lld", i, (long long) d.ts[i], (long long) s->ts[i]);
		else if (d.is_int[i] != isint)
			why = failf("is_int[%d]: %d for %d", i, d.is_int[i], isint);
		else if (isint && d.iv[i] != s->iv[i])
			why = failf("ivalue[%d]: %lld for %lld", i, (long long) d.iv[i], (long long) s->iv[i]);
		else if (!isint && bits_of(d.dv[i]) != bits_of(s->dv[i]))
			why = failf("value[%d]: bits %016llx for %016llx", i,
						(unsigned long long) bits_of(d.dv[i]),
						(unsigned long long) bits_of(s->dv[i]));
	}
	if (why == NULL && d.n >= 0)
		why = decoded_sane(&d);
	decoded_free(&d);
	free(block);
	return why;
}

/* the encoder choices every series is tried under */
static VsBlockOptions option_sets[32];
static int noption_sets;

/* make_option_sets lists AUTO, then each choice forced alone, then mixes */
static void
make_option_sets(void)
{
	VsBlockOptions a = {VS_AUTO, VS_AUTO, VS_AUTO, VS_AUTO, VS_AUTO, VS_AUTO};
	VsBlockOptions o;

	option_sets[noption_sets++] = a;
	for (int v = 0; v < 3; v++)
	{
		o = a;
		o.ts_order = v;
		option_sets[noption_sets++] = o;
		o = a;
		o.value_order = v;
		option_sets[noption_sets++] = o;
	}
	for (int v = VS_DOUBLES_DECIMAL; v <= VS_DOUBLES_BITS; v++)
	{
		o = a;
		o.doubles = v;
		option_sets[noption_sets++] = o;
	}
	for (int f = 4; f <= 8; f++)
	{
		o = a;
		o.frame_log2 = f;
		option_sets[noption_sets++] = o;
	}
	for (int b = 0; b < 2; b++)
	{
		o = a;
		o.frame_base = b;
		option_sets[noption_sets++] = o;
	}
	/* a few combinations, the smallest frames with bases among them */
	o.ts_order = 0;
	o.value_order = 2;
	o.frame_log2 = 4;
	o.frame_base = 1;
	o.doubles = VS_DOUBLES_DECIMAL;
	option_sets[noption_sets++] = o;
	o.ts_order = 2;
	o.value_order = 0;
	o.frame_log2 = 8;
	o.frame_base = 0;
	o.doubles = VS_DOUBLES_XOR;
	option_sets[noption_sets++] = o;
	o.ts_order = 1;
	o.value_order = 1;
	o.frame_log2 = 5;
	o.frame_base = 1;
	o.doubles = VS_DOUBLES_RAW;
	option_sets[noption_sets++] = o;
	o.ts_order = 2;
	o.value_order = 2;
	o.frame_log2 = 4;
	o.frame_base = 0;
	o.doubles = VS_DOUBLES_BITS;
	option_sets[noption_sets++] = o;
	o = a;
	o.gcd = 0;
	option_sets[noption_sets++] = o;
}

/* roundtrip_all tries s under every option set */
static const char *
roundtrip_all(const Series *s)
{
	for (int i = 0; i < noption_sets; i++)
	{
		const char *why = roundtrip(s, i == 0 ? NULL : &option_sets[i], NULL);

		if (why != NULL)
			return wrapf(why, "options #%d", i);
	}
	return NULL;
}

/* the owner of a generated series: checks it under all options, frees it */
static const char *
check_and_free(Series *s)
{
	const char *why = roundtrip_all(s);

	series_free(s);
	return why;
}

/* ----------------------------------------------------------------
 * Round-trip cases
 * ----------------------------------------------------------------
 */

/* no points */
static const char *
t_empty(void)
{
	Series	   *s = series_new(0);
	size_t		len;
	uint8_t    *block = encode_exact(s, NULL, &len);
	const char *why = NULL;
	int64_t		ts;
	uint8_t		ii;
	int64_t		iv;
	double		dv;
	const char *err = NULL;

	if (block == NULL)
		why = failf("encode of 0 points refused");
	else if (vs_block_npoints(block, len) != 0)
		why = failf("npoints %d", vs_block_npoints(block, len));
	else if (vs_block_decode(block, len, &ts, &ii, &iv, &dv, &err) != 0)
		why = failf("decode of the empty block: %s", err ? err : "?");
	free(block);
	if (why == NULL)
		why = roundtrip_all(s);
	series_free(s);
	return why;
}

/* one point: extreme timestamps and values of both types */
static const char *
t_one_point(void)
{
	static const int64_t tss[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, PG_2024, INT64_MAX - 1, INT64_MAX};
	static const int64_t ivs[] = {INT64_MIN, -1, 0, 1, 42, INT64_MAX};

	for (size_t t = 0; t < sizeof(tss) / sizeof(tss[0]); t++)
	{
		Rng			r = {t};

		for (size_t v = 0; v < sizeof(ivs) / sizeof(ivs[0]); v++)
		{
			Series	   *s = series_new(1);
			const char *why;

			s->ts[0] = tss[t];
			set_int(s, 0, ivs[v]);
			if ((why = check_and_free(s)) != NULL)
				return why;
		}
		for (int v = 0; v < 40; v++)
		{
			Series	   *s = series_new(1);
			const char *why;

			s->ts[0] = tss[t];
			set_double(s, 0, random_double(&r));
			if ((why = check_and_free(s)) != NULL)
				return why;
		}
	}
	return NULL;
}

/* two points: every pair of extreme timestamps, mixed types */
static const char *
t_two_points(void)
{
	static const int64_t tss[] = {INT64_MIN, -MINUTE, 0, 1, PG_2024, INT64_MAX};
	Rng			r = {2};

	for (size_t a = 0; a < 6; a++)
		for (size_t b = a + 1; b < 6; b++)
			for (int k = 0; k < 8; k++)
			{
				Series	   *s = series_new(2);
				const char *why;

				s->ts[0] = tss[a];
				s->ts[1] = tss[b];
				for (int i = 0; i < 2; i++)
				{
					if ((k >> i) & 1)
						set_int(s, i, as_int64(rnd(&r)));
					else
						set_double(s, i, random_double(&r));
				}
				if ((why = check_and_free(s)) != NULL)
					return why;
			}
	return NULL;
}

/* one point a minute, two-decimal gauges: the benchmark's data */
static const char *
t_regular_gauges(void)
{
	Rng			r = {3};

	for (int sid = 0; sid < 6; sid++)
	{
		Series	   *s = series_new(1440);
		const char *why;
		size_t		size;

		regular_ts(s, PG_2024 + 86400 * INT64_C(1000000) * sid, MINUTE);
		for (int i = 0; i < s->n; i++)
			set_double(s, i, gauge2(&r, i + 1440 * sid, sid));
		why = roundtrip(s, NULL, &size);
		if (why == NULL && size > 1440 * 1.2)
			why = failf("%zu bytes for 1440 points: more than 1.2 a point", size);
		if (why == NULL)
			why = roundtrip_all(s);
		series_free(s);
		if (why)
			return why;
	}
	return NULL;
}

/* irregular timestamps: random gaps from 1 us to 1000 s */
static const char *
t_irregular(void)
{
	Rng			r = {4};

	for (int rep = 0; rep < 10; rep++)
	{
		Series	   *s = series_new(1 + (int) rnd_below(&r, 1000));
		int64_t		t = as_int64(rnd(&r)) / 4;
		const char *why;

		for (int i = 0; i < s->n; i++)
		{
			t += 1 + (int64_t) rnd_below(&r, rep < 5 ? 1000000000 : 1000);
			s->ts[i] = t;
			set_double(s, i, gauge2(&r, i, rep));
		}
		if ((why = check_and_free(s)) != NULL)
			return why;
	}
	return NULL;
}

/* huge gaps: timestamps across the whole int64 range */
static const char *
t_huge_gaps(void)
{
	Rng			r = {5};

	for (int rep = 0; rep < 20; rep++)
	{
		int			n = 2 + (int) rnd_below(&r, 60);
		Series	   *s = series_new(n);
		const char *why;

		/* n distinct random timestamps, sorted, often at the ends */
		for (int i = 0; i < n; i++)
		{
			uint64_t	u = rnd(&r);

			if (rnd_below(&r, 4) == 0)
				u = rnd_below(&r, 2) ? UINT64_C(0x8000000000000000) + rnd_below(&r, 3)
					: UINT64_C(0x7fffffffffffffff) - rnd_below(&r, 3);
			s->ts[i] = as_int64(u);
		}
		for (int i = 1; i < n; i++)
			for (int j = i; j > 0 && s->ts[j] < s->ts[j - 1]; j--)
			{
				int64_t		t = s->ts[j];

				s->ts[j] = s->ts[j - 1];
				s->ts[j - 1] = t;
			}
		/* drop duplicates by nudging upwards where there is room */
		for (int i = 1; i < n; i++)
			if (s->ts[i] <= s->ts[i - 1])
			{
				if (s->ts[i - 1] == INT64_MAX)
				{
					s->n = i;
					break;
				}
				s->ts[i] = s->ts[i - 1] + 1;
			}
		s->ts[0] = rep % 2 ? INT64_MIN : s->ts[0];
		for (int i = 0; i < s->n; i++)
			set_int(s, i, as_int64(rnd(&r)));
		if ((why = check_and_free(s)) != NULL)
			return why;
	}
	return NULL;
}

/* whole-second and millisecond timestamps, with and without jitter */
static const char *
t_ms_us_timestamps(void)
{
	Rng			r = {6};

	for (int rep = 0; rep < 8; rep++)
	{
		Series	   *s = series_new(1440);
		int64_t		unit = rep % 2 ? 1000 : 1000000;	/* ms or s, in us */
		int64_t		t = PG_2024;
		const char *why;
		size_t		size_reg;

		for (int i = 0; i < s->n; i++)
		{
			t += 60000000 + (rep >= 4 ? unit * ((int64_t) rnd_below(&r, 5) - 2) : 0);
			s->ts[i] = t;
			set_int(s, i, 7);
		}
		why = roundtrip(s, NULL, &size_reg);
		if (why == NULL && rep < 4 && size_reg > 40)
			why = failf("regular series, constant value: %zu bytes", size_reg);
		if (why == NULL)
			why = roundtrip_all(s);
		series_free(s);
		if (why)
			return why;
	}
	return NULL;
}

/* int values at the ends of int64, alternating: deltas overflow int64 */
static const char *
t_int_extremes(void)
{
	Rng			r = {7};
	static const int64_t ext[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1, INT64_MAX};

	for (int rep = 0; rep < 6; rep++)
	{
		Series	   *s = series_new(300);
		const char *why;

		regular_ts(s, rep % 2 ? INT64_MIN : INT64_MAX - 299 * 1, 1);
		for (int i = 0; i < s->n; i++)
		{
			int64_t		v;

			if (rep < 2)
				v = i % 2 ? INT64_MIN : INT64_MAX;
			else if (rep < 4)
				v = ext[rnd_below(&r, 7)];
			else
				v = as_int64(rnd(&r));
			set_int(s, i, v);
		}
		if ((why = check_and_free(s)) != NULL)
			return why;
	}
	return NULL;
}

/* constant series: ints, doubles, NaN, -0.0 */
static const char *
t_constants(void)
{
	double		dvals[] = {0.0, -0.0, 1.5, NAN, -INFINITY, 1e308, 4.9e-324, 123456.789};
	int64_t		ivals[] = {0, 1, -5, INT64_MIN, INT64_MAX};

	for (size_t k = 0; k < sizeof(dvals) / sizeof(dvals[0]); k++)
	{
		Series	   *s = series_new(1440);
		const char *why;
		size_t		size;

		regular_ts(s, PG_2024, MINUTE);
		for (int i = 0; i < s->n; i++)
			set_double(s, i, dvals[k]);
		why = roundtrip(s, NULL, &size);
		if (why == NULL && size > 64)
			why = failf("constant double %g: %zu bytes", dvals[k], size);
		if (why == NULL)
			why = roundtrip_all(s);
		series_free(s);
		if (why)
			return why;
	}
	for (size_t k = 0; k < sizeof(ivals) / sizeof(ivals[0]); k++)
	{
		Series	   *s = series_new(1440);
		const char *why;
		size_t		size;

		regular_ts(s, PG_2024, MINUTE);
		for (int i = 0; i < s->n; i++)
			set_int(s, i, ivals[k]);
		why = roundtrip(s, NULL, &size);
		if (why == NULL && size > 48)
			why = failf("constant int %lld: %zu bytes", (long long) ivals[k], size);
		if (why == NULL)
			why = roundtrip_all(s);
		series_free(s);
		if (why)
			return why;
	}
	return NULL;
}

/* counters: increasing ints with resets, and a steady counter */
static const char *
t_counters(void)
{
	Rng			r = {8};

	for (int rep = 0; rep < 6; rep++)
	{
		Series	   *s = series_new(1440);
		int64_t		c = rep == 5 ? INT64_MAX - 1000000 : 1000000 * rep;
		const char *why;
		size_t		size;

		regular_ts(s, PG_2024, MINUTE);
		for (int i = 0; i < s->n; i++)
		{
			if (rep == 0)
				c += 10;
			else if (rep < 5 && rnd_below(&r, 500) == 0)
				c = 0;			/* a reset */
			else
				c += (int64_t) rnd_below(&r, 1 + 100 * rep);
			set_int(s, i, c);
		}
		why = roundtrip(s, NULL, &size);
		if (why == NULL && rep == 0 && size > 48)
			why = failf("steady counter: %zu bytes", size);
		if (why == NULL)
			why = roundtrip_all(s);
		series_free(s);
		if (why)
			return why;
	}
	return NULL;
}

/* decimal doubles of every k in 0..15, and just beyond what is decimal */
static const char *
t_decimals(void)
{
	Rng			r = {9};

	for (int k = 0; k <= 17; k++)
	{
		Series	   *s = series_new(500);
		const char *why;
		double		p = pow(10, k);

		regular_ts(s, PG_2024, MINUTE);
		for (int i = 0; i < s->n; i++)
		{
			/* mantissas near 2^53 at the largest k */
			int64_t		m = (int64_t) rnd_below(&r, k >= 12 ? UINT64_C(9007199254740991) : 100000000) -
				(k >= 12 ? 4503599627370495 : 50000000);

			set_double(s, i, (double) m / p);
		}
		if ((why = check_and_free(s)) != NULL)
			return why;
	}
	return NULL;
}

/* 17-significant-digit doubles: a decimal gauge does not apply */
static const char *
t_full_doubles(void)
{
	Rng			r = {10};

	for (int rep = 0; rep < 6; rep++)
	{
		Series	   *s = series_new(1000);
		const char *why;

		regular_ts(s, PG_2024, MINUTE);
		for (int i = 0; i < s->n; i++)
			set_double(s, i, rep < 3 ? 1000 * sin(i / 100.0 + rep) + rnd_unit(&r) : double_of(rnd(&r)));
		if ((why = check_and_free(s)) != NULL)
			return why;
	}
	return NULL;
}

/* special doubles: +-0.0, subnormals, infinities, NaN payloads, 1e308 */
static const char *
t_special_doubles(void)
{
	Rng			r = {11};

	for (int rep = 0; rep < 10; rep++)
	{
		Series	   *s = series_new(1 + (int) rnd_below(&r, 700));
		const char *why;

		regular_ts(s, PG_2024, MINUTE);
		for (int i = 0; i < s->n; i++)
			set_double(s, i, random_double(&r));
		if ((why = check_and_free(s)) != NULL)
			return why;
	}
	return NULL;
}

/* two-decimal gauges but one -0.0 or NaN: no decimal encoding, still exact */
static const char *
t_decimal_spoilers(void)
{
	Rng			r = {12};
	double		spoil[] = {-0.0, NAN, INFINITY, 0.1 + 0.2, 1e300};

	for (size_t k = 0; k < sizeof(spoil) / sizeof(spoil[0]); k++)
	{
		Series	   *s = series_new(800);
		const char *why;

		regular_ts(s, PG_2024, MINUTE);
		for (int i = 0; i < s->n; i++)
			set_double(s, i, gauge2(&r, i, 1));
		set_double(s, (int) rnd_below(&r, 800), spoil[k]);
		if ((why = check_and_free(s)) != NULL)
			return why;
	}
	return NULL;
}

/* mixed int and double points: half and half, rare, in runs */
static const char *
t_mixed(void)
{
	Rng			r = {13};

	for (int rep = 0; rep < 12; rep++)
	{
		Series	   *s = series_new(rep < 9 ? 1440 : 1 + (int) rnd_below(&r, 40));
		int			is_int = 0;
		const char *why;

		regular_ts(s, PG_2024, MINUTE);
		for (int i = 0; i < s->n; i++)
		{
			if (rep % 3 == 0)
				is_int = (int) rnd_below(&r, 2);
			else if (rep % 3 == 1)
				is_int = rnd_below(&r, 50) == 0;
			else if (rnd_below(&r, 100) == 0)
				is_int = !is_int;
			if (is_int)
				set_int(s, i, rep < 6 ? (int64_t) round(gauge2(&r, i, 2)) : as_int64(rnd(&r)));
			else
				set_double(s, i, rep < 6 ? gauge2(&r, i, 2) : random_double(&r));
		}
		/* any nonzero byte means int */
		for (int i = 0; i < s->n; i += 7)
			if (s->is_int[i])
				s->is_int[i] = (uint8_t) (1 + rnd_below(&r, 255));
		if ((why = check_and_free(s)) != NULL)
			return why;
	}
	return NULL;
}

/* ints whose residuals have every width from 0 to 64 bits */
static const char *
t_all_widths(void)
{
	Rng			r = {14};

	for (int w = 0; w <= 64; w++)
	{
		Series	   *s = series_new(300 + w);
		const char *why;

		regular_ts(s, PG_2024, 1000);
		for (int i = 0; i < s->n; i++)
		{
			uint64_t	v = w == 64 ? rnd(&r) : w == 0 ? 0 : rnd(&r) & ((UINT64_C(1) << w) - 1);

			set_int(s, i, as_int64(v));
		}
		if ((why = check_and_free(s)) != NULL)
			return why;
	}
	return NULL;
}

/* random series of random kinds and lengths */
static const char *
t_random_series(void)
{
	Rng			r = {15};

	for (int rep = 0; rep < 150; rep++)
	{
		int			n = (int) rnd_below(&r, rep % 10 == 0 ? 5000 : 300);
		Series	   *s = series_new(n);
		int64_t		t = as_int64(rnd(&r)) / 2;
		int			mode = (int) rnd_below(&r, 4);
		const char *why;

		for (int i = 0; i < n; i++)
		{
			t += 1 + (int64_t) rnd_below(&r, (uint64_t) 1 << rnd_below(&r, 40));
			s->ts[i] = t;
			if (mode == 0 || (mode == 3 && rnd_below(&r, 2)))
				set_int(s, i, as_int64(rnd(&r)) >> rnd_below(&r, 64));
			else if (mode == 1)
				set_double(s, i, gauge2(&r, i, rep));
			else
				set_double(s, i, random_double(&r));
		}
		if ((why = check_and_free(s)) != NULL)
			return why;
	}
	return NULL;
}

/* the largest block, and one point more is refused */
static const char *
t_max_size(void)
{
	Rng			r = {16};
	Series	   *s = series_new(VS_BLOCK_MAX_POINTS);
	const char *why;
	size_t		size;
	uint8_t		byte;

	regular_ts(s, PG_2024, 1000);
	for (int i = 0; i < s->n; i++)
		set_double(s, i, gauge2(&r, i, 0));
	why = roundtrip(s, NULL, &size);
	if (why == NULL)
	{
		VsBlockOptions o = {2, 1, 4, 1, VS_DOUBLES_XOR, 0};

		why = roundtrip(s, &o, NULL);
	}
	series_free(s);
	if (why)
		return why;
	if (vs_block_bound(VS_BLOCK_MAX_POINTS + 1) != 0 || vs_block_bound(-1) != 0)
		return failf("a bound for a count out of range");
	s = series_new(VS_BLOCK_MAX_POINTS + 1);
	regular_ts(s, 0, 1);
	size = vs_block_encode(s->ts, s->is_int, s->iv, s->dv, s->n, &byte);
	series_free(s);
	if (size != 0)
		return failf("encoded %d points", VS_BLOCK_MAX_POINTS + 1);
	return NULL;
}

/* ----------------------------------------------------------------
 * Invalid input and encoder properties
 * ----------------------------------------------------------------
 */

/* unsorted or duplicate timestamps, and negative counts, are refused */
static const char *
t_rejects_invalid(void)
{
	Rng			r = {17};
	uint8_t    *out = malloc(vs_block_bound(1000));
	VsBlockOptions bad = {3, VS_AUTO, VS_AUTO, VS_AUTO, VS_AUTO, VS_AUTO};

	for (int rep = 0; rep < 200; rep++)
	{
		Series	   *s = series_new(2 + (int) rnd_below(&r, 998));
		int			i = 1 + (int) rnd_below(&r, s->n - 1);
		size_t		len;

		regular_ts(s, PG_2024, MINUTE);
		if (rep % 3 == 0)
			s->ts[i] = s->ts[i - 1];	/* duplicate */
		else if (rep % 3 == 1)
			s->ts[i] = s->ts[i - 1] - 1 - (int64_t) rnd_below(&r, 1000);
		else
		{
			s->ts[i - 1] = INT64_MAX;	/* wraps to INT64_MIN in uint64 */
			s->ts[i] = INT64_MIN;
		}
		len = vs_block_encode(s->ts, s->is_int, s->iv, s->dv, s->n, out);
		series_free(s);
		if (len != 0)
		{
			free(out);
			return failf("an unsorted series encoded (case %d)", rep % 3);
		}
	}
	if (vs_block_encode(NULL, NULL, NULL, NULL, -1, out) != 0)
		return failf("n = -1 encoded");
	{
		Series	   *s = series_new(3);
		size_t		len;

		regular_ts(s, 0, 1);
		len = vs_block_encode_opt(s->ts, s->is_int, s->iv, s->dv, s->n, out, &bad);
		series_free(s);
		if (len != 0)
			return failf("an invalid option accepted");
	}
	free(out);
	return NULL;
}

/* the array a point does not use is not read: NULL or garbage is fine */
static const char *
t_unused_arrays(void)
{
	Rng			r = {18};
	Series	   *s = series_new(500);
	uint8_t    *a = malloc(vs_block_bound(500));
	uint8_t    *b = malloc(vs_block_bound(500));
	size_t		la;
	size_t		lb;
	const char *why = NULL;

	regular_ts(s, PG_2024, MINUTE);
	for (int i = 0; i < s->n; i++)
		set_int(s, i, (int64_t) rnd_below(&r, 1000));
	la = vs_block_encode(s->ts, s->is_int, s->iv, NULL, s->n, a);
	for (int i = 0; i < s->n; i++)
		s->dv[i] = random_double(&r);
	lb = vs_block_encode(s->ts, s->is_int, s->iv, s->dv, s->n, b);
	if (la == 0 || la != lb || memcmp(a, b, la) != 0)
		why = failf("int block depends on value[]");
	for (int i = 0; why == NULL && i < s->n; i++)
		set_double(s, i, gauge2(&r, i, 0));
	la = vs_block_encode(s->ts, s->is_int, NULL, s->dv, s->n, a);
	for (int i = 0; i < s->n; i++)
		s->iv[i] = as_int64(rnd(&r));
	lb = vs_block_encode(s->ts, s->is_int, s->iv, s->dv, s->n, b);
	if (why == NULL && (la == 0 || la != lb || memcmp(a, b, la) != 0))
		why = failf("double block depends on ivalue[]");
	free(a);
	free(b);
	series_free(s);
	return why;
}

/* encoding is deterministic: the same points give the same bytes */
static const char *
t_deterministic(void)
{
	Rng			r = {19};
	Series	   *s = series_new(2000);
	size_t		la;
	size_t		lb;
	uint8_t    *a;
	uint8_t    *b;
	const char *why = NULL;

	regular_ts(s, PG_2024, MINUTE);
	for (int i = 0; i < s->n; i++)
	{
		if (rnd_below(&r, 3))
			set_double(s, i, random_double(&r));
		else
			set_int(s, i, (int64_t) rnd_below(&r, 100));
	}
	a = encode_exact(s, NULL, &la);
	b = encode_exact(s, NULL, &lb);
	if (a == NULL || la != lb || memcmp(a, b, la) != 0)
		why = failf("two encodings differ");
	free(a);
	free(b);
	series_free(s);
	return why;
}

/* ----------------------------------------------------------------
 * The decoder on bad bytes
 * ----------------------------------------------------------------
 */

/* a corpus of small valid blocks of every kind and encoding */
typedef struct Corpus
{
	int			nblocks;
	uint8_t    *block[512];
	size_t		len[512];
} Corpus;

static Corpus corpus;

/* corpus_add encodes s under each option set into the corpus */
static void
corpus_add(Series *s)
{
	for (int o = 0; o < noption_sets && corpus.nblocks < 512; o++)
	{
		size_t		len;
		uint8_t    *block = encode_exact(s, &option_sets[o], &len);

		if (block == NULL)
			continue;
		corpus.block[corpus.nblocks] = block;
		corpus.len[corpus.nblocks++] = len;
	}
	series_free(s);
}

/* build_corpus makes the blocks the corruption cases start from */
static void
build_corpus(void)
{
	Rng			r = {20};

	for (int kind = 0; kind < 7; kind++)
	{
		int			n = kind == 6 ? 1 : 20 + (int) rnd_below(&r, 280);
		Series	   *s = series_new(n);
		int64_t		t = PG_2024;

		for (int i = 0; i < n; i++)
		{
			t += kind == 1 ? 1 + (int64_t) rnd_below(&r, 100000000) : MINUTE;
			s->ts[i] = t;
			switch (kind)
			{
				case 0:
				case 1:
					set_double(s, i, gauge2(&r, i, kind));
					break;
				case 2:
					set_int(s, i, 1000 * i + (int64_t) rnd_below(&r, 50));
					break;
				case 3:
					set_double(s, i, random_double(&r));
					break;
				case 4:
					if (rnd_below(&r, 2))
						set_int(s, i, (int64_t) rnd_below(&r, 100));
					else
						set_double(s, i, gauge2(&r, i, 0));
					break;
				case 5:
					if (i % 50 == 7)
						set_int(s, i, as_int64(rnd(&r)));
					else
						set_double(s, i, 1000 * sin(i / 10.0) + rnd_unit(&r));
					break;
				default:
					set_double(s, i, 0.5);
			}
		}
		corpus_add(s);
	}
}

/* decode_any decodes bytes of any kind; checks the sane-output rules */
static const char *
decode_any(const uint8_t *bytes, size_t len, int expect_fail)
{
	uint8_t    *copy = malloc(len > 0 ? len : 1);
	Decoded		d;
	const char *why = NULL;

	memcpy(copy, bytes, len);
	decode_exact(copy, len, &d);
	if (d.n == -1 && d.err == NULL)
		why = failf("decode failed with no message");
	else if (d.n == -2)
		why = failf("decode returned a count other than its header's");
	else if (d.n >= 0 && expect_fail)
		why = failf("decode of a truncated block of %zu bytes succeeded", len);
	else if (d.n >= 0)
		why = decoded_sane(&d);
	decoded_free(&d);
	free(copy);
	return why;
}

/* every strict prefix of every corpus block is refused, never misread */
static const char *
t_prefixes(void)
{
	for (int b = 0; b < corpus.nblocks; b++)
		for (size_t len = 0; len < corpus.len[b]; len++)
		{
			const char *why = decode_any(corpus.block[b], len, 1);

			if (why)
				return wrapf(why, "block %d, prefix %zu of %zu", b, len, corpus.len[b]);
		}
	return NULL;
}

/* random changes to corpus blocks: -1 or a sane decode, never a crash */
static const char *
t_corruption(void)
{
	Rng			r = {21};

	for (int b = 0; b < corpus.nblocks; b++)
	{
		size_t		len = corpus.len[b];
		uint8_t    *m = malloc(len + 16);

		for (int rep = 0; rep < 120; rep++)
		{
			size_t		mlen = len;
			const char *why;

			memcpy(m, corpus.block[b], len);
			switch (rep % 4)
			{
				case 0:			/* one bit */
					m[rnd_below(&r, len)] ^= (uint8_t) (1 << rnd_below(&r, 8));
					break;
				case 1:			/* one byte */
					m[rnd_below(&r, len)] = (uint8_t) rnd(&r);
					break;
				case 2:			/* a few bytes, and maybe a shorter end */
					for (int k = 0; k < 4; k++)
						m[rnd_below(&r, len)] = (uint8_t) rnd(&r);
					if (rnd_below(&r, 2))
						mlen = rnd_below(&r, len + 1);
					break;
				default:		/* extra bytes at the end, or a byte cut */
					if (rnd_below(&r, 2))
					{
						for (int k = 0; k < 16; k++)
							m[len + k] = (uint8_t) rnd(&r);
						mlen = len + 1 + rnd_below(&r, 16);
					}
					else
					{
						size_t		at = rnd_below(&r, len);

						memmove(m + at, m + at + 1, len - at - 1);
						mlen = len - 1;
					}
			}
			why = decode_any(m, mlen, 0);
			if (why)
			{
				free(m);
				return wrapf(why, "block %d, mutation %d", b, rep);
			}
		}
		free(m);
	}
	return NULL;
}

/* random bytes behind a valid header: -1 or a sane decode */
static const char *
t_garbage(void)
{
	Rng			r = {22};
	uint8_t		buf[600];

	for (int rep = 0; rep < 20000; rep++)
	{
		size_t		len = 1 + rnd_below(&r, sizeof(buf));
		const char *why;

		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t) (rnd_below(&r, 4) ? rnd(&r) : rnd_below(&r, 4));
		buf[0] = rep % 10 ? VS_BLOCK_VERSION : buf[0];
		if (len > 1 && rep % 3)
			buf[1] = (uint8_t) rnd_below(&r, 128);	/* a small count */
		if ((why = decode_any(buf, len, 0)) != NULL)
			return wrapf(why, "garbage #%d", rep);
	}
	return NULL;
}

/* headers: bad versions, huge counts, overlong varints */
static const char *
t_headers(void)
{
	static const uint8_t bad[][12] = {
		{0},					/* version 0 */
		{2, 0},					/* version 2 */
		{1},					/* no count */
		{1, 0x80},				/* count cut short */
		{1, 0x81, 0x80, 0x80, 0x01},	/* 2^21 + 1 points */
		{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		{1, 0x80, 0x00},		/* 0, overlong */
	};
	static const size_t badlen[] = {1, 2, 1, 2, 5, 11, 3};
	uint8_t		ok[] = {1, 0};
	const char *err = NULL;
	int64_t		ts;
	uint8_t		ii;
	int64_t		iv;
	double		dv;

	for (size_t i = 0; i < sizeof(badlen) / sizeof(badlen[0]); i++)
	{
		if (vs_block_npoints(bad[i], badlen[i]) != -1)
			return failf("header #%zu accepted", i);
		if (vs_block_decode(bad[i], badlen[i], &ts, &ii, &iv, &dv, &err) != -1 || err == NULL)
			return failf("header #%zu decoded", i);
	}
	if (vs_block_npoints(ok, 0) != -1 || vs_block_npoints(NULL, 5) != -1)
		return failf("an empty buffer has a count");
	if (vs_block_decode(NULL, 5, &ts, &ii, &iv, &dv, NULL) != -1 ||
		vs_block_decode(ok, 1, &ts, &ii, &iv, &dv, NULL) != -1)
		return failf("a NULL or truncated block decoded");
	if (vs_block_npoints(ok, 2) != 0)
		return failf("the empty block has no count");
	return NULL;
}

/* ----------------------------------------------------------------
 * Samples blocks (version 2: timestamps may repeat) and int columns
 * ----------------------------------------------------------------
 */

/*
 * samples_roundtrip encodes s as a samples block with opt, decodes it into
 * arrays of exactly n entries and compares bit for bit; the block is also
 * refused by the points decoder.
 */
static const char *
samples_roundtrip(const Series *s, const VsBlockOptions *opt)
{
	size_t		bound = vs_block_bound(s->n);
	uint8_t    *buf = malloc(bound > 0 ? bound : 1);
	size_t		len = vs_samples_encode_opt(s->ts, s->is_int, s->iv, s->dv, s->n, buf, opt);
	uint8_t    *block;
	Decoded		d;
	const char *why = NULL;
	const char *err = NULL;
	size_t		m = s->n > 0 ? (size_t) s->n : 1;

	if (len == 0)
	{
		free(buf);
		return failf("the samples encoder refused %d points", s->n);
	}
	block = malloc(len);
	memcpy(block, buf, len);
	free(buf);
	if (vs_samples_npoints(block, len) != s->n)
		why = failf("samples header says %d, not %d", vs_samples_npoints(block, len), s->n);
	d.ts = malloc(m * sizeof(int64_t));
	d.is_int = malloc(m);
	d.iv = malloc(m * sizeof(int64_t));
	d.dv = malloc(m * sizeof(double));
	d.n = vs_samples_decode(block, len, d.ts, d.is_int, d.iv, d.dv, &err);
	if (why == NULL && d.n != s->n)
		why = failf("samples decode gave %d points of %d (%s)", d.n, s->n, err ? err : "?");
	for (int i = 0; why == NULL && i < s->n; i++)
	{
		if (d.ts[i] != s->ts[i] || d.is_int[i] != (s->is_int[i] != 0) ||
			(s->is_int[i] ? d.iv[i] != s->iv[i] : bits_of(d.dv[i]) != bits_of(s->dv[i])))
			why = failf("samples point %d differs", i);
	}
	if (why == NULL && s->n > 0 && vs_block_npoints(block, len) >= 0)
		why = failf("a samples block passed for a points block");
	if (why == NULL && s->n > 0 &&
		vs_block_decode(block, len, d.ts, d.is_int, d.iv, d.dv, &err) >= 0)
		why = failf("the points decoder read a samples block");
	decoded_free(&d);
	free(block);
	return why;
}

/* samples_series: n points whose timestamps repeat in runs, values of any kind */
static Series *
samples_series(Rng *r, int n, int kind)
{
	Series	   *s = series_new(n);
	int64_t		t = PG_2024 + (int64_t) rnd_below(r, 86400) * 1000000;

	for (int i = 0; i < n; i++)
	{
		/* mostly a minute on, sometimes the same instant again, or a jitter */
		switch (rnd_below(r, kind == 0 ? 8 : 3))
		{
			case 0:
				break;
			case 1:
				t += 1 + (int64_t) rnd_below(r, 5000000);
				break;
			default:
				t += MINUTE;
		}
		if (i == 0 && kind == 2)
			t = INT64_MIN + (int64_t) rnd_below(r, 3);
		s->ts[i] = t;
		if (kind == 3 && rnd_below(r, 4) == 0)
			set_int(s, i, as_int64(rnd(r)));
		else if (kind == 3)
			set_double(s, i, random_double(r));
		else
			set_double(s, i, gauge2(r, i, 0.5));
	}
	return s;
}

/* samples blocks: repeated timestamps round-trip under every choice */
static const char *
t_samples_roundtrip(void)
{
	Rng			r = {31};
	static const int sizes[] = {1, 2, 3, 17, 255, 1440, 4000};

	for (int kind = 0; kind < 4; kind++)
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		{
			Series	   *s = samples_series(&r, sizes[k], kind);

			for (int i = 0; i < noption_sets; i++)
			{
				const char *why = samples_roundtrip(s, i == 0 ? NULL : &option_sets[i]);

				if (why != NULL)
				{
					series_free(s);
					return wrapf(why, "kind %d, %d points, options #%d", kind, sizes[k], i);
				}
			}
			series_free(s);
		}
	/* every point at one instant (the timestamps are a constant) */
	{
		Series	   *s = series_new(300);

		for (int i = 0; i < s->n; i++)
		{
			s->ts[i] = PG_2024;
			set_double(s, i, i * 0.25);
		}
		for (int i = 0; i < noption_sets; i++)
		{
			const char *why = samples_roundtrip(s, i == 0 ? NULL : &option_sets[i]);

			if (why != NULL)
			{
				series_free(s);
				return wrapf(why, "one instant, options #%d", i);
			}
		}
		series_free(s);
	}
	return NULL;
}

/* timestamps out of order are refused by both encoders; repeats by the points one */
static const char *
t_samples_order(void)
{
	Series	   *s = series_new(3);
	uint8_t		buf[256];
	const char *why = NULL;

	s->ts[0] = PG_2024;
	s->ts[1] = PG_2024;
	s->ts[2] = PG_2024 + 1;
	if (vs_samples_encode(s->ts, s->is_int, s->iv, s->dv, 3, buf) == 0)
		why = failf("a repeated timestamp was refused in a samples block");
	else if (vs_block_encode(s->ts, s->is_int, s->iv, s->dv, 3, buf) != 0)
		why = failf("a repeated timestamp was taken in a points block");
	s->ts[2] = PG_2024 - 1;
	if (why == NULL && vs_samples_encode(s->ts, s->is_int, s->iv, s->dv, 3, buf) != 0)
		why = failf("a timestamp going back was taken in a samples block");
	series_free(s);
	return why;
}

/* samples_decode_any: -1 or a non-decreasing decode, never a crash */
static const char *
samples_decode_any(const uint8_t *bytes, size_t len, int expect_fail)
{
	uint8_t    *copy = malloc(len > 0 ? len : 1);
	int			n;
	const char *why = NULL;
	const char *err = NULL;

	memcpy(copy, bytes, len);
	n = vs_samples_npoints(copy, len);
	if (n >= 0)
	{
		size_t		m = n > 0 ? (size_t) n : 1;
		int64_t    *ts = malloc(m * sizeof(int64_t));
		uint8_t    *is_int = malloc(m);
		int64_t    *iv = malloc(m * sizeof(int64_t));
		double	   *dv = malloc(m * sizeof(double));
		int			got = vs_samples_decode(copy, len, ts, is_int, iv, dv, &err);

		if (got == -1 && err == NULL)
			why = failf("samples decode failed with no message");
		else if (got >= 0 && got != n)
			why = failf("samples decode returned %d for a header of %d", got, n);
		else if (got >= 0 && expect_fail)
			why = failf("a truncated samples block of %zu bytes decoded", len);
		for (int i = 1; why == NULL && i < got; i++)
			if (ts[i] < ts[i - 1])
				why = failf("decoded samples ts[%d] goes back", i);
		free(ts);
		free(is_int);
		free(iv);
		free(dv);
	}
	free(copy);
	return why;
}

/* samples blocks: every prefix refused, random corruption survived */
static const char *
t_samples_corruption(void)
{
	Rng			r = {32};

	for (int kind = 0; kind < 4; kind++)
	{
		Series	   *s = samples_series(&r, 200, kind);
		size_t		bound = vs_block_bound(s->n);
		uint8_t    *block = malloc(bound + 16);
		size_t		len = vs_samples_encode(s->ts, s->is_int, s->iv, s->dv, s->n, block);
		uint8_t    *m = malloc(len + 16);
		const char *why = NULL;

		for (size_t l = 0; why == NULL && l < len; l++)
			why = samples_decode_any(block, l, 1);
		for (int rep = 0; why == NULL && rep < 400; rep++)
		{
			memcpy(m, block, len);
			m[rnd_below(&r, len)] ^= (uint8_t) (1 << rnd_below(&r, 8));
			if (rep % 2)
				m[rnd_below(&r, len)] = (uint8_t) rnd(&r);
			why = samples_decode_any(m, len, 0);
		}
		free(m);
		free(block);
		series_free(s);
		if (why != NULL)
			return wrapf(why, "kind %d", kind);
	}
	return NULL;
}

/* int columns: round trips of every shape, and refusals */
static const char *
t_int_columns(void)
{
	Rng			r = {33};
	static const int sizes[] = {0, 1, 2, 3, 16, 17, 1440, 5000};

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
	{
		int			n = sizes[k];
		size_t		m = n > 0 ? (size_t) n : 1;
		int64_t    *a = malloc(m * sizeof(int64_t));
		int64_t    *b = malloc(m * sizeof(int64_t));
		int64_t    *c = malloc(m * sizeof(int64_t));
		int64_t    *da = malloc(m * sizeof(int64_t));
		int64_t    *db = malloc(m * sizeof(int64_t));
		int64_t    *dc = malloc(m * sizeof(int64_t));
		const int64_t *cols[3] = {a, b, c};
		int64_t    *dcols[3] = {da, db, dc};
		size_t		bound = vs_ints_bound(n, 3);
		uint8_t    *buf = malloc(bound);
		size_t		len;
		const char *err = NULL;
		const char *why = NULL;
		int			ncols = -1;

		for (int i = 0; i < n; i++)
		{
			a[i] = rnd_below(&r, 50) == 0 ? 1 : 0;	/* seq: nearly always 0 */
			b[i] = 2000000 + (int64_t) rnd_below(&r, 3) * 1000;	/* recorded_at - ts */
			c[i] = as_int64(rnd(&r));	/* anything */
		}
		len = vs_ints_encode(cols, 3, n, buf);
		if (len == 0 || len > bound)
			why = failf("%d values: encoded into %zu of %zu bytes", n, len, bound);
		else if (vs_ints_shape(buf, len, &ncols) != n || ncols != 3)
			why = failf("%d values: the header says otherwise", n);
		else if (vs_ints_decode(buf, len, dcols, 3, n, &err) != n)
			why = failf("%d values: decode failed (%s)", n, err ? err : "?");
		for (int i = 0; why == NULL && i < n; i++)
			if (da[i] != a[i] || db[i] != b[i] || dc[i] != c[i])
				why = failf("%d values: value %d differs", n, i);
		if (why == NULL && vs_ints_decode(buf, len, dcols, 2, n, &err) >= 0)
			why = failf("%d values: decoded as 2 columns", n);
		if (why == NULL && n > 0 && vs_ints_decode(buf, len, dcols, 3, n - 1, &err) >= 0)
			why = failf("%d values: decoded as %d", n, n - 1);
		for (size_t l = 0; why == NULL && l < len; l++)
			if (vs_ints_decode(buf, l, dcols, 3, n, &err) >= 0)
				why = failf("%d values: a prefix of %zu bytes decoded", n, l);
		for (int rep = 0; why == NULL && rep < 200 && len > 0; rep++)
		{
			uint8_t    *mut = malloc(len);

			memcpy(mut, buf, len);
			mut[rnd_below(&r, len)] ^= (uint8_t) (1 << rnd_below(&r, 8));
			/* -1, or n values of whatever bits: never a crash */
			(void) vs_ints_decode(mut, len, dcols, 3, n, &err);
			free(mut);
		}
		/* a day's seq (all 0 but one) and a constant offset: a few bytes */
		if (why == NULL && n == 1440)
		{
			size_t		small;

			for (int i = 0; i < n; i++)
			{
				a[i] = i == 700;
				b[i] = 2000000;
			}
			small = vs_ints_encode(cols, 2, n, buf);
			if (small > 40)
				why = failf("seq and offsets of a day take %zu bytes", small);
		}
		free(a);
		free(b);
		free(c);
		free(da);
		free(db);
		free(dc);
		free(buf);
		if (why != NULL)
			return why;
	}
	if (vs_ints_bound(-1, 1) != 0 || vs_ints_bound(1, VS_INTS_MAX_COLUMNS + 1) != 0)
		return failf("vs_ints_bound took arguments out of range");
	return NULL;
}

/* ----------------------------------------------------------------
 * Main
 * ----------------------------------------------------------------
 */

typedef const char *(*TestFn) (void);

static const struct
{
	const char *name;
	TestFn		fn;
}			tests[] =
{
	{"empty block", t_empty},
	{"one point", t_one_point},
	{"two points", t_two_points},
	{"regular two-decimal gauges", t_regular_gauges},
	{"irregular timestamps", t_irregular},
	{"huge gaps and int64 timestamps", t_huge_gaps},
	{"ms and whole-second timestamps", t_ms_us_timestamps},
	{"int64 min/max values", t_int_extremes},
	{"constants", t_constants},
	{"counters", t_counters},
	{"decimals k = 0..17", t_decimals},
	{"17-digit doubles", t_full_doubles},
	{"special doubles", t_special_doubles},
	{"decimal gauges with one spoiler", t_decimal_spoilers},
	{"mixed int/double", t_mixed},
	{"every residual width", t_all_widths},
	{"random series", t_random_series},
	{"max-size block", t_max_size},
	{"invalid input rejected", t_rejects_invalid},
	{"unused arrays not read", t_unused_arrays},
	{"deterministic", t_deterministic},
	{"headers", t_headers},
	{"every prefix refused", t_prefixes},
	{"random corruption", t_corruption},
	{"random garbage", t_garbage},
	{"samples blocks round-trip", t_samples_roundtrip},
	{"samples blocks' order", t_samples_order},
	{"samples blocks' corruption", t_samples_corruption},
	{"int columns", t_int_columns},
};

/* write_file writes len bytes into dir/name; 0 on success */
static int
write_file(const char *dir, const char *name, const uint8_t *bytes, size_t len)
{
	char		path[4096];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(bytes, 1, len, f) != len || fclose(f) != 0)
	{
		perror(path);
		return 1;
	}
	return 0;
}

/*
 * write_corpus writes the corpus blocks into dir, as the fuzzer's seeds,
 * and a few samples blocks (version 2) after them
 */
static int
write_corpus(const char *dir)
{
	Rng			r = {34};

	for (int b = 0; b < corpus.nblocks; b++)
	{
		char		name[32];

		snprintf(name, sizeof(name), "block%03d", b);
		if (write_file(dir, name, corpus.block[b], corpus.len[b]) != 0)
			return 1;
	}
	for (int kind = 0; kind < 4; kind++)
	{
		Series	   *s = samples_series(&r, 100 + 300 * kind, kind);
		uint8_t    *buf = malloc(vs_block_bound(s->n));
		size_t		len = vs_samples_encode(s->ts, s->is_int, s->iv, s->dv, s->n, buf);
		char		name[32];
		int			bad;

		snprintf(name, sizeof(name), "sblock%03d", kind);
		bad = write_file(dir, name, buf, len);
		free(buf);
		series_free(s);
		if (bad)
			return 1;
	}
	return 0;
}

/*
 * dump prints the points of the block (or samples block) in each file as
 * spec_decode.py does:
 * "ts 1 ivalue" or "ts 0 <the double's 8 bytes, little-endian, in hex>",
 * or "ERROR" when the block is refused.
 */
static int
dump(int nfiles, char **files)
{
	for (int f = 0; f < nfiles; f++)
	{
		FILE	   *in = fopen(files[f], "rb");
		uint8_t    *block = malloc(1 << 22);
		size_t		len;
		Decoded		d;

		if (in == NULL)
		{
			perror(files[f]);
			return 1;
		}
		len = fread(block, 1, 1 << 22, in);
		fclose(in);
		if (len > 0 && block[0] == VS_SAMPLES_VERSION)
		{
			/* a samples block */
			int			n = vs_samples_npoints(block, len);
			size_t		m = n > 0 ? (size_t) n : 1;

			d.ts = malloc(m * sizeof(int64_t));
			d.is_int = malloc(m);
			d.iv = malloc(m * sizeof(int64_t));
			d.dv = malloc(m * sizeof(double));
			d.n = n < 0 ? -1 : vs_samples_decode(block, len, d.ts, d.is_int, d.iv, d.dv, &d.err);
		}
		else
			decode_exact(block, len, &d);
		if (d.n < 0)
			printf("ERROR\n");
		for (int i = 0; i < d.n; i++)
		{
			uint64_t	bits = bits_of(d.dv[i]);

			if (d.is_int[i])
				printf("%lld 1 %lld\n", (long long) d.ts[i], (long long) d.iv[i]);
			else
			{
				printf("%lld 0 ", (long long) d.ts[i]);
				for (int j = 0; j < 8; j++)
					printf("%02x", (unsigned) (bits >> (8 * j)) & 0xff);
				printf("\n");
			}
		}
		decoded_free(&d);
		free(block);
	}
	return 0;
}

/*
 * main runs every case; with --write-corpus DIR it writes the blocks the
 * corruption cases start from into DIR, with --dump FILE... it prints the
 * points of blocks.
 */
int
main(int argc, char **argv)
{
	int			passed = 0;
	int			failed = 0;

	make_option_sets();
	build_corpus();
	if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
		return write_corpus(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "--dump") == 0)
		return dump(argc - 2, argv + 2);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
	{
		const char *why = tests[i].fn();

		if (why == NULL)
			passed++;
		else
		{
			failed++;
			printf("FAIL %s: %s\n", tests[i].name, why);
		}
	}
	for (int b = 0; b < corpus.nblocks; b++)
		free(corpus.block[b]);
	printf("codec: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
