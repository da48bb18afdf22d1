/*
 * fuzz_policy.c - libFuzzer target for the policy parser and evaluator:
 * parses the input as a policy and, if it loads, asks it questions with
 * every role held.  Build for fuzzing with clang, e.g.
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *       policy/tests/fuzz_policy.c policy/[a-z]*.c -o fuzz_policy
 * In the normal build fuzzstub.c runs it over the case files instead.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const paths[] = { "", "patients", "patients/P1",
	"patients/P1/incoming", "patients/P1/s/a.jpg",
	"patients/P999001/s/a.jpg", "a/b/c/d/e/f/g", "x" };

static void
ask(const struct policy *p)
{
	static const char *const care[] = { "P1", "P2" };
	struct policy_request q;
	struct policy_decision dec;
	struct policy_trace_entry tr[4];
	struct policy_limit lim[8];
	struct policy_breakglass bg;
	char buf[POLICY_ID_MAX];
	size_t n;

	memset(&q, 0, sizeof(q));
	q.roles.bits = ~0ULL;
	q.care_patients = care;
	q.ncare = 2;
	q.breakglass_patients = care + 1;
	q.nbreakglass = 1;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		q.path = paths[i];
		for (int a = POLICY_LIST; a <= POLICY_WRITE; a++) {
			q.action = (enum policy_action)a;
			q.is_dir = (i + (size_t)a) % 2 == 0;
			q.mfa = a != POLICY_READ;
			q.minute_of_day = (int)(i * 197) % 1440;
			q.weekday = (int)i % 7;
			(void)policy_explain(p, &q, &dec, tr, 4, &n);
		}
		(void)policy_patient_of(p, paths[i], buf, sizeof(buf));
	}
	(void)policy_limits(p, &q.roles, lim, 8);
	(void)policy_login(p, &q.roles, "imaging-01", "sshd", &dec);
	(void)policy_breakglass(p, &q.roles, &bg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL;
	struct policy_diags *d = NULL;
	char line[512];

	if (policy_parse("fuzz", (const char *)data, size, &p, &d) == 0)
		ask(p);
	for (size_t i = 0; i < policy_diags_count(d); i++)
		(void)policy_diag_format(
		    policy_diags_get(d, i), line, sizeof(line));
	policy_free(p);
	policy_diags_free(d);
	return 0;
}
