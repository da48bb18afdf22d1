/*
 * pattern.c - matching compiled path patterns against request paths that
 * were split once into segments: exact match for files, "could match D or
 * something beneath it" and "covers D and all beneath it" for directories.
 */
#include <fnmatch.h>
#include <string.h>

#include "policy/policy_int.h"

/* Does one pattern segment (not `**`) accept the name NAME? */
bool
pi_seg_ok(const struct pat_seg *s, const char *name)
{
	switch (s->kind) {
	case SEG_LIT:
		return strcmp(s->text, name) == 0;
	case SEG_ONE:
		return true;
	case SEG_GLOB:
		return fnmatch(s->text, name, 0) == 0;
	case SEG_ANY:
		break;
	}
	return false;
}

/*
 * Patterns are matched as a small NFA: a state is "the next pattern
 * segment to match", the set of states a bitmask (at most PI_MAX_SEGS + 1
 * states).  Each path segment is looked at once per state, so matching is
 * O(path depth * pattern length) however many `**` a pattern has.
 */

/* Adds the states reachable by letting a `**` match nothing. */
static uint64_t
closure(const struct pat_seg *s, unsigned ns, uint64_t set)
{
	for (unsigned i = 0; i < ns; i++)
		if ((set & (1ULL << i)) && s[i].kind == SEG_ANY)
			set |= 1ULL << (i + 1);
	return set;
}

/* The states after the whole path P[0..NP) is consumed; 0 if none. */
static uint64_t
run(const struct pat_seg *s, unsigned ns, char *const *p, unsigned np)
{
	uint64_t set = closure(s, ns, 1), next;

	for (unsigned k = 0; k < np && set != 0; k++) {
		next = 0;
		for (unsigned i = 0; i < ns; i++) {
			if (!(set & (1ULL << i)))
				continue;
			if (s[i].kind == SEG_ANY)
				next |= 1ULL << i;
			else if (pi_seg_ok(&s[i], p[k]))
				next |= 1ULL << (i + 1);
		}
		set = closure(s, ns, next);
	}
	return set;
}

/* Does the pattern match exactly the path P[0..NP)? */
bool
pi_match(const struct pat_seg *s, unsigned ns, char *const *p, unsigned np)
{
	return (run(s, ns, p, np) & (1ULL << ns)) != 0;
}

/*
 * Could the pattern match the directory P itself or some path beneath it?
 * Any name may exist beneath a directory, so any state left once the path
 * is used up means yes.
 */
bool
pi_match_prefix(
    const struct pat_seg *s, unsigned ns, char *const *p, unsigned np)
{
	return run(s, ns, p, np) != 0;
}

/* Does the pattern match the directory P and every path beneath it? */
bool
pi_match_covers(
    const struct pat_seg *s, unsigned ns, char *const *p, unsigned np)
{
	uint64_t set = run(s, ns, p, np);

	/* Some state from which only `**` remain: D and all beneath. */
	for (unsigned i = ns; i-- > 0;) {
		if (s[i].kind != SEG_ANY)
			return false;
		if (set & (1ULL << i))
			return true;
	}
	return false;
}

/*
 * Copies PATH into BUF (LEN bytes) and splits it at '/' into SEGS (room for
 * PI_MAX_PATH_DEPTH).  "" is the root: no segments.  Returns 0, or
 * PG_ERR_INVAL for a leading '/', an empty, "." or ".." segment, or
 * PG_ERR_TOOBIG for a path too long or too deep.
 */
int
pi_split_path(
    const char *path, char *buf, size_t len, char **segs, unsigned *nseg)
{
	size_t n = strnlen(path, len);
	char *s, *e;

	*nseg = 0;
	if (n >= len)
		return PG_ERR_TOOBIG;
	memcpy(buf, path, n + 1);
	if (n == 0)
		return 0;
	for (s = buf;; s = e + 1) {
		e = strchr(s, '/');
		if (e != NULL)
			*e = '\0';
		if (*s == '\0' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
			return PG_ERR_INVAL;
		if (*nseg >= PI_MAX_PATH_DEPTH)
			return PG_ERR_TOOBIG;
		segs[(*nseg)++] = s;
		if (e == NULL)
			return 0;
	}
}

/*
 * Returns the index of the {patient} segment of the split path if the
 * layout names a patient, the path reaches that deep and the layout's
 * names before it match; otherwise -1.
 */
int
pi_patient_depth_ok(const struct policy *p, char *const *segs, unsigned nseg)
{
	int d = p->patient_depth;

	if (d < 0 || nseg <= (unsigned)d)
		return -1;
	for (int i = 0; i < d; i++)
		if (!pi_seg_ok(&p->layout.segs[i], segs[i]))
			return -1;
	return d;
}
