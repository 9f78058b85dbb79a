/* selftest.h - the conformance checks behind the `selftest` command. */
#ifndef GUEST_SELFTEST_H
#define GUEST_SELFTEST_H

int selftest_run(void);         /* 0 if every check passed */

#endif
