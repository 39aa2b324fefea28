/*
 * fuzz_route.c
 *	  Request routing (src/daemon/http.c and router.c): the input is a
 *	  method, a NUL, then a URL as libmicrohttpd hands it over (path and
 *	  query string).  The path is normalized as on_request does, then
 *	  routed as refuse() does; a route must match the path it was found
 *	  for, and a normalized path holds no '?' and no trailing '/'.  The URL
 *	  also goes through on_uri, libmicrohttpd's URI callback, with a
 *	  connection-memory taken from the input: a query it cuts had more
 *	  parameters than fit and is cut at its '?'; any other URL is left as
 *	  it was.
 */
#include "../../src/daemon/http.c"

#include <assert.h>

#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *method;
	char	   *url;
	char	   *path;
	const VsRoute *route;
	size_t		n;

	fz_split(data, size, &method, &url);
	{
		static VsConfig cfg;
		VsRequest  *r;
		char	   *copy = strdup(url);

		/* 32 kB to 1 MB, from the input's first byte */
		cfg.connection_memory = 32768L << (size > 0 ? data[0] % 6 : 0);
		config = &cfg;
		r = on_uri(NULL, copy, NULL);
		assert(r != NULL && r->path != NULL && !r->started);
		if (r->query_params > 0)
		{
			assert(r->query_params > r->query_cap);
			assert(strchr(copy, '?') != NULL && strchr(copy, '?')[1] == '\0');
			assert(strncmp(copy, url, strlen(copy)) == 0);
		}
		else
			assert(strcmp(copy, url) == 0);
		free(r->path);
		free(r);
		free(copy);
	}
	path = normalize_path(url);
	n = strlen(path);
	assert(strchr(path, '?') == NULL);
	assert(n <= 1 || path[n - 1] != '/');
	/* the path is the URL's, after the scheme and host of an absolute URL */
	assert(strncmp(path, origin_form(url), n) == 0 || strcmp(path, "/") == 0);
	route = router_find(path);
	if (route != NULL)
	{
		unsigned	bit = router_method_bit(method);

		assert(route->prefix ? strncmp(route->path, path, strlen(route->path)) == 0
			   : strcmp(route->path, path) == 0);
		assert(route->fn != NULL && route->error != NULL && route->allow != NULL);
		/*
		 * every method a route takes is named in its Allow header, but for
		 * a route taking them all: its handler answers 405 itself, after
		 * the credentials (vScope's, so that a caller without a token
		 * learns nothing)
		 */
		if (bit != 0 && (route->methods & bit) != 0 && bit != VS_M_HEAD &&
			route->methods != VS_M_ALL)
			assert(strstr(route->allow, method) != NULL);
	}
	free(path);
	free(method);
	free(url);
	return 0;
}
