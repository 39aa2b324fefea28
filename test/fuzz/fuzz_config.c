/*
 * fuzz_config.c
 *	  vscoped's config file and VSCOPE_* environment overrides
 *	  (src/daemon/config.c): the input's first byte picks a key whose
 *	  environment variable is set, the rest up to a NUL is the config
 *	  file, after it the variable's value.  A loaded configuration must
 *	  hold every key within its bounds.  Values "@file" are read relative
 *	  to the current directory; inputs naming "@/..." or "@../" are skipped
 *	  (reading /dev/zero is the administrator's choice, not an input).
 */
#include "../../src/daemon/config.c"

#include <assert.h>
#include <unistd.h>

#include "fuzz_common.h"

static char conf_path[64];

static void
cleanup(void)
{
	unlink(conf_path);
}

static void
setup(void)
{
	int			fd;

	strcpy(conf_path, "/tmp/vscope-fuzz-config-XXXXXX");
	fd = mkstemp(conf_path);
	if (fd < 0)
		abort();
	close(fd);
	atexit(cleanup);
	log_set_level("crit");
}

static void
free_config(VsConfig *cfg)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].type == T_STRING)
		{
			char	  **slot = (char **) ((char *) cfg + keys[i].offset);

			free(*slot);
			*slot = NULL;
		}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready = false;
	char	   *file;
	char	   *value;
	char		env[96] = "";
	char		err[512];
	VsConfig	cfg;
	FILE	   *f;
	int			rc;

	if (!ready)
	{
		setup();
		ready = true;
	}
	if (size < 1 || memmem(data, size, "@/", 2) != NULL || memmem(data, size, "@.", 2) != NULL)
		return 0;
	fz_split(data + 1, size - 1, &file, &value);
	f = fopen(conf_path, "w");
	if (f == NULL)
		abort();
	fputs(file, f);
	fclose(f);
	if (data[0] < NKEYS)
	{
		size_t		p = strlen("VSCOPE_");

		strcpy(env, "VSCOPE_");
		for (const char *c = keys[data[0]].name; *c; c++)
			env[p++] = *c == '-' ? '_' : (char) toupper((unsigned char) *c);
		env[p] = '\0';
		setenv(env, value, 1);
	}
	rc = config_load(&cfg, conf_path, err, sizeof(err));
	if (rc == 0)
	{
		for (size_t i = 0; i < NKEYS; i++)
		{
			if (keys[i].type == T_INT)
			{
				int			v = *(int *) ((char *) &cfg + keys[i].offset);

				assert(v >= keys[i].min && v <= keys[i].max);
			}
			else if (keys[i].type == T_SIZE)
			{
				long		v = *(long *) ((char *) &cfg + keys[i].offset);

				assert(v >= keys[i].min && v <= keys[i].max);
			}
			else
				assert(*(char **) ((char *) &cfg + keys[i].offset) != NULL);
		}
	}
	else
		assert(err[0] != '\0');
	free_config(&cfg);
	if (env[0])
		unsetenv(env);
	free(file);
	free(value);
	return 0;
}
