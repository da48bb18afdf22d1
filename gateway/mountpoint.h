/*
 * mountpoint.h - the mount point made ready before the mount (see
 * mountpoint.c).
 */
#ifndef PG_GW_MOUNTPOINT_H
#define PG_GW_MOUNTPOINT_H

/*
 * Makes MP a directory the gateway can mount on: an existing directory is
 * used as it is; the dead mount of an earlier gateway (ENOTCONN, type
 * fuse.photoguard) is detached; a missing absolute MP is created as root
 * (each missing part root's, 0755, no symlinks).  0, or -1 after logging
 * why.
 */
int gw_mountpoint_prepare(const char *mp);

#endif /* PG_GW_MOUNTPOINT_H */
