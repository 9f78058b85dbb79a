/* sensitive.h - the `sensitive` command: what sensitive, unprivileged
 * instructions show (sensitive.c). */
#ifndef GUEST_SENSITIVE_H
#define GUEST_SENSITIVE_H

int sensitive_run(void);        /* always 0: a demonstration, not a test */

#endif
