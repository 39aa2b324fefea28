/*-------------------------------------------------------------------------
 *
 * alt_varint.h
 *	  The varint block format the benchmark compares the codec with.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ALT_VARINT_H
#define ALT_VARINT_H

#include <stddef.h>
#include <stdint.h>

/* encodes a block (no mixed blocks: returns 0); scratch has n entries */
extern size_t alt_varint_encode(const int64_t *ts, const uint8_t *is_int,
								const int64_t *iv, const double *dv, int n,
								uint8_t *out, int64_t *scratch);

/* decodes a block into arrays of n entries; -1 when corrupt */
extern int	alt_varint_decode(const uint8_t *data, size_t len, int64_t *ts,
							  uint8_t *is_int, int64_t *iv, double *dv);

#endif							/* ALT_VARINT_H */
