/*
 * The telemetry sampler (see telemetry.h): one sample per interval from NVML
 * (lib/telemetry/nvml.c) and the host (lib/platform/posix.c), energy between samples from
 * the GPU's counter or else integrated from power, accumulators with peaks
 * and means, and the "telemetry" JSON of docs/formats.md.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/telemetry/telemetry.h"
#include "lleval/util/util.h"

#define DEFAULT_INTERVAL_MS 1000
/* ticks come every 250 ms give or take a little: a sample due in under this
 * many ms is taken now rather than a whole tick later */
#define JITTER_MS 5.0

struct lleval_telemetry {
    bool enabled;
    bool started;  /* start() ran */
    bool sampling; /* between start() and stop() */
    long interval_ms;
    char status[640];
    struct lleval_nvml *gpu;
    bool had_gpu; /* NVML was loaded in this session */
    char gpu_name[96];
    double mem_total_mib;
    const char *energy_source; /* "counter", "power_integral" or NULL */
    /* the previous sample, for deltas */
    bool have_prev;
    double prev_t, prev_power_w, prev_energy_mj;
    bool have_cpu;
    uint64_t prev_busy, prev_total;
    struct lleval_telemetry_sample cur;
};

/* ---- accumulators ------------------------------------------------------- */

void lleval_telemetry_acc_init(struct lleval_telemetry_acc *a)
{
    memset(a, 0, sizeof(*a));
}

static double maxd(double a, double b)
{
    return a > b ? a : b;
}

void lleval_telemetry_acc_add(struct lleval_telemetry_acc *a,
                              const struct lleval_telemetry_sample *s)
{
    const struct lleval_gpu_reading *g = &s->g;
    a->samples++;
    if (s->gpu) {
        a->gpu_n++;
        if (g->mem_used_mib >= 0) {
            a->mem_peak_mib = a->mem_n++ ? maxd(a->mem_peak_mib, g->mem_used_mib) : g->mem_used_mib;
        }
        if (g->mem_total_mib > 0)
            a->mem_total_mib = g->mem_total_mib;
        if (g->util_pct >= 0) {
            a->util_peak = a->util_n++ ? maxd(a->util_peak, g->util_pct) : g->util_pct;
            a->util_sum += g->util_pct;
        }
        if (g->temp_c >= 0)
            a->temp_peak = a->temp_n++ ? maxd(a->temp_peak, g->temp_c) : g->temp_c;
        if (g->power_w >= 0) {
            a->power_n++;
            a->power_sum += g->power_w;
        }
        if (s->energy_j >= 0) {
            a->energy_n++;
            a->energy_j += s->energy_j;
        }
    }
    if (s->cpu_pct >= 0) {
        a->cpu_peak = a->cpu_n++ ? maxd(a->cpu_peak, s->cpu_pct) : s->cpu_pct;
        a->cpu_sum += s->cpu_pct;
    }
    if (s->engine_rss_mib >= 0)
        a->rss_peak_mib = a->rss_n++ ? maxd(a->rss_peak_mib, s->engine_rss_mib) : s->engine_rss_mib;
}

/* Copies a string field of obj into buf when it is a string. */
static void copy_str(char *buf, size_t size, const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_string(v))
        snprintf(buf, size, "%s", json_string_value(v));
}

/* Reads a number field: true with *out when it is a number >= 0. */
static bool get_num(const json_t *obj, const char *key, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_number(v) || json_number_value(v) < 0)
        return false;
    *out = json_number_value(v);
    return true;
}

void lleval_telemetry_acc_restore(struct lleval_telemetry_acc *a, const json_t *tel)
{
    const json_t *gpu, *host;
    json_t *v = json_object_get(tel, "samples");
    long n;
    double x;

    if (!json_is_object(tel))
        return;
    lleval_telemetry_acc_init(a);
    a->samples = json_is_integer(v) && json_integer_value(v) > 0 ? (long)json_integer_value(v) : 0;
    /* a status without samples says nothing this session cannot say better */
    if (a->samples > 0)
        copy_str(a->status, sizeof(a->status), tel, "status");
    a->restored_samples = a->samples;
    /* a field with a value stands for every sample of the earlier session */
    n = a->samples > 0 ? a->samples : 1;
    gpu = json_object_get(tel, "gpu");
    if (json_is_object(gpu)) {
        copy_str(a->gpu_name, sizeof(a->gpu_name), gpu, "name");
        copy_str(a->energy_source, sizeof(a->energy_source), gpu, "energy_source");
        get_num(gpu, "memory_total_mib", &a->mem_total_mib);
        if (get_num(gpu, "memory_used_peak_mib", &a->mem_peak_mib))
            a->mem_n = n;
        if (get_num(gpu, "utilization_mean_pct", &x)) {
            a->util_n = n;
            a->util_sum = x * (double)n;
            if (!get_num(gpu, "utilization_peak_pct", &a->util_peak))
                a->util_peak = x;
        }
        if (get_num(gpu, "temperature_peak_c", &a->temp_peak))
            a->temp_n = n;
        if (get_num(gpu, "power_mean_w", &x)) {
            a->power_n = n;
            a->power_sum = x * (double)n;
        }
        if (get_num(gpu, "energy_j", &a->energy_j))
            a->energy_n = n;
        if (a->mem_n || a->util_n || a->temp_n || a->power_n || a->energy_n)
            a->gpu_n = n;
    }
    host = json_object_get(tel, "host");
    if (json_is_object(host)) {
        if (get_num(host, "cpu_mean_pct", &x)) {
            a->cpu_n = n;
            a->cpu_sum = x * (double)n;
            if (!get_num(host, "cpu_peak_pct", &a->cpu_peak))
                a->cpu_peak = x;
        }
        if (get_num(host, "engine_rss_peak_mib", &a->rss_peak_mib))
            a->rss_n = n;
    }
}

/* ---- the sampler -------------------------------------------------------- */

struct lleval_telemetry *lleval_telemetry_new(bool enabled, long interval_ms)
{
    struct lleval_telemetry *t = lleval_xcalloc(1, sizeof(*t));
    t->enabled = enabled;
    t->interval_ms = interval_ms > 0 ? interval_ms : DEFAULT_INTERVAL_MS;
    snprintf(t->status, sizeof(t->status), "%s",
             enabled ? "unavailable: not sampled (sampling starts with the poll step)"
                     : "disabled");
    return t;
}

const char *lleval_telemetry_start(struct lleval_telemetry *t)
{
    char why[576];
    if (t->started || !t->enabled)
        return t->status;
    t->started = true;
    t->sampling = true;
    t->have_prev = false;
    t->have_cpu = false;
    t->gpu = lleval_nvml_open(why, sizeof(why));
    if (!t->gpu) {
        snprintf(t->status, sizeof(t->status), "unavailable: %s", why);
        return t->status;
    }
    t->had_gpu = true;
    snprintf(t->gpu_name, sizeof(t->gpu_name), "%s", lleval_nvml_name(t->gpu));
    t->energy_source = lleval_nvml_has_energy_counter(t->gpu) ? "counter" : "power_integral";
    snprintf(t->status, sizeof(t->status), "ok");
    return t->status;
}

void lleval_telemetry_stop(struct lleval_telemetry *t)
{
    if (!t)
        return;
    t->sampling = false;
    lleval_nvml_close(t->gpu);
    t->gpu = NULL;
}

struct lleval_telemetry *lleval_telemetry_open(bool enabled, long interval_ms)
{
    struct lleval_telemetry *t = lleval_telemetry_new(enabled, interval_ms);
    lleval_telemetry_start(t);
    return t;
}

void lleval_telemetry_free(struct lleval_telemetry *t)
{
    if (!t)
        return;
    lleval_telemetry_stop(t);
    free(t);
}

const char *lleval_telemetry_status(const struct lleval_telemetry *t)
{
    return t ? t->status : "disabled";
}

long lleval_telemetry_interval_ms(const struct lleval_telemetry *t)
{
    return t ? t->interval_ms : DEFAULT_INTERVAL_MS;
}

/* GPU energy since the previous sample: the counter's delta, else power
 * integrated over the interval (trapezoid); -1 when neither is known. */
static double energy_since_prev(struct lleval_telemetry *t, const struct lleval_gpu_reading *g,
                                double now)
{
    if (!t->have_prev)
        return -1;
    if (g->energy_mj >= 0 && t->prev_energy_mj >= 0 && g->energy_mj >= t->prev_energy_mj) {
        t->energy_source = "counter";
        return (g->energy_mj - t->prev_energy_mj) / 1000.0;
    }
    if (!lleval_nvml_has_energy_counter(t->gpu) && g->power_w >= 0 && t->prev_power_w >= 0 &&
        now > t->prev_t) {
        t->energy_source = "power_integral";
        return (g->power_w + t->prev_power_w) / 2.0 * (now - t->prev_t);
    }
    return -1;
}

const struct lleval_telemetry_sample *lleval_telemetry_sample(struct lleval_telemetry *t,
                                                              double now, long engine_pid)
{
    struct lleval_telemetry_sample *s;
    uint64_t busy, total, kib;

    if (!t || !t->sampling)
        return NULL;
    if (t->have_prev && (now - t->prev_t) * 1000.0 + JITTER_MS < (double)t->interval_ms)
        return NULL;
    s = &t->cur;
    s->t = now;
    s->energy_j = s->cpu_pct = s->engine_rss_mib = -1;
    s->gpu = t->gpu != NULL;
    if (t->gpu) {
        lleval_nvml_read(t->gpu, &s->g);
        if (s->g.mem_total_mib > 0)
            t->mem_total_mib = s->g.mem_total_mib;
        s->energy_j = energy_since_prev(t, &s->g, now);
        /* a failed counter read keeps the last good one: the next delta spans both */
        if (s->g.energy_mj >= 0 || !lleval_nvml_has_energy_counter(t->gpu))
            t->prev_energy_mj = s->g.energy_mj;
        t->prev_power_w = s->g.power_w;
    } else {
        s->g.mem_used_mib = s->g.mem_total_mib = s->g.util_pct = -1;
        s->g.temp_c = s->g.power_w = s->g.energy_mj = -1;
    }
    if (!lleval_host_cpu_times(&busy, &total)) {
        if (t->have_cpu && total > t->prev_total && busy >= t->prev_busy) {
            double pct = 100.0 * (double)(busy - t->prev_busy) / (double)(total - t->prev_total);
            s->cpu_pct = pct > 100.0 ? 100.0 : pct;
        }
        t->have_cpu = true;
        t->prev_busy = busy;
        t->prev_total = total;
    }
    if (engine_pid > 0 && !lleval_proc_rss_kib(engine_pid, &kib))
        s->engine_rss_mib = (double)kib / 1024.0;
    t->have_prev = true;
    t->prev_t = now;
    return s;
}

/* ---- JSON --------------------------------------------------------------- */

/* v rounded to 2 decimals (means and energies are estimates, not exact) */
static json_t *real_or_null(long n, double v)
{
    return n > 0 ? json_real(round(v * 100.0) / 100.0) : json_null();
}

static json_t *int_or_null(long n, double v)
{
    return n > 0 ? json_integer((json_int_t)llround(v)) : json_null();
}

json_t *lleval_telemetry_json(const struct lleval_telemetry *t,
                              const struct lleval_telemetry_acc *a, long completion_tokens)
{
    json_t *j = json_object();
    bool untouched = a->status[0] && a->samples == a->restored_samples;
    const char *status = untouched ? a->status : lleval_telemetry_status(t);
    bool t_gpu = t && t->had_gpu;
    double total = a->mem_total_mib > 0 ? a->mem_total_mib : t_gpu ? t->mem_total_mib : 0;
    const char *name = a->gpu_name[0] ? a->gpu_name : t_gpu ? t->gpu_name : "";
    const char *source = untouched && a->energy_source[0] ? a->energy_source
                         : t_gpu && t->energy_source      ? t->energy_source
                         : a->energy_source[0]            ? a->energy_source
                                                          : NULL;
    /* per token from the energy as written, so that a restored run says the same */
    double energy = round(a->energy_j * 100.0) / 100.0;

    json_object_set_new(j, "status", json_string(status));
    json_object_set_new(j, "interval_ms", json_integer(lleval_telemetry_interval_ms(t)));
    json_object_set_new(j, "samples", json_integer(a->samples));
    if (t_gpu || a->gpu_n > 0 || a->gpu_name[0] || a->mem_total_mib > 0) {
        json_t *g = json_object();
        json_object_set_new(g, "name", name[0] ? json_string(name) : json_null());
        json_object_set_new(g, "memory_total_mib", int_or_null(total > 0, total));
        json_object_set_new(g, "memory_used_peak_mib", int_or_null(a->mem_n, a->mem_peak_mib));
        json_object_set_new(g, "utilization_mean_pct",
                            real_or_null(a->util_n, a->util_n ? a->util_sum / a->util_n : 0));
        json_object_set_new(g, "utilization_peak_pct", int_or_null(a->util_n, a->util_peak));
        json_object_set_new(g, "temperature_peak_c", int_or_null(a->temp_n, a->temp_peak));
        json_object_set_new(g, "power_mean_w",
                            real_or_null(a->power_n, a->power_n ? a->power_sum / a->power_n : 0));
        json_object_set_new(g, "energy_j", real_or_null(a->energy_n, a->energy_j));
        json_object_set_new(g, "energy_per_token_j",
                            a->energy_n && completion_tokens > 0
                                ? json_real(energy / (double)completion_tokens)
                                : json_null());
        json_object_set_new(g, "energy_source",
                            a->energy_n && source ? json_string(source) : json_null());
        json_object_set_new(j, "gpu", g);
    } else {
        json_object_set_new(j, "gpu", json_null());
    }
    if (a->samples > 0 || (t && t->started && t->enabled)) {
        json_t *h = json_object();
        json_object_set_new(h, "cpu_mean_pct",
                            real_or_null(a->cpu_n, a->cpu_n ? a->cpu_sum / a->cpu_n : 0));
        json_object_set_new(h, "cpu_peak_pct", real_or_null(a->cpu_n, a->cpu_peak));
        json_object_set_new(h, "engine_rss_peak_mib", int_or_null(a->rss_n, a->rss_peak_mib));
        json_object_set_new(j, "host", h);
    } else {
        json_object_set_new(j, "host", json_null());
    }
    return j;
}
