/* Unit tests for the engine events (lib/run/events.c): the classes of the
 * engines' error texts, the retry counts and the events the manifest keeps,
 * and manifest.json's engine_events / retries (saved, loaded, absent in older
 * manifests, type-checked). */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lleval/run/events.h"
#include "lleval/run/rundir.h"
#include "lleval/util/util.h"

static void test_classes(void **state)
{
    static const struct {
        long status;
        const char *code, *msg, *want;
    } cases[] = {
        {500, "http_500", "CUDA error: out of memory", "oom"},
        {500, "http_500",
         "ggml_backend_cuda_buffer_type_alloc_buffer: allocating 1024.00 MiB on device 0: "
         "cudaMalloc failed: out of memory",
         "oom"},
        {500, "http_500", "llama runner process has terminated: cudaMalloc failed: out of memory",
         "oom"},
        {400, "http_400",
         "request (50 tokens) exceeds the available context size (30 tokens), try increasing it",
         "context_exceeded"},
        {400, "http_400", "{\"type\": \"exceed_context_size_error\"}", "context_exceeded"},
        {400, "http_400", "This model's maximum context length is 8192 tokens", "context_exceeded"},
        {0, "connection_error", "http://x: Couldn't connect to server", "connection"},
        {0, "timeout", "http://x: Timeout was reached", "timeout"},
        {429, "http_429", "Rate limit reached", "http_429"},
        {503, "http_503", "Loading model", "http_5xx"},
        {500, "http_500", "The server had an error", "http_5xx"},
        {404, "http_404", "not found", "http_4xx"},
        {200, "invalid_reply", "not JSON", "invalid_reply"},
        {0, "reply_too_large", "budget", "reply_too_large"},
        {0, "transport_error", "SSL", "other"},
        {0, NULL, NULL, "other"},
    };
    (void)state;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(cases); i++)
        assert_string_equal(lleval_error_class(cases[i].status, cases[i].code, cases[i].msg),
                            cases[i].want);
    assert_false(lleval_error_is_oom(NULL));
    assert_false(lleval_error_is_context(NULL));
}

static void test_retries(void **state)
{
    json_t *r = NULL;
    const char *sample = NULL;
    (void)state;
    assert_int_equal(lleval_events_retry_count(NULL, "oom", &sample), 0);
    assert_null(sample);
    for (int i = 0; i < 9; i++)
        lleval_events_count_retry(&r, 500, "http_500", i ? "later" : "CUDA error: out of memory");
    lleval_events_count_retry(&r, 0, "timeout", "http://user:secret@host/v1: Timeout was reached");
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 10);
    /* "later" is no OOM text: it is a 5xx */
    assert_int_equal(lleval_events_retry_count(r, "oom", &sample), 1);
    assert_string_equal(sample, "CUDA error: out of memory");
    assert_int_equal(lleval_events_retry_count(r, "http_5xx", &sample), 8);
    assert_string_equal(sample, "later");
    assert_int_equal(lleval_events_retry_count(r, "timeout", &sample), 1);
    assert_null(strstr(sample, "secret")); /* a URL's password never reaches the manifest */
    json_decref(r);
}

static void test_events(void **state)
{
    json_t *ev = NULL;
    const json_t *e;
    (void)state;
    lleval_events_add(&ev, "restart", "llama-server died (killed by signal 9)", -1, 9,
                      "http://127.0.0.1:8091", 1);
    lleval_events_add(&ev, "died", "exit", 1, -1, NULL, 3);
    e = json_array_get(ev, 0);
    assert_string_equal(json_string_value(json_object_get(e, "kind")), "restart");
    assert_int_equal(json_integer_value(json_object_get(e, "signal")), 9);
    assert_true(json_is_null(json_object_get(e, "exit_status")));
    assert_string_equal(json_string_value(json_object_get(e, "address")), "http://127.0.0.1:8091");
    assert_true(json_real_value(json_object_get(e, "at")) > 0);
    e = json_array_get(ev, 1);
    assert_int_equal(json_integer_value(json_object_get(e, "exit_status")), 1);
    assert_true(json_is_null(json_object_get(e, "signal")));
    assert_true(json_is_null(json_object_get(e, "address")));
    assert_int_equal(json_integer_value(json_object_get(e, "restarts")), 3);
    for (int i = 0; i < 300; i++)
        lleval_events_add(&ev, "restart", "again", 1, -1, NULL, i);
    assert_int_equal(json_array_size(ev), LLEVAL_ENGINE_EVENTS_MAX);
    json_decref(ev);
}

static void test_manifest(void **state)
{
    char *root = tu_tmpdir();
    struct lleval_manifest m, back;
    struct lleval_err err = LLEVAL_ERR_INIT;
    (void)state;

    /* written before the fields: loads, with none */
    free(tu_write(root, "manifest.json", "{\"run_id\": \"old\", \"status\": \"done\"}"));
    assert_int_equal(lleval_manifest_load(root, &back, &err), 0);
    assert_null(back.engine_events);
    assert_null(back.retries);
    lleval_manifest_release(&back);

    /* saved and loaded back as they were */
    lleval_manifest_init(&m);
    m.run_id = lleval_xstrdup("r");
    lleval_events_add(&m.engine_events, "restart", "cause", -1, 9, "http://127.0.0.1:1", 1);
    lleval_events_count_retry(&m.retries, 500, "http_500", "out of memory");
    assert_int_equal(lleval_manifest_save(root, &m, &err), 0);
    assert_int_equal(lleval_manifest_load(root, &back, &err), 0);
    {
        /* times are written with the manifest's precision: equal to the millisecond */
        json_t *a = json_array_get(back.engine_events, 0), *b = json_array_get(m.engine_events, 0);
        double dt =
            json_real_value(json_object_get(a, "at")) - json_real_value(json_object_get(b, "at"));
        assert_true(dt < 0.001 && dt > -0.001);
        json_object_del(a, "at");
        json_object_del(b, "at");
        assert_true(json_equal(back.engine_events, m.engine_events));
    }
    assert_true(json_equal(back.retries, m.retries));
    lleval_manifest_release(&back);
    lleval_manifest_release(&m);

    /* none: the keys are left out */
    lleval_manifest_init(&m);
    assert_int_equal(lleval_manifest_save(root, &m, &err), 0);
    {
        char *path = lleval_xasprintf("%s/manifest.json", root);
        json_t *j = json_load_file(path, 0, NULL);
        assert_non_null(j);
        assert_null(json_object_get(j, "engine_events"));
        assert_null(json_object_get(j, "retries"));
        json_decref(j);
        free(path);
    }
    lleval_manifest_release(&m);

    /* of the wrong type: a damaged manifest naming the field */
    free(tu_write(root, "manifest.json", "{\"run_id\": \"x\", \"engine_events\": {}}"));
    assert_int_not_equal(lleval_manifest_load(root, &back, &err), 0);
    assert_non_null(strstr(err.msg, "engine_events"));
    lleval_manifest_release(&back);
    free(tu_write(root, "manifest.json", "{\"run_id\": \"x\", \"retries\": [1]}"));
    assert_int_not_equal(lleval_manifest_load(root, &back, &err), 0);
    assert_non_null(strstr(err.msg, "retries"));
    lleval_manifest_release(&back);
    tu_rmtree(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_retries),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_manifest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
