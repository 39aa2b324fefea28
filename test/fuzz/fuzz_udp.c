/*
 * fuzz_udp.c
 *	  The Ceilometer udp listener's datagram decoder (src/daemon/udp.c:
 *	  msgpack, message_signature, the sample turned into JSON): the input's
 *	  first byte says whether a telemetry secret is set, the rest is one
 *	  datagram, given to take() as receive_loop does.  A sample taken must
 *	  be a JSON object json-c reads back.
 */
#define txn_begin_trusted fuzz_txn_begin_trusted
#include "../../src/daemon/udp.c"

#include <assert.h>

#include "fuzz_common.h"

bool
fuzz_txn_begin_trusted(VsRequest *r, VsTxn *t, const char *tenant, const char *role, bool read_only)
{
	memset(t, 0, sizeof(*t));
	t->status = 503;
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready = false;
	unsigned char *dgram;

	if (!ready)
	{
		log_set_level("crit");
		L.tenant = "fuzz";
		L.role = "vscope_writer";
		L.routing = "project";
		ready = true;
	}
	if (size < 1)
		return 0;
	L.secret = (data[0] & 1) ? "fuzz-telemetry-secret" : "";
	/* a copy of exactly the datagram's bytes, so ASan sees any overread */
	dgram = malloc(size - 1 ? size - 1 : 1);
	memcpy(dgram, data + 1, size - 1);
	take(&L, dgram, size - 1, "fuzz");
	if (L.nbatch > 0)
	{
		json_object *a;

		assert(L.nbatch == 1);
		buf_append(&L.batch, "]", 1);
		a = json_tokener_parse(L.batch.data);
		assert(a != NULL && json_object_is_type(a, json_type_array) &&
			   json_object_array_length(a) == 1 &&
			   json_object_is_type(json_object_array_get_idx(a, 0), json_type_object));
		json_object_put(a);
	}
	free(L.batch.data);
	memset(&L.batch, 0, sizeof(L.batch));
	L.nbatch = 0;
	free(dgram);
	return 0;
}
