/*
 * fuzz_lists.c
 *	  Header values the Ceilometer API parses itself
 *	  (src/daemon/api_ceilometer.c): X-Roles and keystone-trusted-addresses
 *	  (in_list, comma-separated, spaces ignored), Accept (wants_xml), and
 *	  the escaping of text into an XML error body (buf_xml_text).  The
 *	  input is a list, a NUL, then an item.  An item found is in the list
 *	  as it was written; escaped text holds no markup and no control
 *	  character XML 1.0 forbids.
 */
#define req_header fuzz_req_header
#include "../../src/daemon/api_ceilometer.c"

#include <assert.h>

#include "fuzz_common.h"

static const char *fz_accept;

const char *
fuzz_req_header(VsRequest *r, const char *name)
{
	return strcasecmp(name, "Accept") == 0 ? fz_accept : NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *list;
	char	   *item;
	VsBuf		b = {0};

	fz_split(data, size, &list, &item);
	if (in_list(list, item, false))
		assert(strstr(list, item) != NULL);
	if (in_list(list, item, true))
		assert(strcasestr(list, item) != NULL || item[0] == '\0');
	(void) in_list(NULL, item, true);
	fz_accept = list;
	(void) wants_xml(NULL);
	buf_xml_text(&b, list);
	for (size_t i = 0; i < b.len; i++)
	{
		unsigned char c = (unsigned char) b.data[i];

		assert(c != '<' && c != '>');
		assert(c >= 0x20 || c == '\t' || c == '\n' || c == '\r');
	}
	free(b.data);
	free(list);
	free(item);
	return 0;
}
