/*-------------------------------------------------------------------------
 *
 * codec.c
 *	  Encoding and decoding one compressed block: the points of one series
 *	  over at most a day.  docs/codec.md describes the format byte by byte
 *	  and the measurements behind it; in short:
 *
 *	  - every sequence of int64 (the timestamps, the int values, the
 *		mantissas of decimal doubles) is an "int stream": the sequence, or
 *		its deltas, or its delta-of-deltas (the encoder picks the smallest),
 *		divided by the GCD of those residuals, bit-packed in frames of 16
 *		to 256 with one width byte per frame, each frame either zigzagged
 *		or offset from its own minimum;
 *	  - doubles that are all m / 10^k for one k are the int stream of the
 *		m; other doubles are the smallest of Gorilla XOR, the int stream
 *		of their bit patterns, and 8 raw bytes each;
 *	  - a block mixing int and double points has a type map (a bitmap or
 *		run lengths) and one stream of each.
 *
 *	  All arithmetic on values is done in uint64_t, where wrapping is
 *	  defined, so any int64 and any double bit pattern round-trips.  The
 *	  decoder checks every length against the end of its input.
 *
 *	  Pure C99: no PostgreSQL header and no allocation.
 *
 *-------------------------------------------------------------------------
 */
#include "store/codec.h"

#include <string.h>

#if defined(__GNUC__)
#define VS_INLINE inline __attribute__((always_inline))
#else
#define VS_INLINE inline
#endif

#define SIGN_BIT		((uint64_t) 1 << 63)

/* int streams: frames of 16 << flog residuals, flog 0..4 */
#define FLOG_MIN		4
#define FLOG_MAX		8
#define NFLOG			(FLOG_MAX - FLOG_MIN + 1)
#define FRAME_MAX		(1 << FLOG_MAX)
#define GROUP			16		/* the encoder's statistics granularity */
#define NORDER			3

/* stream header byte */
#define SH_ORDER_MASK	0x03
#define SH_ZERO			0x04
#define SH_FLOG_SHIFT	3

/* frame header byte */
#define FH_WIDTH_MASK	0x7f
#define FH_BASE			0x80

/* value kinds */
#define KIND_INT		0
#define KIND_DOUBLE		1
#define KIND_BITMAP		2
#define KIND_RUNS		3

/* double stream header byte: 0..15 is decimal with that k */
#define DEC_MAX_K		15
#define D_XOR			16
#define D_RAW			17
#define D_BITS			18

/* |m| < 2^53: every such int64 is exactly a double */
#define DEC_LIMIT		9007199254740992.0

static const double pow10_table[DEC_MAX_K + 1] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
	1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15
};

/* ----------------------------------------------------------------
 * Small helpers
 * ----------------------------------------------------------------
 */

/*
 * zigzag maps a two's complement int64 (as uint64) to an unsigned number
 * that is small when the signed one is near zero: 0, -1, 1, -2 -> 0, 1, 2, 3.
 */
static VS_INLINE uint64_t
zigzag(uint64_t s)
{
	return (s << 1) ^ (0 - (s >> 63));
}

/* unzigzag is the inverse of zigzag */
static VS_INLINE uint64_t
unzigzag(uint64_t u)
{
	return (u >> 1) ^ (0 - (u & 1));
}

/* bit_width is the number of bits needed to write v: 0 for 0, 64 at most */
static VS_INLINE int
bit_width(uint64_t v)
{
#if defined(__GNUC__)
	return v ? 64 - __builtin_clzll(v) : 0;
#else
	int			n = 0;

	while (v)
	{
		n++;
		v >>= 1;
	}
	return n;
#endif
}

/* leading_zeros counts the zero bits above the highest one of v != 0 */
static VS_INLINE int
leading_zeros(uint64_t v)
{
	return 64 - bit_width(v);
}

/* trailing_zeros counts the zero bits below the lowest one of v != 0 */
static VS_INLINE int
trailing_zeros(uint64_t v)
{
#if defined(__GNUC__)
	return __builtin_ctzll(v);
#else
	int			n = 0;

	while (!(v & 1))
	{
		n++;
		v >>= 1;
	}
	return n;
#endif
}

/* double_bits is the bit pattern of a double */
static VS_INLINE uint64_t
double_bits(double d)
{
	uint64_t	u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

/* bits_double is the double of a bit pattern */
static VS_INLINE double
bits_double(uint64_t u)
{
	double		d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

/*
 * load64 reads 8 bytes at p as a little-endian uint64 (compilers turn this
 * into one load on little-endian machines).
 */
static VS_INLINE uint64_t
load64(const uint8_t *p)
{
	return (uint64_t) p[0] | (uint64_t) p[1] << 8 | (uint64_t) p[2] << 16 |
		(uint64_t) p[3] << 24 | (uint64_t) p[4] << 32 | (uint64_t) p[5] << 40 |
		(uint64_t) p[6] << 48 | (uint64_t) p[7] << 56;
}

/* store64 writes v at p as 8 little-endian bytes */
static VS_INLINE void
store64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

/* gcd64 is the greatest common divisor, with gcd64(a, 0) = a (Stein's) */
static uint64_t
gcd64(uint64_t a, uint64_t b)
{
	int			shift;

	if (a == 0 || b == 0)
		return a | b;
	shift = trailing_zeros(a | b);
	a >>= trailing_zeros(a);
	do
	{
		b >>= trailing_zeros(b);
		if (a > b)
		{
			uint64_t	t = a;

			a = b;
			b = t;
		}
		b -= a;
	} while (b != 0);
	return a << shift;
}

/* magnitude is |s| of a two's complement int64, exact for INT64_MIN */
static VS_INLINE uint64_t
magnitude(uint64_t s)
{
	return (s & SIGN_BIT) ? 0 - s : s;
}

/* exact_div divides a two's complement int64 by g, a divisor of it */
static VS_INLINE uint64_t
exact_div(uint64_t s, uint64_t g)
{
	if (g == 1)
		return s;
	if (s == g)
		return 1;
	if (s & SIGN_BIT)
		return 0 - ((0 - s) / g);
	return s / g;
}

/* varint_len is the size of v as a varint: 1 to 10 bytes */
static VS_INLINE int
varint_len(uint64_t v)
{
	return 1 + (bit_width(v) - (v != 0)) / 7;
}

/* put_varint writes v as a LEB128 varint, 7 bits a byte, low bits first */
static uint8_t *
put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80)
	{
		*p++ = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t) v;
	return p;
}

/* ----------------------------------------------------------------
 * Decimal doubles
 * ----------------------------------------------------------------
 */

/*
 * decimal_mantissa tells whether v is exactly (double) m / 10^k for some m
 * with |m| < 2^53, and sets *m.  The division is IEEE-exact rounding of the
 * quotient, so this is true of any decimal number of at most k decimals
 * read by strtod (when |m| < 2^53); the bit comparison rejects -0.0.
 */
static VS_INLINE int
decimal_mantissa(double v, int k, int64_t *m)
{
	double		p = pow10_table[k];
	double		x = v * p;
	int64_t		m0;
	uint64_t	vb = double_bits(v);

	/* false for NaN too */
	if (!(x > -DEC_LIMIT && x < DEC_LIMIT))
		return 0;
	m0 = (int64_t) (x < 0 ? x - 0.5 : x + 0.5);
	/* x is v * 10^k rounded: the mantissa is m0 or next to it */
	for (int d = 0; d < 3; d++)
	{
		int64_t		c = m0 + (d == 0 ? 0 : d == 1 ? -1 : 1);

		if (c > -(INT64_C(1) << 53) && c < (INT64_C(1) << 53) &&
			double_bits((double) c / p) == vb)
		{
			*m = c;
			return 1;
		}
	}
	return 0;
}

/*
 * decimal_exponent finds the smallest k in 0..15 such that every double
 * point of the block is m / 10^k; -1 when there is none.  A value good at
 * some k is good at any larger one unless its mantissa grows to 2^53 or
 * beyond: the source of the mantissas checks that (Source.bad).
 */
static int
decimal_exponent(const uint8_t *is_int, const double *value, int n)
{
	int			k = 0;
	int64_t		m;

	for (int i = 0; i < n; i++)
	{
		if (is_int[i])
			continue;
		while (!decimal_mantissa(value[i], k, &m))
		{
			if (++k > DEC_MAX_K)
				return -1;
		}
	}
	return k;
}

/* ----------------------------------------------------------------
 * Sources: the int64 sequences the encoder turns into streams
 * ----------------------------------------------------------------
 */

typedef enum SourceKind
{
	SRC_TS,						/* ts[] */
	SRC_RAW,					/* ts[] too: any int64 column (vs_ints_encode) */
	SRC_INT,					/* ivalue[] of the int points */
	SRC_DECIMAL,				/* mantissas of the double points */
	SRC_BITS					/* bit patterns of the double points */
} SourceKind;

typedef struct Source
{
	SourceKind	kind;
	const int64_t *ts;
	const uint8_t *is_int;
	const int64_t *ivalue;
	const double *value;
	int			n;				/* points in the block */
	int			k;				/* SRC_DECIMAL: the exponent */
	int			pos;			/* next point to look at */
	int			bad;			/* SRC_DECIMAL: a value is not m / 10^k */
} Source;

/* source_fill puts up to max next values of s into buf; returns how many */
static int
source_fill(Source *s, uint64_t *buf, int max)
{
	int			got = 0;
	int			i = s->pos;

	switch (s->kind)
	{
		case SRC_TS:
		case SRC_RAW:
			got = s->n - i < max ? s->n - i : max;
			for (int j = 0; j < got; j++)
				buf[j] = (uint64_t) s->ts[i + j];
			i += got;
			break;
		case SRC_INT:
			for (; got < max && i < s->n; i++)
			{
				if (s->is_int[i])
					buf[got++] = (uint64_t) s->ivalue[i];
			}
			break;
		case SRC_DECIMAL:
			for (; got < max && i < s->n; i++)
			{
				int64_t		m = 0;

				if (s->is_int[i])
					continue;
				if (!decimal_mantissa(s->value[i], s->k, &m))
					s->bad = 1;
				buf[got++] = (uint64_t) m;
			}
			break;
		case SRC_BITS:
			for (; got < max && i < s->n; i++)
			{
				if (!s->is_int[i])
					buf[got++] = double_bits(s->value[i]);
			}
			break;
	}
	s->pos = i;
	return got;
}

/*
 * Residuals: for order 0 the value itself, for order 1 its delta from the
 * previous value, for order 2 the change of that delta.  The first `order`
 * values of a stream are its head, kept apart: x0, then x1 - x0.
 */
typedef struct Differ
{
	int64_t		j;				/* index of the next value */
	uint64_t	p1;				/* previous value */
	uint64_t	p2;				/* the one before */
} Differ;

/* differ_step sets r[o] to the order-o residual of x, and moves on */
static VS_INLINE void
differ_step(Differ *d, uint64_t x, uint64_t *r)
{
	r[0] = x;
	r[1] = x - d->p1;
	r[2] = d->j >= 2 ? x - 2 * d->p1 + d->p2 : r[1];
	d->p2 = d->p1;
	d->p1 = x;
	d->j++;
}

/* ----------------------------------------------------------------
 * Encoder: planning an int stream
 * ----------------------------------------------------------------
 */

/* what the encoder may choose for a stream: -1 (any) or one value */
typedef struct Choice
{
	int			order;
	int			flog;			/* log2 of the frame size, 4..8 */
	int			base;			/* -1 per frame, 0 zigzag, 1 frame minimum */
	int			gcd;			/* 0: no division by the GCD */
} Choice;

/* the chosen encoding of one stream */
typedef struct Plan
{
	int			order;
	int			flog;
	int			base;			/* the policy, as in Choice */
	uint64_t	g;				/* GCD of the frame residuals; 0: all zero */
	size_t		size;			/* bytes */
} Plan;

/* statistics of a run of residuals (already divided by the stream's GCD) */
typedef struct Stats
{
	uint64_t	zmax;			/* the largest zigzagged */
	uint64_t	min;			/* the smallest, plus 2^63 (unsigned order) */
	uint64_t	max;			/* the largest, plus 2^63 */
	int			cnt;
} Stats;

/* stats_init empties st */
static VS_INLINE void
stats_init(Stats *st)
{
	st->zmax = 0;
	st->min = UINT64_MAX;
	st->max = 0;
	st->cnt = 0;
}

/* stats_add adds the residuals s[0..cnt) to st */
static void
stats_add(Stats *st, const uint64_t *s, int cnt)
{
	/* locals: st could alias s, which would keep them in memory */
	uint64_t	zmax = st->zmax;
	uint64_t	min = st->min;
	uint64_t	max = st->max;

	for (int i = 0; i < cnt; i++)
	{
		uint64_t	z = zigzag(s[i]);
		uint64_t	b = s[i] ^ SIGN_BIT;

		zmax = z > zmax ? z : zmax;
		min = b < min ? b : min;
		max = b > max ? b : max;
	}
	st->zmax = zmax;
	st->min = min;
	st->max = max;
	st->cnt += cnt;
}

/* stats_merge adds the statistics of b to a */
static VS_INLINE void
stats_merge(Stats *a, const Stats *b)
{
	if (b->zmax > a->zmax)
		a->zmax = b->zmax;
	if (b->min < a->min)
		a->min = b->min;
	if (b->max > a->max)
		a->max = b->max;
	a->cnt += b->cnt;
}

/*
 * frame_cost is the size of a frame with these statistics, and whether it
 * stores its minimum (*use_base), under the base policy.
 */
static VS_INLINE size_t
frame_cost(const Stats *st, int policy, int *use_base)
{
	size_t		zig = 1 + ((size_t) st->cnt * bit_width(st->zmax) + 7) / 8;
	size_t		based = 1 + varint_len(zigzag(st->min ^ SIGN_BIT)) +
		((size_t) st->cnt * bit_width(st->max - st->min) + 7) / 8;

	if (policy == 1 || (policy < 0 && based < zig))
	{
		*use_base = 1;
		return based;
	}
	*use_base = 0;
	return zig;
}

/*
 * cost_chunk adds to cost[f] the size of the frames of every size 16 << f
 * over a chunk of up to FRAME_MAX residuals, aligned on the largest frame.
 */
static void
cost_chunk(const uint64_t *s, int cnt, int base, size_t *cost)
{
	Stats		groups[FRAME_MAX / GROUP];
	int			ngroups = (cnt + GROUP - 1) / GROUP;
	int			use_base;

	for (int i = 0; i < ngroups; i++)
	{
		int			len = cnt - i * GROUP < GROUP ? cnt - i * GROUP : GROUP;

		stats_init(&groups[i]);
		stats_add(&groups[i], s + i * GROUP, len);
	}
	for (int f = 0; f < NFLOG; f++)
	{
		int			per = 1 << f;	/* groups per frame */

		for (int i = 0; i < ngroups; i += per)
		{
			Stats		st = groups[i];

			for (int j = i + 1; j < i + per && j < ngroups; j++)
				stats_merge(&st, &groups[j]);
			cost[f] += frame_cost(&st, base, &use_base);
		}
	}
}

/*
 * residuals_of computes the order-o residuals of x[2..2 + got) into r,
 * from index start on; x[0] and x[1] are the two values before x[2].
 */
static VS_INLINE void
residuals_of(const uint64_t *x, int start, int got, int o, uint64_t *r)
{
	if (o == 0)
		for (int i = start; i < got; i++)
			r[i] = x[i + 2];
	else if (o == 1)
		for (int i = start; i < got; i++)
			r[i] = x[i + 2] - x[i + 1];
	else
		for (int i = start; i < got; i++)
			r[i] = x[i + 2] - 2 * x[i + 1] + x[i];
}

/*
 * plan_pass runs the residuals of the orders in `orders` (a bit set) of
 * the stream of src through the frame cost counters, each divided by its
 * g[o] (1 when it is not known yet).  With find_gcd it also computes g[]
 * and the head.
 */
static void
plan_pass(Source *src, const Choice *choice, unsigned orders, int find_gcd,
		  uint64_t *g, uint64_t *head, size_t cost[NORDER][NFLOG])
{
	uint64_t	x[FRAME_MAX + 2] = {0, 0};
	uint64_t	r[FRAME_MAX];
	uint64_t	res[NORDER][FRAME_MAX];
	int			nres[NORDER] = {0, 0, 0};
	int64_t		j0 = 0;			/* the stream index of x[2] */
	int			got;

	for (int o = 0; o < NORDER; o++)
	{
		if (orders & (1u << o))
			memset(cost[o], 0, sizeof(cost[o]));
	}
	src->pos = 0;
	while ((got = source_fill(src, x + 2, FRAME_MAX)) > 0)
	{
		if (find_gcd && j0 == 0)
		{
			head[0] = x[2];
			head[1] = got > 1 ? x[3] - x[2] : 0;
		}
		for (int o = 0; o < NORDER; o++)
		{
			int			start = j0 < o ? (int) (o - j0) : 0;
			uint64_t	div = find_gcd || g[o] == 0 ? 1 : g[o];

			if (!(orders & (1u << o)))
				continue;
			residuals_of(x, start, got, o, r);
			if (find_gcd && choice->gcd == 0)
			{
				for (int i = start; i < got && g[o] == 0; i++)
					g[o] = r[i] != 0;
			}
			else if (find_gcd)
			{
				for (int i = start; i < got && g[o] != 1; i++)
				{
					uint64_t	m = magnitude(r[i]);

					/* a multiple of the GCD so far leaves it as it is */
					if (g[o] == 0 || (m != g[o] && m % g[o] != 0))
						g[o] = gcd64(g[o], m);
				}
			}
			if (div != 1)
				for (int i = start; i < got; i++)
					r[i] = exact_div(r[i], div);
			for (int i = start; i < got;)
			{
				int			take = got - i < FRAME_MAX - nres[o] ? got - i : FRAME_MAX - nres[o];

				memcpy(res[o] + nres[o], r + i, take * sizeof(uint64_t));
				nres[o] += take;
				i += take;
				if (nres[o] == FRAME_MAX)
				{
					cost_chunk(res[o], FRAME_MAX, choice->base, cost[o]);
					nres[o] = 0;
				}
			}
		}
		x[0] = x[got];
		x[1] = x[got + 1];
		j0 += got;
	}
	for (int o = 0; o < NORDER; o++)
	{
		if (nres[o] > 0)
			cost_chunk(res[o], nres[o], choice->base, cost[o]);
	}
}

/*
 * plan_stream measures every allowed encoding of the stream of src (c
 * values) and sets *plan to the smallest.  (Order 0 of timestamps is only
 * measured when forced: it never wins, as its frames span the time of the
 * frame, where order 1's span one step.)  One pass computes the GCD of
 * the residuals of each order and the frame sizes as if it were 1; a
 * second pass redoes the frames of the orders whose GCD is larger.
 */
static void
plan_stream(Source *src, int c, const Choice *choice, Plan *plan)
{
	uint64_t	g[NORDER] = {0, 0, 0};
	uint64_t	head[2] = {0, 0};
	size_t		cost[NORDER][NFLOG];
	unsigned	orders = 0;
	unsigned	again = 0;
	static const int order_pref[NORDER] = {1, 2, 0};
	static const int flog_pref[NFLOG] = {3, 4, 2, 1, 0};

	for (int o = 0; o < NORDER; o++)
	{
		if (choice->order == o ||
			(choice->order < 0 && !(o == 0 && src->kind == SRC_TS)))
			orders |= 1u << o;
	}
	plan_pass(src, choice, orders, 1, g, head, cost);
	for (int o = 0; o < NORDER; o++)
	{
		if ((orders & (1u << o)) && g[o] > 1)
			again |= 1u << o;
	}
	if (again)
		plan_pass(src, choice, again, 0, g, head, cost);

	/* the smallest, in order of preference among equals */
	plan->size = SIZE_MAX;
	plan->base = choice->base;
	for (int oi = 0; oi < NORDER; oi++)
	{
		int			o = order_pref[oi];
		size_t		fixed = 1;

		if (!(orders & (1u << o)))
			continue;
		for (int j = 0; j < o && j < c; j++)
			fixed += varint_len(zigzag(head[j]));
		for (int fi = 0; fi < NFLOG; fi++)
		{
			int			f = flog_pref[fi];
			size_t		size = fixed;

			if (choice->flog >= 0 && f != choice->flog - FLOG_MIN)
				continue;
			if (g[o] != 0)
				size += varint_len(g[o]) + cost[o][f];
			if (size < plan->size)
			{
				plan->size = size;
				plan->order = o;
				/* an all-zero stream has no frames: its frame size is 0 */
				plan->flog = g[o] != 0 ? f : 0;
				plan->g = g[o];
			}
		}
	}
}

/* ----------------------------------------------------------------
 * Encoder: writing an int stream
 * ----------------------------------------------------------------
 */

/* pack writes cnt values of w bits (each < 2^w) LSB first */
static uint8_t *
pack(uint8_t *p, const uint64_t *u, int cnt, int w)
{
	uint64_t	acc = 0;
	int			nacc = 0;

	if (w == 0)
		return p;
	for (int i = 0; i < cnt; i++)
	{
		int			room = 64 - nacc;

		acc |= u[i] << nacc;
		if (w >= room)
		{
			store64(p, acc);
			p += 8;
			acc = room < 64 ? u[i] >> room : 0;
			nacc = w - room;
		}
		else
			nacc += w;
	}
	while (nacc > 0)
	{
		*p++ = (uint8_t) acc;
		acc >>= 8;
		nacc -= 8;
	}
	return p;
}

/* write_frame writes one frame of residuals s[0..cnt) */
static uint8_t *
write_frame(uint8_t *p, uint64_t *s, int cnt, int policy)
{
	Stats		st;
	int			use_base;
	int			w;

	stats_init(&st);
	stats_add(&st, s, cnt);
	(void) frame_cost(&st, policy, &use_base);
	if (use_base)
	{
		uint64_t	min = st.min ^ SIGN_BIT;

		w = bit_width(st.max - st.min);
		*p++ = (uint8_t) (w | FH_BASE);
		p = put_varint(p, zigzag(min));
		for (int i = 0; i < cnt; i++)
			s[i] -= min;
	}
	else
	{
		w = bit_width(st.zmax);
		*p++ = (uint8_t) w;
		for (int i = 0; i < cnt; i++)
			s[i] = zigzag(s[i]);
	}
	return pack(p, s, cnt, w);
}

/* write_stream writes the stream of src as planned */
static uint8_t *
write_stream(Source *src, const Plan *plan, uint8_t *p)
{
	uint64_t	x[FRAME_MAX];
	uint64_t	s[FRAME_MAX];
	int			ns = 0;
	int			frame = 1 << (plan->flog + FLOG_MIN);
	Differ		d = {0, 0, 0};
	int			got;

	*p++ = (uint8_t) (plan->order | (plan->g == 0 ? SH_ZERO : 0) |
					  (plan->flog << SH_FLOG_SHIFT));
	src->pos = 0;
	while ((got = source_fill(src, x, FRAME_MAX)) > 0)
	{
		for (int i = 0; i < got; i++)
		{
			uint64_t	r[NORDER];
			int64_t		j = d.j;

			differ_step(&d, x[i], r);
			if (j < plan->order)
			{
				p = put_varint(p, zigzag(r[j]));
				if (j == plan->order - 1 && plan->g != 0)
					p = put_varint(p, plan->g);
				continue;
			}
			if (plan->g == 0)
				continue;
			if (j == 0)
				p = put_varint(p, plan->g);
			s[ns++] = exact_div(r[plan->order], plan->g);
			if (ns == frame)
			{
				p = write_frame(p, s, ns, plan->base);
				ns = 0;
			}
		}
	}
	if (ns > 0)
		p = write_frame(p, s, ns, plan->base);
	return p;
}

/* encode_stream plans and writes the stream of src (c values) */
static uint8_t *
encode_stream(Source *src, int c, const Choice *choice, uint8_t *p)
{
	Plan		plan;

	plan_stream(src, c, choice, &plan);
	return write_stream(src, &plan, p);
}

/* ----------------------------------------------------------------
 * Encoder: doubles
 * ----------------------------------------------------------------
 */

/* a bit writer that counts always and writes while within its capacity */
typedef struct BitWriter
{
	uint8_t    *p;				/* NULL: count only */
	size_t		cap;
	size_t		nbytes;
	uint64_t	acc;
	int			nacc;			/* bits in acc, < 8 between calls */
} BitWriter;

/* bw_put appends the n low bits of v (n <= 56) */
static VS_INLINE void
bw_put(BitWriter *w, uint64_t v, int n)
{
	w->acc |= v << w->nacc;
	w->nacc += n;
	while (w->nacc >= 8)
	{
		if (w->p != NULL && w->nbytes < w->cap)
			w->p[w->nbytes] = (uint8_t) w->acc;
		w->nbytes++;
		w->acc >>= 8;
		w->nacc -= 8;
	}
}

/* bw_put_long appends the n low bits of v (n <= 64) */
static VS_INLINE void
bw_put_long(BitWriter *w, uint64_t v, int n)
{
	if (n > 32)
	{
		bw_put(w, v & 0xffffffff, 32);
		bw_put(w, v >> 32, n - 32);
	}
	else
		bw_put(w, v, n);
}

/* bw_flush writes the last partial byte; returns the bytes of the stream */
static size_t
bw_flush(BitWriter *w)
{
	if (w->nacc > 0)
		bw_put(w, 0, 8 - w->nacc);
	return w->nbytes;
}

/*
 * xor_encode writes the double points as Gorilla XOR: the first value's 64
 * bits, then for each next value its XOR with the previous: '0' when equal;
 * '10' and the bits of the previous window when the XOR fits in it; '11',
 * 5 bits of leading zeros (at most 31), 6 bits of length - 1 and the bits,
 * to open a new window.  Bits go LSB first.  Returns the size in bytes
 * (complete even when beyond the writer's capacity).
 */
static size_t
xor_encode(BitWriter *w, const uint8_t *is_int, const double *value, int n)
{
	uint64_t	prev = 0;
	int			first = 1;
	int			lead = 0;		/* the window: leading zeros */
	int			len = 64;		/* and length */

	for (int i = 0; i < n; i++)
	{
		uint64_t	v;
		uint64_t	x;

		if (is_int[i])
			continue;
		v = double_bits(value[i]);
		if (first)
		{
			bw_put_long(w, v, 64);
			prev = v;
			first = 0;
			continue;
		}
		x = v ^ prev;
		prev = v;
		if (x == 0)
			bw_put(w, 0, 1);
		else
		{
			int			lz = leading_zeros(x);
			int			tz = trailing_zeros(x);
			int			nlen;

			if (lz > 31)
				lz = 31;
			nlen = 64 - lz - tz;
			if (lz >= lead && tz >= 64 - lead - len && len <= nlen + 11)
			{
				bw_put(w, 1, 2);
				bw_put_long(w, x >> (64 - lead - len), len);
			}
			else
			{
				bw_put(w, 3 | lz << 2 | (nlen - 1) << 7, 13);
				bw_put_long(w, x >> tz, nlen);
				lead = lz;
				len = nlen;
			}
		}
	}
	return bw_flush(w);
}

/*
 * encode_doubles writes the double stream of the nd double points: the
 * smallest of the mantissas (when the values are all decimal), the bit
 * patterns as an int stream, Gorilla XOR and raw bytes, or the one forced
 * by opt (a forced decimal falls back on the others when not possible).
 * Equal sizes go to the fastest to decode: mantissas, bit patterns, raw
 * bytes, then XOR.  Mantissas that
 * take 2 bytes a value or less are taken without measuring the others,
 * which never come near on decimal data (the low bits of a double m / 10^k
 * are noise) and would double the encoder's time.
 */
static uint8_t *
encode_doubles(const uint8_t *is_int, const double *value, int n, int nd,
			   const VsBlockOptions *opt, const Choice *choice, uint8_t *p)
{
	int			mode = opt ? opt->doubles : VS_AUTO;
	int			k = -1;
	size_t		raw_size = (size_t) nd * 8;
	size_t		xor_size = SIZE_MAX;
	size_t		best = SIZE_MAX;
	Source		dec = {SRC_DECIMAL, NULL, is_int, NULL, value, n, 0, 0, 0};
	Source		bits = {SRC_BITS, NULL, is_int, NULL, value, n, 0, 0, 0};
	Plan		dec_plan = {0, 0, 0, 0, SIZE_MAX};
	Plan		bits_plan = {0, 0, 0, 0, SIZE_MAX};

	if (mode == VS_AUTO || mode == VS_DOUBLES_DECIMAL)
	{
		k = decimal_exponent(is_int, value, n);
		if (k >= 0)
		{
			dec.k = k;
			plan_stream(&dec, nd, choice, &dec_plan);
			if (dec.bad)
			{
				k = -1;
				dec_plan.size = SIZE_MAX;
			}
			else
				best = dec_plan.size;
		}
		if (k < 0)
			mode = VS_AUTO;
	}
	/* decimal values in 2 bytes or less: the others would not do better */
	if (mode == VS_AUTO && k >= 0 && dec_plan.size <= 2 * (size_t) nd)
		mode = VS_DOUBLES_DECIMAL;
	if (mode == VS_AUTO || mode == VS_DOUBLES_BITS)
	{
		plan_stream(&bits, nd, choice, &bits_plan);
		if (bits_plan.size < best)
			best = bits_plan.size;
	}
	if (mode == VS_AUTO || mode == VS_DOUBLES_XOR)
	{
		BitWriter	w = {NULL, 0, 0, 0, 0};

		xor_size = xor_encode(&w, is_int, value, n);
		if (xor_size < best)
			best = xor_size;
	}
	if ((mode == VS_AUTO || mode == VS_DOUBLES_RAW) && raw_size < best)
		best = raw_size;

	if (k >= 0 && dec_plan.size == best)
	{
		*p++ = (uint8_t) k;
		return write_stream(&dec, &dec_plan, p);
	}
	if (bits_plan.size == best)
	{
		*p++ = D_BITS;
		return write_stream(&bits, &bits_plan, p);
	}
	if (xor_size == best && xor_size < raw_size)
	{
		BitWriter	w = {p + 1, raw_size, 0, 0, 0};

		*p = D_XOR;
		return p + 1 + xor_encode(&w, is_int, value, n);
	}
	*p++ = D_RAW;
	for (int i = 0; i < n; i++)
	{
		if (!is_int[i])
		{
			store64(p, double_bits(value[i]));
			p += 8;
		}
	}
	return p;
}

/* ----------------------------------------------------------------
 * Encoder: the block
 * ----------------------------------------------------------------
 */

/*
 * vs_block_bound: the worst case of each part.  An int stream of c values
 * is at most a header byte, two 10-byte head varints, a 10-byte GCD, and
 * for each frame (16 values or more) 11 bytes of frame header and base,
 * plus 8 bytes a value.
 */
size_t
vs_block_bound(int n)
{
	size_t		sn = (size_t) n;

	if (n < 0 || n > VS_BLOCK_MAX_POINTS)
		return 0;
	return 16 * sn + sn / 8 + 22 * ((sn + 15) / 16) + 160;
}

/* vs_block_encode encodes with every choice made by the encoder */
size_t
vs_block_encode(const int64_t *ts, const uint8_t *is_int,
				const int64_t *ivalue, const double *value, int n,
				uint8_t *out)
{
	return vs_block_encode_opt(ts, is_int, ivalue, value, n, out, NULL);
}

/*
 * type_map_runs is the size of the type map as run lengths: a byte for the
 * first point's type, then the length of each run of one type.
 */
static size_t
type_map_runs(const uint8_t *is_int, int n)
{
	size_t		size = 1;
	int			start = 0;

	for (int i = 1; i <= n; i++)
	{
		if (i == n || (is_int[i] != 0) != (is_int[start] != 0))
		{
			size += varint_len((uint64_t) (i - start));
			start = i;
		}
	}
	return size;
}

/* options_valid tells whether every field of opt is VS_AUTO or in range */
static int
options_valid(const VsBlockOptions *opt)
{
	if (opt == NULL)
		return 1;
	return opt->ts_order >= VS_AUTO && opt->ts_order < NORDER &&
		opt->value_order >= VS_AUTO && opt->value_order < NORDER &&
		(opt->frame_log2 == VS_AUTO ||
		 (opt->frame_log2 >= FLOG_MIN && opt->frame_log2 <= FLOG_MAX)) &&
		opt->frame_base >= VS_AUTO && opt->frame_base <= 1 &&
		opt->doubles >= VS_AUTO && opt->doubles <= VS_DOUBLES_BITS &&
		(opt->gcd == VS_AUTO || opt->gcd == 0);
}

/*
 * encode_block writes a block of the given version: VS_BLOCK_VERSION
 * (timestamps strictly increasing) or VS_SAMPLES_VERSION (non-decreasing).
 */
static size_t
encode_block(int version, const int64_t *ts, const uint8_t *is_int,
			 const int64_t *ivalue, const double *value, int n,
			 uint8_t *out, const VsBlockOptions *opt)
{
	uint8_t    *p = out;
	int			ni = 0;
	Choice		tsc = {VS_AUTO, VS_AUTO, VS_AUTO, VS_AUTO};
	Choice		vc = {VS_AUTO, VS_AUTO, VS_AUTO, VS_AUTO};

	if (n < 0 || n > VS_BLOCK_MAX_POINTS || !options_valid(opt))
		return 0;
	for (int i = 1; i < n; i++)
	{
		if (ts[i] < ts[i - 1] || (ts[i] == ts[i - 1] && version == VS_BLOCK_VERSION))
			return 0;
	}
	if (opt != NULL)
	{
		tsc.order = opt->ts_order;
		vc.order = opt->value_order;
		tsc.flog = vc.flog = opt->frame_log2;
		tsc.base = vc.base = opt->frame_base;
		tsc.gcd = vc.gcd = opt->gcd;
	}

	*p++ = (uint8_t) version;
	p = put_varint(p, (uint64_t) n);
	if (n == 0)
		return p - out;

	/* the timestamps */
	{
		Source		src = {SRC_TS, ts, NULL, NULL, NULL, n, 0, 0, 0};

		p = encode_stream(&src, n, &tsc, p);
	}

	/* the kind of values, and the type map of a mixed block */
	for (int i = 0; i < n; i++)
		ni += is_int[i] != 0;
	if (ni == n)
		*p++ = KIND_INT;
	else if (ni == 0)
		*p++ = KIND_DOUBLE;
	else if (type_map_runs(is_int, n) < (size_t) (n + 7) / 8)
	{
		int			start = 0;

		*p++ = KIND_RUNS;
		*p++ = is_int[0] != 0;
		for (int i = 1; i <= n; i++)
		{
			if (i == n || (is_int[i] != 0) != (is_int[start] != 0))
			{
				p = put_varint(p, (uint64_t) (i - start));
				start = i;
			}
		}
	}
	else
	{
		*p++ = KIND_BITMAP;
		memset(p, 0, (n + 7) / 8);
		for (int i = 0; i < n; i++)
			p[i >> 3] |= (is_int[i] != 0) << (i & 7);
		p += (n + 7) / 8;
	}

	/* the int values, then the doubles */
	if (ni > 0)
	{
		Source		src = {SRC_INT, NULL, is_int, ivalue, NULL, n, 0, 0, 0};

		p = encode_stream(&src, ni, &vc, p);
	}
	if (ni < n)
		p = encode_doubles(is_int, value, n, n - ni, opt, &vc, p);
	return p - out;
}

/* vs_block_encode_opt is vs_block_encode with some choices forced */
size_t
vs_block_encode_opt(const int64_t *ts, const uint8_t *is_int,
					const int64_t *ivalue, const double *value, int n,
					uint8_t *out, const VsBlockOptions *opt)
{
	return encode_block(VS_BLOCK_VERSION, ts, is_int, ivalue, value, n, out, opt);
}

/* vs_samples_encode_opt: a samples block, some choices forced */
size_t
vs_samples_encode_opt(const int64_t *ts, const uint8_t *is_int,
					  const int64_t *ivalue, const double *value, int n,
					  uint8_t *out, const VsBlockOptions *opt)
{
	return encode_block(VS_SAMPLES_VERSION, ts, is_int, ivalue, value, n, out, opt);
}

/* vs_samples_encode: a samples block, every choice the encoder's */
size_t
vs_samples_encode(const int64_t *ts, const uint8_t *is_int,
				  const int64_t *ivalue, const double *value, int n,
				  uint8_t *out)
{
	return encode_block(VS_SAMPLES_VERSION, ts, is_int, ivalue, value, n, out, NULL);
}

/*
 * vs_ints_bound: the int streams' part of vs_block_bound, per column, plus
 * the header.
 */
size_t
vs_ints_bound(int n, int ncols)
{
	size_t		sn = (size_t) n;

	if (n < 0 || n > VS_BLOCK_MAX_POINTS || ncols < 0 || ncols > VS_INTS_MAX_COLUMNS)
		return 0;
	return 12 + (size_t) ncols * (8 * sn + 22 * ((sn + 15) / 16) + 32);
}

/* vs_ints_encode writes columns of int64 as int streams, each planned alone */
size_t
vs_ints_encode(const int64_t *const *cols, int ncols, int n, uint8_t *out)
{
	static const Choice any = {VS_AUTO, VS_AUTO, VS_AUTO, VS_AUTO};
	uint8_t    *p = out;

	if (n < 0 || n > VS_BLOCK_MAX_POINTS || ncols < 0 || ncols > VS_INTS_MAX_COLUMNS)
		return 0;
	*p++ = VS_INTS_VERSION;
	p = put_varint(p, (uint64_t) n);
	p = put_varint(p, (uint64_t) ncols);
	if (n == 0)
		return p - out;
	for (int k = 0; k < ncols; k++)
	{
		Source		src = {SRC_RAW, cols[k], NULL, NULL, NULL, n, 0, 0, 0};

		p = encode_stream(&src, n, &any, p);
	}
	return p - out;
}

/* ----------------------------------------------------------------
 * Decoder
 * ----------------------------------------------------------------
 */

typedef struct Reader
{
	const uint8_t *p;
	const uint8_t *end;
	const char *err;
} Reader;

/* fail records the first error of r; returns 0 */
static int
fail(Reader *r, const char *msg)
{
	if (r->err == NULL)
		r->err = msg;
	return 0;
}

/* get_byte reads one byte */
static VS_INLINE int
get_byte(Reader *r, unsigned *v)
{
	if (r->p >= r->end)
		return fail(r, "block is truncated");
	*v = *r->p++;
	return 1;
}

/*
 * get_varint reads a varint as put_varint writes it: at most 10 bytes,
 * no bits beyond 64, no superfluous zero byte at the end.
 */
static int
get_varint(Reader *r, uint64_t *v)
{
	uint64_t	x = 0;

	for (int shift = 0; shift < 70; shift += 7)
	{
		uint64_t	b;

		if (r->p >= r->end)
			return fail(r, "block is truncated");
		b = *r->p++;
		if (shift == 63 && b > 1)
			return fail(r, "varint beyond 64 bits");
		x |= (b & 0x7f) << shift;
		if (!(b & 0x80))
		{
			if (b == 0 && shift > 0)
				return fail(r, "varint not in its shortest form");
			*v = x;
			return 1;
		}
	}
	return fail(r, "varint beyond 64 bits");
}

/*
 * unpack_w reads cnt values of w bits from in, which has at least 8 bytes
 * after the last of them.  Always inlined with a constant w, its groups of
 * eight values (w bytes) become constant shifts and masks.
 */
static VS_INLINE void
unpack_w(const uint8_t *in, uint64_t *out, int cnt, const int w)
{
	const uint64_t mask = w == 64 ? UINT64_MAX : ((uint64_t) 1 << w) - 1;
	int			i = 0;

	for (; i + 8 <= cnt; i += 8, in += w)
	{
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 8
#endif
		for (int j = 0; j < 8; j++)
		{
			const int	bit = j * w;
			uint64_t	v = load64(in + bit / 8) >> (bit % 8);

			if (bit % 8 != 0 && w + bit % 8 > 64)
				v |= (uint64_t) in[bit / 8 + 8] << (64 - bit % 8);
			out[i + j] = v & mask;
		}
	}
	for (int j = 0; i < cnt; i++, j++)
	{
		const int	bit = j * w;
		uint64_t	v = load64(in + bit / 8) >> (bit % 8);

		if (bit % 8 != 0 && w + bit % 8 > 64)
			v |= (uint64_t) in[bit / 8 + 8] << (64 - bit % 8);
		out[i] = v & mask;
	}
}

#define UNPACK_CASE(W) case W: unpack_w(in, out, cnt, W); break
#define UNPACK_CASE8(W) UNPACK_CASE(W); UNPACK_CASE(W + 1); \
	UNPACK_CASE(W + 2); UNPACK_CASE(W + 3); UNPACK_CASE(W + 4); \
	UNPACK_CASE(W + 5); UNPACK_CASE(W + 6); UNPACK_CASE(W + 7)

/* unpack_padded reads cnt values of w bits (1..64), with 8 bytes to spare */
static void
unpack_padded(const uint8_t *in, uint64_t *out, int cnt, int w)
{
	switch (w)
	{
			UNPACK_CASE8(1);
			UNPACK_CASE8(9);
			UNPACK_CASE8(17);
			UNPACK_CASE8(25);
			UNPACK_CASE8(33);
			UNPACK_CASE8(41);
			UNPACK_CASE8(49);
			UNPACK_CASE8(57);
		default:
			break;
	}
}

/*
 * unpack reads cnt values of w bits from in, of which avail bytes may be
 * read (at least the values' bytes).  Near the end of the block the bytes
 * are first copied to a zero-padded buffer.
 */
static void
unpack(const uint8_t *in, size_t avail, int cnt, int w, uint64_t *out)
{
	size_t		bytes = ((size_t) cnt * w + 7) / 8;

	if (w == 0)
		memset(out, 0, (size_t) cnt * sizeof(uint64_t));
	else if (avail >= bytes + 8)
		unpack_padded(in, out, cnt, w);
	else
	{
		uint8_t		buf[FRAME_MAX * 8 + 16];

		memcpy(buf, in, bytes);
		memset(buf + bytes, 0, 16);
		unpack_padded(buf, out, cnt, w);
	}
}

/*
 * read_stream decodes an int stream of c values into dst.  The frames are
 * unpacked in place, then turned into residuals and summed, one frame at a
 * time so that the data stays in the cache.  increasing: 0, any values;
 * INC_STRICT, strictly increasing (a block's timestamps); INC_EQUAL,
 * non-decreasing (a samples block's).
 */
#define INC_STRICT 1
#define INC_EQUAL 2

static int
read_stream(Reader *r, uint64_t *dst, int c, int increasing)
{
	unsigned	h;
	int			order;
	int			frame;
	int			nhead;
	uint64_t	x = 0;			/* the last value */
	uint64_t	d = 0;			/* the last delta */
	uint64_t	g;

	if (!get_byte(r, &h))
		return 0;
	order = h & SH_ORDER_MASK;
	frame = 1 << (FLOG_MIN + ((h >> SH_FLOG_SHIFT) & 7));
	if (order == 3 || (h >> 6) != 0 || frame > FRAME_MAX ||
		((h & SH_ZERO) && frame != (1 << FLOG_MIN)) ||
		(!(h & SH_ZERO) && c <= order))
		return fail(r, "bad stream header");

	nhead = order < c ? order : c;
	for (int j = 0; j < nhead; j++)
	{
		uint64_t	v;

		if (!get_varint(r, &v))
			return 0;
		if (j == 0)
			x = unzigzag(v);
		else
		{
			d = unzigzag(v);
			x += d;
		}
		dst[j] = x;
	}

	if (h & SH_ZERO)
	{
		/*
		 * Zeros, a constant, or an arithmetic progression.  A progression
		 * increases when its step d (an unsigned delta) is not 0 and its
		 * last value does not pass INT64_MAX: (c - 1) d <= INT64_MAX - x0.
		 */
		if (increasing == INC_STRICT && c > 1 &&
			(order < 2 || d == 0 ||
			 d > ((uint64_t) INT64_MAX - dst[0]) / (uint64_t) (c - 1)))
			return fail(r, "timestamps are not strictly increasing");
		/* non-decreasing: zeros, a constant, or a progression that rises */
		if (increasing == INC_EQUAL && c > 1 && order == 2 &&
			d > ((uint64_t) INT64_MAX - dst[0]) / (uint64_t) (c - 1))
			return fail(r, "timestamps are not in order");
		if (order == 0)
			memset(dst, 0, (size_t) c * sizeof(uint64_t));
		else if (order == 1)
			for (int j = nhead; j < c; j++)
				dst[j] = x;
		else
			for (int j = nhead; j < c; j++)
			{
				x += d;
				dst[j] = x;
			}
		return 1;
	}

	if (!get_varint(r, &g))
		return 0;
	if (g == 0)
		return fail(r, "bad stream multiplier");

	for (int j = order; j < c; j += frame)
	{
		int			cnt = c - j < frame ? c - j : frame;
		uint64_t   *u = dst + j;
		unsigned	fh;
		int			w;
		uint64_t	b = 0;
		size_t		bytes;
		size_t		avail;

		if (!get_byte(r, &fh))
			return 0;
		w = fh & FH_WIDTH_MASK;
		if (w > 64)
			return fail(r, "bad frame width");
		if ((fh & FH_BASE) && !get_varint(r, &b))
			return 0;
		b = unzigzag(b);
		bytes = ((size_t) cnt * w + 7) / 8;
		avail = (size_t) (r->end - r->p);
		if (bytes > avail)
			return fail(r, "block is truncated");
		if ((cnt * w) % 8 != 0 && (r->p[bytes - 1] >> ((cnt * w) % 8)) != 0)
			return fail(r, "frame padding bits are not zero");
		unpack(r->p, avail, cnt, w, u);
		r->p += bytes;

		/* residual = g * (b + u) or g * unzigzag(u), then summed */
		if (fh & FH_BASE)
		{
			if (order == 0)
				for (int i = 0; i < cnt; i++)
					u[i] = g * (b + u[i]);
			else if (order == 1)
				for (int i = 0; i < cnt; i++)
					u[i] = x += g * (b + u[i]);
			else
				for (int i = 0; i < cnt; i++)
				{
					d += g * (b + u[i]);
					u[i] = x += d;
				}
		}
		else if (g == 1)
		{
			if (order == 0)
				for (int i = 0; i < cnt; i++)
					u[i] = unzigzag(u[i]);
			else if (order == 1)
				for (int i = 0; i < cnt; i++)
					u[i] = x += unzigzag(u[i]);
			else
				for (int i = 0; i < cnt; i++)
				{
					d += unzigzag(u[i]);
					u[i] = x += d;
				}
		}
		else
		{
			if (order == 0)
				for (int i = 0; i < cnt; i++)
					u[i] = g * unzigzag(u[i]);
			else if (order == 1)
				for (int i = 0; i < cnt; i++)
					u[i] = x += g * unzigzag(u[i]);
			else
				for (int i = 0; i < cnt; i++)
				{
					d += g * unzigzag(u[i]);
					u[i] = x += d;
				}
		}
	}
	if (increasing == INC_STRICT)
	{
		int			bad = 0;

		for (int j = 1; j < c; j++)
			bad |= (dst[j] ^ SIGN_BIT) <= (dst[j - 1] ^ SIGN_BIT);
		if (bad)
			return fail(r, "timestamps are not strictly increasing");
	}
	else if (increasing == INC_EQUAL)
	{
		int			bad = 0;

		for (int j = 1; j < c; j++)
			bad |= (dst[j] ^ SIGN_BIT) < (dst[j - 1] ^ SIGN_BIT);
		if (bad)
			return fail(r, "timestamps are not in order");
	}
	return 1;
}

/* a bit reader that reads zeros past the end, and counts them */
typedef struct BitReader
{
	const uint8_t *p;
	const uint8_t *end;
	uint64_t	acc;
	int			nacc;			/* bits in acc */
	size_t		fake;			/* zero bytes made up past the end */
} BitReader;

/* br_get reads n bits (n <= 56) */
static VS_INLINE uint64_t
br_get(BitReader *b, int n)
{
	uint64_t	v;

	if (b->nacc < n)
	{
		if (b->end - b->p >= 8)
		{
			int			take = (63 - b->nacc) / 8;

			b->acc |= load64(b->p) << b->nacc;
			b->p += take;
			b->nacc += take * 8;
		}
		else
		{
			while (b->nacc <= 56)
			{
				uint64_t	byte = 0;

				if (b->p < b->end)
					byte = *b->p++;
				else
					b->fake++;
				b->acc |= byte << b->nacc;
				b->nacc += 8;
			}
		}
	}
	v = n == 0 ? 0 : b->acc & (UINT64_MAX >> (64 - n));
	b->acc >>= n;
	b->nacc -= n;
	return v;
}

/* br_get_long reads n bits (n <= 64) */
static VS_INLINE uint64_t
br_get_long(BitReader *b, int n)
{
	if (n > 32)
	{
		uint64_t	lo = br_get(b, 32);

		return lo | br_get(b, n - 32) << 32;
	}
	return br_get(b, n);
}

/*
 * read_xor decodes nd Gorilla XOR values into out; the stream must end
 * exactly at the end of the block, with zero padding bits.
 */
static int
read_xor(Reader *r, double *out, int nd)
{
	BitReader	b = {r->p, r->end, 0, 0, 0};
	uint64_t	v;
	int			lead = 0;
	int			len = 64;
	size_t		avail = (size_t) (r->end - r->p);
	size_t		used;

	v = br_get_long(&b, 64);
	out[0] = bits_double(v);
	for (int i = 1; i < nd; i++)
	{
		if (br_get(&b, 1))
		{
			if (br_get(&b, 1))
			{
				lead = (int) br_get(&b, 5);
				len = (int) br_get(&b, 6) + 1;
				if (lead + len > 64)
					return fail(r, "bad XOR window");
			}
			v ^= br_get_long(&b, len) << (64 - lead - len);
		}
		out[i] = bits_double(v);
		/* a truncated stream reads zeros: stop at once */
		if (b.fake > 8)
			return fail(r, "block is truncated");
	}
	/* bits used: the bytes taken, the made-up ones, less those not read */
	used = ((size_t) (b.p - r->p) + b.fake) * 8 - b.nacc;
	if ((used + 7) / 8 > avail)
		return fail(r, "block is truncated");
	if ((used + 7) / 8 < avail)
		return fail(r, "trailing bytes after block");
	if (used % 8 != 0 && (r->p[used / 8] >> (used % 8)) != 0)
		return fail(r, "XOR padding bits are not zero");
	r->p = r->end;
	return 1;
}

/*
 * divide_mantissas sets out[i] = (double) m[i] / p.  The division is most
 * of the cost of decoding decimal values; with GCC or Clang two are done
 * at once (SSE2's divpd, IEEE-exact in each lane like the scalar one).
 */
static void
divide_mantissas(const int64_t *m, double *out, int n, double p)
{
	int			i = 0;

#if defined(__GNUC__)
	typedef double v2d __attribute__((vector_size(16)));
	v2d			pp = {p, p};

	for (; i + 2 <= n; i += 2)
	{
		v2d			q = {(double) m[i], (double) m[i + 1]};

		q /= pp;
		memcpy(out + i, &q, sizeof(q));
	}
#endif
	for (; i < n; i++)
		out[i] = (double) m[i] / p;
}

/*
 * read_doubles decodes the double stream of nd values into out, using
 * scratch (nd entries) for the mantissas of decimal values.  With
 * zero_scratch, scratch is zeroed as it is used.
 */
static int
read_doubles(Reader *r, double *out, int64_t *scratch, int nd,
			 int zero_scratch)
{
	unsigned	k;

	if (!get_byte(r, &k))
		return 0;
	if (k <= DEC_MAX_K)
	{
		if (!read_stream(r, (uint64_t *) scratch, nd, 0))
			return 0;
		divide_mantissas(scratch, out, nd, pow10_table[k]);
		if (zero_scratch)
			memset(scratch, 0, (size_t) nd * sizeof(int64_t));
		return 1;
	}
	if (k == D_BITS)
	{
		if (!read_stream(r, (uint64_t *) scratch, nd, 0))
			return 0;
		for (int i = 0; i < nd; i++)
			out[i] = bits_double((uint64_t) scratch[i]);
		if (zero_scratch)
			memset(scratch, 0, (size_t) nd * sizeof(int64_t));
		return 1;
	}
	if (zero_scratch)
		memset(scratch, 0, (size_t) nd * sizeof(int64_t));
	if (k == D_XOR)
		return read_xor(r, out, nd);
	if (k == D_RAW)
	{
		if ((size_t) (r->end - r->p) / 8 < (size_t) nd)
			return fail(r, "block is truncated");
		for (int i = 0; i < nd; i++)
			out[i] = bits_double(load64(r->p + 8 * (size_t) i));
		r->p += 8 * (size_t) nd;
		return 1;
	}
	return fail(r, "bad double encoding");
}

/* read_header reads the version (which must be want) and the count */
static int
read_header(Reader *r, unsigned want, int *n)
{
	unsigned	version;
	uint64_t	v;

	if (!get_byte(r, &version))
		return 0;
	if (version != want)
		return fail(r, want == VS_SAMPLES_VERSION && version == VS_BLOCK_VERSION ?
					"a points block where a samples block belongs" :
					want == VS_BLOCK_VERSION && version == VS_SAMPLES_VERSION ?
					"a samples block where a points block belongs" :
					"unknown block version");
	if (!get_varint(r, &v))
		return 0;
	if (v > VS_BLOCK_MAX_POINTS)
		return fail(r, "point count out of range");
	*n = (int) v;
	return 1;
}

/* npoints reads the count in the header of a block of this version */
static int
npoints(const uint8_t *data, size_t len, unsigned version)
{
	Reader		r = {data, data, NULL};
	int			n;

	if (data == NULL)
		return -1;
	r.end = data + len;
	if (!read_header(&r, version, &n))
		return -1;
	return n;
}

/* vs_block_npoints reads the count in a block's header */
int
vs_block_npoints(const uint8_t *data, size_t len)
{
	return npoints(data, len, VS_BLOCK_VERSION);
}

/* vs_samples_npoints reads the count in a samples block's header */
int
vs_samples_npoints(const uint8_t *data, size_t len)
{
	return npoints(data, len, VS_SAMPLES_VERSION);
}

/* read_type_map reads a mixed block's type map into is_int; sets *ni */
static int
read_type_map(Reader *r, unsigned kind, uint8_t *is_int, int n, int *ni)
{
	int			count = 0;

	if (kind == KIND_BITMAP)
	{
		size_t		bytes = ((size_t) n + 7) / 8;

		if ((size_t) (r->end - r->p) < bytes)
			return fail(r, "block is truncated");
		if (n % 8 != 0 && (r->p[bytes - 1] >> (n % 8)) != 0)
			return fail(r, "bad type map");
		for (int i = 0; i < n; i++)
		{
			is_int[i] = (r->p[i >> 3] >> (i & 7)) & 1;
			count += is_int[i];
		}
		r->p += bytes;
	}
	else
	{
		unsigned	t;
		int			pos = 0;

		if (!get_byte(r, &t))
			return 0;
		if (t > 1)
			return fail(r, "bad type map");
		while (pos < n)
		{
			uint64_t	run;

			if (!get_varint(r, &run))
				return 0;
			if (run == 0 || run > (uint64_t) (n - pos))
				return fail(r, "bad type map");
			memset(is_int + pos, (int) t, (size_t) run);
			if (t)
				count += (int) run;
			pos += (int) run;
			t ^= 1;
		}
	}
	*ni = count;
	return 1;
}

/*
 * decode does vs_block_decode's (or vs_samples_decode's) work; 0 with
 * r->err set on error
 */
static int
decode(Reader *r, unsigned version, int64_t *ts, uint8_t *is_int, int64_t *ivalue,
	   double *value, int *np)
{
	int			n;
	unsigned	kind;

	if (!read_header(r, version, &n))
		return 0;
	*np = n;
	if (n == 0)
		return r->p == r->end ? 1 : fail(r, "trailing bytes after block");

	if (!read_stream(r, (uint64_t *) ts, n,
					 version == VS_SAMPLES_VERSION ? INC_EQUAL : INC_STRICT))
		return 0;

	if (!get_byte(r, &kind))
		return 0;
	if (kind == KIND_INT)
	{
		if (!read_stream(r, (uint64_t *) ivalue, n, 0))
			return 0;
		memset(is_int, 1, (size_t) n);
		for (int i = 0; i < n; i++)
			value[i] = (double) ivalue[i];
	}
	else if (kind == KIND_DOUBLE)
	{
		if (!read_doubles(r, value, ivalue, n, 1))
			return 0;
		memset(is_int, 0, (size_t) n);
	}
	else if (kind == KIND_BITMAP || kind == KIND_RUNS)
	{
		int			ni;
		int			nd;
		int			ji;
		int			jd;

		if (!read_type_map(r, kind, is_int, n, &ni))
			return 0;
		nd = n - ni;
		/* int values packed at the start of ivalue, doubles of value */
		if (ni > 0 && !read_stream(r, (uint64_t *) ivalue, ni, 0))
			return 0;
		if (nd > 0 && !read_doubles(r, value, ivalue + ni, nd, 0))
			return 0;
		/* spread them out from the end: entry j < i is read before i */
		ji = ni;
		jd = nd;
		for (int i = n - 1; i >= 0; i--)
		{
			if (is_int[i])
			{
				int64_t		v = ivalue[--ji];

				ivalue[i] = v;
				value[i] = (double) v;
			}
			else
			{
				value[i] = value[--jd];
				ivalue[i] = 0;
			}
		}
	}
	else
		return fail(r, "bad value kind");

	if (r->p != r->end)
		return fail(r, "trailing bytes after block");
	return 1;
}

/* decode_version decodes a block of a version; -1 with *err on corrupt input */
static int
decode_version(unsigned version, const uint8_t *data, size_t len, int64_t *ts,
			   uint8_t *is_int, int64_t *ivalue, double *value,
			   const char **err)
{
	Reader		r = {data, data, NULL};
	int			n = 0;

	if (data == NULL)
		r.err = "no block";
	else
	{
		r.end = data + len;
		if (decode(&r, version, ts, is_int, ivalue, value, &n))
			return n;
	}
	if (err != NULL)
		*err = r.err ? r.err : "corrupt block";
	return -1;
}

/* vs_block_decode decodes a block; -1 with *err on corrupt input */
int
vs_block_decode(const uint8_t *data, size_t len, int64_t *ts,
				uint8_t *is_int, int64_t *ivalue, double *value,
				const char **err)
{
	return decode_version(VS_BLOCK_VERSION, data, len, ts, is_int, ivalue, value, err);
}

/* vs_samples_decode decodes a samples block; -1 with *err on corrupt input */
int
vs_samples_decode(const uint8_t *data, size_t len, int64_t *ts,
				  uint8_t *is_int, int64_t *ivalue, double *value,
				  const char **err)
{
	return decode_version(VS_SAMPLES_VERSION, data, len, ts, is_int, ivalue, value, err);
}

/* ints_header reads the header of int columns: version, count, columns */
static int
ints_header(Reader *r, int *n, int *ncols)
{
	unsigned	version;
	uint64_t	v;
	uint64_t	k;

	if (!get_byte(r, &version))
		return 0;
	if (version != VS_INTS_VERSION)
		return fail(r, "unknown int columns version");
	if (!get_varint(r, &v) || !get_varint(r, &k))
		return 0;
	if (v > VS_BLOCK_MAX_POINTS)
		return fail(r, "value count out of range");
	if (k > VS_INTS_MAX_COLUMNS)
		return fail(r, "column count out of range");
	*n = (int) v;
	*ncols = (int) k;
	return 1;
}

/* vs_ints_shape reads the count and the number of columns of int columns */
int
vs_ints_shape(const uint8_t *data, size_t len, int *ncols)
{
	Reader		r = {data, data, NULL};
	int			n;
	int			k;

	if (data == NULL)
		return -1;
	r.end = data + len;
	if (!ints_header(&r, &n, &k))
		return -1;
	if (ncols != NULL)
		*ncols = k;
	return n;
}

/* vs_ints_decode decodes int columns of n values into cols[0..ncols) */
int
vs_ints_decode(const uint8_t *data, size_t len, int64_t *const *cols, int ncols,
			   int want, const char **err)
{
	Reader		r = {data, data, NULL};
	int			n = 0;
	int			k = 0;

	if (data == NULL)
		r.err = "no int columns";
	else
	{
		r.end = data + len;
		if (ints_header(&r, &n, &k))
		{
			if (k != ncols)
				fail(&r, "not the number of columns expected");
			else if (n != want)
				fail(&r, "not the number of values expected");
			else
			{
				int			ok = 1;

				for (int c = 0; c < k && ok && n > 0; c++)
					ok = read_stream(&r, (uint64_t *) cols[c], n, 0);
				if (ok && r.p != r.end)
					fail(&r, "trailing bytes after int columns");
				else if (ok)
					return n;
			}
		}
	}
	if (err != NULL)
		*err = r.err ? r.err : "corrupt int columns";
	return -1;
}
