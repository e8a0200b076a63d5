/*
 * A chat.completion reply read without a tree (issue 13): the few fields an
 * answer needs (choices[0]'s content and finish_reason, usage, llama-server's
 * timings, model, id), read by jscan with the same types and defaults as the
 * tree path of lleval_openai_parse_chat(). Only a well-formed answer is read
 * here; anything else (an error object, no choices, a field of the wrong
 * shape, a repeated key that is read, bytes jscan cannot vouch for) goes to the tree path,
 * which words the error.
 */
#include <stdlib.h>
#include <string.h>
#include "lleval/engine/http.h"
#include "lleval/util/jscan.h"
#include "lleval/util/util.h"

/* A member: absent, or its value's kind as the tree path tells them. */
enum kind { K_ABSENT = 0, K_STRING, K_NULL, K_OTHER };

struct reply_scan {
    struct lleval_jscan js; /* first: the member callbacks get &rs.js */
    /* string values: offset in js.out + 1 (0: none) */
    size_t content, text, finish, model, id;
    enum kind message, content_kind, text_kind;
    bool choices_ok; /* a non-empty array whose first element is an object */
    bool timings;    /* timings is an object */
    long long usage_pt, usage_ct, prompt_n, cache_n, predicted_n;
    double prompt_ps, predicted_ps;
};

/* A string kept in js.out (its offset + 1 in *at), or the kind of another value. */
static bool string_or_kind(struct lleval_jscan *j, size_t *at, enum kind *kind, int depth)
{
    if (lleval_jscan_peek(j, '"')) {
        size_t o = j->out->len;
        if (!lleval_jscan_str(j, j->out))
            return false;
        *at = o + 1;
        if (kind)
            *kind = K_STRING;
        return true;
    }
    if (kind)
        *kind = lleval_jscan_null(j) ? K_NULL : K_OTHER;
    return (kind && *kind == K_NULL) || lleval_jscan_skip(j, depth);
}

/* lleval_json_int(): an integer, a real in long long's range cut to it, else dflt. */
static bool int_value(struct lleval_jscan *j, long long *out, int depth)
{
    bool is_int;
    long long iv;
    double dv;
    if (lleval_jscan_peek(j, '-') ||
        (j->p < j->end && *j->p >= '0' && *j->p <= '9')) { /* a number */
        if (!lleval_jscan_num(j, &is_int, &iv, &dv))
            return false;
        if (is_int)
            *out = iv;
        else if (dv >= -9223372036854775808.0 && dv < 9223372036854775808.0)
            *out = (long long)dv;
        return true;
    }
    return lleval_jscan_skip(j, depth);
}

/* lleval_json_num(): a number, else dflt (left in *out). */
static bool num_value(struct lleval_jscan *j, double *out, int depth)
{
    bool is_int;
    long long iv;
    if (lleval_jscan_peek(j, '-') || (j->p < j->end && *j->p >= '0' && *j->p <= '9'))
        return lleval_jscan_num(j, &is_int, &iv, out);
    return lleval_jscan_skip(j, depth);
}

static bool message_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct reply_scan *rs = (struct reply_scan *)j;
    if (LLEVAL_JSCAN_KEY_IS(key, "content"))
        return lleval_jscan_first(seen, 0) &&
               string_or_kind(j, &rs->content, &rs->content_kind, depth);
    return lleval_jscan_skip(j, depth);
}

static bool choice_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct reply_scan *rs = (struct reply_scan *)j;
    if (LLEVAL_JSCAN_KEY_IS(key, "message")) {
        if (!lleval_jscan_first(seen, 0))
            return false;
        if (!lleval_jscan_peek(j, '{')) {
            rs->message = K_OTHER;
            return lleval_jscan_skip(j, depth);
        }
        rs->message = K_STRING; /* here: an object */
        return lleval_jscan_object(j, depth, message_member);
    }
    if (LLEVAL_JSCAN_KEY_IS(key, "text"))
        return lleval_jscan_first(seen, 1) && string_or_kind(j, &rs->text, &rs->text_kind, depth);
    if (LLEVAL_JSCAN_KEY_IS(key, "finish_reason"))
        return lleval_jscan_first(seen, 2) && string_or_kind(j, &rs->finish, NULL, depth);
    return lleval_jscan_skip(j, depth);
}

static bool usage_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct reply_scan *rs = (struct reply_scan *)j;
    if (LLEVAL_JSCAN_KEY_IS(key, "prompt_tokens"))
        return lleval_jscan_first(seen, 0) && int_value(j, &rs->usage_pt, depth);
    if (LLEVAL_JSCAN_KEY_IS(key, "completion_tokens"))
        return lleval_jscan_first(seen, 1) && int_value(j, &rs->usage_ct, depth);
    return lleval_jscan_skip(j, depth);
}

static bool timings_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct reply_scan *rs = (struct reply_scan *)j;
    if (LLEVAL_JSCAN_KEY_IS(key, "prompt_n"))
        return lleval_jscan_first(seen, 0) && int_value(j, &rs->prompt_n, depth);
    if (LLEVAL_JSCAN_KEY_IS(key, "cache_n"))
        return lleval_jscan_first(seen, 1) && int_value(j, &rs->cache_n, depth);
    if (LLEVAL_JSCAN_KEY_IS(key, "predicted_n"))
        return lleval_jscan_first(seen, 2) && int_value(j, &rs->predicted_n, depth);
    if (LLEVAL_JSCAN_KEY_IS(key, "prompt_per_second"))
        return lleval_jscan_first(seen, 3) && num_value(j, &rs->prompt_ps, depth);
    if (LLEVAL_JSCAN_KEY_IS(key, "predicted_per_second"))
        return lleval_jscan_first(seen, 4) && num_value(j, &rs->predicted_ps, depth);
    return lleval_jscan_skip(j, depth);
}

static bool root_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct reply_scan *rs = (struct reply_scan *)j;
    if (LLEVAL_JSCAN_KEY_IS(key, "choices")) {
        if (!lleval_jscan_first(seen, 0) || !lleval_jscan_eat(j, '[') || !lleval_jscan_peek(j, '{'))
            return false; /* not a list of objects: the tree path says what it is */
        if (!lleval_jscan_object(j, depth + 1, choice_member))
            return false;
        while (lleval_jscan_eat(j, ','))
            if (!lleval_jscan_skip(j, depth + 1))
                return false;
        rs->choices_ok = true;
        return lleval_jscan_eat(j, ']');
    }
    if (LLEVAL_JSCAN_KEY_IS(key, "usage"))
        return lleval_jscan_first(seen, 1) &&
               (lleval_jscan_peek(j, '{') ? lleval_jscan_object(j, depth, usage_member)
                                          : lleval_jscan_skip(j, depth));
    if (LLEVAL_JSCAN_KEY_IS(key, "timings")) {
        if (!lleval_jscan_first(seen, 2))
            return false;
        if (!lleval_jscan_peek(j, '{'))
            return lleval_jscan_skip(j, depth);
        rs->timings = true;
        return lleval_jscan_object(j, depth, timings_member);
    }
    if (LLEVAL_JSCAN_KEY_IS(key, "model"))
        return lleval_jscan_first(seen, 3) && string_or_kind(j, &rs->model, NULL, depth);
    if (LLEVAL_JSCAN_KEY_IS(key, "id"))
        return lleval_jscan_first(seen, 4) && string_or_kind(j, &rs->id, NULL, depth);
    return lleval_jscan_skip(j, depth);
}

static long count(long long v)
{
    return v < 0 ? -1 : (long)v;
}

int lleval_openai_scan_chat(const char *body, size_t len, struct lleval_answer *out)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct reply_scan rs;
    size_t content;
    int rc = 1;

    memset(&rs, 0, sizeof(rs));
    rs.js.p = (const unsigned char *)body;
    rs.js.end = rs.js.p + len;
    rs.js.out = &sb;
    /* a key read twice gives up (jansson keeps the last): the seen bits;
     * repeated keys that are not read do not matter */
    rs.js.unique = false;
    rs.usage_pt = rs.usage_ct = rs.prompt_n = rs.predicted_n = -1;
    if (!lleval_jscan_object(&rs.js, 0, root_member) || !lleval_jscan_end(&rs.js) || !rs.choices_ok)
        goto out;
    /* choices[0].message.content: a string, or null (an empty answer); without
     * a message, choices[0].text */
    if (rs.message == K_OTHER)
        goto out;
    if (rs.message) {
        if (rs.content_kind != K_STRING && rs.content_kind != K_NULL)
            goto out;
        content = rs.content_kind == K_STRING ? rs.content : 0;
    } else {
        if (rs.text_kind != K_STRING)
            goto out;
        content = rs.text;
    }
    lleval_answer_init(out);
    out->content = lleval_xstrdup(content ? sb.buf + content - 1 : "");
    out->finish = lleval_openai_finish(rs.finish ? sb.buf + rs.finish - 1 : NULL);
    out->prompt_tokens = count(rs.usage_pt);
    out->completion_tokens = count(rs.usage_ct);
    if (out->prompt_tokens < 0 && rs.timings && rs.prompt_n >= 0)
        out->prompt_tokens = (long)(rs.prompt_n + (rs.cache_n > 0 ? rs.cache_n : 0));
    if (out->completion_tokens < 0 && rs.timings)
        out->completion_tokens = count(rs.predicted_n);
    out->prompt_tps = rs.prompt_ps > 0 ? rs.prompt_ps : 0;
    out->gen_tps = rs.predicted_ps > 0 ? rs.predicted_ps : 0;
    out->model = rs.model ? lleval_xstrdup(sb.buf + rs.model - 1) : NULL;
    out->request_id = rs.id ? lleval_xstrdup(sb.buf + rs.id - 1) : NULL;
    rc = 0;
out:
    lleval_sb_release(&sb);
    return rc;
}
