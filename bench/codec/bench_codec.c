/*-------------------------------------------------------------------------
 *
 * bench_codec.c
 *	  Benchmark of the block codec (src/store/codec.c): bytes a point and
 *	  decode speed on the data vscope's benchmarks and demo write, for the
 *	  chosen encoding and for the alternatives it was chosen over.
 *
 *	  Data sets, one block per series per UTC day:
 *	  - bench: bench/query.sh's data, 2000 series, one point a minute for
 *		3 days, value = round(50 + 40 sin(k/300 + series_id) + random(), 2);
 *	  - demo: scripts/demo.sql's 268 series (hosts, NICs, VMs, filers) with
 *		its formulas, over make run's 24-hour window (two partial days),
 *		and over 3 whole days;
 *	  - counters: int64 byte and packet counters, with resets;
 *	  - int gauges: small int random walks, and mostly-zero queues;
 *	  - jittered: bench gauges sent every 60 s +- a few hundred ms;
 *	  - mixed: bench gauges whose whole values come as ints;
 *	  - rates: full-precision doubles (a counter's delta / 60);
 *	  - shapes: non-decimal doubles of seven shapes, sizes only.
 *
 *	  Decode speed is single-threaded, the best of several runs over all
 *	  the blocks of a data set, every block checked once against its input.
 *	  Usage: bench_codec [runs [data set [encoding number]]], e.g.
 *	  bench_codec 9 bench 0 for the chosen encoding on the bench data only.
 *
 *-------------------------------------------------------------------------
 */
#include "store/codec.h"
#include "alt_varint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MINUTE_US INT64_C(60000000)
#define DAY_US (INT64_C(86400) * 1000000)
/* seconds from the Unix epoch to PostgreSQL's (2000-01-01) */
#define PG_EPOCH_UNIX INT64_C(946684800)

/* one block's points, pointing into its data set's arrays */
typedef struct Block
{
	int			n;
	int64_t    *ts;
	uint8_t    *is_int;
	int64_t    *iv;
	double	   *dv;
} Block;

typedef struct Dataset
{
	const char *name;
	const char *desc;
	int			nblocks;
	int			maxblocks;
	Block	   *blocks;
	long		npoints;
	int			max_n;			/* the largest block */
	/* the arrays of all points, block after block */
	long		cap;
	int64_t    *ts;
	uint8_t    *is_int;
	int64_t    *iv;
	double	   *dv;
} Dataset;

/* ----------------------------------------------------------------
 * Random numbers: splitmix64, fixed seeds
 * ----------------------------------------------------------------
 */

static uint64_t rng_state = 42;

/* rnd returns 64 random bits */
static uint64_t
rnd(void)
{
	uint64_t	z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* random01 is PostgreSQL's random(): uniform in [0, 1) */
static double
random01(void)
{
	return (double) (rnd() >> 11) / 9007199254740992.0;
}

/* round2 is round(x::numeric, 2)::float8: half away from zero */
static double
round2(double x)
{
	return round(x * 100) / 100;
}

/* ----------------------------------------------------------------
 * Data sets
 * ----------------------------------------------------------------
 */

/* dataset_new makes an empty data set for up to cap points */
static Dataset *
dataset_new(const char *name, const char *desc, long cap, int maxblocks)
{
	Dataset    *d = calloc(1, sizeof(Dataset));

	d->name = name;
	d->desc = desc;
	d->cap = cap;
	d->maxblocks = maxblocks;
	d->blocks = calloc(maxblocks, sizeof(Block));
	d->ts = malloc(cap * sizeof(int64_t));
	d->is_int = malloc(cap);
	d->iv = malloc(cap * sizeof(int64_t));
	d->dv = malloc(cap * sizeof(double));
	return d;
}

/*
 * add_point appends a point of the current series; a new block starts at
 * a new series or a new UTC day.
 */
static void
add_point(Dataset *d, int new_series, int64_t ts, int is_int, int64_t iv, double dv)
{
	Block	   *b = d->nblocks > 0 ? &d->blocks[d->nblocks - 1] : NULL;
	long		i = d->npoints;

	if (i >= d->cap)
	{
		fprintf(stderr, "data set %s: more than %ld points\n", d->name, d->cap);
		exit(1);
	}
	if (b == NULL || new_series || ts / DAY_US != b->ts[b->n - 1] / DAY_US)
	{
		if (d->nblocks == d->maxblocks)
		{
			fprintf(stderr, "data set %s: more than %d blocks\n", d->name, d->maxblocks);
			exit(1);
		}
		b = &d->blocks[d->nblocks++];
		b->n = 0;
		b->ts = d->ts + i;
		b->is_int = d->is_int + i;
		b->iv = d->iv + i;
		b->dv = d->dv + i;
	}
	d->ts[i] = ts;
	d->is_int[i] = (uint8_t) is_int;
	d->iv[i] = is_int ? iv : 0;
	d->dv[i] = is_int ? 0 : dv;
	d->npoints++;
	if (++b->n > d->max_n)
		d->max_n = b->n;
}

/* pg_ts is the TimestampTz of a Unix time in seconds */
static int64_t
pg_ts(int64_t unix_secs)
{
	return (unix_secs - PG_EPOCH_UNIX) * 1000000;
}

/* the first midnight of the data sets: 2024-03-12 00:00 UTC */
#define T0_UNIX INT64_C(1710201600)

/* bench/query.sh's points: 2000 series, 3 days, two-decimal gauges */
static Dataset *
make_bench(void)
{
	int			series = 2000;
	int			days = 3;
	Dataset    *d = dataset_new("bench", "bench/query.sh: 2000 series x 3 days, 1/min, round(50 + 40 sin(k/300 + id) + random(), 2)",
								(long) series * days * 1440, series * days);

	rng_state = 25;
	for (int s = 1; s <= series; s++)
		for (int k = 0; k < days * 1440; k++)
			add_point(d, k == 0, pg_ts(T0_UNIX + 60 * k), 0, 0,
					  round2(50 + 40 * sin(k / 300.0 + s) + random01()));
	return d;
}

/* scripts/demo.sql's metrics: name, base, amplitude, int or not */
typedef struct DemoMetric
{
	const char *name;
	double		base;
	double		amp;
	int			is_int;
} DemoMetric;

static const DemoMetric host_metrics[] = {
	{"cpu.usage.perc", 22.0, 12.0, 0}, {"mem.usage.perc", 4.36, 0.02, 0}
};
static const DemoMetric nic_metrics[] = {
	{"net.tx", 310.0, 180.0, 0}, {"net.rx", 420.0, 220.0, 0},
	{"net.packetstx", 2400.0, 900.0, 1}, {"net.packetsrx", 3100.0, 1200.0, 1}
};
static const DemoMetric vm_metrics[] = {
	{"cpu.usage.perc", 18.0, 10.0, 0}, {"mem.usage.perc", 41.0, 6.0, 0},
	{"cpu.ready", 45.0, 30.0, 0}, {"net.rx", 95.0, 60.0, 0},
	{"net.tx", 70.0, 45.0, 0}, {"net.packetsrx", 640.0, 300.0, 1},
	{"net.packetstx", 520.0, 260.0, 1}, {"disk.io.read", 38.0, 20.0, 0},
	{"disk.io.write", 52.0, 25.0, 0}, {"disk.bandwidth.read", 830.0, 400.0, 0},
	{"disk.bandwidth.write", 1150.0, 500.0, 0}, {"disk.latency.read", 1.6, 0.8, 0},
	{"disk.latency.write", 2.3, 1.1, 0}
};
static const DemoMetric filer_metric = {"diskspace.used", 512000000.0, 2000000.0, 1};

/*
 * demo_series appends one demo series over [from, to] (Unix seconds, one
 * point a minute): greatest(0, base + amp sin(2 pi t / 86400 + phase) +
 * amp 0.15 (random() - 0.5)), rounded to an int or to two decimals.  The
 * phase stands for (hashtext(tags) % 628) / 100.
 */
static void
demo_series(Dataset *d, const DemoMetric *m, int64_t from, int64_t to)
{
	double		phase = ((int64_t) (rnd() % 1256) - 628) / 100.0;

	for (int64_t t = from; t <= to; t += 60)
	{
		double		v = m->base + m->amp * sin(2 * M_PI * t / 86400 + phase) +
			m->amp * 0.15 * (random01() - 0.5);

		if (v < 0)
			v = 0;
		if (m->is_int)
			add_point(d, t == from, pg_ts(t), 1, (int64_t) round(v), 0);
		else
			add_point(d, t == from, pg_ts(t), 0, 0, round2(v));
	}
}

/* the demo's 268 series over [from, to] */
static void
demo_all(Dataset *d, int64_t from, int64_t to)
{
	rng_state = 42;
	for (int host = 0; host < 6; host++)
	{
		for (int m = 0; m < 2; m++)
			demo_series(d, &host_metrics[m], from, to);
		for (int nic = 0; nic < 4; nic++)
			for (int m = 0; m < 4; m++)
				demo_series(d, &nic_metrics[m], from, to);
	}
	for (int vm = 0; vm < 12; vm++)
		for (int m = 0; m < 13; m++)
			demo_series(d, &vm_metrics[m], from, to);
	for (int f = 0; f < 4; f++)
		demo_series(d, &filer_metric, from, to);
}

/* make run's demo: the 24 hours to 2024-03-15 13:37 UTC, 1441 points */
static Dataset *
make_demo(void)
{
	int64_t		now = T0_UNIX + 3 * 86400 + 13 * 3600 + 37 * 60;
	Dataset    *d = dataset_new("demo", "scripts/demo.sql: 268 series, the 24 h to 13:37 (1441 points, two partial days)",
								268L * 1441, 268 * 2);

	demo_all(d, now - 86400, now);
	return d;
}

/* the demo's formulas over 3 whole days */
static Dataset *
make_demo_days(void)
{
	Dataset    *d = dataset_new("demo-3d", "scripts/demo.sql's formulas: 268 series x 3 whole days",
								268L * 3 * 1440, 268 * 3);

	demo_all(d, T0_UNIX, T0_UNIX + 3 * 86400 - 60);
	return d;
}

/* counters: bytes (about 1 MB a minute) and packets, with rare resets */
static Dataset *
make_counters(void)
{
	Dataset    *d = dataset_new("counters", "200 int64 counters x 3 days: bytes (~1e6/min) and packets (~1e3/min), rare resets",
								200L * 3 * 1440, 200 * 3);

	rng_state = 7;
	for (int s = 0; s < 200; s++)
	{
		int64_t		c = (int64_t) (rnd() % 1000000000);
		double		rate = s < 100 ? 1e6 : 1e3;

		for (int k = 0; k < 3 * 1440; k++)
		{
			double		r = rate * (1 + 0.5 * sin(k / 200.0 + s));

			if (rnd() % 20000 == 0)
				c = 0;
			c += (int64_t) (r * (0.9 + 0.2 * random01()));
			add_point(d, k == 0, pg_ts(T0_UNIX + 60 * k), 1, c, 0);
		}
	}
	return d;
}

/* int gauges: random walks (connections, processes) and spiky queues */
static Dataset *
make_int_gauges(void)
{
	Dataset    *d = dataset_new("int-gauges", "200 int gauges x 3 days: random walks in 0..1000 and mostly-zero queue lengths",
								200L * 3 * 1440, 200 * 3);

	rng_state = 8;
	for (int s = 0; s < 200; s++)
	{
		int64_t		v = (int64_t) (rnd() % 1000);

		for (int k = 0; k < 3 * 1440; k++)
		{
			if (s % 2 == 0)
			{
				v += (int64_t) (rnd() % 7) - 3;
				if (v < 0)
					v = 0;
				if (v > 1000)
					v = 1000;
			}
			else
				v = rnd() % 10 == 0 ? (int64_t) (rnd() % 50) : 0;
			add_point(d, k == 0, pg_ts(T0_UNIX + 60 * k), 1, v, 0);
		}
	}
	return d;
}

/* bench gauges at 60 s +- up to 500 ms, in ms: a collector's jitter */
static Dataset *
make_jittered(void)
{
	Dataset    *d = dataset_new("jittered", "200 two-decimal gauges x 3 days, every 60 s +- 0..500 ms (ms timestamps)",
								200L * 3 * 1440, 200 * 4);

	rng_state = 9;
	for (int s = 1; s <= 200; s++)
		for (int k = 0; k < 3 * 1440; k++)
			add_point(d, k == 0, pg_ts(T0_UNIX + 60 * k) + 1000 * (int64_t) (rnd() % 1001 - 500), 0, 0,
					  round2(50 + 40 * sin(k / 300.0 + s) + random01()));
	return d;
}

/*
 * mixed: the bench's gauges from a client that writes whole values as
 * ints (42 for 42.00): about one point in a hundred is an int.
 */
static Dataset *
make_mixed(void)
{
	Dataset    *d = dataset_new("mixed", "200 bench gauges x 3 days, whole values sent as ints (~1% of points)",
								200L * 3 * 1440, 200 * 3);

	rng_state = 11;
	for (int s = 1; s <= 200; s++)
		for (int k = 0; k < 3 * 1440; k++)
		{
			double		v = round2(50 + 40 * sin(k / 300.0 + s) + random01());

			if (v == (double) (int64_t) v)
				add_point(d, k == 0, pg_ts(T0_UNIX + 60 * k), 1, (int64_t) v, 0);
			else
				add_point(d, k == 0, pg_ts(T0_UNIX + 60 * k), 0, 0, v);
		}
	return d;
}

/* rates: a bytes counter's delta over 60 s, full-precision doubles */
static Dataset *
make_rates(void)
{
	Dataset    *d = dataset_new("rates", "200 full-precision double rates x 3 days: bytes delta / 60.0",
								200L * 3 * 1440, 200 * 3);

	rng_state = 10;
	for (int s = 0; s < 200; s++)
		for (int k = 0; k < 3 * 1440; k++)
		{
			double		r = 1e6 * (1 + 0.5 * sin(k / 200.0 + s));
			int64_t		delta = (int64_t) (r * (0.9 + 0.2 * random01()));

			add_point(d, k == 0, pg_ts(T0_UNIX + 60 * k), 0, 0, delta / 60.0);
		}
	return d;
}

/* ----------------------------------------------------------------
 * Measuring
 * ----------------------------------------------------------------
 */

/* an encoding: the codec with forced options, or the varint format */
typedef struct Encoding
{
	const char *name;
	int			varint;
	VsBlockOptions opt;
} Encoding;

#define A VS_AUTO
static const Encoding encodings[] = {
	{"chosen (all automatic)", 0, {A, A, A, A, A, A}},
	{"ts order 1 (deltas)", 0, {1, A, A, A, A, A}},
	{"ts order 2 (delta-of-deltas)", 0, {2, A, A, A, A, A}},
	{"values order 0 (frame of ref.)", 0, {A, 0, A, A, A, A}},
	{"values order 1 (deltas)", 0, {A, 1, A, A, A, A}},
	{"values order 2 (delta-of-deltas)", 0, {A, 2, A, A, A, A}},
	{"frames of 16", 0, {A, A, 4, A, A, A}},
	{"frames of 32", 0, {A, A, 5, A, A, A}},
	{"frames of 64", 0, {A, A, 6, A, A, A}},
	{"frames of 128", 0, {A, A, 7, A, A, A}},
	{"frames of 256", 0, {A, A, 8, A, A, A}},
	{"frames zigzag only", 0, {A, A, A, 0, A, A}},
	{"frames with minimum only", 0, {A, A, A, 1, A, A}},
	{"no GCD", 0, {A, A, A, A, A, 0}},
	{"doubles: Gorilla XOR", 0, {A, A, A, A, VS_DOUBLES_XOR, A}},
	{"doubles: bit patterns", 0, {A, A, A, A, VS_DOUBLES_BITS, A}},
	{"doubles: raw", 0, {A, A, A, A, VS_DOUBLES_RAW, A}},
	{"varints (no frames)", 1, {A, A, A, A, A, A}},
};
#undef A

/* now_sec is a monotonic clock in seconds */
static double
now_sec(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/* the encoded blocks of a data set */
typedef struct Encoded
{
	uint8_t    *buf;
	size_t	   *off;			/* block i is buf[off[i]..off[i + 1]) */
	size_t		total;
	double		encode_sec;
} Encoded;

/* encode_all encodes every block of d; 0 when an encoding refuses one */
static int
encode_all(const Dataset *d, const Encoding *e, Encoded *out)
{
	size_t		cap = 0;
	int64_t    *scratch = malloc(d->max_n * sizeof(int64_t));
	double		t;

	for (int i = 0; i < d->nblocks; i++)
		cap += vs_block_bound(d->blocks[i].n);
	out->buf = malloc(cap);
	out->off = malloc((d->nblocks + 1) * sizeof(size_t));
	/* page faults are not the encoder's time */
	memset(out->buf, 0, cap);
	out->total = 0;
	t = now_sec();
	for (int i = 0; i < d->nblocks; i++)
	{
		const Block *b = &d->blocks[i];
		size_t		len;

		if (e->varint)
			len = alt_varint_encode(b->ts, b->is_int, b->iv, b->dv, b->n,
									out->buf + out->total, scratch);
		else
			len = vs_block_encode_opt(b->ts, b->is_int, b->iv, b->dv, b->n,
									  out->buf + out->total, &e->opt);
		if (len == 0)
		{
			free(scratch);
			return 0;
		}
		out->off[i] = out->total;
		out->total += len;
	}
	out->off[d->nblocks] = out->total;
	out->encode_sec = now_sec() - t;
	free(scratch);
	return 1;
}

/* the decoder's arrays */
typedef struct Arrays
{
	int64_t    *ts;
	uint8_t    *is_int;
	int64_t    *iv;
	double	   *dv;
} Arrays;

/* decode_block decodes block i; its count or -1 */
static int
decode_block(const Encoding *e, const Encoded *enc, int i, Arrays *a)
{
	const uint8_t *p = enc->buf + enc->off[i];
	size_t		len = enc->off[i + 1] - enc->off[i];
	const char *err;

	if (e->varint)
		return alt_varint_decode(p, len, a->ts, a->is_int, a->iv, a->dv);
	return vs_block_decode(p, len, a->ts, a->is_int, a->iv, a->dv, &err);
}

/* verify decodes every block once and compares it with its input */
static int
verify(const Dataset *d, const Encoding *e, const Encoded *enc, Arrays *a)
{
	for (int i = 0; i < d->nblocks; i++)
	{
		const Block *b = &d->blocks[i];

		if (decode_block(e, enc, i, a) != b->n)
			return 0;
		for (int j = 0; j < b->n; j++)
		{
			if (a->ts[j] != b->ts[j] || a->is_int[j] != b->is_int[j] ||
				(b->is_int[j] ? a->iv[j] != b->iv[j]
				 : memcmp(&a->dv[j], &b->dv[j], 8) != 0))
				return 0;
		}
	}
	return 1;
}

/* decode_speed is the best points a second over runs of decoding all */
static double
decode_speed(const Dataset *d, const Encoding *e, const Encoded *enc,
			 Arrays *a, int runs)
{
	double		best = 1e30;
	volatile int64_t sink = 0;

	for (int r = 0; r < runs; r++)
	{
		double		t = now_sec();

		for (int i = 0; i < d->nblocks; i++)
		{
			int			n = decode_block(e, enc, i, a);

			sink += a->ts[n - 1];
		}
		t = now_sec() - t;
		if (t < best)
			best = t;
	}
	(void) sink;
	return d->npoints / best;
}

/* ts_bytes is the bytes a point of the timestamps, with all values 0 */
static double
ts_bytes(const Dataset *d)
{
	uint8_t    *out = malloc(vs_block_bound(d->max_n));
	uint8_t    *ones = malloc(d->max_n);
	int64_t    *zeros = calloc(d->max_n, sizeof(int64_t));
	size_t		total = 0;
	size_t		empty;

	memset(ones, 1, d->max_n);
	for (int i = 0; i < d->nblocks; i++)
	{
		const Block *b = &d->blocks[i];

		total += vs_block_encode(b->ts, ones, zeros, NULL, b->n, out);
	}
	/* less the version, count, kind and the zero stream of the values */
	empty = 1 + 2 + 1 + 1 + 1;
	free(out);
	free(ones);
	free(zeros);
	return (double) (total - empty * d->nblocks) / d->npoints;
}

/* varint_size is the size of v as a varint */
static int
varint_size(uint64_t v)
{
	int			n = 1;

	while (v >= 0x80)
	{
		v >>= 7;
		n++;
	}
	return n;
}

/*
 * type_maps prints, for the blocks mixing ints and doubles, what their
 * type maps cost as run lengths and as bitmaps (the encoder takes the
 * smaller of the two for each block).
 */
static void
type_maps(const Dataset *d)
{
	long		runs = 0;
	long		bitmap = 0;
	long		best = 0;
	int			nmixed = 0;

	for (int i = 0; i < d->nblocks; i++)
	{
		const Block *b = &d->blocks[i];
		int			ni = 0;
		long		r = 1;
		int			start = 0;

		for (int j = 0; j < b->n; j++)
			ni += b->is_int[j] != 0;
		if (ni == 0 || ni == b->n)
			continue;
		nmixed++;
		for (int j = 1; j <= b->n; j++)
		{
			if (j == b->n || (b->is_int[j] != 0) != (b->is_int[start] != 0))
			{
				r += varint_size((uint64_t) (j - start));
				start = j;
			}
		}
		runs += r;
		bitmap += (b->n + 7) / 8;
		best += r < (b->n + 7) / 8 ? r : (b->n + 7) / 8;
	}
	if (nmixed > 0)
		printf("  %d mixed blocks; type maps as runs %.3f bytes/point, as bitmaps %.3f, the smaller %.3f\n",
			   nmixed, (double) runs / d->npoints, (double) bitmap / d->npoints,
			   (double) best / d->npoints);
}

/* run_dataset prints the table of one data set (only encoding only >= 0) */
static void
run_dataset(Dataset *d, int runs, int only)
{
	Arrays		a;
	int			ndouble = 0;

	a.ts = malloc(d->max_n * sizeof(int64_t));
	a.is_int = malloc(d->max_n);
	a.iv = malloc(d->max_n * sizeof(int64_t));
	a.dv = malloc(d->max_n * sizeof(double));
	for (long i = 0; i < d->npoints; i++)
		ndouble += !d->is_int[i];

	printf("\n%s: %s\n", d->name, d->desc);
	printf("  %d blocks, %ld points, %.0f points a block; timestamps alone %.3f bytes/point\n",
		   d->nblocks, d->npoints, (double) d->npoints / d->nblocks, ts_bytes(d));
	type_maps(d);
	printf("  %-34s %10s %14s %14s\n", "encoding", "bytes/pt", "decode Mpt/s", "encode Mpt/s");
	for (size_t k = 0; k < sizeof(encodings) / sizeof(encodings[0]); k++)
	{
		const Encoding *e = &encodings[k];
		Encoded		enc;

		/* the double encodings only matter to doubles */
		if ((e->opt.doubles != VS_AUTO && ndouble == 0) || (only >= 0 && (int) k != only))
			continue;
		if (!encode_all(d, e, &enc))
		{
			printf("  %-34s %10s\n", e->name, "n/a");
			continue;
		}
		if (!verify(d, e, &enc, &a))
		{
			printf("  %-34s ROUND TRIP FAILED\n", e->name);
			exit(1);
		}
		printf("  %-34s %10.3f %14.0f %14.1f\n", e->name,
			   (double) enc.total / d->npoints,
			   decode_speed(d, e, &enc, &a, k == 0 ? runs * 2 : runs) / 1e6,
			   d->npoints / enc.encode_sec / 1e6);
		fflush(stdout);
		free(enc.buf);
		free(enc.off);
	}
	free(a.ts);
	free(a.is_int);
	free(a.iv);
	free(a.dv);
}

/* shape_value is value k of a non-decimal double series of shape `shape` */
static double
shape_value(int shape, int k, double *state, const double *levels)
{
	switch (shape)
	{
		case 0:					/* a few levels, at random */
			return levels[rnd() % 5];
		case 1:					/* repeated for a while, then another */
			if (k == 0 || rnd() % 50 == 0)
				*state = random01();
			return *state;
		case 2:					/* thirds */
			return (double) (rnd() % 300) / 3.0;
		case 3:					/* a random walk of steps of 0.1, summed */
			*state += ((double) (rnd() % 3) - 1) * 0.1;
			return *state;
		case 4:					/* a smooth curve */
			return 1000 * sin(k / 100.0 + *levels);
		case 5:					/* 0.1 added every minute */
			*state += 0.1;
			return *state;
		default:				/* exponential growth */
			return exp(k / 2000.0);
	}
}

/*
 * double_shapes prints the size of non-decimal doubles of several shapes,
 * one day of one series each (10 series a shape), with each double
 * encoding: XOR and the bit patterns each win on some shapes.
 */
static void
double_shapes(void)
{
	static const char *names[] = {
		"5 levels at random", "runs of one value (~50 points)", "thirds (k/3)",
		"random walk of 0.1 steps, summed", "smooth curve 1000 sin(k/100)",
		"0.1 added each minute", "exp(k/2000)"
	};
	static const int modes[] = {VS_AUTO, VS_DOUBLES_XOR, VS_DOUBLES_BITS, VS_DOUBLES_RAW};
	int64_t		ts[1440];
	uint8_t		is_int[1440] = {0};
	double		dv[1440];
	uint8_t    *out = malloc(vs_block_bound(1440));

	rng_state = 12;
	printf("\nnon-decimal doubles by shape: 10 series x 1 day each, bytes/point\n");
	printf("  %-34s %10s %10s %10s %10s\n", "shape", "chosen", "XOR", "bits", "raw");
	for (int shape = 0; shape < 7; shape++)
	{
		size_t		total[4] = {0, 0, 0, 0};

		for (int s = 0; s < 10; s++)
		{
			double		levels[5];
			double		state = 0;

			for (int j = 0; j < 5; j++)
				levels[j] = random01() * 100;
			for (int k = 0; k < 1440; k++)
			{
				ts[k] = pg_ts(T0_UNIX + 60 * k);
				dv[k] = shape_value(shape, k, &state, levels);
			}
			for (int m = 0; m < 4; m++)
			{
				VsBlockOptions o = {VS_AUTO, VS_AUTO, VS_AUTO, VS_AUTO, modes[m], VS_AUTO};

				total[m] += vs_block_encode_opt(ts, is_int, NULL, dv, 1440, out, &o);
			}
		}
		printf("  %-34s %10.3f %10.3f %10.3f %10.3f\n", names[shape],
			   total[0] / 14400.0, total[1] / 14400.0, total[2] / 14400.0,
			   total[3] / 14400.0);
	}
	free(out);
}

/* main runs the data sets (or the one named) and the double shapes */
int
main(int argc, char **argv)
{
	int			runs = argc > 1 ? atoi(argv[1]) : 5;
	const char *only_set = argc > 2 ? argv[2] : NULL;
	int			only = argc > 3 ? atoi(argv[3]) : -1;
	Dataset    *(*makers[]) (void) = {
		make_bench, make_demo, make_demo_days, make_counters,
		make_int_gauges, make_jittered, make_mixed, make_rates
	};

	if (runs < 1)
		runs = 1;
	printf("block codec benchmark: bytes a point (a heap row is ~89), decode and encode\n"
		   "speed in millions of points a second, single thread, best of %d runs\n", runs);
	for (size_t i = 0; i < sizeof(makers) / sizeof(makers[0]); i++)
	{
		Dataset    *d = makers[i] ();

		if (only_set == NULL || strcmp(only_set, d->name) == 0)
			run_dataset(d, runs, only);
		free(d->blocks);
		free(d->ts);
		free(d->is_int);
		free(d->iv);
		free(d->dv);
		free(d);
	}
	if (only_set == NULL || strcmp(only_set, "shapes") == 0)
		double_shapes();
	return 0;
}
