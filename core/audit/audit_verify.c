/*
 * audit_verify.c - proves an audit log untouched, or names the first
 * record where it was edited, removed, reordered, inserted or cut, and
 * how.  Works on memory (audit_verify_buf, also the fuzz target) and on a
 * file plus its head (audit_verify).  The format and the failure kinds:
 * docs/audit-format.md.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit/audit_int.h"
#include "base/base.h"

struct vstate {
	const char *buf;
	size_t len;
	const unsigned char *pk; /* the key now: the first, or an audit.key's */
	char pk_id[2 * AUDIT_KEY_ID_BYTES + 1];
	unsigned char pk_buf[AUDIT_PK_BYTES];
	unsigned char head_pk[AUDIT_PK_BYTES]; /* the key at the head's seq */
	int head_later; /* the head is signed by a later key: check at the end
	                 */
	const struct audit_head *head;
	struct audit_verify_result *res;
	long long expect;
	unsigned char prev[AUDIT_HASH_BYTES];
	unsigned char prevprev[AUDIT_HASH_BYTES];
	long long last_ckpt;
	int may_start; /* the set's first record may continue a file not
	                  given (an audit.rotate past seq 1) */
};

/* One line of the log, parsed. */
struct vline {
	struct audit_prec r;
	json_t *root;
	unsigned char hash[AUDIT_HASH_BYTES];
};

const char *
audit_fail_name(enum audit_fail kind)
{
	static const char *const names[] = { "ok", "edited", "missing",
		"reordered", "inserted", "truncated", "bad signature", "torn",
		"unparsable", "no head" };

	if ((unsigned)kind >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[kind];
}

static int fail(struct vstate *st, enum audit_fail kind, long long seq,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
fail(struct vstate *st, enum audit_fail kind, long long seq, const char *fmt,
    ...)
{
	va_list ap;

	st->res->ok = false;
	st->res->kind = kind;
	st->res->bad_seq = seq;
	if (seq > 0 && st->res->last_seq >= seq) {
		st->res->records -= st->res->last_seq - (seq - 1);
		st->res->last_seq = seq - 1;
	}
	va_start(ap, fmt);
	vsnprintf(st->res->message, sizeof(st->res->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* Parses the line starting at OFF, if it is whole; 0 if not. */
static int
parse_at(
    struct vstate *st, size_t off, struct vline *v, char *why, size_t whylen)
{
	const char *nl;

	v->root = NULL;
	if (off >= st->len)
		return 0;
	nl = memchr(st->buf + off, '\n', st->len - off);
	if (nl == NULL)
		return 0;
	if (audit_rec_parse(st->buf + off, (size_t)(nl - st->buf) - off, &v->r,
	        &v->root, why, whylen) != PG_OK)
		return 0;
	audit_hash(st->buf + off, (size_t)(nl - st->buf) - off, v->hash);
	return 1;
}

static int
sig_ok(struct vstate *st, const struct audit_prec *r)
{
	unsigned char d[AUDIT_HASH_BYTES];

	audit_sig_digest("checkpoint", r->seq, r->prev, r->time, r->host, d);
	return crypto_sign_verify_detached(r->sig, d, sizeof(d), st->pk) == 0;
}

static int
key_sig_ok(struct vstate *st, const struct audit_prec *r)
{
	unsigned char d[AUDIT_HASH_BYTES];

	audit_key_digest(r->seq, r->prev, r->time, r->host, r->pk, d);
	return crypto_sign_verify_detached(r->sig, d, sizeof(d), st->pk) == 0;
}

/* A checkpoint, or an audit.key record: the key of the moment signs the
 * chain up to it and, for audit.key, the key that signs from then on.
 * The auditor holds only the first key; each later one is proven by the
 * one before. */
static int
check_ckpt(struct vstate *st, const struct audit_prec *r)
{
	const char *what = r->is_key ? "key change" : "checkpoint";

	if (st->pk != NULL) {
		if (strcmp(r->key_id, st->pk_id) != 0)
			return fail(st, AUDIT_BAD_SIGNATURE, r->seq,
			    "%s signed by key %s, not by key %s", what,
			    r->key_id, st->pk_id);
		if (!(r->is_key ? key_sig_ok(st, r) : sig_ok(st, r)))
			return fail(st, AUDIT_BAD_SIGNATURE, r->seq,
			    "%s signature does not verify", what);
	}
	st->res->checkpoints++;
	st->last_ckpt = r->seq;
	if (r->is_key) {
		st->res->key_changes++;
		memcpy(st->pk_buf, r->pk, AUDIT_PK_BYTES);
		memcpy(st->res->key, r->pk, AUDIT_PK_BYTES);
		audit_key_id(r->pk, st->res->key_id);
		if (st->pk != NULL) {
			st->pk = st->pk_buf;
			audit_key_id(st->pk, st->pk_id);
		}
	}
	return 0;
}

/* The link from the previous record to V is broken and V claims the
 * expected seq: V inserted, V's prev edited, or the previous record
 * edited (then V's successor, or V's own signature, vouches for V). */
static int
broken_link(struct vstate *st, struct vline *v, size_t next_off)
{
	struct vline n;
	char why[8];
	int have_next, vouched;
	long long e = st->expect;

	have_next = parse_at(st, next_off, &n, why, sizeof(why));
	if (have_next && n.r.seq == e &&
	    sodium_memcmp(n.r.prev, st->prev, AUDIT_HASH_BYTES) == 0) {
		json_decref(n.root);
		return fail(st, AUDIT_INSERTED, e,
		    "a record that is not in the chain precedes seq %lld", e);
	}
	vouched =
	    (have_next &&
	        sodium_memcmp(n.r.prev, v->hash, AUDIT_HASH_BYTES) == 0) ||
	    (v->r.is_ckpt && st->pk != NULL && sig_ok(st, &v->r)) ||
	    (v->r.is_key && st->pk != NULL && key_sig_ok(st, &v->r));
	json_decref(n.root);
	if (e == 1)
		return fail(
		    st, AUDIT_EDITED, 1, "prev is not the genesis hash");
	if (vouched)
		return fail(st, AUDIT_EDITED, e - 1,
		    "content does not match the hash that seq %lld holds", e);
	return fail(st, AUDIT_EDITED, e,
	    "prev does not match the hash of seq %lld", e - 1);
}

#define REORDER_WINDOW 4096 /* lines searched for a displaced record */

/* Whether a record with seq SEQ stands in the lines from OFF on. */
static int
seq_ahead(struct vstate *st, size_t off, long long seq)
{
	struct vline n;
	const char *nl;
	char why[8];
	int i, found = 0;

	for (i = 0; !found && i < REORDER_WINDOW && off < st->len; i++) {
		found =
		    parse_at(st, off, &n, why, sizeof(why)) && n.r.seq == seq;
		json_decref(n.root);
		nl = memchr(st->buf + off, '\n', st->len - off);
		if (nl == NULL)
			break;
		off = (size_t)(nl - st->buf) + 1;
	}
	return found;
}

/* V does not carry the expected seq. */
static int
wrong_seq(struct vstate *st, struct vline *v, size_t next_off, int link_ok)
{
	long long e = st->expect, got = v->r.seq;

	if (link_ok)
		return fail(st, AUDIT_EDITED, e, "seq field reads %lld", got);
	if (got > e) {
		if (seq_ahead(st, next_off, e))
			return fail(st, AUDIT_REORDERED, e,
			    "seq %lld appears before seq %lld", got, e);
		if (got - e == 1)
			return fail(st, AUDIT_MISSING, e,
			    "seq %lld is missing (next is seq %lld)", e, got);
		return fail(st, AUDIT_MISSING, e,
		    "seq %lld to %lld are missing (%lld records)", e, got - 1,
		    got - e);
	}
	if (got == e - 1 &&
	    sodium_memcmp(v->r.prev, st->prevprev, AUDIT_HASH_BYTES) == 0)
		return fail(st, AUDIT_INSERTED, e - 1,
		    "a record claiming seq %lld was inserted before the real one",
		    e - 1);
	return fail(st, AUDIT_INSERTED, e,
	    "a record claiming seq %lld stands where seq %lld belongs", got, e);
}

/* An audit.repair record: a gap an admin recorded (audit_repair()). */
static void
note_repair(struct vstate *st, const struct vline *v)
{
	const char *what;

	if (st->res->repairs++ > 0)
		return;
	what = json_string_value(json_object_get(v->root, "object"));
	st->res->first_repair_seq = v->r.seq;
	snprintf(st->res->first_repair, sizeof(st->res->first_repair), "%s",
	    what != NULL ? what : "?");
}

static int
check_line(struct vstate *st, size_t off, size_t next_off)
{
	struct vline v;
	char why[160];
	int link_ok, r = 0;

	if (!parse_at(st, off, &v, why, sizeof(why)))
		return fail(st, AUDIT_UNPARSABLE, st->expect, "%s", why);
	if (st->may_start) {
		/* Older files were rotated away: the chain is proven from
		 * here on, and the result says where it starts. */
		st->may_start = 0;
		if (v.r.seq > 1 && strcmp(v.r.event, AUDIT_EV_ROTATE) == 0) {
			st->expect = v.r.seq;
			memcpy(st->prev, v.r.prev, AUDIT_HASH_BYTES);
			st->res->first_seq = v.r.seq;
			st->res->last_seq = v.r.seq - 1;
		}
	}
	link_ok = sodium_memcmp(v.r.prev, st->prev, AUDIT_HASH_BYTES) == 0;
	if (v.r.seq != st->expect)
		r = wrong_seq(st, &v, next_off, link_ok);
	else if (!link_ok)
		r = broken_link(st, &v, next_off);
	else if (v.r.is_ckpt || v.r.is_key)
		r = check_ckpt(st, &v.r);
	if (r == 0 && st->head_later && st->pk != NULL &&
	    v.r.seq == st->head->seq)
		memcpy(st->head_pk, st->pk, AUDIT_PK_BYTES);
	if (r == 0 && st->head != NULL && v.r.seq == st->head->seq &&
	    sodium_memcmp(v.hash, st->head->hash, AUDIT_HASH_BYTES) != 0)
		r = fail(st, AUDIT_EDITED, v.r.seq,
		    "does not match the signed head");
	if (r == 0 && strcmp(v.r.event, AUDIT_EV_TORN) == 0 &&
	    st->res->torn_repairs++ == 0)
		st->res->first_torn_seq = v.r.seq;
	if (r == 0 && strcmp(v.r.event, AUDIT_EV_REPAIR) == 0)
		note_repair(st, &v);
	if (r == 0 && st->res->records == 0)
		snprintf(st->res->first_time, sizeof(st->res->first_time), "%s",
		    v.r.time);
	json_decref(v.root);
	if (r != 0)
		return r;
	memcpy(st->prevprev, st->prev, AUDIT_HASH_BYTES);
	memcpy(st->prev, v.hash, AUDIT_HASH_BYTES);
	st->res->records++;
	st->res->last_seq = st->expect++;
	return 0;
}

static int
head_sig(struct vstate *st, const unsigned char *pk, const char *pk_id)
{
	const struct audit_head *h = st->head;
	unsigned char d[AUDIT_HASH_BYTES];

	if (strcmp(h->key_id, pk_id) != 0)
		return fail(st, AUDIT_BAD_SIGNATURE, h->seq,
		    "head file signed by key %s, not by key %s", h->key_id,
		    pk_id);
	audit_sig_digest("head", h->seq, h->hash, h->time, h->host, d);
	if (crypto_sign_verify_detached(h->sig, d, sizeof(d), pk) != 0)
		return fail(st, AUDIT_BAD_SIGNATURE, h->seq,
		    "head file signature does not verify");
	return 0;
}

/* Before the walk: a head signed by the first key is checked at once; one
 * signed by another key must wait for the audit.key records that prove
 * it (check_later_head()). */
static int
check_head_sig(struct vstate *st)
{
	const struct audit_head *h = st->head;
	unsigned char g[AUDIT_HASH_BYTES];

	if (h->seq == 0) {
		audit_genesis(g);
		if (sodium_memcmp(g, h->hash, AUDIT_HASH_BYTES) != 0)
			return fail(st, AUDIT_EDITED, 0,
			    "head file at seq 0 names a hash other than genesis");
	}
	if (st->pk == NULL)
		return 0;
	if (strcmp(h->key_id, st->pk_id) != 0) {
		st->head_later = 1;
		memcpy(st->head_pk, st->pk, AUDIT_PK_BYTES);
		return 0;
	}
	return head_sig(st, st->pk, st->pk_id);
}

/* After the walk: the head is signed by the key of its seq, or by a later
 * one (a writer that changed keys since the head's checkpoint). */
static int
check_later_head(struct vstate *st)
{
	char id[2 * AUDIT_KEY_ID_BYTES + 1];

	if (!st->head_later)
		return 0;
	audit_key_id(st->head_pk, id);
	if (strcmp(st->head->key_id, id) == 0)
		return head_sig(st, st->head_pk, id);
	return head_sig(st, st->pk, st->pk_id);
}

/* What the end of the log says: a torn line, a cut, or all well. */
static int
check_end(struct vstate *st, size_t torn)
{
	long long last = st->res->last_seq;

	if (st->head != NULL && st->head->seq > last)
		return fail(st, AUDIT_TRUNCATED, last + 1,
		    "log ends at seq %lld but its signed head is at seq %lld%s",
		    last, st->head->seq,
		    torn ? " (and the last line is unfinished)" : "");
	if (torn)
		return fail(st, AUDIT_TORN, last + 1,
		    "unfinished last line of %zu bytes after seq %lld "
		    "(a crash during a write?)",
		    torn, last);
	if (st->head == NULL && st->pk != NULL && last > 0)
		return fail(st, AUDIT_NO_HEAD, last + 1,
		    "no head file: a cut tail could not be seen");
	return st->head != NULL ? check_later_head(st) : 0;
}

static void
result_init(struct audit_verify_result *res, const unsigned char *pk)
{
	memset(res, 0, sizeof(*res));
	res->ok = true;
	res->signatures_checked = pk != NULL;
	res->first_seq = 1;
}

#define VERIFY_IO (-2) /* a file could not be read on */

/* Verifies the lines of S, up to an unfinished last line (its length in
 * *TORN).  0, -1 (the verdict is in res) or VERIFY_IO. */
static int
verify_src(struct vstate *st, struct audit_src *s, size_t *torn)
{
	const char *nl;

	*torn = 0;
	for (;;) {
		if (audit_src_fill(s) != PG_OK)
			return VERIFY_IO;
		st->buf = s->data + s->pos;
		st->len = s->fill - s->pos;
		if (st->len == 0)
			return 0;
		nl = memchr(st->buf, '\n', st->len);
		if (nl == NULL && !s->eof)
			return fail(st, AUDIT_UNPARSABLE, st->expect,
			    "a line longer than %d bytes", AUDIT_MAX_RECORD);
		if (nl == NULL) {
			*torn = st->len;
			return 0;
		}
		if (check_line(st, 0, (size_t)(nl - st->buf) + 1) != 0)
			return -1;
		s->pos += (size_t)(nl - st->buf) + 1;
	}
}

/* The last component of PATH, cut to fit OUT. */
static void
base_name(const char *path, char *out, size_t len)
{
	const char *sl = strrchr(path, '/'), *b = sl != NULL ? sl + 1 : path;
	size_t n = strlen(b);

	n = n < len - 1 ? n : len - 1;
	memcpy(out, b, n);
	out[n] = '\0';
}

/* Where a file of logrotate's naming claims to stand: BASE newest (1),
 * BASE.N older the larger N (0, -N), BASE-DATE by its text (2, 0); -1:
 * a name that claims nothing. */
static int
name_rank(const char *path, const char *base, long long *num, const char **text)
{
	const char *name = strrchr(path, '/');
	size_t n = strlen(base);

	name = name != NULL ? name + 1 : path;
	*num = 0;
	*text = "";
	if (strcmp(name, base) == 0)
		return 1;
	if (!audit_set_sibling(name, base))
		return -1;
	if (name[n] == '-') {
		*text = name + n + 1;
		return 2;
	}
	*num = -strtoll(name + n + 1, NULL, 10);
	return 0;
}

/* Compares two dateext suffixes, a compressed file's ".gz" left out, runs
 * of digits by their value: "...Z-10" (a tenth rotation in one second)
 * comes after "...Z-9". */
static int
text_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i = 0, j = 0, si, sj;

	if (la >= 3 && strcmp(a + la - 3, ".gz") == 0)
		la -= 3;
	if (lb >= 3 && strcmp(b + lb - 3, ".gz") == 0)
		lb -= 3;
	while (i < la && j < lb) {
		if (isdigit((unsigned char)a[i]) &&
		    isdigit((unsigned char)b[j])) {
			while (i < la && a[i] == '0')
				i++;
			while (j < lb && b[j] == '0')
				j++;
			for (si = i; i < la && isdigit((unsigned char)a[i]);)
				i++;
			for (sj = j; j < lb && isdigit((unsigned char)b[j]);)
				j++;
			if (i - si != j - sj)
				return i - si < j - sj ? -1 : 1;
			if (memcmp(a + si, b + sj, i - si) != 0)
				return memcmp(a + si, b + sj, i - si);
			continue;
		}
		if (a[i] != b[j])
			return (unsigned char)a[i] < (unsigned char)b[j] ? -1
			                                                 : 1;
		i++;
		j++;
	}
	return (i < la) - (j < lb);
}

/* Whether B (newer by its content than A) is named as the older one. */
static int
named_older(const char *a, const char *b, const char *base)
{
	const char *ta, *tb;
	long long na, nb;
	int ra = name_rank(a, base, &na, &ta),
	    rb = name_rank(b, base, &nb, &tb);

	if (ra < 0 || rb < 0)
		return 0;
	if (ra == 1)
		return 1; /* the live name holds older records */
	if (ra != rb || rb == 1)
		return 0;
	return ra == 0 ? nb < na : text_cmp(tb, ta) < 0;
}

/* A file renamed out of its place in the rotation: the chain is read in
 * the order of the records, and the names are checked against it. */
static int
check_names(struct vstate *st, const struct audit_set *set)
{
	const char *slash = strrchr(set->src[set->n - 1].path, '/');
	const char *base =
	    slash != NULL ? slash + 1 : set->src[set->n - 1].path;
	char a[64], b[64];
	size_t i;

	for (i = 0; i + 1 < set->n; i++) {
		if (!named_older(set->src[i].path, set->src[i + 1].path, base))
			continue;
		base_name(set->src[i].path, a, sizeof(a));
		base_name(set->src[i + 1].path, b, sizeof(b));
		return fail(st, AUDIT_REORDERED, set->src[i + 1].first_seq,
		    "%s holds seq %lld on but is named as older than %s, "
		    "which holds seq %lld on: files were renamed",
		    b, set->src[i + 1].first_seq, a, set->src[i].first_seq);
	}
	return 0;
}

/* The set's files one after another, as one chain. */
static int
verify_files(struct vstate *st, struct audit_set *set)
{
	struct audit_verify_result *res = st->res;
	long long before;
	size_t i, torn = 0;
	char msg[AUDIT_MSG_MAX], a[64], b[64];
	int r;

	res->files = (int)set->n;
	for (i = 0; i < set->n; i++) {
		snprintf(
		    res->file, sizeof(res->file), "%.500s", set->src[i].path);
		before = st->expect;
		if (torn > 0)
			return fail(st, AUDIT_TORN, st->expect,
			    "%s ends in an unfinished line of %zu bytes",
			    set->src[i - 1].path, torn);
		r = verify_src(st, &set->src[i], &torn);
		audit_src_stop(&set->src[i]);
		if (r == VERIFY_IO)
			return r;
		if (r != 0 && i > 0 && res->kind == AUDIT_MISSING &&
		    res->bad_seq == before) {
			/* A gap between two files: a file went missing. */
			snprintf(msg, sizeof(msg), "%.100s", res->message);
			base_name(set->src[i - 1].path, a, sizeof(a));
			base_name(set->src[i].path, b, sizeof(b));
			snprintf(res->message, sizeof(res->message),
			    "%.100s: a file is missing between %.60s and %.60s",
			    msg, a, b);
		}
		if (r != 0)
			return r;
	}
	return check_end(st, torn);
}

static int
verify_set(struct audit_set *set, const unsigned char *pk,
    struct audit_verify_result *res)
{
	struct audit_head head;
	struct vstate st;
	int r;

	result_init(res, pk);
	if (sodium_init() < 0)
		return PG_ERR_CRYPTO;
	memset(&st, 0, sizeof(st));
	st.pk = pk;
	st.res = res;
	st.expect = 1;
	st.may_start = 1;
	audit_genesis(st.prev);
	if (pk != NULL) {
		audit_key_id(pk, st.pk_id);
		memcpy(res->key_id, st.pk_id, sizeof(res->key_id));
		memcpy(res->key, pk, sizeof(res->key));
	}
	if (set->head != NULL) {
		if (audit_head_parse(set->head, set->headlen, &head) != PG_OK) {
			fail(&st, AUDIT_UNPARSABLE, 0,
			    "head file does not parse");
			return PG_OK;
		}
		st.head = &head;
		if (check_head_sig(&st) != 0)
			return PG_OK;
	}
	res->files = (int)set->n;
	snprintf(
	    res->file, sizeof(res->file), "%.500s", set->src[set->n - 1].path);
	if (set->n > 1 && check_names(&st, set) != 0)
		return PG_OK;
	r = verify_files(&st, set);
	if (r == VERIFY_IO)
		return PG_ERR_IO;
	if (r != 0)
		return PG_OK;
	res->unsigned_tail = res->last_seq -
	    (st.last_ckpt > 0 ? st.last_ckpt : res->first_seq - 1);
	if (res->first_seq > 1)
		snprintf(res->message, sizeof(res->message),
		    "%lld records verified, from seq %lld (older files "
		    "rotated away)",
		    res->records, res->first_seq);
	else
		snprintf(res->message, sizeof(res->message),
		    "%lld records verified", res->records);
	return PG_OK;
}

int
audit_verify_buf(const char *buf, size_t len, const char *headbuf,
    size_t headlen, const unsigned char *pk, struct audit_verify_result *res)
{
	struct audit_set set;
	struct audit_src src;

	audit_src_mem(&src, buf, len);
	memset(&set, 0, sizeof(set));
	set.src = &src;
	set.n = 1;
	set.head = headbuf;
	set.headlen = headlen;
	return verify_set(&set, pk, res);
}

int
audit_verify_set(const char *log, bool siblings, const char *const *files,
    size_t nfiles, const char *pubkey_path, struct audit_verify_result *res)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	struct audit_set set;
	int r;

	memset(res, 0, sizeof(*res));
	if (sodium_init() < 0)
		return PG_ERR_CRYPTO;
	if (pubkey_path != NULL &&
	    (r = audit_load_pubkey(pubkey_path, pk)) != PG_OK)
		return r;
	if ((r = audit_set_open(log, siblings, files, nfiles, &set)) != PG_OK)
		return r;
	if (set.n == 0)
		r = PG_ERR_NOTFOUND;
	else
		r = verify_set(&set, pubkey_path != NULL ? pk : NULL, res);
	audit_set_free(&set);
	return r;
}

int
audit_verify(
    const char *log, const char *pubkey_path, struct audit_verify_result *res)
{
	return audit_verify_set(log, false, NULL, 0, pubkey_path, res);
}
