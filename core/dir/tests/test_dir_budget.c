/*
 * test_dir_budget.c - the clinic-wide budget's lease values (read
 * strictly: a lease that cannot be read cannot be counted), the keys,
 * when a lease stops counting, and the grant arithmetic, including the
 * property the design rests on: leases granted by the rule never sum
 * over the limit inside any window, however gateways interleave.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "core/dir/dir_budget_int.h"

static int
parse(const char *s, struct db_lease *l)
{
	return db_lease_parse(s, strlen(s), l);
}

static void
t_key(void **state)
{
	char k[DIR_BUDGET_KEY_MAX];
	int64_t w;
	uint64_t max;
	bool pat = true;

	(void)state;
	assert_int_equal(
	    dir_budget_key(k, sizeof(k), false, "files", 600, 100), PG_OK);
	assert_string_equal(k, "limit:files:600:100");
	assert_int_equal(db_key_parse(k, &w, &max, &pat), 0);
	assert_true(w == 600000);
	assert_true(max == 100);
	assert_false(pat);
	assert_int_equal(
	    dir_budget_key(k, sizeof(k), true, "patients", 86400, 0), PG_OK);
	assert_string_equal(k, "lockout:patients:86400:0");
	assert_int_equal(db_key_parse(k, &w, &max, &pat), 0);
	assert_true(pat);
	assert_int_equal(
	    dir_budget_key(k, sizeof(k), true, "photos", 60, 1), PG_ERR_INVAL);
	assert_int_equal(
	    dir_budget_key(k, sizeof(k), true, "bytes", 0, 1), PG_ERR_INVAL);
	assert_int_equal(
	    dir_budget_key(k, 8, true, "bytes", 60, 1), PG_ERR_TOOBIG);
	assert_int_equal(db_key_parse("limit:files:600", &w, &max, NULL), -1);
	assert_int_equal(
	    db_key_parse("limit:files:600:1:2", &w, &max, NULL), -1);
	assert_int_equal(db_key_parse("cap:files:600:1", &w, &max, NULL), -1);
	assert_int_equal(db_key_parse("limit:files:0:1", &w, &max, NULL), -1);
	assert_int_equal(db_key_parse("limit:files:060:1", &w, &max, NULL), -1);
	assert_int_equal(db_key_parse("limit:files:60:-1", &w, &max, NULL), -1);
}

static void
t_lease_roundtrip(void **state)
{
	struct db_lease l, m;
	char buf[DIR_LEASE_MAX];

	(void)state;
	memset(&l, 0, sizeof(l));
	snprintf(l.key, sizeof(l.key), "limit:bytes:60:1000000");
	snprintf(l.owner, sizeof(l.owner), "img1.0123456789abcdef");
	l.granted_ms = 1764820000000;
	l.expires_ms = 1764820030000;
	l.units = 125000;
	assert_int_equal(db_lease_format(&l, buf, sizeof(buf)), 0);
	assert_string_equal(buf,
	    "limit:bytes:60:1000000 img1.0123456789abcdef 1764820000000 "
	    "1764820030000 125000");
	assert_int_equal(parse(buf, &m), 0);
	assert_string_equal(m.key, l.key);
	assert_string_equal(m.owner, l.owner);
	assert_true(m.granted_ms == l.granted_ms);
	assert_true(m.expires_ms == l.expires_ms);
	assert_true(m.units == 125000);
	assert_true(m.window_ms == 60000);
	assert_true(m.max == 1000000);
	/* Not NUL-terminated: only LEN bytes count. */
	assert_int_equal(db_lease_parse(buf, strlen(buf) - 3, &m), 0);
	assert_true(m.units == 125);
	/* Nothing to format: no units, an owner a value cannot hold. */
	l.units = 0;
	assert_int_equal(db_lease_format(&l, buf, sizeof(buf)), -1);
	l.units = 1;
	snprintf(l.owner, sizeof(l.owner), "img 1");
	assert_int_equal(db_lease_format(&l, buf, sizeof(buf)), -1);
}

static void
t_lease_bad(void **state)
{
	static const char *const bad[] = {
		"", "limit:files:60:10 gw 1 2", /* 4 fields */
		"limit:files:60:10 gw 1 2 3 4", /* 6 fields */
		"limit:files:60:10  gw 1 2 3",  /* empty field */
		"limit:files:60 gw 1 2 3",      /* bad key */
		"limit:files:60:10 g/w 1 2 3",  /* bad owner */
		"limit:files:60:10 gw 01 2 3",  /* leading 0 */
		"limit:files:60:10 gw 5 4 3",   /* ends first */
		"limit:files:60:10 gw 1 2 0",   /* no units */
		"limit:files:60:10 gw 1 2 x",   /* not a number */
		"limit:files:60:10 gw -1 2 3",  /* negative */
		"limit:files:60:10 gw 1 9223372036854775808 3", /* > INT64 */
		"limit:files:60:10 gw 1 2 3 ",                  /* trailing */
	};
	struct db_lease l;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], &l) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(parse("limit:files:60:10 gw 1 2 3", &l), 0);
	assert_false(db_owner_ok(""));
	assert_false(db_owner_ok("a b"));
	assert_true(db_owner_ok("img-1.a_b"));
}

#define TAG "0123456789abcdef0123456789abcdef"

static void
t_patient_lease(void **state)
{
	struct db_lease l;
	char a[DIR_BUDGET_TAG_MAX], b[DIR_BUDGET_TAG_MAX], buf[DIR_LEASE_MAX];

	(void)state;
	assert_int_equal(parse("limit:patients:600:3 gw 1 2 1 " TAG, &l), 0);
	assert_true(l.patients);
	assert_string_equal(l.tag, TAG);
	assert_int_equal(db_lease_format(&l, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "limit:patients:600:3 gw 1 2 1 " TAG);
	/* A patient lease names one patient, once; others name none. */
	assert_int_equal(parse("limit:patients:600:3 gw 1 2 1", &l), -1);
	assert_int_equal(parse("limit:patients:600:3 gw 1 2 2 " TAG, &l), -1);
	assert_int_equal(
	    parse(
	        "limit:patients:600:3 gw 1 2 1 0123456789ABCDEF0123456789abcdef",
	        &l),
	    -1);
	assert_int_equal(parse("limit:patients:600:3 gw 1 2 1 0123", &l), -1);
	assert_int_equal(parse("limit:files:600:3 gw 1 2 1 " TAG, &l), -1);
	/* Tags: fixed, hex, one per ID. */
	assert_int_equal(dir_budget_tag("P000001", a, sizeof(a)), PG_OK);
	assert_int_equal(dir_budget_tag("P000001", b, sizeof(b)), PG_OK);
	assert_string_equal(a, b);
	assert_true(db_tag_ok(a, strlen(a)));
	assert_int_equal(dir_budget_tag("P000002", b, sizeof(b)), PG_OK);
	assert_string_not_equal(a, b);
	assert_int_equal(dir_budget_tag("", b, sizeof(b)), PG_ERR_INVAL);
	assert_int_equal(dir_budget_tag("P1", b, 8), PG_ERR_INVAL);
}

static void
t_counts(void **state)
{
	struct db_lease l;

	(void)state;
	assert_int_equal(parse("limit:files:60:10 gw 1000 31000 5", &l), 0);
	/* Expiry + window + skew allowed between servers. */
	assert_true(db_lease_counts(&l, 31000));
	assert_true(
	    db_lease_counts(&l, 31000 + 60000 + DIR_BUDGET_SKEW_MS - 1));
	assert_false(db_lease_counts(&l, 31000 + 60000 + DIR_BUDGET_SKEW_MS));
	/* A far expiry with a long window saturates instead of wrapping. */
	l.expires_ms = INT64_MAX - 5;
	assert_true(db_lease_counts(&l, INT64_MAX));
}

static void
t_grant(void **state)
{
	(void)state;
	assert_true(db_grant(100, 0, 1, 13) == 13);
	assert_true(db_grant(100, 99, 1, 13) == 1);
	assert_true(db_grant(100, 100, 1, 13) == 0);
	assert_true(db_grant(100, 101, 1, 13) == 0); /* over already */
	assert_true(db_grant(100, 90, 2, 13) == 4);  /* 2 + (100-92)/4 */
	assert_true(db_grant(100, 0, 0, 13) == 0);   /* nothing needed */
	assert_true(db_grant(100, 0, 101, 200) == 0);
	assert_true(db_grant(0, 0, 1, 1) == 0);
	assert_true(db_grant(UINT64_MAX, UINT64_MAX - 1, 1, 5) == 1);
}

/*
 * Three gateways take turns at random, leasing and spending units at
 * random times; the grant rule, applied as dir_budget.c does (leases
 * counted until expiry + window), must keep every window's spending at
 * or under the limit.
 */
#define SIM_MAX    100
#define SIM_WINDOW 60000
#define SIM_LEASE  5000
#define SIM_STEPS  20000

struct sim_lease {
	int64_t g, e;
	uint64_t units, used;
	int64_t last;
};

static void
t_never_over(void **state)
{
	static struct sim_lease L[SIM_STEPS];
	static int64_t spent[SIM_STEPS];
	size_t nl = 0, ns = 0, i, j;
	long held[3] = { -1, -1, -1 };
	int64_t now = 1;
	uint64_t refused = 0;

	(void)state;
	srand(7);
	for (i = 0; i < SIM_STEPS; i++) {
		int gw = rand() % 3;
		long h = held[gw];

		now += rand() % 400;
		if (h >= 0 && now < L[h].e && L[h].used < L[h].units) {
			L[h].used++;
			L[h].last = now;
			spent[ns++] = now;
			continue;
		}
		/* Trim the old lease, then count as dir_budget.c does. */
		if (h >= 0 && L[h].used > 0 && L[h].last + 1 < L[h].e)
			L[h].e = L[h].last + 1;
		if (h >= 0 && L[h].used == 0)
			L[h].units = 0;
		if (h >= 0 && L[h].used > 0)
			L[h].units = L[h].used;
		{
			uint64_t use = 0, got;

			for (j = 0; j < nl; j++)
				if (L[j].units > 0 &&
				    L[j].e + SIM_WINDOW + DIR_BUDGET_SKEW_MS >
				        now)
					use += L[j].units;
			got = db_grant(SIM_MAX, use, 1, 13);
			held[gw] = -1;
			if (got == 0) {
				refused++;
				continue;
			}
			L[nl] = (struct sim_lease){ now, now + SIM_LEASE, got,
				1, now };
			held[gw] = (long)nl++;
			spent[ns++] = now;
		}
	}
	/* Every window (t - W, t] ending at a spend holds at most MAX. */
	for (i = 0, j = 0; i < ns; i++) {
		while (spent[j] <= spent[i] - SIM_WINDOW)
			j++;
		if (i - j + 1 > SIM_MAX)
			fail_msg("%zu spent in the window ending %lld",
			    i - j + 1, (long long)spent[i]);
	}
	assert_true(refused > 0); /* the limit was reached */
	assert_true(ns > SIM_MAX);
}

/*
 * Distinct patients: three gateways each serve a random patient of ten
 * at random times.  A gateway needs a lease on the patient (live: before
 * its expiry) and asks for one as dir_budget.c decides: free if the tag
 * is among the counted leases, else only if the distinct tags leave room.
 * No window may see more distinct patients served than the limit, and a
 * patient kept on screen must not use up the budget by renewals.
 */
#define PSIM_MAX   3
#define PSIM_STEPS 20000

struct psim {
	int64_t g, e;
	int patient;
};

static void
t_patients_never_over(void **state)
{
	static struct psim L[PSIM_STEPS];
	static int64_t st[PSIM_STEPS];
	static int sp[PSIM_STEPS];
	long live[3][10];
	size_t nl = 0, ns = 0, i, j, k;
	int64_t now = 1;
	uint64_t refused = 0;

	(void)state;
	memset(live, 0xff, sizeof(live));
	srand(11);
	for (i = 0; i < PSIM_STEPS; i++) {
		int gw = rand() % 3, p = rand() % 10;
		long h = live[gw][p];

		now += rand() % 2000;
		if (h < 0 || now >= L[h].e) {
			bool seen = false;
			int tags[10] = { 0 }, n = 0;

			for (j = 0; j < nl; j++)
				if (L[j].e + SIM_WINDOW + DIR_BUDGET_SKEW_MS >
				        now &&
				    !tags[L[j].patient]) {
					tags[L[j].patient] = 1;
					n++;
				}
			seen = tags[p] != 0;
			if (!seen &&
			    db_grant(PSIM_MAX, (uint64_t)n, 1, 1) == 0) {
				refused++;
				continue;
			}
			L[nl] = (struct psim){ now, now + SIM_LEASE, p };
			live[gw][p] = (long)nl++;
		}
		st[ns] = now;
		sp[ns++] = p;
	}
	for (i = 0; i < ns; i++) {
		int seen[10] = { 0 }, n = 0;

		for (k = 0; k <= i; k++)
			if (st[k] > st[i] - SIM_WINDOW && !seen[sp[k]]) {
				seen[sp[k]] = 1;
				n++;
			}
		if (n > PSIM_MAX)
			fail_msg("%d patients in the window ending %lld", n,
			    (long long)st[i]);
	}
	assert_true(refused > 0);
	assert_true(ns > 1000); /* patients on screen kept being served */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_key),
		cmocka_unit_test(t_lease_roundtrip),
		cmocka_unit_test(t_lease_bad),
		cmocka_unit_test(t_patient_lease),
		cmocka_unit_test(t_counts),
		cmocka_unit_test(t_patients_never_over),
		cmocka_unit_test(t_grant),
		cmocka_unit_test(t_never_over),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
