/*
 * udp.c
 *	  The listener for Ceilometer's udp publisher (udp://host:4952 in
 *	  pipeline.yaml, what Ceilometer's old collector received): one msgpack
 *	  map per datagram, a sample under Ceilometer's storage names
 *	  (counter_name, counter_type, counter_unit, counter_volume, user_id,
 *	  project_id, resource_id, timestamp, resource_metadata, source,
 *	  message_id, monotonic_time, message_signature).
 *
 *	  With ceilometer-udp-secret set, a datagram is kept only when its
 *	  message_signature is the one Ceilometer computes with that secret
 *	  (ceilometer.publisher.utils.compute_signature, reproduced here: an
 *	  HMAC-SHA256 over the sample's keys and values in key order, nested
 *	  maps flattened to "a:b" keys, each value as Python's str() writes it;
 *	  a list's strings as Python writes bytes, since Ceilometer turns them
 *	  into bytes first).  Without a secret nothing is checked, as
 *	  Ceilometer's verify_signature does.  Datagrams that cannot be decoded
 *	  or whose signature is wrong are dropped and counted (/api/stats).
 *
 *	  The samples are batched, UDP_BATCH of them or what came within
 *	  UDP_LINGER_MS of the first, into one call of
 *	  vscope.ceilometer_publish_samples() in one transaction, as the
 *	  samples of the http publisher are: duplicates (by message_id) are
 *	  skipped, bad samples refused one by one and logged.  Where they go:
 *	  each to its project's tenant (made when new), those without a project
 *	  to ceilometer-udp-tenant; with identity-headers = keystone all to
 *	  keystone-tenant.  The publisher sends no credentials: the listener
 *	  binds to loopback unless told otherwise.
 */
#include "udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "auth.h"
#include "http.h"
#include "log.h"
#include "stats.h"

#define UDP_BATCH 1000
#define UDP_LINGER_MS 200
#define UDP_MAX_DATAGRAM 65536
#define UDP_MAX_DEPTH 32
#define UDP_RCVBUF (8 * 1024 * 1024)

/* ---- msgpack ---- */

typedef enum
{
	MP_NIL, MP_BOOL, MP_INT, MP_UINT, MP_FLOAT, MP_STR, MP_BIN, MP_ARRAY, MP_MAP
} MpType;

typedef struct MpNode
{
	MpType		type;
	bool		b;
	int64_t		i;
	uint64_t	u;
	double		f;
	const unsigned char *s;		/* str and bin: into the datagram */
	uint32_t	len;			/* str and bin: bytes; array: items; map: pairs */
	struct MpNode *items;		/* array: len items; map: key, value, key, ... */
} MpNode;

typedef struct MpReader
{
	const unsigned char *p;
	const unsigned char *end;
	const char *error;
} MpReader;

static void
mp_free(MpNode *n)
{
	if (n->type == MP_ARRAY || n->type == MP_MAP)
	{
		uint32_t	k = n->type == MP_MAP ? 2 * n->len : n->len;

		for (uint32_t i = 0; i < k && n->items != NULL; i++)
			mp_free(&n->items[i]);
		free(n->items);
	}
	n->items = NULL;
}

static bool
mp_need(MpReader *r, size_t n)
{
	if ((size_t) (r->end - r->p) < n)
	{
		r->error = "truncated msgpack";
		return false;
	}
	return true;
}

static uint64_t
mp_be(const unsigned char *p, int n)
{
	uint64_t	v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* mp_read decodes one value into *n; false (r->error set) when it cannot */
static bool
mp_read(MpReader *r, MpNode *n, int depth)
{
	unsigned	c;
	uint64_t	count = 0;
	int			w;

	memset(n, 0, sizeof(*n));
	if (depth > UDP_MAX_DEPTH)
	{
		r->error = "msgpack nested too deeply";
		return false;
	}
	if (!mp_need(r, 1))
		return false;
	c = *r->p++;
	if (c <= 0x7f)
	{
		n->type = MP_INT;
		n->i = c;
		return true;
	}
	if (c >= 0xe0)
	{
		n->type = MP_INT;
		n->i = (int8_t) c;
		return true;
	}
	if ((c & 0xe0) == 0xa0 || c == 0xd9 || c == 0xda || c == 0xdb ||
		c == 0xc4 || c == 0xc5 || c == 0xc6)
	{
		uint64_t	len;

		n->type = (c >= 0xc4 && c <= 0xc6) ? MP_BIN : MP_STR;
		w = (c & 0xe0) == 0xa0 ? 0 : (c == 0xd9 || c == 0xc4) ? 1 : (c == 0xda || c == 0xc5) ? 2 : 4;
		if (!mp_need(r, w))
			return false;
		len = w == 0 ? (c & 0x1f) : mp_be(r->p, w);
		r->p += w;
		if (!mp_need(r, len))
			return false;
		n->s = r->p;
		n->len = (uint32_t) len;
		r->p += len;
		return true;
	}
	switch (c)
	{
		case 0xc0:
			n->type = MP_NIL;
			return true;
		case 0xc2:
		case 0xc3:
			n->type = MP_BOOL;
			n->b = c == 0xc3;
			return true;
		case 0xcc:
		case 0xcd:
		case 0xce:
		case 0xcf:
			w = 1 << (c - 0xcc);
			if (!mp_need(r, w))
				return false;
			n->u = mp_be(r->p, w);
			r->p += w;
			if (n->u <= INT64_MAX)
			{
				n->type = MP_INT;
				n->i = (int64_t) n->u;
			}
			else
				n->type = MP_UINT;
			return true;
		case 0xd0:
		case 0xd1:
		case 0xd2:
		case 0xd3:
			w = 1 << (c - 0xd0);
			if (!mp_need(r, w))
				return false;
			{
				uint64_t	v = mp_be(r->p, w);

				/* sign-extend from w bytes */
				if (w < 8 && (v & ((uint64_t) 1 << (w * 8 - 1))))
					v |= ~(((uint64_t) 1 << (w * 8)) - 1);
				n->type = MP_INT;
				n->i = (int64_t) v;
			}
			r->p += w;
			return true;
		case 0xca:
		case 0xcb:
			w = c == 0xca ? 4 : 8;
			if (!mp_need(r, w))
				return false;
			n->type = MP_FLOAT;
			if (w == 4)
			{
				uint32_t	bits = (uint32_t) mp_be(r->p, 4);
				float		f;

				memcpy(&f, &bits, 4);
				n->f = f;
			}
			else
			{
				uint64_t	bits = mp_be(r->p, 8);

				memcpy(&n->f, &bits, 8);
			}
			r->p += w;
			return true;
		default:
			break;
	}
	if ((c & 0xf0) == 0x90 || c == 0xdc || c == 0xdd)
	{
		n->type = MP_ARRAY;
		w = (c & 0xf0) == 0x90 ? 0 : c == 0xdc ? 2 : 4;
		if (!mp_need(r, w))
			return false;
		count = w == 0 ? (c & 0x0f) : mp_be(r->p, w);
		r->p += w;
	}
	else if ((c & 0xf0) == 0x80 || c == 0xde || c == 0xdf)
	{
		n->type = MP_MAP;
		w = (c & 0xf0) == 0x80 ? 0 : c == 0xde ? 2 : 4;
		if (!mp_need(r, w))
			return false;
		count = w == 0 ? (c & 0x0f) : mp_be(r->p, w);
		r->p += w;
	}
	else
	{
		r->error = "a msgpack type Ceilometer does not write (an extension, or 0xc1)";
		return false;
	}
	{
		/* every item takes a byte at least: no more than what is left */
		uint64_t	k = n->type == MP_MAP ? 2 * count : count;

		if (k > (uint64_t) (r->end - r->p))
		{
			r->error = "truncated msgpack";
			return false;
		}
		n->len = (uint32_t) count;
		if (k == 0)
			return true;
		n->items = calloc(k, sizeof(MpNode));
		if (n->items == NULL)
		{
			r->error = "out of memory";
			return false;
		}
		for (uint64_t i = 0; i < k; i++)
			if (!mp_read(r, &n->items[i], depth + 1))
				return false;
	}
	return true;
}

/* mp_get: the value of a str key of a map, or NULL */
static MpNode *
mp_get(MpNode *map, const char *key)
{
	size_t		n = strlen(key);

	for (uint32_t i = 0; i < map->len; i++)
	{
		MpNode	   *k = &map->items[2 * i];

		if (k->type == MP_STR && k->len == n && memcmp(k->s, key, n) == 0)
			return &map->items[2 * i + 1];
	}
	return NULL;
}

/* ---- Python's str() and repr(), for the signature ---- */

/* py_float: repr(float) in Python 3: the shortest digits that read back, as Python lays them out */
static void
py_float(VsBuf *b, double v)
{
	char		e[40];
	char		digits[24];
	int			nd = 0;
	int			exp10;
	int			decpt;
	const char *p;

	if (isnan(v))
	{
		buf_append(b, "nan", 3);
		return;
	}
	if (isinf(v))
	{
		buf_append(b, v < 0 ? "-inf" : "inf", v < 0 ? 4 : 3);
		return;
	}
	for (int prec = 1; prec <= 17; prec++)
	{
		snprintf(e, sizeof(e), "%.*e", prec - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	/* e is [-]d[.ddd]e[+-]xx */
	p = e;
	if (*p == '-')
	{
		buf_append(b, "-", 1);
		p++;
	}
	for (; *p != 'e'; p++)
		if (*p >= '0' && *p <= '9' && nd < (int) sizeof(digits) - 1)
			digits[nd++] = *p;
	digits[nd] = '\0';
	exp10 = atoi(p + 1);
	/* trailing zeros are not digits Python writes */
	while (nd > 1 && digits[nd - 1] == '0')
		digits[--nd] = '\0';
	decpt = exp10 + 1;
	if (decpt <= -4 || decpt > 16)
	{
		buf_append(b, digits, 1);
		if (nd > 1)
		{
			buf_append(b, ".", 1);
			buf_append(b, digits + 1, nd - 1);
		}
		buf_printf(b, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
	}
	else if (decpt <= 0)
	{
		buf_append(b, "0.", 2);
		for (int i = 0; i < -decpt; i++)
			buf_append(b, "0", 1);
		buf_append(b, digits, nd);
	}
	else if (decpt >= nd)
	{
		buf_append(b, digits, nd);
		for (int i = nd; i < decpt; i++)
			buf_append(b, "0", 1);
		buf_append(b, ".0", 2);
	}
	else
	{
		buf_append(b, digits, decpt);
		buf_append(b, ".", 1);
		buf_append(b, digits + decpt, nd - decpt);
	}
}

/*
 * py_quoted: repr() of a bytes (as_bytes) or a str value: Python's choice
 * of quotes, its escapes.  For a str, characters from U+0080 on are taken
 * as printable except the C1 controls, U+00A0 and U+00AD (Python's
 * isprintable() knows the whole Unicode database; Ceilometer's samples
 * hold such a str in a list only when they hold binary data, rarely).
 */
static void
py_quoted(VsBuf *b, const unsigned char *s, size_t len, bool as_bytes)
{
	bool		has_single = memchr(s, '\'', len) != NULL;
	bool		has_double = memchr(s, '"', len) != NULL;
	char		q = has_single && !has_double ? '"' : '\'';

	if (as_bytes)
		buf_append(b, "b", 1);
	buf_append(b, &q, 1);
	for (size_t i = 0; i < len; i++)
	{
		unsigned	c = s[i];

		if (c == (unsigned) q || c == '\\')
		{
			buf_append(b, "\\", 1);
			buf_append(b, (const char *) &s[i], 1);
		}
		else if (c == '\t')
			buf_append(b, "\\t", 2);
		else if (c == '\n')
			buf_append(b, "\\n", 2);
		else if (c == '\r')
			buf_append(b, "\\r", 2);
		else if (c < 0x20 || c == 0x7f || (as_bytes && c >= 0x80))
			buf_printf(b, "\\x%02x", c);
		else if (!as_bytes && c >= 0x80)
		{
			/* one UTF-8 sequence (checked valid before) */
			int			n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
			unsigned	cp = n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);

			for (int k = 1; k < n && i + k < len; k++)
				cp = (cp << 6) | (s[i + k] & 0x3f);
			if ((cp >= 0x80 && cp <= 0xa0) || cp == 0xad)
				buf_printf(b, "\\x%02x", cp);
			else
				buf_append(b, (const char *) &s[i], n);
			i += n - 1;
		}
		else
			buf_append(b, (const char *) &s[i], 1);
	}
	buf_append(b, &q, 1);
}

static int
key_cmp(const void *a, const void *b)
{
	const MpNode *x = *(const MpNode *const *) a;
	const MpNode *y = *(const MpNode *const *) b;

	if (x->type == MP_STR && y->type == MP_STR)
	{
		int			c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);

		return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
	}
	/* integer keys compare as numbers */
	return (x->i > y->i) - (x->i < y->i);
}

/*
 * sorted_keys: the key nodes of a map in Python's sorted() order, or NULL
 * when Python could not sort them (keys of mixed types: Ceilometer could
 * not have signed such a sample either) or they are not str or int
 */
static MpNode **
sorted_keys(const MpNode *map)
{
	MpNode	  **keys;
	MpType		t = map->len > 0 ? map->items[0].type : MP_STR;

	if (t != MP_STR && t != MP_INT)
		return NULL;
	for (uint32_t i = 0; i < map->len; i++)
		if (map->items[2 * i].type != t)
			return NULL;
	keys = malloc(sizeof(MpNode *) * (map->len + 1));
	if (keys == NULL)
		return NULL;
	for (uint32_t i = 0; i < map->len; i++)
		keys[i] = &map->items[2 * i];
	qsort(keys, map->len, sizeof(MpNode *), key_cmp);
	return keys;
}

static bool py_repr(VsBuf *b, const MpNode *n, bool decoded);

/* py_str: str(value) of a scalar, as Python writes it */
static bool
py_str(VsBuf *b, const MpNode *n)
{
	switch (n->type)
	{
		case MP_NIL:
			buf_append(b, "None", 4);
			return true;
		case MP_BOOL:
			buf_append(b, n->b ? "True" : "False", n->b ? 4 : 5);
			return true;
		case MP_INT:
			buf_printf(b, "%lld", (long long) n->i);
			return true;
		case MP_UINT:
			buf_printf(b, "%llu", (unsigned long long) n->u);
			return true;
		case MP_FLOAT:
			py_float(b, n->f);
			return true;
		case MP_STR:
			buf_append(b, (const char *) n->s, n->len);
			return true;
		case MP_BIN:
			py_quoted(b, n->s, n->len, true);
			return true;
		default:
			return py_repr(b, n, false);
	}
}

/*
 * py_repr: repr() of a value inside a list, after Ceilometer's
 * decode_unicode() has turned its str into bytes and its bytes into str
 * (decoded: that has happened) and sorted the keys of its maps
 */
static bool
py_repr(VsBuf *b, const MpNode *n, bool decoded)
{
	switch (n->type)
	{
		case MP_STR:
			py_quoted(b, n->s, n->len, decoded);
			return true;
		case MP_BIN:
			py_quoted(b, n->s, n->len, !decoded);
			return true;
		case MP_ARRAY:
			buf_append(b, "[", 1);
			for (uint32_t i = 0; i < n->len; i++)
			{
				if (i > 0)
					buf_append(b, ", ", 2);
				if (!py_repr(b, &n->items[i], decoded))
					return false;
			}
			buf_append(b, "]", 1);
			return true;
		case MP_MAP:
			{
				MpNode	  **keys = sorted_keys(n);

				if (keys == NULL)
					return false;
				buf_append(b, "{", 1);
				for (uint32_t i = 0; i < n->len; i++)
				{
					if (i > 0)
						buf_append(b, ", ", 2);
					if (!py_repr(b, keys[i], decoded) || (buf_append(b, ": ", 2), !py_repr(b, keys[i] + 1, decoded)))
					{
						free(keys);
						return false;
					}
				}
				buf_append(b, "}", 1);
				free(keys);
				return true;
			}
		default:
			return py_str(b, n);
	}
}

/*
 * sign_pairs appends what Ceilometer's recursive_keypairs() yields for a
 * map, name then str(value) for each, in key order; nested maps as
 * "prefix:key" (message_signature itself left out at the top)
 */
static bool
sign_pairs(VsBuf *b, const MpNode *map, const char *prefix, size_t plen)
{
	MpNode	  **keys = sorted_keys(map);
	bool		ok = true;

	if (keys == NULL)
		return false;
	for (uint32_t i = 0; i < map->len && ok; i++)
	{
		const MpNode *k = keys[i];
		const MpNode *v = k + 1;
		VsBuf		name = {0};

		if (plen > 0)
		{
			buf_append(&name, prefix, plen);
			buf_append(&name, ":", 1);
		}
		py_str(&name, k);
		if (plen == 0 && name.len == 17 && memcmp(name.data, "message_signature", 17) == 0)
		{
			free(name.data);
			continue;
		}
		if (v->type == MP_MAP)
			ok = sign_pairs(b, v, name.data, name.len);
		else
		{
			buf_append(b, name.data, name.len);
			ok = v->type == MP_ARRAY ? py_repr(b, v, true) : py_str(b, v);
		}
		free(name.data);
	}
	free(keys);
	return ok;
}

/*
 * udp_signature: Ceilometer's signature of a sample (a msgpack map) with
 * this secret, as 64 lower-case hex digits; false when the datagram is no
 * map Ceilometer could have signed
 */
bool
udp_signature(const unsigned char *data, size_t len, const char *secret, char hex[65])
{
	MpReader	r = {data, data + len, NULL};
	MpNode		root;
	VsBuf		b = {0};
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t		maclen = 0;
	bool		ok;

	ok = mp_read(&r, &root, 0) && root.type == MP_MAP && sign_pairs(&b, &root, "", 0);
	mp_free(&root);
	if (ok)
		ok = EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, strlen(secret),
					   (const unsigned char *) (b.data ? b.data : ""), b.len, mac, sizeof(mac), &maclen) != NULL;
	free(b.data);
	if (!ok || maclen != 32)
		return false;
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	return true;
}

/* ---- the sample as the http publisher's JSON ---- */

/* utf8_ok: valid UTF-8 without NUL (what a JSON text in the database may hold) */
static bool
utf8_ok(const unsigned char *s, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		unsigned	c = s[i];
		size_t		n;
		unsigned	cp;

		if (c == 0)
			return false;
		if (c < 0x80)
		{
			i++;
			continue;
		}
		n = (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 0;
		if (n == 0 || i + n >= len)
			return false;
		cp = c & (0x3f >> n);
		for (size_t k = 1; k <= n; k++)
		{
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
			(n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += n + 1;
	}
	return true;
}

static bool
json_str(VsBuf *b, const unsigned char *s, size_t len)
{
	if (!utf8_ok(s, len))
		return false;
	buf_append(b, "\"", 1);
	for (size_t i = 0; i < len; i++)
	{
		unsigned	c = s[i];

		if (c == '"' || c == '\\')
		{
			buf_append(b, "\\", 1);
			buf_append(b, (const char *) &s[i], 1);
		}
		else if (c < 0x20)
			buf_printf(b, "\\u%04x", c);
		else
			buf_append(b, (const char *) &s[i], 1);
	}
	buf_append(b, "\"", 1);
	return true;
}

/* json_value: a decoded value as JSON; non-finite floats as Python writes them */
static bool
json_value(VsBuf *b, const MpNode *n)
{
	switch (n->type)
	{
		case MP_NIL:
			buf_append(b, "null", 4);
			return true;
		case MP_BOOL:
			buf_append(b, n->b ? "true" : "false", n->b ? 4 : 5);
			return true;
		case MP_INT:
			buf_printf(b, "%lld", (long long) n->i);
			return true;
		case MP_UINT:
			buf_printf(b, "%llu", (unsigned long long) n->u);
			return true;
		case MP_FLOAT:
			if (isnan(n->f))
				buf_append(b, "NaN", 3);
			else if (isinf(n->f))
				buf_append(b, n->f < 0 ? "-Infinity" : "Infinity", n->f < 0 ? 9 : 8);
			else
				py_float(b, n->f);	/* the shortest digits: Python's own */
			return true;
		case MP_STR:
		case MP_BIN:
			return json_str(b, n->s, n->len);
		case MP_ARRAY:
			buf_append(b, "[", 1);
			for (uint32_t i = 0; i < n->len; i++)
			{
				if (i > 0)
					buf_append(b, ",", 1);
				if (!json_value(b, &n->items[i]))
					return false;
			}
			buf_append(b, "]", 1);
			return true;
		case MP_MAP:
			buf_append(b, "{", 1);
			for (uint32_t i = 0; i < n->len; i++)
			{
				const MpNode *k = &n->items[2 * i];

				if (i > 0)
					buf_append(b, ",", 1);
				/* keys as Python's json writes them */
				if (k->type == MP_STR)
				{
					if (!json_str(b, k->s, k->len))
						return false;
				}
				else if (k->type == MP_INT)
					buf_printf(b, "\"%lld\"", (long long) k->i);
				else if (k->type == MP_BOOL || k->type == MP_NIL)
					buf_printf(b, "\"%s\"", k->type == MP_NIL ? "null" : k->b ? "true" : "false");
				else
					return false;
				buf_append(b, ":", 1);
				if (!json_value(b, &n->items[2 * i + 1]))
					return false;
			}
			buf_append(b, "}", 1);
			return true;
	}
	return false;
}

/* the fields of a udp sample and their names in the http publisher's samples */
static const char *const fields[][2] = {
	{"counter_name", "name"}, {"counter_type", "type"}, {"counter_unit", "unit"},
	{"counter_volume", "volume"}, {"user_id", "user_id"}, {"project_id", "project_id"},
	{"resource_id", "resource_id"}, {"timestamp", "timestamp"},
	{"resource_metadata", "resource_metadata"}, {"source", "source"}, {"message_id", "id"},
	{"monotonic_time", "monotonic_time"},
};

/* ---- the listener ---- */

typedef struct Listener
{
	int			fd;
	const char *tenant;			/* the transaction's tenant */
	const char *role;
	const char *routing;
	const char *secret;
	VsBuf		batch;			/* "[sample,sample" */
	int			nbatch;
	struct timespec first;		/* when the batch's first sample came */
	long		dropped;		/* datagrams dropped since the last log line */
	const char *why;			/* the last reason */
	char		peer[INET6_ADDRSTRLEN];
	time_t		logged;
} Listener;

static Listener L = {.fd = -1};
static pthread_t thread;
static volatile bool stopping = false;

/* drop counts a bad datagram; a log line at most every second */
static void
drop(Listener *l, VsUdpResult result, const char *why, const char *peer)
{
	time_t		now = time(NULL);

	stats_udp(result, 1);
	l->dropped++;
	l->why = why;
	snprintf(l->peer, sizeof(l->peer), "%s", peer);
	if (now != l->logged)
	{
		vs_log(LOG_WARN, "udp: %ld datagram(s) dropped, the last from %s: %s", l->dropped, l->peer, l->why);
		l->dropped = 0;
		l->logged = now;
	}
}

/* take decodes and checks one datagram and adds its sample to the batch */
static void
take(Listener *l, const unsigned char *data, size_t len, const char *peer)
{
	MpReader	r = {data, data + len, NULL};
	MpNode		root;
	VsBuf		s = {0};
	bool		ok;

	if (!mp_read(&r, &root, 0) || r.p != r.end || root.type != MP_MAP)
	{
		mp_free(&root);
		drop(l, UDP_UNDECODABLE, r.error ? r.error : r.p != r.end ? "bytes after the msgpack map" : "not a msgpack map", peer);
		return;
	}
	if (l->secret[0] != '\0')
	{
		char		want[65];
		MpNode	   *sig = mp_get(&root, "message_signature");

		if (!udp_signature(data, len, l->secret, want) || sig == NULL || sig->type != MP_STR ||
			sig->len != 64 || CRYPTO_memcmp(sig->s, want, 64) != 0)
		{
			mp_free(&root);
			drop(l, UDP_BAD_SIGNATURE, "its message_signature is not the one ceilometer-udp-secret makes", peer);
			return;
		}
	}
	buf_append(&s, "{", 1);
	ok = true;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]) && ok; i++)
	{
		MpNode	   *v = mp_get(&root, fields[i][0]);

		if (v == NULL)
			continue;
		if (s.len > 1)
			buf_append(&s, ",", 1);
		buf_printf(&s, "\"%s\":", fields[i][1]);
		ok = json_value(&s, v);
	}
	buf_append(&s, "}", 1);
	mp_free(&root);
	if (!ok)
	{
		free(s.data);
		drop(l, UDP_UNDECODABLE, "a value is not valid UTF-8, holds a NUL, or has a key JSON cannot have", peer);
		return;
	}
	if (l->nbatch == 0)
	{
		buf_append(&l->batch, "[", 1);
		clock_gettime(CLOCK_MONOTONIC, &l->first);
	}
	else
		buf_append(&l->batch, ",", 1);
	buf_append(&l->batch, s.data, s.len);
	l->nbatch++;
	free(s.data);
}

static long
json_count(json_object *a, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(a, key, &v) ? (long) json_object_get_int64(v) : 0;
}

/* flush stores the batch in one transaction */
static void
flush(Listener *l)
{
	VsTxn		t;
	PGresult   *res;

	if (l->nbatch == 0)
		return;
	buf_append(&l->batch, "]", 1);
	if (!txn_begin_trusted(NULL, &t, l->tenant, l->role, false))
	{
		vs_log(LOG_ERROR, "udp: %d sample(s) lost: %s%s%s", l->nbatch, t.message ? t.message : "database error",
			   t.detail ? ": " : "", t.detail ? t.detail : "");
		stats_udp(UDP_FAILED, l->nbatch);
	}
	else
	{
		const char *params[2] = {l->batch.data, l->routing};

		res = txn_exec(&t, "SELECT vscope.ceilometer_publish_samples($1, $2)::text", 2, params);
		if (res == NULL || !txn_commit(&t))
		{
			char	   *m = log_safe(t.message ? t.message : "commit failed");

			if (t.status == 400)
			{
				vs_log(LOG_WARN, "udp %s: %s", l->tenant, m);
				stats_udp(UDP_REJECTED, l->nbatch);
			}
			else
			{
				vs_log(LOG_ERROR, "udp: %d sample(s) lost: %s", l->nbatch, m);
				stats_udp(UDP_FAILED, l->nbatch);
			}
			free(m);
			if (res != NULL)
				PQclear(res);
		}
		else
		{
			const char *out = PQgetvalue(res, 0, 0);
			json_object *a = json_tokener_parse(out);

			if (a != NULL)
			{
				json_object *rej;

				stats_udp(UDP_STORED, json_count(a, "stored"));
				stats_udp(UDP_DUPLICATE, json_count(a, "duplicates"));
				if (json_object_object_get_ex(a, "rejected", &rej))
					stats_udp(UDP_REJECTED, (long) json_object_array_length(rej));
				json_object_put(a);
			}
			ceilometer_log_rejected("udp", l->tenant, "sample", out);
			PQclear(res);
		}
		txn_end(&t);
	}
	txn_free(&t);
	vs_log(LOG_DEBUG, "udp: %d sample(s)", l->nbatch);
	l->batch.len = 0;
	l->nbatch = 0;
}

static long
ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

static void *
receive_loop(void *arg)
{
	Listener   *l = arg;
	unsigned char *data = malloc(UDP_MAX_DATAGRAM);

	if (data == NULL)
	{
		vs_log(LOG_CRIT, "udp: out of memory");
		return NULL;
	}
	while (!stopping)
	{
		struct pollfd p = {.fd = l->fd, .events = POLLIN};
		int			timeout = l->nbatch == 0 ? 500 : (int) (UDP_LINGER_MS - ms_since(&l->first));

		if (timeout < 0)
			timeout = 0;
		if (poll(&p, 1, timeout) > 0)
		{
			/* what the socket holds, up to a batch */
			while (l->nbatch < UDP_BATCH)
			{
				struct sockaddr_storage sa;
				socklen_t	salen = sizeof(sa);
				ssize_t		n = recvfrom(l->fd, data, UDP_MAX_DATAGRAM, MSG_DONTWAIT | MSG_TRUNC,
										 (struct sockaddr *) &sa, &salen);
				char		peer[INET6_ADDRSTRLEN];

				if (n < 0)
					break;
				sockaddr_text((struct sockaddr *) &sa, peer, sizeof(peer));
				if (n > UDP_MAX_DATAGRAM)
					drop(l, UDP_UNDECODABLE, "larger than 64 KiB", peer);
				else
					take(l, data, (size_t) n, peer);
			}
		}
		if (l->nbatch >= UDP_BATCH || (l->nbatch > 0 && ms_since(&l->first) >= UDP_LINGER_MS))
			flush(l);
	}
	flush(l);
	free(data);
	return NULL;
}

/* udp_start listens when ceilometer-udp-tenant is set; -1 when it cannot */
int
udp_start(const VsConfig *cfg)
{
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;
	struct sockaddr *addr;
	socklen_t	addrlen;
	int			size = UDP_RCVBUF;
	bool		keystone = strcmp(cfg->identity_headers, "keystone") == 0;

	if (cfg->udp_tenant == NULL || cfg->udp_tenant[0] == '\0')
	{
		vs_log(LOG_INFO, "Ceilometer udp listener off (set ceilometer-udp-tenant to turn it on)");
		return 0;
	}
	L.tenant = keystone ? cfg->keystone_tenant : cfg->udp_tenant;
	L.role = keystone ? "vscope_writer" : "vscope_cloud";
	L.routing = keystone ? "tenant" : "project";
	L.secret = cfg->udp_secret;
	memset(&a4, 0, sizeof(a4));
	memset(&a6, 0, sizeof(a6));
	if (inet_pton(AF_INET, cfg->udp_host, &a4.sin_addr) == 1)
	{
		a4.sin_family = AF_INET;
		a4.sin_port = htons((uint16_t) cfg->udp_port);
		addr = (struct sockaddr *) &a4;
		addrlen = sizeof(a4);
	}
	else if (inet_pton(AF_INET6, cfg->udp_host, &a6.sin6_addr) == 1)
	{
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons((uint16_t) cfg->udp_port);
		addr = (struct sockaddr *) &a6;
		addrlen = sizeof(a6);
	}
	else
	{
		vs_log(LOG_CRIT, "ceilometer-udp-host \"%s\" is not an IPv4 or IPv6 address", cfg->udp_host);
		return -1;
	}
	L.fd = socket(addr->sa_family, SOCK_DGRAM, 0);
	if (L.fd < 0 || bind(L.fd, addr, addrlen) < 0)
		goto fail;
	/* room for what comes while a batch is stored (the system may cap it) */
	setsockopt(L.fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (pthread_create(&thread, NULL, receive_loop, &L) != 0)
		goto fail;
	stats_udp_on();
	if (keystone)
		vs_log(LOG_INFO, "Ceilometer udp listener on %s:%d, samples to tenant \"%s\" (keystone mode), signatures %s",
			   cfg->udp_host, cfg->udp_port, L.tenant, cfg->udp_secret[0] ? "checked" : "not checked");
	else
		vs_log(LOG_INFO, "Ceilometer udp listener on %s:%d, samples to their projects' tenants (without a project: \"%s\"), signatures %s",
			   cfg->udp_host, cfg->udp_port, L.tenant, cfg->udp_secret[0] ? "checked" : "not checked");
	return 0;
fail:
	vs_log(LOG_CRIT, "cannot listen for Ceilometer udp samples on %s:%d: %s", cfg->udp_host,
		   cfg->udp_port, strerror(errno));
	if (L.fd >= 0)
		close(L.fd);
	L.fd = -1;
	return -1;
}

/* udp_stop stores what is batched and stops */
void
udp_stop(void)
{
	if (L.fd < 0)
		return;
	stopping = true;
	pthread_join(thread, NULL);
	close(L.fd);
	L.fd = -1;
	free(L.batch.data);
	L.batch.data = NULL;
}
