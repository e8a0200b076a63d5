/*
 * A fake NVML (libnvidia-ml) for the telemetry tests: a shared library with
 * the entry points lleval loads, answering scripted values. lleval loads it
 * through LLEVAL_NVML_LIBRARY, the same code path as the real library.
 *
 * Built twice from this file (tests/CMakeLists.txt): fake_nvml exports the
 * versioned names (nvmlInit_v2, nvmlDeviceGetCount_v2,
 * nvmlDeviceGetHandleByIndex_v2) and the old ones, and the energy counter;
 * fake_nvml_legacy (-DFAKE_NVML_LEGACY) only the old names and no
 * nvmlDeviceGetTotalEnergyConsumption, like a pre-Volta driver.
 *
 * Environment (read by nvmlInit when the library is not initialized yet):
 *   LLEVAL_FAKE_NVML_SCRIPT       a file, one line per sample:
 *                                 "mem_used_mib util_pct temp_c power_w";
 *                                 '#' starts a comment; "-" in a column makes
 *                                 that reading fail (NVML_ERROR_UNKNOWN) for
 *                                 that sample. Each query function has its own
 *                                 cursor: its n-th call answers line n, and
 *                                 calls past the end repeat the last line.
 *                                 Without a script: a built-in 4-line cycle.
 *   LLEVAL_FAKE_NVML_FAIL         "init": nvmlInit fails with
 *                                 NVML_ERROR_DRIVER_NOT_LOADED; "nodevice":
 *                                 nvmlDeviceGetCount answers 0
 *   LLEVAL_FAKE_NVML_DEVICES      how many GPUs (default 1, at most 8)
 *   LLEVAL_FAKE_NVML_UNSUPPORTED  comma list of memory, utilization,
 *                                 temperature, power, energy, name: those
 *                                 answer NVML_ERROR_NOT_SUPPORTED
 *
 * Memory total is 16303 MiB (an RTX 5080's 16 GB). The energy counter starts
 * at 5000000 mJ and each call adds its line's power x 1 s (power_w x 1000 mJ).
 * Devices are named "Fake NVIDIA GPU <index>".
 *
 * For the tests' own checks it also exports fake_nvml_calls(name) (how often
 * an entry point was called since the library was loaded) and
 * fake_nvml_refcount() (nvmlInit calls not yet matched by nvmlShutdown).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int nvmlReturn_t;
#define NVML_SUCCESS                 0
#define NVML_ERROR_UNINITIALIZED     1
#define NVML_ERROR_INVALID_ARGUMENT  2
#define NVML_ERROR_NOT_SUPPORTED     3
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_DRIVER_NOT_LOADED 9
#define NVML_ERROR_UNKNOWN           999

struct nvmlDevice_st {
    unsigned index;
};
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct {
    unsigned long long total, free, used;
} nvmlMemory_t;
typedef struct {
    unsigned int gpu, memory;
} nvmlUtilization_t;

#define MAX_LINES   4096
#define MAX_DEVICES 8
#define TOTAL_MIB   16303ULL
#define MIB         (1024ULL * 1024ULL)

enum col { C_MEM, C_UTIL, C_TEMP, C_POWER, N_COLS };
enum cursor { K_MEM, K_UTIL, K_TEMP, K_POWER, K_ENERGY, N_CURSORS };

static const double builtin[4][N_COLS] = {
    {8192, 60, 61, 180},
    {10240, 85, 66, 240},
    {12288, 97, 70, 290},
    {9216, 70, 68, 210},
};

static double lines[MAX_LINES][N_COLS]; /* < 0: that reading fails */
static size_t n_lines;                  /* 0: the built-in cycle */
static size_t cursors[N_CURSORS];
static int refcount;
static unsigned n_devices = 1;
static int fail_count_zero;
static unsigned long long energy_mj;
static struct nvmlDevice_st devices[MAX_DEVICES];
static char unsupported[256];

static const char *const call_names[] = {
    "nvmlInit_v2",
    "nvmlInit",
    "nvmlShutdown",
    "nvmlDeviceGetCount_v2",
    "nvmlDeviceGetCount",
    "nvmlDeviceGetHandleByIndex_v2",
    "nvmlDeviceGetHandleByIndex",
    "nvmlDeviceGetName",
    "nvmlDeviceGetMemoryInfo",
    "nvmlDeviceGetUtilizationRates",
    "nvmlDeviceGetTemperature",
    "nvmlDeviceGetPowerUsage",
    "nvmlDeviceGetTotalEnergyConsumption",
    "nvmlErrorString",
};
#define N_CALLS (sizeof(call_names) / sizeof(call_names[0]))
static int call_counts[N_CALLS];

static void count_call(const char *name)
{
    for (size_t i = 0; i < N_CALLS; i++)
        if (!strcmp(call_names[i], name))
            call_counts[i]++;
}

int fake_nvml_calls(const char *name)
{
    for (size_t i = 0; i < N_CALLS; i++)
        if (!strcmp(call_names[i], name))
            return call_counts[i];
    return -1;
}

int fake_nvml_refcount(void)
{
    return refcount;
}

static int is_unsupported(const char *what)
{
    size_t n = strlen(what);
    const char *p = unsupported;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncmp(p, what, n))
            return 1;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* Parses one script line into out; returns 1 for a data line, 0 to skip it. */
static int parse_line(char *s, double out[N_COLS])
{
    char *hash = strchr(s, '#');
    int col = 0;
    if (hash)
        *hash = '\0';
    while (col < N_COLS) {
        char *end;
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s || *s == '\n' || *s == '\r')
            break;
        if (*s == '-' && (s[1] == ' ' || s[1] == '\t' || !s[1] || s[1] == '\n' || s[1] == '\r')) {
            out[col++] = -1;
            s++;
            continue;
        }
        errno = 0;
        out[col] = strtod(s, &end);
        if (end == s || errno)
            return 0;
        col++;
        s = end;
    }
    return col == N_COLS;
}

static void load_script(void)
{
    const char *path = getenv("LLEVAL_FAKE_NVML_SCRIPT");
    char buf[512];
    FILE *f;
    n_lines = 0;
    if (!path || !*path || !(f = fopen(path, "r")))
        return;
    while (n_lines < MAX_LINES && fgets(buf, sizeof(buf), f))
        if (parse_line(buf, lines[n_lines]))
            n_lines++;
    fclose(f);
}

/* The value of a column for the next call of a cursor. */
static double next_value(enum cursor k, enum col c)
{
    size_t i = cursors[k]++;
    if (!n_lines)
        return builtin[i % 4][c];
    return lines[i < n_lines ? i : n_lines - 1][c];
}

static nvmlReturn_t init(void)
{
    const char *fail = getenv("LLEVAL_FAKE_NVML_FAIL");
    const char *devs = getenv("LLEVAL_FAKE_NVML_DEVICES");
    const char *unsup = getenv("LLEVAL_FAKE_NVML_UNSUPPORTED");
    if (fail && !strcmp(fail, "init"))
        return NVML_ERROR_DRIVER_NOT_LOADED;
    if (refcount++ > 0)
        return NVML_SUCCESS;
    fail_count_zero = fail && !strcmp(fail, "nodevice");
    n_devices = 1;
    if (devs && *devs) {
        char *end;
        long n = strtol(devs, &end, 10);
        if (!*end && n >= 0 && n <= MAX_DEVICES)
            n_devices = (unsigned)n;
    }
    snprintf(unsupported, sizeof(unsupported), "%s", unsup ? unsup : "");
    for (unsigned i = 0; i < MAX_DEVICES; i++)
        devices[i].index = i;
    memset(cursors, 0, sizeof(cursors));
    energy_mj = 5000000ULL;
    load_script();
    return NVML_SUCCESS;
}

#ifndef FAKE_NVML_LEGACY
nvmlReturn_t nvmlInit_v2(void)
{
    count_call("nvmlInit_v2");
    return init();
}
#endif

nvmlReturn_t nvmlInit(void)
{
    count_call("nvmlInit");
    return init();
}

nvmlReturn_t nvmlShutdown(void)
{
    count_call("nvmlShutdown");
    if (refcount <= 0)
        return NVML_ERROR_UNINITIALIZED;
    refcount--;
    return NVML_SUCCESS;
}

static nvmlReturn_t get_count(unsigned int *count)
{
    if (refcount <= 0)
        return NVML_ERROR_UNINITIALIZED;
    if (!count)
        return NVML_ERROR_INVALID_ARGUMENT;
    *count = fail_count_zero ? 0 : n_devices;
    return NVML_SUCCESS;
}

#ifndef FAKE_NVML_LEGACY
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
    count_call("nvmlDeviceGetCount_v2");
    return get_count(count);
}
#endif

nvmlReturn_t nvmlDeviceGetCount(unsigned int *count)
{
    count_call("nvmlDeviceGetCount");
    return get_count(count);
}

static nvmlReturn_t get_handle(unsigned int index, nvmlDevice_t *dev)
{
    if (refcount <= 0)
        return NVML_ERROR_UNINITIALIZED;
    if (!dev || index >= n_devices || fail_count_zero)
        return NVML_ERROR_INVALID_ARGUMENT;
    *dev = &devices[index];
    return NVML_SUCCESS;
}

#ifndef FAKE_NVML_LEGACY
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *dev)
{
    count_call("nvmlDeviceGetHandleByIndex_v2");
    return get_handle(index, dev);
}
#endif

nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *dev)
{
    count_call("nvmlDeviceGetHandleByIndex");
    return get_handle(index, dev);
}

/* Common checks of the device queries. */
static nvmlReturn_t check(nvmlDevice_t dev, const void *out, const char *what)
{
    if (refcount <= 0)
        return NVML_ERROR_UNINITIALIZED;
    if (!dev || dev < devices || dev >= devices + n_devices || !out)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (is_unsupported(what))
        return NVML_ERROR_NOT_SUPPORTED;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t dev, char *name, unsigned int length)
{
    nvmlReturn_t rc = check(dev, name, "name");
    int n;
    count_call("nvmlDeviceGetName");
    if (rc)
        return rc;
    n = snprintf(name, length, "Fake NVIDIA GPU %u", dev->index);
    return n < 0 || (unsigned)n >= length ? NVML_ERROR_INSUFFICIENT_SIZE : NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t dev, nvmlMemory_t *mem)
{
    nvmlReturn_t rc = check(dev, mem, "memory");
    double used;
    count_call("nvmlDeviceGetMemoryInfo");
    if (rc)
        return rc;
    used = next_value(K_MEM, C_MEM);
    if (used < 0)
        return NVML_ERROR_UNKNOWN;
    mem->total = TOTAL_MIB * MIB;
    mem->used = (unsigned long long)used * MIB;
    mem->free = mem->total > mem->used ? mem->total - mem->used : 0;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t dev, nvmlUtilization_t *util)
{
    nvmlReturn_t rc = check(dev, util, "utilization");
    double v;
    count_call("nvmlDeviceGetUtilizationRates");
    if (rc)
        return rc;
    v = next_value(K_UTIL, C_UTIL);
    if (v < 0)
        return NVML_ERROR_UNKNOWN;
    util->gpu = (unsigned)v;
    util->memory = (unsigned)v / 2;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t dev, int sensor, unsigned int *temp)
{
    nvmlReturn_t rc = check(dev, temp, "temperature");
    double v;
    count_call("nvmlDeviceGetTemperature");
    if (rc)
        return rc;
    if (sensor != 0)
        return NVML_ERROR_INVALID_ARGUMENT; /* only NVML_TEMPERATURE_GPU exists */
    v = next_value(K_TEMP, C_TEMP);
    if (v < 0)
        return NVML_ERROR_UNKNOWN;
    *temp = (unsigned)v;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t dev, unsigned int *mw)
{
    nvmlReturn_t rc = check(dev, mw, "power");
    double v;
    count_call("nvmlDeviceGetPowerUsage");
    if (rc)
        return rc;
    v = next_value(K_POWER, C_POWER);
    if (v < 0)
        return NVML_ERROR_UNKNOWN;
    *mw = (unsigned)(v * 1000.0 + 0.5);
    return NVML_SUCCESS;
}

#ifndef FAKE_NVML_LEGACY
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t dev, unsigned long long *mj)
{
    nvmlReturn_t rc = check(dev, mj, "energy");
    double w;
    count_call("nvmlDeviceGetTotalEnergyConsumption");
    if (rc)
        return rc;
    w = next_value(K_ENERGY, C_POWER);
    if (w < 0)
        return NVML_ERROR_UNKNOWN;
    energy_mj += (unsigned long long)(w * 1000.0 + 0.5);
    *mj = energy_mj;
    return NVML_SUCCESS;
}
#endif

const char *nvmlErrorString(nvmlReturn_t rc)
{
    count_call("nvmlErrorString");
    switch (rc) {
    case NVML_SUCCESS:
        return "Success";
    case NVML_ERROR_UNINITIALIZED:
        return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT:
        return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED:
        return "Not Supported";
    case NVML_ERROR_INSUFFICIENT_SIZE:
        return "Insufficient Size";
    case NVML_ERROR_DRIVER_NOT_LOADED:
        return "Driver Not Loaded";
    default:
        return "Unknown Error";
    }
}
