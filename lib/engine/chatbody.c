/*
 * The OpenAI chat request body written from the batch body's JSON text
 * without a tree (issue 13): the body is scanned with jscan and copied with
 * jwrite, member by member, with lleval_openai_chat_body()'s changes (see
 * http.h), byte for byte what that function writes from the parsed body.
 * Anything the scanner cannot vouch for (a repeated key, whose last value
 * jansson keeps; deep nesting; a body without messages, whose error the tree
 * path words) makes it give up, and the caller takes the tree path.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/engine/http.h"
#include "lleval/util/jscan.h"
#include "lleval/util/jwrite.h"
#include "engine_int.h"

/* Keys of one object at most: more, and the scanner gives up (the tree path copes). */
#define MAX_KEYS 64

static bool copy_value(struct lleval_jscan *s, struct lleval_sb *out, int depth);

/* A real as jansson writes it; an integral value without snprintf. */
static void put_real(struct lleval_sb *out, double v)
{
    if (v == floor(v) && fabs(v) < 1e15 && !(v == 0 && signbit(v))) {
        lleval_jw_int(out, (long long)v);
        lleval_sb_add(out, ".0", 2);
    } else {
        lleval_jw_real(out, v);
    }
}

/* True when every escape of a valid string's bytes [p, end) is the one
 * jansson (and jwrite) writes for its character: \" \\ \b \f \n \r \t, and
 * \u00XX in capitals for the other control characters; the bytes jansson
 * writes as they stand (raw UTF-8, '/', DEL) then stand as well, so the
 * string's text is what dumping it again would write. */
static bool written_as_jansson(const unsigned char *p, const unsigned char *end)
{
    static const char caps[] = "0123456789ABCDEF";
    while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
        unsigned v;
        switch (p[1]) {
        case '"':
        case '\\':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            p += 2;
            continue;
        case 'u':
            if (p[2] != '0' || p[3] != '0' || (p[4] != '0' && p[4] != '1') ||
                !memchr(caps, p[5], 16))
                return false;
            v = (unsigned)(p[4] - '0') * 16 +
                (unsigned)(p[5] <= '9' ? p[5] - '0' : p[5] - 'A' + 10);
            if (v == '\b' || v == '\f' || v == '\n' || v == '\r' || v == '\t')
                return false; /* jansson writes the short escape */
            p += 6;
            continue;
        default: /* \/: jansson writes '/' */
            return false;
        }
    }
    return true;
}

/* A string: as it stands when it is written as jansson writes it (plain
 * bytes; escapes as written_as_jansson() says), else unescaped and written
 * again. */
static bool copy_string(struct lleval_jscan *s, struct lleval_sb *out)
{
    const unsigned char *start, *q;
    size_t at;
    lleval_jscan_ws(s);
    start = s->p;
    if (start < s->end && *start == '"') { /* plain bytes only: as it stands */
        q = lleval_jscan_plain_end(start + 1, s->end);
        if (q < s->end && *q == '"') {
            lleval_sb_add(out, start, (size_t)(q + 1 - start));
            s->p = q + 1;
            return true;
        }
    }
    if (!lleval_jscan_str(s, NULL))
        return false;
    if (written_as_jansson(start + 1, s->p - 1)) {
        lleval_sb_add(out, start, (size_t)(s->p - start));
        return true;
    }
    s->p = start;
    at = s->out->len;
    if (!lleval_jscan_str(s, s->out))
        return false;
    lleval_jw_strn(out, s->out->buf + at, s->out->len - at - 1);
    lleval_sb_setlen(s->out, at);
    return true;
}

/* A key's text as it stands in the body, quotes included. */
struct span {
    const unsigned char *p;
    size_t n;
};

/* The keys of one object read so far, for the repeated-key check: each key's
 * offset in s->out and its length (with the NUL). */
struct keys {
    size_t n;
    uint32_t at[MAX_KEYS], len[MAX_KEYS];
};

/* Writes a key: as it stands when it has no escape, else escaped again. */
static void put_raw_key(struct lleval_sb *out, const struct span *raw, const char *key)
{
    if (!memchr(raw->p, '\\', raw->n))
        lleval_sb_add(out, raw->p, raw->n);
    else
        lleval_jw_str(out, key);
}

/* Reads a key into s->out (NUL-terminated, after this object's other keys,
 * which ks lists): its offset in *key, false when it was met in this object
 * already (jansson keeps a repeated key's last value) or too many were. */
static bool read_key(struct lleval_jscan *s, struct keys *ks, size_t *key, struct span *raw)
{
    size_t at = s->out->len, len;
    lleval_jscan_ws(s);
    raw->p = s->p;
    if (ks->n >= MAX_KEYS || !lleval_jscan_str(s, s->out))
        return false;
    raw->n = (size_t)(s->p - raw->p);
    len = s->out->len - at;
    if (at > UINT32_MAX || len > UINT32_MAX)
        return false;
    for (size_t i = 0; i < ks->n; i++)
        if (ks->len[i] == len && !memcmp(s->out->buf + ks->at[i], s->out->buf + at, len))
            return false;
    ks->at[ks->n] = (uint32_t)at;
    ks->len[ks->n++] = (uint32_t)len;
    *key = at;
    return true;
}

static bool copy_object(struct lleval_jscan *s, struct lleval_sb *out, int depth)
{
    size_t base = s->out->len, key;
    struct keys ks;
    struct span raw;
    bool ok = false;
    ks.n = 0;
    if (depth > LLEVAL_JSCAN_MAX_DEPTH || !lleval_jscan_eat(s, '{'))
        return false;
    lleval_sb_addch(out, '{');
    if (lleval_jscan_eat(s, '}')) {
        lleval_sb_addch(out, '}');
        return true;
    }
    for (;;) {
        if (!read_key(s, &ks, &key, &raw) || !lleval_jscan_eat(s, ':'))
            break;
        if (ks.n > 1)
            lleval_sb_addch(out, ',');
        put_raw_key(out, &raw, s->out->buf + key);
        lleval_sb_addch(out, ':');
        if (!copy_value(s, out, depth + 1))
            break;
        if (lleval_jscan_eat(s, '}')) {
            lleval_sb_addch(out, '}');
            ok = true;
            break;
        }
        if (!lleval_jscan_eat(s, ','))
            break;
    }
    lleval_sb_setlen(s->out, base);
    return ok;
}

static bool copy_array(struct lleval_jscan *s, struct lleval_sb *out, int depth)
{
    if (depth > LLEVAL_JSCAN_MAX_DEPTH || !lleval_jscan_eat(s, '['))
        return false;
    lleval_sb_addch(out, '[');
    if (lleval_jscan_eat(s, ']')) {
        lleval_sb_addch(out, ']');
        return true;
    }
    do {
        if (out->buf[out->len - 1] != '[')
            lleval_sb_addch(out, ',');
        if (!copy_value(s, out, depth + 1))
            return false;
    } while (lleval_jscan_eat(s, ','));
    if (!lleval_jscan_eat(s, ']'))
        return false;
    lleval_sb_addch(out, ']');
    return true;
}

static bool copy_value(struct lleval_jscan *s, struct lleval_sb *out, int depth)
{
    bool is_int;
    long long iv;
    double dv;
    lleval_jscan_ws(s);
    if (s->p >= s->end)
        return false;
    switch (*s->p) {
    case '{':
        return copy_object(s, out, depth);
    case '[':
        return copy_array(s, out, depth);
    case '"':
        return copy_string(s, out);
    case 't':
    case 'f':
    case 'n': {
        const char *w = lleval_jscan_literal(s);
        if (w)
            lleval_sb_adds(out, w);
        return w != NULL;
    }
    default:
        if (!lleval_jscan_num(s, &is_int, &iv, &dv))
            return false;
        if (is_int)
            lleval_jw_int(out, iv);
        else
            put_real(out, dv);
        return true;
    }
}

/* `,"key":` before a member (no comma before the first); raw: the key as
 * it stands in the body, or NULL. */
static void put_key(struct lleval_sb *out, const char *key, const struct span *raw)
{
    if (out->buf[out->len - 1] != '{')
        lleval_sb_addch(out, ',');
    if (raw)
        put_raw_key(out, raw, key);
    else
        lleval_jw_str(out, key);
    lleval_sb_addch(out, ':');
}

/* The body keys lleval_openai_chat_body() treats apart. */
enum body_key { BK_OTHER, BK_STREAM, BK_STOP, BK_TOP_K, BK_MODEL, BK_MESSAGES };

/* Which of them key is: by its first byte, then one strcmp (a body has a
 * handful of keys, each met once per request). */
static enum body_key body_key_of(const char *key)
{
    switch (key[0]) {
    case 's':
        if (!strcmp(key, "stream") || !strcmp(key, "stream_options"))
            return BK_STREAM;
        return strcmp(key, "stop") ? BK_OTHER : BK_STOP;
    case 't':
        return strcmp(key, "top_k") ? BK_OTHER : BK_TOP_K;
    case 'm':
        if (!strcmp(key, "model"))
            return BK_MODEL;
        return strcmp(key, "messages") ? BK_OTHER : BK_MESSAGES;
    default:
        return BK_OTHER;
    }
}

/* One member of the body: dropped, replaced or copied as
 * lleval_openai_chat_body() does. */
static bool body_member(struct lleval_jscan *s, struct lleval_sb *out, const char *key,
                        const struct span *raw, bool drop_top_k0, const char *model_id,
                        bool *have_model, bool *have_messages)
{
    const unsigned char *at;
    enum body_key bk = body_key_of(key);
    if (lleval_jscan_null(s))
        return true; /* null: left out */
    if (bk == BK_STREAM)
        return lleval_jscan_skip(s, 1);
    at = s->p;
    if (bk == BK_STOP && lleval_jscan_eat(s, '[')) {
        if (lleval_jscan_eat(s, ']'))
            return true; /* an empty stop list: left out */
        s->p = at;
    }
    if (drop_top_k0 && bk == BK_TOP_K && !lleval_jscan_peek(s, '"') && !lleval_jscan_peek(s, '{') &&
        !lleval_jscan_peek(s, '[') && !lleval_jscan_peek(s, 't') && !lleval_jscan_peek(s, 'f')) {
        bool is_int;
        long long iv;
        double dv;
        if (!lleval_jscan_num(s, &is_int, &iv, &dv))
            return false;
        if (is_int && iv == 0)
            return true; /* top_k 0 (disabled): left out */
        s->p = at;
    }
    if (bk == BK_MODEL) {
        *have_model = true;
        if (!lleval_jscan_peek(s, '"') && model_id) { /* replaced where it stands */
            put_key(out, key, raw);                   /* before the skip moves key */
            lleval_jw_str(out, model_id);
            return lleval_jscan_skip(s, 1);
        }
    }
    if (bk == BK_MESSAGES) {
        /* a non-empty list, or the tree path words the error */
        if (!lleval_jscan_eat(s, '[') || lleval_jscan_eat(s, ']'))
            return false;
        s->p = at;
        *have_messages = true;
    }
    put_key(out, key, raw);
    return copy_value(s, out, 1);
}

/* The scanner's copy: 0, or 1 (sb as it was) when it gives up. */
static int scan_body(const struct lleval_engine *e, const char *body, size_t len, bool drop_top_k0,
                     struct lleval_sb *sb)
{
    const char *model_id = e->cfg ? e->cfg->model_id : NULL;
    struct lleval_sb scratch = LLEVAL_SB_INIT;
    struct lleval_jscan s;
    size_t start = sb->len, key;
    struct keys ks = {0};
    struct span raw;
    bool have_model = false, have_messages = false, ok = false;

    s.p = (const unsigned char *)body;
    s.end = s.p + len;
    s.out = &scratch;
    s.unique = true;
    if (!lleval_jscan_eat(&s, '{') || lleval_jscan_eat(&s, '}'))
        goto out; /* not an object, or one without messages: the tree path says so */
    lleval_sb_addch(sb, '{');
    for (;;) {
        if (!read_key(&s, &ks, &key, &raw) || !lleval_jscan_eat(&s, ':') ||
            !body_member(&s, sb, scratch.buf + key, &raw, drop_top_k0, model_id, &have_model,
                         &have_messages))
            goto out;
        if (lleval_jscan_eat(&s, '}'))
            break;
        if (!lleval_jscan_eat(&s, ','))
            goto out;
    }
    if (!lleval_jscan_end(&s) || !have_messages)
        goto out;
    if (!have_model && model_id) {
        put_key(sb, "model", NULL);
        lleval_jw_str(sb, model_id);
    }
    put_key(sb, "stream", NULL);
    lleval_jw_bool(sb, false);
    lleval_sb_addch(sb, '}');
    ok = true;
out:
    if (!ok)
        lleval_sb_setlen(sb, start);
    lleval_sb_release(&scratch);
    return ok ? 0 : 1;
}

int lleval_openai_chat_body_text(const struct lleval_engine *e, const char *body, size_t len,
                                 bool drop_top_k0, struct lleval_sb *sb, struct lleval_err *err)
{
    json_t *j;
    int rc;
    if (!scan_body(e, body, len, drop_top_k0, sb))
        return 0;
    if (!(j = lleval_engine_body_json(body, len, err)))
        return LLEVAL_EINVAL;
    rc = lleval_openai_chat_body(e, j, drop_top_k0, sb, err);
    json_decref(j);
    return rc;
}
