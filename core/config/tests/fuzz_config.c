/*
 * fuzz_config.c - fuzz target for the photoguard.conf parser: any input
 * either loads or fails with a message that names a line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config/config.h"
#include "base/base.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pg_config *cfg = NULL;
	char err[512];
	char *buf;
	int r;

	if (size > PG_CONFIG_MAX_SIZE)
		return 0;
	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	r = pg_config_parse("fuzz.conf", buf, &cfg, err, sizeof(err));
	if (r == PG_OK && cfg == NULL)
		abort();
	if (r != PG_OK && (cfg != NULL || strncmp(err, "fuzz.conf:", 10) != 0))
		abort();
	pg_config_free(cfg);
	free(buf);
	return 0;
}
