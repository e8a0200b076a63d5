/*
 * libFuzzer target for results/items.jsonl, a file a damaged or edited run
 * directory hands back to lleval: the input, as a file, is read by the
 * jansson reader (lleval_items_each) and by the scanner's fast reader
 * (lleval_items_each_fast, and lleval_items_each_fast_lines asked for the
 * odd lines only, of a file the first read took whole), which the report,
 * the comparison page and `runs items` use. Both must hand over the same rows, field for field
 * (each row written back with lleval_items_json_row, with its line number), or fail with the same
 * error: the fast reader gives a line it cannot vouch for to jansson.
 */
#include <math.h>
#include "fuzz_common.h"
#include "lleval/score/items.h"
#include "lleval/util/error.h"
#include "lleval/util/util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_dir();
    return 0;
}

struct seen {
    struct lleval_sb rows;
    bool odd_only; /* keep only odd lines (the fast_lines reader's filter) */
    long resets;
};

static int on_row(const struct lleval_item_row *r, void *ud)
{
    struct seen *s = ud;
    if (s->odd_only && r->line % 2 == 0)
        return 0;
    fuzz_use(r->custom_id);
    fuzz_use(r->question);
    fuzz_use(r->prediction);
    for (size_t k = 0; k < r->n_gold; k++)
        fuzz_use(r->gold[k]);
    for (size_t k = 0; k < r->n_choices; k++)
        fuzz_use(r->choices[k]);
    lleval_sb_addf(&s->rows, "%ld ", r->line);
    lleval_items_json_row(&s->rows, r);
    return 0;
}

static void on_reset(void *ud)
{
    struct seen *s = ud;
    lleval_sb_reset(&s->rows);
    s->resets++;
}

static bool want_odd(long line, void *ud)
{
    (void)ud;
    return line % 2 == 1;
}

static void same(const char *what, int rc_a, const struct lleval_err *ea, const struct seen *a,
                 int rc_b, const struct lleval_err *eb, const struct seen *b)
{
    FUZZ_CHECK(rc_a == rc_b, "%s: jansson rc %d (%s), fast rc %d (%s)", what, rc_a, ea->msg, rc_b,
               eb->msg);
    if (rc_a) {
        FUZZ_CHECK(!strcmp(ea->msg, eb->msg), "%s: errors differ: '%s' / '%s'", what, ea->msg,
                   eb->msg);
        return;
    }
    FUZZ_CHECK(a->rows.len == b->rows.len && !memcmp(a->rows.buf, b->rows.buf, a->rows.len),
               "%s: rows differ:\n--- jansson\n%.*s\n--- fast\n%.*s", what, (int)a->rows.len,
               a->rows.buf, (int)b->rows.len, b->rows.buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[300];
    struct seen slow = {LLEVAL_SB_INIT, false, 0}, fast = {LLEVAL_SB_INIT, false, 0};
    struct seen slow_odd = {LLEVAL_SB_INIT, true, 0}, fast_odd = {LLEVAL_SB_INIT, true, 0};
    struct lleval_err e1 = LLEVAL_ERR_INIT, e2 = LLEVAL_ERR_INIT, e3 = LLEVAL_ERR_INIT,
                      e4 = LLEVAL_ERR_INIT;
    int r1, r2, r3, r4;

    fuzz_path(path, sizeof(path), LLEVAL_ITEMS_JSONL);
    fuzz_write(path, data, size);
    r1 = lleval_items_each(path, on_row, &slow, &e1);
    r2 = lleval_items_each_fast(path, on_row, on_reset, &fast, &e2);
    same("every line", r1, &e1, &slow, r2, &e2, &fast);
    if (!r1) { /* fast_lines is for a file read whole before: it skips the other lines unread */
        r3 = lleval_items_each(path, on_row, &slow_odd, &e3);
        r4 = lleval_items_each_fast_lines(path, want_odd, on_row, on_reset, &fast_odd, &e4);
        same("odd lines", r3, &e3, &slow_odd, r4, &e4, &fast_odd);
    }
    lleval_sb_release(&slow.rows);
    lleval_sb_release(&fast.rows);
    lleval_sb_release(&slow_odd.rows);
    lleval_sb_release(&fast_odd.rows);
    return 0;
}
