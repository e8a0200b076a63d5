/*
 * NVML, the NVIDIA driver's management library, loaded at run time (see
 * telemetry.h): lleval declares the few types and functions it uses itself,
 * so building needs no CUDA and a machine without the driver only loses the
 * GPU numbers. Versioned entry points are preferred with a fallback to the
 * old names (nvmlInit_v2 -> nvmlInit, ...), and every reading that the GPU
 * does not support becomes "unknown" instead of an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/platform/platform.h"
#include "lleval/telemetry/telemetry.h"
#include "lleval/util/util.h"

/* ---- the NVML declarations lleval relies on (a subset of nvml.h) -------- */

typedef int nvmlReturn_t; /* an enum in nvml.h: int-sized */
#define NVML_SUCCESS             0
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_TEMPERATURE_GPU     0  /* nvmlTemperatureSensors_t: the GPU core */
#define NVML_NAME_BUFFER_SIZE    96 /* NVML_DEVICE_NAME_V2_BUFFER_SIZE */

typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct {
    unsigned long long total, free, used; /* bytes */
} nvmlMemory_t;
typedef struct {
    unsigned int gpu, memory; /* percent */
} nvmlUtilization_t;

typedef nvmlReturn_t (*nvml_init_fn)(void);
typedef nvmlReturn_t (*nvml_count_fn)(unsigned int *count);
typedef nvmlReturn_t (*nvml_handle_fn)(unsigned int index, nvmlDevice_t *dev);
typedef nvmlReturn_t (*nvml_memory_fn)(nvmlDevice_t dev, nvmlMemory_t *mem);
typedef nvmlReturn_t (*nvml_util_fn)(nvmlDevice_t dev, nvmlUtilization_t *util);
typedef nvmlReturn_t (*nvml_temp_fn)(nvmlDevice_t dev, int sensor, unsigned int *temp);
typedef nvmlReturn_t (*nvml_uint_fn)(nvmlDevice_t dev, unsigned int *value);
typedef nvmlReturn_t (*nvml_energy_fn)(nvmlDevice_t dev, unsigned long long *mj);
typedef nvmlReturn_t (*nvml_name_fn)(nvmlDevice_t dev, char *name, unsigned int length);
typedef const char *(*nvml_errstr_fn)(nvmlReturn_t rc);

struct lleval_nvml {
    void *lib;
    nvmlDevice_t dev;
    unsigned index;
    bool initialized; /* nvmlInit succeeded: nvmlShutdown on close */
    nvml_init_fn shutdown;
    nvml_errstr_fn error_string;
    /* NULL when absent, or once they answered "not supported" */
    nvml_memory_fn memory;
    nvml_util_fn utilization;
    nvml_temp_fn temperature;
    nvml_uint_fn power;
    nvml_energy_fn energy;
    char name[NVML_NAME_BUFFER_SIZE];
};

/* nvml.dll sits in System32 with current drivers (a bare name: lleval_dl_open
 * searches the exe's folder and System32 only), in NVSMI under %ProgramFiles%
 * (expanded by lleval_dl_open, wherever Windows is installed) with old ones */
static const char *const nvml_names_windows[] = {
    "nvml.dll",
    "%ProgramFiles%\\NVIDIA Corporation\\NVSMI\\nvml.dll",
};
static const char *const nvml_names_posix[] = {"libnvidia-ml.so.1", "libnvidia-ml.so"};

/* Resolves the versioned name, else the old one (NULL when neither exists). */
static lleval_dl_fn sym2(void *lib, const char *versioned, const char *old)
{
    lleval_dl_fn fn = versioned ? lleval_dl_sym(lib, versioned) : NULL;
    return fn ? fn : lleval_dl_sym(lib, old);
}

static const char *nvml_error(const struct lleval_nvml *g, nvmlReturn_t rc, char *buf, size_t size)
{
    const char *s = g->error_string ? g->error_string(rc) : NULL;
    if (s && *s)
        return s;
    snprintf(buf, size, "NVML error %d", rc);
    return buf;
}

/* The NVML index of the GPU the engine most likely uses: CUDA_VISIBLE_DEVICES's
 * first entry when it is a number (a UUID or MIG name falls back to 0). */
static unsigned wanted_index(void)
{
    const char *cvd = getenv("CUDA_VISIBLE_DEVICES");
    char first[32];
    size_t n = 0;
    long idx;
    if (!cvd)
        return 0;
    while (cvd[n] && cvd[n] != ',' && n + 1 < sizeof(first)) {
        first[n] = cvd[n];
        n++;
    }
    first[n] = '\0';
    if (lleval_parse_long(first, 0, 1 << 20, &idx))
        return 0;
    return (unsigned)idx;
}

static void *load_library(char *why, size_t why_size)
{
    const char *env = getenv("LLEVAL_NVML_LIBRARY");
    char reason[512];
    if (env && *env) {
        void *lib = lleval_dl_open(env, reason, sizeof(reason));
        if (!lib)
            snprintf(why, why_size, "cannot load '%s' (LLEVAL_NVML_LIBRARY): %s", env, reason);
        return lib;
    }
    bool windows = lleval_platform_is_windows();
    const char *const *names = windows ? nvml_names_windows : nvml_names_posix;
    size_t n =
        windows ? LLEVAL_ARRAY_SIZE(nvml_names_windows) : LLEVAL_ARRAY_SIZE(nvml_names_posix);
    for (size_t i = 0; i < n; i++) {
        void *lib = lleval_dl_open(names[i], reason, sizeof(reason));
        if (lib)
            return lib;
    }
    snprintf(why, why_size, "%s not found (no NVIDIA driver)", names[0]);
    return NULL;
}

struct lleval_nvml *lleval_nvml_open(char *why, size_t why_size)
{
    struct lleval_nvml *g = lleval_xcalloc(1, sizeof(*g));
    nvml_init_fn init;
    nvml_count_fn count_devices;
    nvml_handle_fn handle;
    nvml_name_fn get_name;
    unsigned int count = 0;
    char ebuf[64];
    nvmlReturn_t rc;

    g->lib = load_library(why, why_size);
    if (!g->lib)
        goto fail;
    init = (nvml_init_fn)sym2(g->lib, "nvmlInit_v2", "nvmlInit");
    g->shutdown = (nvml_init_fn)lleval_dl_sym(g->lib, "nvmlShutdown");
    count_devices = (nvml_count_fn)sym2(g->lib, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount");
    handle =
        (nvml_handle_fn)sym2(g->lib, "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex");
    g->error_string = (nvml_errstr_fn)lleval_dl_sym(g->lib, "nvmlErrorString");
    if (!init || !g->shutdown || !count_devices || !handle) {
        snprintf(why, why_size, "the NVML library lacks %s (not NVML, or too old a driver)",
                 !init            ? "nvmlInit"
                 : !g->shutdown   ? "nvmlShutdown"
                 : !count_devices ? "nvmlDeviceGetCount"
                                  : "nvmlDeviceGetHandleByIndex");
        goto fail;
    }
    rc = init();
    if (rc != NVML_SUCCESS) {
        snprintf(why, why_size, "nvmlInit failed: %s", nvml_error(g, rc, ebuf, sizeof(ebuf)));
        goto fail;
    }
    g->initialized = true;
    rc = count_devices(&count);
    if (rc != NVML_SUCCESS) {
        snprintf(why, why_size, "nvmlDeviceGetCount failed: %s",
                 nvml_error(g, rc, ebuf, sizeof(ebuf)));
        goto fail;
    }
    if (count == 0) {
        snprintf(why, why_size, "NVML sees no GPU");
        goto fail;
    }
    g->index = wanted_index();
    if (g->index >= count) {
        snprintf(why, why_size,
                 "CUDA_VISIBLE_DEVICES names GPU %u but NVML sees %u GPU%s (indexes from 0)",
                 g->index, count, count == 1 ? "" : "s");
        goto fail;
    }
    rc = handle(g->index, &g->dev);
    if (rc != NVML_SUCCESS) {
        snprintf(why, why_size, "cannot open GPU %u: %s", g->index,
                 nvml_error(g, rc, ebuf, sizeof(ebuf)));
        goto fail;
    }
    get_name = (nvml_name_fn)lleval_dl_sym(g->lib, "nvmlDeviceGetName");
    if (!get_name || get_name(g->dev, g->name, sizeof(g->name)) != NVML_SUCCESS)
        g->name[0] = '\0';
    g->name[sizeof(g->name) - 1] = '\0';
    g->memory = (nvml_memory_fn)lleval_dl_sym(g->lib, "nvmlDeviceGetMemoryInfo");
    g->utilization = (nvml_util_fn)lleval_dl_sym(g->lib, "nvmlDeviceGetUtilizationRates");
    g->temperature = (nvml_temp_fn)lleval_dl_sym(g->lib, "nvmlDeviceGetTemperature");
    g->power = (nvml_uint_fn)lleval_dl_sym(g->lib, "nvmlDeviceGetPowerUsage");
    g->energy = (nvml_energy_fn)lleval_dl_sym(g->lib, "nvmlDeviceGetTotalEnergyConsumption");
    return g;
fail:
    lleval_nvml_close(g);
    return NULL;
}

const char *lleval_nvml_name(const struct lleval_nvml *g)
{
    return g->name;
}

unsigned lleval_nvml_index(const struct lleval_nvml *g)
{
    return g->index;
}

bool lleval_nvml_has_energy_counter(const struct lleval_nvml *g)
{
    return g->energy != NULL;
}

void lleval_nvml_read(struct lleval_nvml *g, struct lleval_gpu_reading *out)
{
    nvmlReturn_t rc;
    out->mem_used_mib = out->mem_total_mib = out->util_pct = -1;
    out->temp_c = out->power_w = out->energy_mj = -1;
    if (g->memory) {
        nvmlMemory_t m;
        rc = g->memory(g->dev, &m);
        if (rc == NVML_SUCCESS) {
            out->mem_used_mib = (double)(m.used / (1024 * 1024));
            out->mem_total_mib = (double)(m.total / (1024 * 1024));
        } else if (rc == NVML_ERROR_NOT_SUPPORTED) {
            g->memory = NULL;
        }
    }
    if (g->utilization) {
        nvmlUtilization_t u;
        rc = g->utilization(g->dev, &u);
        if (rc == NVML_SUCCESS)
            out->util_pct = u.gpu;
        else if (rc == NVML_ERROR_NOT_SUPPORTED)
            g->utilization = NULL;
    }
    if (g->temperature) {
        unsigned int c;
        rc = g->temperature(g->dev, NVML_TEMPERATURE_GPU, &c);
        if (rc == NVML_SUCCESS)
            out->temp_c = c;
        else if (rc == NVML_ERROR_NOT_SUPPORTED)
            g->temperature = NULL;
    }
    if (g->power) {
        unsigned int mw;
        rc = g->power(g->dev, &mw);
        if (rc == NVML_SUCCESS)
            out->power_w = mw / 1000.0;
        else if (rc == NVML_ERROR_NOT_SUPPORTED)
            g->power = NULL;
    }
    if (g->energy) {
        unsigned long long mj;
        rc = g->energy(g->dev, &mj);
        if (rc == NVML_SUCCESS)
            out->energy_mj = (double)mj;
        else if (rc == NVML_ERROR_NOT_SUPPORTED)
            g->energy = NULL; /* before Volta: the sampler integrates power instead */
    }
}

void lleval_nvml_close(struct lleval_nvml *g)
{
    if (!g)
        return;
    if (g->initialized)
        g->shutdown();
    lleval_dl_close(g->lib);
    free(g);
}
