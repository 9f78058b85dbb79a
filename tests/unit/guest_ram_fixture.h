/* cmocka group fixture shared by the loader tests: one guest RAM of
 * FIXTURE_RAM bytes (default HVLAB_RAM_MIN) passed to every test as *state. */
#ifndef TESTS_UNIT_GUEST_RAM_FIXTURE_H
#define TESTS_UNIT_GUEST_RAM_FIXTURE_H

#include "abi/hvlab_abi.h"
#include "libhv/guestmem.h"

#ifndef FIXTURE_RAM
#define FIXTURE_RAM HVLAB_RAM_MIN
#endif

static int guest_ram_setup(void **state)
{
    static struct guest_mem gm;
    char e[256];
    if (guest_mem_create(&gm, FIXTURE_RAM, e, sizeof(e)))
        return -1;
    *state = &gm;
    return 0;
}

static int guest_ram_teardown(void **state)
{
    guest_mem_destroy(*state);
    return 0;
}

#endif
