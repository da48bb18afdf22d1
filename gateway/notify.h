/*
 * notify.h - telling the service manager (systemd's sd_notify datagrams)
 * that the mount answers, that it still does (the watchdog), and that
 * the gateway stops.  See notify.c.
 */
#ifndef PG_GW_NOTIFY_H
#define PG_GW_NOTIFY_H

#include "gateway/gw.h"

/*
 * Takes NOTIFY_SOCKET and WATCHDOG_USEC from the environment and removes
 * them (and WATCHDOG_PID), so that no command the gateway runs can speak
 * for it.  Call once, first in main, before any thread.
 */
void gw_notify_init(void);

/* Sends MSG ("READY=1", "STATUS=...") to the service manager.  0 (also
 * when there is none) or a negative errno. */
int gw_notify(const char *msg);

/*
 * In the serving process, just before the FUSE loop: a thread stats the
 * mount until it answers, then sends READY=1, and while a watchdog is
 * asked for, WATCHDOG=1 every half period, each time only after the
 * mount answered again.  Nothing when there is no service manager.
 * 0, or -1 after logging why.
 */
int gw_notify_watch(struct gw *g);

/* Once the loop has ended: STOPPING=1, and no more watchdog pings. */
void gw_notify_stopping(void);

#endif /* PG_GW_NOTIFY_H */
