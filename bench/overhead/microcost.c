/*
 * Per-request CPU cost of the JSON work lleval does around each HTTP
 * transfer, measured in isolation (no network, no other process), so the
 * overhead benchmark can say where lleval's time per request goes:
 *
 *   load     json_loadb of one batch request line (run.c, before the poll)
 *   request  the openai adapter's make_request: body copy + serialize
 *   reply    the adapter's parse_reply of fakeengine's canned reply
 *   result   lleval_result_line: the result line object
 *   journal  serializing that line (what lleval_journal_append writes)
 *
 *   microcost BATCH_LINE_FILE [ITERATIONS]
 *
 * Reads the first line of BATCH_LINE_FILE (a batch part file) and prints one
 * JSON object with microseconds per operation. Links with lleval_core.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/engine/engine.h"
#include "lleval/platform/fs.h"
#include "lleval/result/result.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

/* Kept in step with fakeengine.c's chat_reply. */
static const char reply[] =
    "{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion\",\"created\":1700000000,"
    "\"model\":\"fake\",\"system_fingerprint\":\"fakeengine\",\"choices\":[{\"index\":0,"
    "\"message\":{\"role\":\"assistant\",\"content\":\"Paris\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":24,\"completion_tokens\":2,\"total_tokens\":26},"
    "\"timings\":{\"cache_n\":0,\"prompt_n\":24,\"prompt_ms\":1.0,\"prompt_per_token_ms\":"
    "0.04,\"prompt_per_second\":24000.0,\"predicted_n\":2,\"predicted_ms\":1.0,"
    "\"predicted_per_token_ms\":0.5,\"predicted_per_second\":2000.0}}";

int main(int argc, char **argv)
{
    struct lleval_config cfg;
    struct lleval_engine *e;
    struct lleval_err err = LLEVAL_ERR_INIT;
    struct lleval_sb sb = LLEVAL_SB_INIT;
    char line[16384];
    long iters = 20000;
    json_t *batch, *body;
    const char *cid;
    double t, us[5];
    size_t len;
    FILE *f;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: microcost BATCH_LINE_FILE [ITERATIONS]\n");
        return 2;
    }
    if (argc == 3 && lleval_parse_long(argv[2], 1, 100000000, &iters)) {
        fprintf(stderr, "microcost: ITERATIONS must be a positive number\n");
        return 2;
    }
    f = fopen(argv[1], "r");
    if (!f || !fgets(line, sizeof(line), f)) {
        fprintf(stderr, "microcost: cannot read a line from '%s'\n", argv[1]);
        return 2;
    }
    fclose(f);
    len = strcspn(line, "\r\n");
    line[len] = '\0';
    batch = json_loadb(line, len, 0, NULL);
    body = json_object_get(batch, "body");
    cid = lleval_json_str(batch, "custom_id");
    if (!json_is_object(body) || !cid) {
        fprintf(stderr, "microcost: '%s' does not start with a batch request line\n", argv[1]);
        return 2;
    }
    /* the openai adapter without a model_id: the batch line names its model */
    memset(&cfg, 0, sizeof(cfg));
    cfg.engine = LLEVAL_ENGINE_OPENAI;
    cfg.base_url = (char *)"http://127.0.0.1:8000/v1";
    if (lleval_engine_open(&e, &cfg, &err)) {
        fprintf(stderr, "microcost: %s\n", err.msg);
        return 1;
    }

    t = lleval_monotonic();
    for (long i = 0; i < iters; i++)
        json_decref(json_loadb(line, len, 0, NULL));
    us[0] = (lleval_monotonic() - t) * 1e6 / (double)iters;

    t = lleval_monotonic();
    for (long i = 0; i < iters; i++) {
        struct lleval_http_request req;
        if (lleval_engine_make_request(e, body, &req, &err))
            return 1;
        lleval_http_request_release(&req);
    }
    us[1] = (lleval_monotonic() - t) * 1e6 / (double)iters;

    t = lleval_monotonic();
    for (long i = 0; i < iters; i++) {
        struct lleval_answer a;
        if (lleval_engine_parse_reply(e, 200, reply, sizeof(reply) - 1, &a, &err) !=
            LLEVAL_REPLY_OK)
            return 1;
        lleval_answer_release(&a);
    }
    us[2] = (lleval_monotonic() - t) * 1e6 / (double)iters;

    {
        struct lleval_answer a;
        json_t *res;
        double t_result = 0, t_journal = 0;
        lleval_engine_parse_reply(e, 200, reply, sizeof(reply) - 1, &a, &err);
        for (long i = 0; i < iters; i++) {
            double t0 = lleval_monotonic(), t1;
            res = lleval_result_line(cid, "openai", &a, 200, NULL, NULL, 1.234, 1);
            t1 = lleval_monotonic();
            lleval_sb_reset(&sb);
            lleval_json_dump_sb(res, &sb);
            lleval_sb_addch(&sb, '\n');
            json_decref(res);
            t_result += t1 - t0;
            t_journal += lleval_monotonic() - t1;
        }
        lleval_answer_release(&a);
        us[3] = t_result * 1e6 / (double)iters;
        us[4] = t_journal * 1e6 / (double)iters;
    }

    printf("{\"load_us\":%.2f,\"request_us\":%.2f,\"reply_us\":%.2f,\"result_us\":%.2f,"
           "\"journal_us\":%.2f,\"total_us\":%.2f}\n",
           us[0], us[1], us[2], us[3], us[4], us[0] + us[1] + us[2] + us[3] + us[4]);
    lleval_sb_release(&sb);
    lleval_engine_close(e);
    json_decref(batch);
    return 0;
}
