/*-------------------------------------------------------------------------
 *
 * codec.h
 *	  The compressed block codec: the points of one series over at most one
 *	  UTC day, encoded into one byte string and decoded back bit for bit.
 *
 *	  Pure C99 with no PostgreSQL header and no allocation: the caller owns
 *	  every buffer, so the codec can be unit-tested, fuzzed and benchmarked
 *	  on its own (test/codec, bench/codec).  The format is described byte by
 *	  byte in docs/codec.md.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSCOPE_CODEC_H
#define VSCOPE_CODEC_H

#include <stddef.h>
#include <stdint.h>

/*
 * The most points a block may hold: 1,048,576, about twelve a second for a
 * day.  A header claiming more is corrupt, so a caller sizing its arrays
 * from vs_block_npoints() never allocates more than 25 MB for them.
 */
#define VS_BLOCK_MAX_POINTS (1 << 20)

/* the format version written in the first byte of every block */
#define VS_BLOCK_VERSION 1

/*
 * The largest encoded size of a block of n points (0 <= n <=
 * VS_BLOCK_MAX_POINTS), whatever the points: the capacity the caller gives
 * vs_block_encode().  About 16 bytes a point plus a little; 0 for an n out
 * of range.
 */
extern size_t vs_block_bound(int n);

/*
 * Encodes n points into out, whose capacity is at least vs_block_bound(n).
 * ts[] is strictly increasing (microseconds, any int64).  Point i is the
 * int64 ivalue[i] when is_int[i] != 0, else the double value[i], whatever
 * its bits (-0.0, subnormals, infinities, NaN payloads are all kept).  The
 * array not used by a point is not read for it.  Returns the bytes written,
 * or 0 when the input is invalid: n out of range, or ts not strictly
 * increasing.
 */
extern size_t vs_block_encode(const int64_t *ts, const uint8_t *is_int,
							  const int64_t *ivalue, const double *value,
							  int n, uint8_t *out);

/*
 * The number of points a block claims in its header, or -1 when the header
 * is not a valid one (too short, unknown version, count out of range).  The
 * rest of the block is not checked: vs_block_decode() does that.
 */
extern int	vs_block_npoints(const uint8_t *data, size_t len);

/*
 * Decodes the block data[0..len) into arrays of vs_block_npoints(data, len)
 * entries.  For an int point is_int[i] = 1, ivalue[i] is the int64 and
 * value[i] = (double) ivalue[i]; for a double point is_int[i] = 0, value[i]
 * has the exact bits encoded and ivalue[i] = 0.  Returns the number of
 * points, or -1 with *err set to a static message when the block is corrupt
 * or truncated.  Whatever the bytes, it reads nothing outside data[0..len),
 * writes nothing past the header's count of entries, and a successful
 * decode always yields strictly increasing timestamps.  On error the
 * arrays hold garbage.
 */
extern int	vs_block_decode(const uint8_t *data, size_t len, int64_t *ts,
							uint8_t *is_int, int64_t *ivalue, double *value,
							const char **err);

/*
 * For tests and benchmarks: the encoder's choices, forced.  Each field is
 * VS_AUTO (-1) to let the encoder pick the smallest, as vs_block_encode()
 * does for all of them, or one fixed choice (a value out of range makes
 * the encoder return 0).  Every block so made is a valid block that
 * vs_block_decode() reads.
 */
#define VS_AUTO (-1)

/* how the doubles of a block are encoded */
#define VS_DOUBLES_DECIMAL 0	/* m / 10^k mantissas, when all values allow it */
#define VS_DOUBLES_XOR 1		/* Gorilla XOR of consecutive values */
#define VS_DOUBLES_RAW 2		/* 8 bytes each */
#define VS_DOUBLES_BITS 3		/* the bit patterns as an int stream */

typedef struct VsBlockOptions
{
	int			ts_order;		/* timestamps: 0 (values), 1 (deltas) or
								 * 2 (delta-of-deltas) */
	int			value_order;	/* int values, decimal mantissas, double bit
								 * patterns: 0, 1, 2 */
	int			frame_log2;		/* frame of 2^frame_log2 residuals, 4..8 */
	int			frame_base;		/* 0: residuals zigzagged; 1: each frame
								 * stores its minimum and the offsets */
	int			doubles;		/* VS_DOUBLES_*; DECIMAL falls back on the
								 * others when the values are not all
								 * decimal */
	int			gcd;			/* 0: residuals are not divided by their
								 * GCD */
} VsBlockOptions;

/* vs_block_encode() with some choices forced (opt NULL: all automatic) */
extern size_t vs_block_encode_opt(const int64_t *ts, const uint8_t *is_int,
								  const int64_t *ivalue, const double *value,
								  int n, uint8_t *out,
								  const VsBlockOptions *opt);

/*
 * Samples blocks (Ceilometer): the same format under version 2, where two
 * points may share a timestamp (the timestamps are non-decreasing rather
 * than strictly increasing: samples at one instant, in the order of their
 * sequence numbers).  Each function is its vs_block_* namesake otherwise;
 * a block of the other version is refused as corrupt.
 */
#define VS_SAMPLES_VERSION 2

extern size_t vs_samples_encode(const int64_t *ts, const uint8_t *is_int,
								const int64_t *ivalue, const double *value,
								int n, uint8_t *out);
extern size_t vs_samples_encode_opt(const int64_t *ts, const uint8_t *is_int,
									const int64_t *ivalue, const double *value,
									int n, uint8_t *out,
									const VsBlockOptions *opt);
extern int	vs_samples_npoints(const uint8_t *data, size_t len);
extern int	vs_samples_decode(const uint8_t *data, size_t len, int64_t *ts,
							  uint8_t *is_int, int64_t *ivalue, double *value,
							  const char **err);

/*
 * Int columns: ncols sequences of n int64 each (a samples block's
 * sequence numbers and recorded_at offsets), each an int stream planned on
 * its own, behind a header: version VS_INTS_VERSION, n, ncols.
 * vs_ints_bound(n, ncols) is the capacity to give vs_ints_encode (0 for
 * arguments out of range, for which the encoder returns 0 too);
 * vs_ints_shape gives n (and *ncols), -1 for a bad header; vs_ints_decode
 * fills cols[0..ncols) with n values each and returns n, or -1 with *err
 * when the bytes are corrupt or hold another number of columns or values
 * (it never writes more than n values a column).
 */
#define VS_INTS_VERSION 1
#define VS_INTS_MAX_COLUMNS 8

extern size_t vs_ints_bound(int n, int ncols);
extern size_t vs_ints_encode(const int64_t *const *cols, int ncols, int n, uint8_t *out);
extern int	vs_ints_shape(const uint8_t *data, size_t len, int *ncols);
extern int	vs_ints_decode(const uint8_t *data, size_t len, int64_t *const *cols,
						   int ncols, int n, const char **err);

#endif							/* VSCOPE_CODEC_H */
