/*
 * backing.h - the one way the gateway touches the photo store: resolve a
 * relative path beneath the store root (openat2 with RESOLVE_BENEATH,
 * RESOLVE_NO_SYMLINKS, RESOLVE_NO_MAGICLINKS and RESOLVE_NO_XDEV, on every
 * call: no fd is kept per inode), serve only regular files and
 * directories, and read or create files.  Encryption at rest of the store
 * will live behind this interface.  Functions return 0 or -errno.
 */
#ifndef PG_GW_BACKING_H
#define PG_GW_BACKING_H

#include <dirent.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

struct backing;
struct backing_file;

/*
 * Opens the store root PATH.  Refuses (-EPERM) a root that others than
 * its owner may enter (mode & 077), and a root not owned by OWNER when
 * OWNER is not (uid_t)-1.  *OUT is freed with backing_free().
 */
int backing_open_root(const char *path, uid_t owner, struct backing **out);

/* Frees B; NULL is a no-op. */
void backing_free(struct backing *b);

/*
 * Stats REL ("" is the root) beneath the root.  Only a directory or a
 * regular file with a single link is served; everything else, and every
 * path that would leave the store or cross a symlink or mount, is
 * -ENOENT (it does not exist through the gateway).
 */
int backing_stat(const struct backing *b, const char *rel, struct stat *st);

/* Opens the directory REL for listing; *OUT is closedir()'s. */
int backing_opendir(const struct backing *b, const char *rel, DIR **out);

/*
 * Stats the entry NAME of the directory D opened by backing_opendir():
 * 0 and *ST when it may be served (as backing_stat() decides), else
 * -ENOENT.
 */
int backing_entry_stat(
    const struct backing *b, DIR *d, const char *name, struct stat *st);

/*
 * Opens the regular file REL for reading; *ST is its state at open.
 * *OUT is closed with backing_close().
 */
int backing_open_read(const struct backing *b, const char *rel,
    struct backing_file **out, struct stat *st);

/*
 * Creates REL exclusively (never replacing anything) for writing, owned
 * by the store's owner, mode 0640.
 */
int backing_create(const struct backing *b, const char *rel,
    struct backing_file **out, struct stat *st);

/* Reads up to N bytes at OFF; returns the count or -errno. */
ssize_t backing_pread(struct backing_file *f, void *buf, size_t n, off_t off);

/* Writes N bytes at OFF; returns the count or -errno. */
ssize_t backing_pwrite(
    struct backing_file *f, const void *buf, size_t n, off_t off);

/* fstat of an open file. */
int backing_fstat(struct backing_file *f, struct stat *st);

/* Closes F; NULL is a no-op. */
void backing_close(struct backing_file *f);

/* statvfs of the store. */
int backing_statvfs(const struct backing *b, struct statvfs *sv);

#endif /* PG_GW_BACKING_H */
