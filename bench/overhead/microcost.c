/*
 * Per-request CPU cost of the JSON work lleval does around each HTTP
 * transfer, measured in isolation (no network, no other process), so the
 * overhead benchmark can say where lleval's time per request goes:
 *
 *   load     the poll's scan of one batch request line: validated by jscan,
 *            its custom_id and body text kept (poll.c read_line; before
 *            issue 13, json_loadb of the line)
 *   request  the openai adapter's make_request from the body text: jscan +
 *            jwrite (before: the body's tree serialized)
 *   reply    the adapter's parse_reply of fakeengine's canned reply (jscan;
 *            before: json_loadb and lookups)
 *   result   lleval_result_text_build: the result line's text, which is what
 *            the journal writes (before: a json_t built)
 *   journal  0 since issue 13: the line is written as text by `result`
 *            (before: json_dumps of the line object)
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
#include "lleval/util/jscan.h"
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

/* The poll's line scan (lib/run/poll.c read_line), kept in step. */
struct line_scan {
    struct lleval_jscan js;
    const unsigned char *body, *body_end;
    size_t cid_at;
};

static bool line_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct line_scan *ls = (struct line_scan *)j;
    if (LLEVAL_JSCAN_KEY_IS(key, "custom_id")) {
        size_t at = j->out->len;
        if (!lleval_jscan_first(seen, 0) || !lleval_jscan_str(j, j->out))
            return false;
        ls->cid_at = at + 1;
        return true;
    }
    if (LLEVAL_JSCAN_KEY_IS(key, "body")) {
        if (!lleval_jscan_first(seen, 1))
            return false;
        ls->body = j->p;
        if (!lleval_jscan_skip(j, depth))
            return false;
        ls->body_end = j->p;
        return true;
    }
    return lleval_jscan_skip(j, depth);
}

static int scan_line(const char *line, size_t len, struct lleval_sb *scratch, char **cid,
                     char **text, size_t *text_len)
{
    struct line_scan ls;
    memset(&ls, 0, sizeof(ls));
    lleval_sb_reset(scratch);
    ls.js.p = (const unsigned char *)line;
    ls.js.end = ls.js.p + len;
    ls.js.out = scratch;
    if (!lleval_jscan_object(&ls.js, 0, line_member) || !lleval_jscan_end(&ls.js) || !ls.cid_at ||
        !ls.body)
        return -1;
    *cid = lleval_xstrdup(scratch->buf + ls.cid_at - 1);
    *text_len = (size_t)(ls.body_end - ls.body);
    *text = lleval_xstrndup((const char *)ls.body, *text_len);
    return 0;
}

int main(int argc, char **argv)
{
    struct lleval_config cfg;
    struct lleval_engine *e;
    struct lleval_err err = LLEVAL_ERR_INIT;
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

    {
        struct lleval_sb scratch = LLEVAL_SB_INIT;
        char *c, *text;
        size_t text_len;
        t = lleval_monotonic();
        for (long i = 0; i < iters; i++) {
            if (scan_line(line, len, &scratch, &c, &text, &text_len)) {
                fprintf(stderr, "microcost: the line scan gave up on '%s'\n", argv[1]);
                return 1;
            }
            free(c);
            free(text);
        }
        us[0] = (lleval_monotonic() - t) * 1e6 / (double)iters;

        scan_line(line, len, &scratch, &c, &text, &text_len);
        t = lleval_monotonic();
        for (long i = 0; i < iters; i++) {
            struct lleval_http_request req;
            if (lleval_engine_make_request_text(e, text, text_len, &req, &err))
                return 1;
            lleval_http_request_release(&req);
        }
        us[1] = (lleval_monotonic() - t) * 1e6 / (double)iters;
        free(c);
        free(text);
        lleval_sb_release(&scratch);
    }

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
        struct lleval_result_text rt;
        lleval_result_text_init(&rt);
        lleval_engine_parse_reply(e, 200, reply, sizeof(reply) - 1, &a, &err);
        t = lleval_monotonic();
        for (long i = 0; i < iters; i++)
            lleval_result_text_build(&rt, cid, "openai", &a, 200, NULL, NULL, 1.234, 1);
        us[3] = (lleval_monotonic() - t) * 1e6 / (double)iters;
        us[4] = 0; /* the line above is the journal's text */
        lleval_answer_release(&a);
        lleval_result_text_release(&rt);
    }

    printf("{\"load_us\":%.2f,\"request_us\":%.2f,\"reply_us\":%.2f,\"result_us\":%.2f,"
           "\"journal_us\":%.2f,\"total_us\":%.2f}\n",
           us[0], us[1], us[2], us[3], us[4], us[0] + us[1] + us[2] + us[3] + us[4]);
    lleval_engine_close(e);
    json_decref(batch);
    return 0;
}
