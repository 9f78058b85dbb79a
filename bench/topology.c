/*
 * Topology and CPU pinning with hwloc.  Why pin: the ring-3 engine's monitor
 * and guest process hand the CPU to each other on every exit, and a ptrace
 * round trip across two CPUs costs 10-20x one on the same CPU
 * (MACHINE-NOTES.md); QEMU's threads and the native row's two ping-pong
 * processes likewise.  So the harness binds itself to one processing unit
 * before it starts anything, and every row inherits the binding.  The last PU
 * is chosen: CPU 0 takes most of the host's interrupts and housekeeping.
 */
#include "bench/bench.h"

#include <hwloc.h>
#include <stdio.h>
#include <stdlib.h>

static int count(hwloc_topology_t t, hwloc_obj_type_t type)
{
    int n = hwloc_get_nbobjs_by_type(t, type);
    return n < 0 ? 0 : n;
}

static void describe(struct results *res, hwloc_topology_t t)
{
    results_machine(res, "topology", "%d package(s), %d NUMA node(s), %d core(s), %d PU(s)",
                    count(t, HWLOC_OBJ_PACKAGE), count(t, HWLOC_OBJ_NUMANODE),
                    count(t, HWLOC_OBJ_CORE), count(t, HWLOC_OBJ_PU));
    hwloc_obj_t l3 = hwloc_get_obj_by_type(t, HWLOC_OBJ_L3CACHE, 0);
    hwloc_obj_t l2 = hwloc_get_obj_by_type(t, HWLOC_OBJ_L2CACHE, 0);
    if (l2 && l2->attr)
        results_machine(res, "l2_cache", "%llu KiB", (unsigned long long)l2->attr->cache.size >> 10);
    if (l3 && l3->attr)
        results_machine(res, "l3_cache", "%llu KiB", (unsigned long long)l3->attr->cache.size >> 10);
    hwloc_obj_t root = hwloc_get_root_obj(t);
    if (root && root->total_memory)
        results_machine(res, "memory", "%llu MiB", (unsigned long long)root->total_memory >> 20);
}

static void pin(struct results *res, hwloc_topology_t t)
{
    int n = count(t, HWLOC_OBJ_PU);
    hwloc_obj_t pu = n ? hwloc_get_obj_by_type(t, HWLOC_OBJ_PU, (unsigned)n - 1) : NULL;
    if (!pu) {
        results_machine(res, "pinning", "none (hwloc found no processing unit)");
        return;
    }
    hwloc_bitmap_t set = hwloc_bitmap_dup(pu->cpuset);
    hwloc_bitmap_singlify(set);
    if (hwloc_set_cpubind(t, set, HWLOC_CPUBIND_PROCESS) < 0) {
        results_machine(res, "pinning", "none (hwloc_set_cpubind failed: the runs may migrate)");
    } else {
        results_machine(res, "pinning",
                        "every row on PU L#%u (OS CPU %u): monitor, guest process, QEMU and the "
                        "native row's processes share it (hwloc_set_cpubind)",
                        pu->logical_index, pu->os_index);
    }
    hwloc_bitmap_free(set);
}

void topology_describe_and_pin(struct results *res, bool want_pin)
{
    hwloc_topology_t t;
    if (hwloc_topology_init(&t) < 0 || hwloc_topology_load(t) < 0) {
        results_machine(res, "topology", "unknown (hwloc could not load the topology)");
        results_machine(res, "pinning", "none");
        return;
    }
    describe(res, t);
    if (want_pin)
        pin(res, t);
    else
        results_machine(res, "pinning", "none (--no-pin)");
    hwloc_topology_destroy(t);
}
