/*
 * Unit tests for telemetry: NVML loaded through LLEVAL_NVML_LIBRARY from the
 * fake (tests/fakes/fake_nvml.c) with scripted readings, so peaks, means and
 * energy are exact; the fallbacks (no _v2 names, no energy counter), a
 * missing library, init failure, no GPU, device choice, disabled sampling,
 * the interval, host readings and restoring a resumed run's numbers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"
#include "lleval/model/budget.h"
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/telemetry/telemetry.h"

/* one line per sample: mem_used_mib util_pct temp_c power_w */
static const char script[] = "# scripted GPU\n"
                             "1000 10 40 100\n"
                             "3000 50 60 200\n"
                             "2000 90 55 300\n"
                             "1500 30 50 150\n";

struct fx {
    char *dir;
    char *script;
    void *fake; /* our own handle on the fake, for its call counters */
    int (*calls)(const char *name);
    int (*refcount)(void);
};

static void open_fake(struct fx *f, const char *path)
{
    f->fake = lleval_dl_open(path, NULL, 0);
    assert_non_null(f->fake);
    f->calls = (int (*)(const char *))lleval_dl_sym(f->fake, "fake_nvml_calls");
    f->refcount = (int (*)(void))lleval_dl_sym(f->fake, "fake_nvml_refcount");
    assert_non_null(f->calls);
    assert_non_null(f->refcount);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->dir = tu_tmpdir();
    f->script = tu_write(f->dir, "gpu.txt", script);
    tu_setenv("LLEVAL_NVML_LIBRARY", LLEVAL_FAKE_NVML);
    tu_setenv("LLEVAL_FAKE_NVML_SCRIPT", f->script);
    tu_unsetenv("LLEVAL_FAKE_NVML_FAIL");
    tu_unsetenv("LLEVAL_FAKE_NVML_UNSUPPORTED");
    tu_unsetenv("LLEVAL_FAKE_NVML_DEVICES");
    tu_unsetenv("CUDA_VISIBLE_DEVICES");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    lleval_dl_close(f->fake);
    tu_rmtree(f->dir);
    free(f->script);
    free(f->dir);
    free(f);
    return 0;
}

static void assert_near(double got, double want, const char *what)
{
    if (fabs(got - want) > 1e-6)
        fail_msg("%s: got %.9g, wanted %.9g", what, got, want);
}

static double gpu_num(const json_t *j, const char *key)
{
    json_t *v = json_object_get(json_object_get(j, "gpu"), key);
    if (!json_is_number(v))
        fail_msg("gpu.%s is not a number", key);
    return json_number_value(v);
}

static bool gpu_null(const json_t *j, const char *key)
{
    json_t *g = json_object_get(j, "gpu");
    return json_is_object(g) && json_is_null(json_object_get(g, key));
}

/* Samples at the given times (seconds) into acc; returns how many were taken. */
static int sample_at(struct lleval_telemetry *t, struct lleval_telemetry_acc *acc,
                     const double *times, size_t n)
{
    int taken = 0;
    for (size_t i = 0; i < n; i++) {
        const struct lleval_telemetry_sample *s = lleval_telemetry_sample(t, times[i], 0);
        if (s) {
            lleval_telemetry_acc_add(acc, s);
            taken++;
        }
    }
    return taken;
}

static void test_scripted_values_and_energy_counter(void **state)
{
    struct fx *f = *state;
    struct lleval_telemetry_acc acc;
    const double times[] = {100.0, 100.5, 100.9, 101.0, 102.0, 103.0};
    struct lleval_telemetry *t;
    json_t *j;
    int v2, v1;

    open_fake(f, LLEVAL_FAKE_NVML);
    v2 = f->calls("nvmlInit_v2");
    v1 = f->calls("nvmlInit");
    lleval_telemetry_acc_init(&acc);
    t = lleval_telemetry_open(true, 1000);
    assert_string_equal(lleval_telemetry_status(t), "ok");
    assert_int_equal(f->calls("nvmlInit_v2"), v2 + 1); /* the versioned name is preferred */
    assert_int_equal(f->calls("nvmlInit"), v1);
    /* 100.5 and 100.9 are within the interval: 4 samples of 6 ticks */
    assert_int_equal(sample_at(t, &acc, times, LLEVAL_ARRAY_SIZE(times)), 4);

    j = lleval_telemetry_json(t, &acc, 100);
    assert_string_equal(lleval_json_str(j, "status"), "ok");
    assert_int_equal(lleval_json_int(j, "interval_ms", 0), 1000);
    assert_int_equal(lleval_json_int(j, "samples", 0), 4);
    assert_string_equal(lleval_json_str(json_object_get(j, "gpu"), "name"), "Fake NVIDIA GPU 0");
    assert_near(gpu_num(j, "memory_total_mib"), 16303, "memory_total_mib");
    assert_near(gpu_num(j, "memory_used_peak_mib"), 3000, "memory_used_peak_mib");
    assert_near(gpu_num(j, "utilization_mean_pct"), 45, "utilization_mean_pct");
    assert_near(gpu_num(j, "utilization_peak_pct"), 90, "utilization_peak_pct");
    assert_near(gpu_num(j, "temperature_peak_c"), 60, "temperature_peak_c");
    assert_near(gpu_num(j, "power_mean_w"), 187.5, "power_mean_w");
    /* the counter advances by each line's power x 1 s: deltas 200 + 300 + 150 J */
    assert_near(gpu_num(j, "energy_j"), 650, "energy_j");
    assert_near(gpu_num(j, "energy_per_token_j"), 6.5, "energy_per_token_j");
    assert_string_equal(lleval_json_str(json_object_get(j, "gpu"), "energy_source"), "counter");
    assert_true(json_is_object(json_object_get(j, "host")));
    assert_true(json_is_null(json_object_get(json_object_get(j, "host"), "engine_rss_peak_mib")));
    json_decref(j);

    /* no completion tokens: no energy per token */
    j = lleval_telemetry_json(t, &acc, 0);
    assert_true(gpu_null(j, "energy_per_token_j"));
    json_decref(j);

    lleval_telemetry_free(t);
    assert_int_equal(f->refcount(), 0); /* nvmlShutdown was called */
}

static void test_legacy_names_and_integrated_power(void **state)
{
    struct fx *f = *state;
    struct lleval_telemetry_acc acc;
    /* uneven intervals: the integral weighs each by its length */
    const double times[] = {0.0, 1.0, 2.0, 4.0};
    struct lleval_telemetry *t;
    json_t *j;
    int v1;

    tu_setenv("LLEVAL_NVML_LIBRARY", LLEVAL_FAKE_NVML_LEGACY);
    open_fake(f, LLEVAL_FAKE_NVML_LEGACY);
    assert_null(lleval_dl_sym(f->fake, "nvmlInit_v2"));
    v1 = f->calls("nvmlInit");
    lleval_telemetry_acc_init(&acc);
    t = lleval_telemetry_open(true, 500);
    assert_string_equal(lleval_telemetry_status(t), "ok");
    assert_int_equal(f->calls("nvmlInit"), v1 + 1);
    assert_true(f->calls("nvmlDeviceGetHandleByIndex") > 0);
    assert_int_equal(sample_at(t, &acc, times, LLEVAL_ARRAY_SIZE(times)), 4);
    j = lleval_telemetry_json(t, &acc, 50);
    /* trapezoids: (100+200)/2*1 + (200+300)/2*1 + (300+150)/2*2 */
    assert_near(gpu_num(j, "energy_j"), 850, "energy_j");
    assert_near(gpu_num(j, "energy_per_token_j"), 17, "energy_per_token_j");
    assert_string_equal(lleval_json_str(json_object_get(j, "gpu"), "energy_source"),
                        "power_integral");
    assert_near(gpu_num(j, "memory_used_peak_mib"), 3000, "memory_used_peak_mib");
    json_decref(j);
    lleval_telemetry_free(t);
    assert_int_equal(f->refcount(), 0);
}

static void test_energy_not_supported_and_null_fields(void **state)
{
    struct fx *f = *state;
    struct lleval_telemetry_acc acc;
    const double times[] = {0.0, 1.0, 2.0, 3.0};
    struct lleval_telemetry *t;
    json_t *j;

    tu_setenv("LLEVAL_FAKE_NVML_UNSUPPORTED", "energy,temperature,name");
    open_fake(f, LLEVAL_FAKE_NVML);
    lleval_telemetry_acc_init(&acc);
    t = lleval_telemetry_open(true, 1000);
    assert_string_equal(lleval_telemetry_status(t), "ok");
    sample_at(t, &acc, times, LLEVAL_ARRAY_SIZE(times));
    j = lleval_telemetry_json(t, &acc, 0);
    /* the counter said "not supported" at once: all three intervals integrated */
    assert_near(gpu_num(j, "energy_j"), 150 + 250 + 225, "energy_j");
    assert_string_equal(lleval_json_str(json_object_get(j, "gpu"), "energy_source"),
                        "power_integral");
    assert_true(gpu_null(j, "temperature_peak_c"));
    assert_true(gpu_null(j, "name"));
    assert_near(gpu_num(j, "utilization_peak_pct"), 90, "utilization_peak_pct");
    json_decref(j);
    lleval_telemetry_free(t);
}

static void test_failed_reading_is_skipped(void **state)
{
    struct fx *f = *state;
    struct lleval_telemetry_acc acc;
    const double times[] = {0.0, 1.0, 2.0};
    struct lleval_telemetry *t;
    char *path = tu_write(f->dir, "gaps.txt", "1000 - 40 100\n2000 80 - 100\n500 40 45 100\n");
    json_t *j;

    tu_setenv("LLEVAL_FAKE_NVML_SCRIPT", path);
    lleval_telemetry_acc_init(&acc);
    t = lleval_telemetry_open(true, 1000);
    sample_at(t, &acc, times, LLEVAL_ARRAY_SIZE(times));
    j = lleval_telemetry_json(t, &acc, 0);
    assert_near(gpu_num(j, "utilization_mean_pct"), 60, "utilization_mean_pct (2 of 3)");
    assert_near(gpu_num(j, "temperature_peak_c"), 45, "temperature_peak_c");
    assert_near(gpu_num(j, "power_mean_w"), 100, "power_mean_w");
    assert_near(gpu_num(j, "energy_j"), 200, "energy_j");
    json_decref(j);
    lleval_telemetry_free(t);
    free(path);
}

static void test_missing_library(void **state)
{
    struct lleval_telemetry_acc acc;
    struct lleval_telemetry *t;
    const struct lleval_telemetry_sample *s;
    json_t *j;
    (void)state;

    tu_setenv("LLEVAL_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1");
    lleval_telemetry_acc_init(&acc);
    t = lleval_telemetry_open(true, 1000);
    tu_assert_contains(lleval_telemetry_status(t),
                       "unavailable: cannot load '/nonexistent/libnvidia-ml.so.1' "
                       "(LLEVAL_NVML_LIBRARY): ");
    /* the host is still sampled */
    s = lleval_telemetry_sample(t, 1.0, 0);
    assert_non_null(s);
    assert_false(s->gpu);
    lleval_telemetry_acc_add(&acc, s);
    j = lleval_telemetry_json(t, &acc, 10);
    assert_true(json_is_null(json_object_get(j, "gpu")));
    assert_true(json_is_object(json_object_get(j, "host")));
    assert_int_equal(lleval_json_int(j, "samples", 0), 1);
    json_decref(j);
    lleval_telemetry_free(t);

    /* the default search: this machine may or may not have a driver */
    tu_unsetenv("LLEVAL_NVML_LIBRARY");
    t = lleval_telemetry_open(true, 1000);
    if (strcmp(lleval_telemetry_status(t), "ok")) {
#ifdef _WIN32
        const char *want = "unavailable: nvml.dll not found (no NVIDIA driver)";
#else
        const char *want = "unavailable: libnvidia-ml.so.1 not found (no NVIDIA driver)";
#endif
        assert_string_equal(lleval_telemetry_status(t), want);
    }
    lleval_telemetry_free(t);
}

static void test_not_nvml(void **state)
{
    struct fx *f = *state;
    char why[512];
    /* a library that loads but is not NVML */
#ifdef _WIN32
    tu_setenv("LLEVAL_NVML_LIBRARY", "kernel32.dll");
#else
    tu_setenv("LLEVAL_NVML_LIBRARY", "libm.so.6");
#endif
    assert_null(lleval_nvml_open(why, sizeof(why)));
    tu_assert_contains(why, "lacks nvmlInit");
    (void)f;
}

static void test_init_failure(void **state)
{
    struct fx *f = *state;
    struct lleval_telemetry *t;
    open_fake(f, LLEVAL_FAKE_NVML);
    tu_setenv("LLEVAL_FAKE_NVML_FAIL", "init");
    t = lleval_telemetry_open(true, 1000);
    assert_string_equal(lleval_telemetry_status(t),
                        "unavailable: nvmlInit failed: Driver Not Loaded");
    lleval_telemetry_free(t);
    assert_int_equal(f->refcount(), 0);
}

static void test_no_device(void **state)
{
    struct fx *f = *state;
    struct lleval_telemetry *t;
    int shutdowns;
    open_fake(f, LLEVAL_FAKE_NVML);
    shutdowns = f->calls("nvmlShutdown");
    tu_setenv("LLEVAL_FAKE_NVML_FAIL", "nodevice");
    t = lleval_telemetry_open(true, 1000);
    assert_string_equal(lleval_telemetry_status(t), "unavailable: NVML sees no GPU");
    assert_int_equal(f->calls("nvmlShutdown"), shutdowns + 1); /* initialized, so shut down */
    assert_int_equal(f->refcount(), 0);
    lleval_telemetry_free(t);
}

static void test_device_from_cuda_visible_devices(void **state)
{
    struct fx *f = *state;
    struct lleval_nvml *g;
    struct lleval_telemetry *t;
    char why[512];
    (void)f;

    tu_setenv("LLEVAL_FAKE_NVML_DEVICES", "2");
    tu_setenv("CUDA_VISIBLE_DEVICES", "1,0");
    g = lleval_nvml_open(why, sizeof(why));
    assert_non_null(g);
    assert_int_equal(lleval_nvml_index(g), 1);
    assert_string_equal(lleval_nvml_name(g), "Fake NVIDIA GPU 1");
    lleval_nvml_close(g);

    tu_setenv("CUDA_VISIBLE_DEVICES", "GPU-8a1b2c3d-0000"); /* a UUID: GPU 0 */
    g = lleval_nvml_open(why, sizeof(why));
    assert_non_null(g);
    assert_int_equal(lleval_nvml_index(g), 0);
    lleval_nvml_close(g);

    tu_setenv("CUDA_VISIBLE_DEVICES", "3");
    t = lleval_telemetry_open(true, 1000);
    assert_string_equal(lleval_telemetry_status(t),
                        "unavailable: CUDA_VISIBLE_DEVICES names GPU 3 but NVML sees 2 GPUs "
                        "(indexes from 0)");
    lleval_telemetry_free(t);
}

static void test_disabled_and_not_started(void **state)
{
    struct fx *f = *state;
    struct lleval_telemetry_acc acc;
    struct lleval_telemetry *t;
    json_t *j;
    int inits;

    open_fake(f, LLEVAL_FAKE_NVML);
    inits = f->calls("nvmlInit_v2") + f->calls("nvmlInit");
    lleval_telemetry_acc_init(&acc);
    t = lleval_telemetry_open(false, 50);
    assert_string_equal(lleval_telemetry_status(t), "disabled");
    assert_null(lleval_telemetry_sample(t, 1.0, 0));
    j = lleval_telemetry_json(t, &acc, 10);
    assert_string_equal(lleval_json_str(j, "status"), "disabled");
    assert_int_equal(lleval_json_int(j, "interval_ms", 0), 50);
    assert_int_equal(lleval_json_int(j, "samples", -1), 0);
    assert_true(json_is_null(json_object_get(j, "gpu")));
    assert_true(json_is_null(json_object_get(j, "host")));
    json_decref(j);
    lleval_telemetry_free(t);
    assert_int_equal(f->calls("nvmlInit_v2") + f->calls("nvmlInit"), inits); /* never loaded */

    /* enabled but not started yet (before the poll step); default interval */
    t = lleval_telemetry_new(true, 0);
    assert_int_equal(lleval_telemetry_interval_ms(t), 1000);
    tu_assert_contains(lleval_telemetry_status(t), "unavailable: not sampled");
    assert_null(lleval_telemetry_sample(t, 1.0, 0));
    assert_string_equal(lleval_telemetry_start(t), "ok");
    assert_non_null(lleval_telemetry_sample(t, 2.0, 0));
    lleval_telemetry_stop(t);
    assert_null(lleval_telemetry_sample(t, 5.0, 0));
    assert_string_equal(lleval_telemetry_status(t), "ok"); /* kept for the JSON */
    lleval_telemetry_free(t);

    j = lleval_telemetry_json(NULL, &acc, 0);
    assert_string_equal(lleval_json_str(j, "status"), "disabled");
    json_decref(j);
}

static void test_host_readings(void **state)
{
    struct lleval_telemetry *t;
    const struct lleval_telemetry_sample *s;
    uint64_t busy = 0, total = 0, kib = 0;
    (void)state;

    if (lleval_host_cpu_times(&busy, &total))
        skip(); /* not Linux */
    assert_true(total >= busy);
    assert_int_equal(lleval_proc_rss_kib(lleval_getpid(), &kib), 0);
    assert_true(kib > 0);
    assert_int_not_equal(lleval_proc_rss_kib(0, &kib), 0);

    tu_setenv("LLEVAL_NVML_LIBRARY", "/nonexistent/nvml.so");
    t = lleval_telemetry_open(true, 10);
    s = lleval_telemetry_sample(t, 1.0, lleval_getpid());
    assert_non_null(s);
    assert_true(s->engine_rss_mib > 0);
    assert_true(s->cpu_pct < 0); /* the first sample has nothing to compare with */
    for (volatile long i = 0; i < 20000000; i++)
        ; /* burn a little CPU so the counters move */
    lleval_sleep_ms(30);
    s = lleval_telemetry_sample(t, 2.0, 0);
    assert_non_null(s);
    assert_true(s->engine_rss_mib < 0);
    assert_true(s->cpu_pct >= 0 && s->cpu_pct <= 100);
    lleval_telemetry_free(t);
}

static void test_restore_from_json(void **state)
{
    struct fx *f = *state;
    struct lleval_telemetry_acc acc, back;
    const double times[] = {0.0, 1.0, 2.0, 3.0};
    struct lleval_telemetry *t;
    const struct lleval_telemetry_sample *s;
    json_t *j, *k;
    (void)f;

    lleval_telemetry_acc_init(&acc);
    t = lleval_telemetry_open(true, 1000);
    sample_at(t, &acc, times, LLEVAL_ARRAY_SIZE(times));
    j = lleval_telemetry_json(t, &acc, 100);
    lleval_telemetry_free(t);

    /* a resumed run: an untouched part keeps every number and the old status */
    lleval_telemetry_acc_restore(&back, j);
    t = lleval_telemetry_new(false, 1000);
    k = lleval_telemetry_json(t, &back, 100);
    if (!json_equal(j, k)) {
        char *a = json_dumps(j, JSON_COMPACT), *b = json_dumps(k, JSON_COMPACT);
        fail_msg("restored telemetry differs:\n  %s\n  %s", a, b);
    }
    json_decref(k);
    lleval_telemetry_free(t);

    /* new samples extend it: 4 old at mean 45% + 2 new (script restarts: 10, 50) */
    t = lleval_telemetry_open(true, 1000);
    for (int i = 0; i < 2; i++) {
        s = lleval_telemetry_sample(t, 10.0 + i, 0);
        assert_non_null(s);
        lleval_telemetry_acc_add(&back, s);
    }
    k = lleval_telemetry_json(t, &back, 200);
    assert_string_equal(lleval_json_str(k, "status"), "ok");
    assert_int_equal(lleval_json_int(k, "samples", 0), 6);
    assert_near(gpu_num(k, "utilization_mean_pct"), (45.0 * 4 + 10 + 50) / 6, "mean");
    assert_near(gpu_num(k, "utilization_peak_pct"), 90, "peak");
    assert_near(gpu_num(k, "energy_j"), 650 + 200, "energy_j");
    json_decref(k);
    json_decref(j);
    lleval_telemetry_free(t);

    /* an earlier status without samples gives way to this session's */
    j = json_pack("{s:s, s:i}", "status", "unavailable: not sampled", "samples", 0);
    lleval_telemetry_acc_init(&back);
    lleval_telemetry_acc_restore(&back, j);
    json_decref(j);
    t = lleval_telemetry_open(true, 1000);
    k = lleval_telemetry_json(t, &back, 0);
    assert_string_equal(lleval_json_str(k, "status"), "ok");
    json_decref(k);
    lleval_telemetry_free(t);

    /* garbage is ignored */
    lleval_telemetry_acc_init(&back);
    lleval_telemetry_acc_restore(&back, NULL);
    assert_int_equal(back.samples, 0);
}

/* The planner's default budget: the GPU's total from NVML, the guide's card
 * without NVML, the machine's RAM for a CPU plan. */
static void test_default_budget(void **state)
{
    char src[160];
    uint64_t b;
    (void)state;
    b = lleval_vram_default_budget(LLEVAL_VRAM_GPU, src, sizeof(src));
    assert_int_equal(b, (uint64_t)16303 * LLEVAL_MIB);
    assert_string_equal(src, "NVML: Fake NVIDIA GPU 0");

    tu_setenv("LLEVAL_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1");
    b = lleval_vram_default_budget(LLEVAL_VRAM_GPU, src, sizeof(src));
    assert_int_equal(b, LLEVAL_DEFAULT_BUDGET);
    tu_assert_contains(src, "pass --vram");

    b = lleval_vram_default_budget(LLEVAL_VRAM_CPU, src, sizeof(src));
    assert_string_equal(src, "host memory");
    assert_true(b >= 64 * LLEVAL_MIB);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_scripted_values_and_energy_counter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_names_and_integrated_power, setup, teardown),
        cmocka_unit_test_setup_teardown(test_energy_not_supported_and_null_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_reading_is_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_library, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_nvml, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_from_cuda_visible_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disabled_and_not_started, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_readings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_from_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_budget, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
