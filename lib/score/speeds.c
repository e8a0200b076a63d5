/* The unrounded gen_tps of each request from the run's result lines (see speeds.h). */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/result/result.h"
#include "lleval/result/scan.h"
#include "lleval/util/idset.h"
#include "lleval/util/util.h"
#include "speeds.h"

struct lleval_speeds {
    struct lleval_idset index; /* hash of the custom_id -> entry (exact: ids compared) */
    struct lleval_sb ids;      /* the custom_ids, NUL-separated */
    size_t *off;               /* each entry's id in ids */
    double *tps;
    size_t n, cap;
};

struct lleval_speeds *lleval_speeds_load(const char *path)
{
    struct lleval_speeds *s;
    struct lleval_lines lr;
    struct lleval_result_hold hold = LLEVAL_RESULT_HOLD_INIT;
    if (!path || lleval_lines_open(&lr, path, NULL))
        return NULL;
    s = lleval_xcalloc(1, sizeof(*s));
    lleval_sb_init(&s->ids, 0);
    while (lleval_lines_next(&lr, NULL) > 0) {
        struct lleval_result_view v;
        if (!lleval_result_read(lr.line, lr.len, &hold, &v, NULL) && v.custom_id && !v.failed &&
            v.gen_tps > 0 && s->n < UINT32_MAX) {
            if (s->n == s->cap) {
                s->cap = s->cap ? 2 * s->cap : 256;
                s->off = lleval_xrealloc(s->off, s->cap * sizeof(*s->off));
                s->tps = lleval_xrealloc(s->tps, s->cap * sizeof(*s->tps));
            }
            s->off[s->n] = s->ids.len;
            s->tps[s->n] = v.gen_tps;
            lleval_sb_add(&s->ids, v.custom_id, strlen(v.custom_id) + 1);
            lleval_idset_add(&s->index, lleval_idset_hash(v.custom_id), (uint32_t)s->n);
            s->n++;
        }
    }
    lleval_result_hold_release(&hold);
    lleval_lines_close(&lr);
    return s;
}

double lleval_speeds_get(const struct lleval_speeds *s, const char *custom_id)
{
    uint32_t v;
    if (!s || !custom_id)
        return NAN;
    for (size_t pos = 0; lleval_idset_next(&s->index, lleval_idset_hash(custom_id), &pos, &v);)
        if (!strcmp(s->ids.buf + s->off[v], custom_id))
            return s->tps[v];
    return NAN;
}

void lleval_speeds_free(struct lleval_speeds *s)
{
    if (!s)
        return;
    lleval_idset_release(&s->index);
    lleval_sb_release(&s->ids);
    free(s->off);
    free(s->tps);
    free(s);
}
