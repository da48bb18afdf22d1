/*
 * cmd_config.c - `photoguard config check [FILE]` and `photoguard config
 * keys [--json]`: validate a configuration, list every documented key.
 */
#include <stdio.h>
#include <string.h>

#include "cli/util.h"
#include "cli/verbs.h"
#include "core/config/config.h"

static void
config_usage(FILE *f)
{
	fputs("Usage: photoguard config check [FILE]\n"
	      "       photoguard config keys [--json]\n"
	      "\n"
	      "check  load FILE (default: --config, $PHOTOGUARD_CONFIG or\n"
	      "       /etc/photoguard/photoguard.conf) and report the first\n"
	      "       error as FILE:LINE: [section] key: message (exit 1)\n"
	      "keys   list every key with its type, default and meaning\n",
	    f);
}

static int
config_keys(bool json)
{
	const struct pg_config_key_doc *k = pg_config_keys();

	for (; k->section != NULL; k++) {
		if (!json) {
			printf("[%s] %s (%s, default: %s)\n    %s\n",
			    k->section, k->key, k->type,
			    k->def != NULL ? k->def : "none", k->doc);
			continue;
		}
		fputs("{\"section\":", stdout);
		cli_json_string(stdout, k->section);
		fputs(",\"key\":", stdout);
		cli_json_string(stdout, k->key);
		fputs(",\"type\":", stdout);
		cli_json_string(stdout, k->type);
		fputs(",\"default\":", stdout);
		if (k->def != NULL)
			cli_json_string(stdout, k->def);
		else
			fputs("null", stdout);
		fputs(",\"doc\":", stdout);
		cli_json_string(stdout, k->doc);
		fputs("}\n", stdout);
	}
	return CLI_EXIT_OK;
}

int
cmd_config(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_ctx local = *ctx;
	struct pg_config *cfg;

	if (cli_wants_help(argc, argv)) {
		config_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "keys") == 0 && argc <= 3) {
		if (argc == 3 && strcmp(argv[2], "--json") != 0) {
			config_usage(stderr);
			return CLI_EXIT_USAGE;
		}
		return config_keys(argc == 3);
	}
	if (argc < 2 || argc > 3 || strcmp(argv[1], "check") != 0) {
		config_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (argc == 3)
		local.config_path = argv[2];
	if ((cfg = cli_load_config(&local)) == NULL)
		return CLI_EXIT_FAIL;
	printf("%s: OK\n", cfg->path);
	pg_config_free(cfg);
	return CLI_EXIT_OK;
}
