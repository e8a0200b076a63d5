/* The unrounded gen_tps of each request from the run's result lines (see speeds.h). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/result/result.h"
#include "lleval/result/scan.h"
#include "lleval/util/idset.h"
#include "lleval/util/util.h"
#include "speeds.h"

/*
 * No custom_id is kept (at a million requests they and their offsets were
 * about 100 MB of the score step's peak): an entry is found by the id's
 * lleval_idset_hash() and told from another with the same hash by a second,
 * independent 64-bit hash of the id, so two ids mix up only when both hashes
 * collide (about 1e-27 among a million ids).
 */
struct lleval_speeds {
    struct lleval_idset index; /* lleval_idset_hash() of the custom_id -> entry */
    uint64_t *check;           /* each entry's check_hash() of its custom_id */
    double *tps;
    size_t n, cap;
};

/* The second hash: a multiply-xorshift over the bytes, unrelated to FNV-1a. */
static uint64_t check_hash(const char *s)
{
    uint64_t h = 0x243F6A8885A308D3ULL;
    for (; *s; s++) {
        h = (h + (unsigned char)*s) * 0x9E3779B97F4A7C15ULL;
        h ^= h >> 29;
    }
    return h;
}

/* The entry of a custom_id with hashes h and c, or -1. */
static long find(const struct lleval_speeds *s, uint64_t h, uint64_t c)
{
    uint32_t v;
    for (size_t pos = 0; lleval_idset_next(&s->index, h, &pos, &v);)
        if (s->check[v] == c)
            return (long)v;
    return -1;
}

/* The newlines in path (an upper bound of the entries), to size the tables
 * once: growing them by doubling held the old and the new table at once,
 * a third more than their final size at a million requests. 0 when unread. */
static size_t count_lines(const char *path)
{
    char buf[1 << 16];
    size_t n = 0, got;
    FILE *f;
    if (lleval_fopen_read(path, &f, NULL))
        return 0;
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
        for (const char *p = buf, *end = buf + got;
             (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
            n++;
    fclose(f);
    return n;
}

struct lleval_speeds *lleval_speeds_load(const char *path)
{
    struct lleval_speeds *s;
    struct lleval_lines lr;
    struct lleval_result_hold hold = LLEVAL_RESULT_HOLD_INIT;
    if (!path || lleval_lines_open(&lr, path, NULL))
        return NULL;
    s = lleval_xcalloc(1, sizeof(*s));
    s->cap = count_lines(path) + 1; /* a last line without its newline too */
    if (s->cap > UINT32_MAX)
        s->cap = UINT32_MAX;
    s->check = lleval_xmalloc(s->cap * sizeof(*s->check));
    s->tps = lleval_xmalloc(s->cap * sizeof(*s->tps));
    lleval_idset_reserve(&s->index, s->cap);
    while (lleval_lines_next(&lr, NULL) > 0) {
        struct lleval_result_view v;
        uint64_t h, c;
        if (lleval_result_read(lr.line, lr.len, &hold, &v, NULL) || !v.custom_id || v.failed ||
            !(v.gen_tps > 0) || s->n >= UINT32_MAX)
            continue;
        h = lleval_idset_hash(v.custom_id);
        c = check_hash(v.custom_id);
        if (find(s, h, c) >= 0)
            continue;         /* a repeated custom_id: the first line's speed, as before */
        if (s->n == s->cap) { /* the file grew since it was counted */
            s->cap = 2 * s->cap;
            s->check = lleval_xrealloc(s->check, s->cap * sizeof(*s->check));
            s->tps = lleval_xrealloc(s->tps, s->cap * sizeof(*s->tps));
        }
        s->check[s->n] = c;
        s->tps[s->n] = v.gen_tps;
        lleval_idset_add(&s->index, h, (uint32_t)s->n);
        s->n++;
    }
    lleval_result_hold_release(&hold);
    lleval_lines_close(&lr);
    return s;
}

double lleval_speeds_get(const struct lleval_speeds *s, const char *custom_id)
{
    long at;
    if (!s || !custom_id)
        return NAN;
    at = find(s, lleval_idset_hash(custom_id), check_hash(custom_id));
    return at < 0 ? NAN : s->tps[at];
}

void lleval_speeds_free(struct lleval_speeds *s)
{
    if (!s)
        return;
    lleval_idset_release(&s->index);
    free(s->check);
    free(s->tps);
    free(s);
}
