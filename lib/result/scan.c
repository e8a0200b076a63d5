/*
 * Result lines read in one pass without a JSON tree (see scan.h). The scanner
 * validates the whole line as jansson would (grammar, UTF-8, escapes, number
 * ranges) and types every view field as lleval_result_decode() does; where it
 * cannot vouch for the same answer it gives up and jansson decodes the line.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/result/scan.h"

enum { MAX_DEPTH = 32, NUM_MAX = 64 };

/* arena offsets (+1, 0 = absent) of the view's strings */
enum { S_CID, S_ECODE, S_EMSG, S_CONTENT, S_BFINISH, S_FINISH, S_ENGINE, S_N };

struct sc {
    const unsigned char *p, *end;
    struct lleval_sb *arena;
    size_t *offs;
    struct lleval_result_view *v;
    long long lleval_pt, lleval_ct, usage_pt, usage_ct;
    bool lleval_has_pt;
};

static void ws(struct sc *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool eat(struct sc *s, char c)
{
    ws(s);
    if (s->p < s->end && *s->p == (unsigned char)c) {
        s->p++;
        return true;
    }
    return false;
}

static int hex4(const unsigned char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static void put_utf8(struct lleval_sb *out, unsigned long cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    lleval_sb_add(out, b, n);
}

/* Length of the valid UTF-8 sequence at p (jansson's rules: no overlong
 * forms, no surrogates, at most U+10FFFF), 0 when invalid. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned long cp;
    size_t n;
    if (*p >= 0xC2 && *p <= 0xDF) {
        n = 2;
        cp = *p & 0x1F;
    } else if (*p >= 0xE0 && *p <= 0xEF) {
        n = 3;
        cp = *p & 0x0F;
    } else if (*p >= 0xF0 && *p <= 0xF4) {
        n = 4;
        cp = *p & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* A string; its unescaped bytes go to out (NUL-terminated) when out is not
 * NULL. False for anything jansson would refuse or read differently. */
static bool str(struct sc *s, struct lleval_sb *out)
{
    const unsigned char *p;
    ws(s);
    if (s->p >= s->end || *s->p != '"')
        return false;
    p = ++s->p;
    for (;;) {
        const unsigned char *run = p;
        while (p < s->end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (out && p > run)
            lleval_sb_add(out, run, (size_t)(p - run));
        if (p >= s->end || *p < 0x20)
            return false;
        if (*p == '"')
            break;
        if (*p >= 0x80) {
            size_t n = utf8_len(p, s->end);
            if (!n)
                return false;
            if (out)
                lleval_sb_add(out, p, n);
            p += n;
            continue;
        }
        /* an escape */
        if (s->end - p < 2)
            return false;
        switch (p[1]) {
        case '"':
        case '\\':
        case '/':
            if (out)
                lleval_sb_addch(out, (char)p[1]);
            p += 2;
            break;
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            if (out)
                lleval_sb_addch(out, p[1] == 'b'   ? '\b'
                                     : p[1] == 'f' ? '\f'
                                     : p[1] == 'n' ? '\n'
                                     : p[1] == 'r' ? '\r'
                                                   : '\t');
            p += 2;
            break;
        case 'u': {
            int hi, lo;
            unsigned long cp;
            if (s->end - p < 6 || (hi = hex4(p + 2)) < 0 || hi == 0 ||
                (hi >= 0xDC00 && hi <= 0xDFFF))
                return false;
            cp = (unsigned long)hi;
            p += 6;
            if (hi >= 0xD800 && hi <= 0xDBFF) {
                if (s->end - p < 6 || p[0] != '\\' || p[1] != 'u' || (lo = hex4(p + 2)) < 0 ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return false;
                cp = 0x10000 + (((unsigned long)hi - 0xD800) << 10) + ((unsigned long)lo - 0xDC00);
                p += 6;
            }
            if (out)
                put_utf8(out, cp);
            break;
        }
        default:
            return false;
        }
    }
    s->p = p + 1;
    if (out)
        lleval_sb_addch(out, '\0');
    return true;
}

/* A kept string: its arena offset + 1 in s->offs[slot]. */
static bool keep(struct sc *s, int slot)
{
    size_t at = s->arena->len;
    if (!str(s, s->arena))
        return false;
    s->offs[slot] = at + 1;
    return true;
}

/* A number: *is_int as jansson tells integers from reals (no '.', 'e', 'E'). */
static bool num(struct sc *s, bool *is_int, long long *iv, double *dv)
{
    const unsigned char *p, *start;
    char buf[NUM_MAX + 1];
    size_t digits = 0, n;
    char *e;
    ws(s);
    p = start = s->p;
    *is_int = true;
    if (p < s->end && *p == '-')
        p++;
    if (p < s->end && *p == '0') {
        p++;
        digits = 1;
    } else {
        while (p < s->end && *p >= '0' && *p <= '9') {
            p++;
            digits++;
        }
    }
    if (!digits)
        return false;
    if (p < s->end && *p == '.') {
        size_t f = 0;
        *is_int = false;
        for (p++; p < s->end && *p >= '0' && *p <= '9'; p++)
            f++;
        if (!f)
            return false;
    }
    if (p < s->end && (*p == 'e' || *p == 'E')) {
        size_t x = 0;
        *is_int = false;
        p++;
        if (p < s->end && (*p == '+' || *p == '-'))
            p++;
        for (; p < s->end && *p >= '0' && *p <= '9'; p++)
            x++;
        if (!x)
            return false;
    }
    n = (size_t)(p - start);
    if (n > NUM_MAX || (*is_int && digits > 18))
        return false; /* jansson may refuse a huge integer: let it say so */
    memcpy(buf, start, n);
    buf[n] = '\0';
    s->p = p;
    if (*is_int) {
        *iv = strtoll(buf, &e, 10);
        *dv = (double)*iv;
    } else {
        *dv = strtod(buf, &e);
        if (isinf(*dv))
            return false;
    }
    return e == buf + n;
}

static bool skip(struct sc *s, int depth);

/* Walks an object: each key goes to member(), which reads its value; a key
 * met twice at one level (mask bit) gives up: jansson keeps the last. */
static bool object(struct sc *s, int depth,
                   bool (*member)(struct sc *s, const char *key, unsigned *seen, int depth))
{
    unsigned seen = 0;
    if (depth > MAX_DEPTH || !eat(s, '{'))
        return false;
    if (eat(s, '}'))
        return true;
    for (;;) {
        char key[24];
        size_t at = s->arena->len;
        bool ok;
        if (!str(s, s->arena))
            return false;
        ok = s->arena->len - at <= sizeof(key);
        if (ok)
            memcpy(key, s->arena->buf + at, s->arena->len - at);
        lleval_sb_setlen(s->arena, at);
        if (!eat(s, ':'))
            return false;
        if (!(ok ? member(s, key, &seen, depth + 1) : skip(s, depth + 1)))
            return false;
        if (eat(s, '}'))
            return true;
        if (!eat(s, ','))
            return false;
    }
}

static bool skip_member(struct sc *s, const char *key, unsigned *seen, int depth)
{
    (void)key;
    (void)seen;
    return skip(s, depth);
}

/* Any JSON value, validated and dropped. */
static bool skip(struct sc *s, int depth)
{
    bool is_int;
    long long iv;
    double dv;
    ws(s);
    if (s->p >= s->end || depth > MAX_DEPTH)
        return false;
    switch (*s->p) {
    case '{':
        return object(s, depth, skip_member);
    case '[':
        s->p++;
        if (eat(s, ']'))
            return true;
        do {
            if (!skip(s, depth + 1))
                return false;
        } while (eat(s, ','));
        return eat(s, ']');
    case '"':
        return str(s, NULL);
    case 't':
    case 'f':
    case 'n': {
        const char *w = *s->p == 't' ? "true" : *s->p == 'f' ? "false" : "null";
        size_t n = strlen(w);
        if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n))
            return false;
        s->p += n;
        return true;
    }
    default:
        return num(s, &is_int, &iv, &dv);
    }
}

static bool is_null(struct sc *s)
{
    ws(s);
    if (s->end - s->p >= 4 && !memcmp(s->p, "null", 4)) {
        s->p += 4;
        return true;
    }
    return false;
}

static bool peek(struct sc *s, char c)
{
    ws(s);
    return s->p < s->end && *s->p == (unsigned char)c;
}

/* Marks key's bit in *seen; false when it was set already. */
static bool first(unsigned *seen, int bit)
{
    if (*seen & (1u << bit))
        return false;
    *seen |= 1u << bit;
    return true;
}

/* A count as lleval_result_decode reads one: an integer >= 0, or a real in
 * [0, 9.2e18) cut to its integer part. */
static bool count(struct sc *s, long long *out)
{
    bool is_int;
    long long iv;
    double dv;
    if (!num(s, &is_int, &iv, &dv))
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
    return num(s, &is_int, &iv, out);
}

static bool message_member(struct sc *s, const char *key, unsigned *seen, int depth)
{
    if (!strcmp(key, "content"))
        return first(seen, 0) && keep(s, S_CONTENT);
    return skip(s, depth);
}

static bool choice_member(struct sc *s, const char *key, unsigned *seen, int depth)
{
    if (!strcmp(key, "message"))
        return first(seen, 0) && object(s, depth, message_member);
    if (!strcmp(key, "finish_reason"))
        return first(seen, 1) && keep(s, S_BFINISH);
    return skip(s, depth);
}

static bool usage_member(struct sc *s, const char *key, unsigned *seen, int depth)
{
    if (!strcmp(key, "prompt_tokens"))
        return first(seen, 0) && count(s, &s->usage_pt);
    if (!strcmp(key, "completion_tokens"))
        return first(seen, 1) && count(s, &s->usage_ct);
    return skip(s, depth);
}

static bool body_member(struct sc *s, const char *key, unsigned *seen, int depth)
{
    if (!strcmp(key, "choices")) {
        if (!first(seen, 0) || !eat(s, '['))
            return false;
        if (eat(s, ']'))
            return true;
        if (!object(s, depth + 1, choice_member))
            return false;
        while (eat(s, ','))
            if (!skip(s, depth + 1))
                return false;
        return eat(s, ']');
    }
    if (!strcmp(key, "usage"))
        return first(seen, 1) && object(s, depth, usage_member);
    return skip(s, depth);
}

static bool response_member(struct sc *s, const char *key, unsigned *seen, int depth)
{
    if (!strcmp(key, "status_code")) {
        long long st;
        bool is_int;
        double dv;
        if (!first(seen, 0) || !num(s, &is_int, &st, &dv) || !is_int || st < 0 || st > 999)
            return false;
        s->v->http_status = (long)st;
        return true;
    }
    if (!strcmp(key, "body"))
        return first(seen, 1) && (is_null(s) || object(s, depth, body_member));
    return skip(s, depth);
}

static bool error_member(struct sc *s, const char *key, unsigned *seen, int depth)
{
    if (!strcmp(key, "code"))
        return first(seen, 0) && keep(s, S_ECODE);
    if (!strcmp(key, "message"))
        return first(seen, 1) && keep(s, S_EMSG);
    return skip(s, depth);
}

static bool facts_member(struct sc *s, const char *key, unsigned *seen, int depth)
{
    struct lleval_result_view *v = s->v;
    static const char *const reals[] = {"latency_ms", "prompt_tps", "gen_tps", "load_ms",
                                        "finished_at"};
    double *const dst[] = {&v->latency_ms, &v->prompt_tps, &v->gen_tps, &v->load_ms,
                           &v->finished_at};
    if (!strcmp(key, "engine"))
        return first(seen, 0) && keep(s, S_ENGINE);
    if (!strcmp(key, "finish_reason"))
        return first(seen, 1) && keep(s, S_FINISH);
    if (!strcmp(key, "attempts"))
        return first(seen, 2) && count(s, &v->attempts);
    if (!strcmp(key, "prompt_tokens")) {
        s->lleval_has_pt = true;
        return first(seen, 3) && count(s, &s->lleval_pt);
    }
    if (!strcmp(key, "completion_tokens"))
        return first(seen, 4) && count(s, &s->lleval_ct);
    for (int i = 0; i < 5; i++)
        if (!strcmp(key, reals[i]))
            return first(seen, 5 + i) && real(s, dst[i]);
    return skip(s, depth);
}

static bool line_member(struct sc *s, const char *key, unsigned *seen, int depth)
{
    struct lleval_result_view *v = s->v;
    if (!strcmp(key, "custom_id"))
        return first(seen, 0) && keep(s, S_CID);
    if (!strcmp(key, "response"))
        return first(seen, 1) && object(s, depth, response_member);
    if (!strcmp(key, "error")) {
        if (!first(seen, 2))
            return false;
        if (is_null(s))
            return true;
        v->failed = true;
        return peek(s, '{') && object(s, depth, error_member);
    }
    if (!strcmp(key, "lleval")) {
        v->has_facts = true;
        return first(seen, 3) && object(s, depth, facts_member);
    }
    return skip(s, depth);
}

static void view_init(struct lleval_result_view *v)
{
    memset(v, 0, sizeof(*v));
    v->prompt_tokens = LLEVAL_RESULT_NO_COUNT;
    v->completion_tokens = LLEVAL_RESULT_NO_COUNT;
    v->attempts = LLEVAL_RESULT_NO_COUNT;
    v->latency_ms = NAN;
    v->prompt_tps = NAN;
    v->gen_tps = NAN;
    v->load_ms = NAN;
    v->finished_at = NAN;
}

static const char *at(struct lleval_result_hold *h, int slot)
{
    return h->offs[slot] ? h->arena.buf + h->offs[slot] - 1 : NULL;
}

/* The scanner: true when v holds what lleval_result_decode() would say with
 * a return of 0. */
static bool scan(const char *text, size_t len, struct lleval_result_hold *h,
                 struct lleval_result_view *v)
{
    struct sc s = {(const unsigned char *)text,
                   (const unsigned char *)text + len,
                   &h->arena,
                   h->offs,
                   v,
                   LLEVAL_RESULT_NO_COUNT,
                   LLEVAL_RESULT_NO_COUNT,
                   LLEVAL_RESULT_NO_COUNT,
                   LLEVAL_RESULT_NO_COUNT,
                   false};
    memset(h->offs, 0, sizeof(h->offs));
    lleval_sb_reset(&h->arena);
    view_init(v);
    if (!peek(&s, '{') || !object(&s, 0, line_member))
        return false;
    ws(&s);
    if (s.p != s.end || !h->offs[S_CID])
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
    json_decref(hold->json);
    hold->json = NULL;
    if (scan(text, len, hold, v))
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
