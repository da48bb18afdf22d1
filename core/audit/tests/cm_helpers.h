/*
 * cm_helpers.h - the cmocka side of the audit test helpers: a fixture per
 * test as cmocka state, opening a test log, writing one record and
 * asserting that the log verifies.
 */
#ifndef PG_TEST_AUDIT_CM_HELPERS_H
#define PG_TEST_AUDIT_CM_HELPERS_H

#include "core/audit/audit.h"
#include "helpers.h"

/* A fresh fixture (fx_setup()) in *STATE; -1 if it cannot be made. */
int fx_cm_setup(void **state);

/* Removes the fixture in *STATE and frees it. */
int fx_cm_teardown(void **state);

/* Opens FX's log with fx_opts(EVERY), durability D, 5 ms batches; asserts. */
struct audit_log *fx_open_log(
    const struct fixture *fx, int every, enum pg_durability d);

/* Writes a gateway.open record by ACTOR for OBJ (also its reason). */
int fx_write_obj(struct audit_log *log, const char *actor, const char *obj);

/* Asserts that FX's log verifies, with RECORDS records unless negative. */
void fx_assert_verifies(const struct fixture *fx, long long records);

#endif
