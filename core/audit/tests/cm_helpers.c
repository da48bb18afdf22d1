/*
 * cm_helpers.c - cmocka fixtures and checks the audit unit tests share.
 * See cm_helpers.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cm_helpers.h"
#include "base/base.h"

int
fx_cm_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL || fx_setup(fx) != 0)
		return -1;
	*state = fx;
	return 0;
}

int
fx_cm_teardown(void **state)
{
	fx_teardown(*state);
	free(*state);
	return 0;
}

struct audit_log *
fx_open_log(const struct fixture *fx, int every, enum pg_durability d)
{
	struct audit_opts o;
	struct audit_log *log = NULL;

	fx_opts(&o, every);
	o.durability = d;
	o.batch_ms = 5;
	assert_int_equal(audit_open_path(fx->log, fx->key, &o, &log), PG_OK);
	return log;
}

int
fx_write_obj(struct audit_log *log, const char *actor, const char *obj)
{
	struct audit_event ev;

	audit_event_init(&ev);
	ev.actor = actor;
	ev.event = "gateway.open";
	ev.object = obj;
	ev.decision = "allow";
	ev.reason = obj;
	return audit_write(log, &ev);
}

void
fx_assert_verifies(const struct fixture *fx, long long records)
{
	struct audit_verify_result res;

	assert_int_equal(fx_verify(fx, &res), PG_OK);
	if (!res.ok)
		print_message("# %s at %lld: %s\n", audit_fail_name(res.kind),
		    res.bad_seq, res.message);
	assert_true(res.ok);
	if (records >= 0)
		assert_int_equal(res.records, records);
}
