/*
 * ops.h - the FUSE operations of the gateway (high-level libfuse API), in
 * ops_meta.c (what may be seen and what may never be changed) and
 * ops_file.c (opening, reading, creating and writing files).
 */
#ifndef PG_GW_OPS_H
#define PG_GW_OPS_H

/* FUSE_USE_VERSION comes from gateway/meson.build. */
#include <fuse.h>

struct gw_handle;

/* The table main.c hands to fuse_new(). */
extern const struct fuse_operations gw_operations;

/* A connection of UID's (CONN: its private data) ended: its files still
 * open get no RELEASE, so they are released (and audited) here. */
void gw_release_conn(uid_t uid, const void *conn);

/* fstat of an open handle's file, presented as getattr presents it. */
int gw_handle_fstat(struct gw_handle *h, struct stat *st);

/* The size and mtime (only) H's file had when H was opened for reading,
 * taken by the open's own fstat: a view judges its cached pages by them
 * without a second fstat on every open. */
int gw_handle_opened(struct gw_handle *h, struct stat *st);

int gw_op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi);
int gw_op_opendir(const char *path, struct fuse_file_info *fi);
int gw_op_releasedir(const char *path, struct fuse_file_info *fi);
int gw_op_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
    struct fuse_file_info *fi, enum fuse_readdir_flags flags);
int gw_op_statfs(const char *path, struct statvfs *sv);
int gw_op_unlink(const char *path);
int gw_op_rmdir(const char *path);
int gw_op_mkdir(const char *path, mode_t mode);
int gw_op_mknod(const char *path, mode_t mode, dev_t dev);
int gw_op_symlink(const char *target, const char *path);
int gw_op_link(const char *from, const char *to);
int gw_op_rename(const char *from, const char *to, unsigned int flags);
int gw_op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi);
int gw_op_chown(
    const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi);
int gw_op_truncate(const char *path, off_t size, struct fuse_file_info *fi);
int gw_op_utimens(
    const char *path, const struct timespec tv[2], struct fuse_file_info *fi);
int gw_op_setxattr(const char *path, const char *name, const char *value,
    size_t size, int flags);
int gw_op_removexattr(const char *path, const char *name);

#endif /* PG_GW_OPS_H */
