/*
 * errors.c - messages for the codes in errors.h.
 */
#include "base/base.h"

static const char *const messages[] = {
	[0] = "success",
	[-PG_ERR_INTERNAL] = "internal error",
	[-PG_ERR_NOMEM] = "out of memory",
	[-PG_ERR_IO] = "input/output error",
	[-PG_ERR_INVAL] = "invalid argument",
	[-PG_ERR_PARSE] = "parse error",
	[-PG_ERR_TOOBIG] = "input too large",
	[-PG_ERR_NOTFOUND] = "not found",
	[-PG_ERR_PERM] = "unsafe file owner or mode",
	[-PG_ERR_SYMLINK] = "refused to follow a symbolic link",
	[-PG_ERR_DIR_UNAVAIL] = "directory unavailable",
	[-PG_ERR_DIR_BADANSWER] = "directory gave an invalid answer",
	[-PG_ERR_TLS] = "TLS failure",
	[-PG_ERR_AUTH] = "directory refused the bind credentials",
	[-PG_ERR_CRYPTO] = "cryptographic failure",
	[-PG_ERR_CORRUPT] = "stored state is corrupt",
	[-PG_ERR_LOCKED] = "could not take the lock",
	[-PG_ERR_CONFIG] = "configuration error",
	[-PG_ERR_EXISTS] = "already exists",
	[-PG_ERR_TIMEOUT] = "timed out",
	[-PG_ERR_BADCODE] = "verification code does not match",
	[-PG_ERR_REPLAY] = "verification code already used",
	[-PG_ERR_PENDING] = "enrollment not yet confirmed",
	[-PG_ERR_ACCT_LOCKED] = "account locked in the directory",
};

const char *
pg_strerror(int err)
{
	if (err > 0 || err < PG_ERR_MAX || messages[-err] == 0)
		return "unknown error";
	return messages[-err];
}
