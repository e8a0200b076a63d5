/*
 * Result lines read in one pass without a JSON tree (see scan.h). The scanner
 * validates the whole line as jansson would (grammar, UTF-8, escapes, number
 * ranges) and types every view field as lleval_result_decode() does; where it
 * cannot vouch for the same answer it gives up and jansson decodes the line.
 * lleval's own answer lines are read along their known layout first
 * (shaped()), any other line member by member.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/result/scan.h"
#include "lleval/util/jscan.h"

/* arena offsets (+1, 0 = absent) of the view's strings */
enum { S_CID, S_ECODE, S_EMSG, S_CONTENT, S_BFINISH, S_FINISH, S_ENGINE, S_N };

struct sc {
    struct lleval_jscan js; /* first: the member callbacks get &sc.js */
    size_t *offs;
    struct lleval_result_view *v;
    long long lleval_pt, lleval_ct, usage_pt, usage_ct;
    bool lleval_has_pt;
    unsigned skip; /* enum lleval_result_some: the fields not asked for */
};

/* A kept string: its arena offset + 1 in s->offs[slot]. */
static bool keep(struct sc *s, int slot)
{
    size_t at = s->js.out->len;
    if (!lleval_jscan_str(&s->js, s->js.out))
        return false;
    s->offs[slot] = at + 1;
    return true;
}

/* A count as lleval_result_decode reads one: an integer >= 0, or a real in
 * [0, 9.2e18) cut to its integer part. */
static bool count(struct sc *s, long long *out)
{
    bool is_int;
    long long iv;
    double dv;
    if (!lleval_jscan_num(&s->js, &is_int, &iv, &dv))
        return false;
    if (is_int ? iv < 0 : !(dv >= 0 && dv < 9.2e18))
        return false;
    *out = is_int ? iv : (long long)dv;
    return true;
}

static bool real(struct sc *s, double *out)
{
    bool is_int;
    long long iv;
    return lleval_jscan_num(&s->js, &is_int, &iv, out);
}

static bool message_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct sc *s = (struct sc *)j;
    if (LLEVAL_JSCAN_KEY_IS(key, "content"))
        return lleval_jscan_first(seen, 0) && keep(s, S_CONTENT);
    return lleval_jscan_skip(j, depth);
}

static bool choice_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct sc *s = (struct sc *)j;
    if (LLEVAL_JSCAN_KEY_IS(key, "message"))
        return lleval_jscan_first(seen, 0) && lleval_jscan_object(j, depth, message_member);
    if (LLEVAL_JSCAN_KEY_IS(key, "finish_reason"))
        return lleval_jscan_first(seen, 1) &&
               (s->skip & LLEVAL_RESULT_BODY_FINISH ? lleval_jscan_skip(j, depth)
                                                    : keep(s, S_BFINISH));
    return lleval_jscan_skip(j, depth);
}

static bool usage_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct sc *s = (struct sc *)j;
    if (LLEVAL_JSCAN_KEY_IS(key, "prompt_tokens"))
        return lleval_jscan_first(seen, 0) && count(s, &s->usage_pt);
    if (LLEVAL_JSCAN_KEY_IS(key, "completion_tokens"))
        return lleval_jscan_first(seen, 1) && count(s, &s->usage_ct);
    return lleval_jscan_skip(j, depth);
}

static bool body_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    if (LLEVAL_JSCAN_KEY_IS(key, "choices")) {
        if (!lleval_jscan_first(seen, 0) || !lleval_jscan_eat(j, '['))
            return false;
        if (lleval_jscan_eat(j, ']'))
            return true;
        if (!lleval_jscan_object(j, depth + 1, choice_member))
            return false;
        while (lleval_jscan_eat(j, ','))
            if (!lleval_jscan_skip(j, depth + 1))
                return false;
        return lleval_jscan_eat(j, ']');
    }
    if (LLEVAL_JSCAN_KEY_IS(key, "usage"))
        return lleval_jscan_first(seen, 1) && lleval_jscan_object(j, depth, usage_member);
    return lleval_jscan_skip(j, depth);
}

static bool response_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct sc *s = (struct sc *)j;
    if (LLEVAL_JSCAN_KEY_IS(key, "status_code")) {
        long long st;
        bool is_int;
        double dv;
        if (!lleval_jscan_first(seen, 0) || !lleval_jscan_num(&s->js, &is_int, &st, &dv) ||
            !is_int || st < 0 || st > 999)
            return false;
        s->v->http_status = (long)st;
        return true;
    }
    if (LLEVAL_JSCAN_KEY_IS(key, "body"))
        return lleval_jscan_first(seen, 1) &&
               (lleval_jscan_null(j) || lleval_jscan_object(j, depth, body_member));
    return lleval_jscan_skip(j, depth);
}

static bool error_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct sc *s = (struct sc *)j;
    if (LLEVAL_JSCAN_KEY_IS(key, "code"))
        return lleval_jscan_first(seen, 0) && keep(s, S_ECODE);
    if (LLEVAL_JSCAN_KEY_IS(key, "message"))
        return lleval_jscan_first(seen, 1) && keep(s, S_EMSG);
    return lleval_jscan_skip(j, depth);
}

static bool facts_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct sc *s = (struct sc *)j;
    struct lleval_result_view *v = s->v;
    bool times = !(s->skip & LLEVAL_RESULT_TIMES); /* gen_tps is read anyway */
    if (LLEVAL_JSCAN_KEY_IS(key, "engine"))
        return lleval_jscan_first(seen, 0) &&
               (s->skip & LLEVAL_RESULT_ENGINE ? lleval_jscan_skip(j, depth) : keep(s, S_ENGINE));
    if (LLEVAL_JSCAN_KEY_IS(key, "finish_reason"))
        return lleval_jscan_first(seen, 1) && keep(s, S_FINISH);
    if (LLEVAL_JSCAN_KEY_IS(key, "attempts"))
        return lleval_jscan_first(seen, 2) &&
               (s->skip & LLEVAL_RESULT_ATTEMPTS ? lleval_jscan_skip(j, depth)
                                                 : count(s, &v->attempts));
    if (LLEVAL_JSCAN_KEY_IS(key, "prompt_tokens")) {
        s->lleval_has_pt = true;
        return lleval_jscan_first(seen, 3) && count(s, &s->lleval_pt);
    }
    if (LLEVAL_JSCAN_KEY_IS(key, "completion_tokens"))
        return lleval_jscan_first(seen, 4) && count(s, &s->lleval_ct);
    if (LLEVAL_JSCAN_KEY_IS(key, "latency_ms"))
        return lleval_jscan_first(seen, 5) &&
               (times ? real(s, &v->latency_ms) : lleval_jscan_skip(j, depth));
    if (LLEVAL_JSCAN_KEY_IS(key, "prompt_tps"))
        return lleval_jscan_first(seen, 6) &&
               (times ? real(s, &v->prompt_tps) : lleval_jscan_skip(j, depth));
    if (LLEVAL_JSCAN_KEY_IS(key, "gen_tps"))
        return lleval_jscan_first(seen, 7) && real(s, &v->gen_tps);
    if (LLEVAL_JSCAN_KEY_IS(key, "load_ms"))
        return lleval_jscan_first(seen, 8) &&
               (times ? real(s, &v->load_ms) : lleval_jscan_skip(j, depth));
    if (LLEVAL_JSCAN_KEY_IS(key, "finished_at"))
        return lleval_jscan_first(seen, 9) &&
               (times ? real(s, &v->finished_at) : lleval_jscan_skip(j, depth));
    return lleval_jscan_skip(j, depth);
}

static bool line_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct sc *s = (struct sc *)j;
    struct lleval_result_view *v = s->v;
    if (LLEVAL_JSCAN_KEY_IS(key, "custom_id"))
        return lleval_jscan_first(seen, 0) && keep(s, S_CID);
    if (LLEVAL_JSCAN_KEY_IS(key, "response"))
        return lleval_jscan_first(seen, 1) && lleval_jscan_object(j, depth, response_member);
    if (LLEVAL_JSCAN_KEY_IS(key, "error")) {
        if (!lleval_jscan_first(seen, 2))
            return false;
        if (lleval_jscan_null(j))
            return true;
        v->failed = true;
        return lleval_jscan_peek(j, '{') && lleval_jscan_object(j, depth, error_member);
    }
    if (LLEVAL_JSCAN_KEY_IS(key, "lleval")) {
        v->has_facts = true;
        return lleval_jscan_first(seen, 3) && lleval_jscan_object(j, depth, facts_member);
    }
    return lleval_jscan_skip(j, depth);
}

/* ---- lleval's own layout ------------------------------------------------- */

/* The 8 bytes at p as a word (in memory order). */
static inline uint64_t word8(const void *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

/* True when the bytes at the cursor are text (n bytes), which it passes.
 * Inline, with n a constant at each use: the compare unrolls to a few word
 * compares against constants (the last word overlapping the one before). */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline bool
lit(struct sc *s, const char *text, size_t n)
{
    const unsigned char *p = s->js.p;
    if ((size_t)(s->js.end - p) < n)
        return false;
    if (n >= 8) {
        for (size_t i = 0; i + 8 <= n; i += 8)
            if (word8(p + i) != word8(text + i))
                return false;
        if (n % 8 && word8(p + n - 8) != word8(text + n - 8))
            return false;
    } else if (memcmp(p, text, n)) {
        return false;
    }
    s->js.p = p + n;
    return true;
}
#define LIT(s, text) lit((s), (text), sizeof(text) - 1)

/* A real member of the facts: read, or checked only when the reader goes
 * without it (as facts_member() does). */
static bool fact_real(struct sc *s, bool want, double *out)
{
    return want ? real(s, out) : lleval_jscan_skip(&s->js, 2);
}

/*
 * The "lleval" object in the writer's layout: engine and finish_reason, then
 * each of the others in the writer's order or left out (a real that was not
 * finite), read as facts_member() reads them; false at anything else.
 */
static bool facts_shaped(struct sc *s)
{
    struct lleval_result_view *v = s->v;
    bool times = !(s->skip & LLEVAL_RESULT_TIMES);
    if (!LIT(s, "{\"engine\":") ||
        !(s->skip & LLEVAL_RESULT_ENGINE ? lleval_jscan_skip(&s->js, 2) : keep(s, S_ENGINE)) ||
        !LIT(s, ",\"finish_reason\":") || !keep(s, S_FINISH))
        return false;
    if (LIT(s, ",\"latency_ms\":") && !fact_real(s, times, &v->latency_ms))
        return false;
    if (LIT(s, ",\"prompt_tokens\":")) {
        s->lleval_has_pt = true;
        if (!count(s, &s->lleval_pt))
            return false;
    }
    if (LIT(s, ",\"completion_tokens\":") && !count(s, &s->lleval_ct))
        return false;
    if (LIT(s, ",\"prompt_tps\":") && !fact_real(s, times, &v->prompt_tps))
        return false;
    if (LIT(s, ",\"gen_tps\":") && !real(s, &v->gen_tps))
        return false;
    if (LIT(s, ",\"load_ms\":") && !fact_real(s, times, &v->load_ms))
        return false;
    if (LIT(s, ",\"attempts\":") &&
        !(s->skip & LLEVAL_RESULT_ATTEMPTS ? lleval_jscan_skip(&s->js, 2) : count(s, &v->attempts)))
        return false;
    if (LIT(s, ",\"finished_at\":") && !fact_real(s, times, &v->finished_at))
        return false;
    return LIT(s, "}");
}

/*
 * An answer's line as lleval_result_text_build() lays it out (the keys in its
 * order, no white space, one choice, the model or not, the facts it leaves
 * out), read as fixed byte runs and values without the member-by-member
 * walk. Each value goes through the reader the walk gives it (and at the
 * walk's depth), and no key can repeat, so on a line it takes it sets what
 * the walk would set; any byte off the layout gives up (false), and scan()
 * walks the line from its start (a failure line, a foreign line, a line with
 * spaces).
 */
static bool shaped(struct sc *s)
{
    struct lleval_jscan *j = &s->js;
    long long st;
    bool is_int;
    double dv;

    if (!LIT(s, "{\"id\":") || !lleval_jscan_str(j, NULL) || !LIT(s, ",\"custom_id\":") ||
        !keep(s, S_CID) || !LIT(s, ",\"response\":{\"status_code\":") ||
        !lleval_jscan_num(j, &is_int, &st, &dv) || !is_int || st < 0 || st > 999)
        return false;
    s->v->http_status = (long)st;
    if (!LIT(s, ",\"request_id\":") || !lleval_jscan_str(j, NULL) ||
        !LIT(s, ",\"body\":{\"object\":") || !lleval_jscan_str(j, NULL))
        return false;
    if (LIT(s, ",\"model\":") && !lleval_jscan_str(j, NULL))
        return false;
    if (!LIT(s, ",\"choices\":[{\"index\":") || !lleval_jscan_skip(j, 5) ||
        !LIT(s, ",\"message\":{\"role\":") || !lleval_jscan_str(j, NULL) ||
        !LIT(s, ",\"content\":") || !keep(s, S_CONTENT) || !LIT(s, "},\"finish_reason\":") ||
        !(s->skip & LLEVAL_RESULT_BODY_FINISH ? lleval_jscan_skip(j, 5) : keep(s, S_BFINISH)) ||
        !LIT(s, "}],\"usage\":{\"prompt_tokens\":") || !count(s, &s->usage_pt) ||
        !LIT(s, ",\"completion_tokens\":") || !count(s, &s->usage_ct) ||
        !LIT(s, ",\"total_tokens\":") || !lleval_jscan_skip(j, 4) ||
        !LIT(s, "}}},\"error\":null,\"lleval\":"))
        return false;
    s->v->has_facts = true;
    return facts_shaped(s) && LIT(s, "}");
}

static const char *at(struct lleval_result_hold *h, int slot)
{
    return h->offs[slot] ? h->arena.buf + h->offs[slot] - 1 : NULL;
}

/* The scanner: true when v holds what lleval_result_decode() would say with
 * a return of 0. */
static bool scan(const char *text, size_t len, struct lleval_result_hold *h,
                 struct lleval_result_view *v, unsigned skip)
{
    struct sc s = {
        {(const unsigned char *)text, (const unsigned char *)text + len, &h->arena, false},
        h->offs,
        v,
        LLEVAL_RESULT_NO_COUNT,
        LLEVAL_RESULT_NO_COUNT,
        LLEVAL_RESULT_NO_COUNT,
        LLEVAL_RESULT_NO_COUNT,
        false,
        skip};
    memset(h->offs, 0, sizeof(h->offs));
    lleval_sb_reset(&h->arena);
    lleval_result_view_init(v);
    if (!shaped(&s)) { /* walk the line from its start, with nothing kept */
        s.js.p = (const unsigned char *)text;
        s.lleval_pt = s.lleval_ct = s.usage_pt = s.usage_ct = LLEVAL_RESULT_NO_COUNT;
        s.lleval_has_pt = false;
        memset(h->offs, 0, sizeof(h->offs));
        lleval_sb_reset(&h->arena);
        lleval_result_view_init(v);
        if (!lleval_jscan_peek(&s.js, '{') || !lleval_jscan_object(&s.js, 0, line_member))
            return false;
    }
    if (!lleval_jscan_end(&s.js) || !h->offs[S_CID])
        return false;
    v->custom_id = at(h, S_CID);
    v->error_code = at(h, S_ECODE);
    v->error_message = at(h, S_EMSG);
    v->content = at(h, S_CONTENT);
    v->body_finish = at(h, S_BFINISH);
    v->finish_reason = at(h, S_FINISH);
    v->engine = at(h, S_ENGINE);
    v->prompt_tokens = s.lleval_has_pt ? s.lleval_pt : s.usage_pt;
    v->completion_tokens = s.lleval_has_pt ? s.lleval_ct : s.usage_ct;
    v->ok = v->http_status == 200 && !v->failed && v->content;
    return true;
}

int lleval_result_read(const char *text, size_t len, struct lleval_result_hold *hold,
                       struct lleval_result_view *v, struct lleval_err *err)
{
    return lleval_result_read_some(text, len, hold, v, LLEVAL_RESULT_ALL, err);
}

int lleval_result_read_some(const char *text, size_t len, struct lleval_result_hold *hold,
                            struct lleval_result_view *v, unsigned fields, struct lleval_err *err)
{
    json_decref(hold->json);
    hold->json = NULL;
    if (scan(text, len, hold, v, LLEVAL_RESULT_ALL & ~fields))
        return 0;
    return lleval_result_decode_text(text, len, &hold->json, v, err);
}

void lleval_result_hold_release(struct lleval_result_hold *hold)
{
    json_decref(hold->json);
    lleval_sb_release(&hold->arena);
    memset(hold, 0, sizeof(*hold));
    hold->arena = (struct lleval_sb)LLEVAL_SB_INIT;
}
