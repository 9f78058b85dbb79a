#ifndef GUEST_SYSCALLS_CMD_H
#define GUEST_SYSCALLS_CMD_H

int cmd_syscalls(int argc, char **argv);  /* `syscalls N` */

#endif
