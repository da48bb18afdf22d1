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

/* Does the pattern match exactly the path P[0..NP)? */
bool
pi_match(const struct pat_seg *s, unsigned ns, char *const *p, unsigned np)
{
	while (ns > 0) {
		if (s->kind == SEG_ANY) {
			if (ns == 1)
				return true;
			for (unsigned k = 0; k <= np; k++)
				if (pi_match(s + 1, ns - 1, p + k, np - k))
					return true;
			return false;
		}
		if (np == 0 || !pi_seg_ok(s, p[0]))
			return false;
		s++, ns--, p++, np--;
	}
	return np == 0;
}

/*
 * Could the pattern match the directory P itself or some path beneath it?
 * Any name may exist beneath a directory, so once the path is used up (or
 * a `**` can swallow the rest of it) the answer is yes.
 */
bool
pi_match_prefix(
    const struct pat_seg *s, unsigned ns, char *const *p, unsigned np)
{
	while (np > 0) {
		if (ns == 0)
			return false;
		if (s->kind == SEG_ANY)
			return true;
		if (!pi_seg_ok(s, p[0]))
			return false;
		s++, ns--, p++, np--;
	}
	return true;
}

/* Does the pattern match the directory P and every path beneath it? */
bool
pi_match_covers(
    const struct pat_seg *s, unsigned ns, char *const *p, unsigned np)
{
	for (;;) {
		if (np == 0) {
			if (ns == 0)
				return false;
			for (unsigned i = 0; i < ns; i++)
				if (s[i].kind != SEG_ANY)
					return false;
			return true;
		}
		if (ns == 0)
			return false;
		if (s->kind == SEG_ANY) {
			if (ns == 1)
				return true;
			for (unsigned k = 0; k <= np; k++)
				if (pi_match_covers(
				        s + 1, ns - 1, p + k, np - k))
					return true;
			return false;
		}
		if (!pi_seg_ok(s, p[0]))
			return false;
		s++, ns--, p++, np--;
	}
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
