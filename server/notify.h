/* notify.h: what the alerts and notify modules share. */
#ifndef WARDD_NOTIFY_H
#define WARDD_NOTIFY_H

#include <stdint.h>

/* The time alerting runs on: the system clock plus, for tests only, the whole number of
 * seconds held in the file named by the environment variable WARDD_TEST_CLOCK (read each
 * call, so a test moves time on by rewriting the file).  Unset: the system clock. */
int64_t srv_notify_now(void);

#endif
