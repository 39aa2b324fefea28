/*-------------------------------------------------------------------------
 *
 * alt_varint.c
 *	  A rejected alternative to the codec's bit-packed frames, kept for the
 *	  benchmark: the same residuals (timestamps as delta-of-deltas of
 *	  deltas divided by their GCD, int values and decimal mantissas as
 *	  deltas) written as one zigzag LEB128 varint each.  Doubles that are
 *	  not decimal are 8 raw bytes.  Blocks mixing ints and doubles are not
 *	  handled (the benchmark's data has none).
 *
 *-------------------------------------------------------------------------
 */
#include "alt_varint.h"

#include <string.h>

#define SIGN_BIT ((uint64_t) 1 << 63)

/* zz maps a two's complement int64 to an unsigned one near zero */
static uint64_t
zz(uint64_t s)
{
	return (s << 1) ^ (0 - (s >> 63));
}

/* unzz is the inverse of zz */
static inline uint64_t
unzz(uint64_t u)
{
	return (u >> 1) ^ (0 - (u & 1));
}

/* put writes v as a varint */
static uint8_t *
put(uint8_t *p, uint64_t v)
{
	while (v >= 0x80)
	{
		*p++ = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t) v;
	return p;
}

/* get reads a varint, checking the end; NULL when truncated */
static inline const uint8_t *
get(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	uint64_t	x = 0;

	if (end - p >= 10)
	{
		for (int shift = 0; shift < 70; shift += 7)
		{
			uint64_t	b = *p++;

			x |= (b & 0x7f) << shift;
			if (!(b & 0x80))
			{
				*v = x;
				return p;
			}
		}
		return NULL;
	}
	for (int shift = 0; shift < 70 && p < end; shift += 7)
	{
		uint64_t	b = *p++;

		x |= (b & 0x7f) << shift;
		if (!(b & 0x80))
		{
			*v = x;
			return p;
		}
	}
	return NULL;
}

/* gcd is the greatest common divisor */
static uint64_t
gcd(uint64_t a, uint64_t b)
{
	while (b)
	{
		uint64_t	t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* dec_k finds the decimal exponent of all the values, or -1 */
static int
dec_k(const double *v, int n, int64_t *m)
{
	for (int k = 0; k <= 15; k++)
	{
		double		p = 1;
		int			ok = 1;

		for (int j = 0; j < k; j++)
			p *= 10;
		for (int i = 0; i < n && ok; i++)
		{
			double		x = v[i] * p;
			int64_t		c;
			double		back;

			if (!(x > -9007199254740992.0 && x < 9007199254740992.0))
				return -1;
			c = (int64_t) (x < 0 ? x - 0.5 : x + 0.5);
			back = (double) c / p;
			if (memcmp(&back, &v[i], 8) != 0)
				ok = 0;
			m[i] = c;
		}
		if (ok)
			return k;
	}
	return -1;
}

/* alt_varint_encode encodes a block; scratch has n entries */
size_t
alt_varint_encode(const int64_t *ts, const uint8_t *is_int,
				  const int64_t *iv, const double *dv, int n,
				  uint8_t *out, int64_t *scratch)
{
	uint8_t    *p = out;
	uint64_t	g = 0;
	int			ni = 0;
	int			k;

	p = put(p, (uint64_t) n);
	if (n == 0)
		return p - out;
	p = put(p, zz((uint64_t) ts[0]));
	for (int i = 1; i < n; i++)
		g = gcd(g, (uint64_t) ts[i] - (uint64_t) ts[i - 1]);
	if (n >= 2)
	{
		uint64_t	prev = ((uint64_t) ts[1] - (uint64_t) ts[0]) / g;

		p = put(p, g);
		p = put(p, prev);
		for (int i = 2; i < n; i++)
		{
			uint64_t	q = ((uint64_t) ts[i] - (uint64_t) ts[i - 1]) / g;

			p = put(p, zz(q - prev));
			prev = q;
		}
	}
	for (int i = 0; i < n; i++)
		ni += is_int[i] != 0;
	if (ni == n)
	{
		*p++ = 0;
		p = put(p, zz((uint64_t) iv[0]));
		for (int i = 1; i < n; i++)
			p = put(p, zz((uint64_t) iv[i] - (uint64_t) iv[i - 1]));
	}
	else if (ni == 0 && (k = dec_k(dv, n, scratch)) >= 0)
	{
		*p++ = 1;
		*p++ = (uint8_t) k;
		p = put(p, zz((uint64_t) scratch[0]));
		for (int i = 1; i < n; i++)
			p = put(p, zz((uint64_t) scratch[i] - (uint64_t) scratch[i - 1]));
	}
	else if (ni == 0)
	{
		*p++ = 2;
		memcpy(p, dv, 8 * (size_t) n);
		p += 8 * (size_t) n;
	}
	else
		return 0;
	return p - out;
}

/* alt_varint_decode decodes a block into arrays of n entries; -1 if bad */
int
alt_varint_decode(const uint8_t *data, size_t len, int64_t *ts,
				  uint8_t *is_int, int64_t *iv, double *dv)
{
	static const double p10[16] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
	1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
	const uint8_t *p = data;
	const uint8_t *end = data + len;
	uint64_t	v;
	uint64_t	g;
	uint64_t	q;
	uint64_t	t;
	int			n;

	if ((p = get(p, end, &v)) == NULL)
		return -1;
	n = (int) v;
	if (n == 0)
		return 0;
	if ((p = get(p, end, &v)) == NULL)
		return -1;
	t = unzz(v);
	ts[0] = (int64_t) t;
	if (n >= 2)
	{
		if ((p = get(p, end, &g)) == NULL || (p = get(p, end, &q)) == NULL)
			return -1;
		t += q * g;
		ts[1] = (int64_t) t;
		for (int i = 2; i < n; i++)
		{
			if ((p = get(p, end, &v)) == NULL)
				return -1;
			q += unzz(v);
			t += q * g;
			ts[i] = (int64_t) t;
		}
	}
	if (p >= end)
		return -1;
	switch (*p++)
	{
		case 0:
			{
				uint64_t	x = 0;

				for (int i = 0; i < n; i++)
				{
					if ((p = get(p, end, &v)) == NULL)
						return -1;
					x += unzz(v);
					iv[i] = (int64_t) x;
					dv[i] = (double) iv[i];
				}
				memset(is_int, 1, n);
				break;
			}
		case 1:
			{
				uint64_t	x = 0;
				double		d;

				if (p >= end || *p > 15)
					return -1;
				d = p10[*p++];
				for (int i = 0; i < n; i++)
				{
					if ((p = get(p, end, &v)) == NULL)
						return -1;
					x += unzz(v);
					dv[i] = (double) (int64_t) x / d;
				}
				memset(iv, 0, 8 * (size_t) n);
				memset(is_int, 0, n);
				break;
			}
		case 2:
			if ((size_t) (end - p) < 8 * (size_t) n)
				return -1;
			memcpy(dv, p, 8 * (size_t) n);
			p += 8 * (size_t) n;
			memset(iv, 0, 8 * (size_t) n);
			memset(is_int, 0, n);
			break;
		default:
			return -1;
	}
	return p == end ? n : -1;
}
