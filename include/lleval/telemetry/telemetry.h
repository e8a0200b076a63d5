/*
 * Local telemetry during a run (enable_local_telemetry: true): GPU memory,
 * utilization, temperature, power and energy through NVML, host CPU busy %
 * and the resident memory of a managed engine process. docs/telemetry.md
 * describes it for users; docs/formats.md fixes the JSON.
 *
 * NVML is loaded at run time (libnvidia-ml.so.1, nvml.dll on Windows; env
 * LLEVAL_NVML_LIBRARY names another file): there is no build-time CUDA
 * dependency, and a machine without an NVIDIA driver is not an error, only
 * a status "unavailable: <reason>".
 *
 * Use: the run keeps one sampler and one accumulator per part and per trial.
 * On each scheduler tick it calls lleval_telemetry_sample(); when that
 * returns a sample (at most one per interval_ms) the run adds it to the
 * accumulators of the parts and trials active at that moment. Sampling does
 * not allocate. lleval_telemetry_json() renders an accumulator.
 */
#ifndef LLEVAL_TELEMETRY_H
#define LLEVAL_TELEMETRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* ---- NVML: one GPU, read directly ------------------------------------- */

/* One reading of the GPU. Fields below 0 are unknown: not supported by the
 * GPU or driver, or the call failed this time. */
struct lleval_gpu_reading {
    double mem_used_mib;
    double mem_total_mib;
    double util_pct;  /* percent of time a kernel ran over the driver's last period */
    double temp_c;    /* GPU core sensor */
    double power_w;   /* board power draw */
    double energy_mj; /* energy counter: mJ since the driver loaded (Volta and newer) */
};

struct lleval_nvml;

/*
 * Loads NVML and opens the GPU that CUDA_VISIBLE_DEVICES names first (when
 * its first entry is a number; else GPU 0). Returns an owned handle, or NULL
 * with why (a phrase like "libnvidia-ml.so.1 not found (no NVIDIA driver)")
 * written into why[0..why_size).
 */
struct lleval_nvml *lleval_nvml_open(char *why, size_t why_size);
/* The GPU's name and NVML index; borrowed, valid until close. */
const char *lleval_nvml_name(const struct lleval_nvml *g);
unsigned lleval_nvml_index(const struct lleval_nvml *g);
/* True while the energy counter works; false once it said "not supported"
 * (or the library lacks it): energy is then integrated from power. */
bool lleval_nvml_has_energy_counter(const struct lleval_nvml *g);
/* Reads everything once; never allocates. */
void lleval_nvml_read(struct lleval_nvml *g, struct lleval_gpu_reading *out);
/* Shuts NVML down and unloads it. NULL is fine. */
void lleval_nvml_close(struct lleval_nvml *g);

/* ---- the sampler -------------------------------------------------------- */

/* One sample. Values below 0 are unknown. */
struct lleval_telemetry_sample {
    double t; /* the `now` given to lleval_telemetry_sample() */
    bool gpu; /* the GPU was read (NVML is loaded) */
    struct lleval_gpu_reading g;
    double energy_j;       /* GPU energy since the previous sample */
    double cpu_pct;        /* whole-machine CPU busy % since the previous sample */
    double engine_rss_mib; /* resident memory of the managed engine process */
};

/*
 * Per part or per trial: peaks, sums and counts of the samples it was given.
 * A plain value: initialize with lleval_telemetry_acc_init (or zero it);
 * nothing to free.
 */
struct lleval_telemetry_acc {
    long samples;
    long gpu_n, mem_n, util_n, temp_n, power_n, energy_n, cpu_n, rss_n;
    double mem_peak_mib, mem_total_mib;
    double util_sum, util_peak;
    double temp_peak;
    double power_sum;
    double energy_j;
    double cpu_sum, cpu_peak;
    double rss_peak_mib;
    /* what an earlier session of a resumed run recorded (lleval_telemetry_acc_restore) */
    long restored_samples;
    char status[160];
    char gpu_name[96];
    char energy_source[24];
};

void lleval_telemetry_acc_init(struct lleval_telemetry_acc *a);
/* Adds one sample (borrowed). */
void lleval_telemetry_acc_add(struct lleval_telemetry_acc *a,
                              const struct lleval_telemetry_sample *s);
/* Starts a from the "telemetry" object (borrowed; NULL or malformed is
 * ignored) that an earlier session wrote, so that a resumed run keeps it:
 * peaks and energy carry over, means are weighted by their sample counts. */
void lleval_telemetry_acc_restore(struct lleval_telemetry_acc *a, const json_t *telemetry);

struct lleval_telemetry;

/*
 * Returns an owned sampler that samples nothing yet: status "disabled" when
 * enabled is false, else "unavailable: not sampled (sampling starts with the
 * poll step)". interval_ms <= 0 means the default, 1000.
 */
struct lleval_telemetry *lleval_telemetry_new(bool enabled, long interval_ms);
/* Loads NVML when enabled and starts sampling; returns the status (borrowed):
 * "ok", "disabled" or "unavailable: <reason>". Never an error: without a GPU
 * the host is still sampled. Calling it again does nothing. */
const char *lleval_telemetry_start(struct lleval_telemetry *t);
/* Stops sampling and unloads NVML; the status and the GPU's facts stay for
 * lleval_telemetry_json(). */
void lleval_telemetry_stop(struct lleval_telemetry *t);
/* new + start. */
struct lleval_telemetry *lleval_telemetry_open(bool enabled, long interval_ms);
void lleval_telemetry_free(struct lleval_telemetry *t);

/* Borrowed status string (see start). */
const char *lleval_telemetry_status(const struct lleval_telemetry *t);
long lleval_telemetry_interval_ms(const struct lleval_telemetry *t);

/*
 * Takes a sample when sampling and interval_ms has passed since the last one
 * (the first call samples at once). now is lleval_monotonic() or any clock
 * in seconds; engine_pid is the managed engine's process (0: none). Returns
 * the sample (borrowed, valid until the next call) or NULL when it was not
 * time. Does not allocate.
 */
const struct lleval_telemetry_sample *lleval_telemetry_sample(struct lleval_telemetry *t,
                                                              double now, long engine_pid);

/*
 * Renders an accumulator as docs/formats.md's "telemetry" object (returns
 * owned JSON, never NULL). t may be NULL (status "disabled"); tokens are the
 * completion tokens of the part or trial, for energy_per_token_j.
 */
json_t *lleval_telemetry_json(const struct lleval_telemetry *t,
                              const struct lleval_telemetry_acc *a, long completion_tokens);

#endif
