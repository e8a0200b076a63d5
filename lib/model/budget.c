/* The default memory budget of a plan: NVML, host RAM, or the guide's card (budget.h). */
#include <stdio.h>
#include "lleval/model/budget.h"
#include "lleval/platform/platform.h"
#include "lleval/telemetry/telemetry.h"

uint64_t lleval_vram_default_budget(enum lleval_vram_device dev, char *source, size_t size)
{
    if (dev == LLEVAL_VRAM_CPU) {
        uint64_t bytes;
        if (!lleval_host_mem_bytes(&bytes) && bytes) {
            snprintf(source, size, "host memory");
            return bytes;
        }
        snprintf(source, size, "assumed 16 GiB (host memory unknown; pass --vram)");
        return LLEVAL_DEFAULT_BUDGET;
    }
    {
        char why[160] = "";
        struct lleval_nvml *g = lleval_nvml_open(why, sizeof(why));
        if (g) {
            struct lleval_gpu_reading r;
            lleval_nvml_read(g, &r);
            if (r.mem_total_mib > 0) {
                uint64_t bytes = (uint64_t)(r.mem_total_mib * (double)LLEVAL_MIB);
                snprintf(source, size, "NVML: %s", lleval_nvml_name(g));
                lleval_nvml_close(g);
                return bytes;
            }
            lleval_nvml_close(g);
        }
    }
    snprintf(source, size, "assumed: the guide's 16 GiB card; no NVIDIA GPU found, pass --vram");
    return LLEVAL_DEFAULT_BUDGET;
}
