/*
 * The compact item index of a prepared dataset (see index.h): one string
 * arena, 20 bytes per item and a hash of the ids, filled by a one-pass scan
 * of each prepared line (lib/util/jscan.c); a line the scanner gives up on is
 * parsed and checked by the prepared reader as before, so damaged files fail
 * with the same messages.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/config/config.h"
#include "lleval/dataset/dataset.h"
#include "lleval/dataset/index.h"
#include "lleval/platform/fs.h"
#include "lleval/util/idset.h"
#include "lleval/util/jscan.h"
#include "lleval/util/json.h"
#include "lleval/util/util.h"

static const char *const type_names[] = {"closed_book", "open_book", "multiple_choice"};

struct ix_item {
    uint32_t id, question; /* arena offsets; question 0 when not kept */
    uint32_t first;        /* first answer in lists; the choices follow the answers */
    uint16_t n_answers, n_choices;
    uint8_t type;
    int8_t unanswerable; /* as line_scan's */
};

struct line_scan;

struct lleval_item_index {
    /* NUL-terminated strings; offset 0 is an empty string. LLEVAL_INDEX_OFFSETS:
     * the strings of the line read last (line cur) only */
    struct lleval_sb arena;
    struct ix_item *items;
    size_t n, cap;
    uint32_t *lists; /* arena offsets of answers and choices */
    size_t n_lists, cap_lists;
    struct lleval_idset byid; /* id hash -> item (exact: ids compared) */
    const char **view;        /* get()'s answers and choices */
    size_t cap_view;
    /* LLEVAL_INDEX_OFFSETS: each line's offset in file order (byid maps an id
     * hash to every line of it), and the file, kept open to read lines again */
    unsigned flags;
    uint64_t *offs;
    size_t cap_offs;
    size_t v2, no_ans; /* lines with "unanswerable", and with it true */
    struct lleval_prepared_reader rd;
    bool rd_open;
    struct line_scan *ls; /* the scan of a line read again */
    long cur;             /* the line whose strings the arena holds, -1 none */
    /* lines read again, kept (snap_get()): a slot per line modulo SNAP_SLOTS,
     * the first line to come keeps it; snap_line[s] is 1 + that line (0: a
     * free slot), snap_at[s] where it lies in snap */
    uint32_t *snap_line, *snap_at;
    size_t snap_mask; /* the slots - 1: a power of two, as many as the lines up to SNAP_SLOTS */
    struct lleval_sb snap;
};

/* The scan of one line. */
struct line_scan {
    struct lleval_jscan js; /* first: the member callback gets &ls.js */
    struct lleval_item_index *ix;
    const char *dataset;
    unsigned flags;
    size_t id, question, dataset_at;
    int type;
    int unanswerable; /* -1 absent, 1 true, 0 another value */
    bool has_context, has_choices, has_answers, has_dataset;
    uint32_t *ans, *cho; /* arena offsets of this line's answers / choices */
    size_t n_ans, n_cho, cap_ans, cap_cho;
    uint64_t start; /* the line's offset in the file */
    /* lleval_prepared_pick(): the items wanted, parsed whole into picked */
    bool (*want)(void *ud, const char *id);
    void *ud;
    json_t *picked;
};

static bool keep(struct line_scan *ls, size_t *at)
{
    *at = ls->js.out->len;
    return lleval_jscan_str(&ls->js, ls->js.out);
}

/* An array of strings: each kept, its offset added to (*v, *n); other
 * values are checked and left out (as the readers always did). */
static bool str_array(struct line_scan *ls, uint32_t **v, size_t *n, size_t *cap, int depth)
{
    struct lleval_jscan *j = &ls->js;
    if (!lleval_jscan_eat(j, '['))
        return false;
    if (lleval_jscan_eat(j, ']'))
        return true;
    do {
        if (lleval_jscan_peek(j, '"')) {
            size_t at;
            if (!keep(ls, &at))
                return false;
            LLEVAL_GROW(*v, *n, *cap);
            (*v)[(*n)++] = (uint32_t)at;
        } else if (!lleval_jscan_skip(j, depth + 1)) {
            return false;
        }
    } while (lleval_jscan_eat(j, ','));
    return lleval_jscan_eat(j, ']');
}

static bool item_member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct line_scan *ls = (struct line_scan *)j;
    (void)seen;       /* the scan rejects every repeated key (unique) */
    switch (key[0]) { /* a line is read for every row scored: one compare per key */
    case 'i':
        if (LLEVAL_JSCAN_KEY_IS(key, "id"))
            return keep(ls, &ls->id);
        break;
    case 'd':
        if (LLEVAL_JSCAN_KEY_IS(key, "dataset")) {
            ls->has_dataset = true;
            return keep(ls, &ls->dataset_at);
        }
        break;
    case 't':
        if (LLEVAL_JSCAN_KEY_IS(key, "type")) {
            size_t at;
            if (!keep(ls, &at))
                return false;
            for (int t = 0; t < 3; t++)
                if (!strcmp(j->out->buf + at, type_names[t]))
                    ls->type = t;
            lleval_sb_setlen(j->out, at);
            return ls->type >= 0;
        }
        break;
    case 'q':
        if (LLEVAL_JSCAN_KEY_IS(key, "question")) {
            if (ls->flags & LLEVAL_INDEX_QUESTIONS)
                return keep(ls, &ls->question);
            ls->question = 0;
            return lleval_jscan_str(j, NULL);
        }
        break;
    case 'a':
        if (LLEVAL_JSCAN_KEY_IS(key, "answers")) {
            ls->has_answers = true;
            return str_array(ls, &ls->ans, &ls->n_ans, &ls->cap_ans, depth);
        }
        break;
    case 'c':
        if (LLEVAL_JSCAN_KEY_IS(key, "choices")) {
            ls->has_choices = true;
            return str_array(ls, &ls->cho, &ls->n_cho, &ls->cap_cho, depth);
        }
        if (LLEVAL_JSCAN_KEY_IS(key, "context")) {
            ls->has_context = lleval_jscan_peek(j, '"');
            return lleval_jscan_skip(j, depth);
        }
        break;
    case 'u':
        if (LLEVAL_JSCAN_KEY_IS(key, "unanswerable")) {
            ls->unanswerable = lleval_jscan_peek(j, 't'); /* a valid value starting so is true */
            return lleval_jscan_skip(j, depth);
        }
        break;
    default:
        break;
    }
    return lleval_jscan_skip(j, depth);
}

/* Scans the reader's current line: true when it is a whole, valid prepared
 * item (as lleval_prepared_item() would accept it) of any dataset. */
static bool scan_line(struct line_scan *ls, const char *line, size_t len)
{
    size_t q;
    ls->js.p = (const unsigned char *)line;
    ls->js.end = (const unsigned char *)line + len;
    ls->id = ls->dataset_at = 0;
    ls->question = (size_t)-1;
    ls->type = -1;
    ls->unanswerable = -1;
    ls->has_context = ls->has_choices = ls->has_answers = ls->has_dataset = false;
    ls->n_ans = ls->n_cho = 0;
    if (!lleval_jscan_peek(&ls->js, '{') || !lleval_jscan_object(&ls->js, 0, item_member) ||
        !lleval_jscan_end(&ls->js))
        return false;
    q = ls->question;
    return ls->id && ls->has_dataset && q != (size_t)-1 && ls->has_answers && ls->type >= 0 &&
           (ls->type != LLEVAL_OPEN_BOOK || ls->has_context) &&
           (ls->type != LLEVAL_MULTIPLE_CHOICE || ls->has_choices);
}

/* The same facts from a parsed item (a line the scanner gave up on). */
static void from_json(struct line_scan *ls, const json_t *item)
{
    struct lleval_sb *a = ls->js.out;
    const char *type = lleval_json_str(item, "type");
    const json_t *x, *un = json_object_get(item, "unanswerable");
    size_t i;
    ls->unanswerable = un ? json_is_true(un) : -1;
    ls->id = a->len;
    lleval_sb_add(a, lleval_json_str(item, "id"), strlen(lleval_json_str(item, "id")) + 1);
    ls->dataset_at = a->len;
    lleval_sb_add(a, lleval_json_str(item, "dataset"),
                  strlen(lleval_json_str(item, "dataset")) + 1);
    ls->question = 0;
    if (ls->flags & LLEVAL_INDEX_QUESTIONS) {
        ls->question = a->len;
        lleval_sb_add(a, lleval_json_str(item, "question"),
                      strlen(lleval_json_str(item, "question")) + 1);
    }
    ls->type = 0;
    for (int t = 0; t < 3; t++)
        if (!strcmp(type, type_names[t]))
            ls->type = t;
    ls->n_ans = ls->n_cho = 0;
    json_array_foreach(json_object_get(item, "answers"), i, x)
    {
        if (!json_is_string(x))
            continue;
        LLEVAL_GROW(ls->ans, ls->n_ans, ls->cap_ans);
        ls->ans[ls->n_ans++] = (uint32_t)a->len;
        lleval_sb_add(a, json_string_value(x), json_string_length(x) + 1);
    }
    json_array_foreach(json_object_get(item, "choices"), i, x)
    {
        if (!json_is_string(x))
            continue;
        LLEVAL_GROW(ls->cho, ls->n_cho, ls->cap_cho);
        ls->cho[ls->n_cho++] = (uint32_t)a->len;
        lleval_sb_add(a, json_string_value(x), json_string_length(x) + 1);
    }
}

/* Files the scanned line as an item; a repeated id replaces the earlier item
 * (as the id -> item JSON maps did: the last one wins). */
static void add_item(struct line_scan *ls)
{
    struct lleval_item_index *ix = ls->ix;
    const char *id = ix->arena.buf + ls->id;
    uint64_t h = lleval_idset_hash(id);
    if (ix->flags & LLEVAL_INDEX_OFFSETS) { /* the line's offset only: every line an entry */
        if (ix->n == ix->cap_offs) {
            ix->cap_offs = ix->cap_offs ? 2 * ix->cap_offs : 256;
            ix->offs = lleval_xrealloc(ix->offs, ix->cap_offs * sizeof(*ix->offs));
        }
        ix->offs[ix->n] = ls->start;
        ix->v2 += ls->unanswerable >= 0;
        ix->no_ans += ls->unanswerable == 1;
        lleval_idset_add(&ix->byid, h, (uint32_t)ix->n);
        ix->n++;
        return;
    }
    struct ix_item it = {(uint32_t)ls->id,        (uint32_t)ls->question, (uint32_t)ix->n_lists,
                         (uint16_t)ls->n_ans,     (uint16_t)ls->n_cho,    (uint8_t)ls->type,
                         (int8_t)ls->unanswerable};
    uint32_t v;
    for (size_t i = 0; i < ls->n_ans + ls->n_cho; i++) {
        LLEVAL_GROW(ix->lists, ix->n_lists, ix->cap_lists);
        ix->lists[ix->n_lists++] = i < ls->n_ans ? ls->ans[i] : ls->cho[i - ls->n_ans];
    }
    for (size_t pos = 0; lleval_idset_next(&ix->byid, h, &pos, &v);)
        if (!strcmp(ix->arena.buf + ix->items[v].id, id)) {
            ix->items[v] = it;
            return;
        }
    LLEVAL_GROW(ix->items, ix->n, ix->cap);
    ix->items[ix->n] = it;
    lleval_idset_add(&ix->byid, h, (uint32_t)ix->n);
    ix->n++;
}

static int wrong_dataset(const struct lleval_prepared_reader *r, const char *is, const char *want,
                         struct lleval_err *err)
{
    return lleval_err_set(err, LLEVAL_EINVAL,
                          "%s:%ld: item belongs to dataset '%s', not '%s'; run `lleval prepare` "
                          "again",
                          r->path, r->lines.lineno, is, want);
}

/* Reads every line of r into ls->ix (or, picking, the wanted items into
 * ls->picked); returns 0 or an error code. */
static int read_items(struct lleval_prepared_reader *r, struct line_scan *ls, long *lines,
                      struct lleval_err *err)
{
    struct lleval_sb *a = ls->js.out;
    int rc;
    while ((rc = lleval_prepared_next_line(r, err)) == 1) {
        size_t mark = a->len;
        json_t *item = NULL;
        if (!scan_line(ls, r->lines.line, r->lines.len)) {
            lleval_sb_setlen(a, mark);
            rc = lleval_prepared_item(r, &item, err);
            if (rc < 0)
                return rc;
            from_json(ls, item);
        }
        if (ls->want) { /* pick: keep the whole item when it is wanted, nothing else */
            rc = 0;
            if (strcmp(a->buf + ls->dataset_at, ls->dataset)) {
                rc = wrong_dataset(r, a->buf + ls->dataset_at, ls->dataset, err);
            } else if (ls->want(ls->ud, a->buf + ls->id)) {
                if (!item && (rc = lleval_prepared_item(r, &item, err)) > 0)
                    rc = 0;
                if (!rc)
                    json_object_set(ls->picked, a->buf + ls->id, item);
            }
            json_decref(item);
            lleval_sb_setlen(a, mark);
            if (rc)
                return rc;
            (*lines)++;
            continue;
        }
        json_decref(item);
        if (ls->n_ans + ls->n_cho > UINT16_MAX || ls->n_ans > UINT16_MAX || a->len > UINT32_MAX - 1)
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "%s:%ld: too large for the item index (over 65,535 answers or "
                                  "4 GiB of text)",
                                  r->path, r->lines.lineno);
        if (strcmp(a->buf + ls->dataset_at, ls->dataset))
            return wrong_dataset(r, a->buf + ls->dataset_at, ls->dataset, err);
        (*lines)++;
        ls->start = r->lines.start;
        add_item(ls);
        if (ls->ix->flags & LLEVAL_INDEX_OFFSETS)
            lleval_sb_setlen(a, mark);
    }
    return rc;
}

/* Reads dataset's file into ix, or the items want() accepts into *picked
 * (want not NULL), checked as lleval_prepared_load() checks it. */
static int read_dataset(const char *prepared_dir, const char *dataset, unsigned flags,
                        struct lleval_item_index *ix, bool (*want)(void *ud, const char *id),
                        void *ud, json_t *picked, struct lleval_err *err)
{
    struct lleval_prepared_reader r;
    struct line_scan ls;
    json_t *info = NULL;
    long lines = 0, want_n;
    int rc;

    rc = lleval_prepared_open(&r, prepared_dir, dataset, err);
    if (rc)
        return rc;
    info = lleval_prepared_info(prepared_dir, dataset, err);
    if (!info) {
        lleval_prepared_close(&r);
        return err ? err->code : LLEVAL_EINVAL;
    }
    memset(&ls, 0, sizeof(ls));
    ls.js.out = &ix->arena;
    ls.js.unique = true; /* prepared lines are read with JSON_REJECT_DUPLICATES */
    ls.ix = ix;
    ls.dataset = dataset;
    ls.flags = flags & LLEVAL_INDEX_OFFSETS ? 0 : flags; /* offsets: questions read later */
    ls.want = want;
    ls.ud = ud;
    ls.picked = picked;
    want_n = (long)json_integer_value(json_object_get(info, "items"));
    if (!want && want_n > 0 && lleval_file_size(r.path) / 16 >= (int64_t)want_n) {
        /* the count is known (and possible: a prepared line is more than 16 bytes): no
         * doubling of the items or rehash of the id set on the way */
        if (flags & LLEVAL_INDEX_OFFSETS) {
            ix->cap_offs = (size_t)want_n;
            ix->offs = lleval_xrealloc(ix->offs, ix->cap_offs * sizeof(*ix->offs));
        } else {
            ix->cap = (size_t)want_n;
            ix->items = lleval_xrealloc(ix->items, ix->cap * sizeof(*ix->items));
        }
        lleval_idset_reserve(&ix->byid, (size_t)want_n);
    }
    rc = read_items(&r, &ls, &lines, err);
    if (!rc && want_n != lines)
        rc = lleval_err_set(err, LLEVAL_EINVAL,
                            "'%s' holds %ld items but its info file says %ld (an interrupted "
                            "prepare?); run `lleval prepare` again",
                            r.path, lines, want_n);
    free(ls.ans);
    free(ls.cho);
    json_decref(info);
    lleval_prepared_close(&r);
    return rc;
}

static struct lleval_item_index *index_new(void)
{
    struct lleval_item_index *ix = lleval_xcalloc(1, sizeof(*ix));
    ix->cur = -1;
    lleval_sb_init(&ix->arena, 0);
    lleval_sb_init(&ix->snap, 0);
    lleval_sb_addch(&ix->arena, '\0'); /* offset 0: "" */
    return ix;
}

int lleval_item_index_load(const char *prepared_dir, const char *dataset, unsigned flags,
                           struct lleval_item_index **out, struct lleval_err *err)
{
    struct lleval_item_index *ix = index_new();
    int rc;
    ix->flags = flags;
    rc = read_dataset(prepared_dir, dataset, flags, ix, NULL, NULL, NULL, err);
    *out = NULL;
    if (!rc && (flags & LLEVAL_INDEX_OFFSETS)) {
        rc = lleval_prepared_open(&ix->rd, prepared_dir, dataset, err);
        ix->rd_open = !rc;
        ix->ls = lleval_xcalloc(1, sizeof(*ix->ls));
        ix->ls->js.out = &ix->arena;
        ix->ls->js.unique = true;
        ix->ls->ix = ix;
        ix->ls->dataset = "";
        ix->ls->flags = flags;
        lleval_sb_setlen(&ix->arena, 1);
    }
    if (rc) {
        lleval_item_index_free(ix);
        return rc;
    }
    *out = ix;
    return 0;
}

json_t *lleval_prepared_pick(const char *prepared_dir, const char *dataset,
                             bool (*want)(void *ud, const char *id), void *ud,
                             struct lleval_err *err)
{
    struct lleval_item_index *scratch = index_new();
    json_t *picked = json_object();
    int rc = read_dataset(prepared_dir, dataset, 0, scratch, want, ud, picked, err);
    lleval_item_index_free(scratch);
    if (rc) {
        json_decref(picked);
        return NULL;
    }
    return picked;
}

bool lleval_item_index_get(struct lleval_item_index *ix, const char *id,
                           struct lleval_item_entry *e)
{
    uint32_t v;
    if (!ix || !id)
        return false;
    if (ix->flags & LLEVAL_INDEX_OFFSETS) {
        long line;
        return !lleval_item_index_find(ix, id, false, &line, NULL) && line >= 0 &&
               !lleval_item_index_at(ix, (size_t)line, e, NULL);
    }
    uint64_t h = lleval_idset_hash(id); /* once, not per candidate */
    for (size_t pos = 0; lleval_idset_next(&ix->byid, h, &pos, &v);) {
        const struct ix_item *it = &ix->items[v];
        size_t n = (size_t)it->n_answers + it->n_choices;
        if (strcmp(ix->arena.buf + it->id, id))
            continue;
        if (n > ix->cap_view) {
            ix->cap_view = n;
            ix->view = lleval_xrealloc(ix->view, n * sizeof(*ix->view));
        }
        for (size_t i = 0; i < n; i++)
            ix->view[i] = ix->arena.buf + ix->lists[it->first + i];
        e->id = ix->arena.buf + it->id;
        e->type = type_names[it->type];
        e->question = it->question ? ix->arena.buf + it->question : NULL;
        e->answers = ix->view;
        e->n_answers = it->n_answers;
        e->choices = ix->view + it->n_answers;
        e->n_choices = it->n_choices;
        e->unanswerable = it->unanswerable;
        return true;
    }
    return false;
}

size_t lleval_item_index_count(const struct lleval_item_index *ix)
{
    return ix ? ix->n : 0;
}

void lleval_item_index_free(struct lleval_item_index *ix)
{
    if (!ix)
        return;
    lleval_sb_release(&ix->arena);
    free(ix->items);
    free(ix->lists);
    lleval_idset_release(&ix->byid);
    free(ix->view);
    free(ix->offs);
    free(ix->snap_line);
    free(ix->snap_at);
    lleval_sb_release(&ix->snap);
    if (ix->rd_open)
        lleval_prepared_close(&ix->rd);
    if (ix->ls) {
        free(ix->ls->ans);
        free(ix->ls->cho);
        free(ix->ls);
    }
    free(ix);
}

/* ---- LLEVAL_INDEX_OFFSETS: items read again ---- */

/*
 * A line read again is kept, as the arena and the scan left it, so the next
 * row that asks for it copies a few hundred bytes instead of reading and
 * scanning the whole line (its context included) again: a run's rows ask for
 * each item once per sample, prompt type and temperature. The memory is
 * bounded (SNAP_BYTES, SNAP_SLOTS), whatever the number of items: a slot per
 * line number modulo the slots, kept by the first line that takes it, so the
 * items of a small set all stay and a large one keeps its first lines. The
 * slots are as many as the lines (a power of two), up to SNAP_SLOTS, so a
 * small set's table is small too.
 */
#define SNAP_SLOTS 8192
#define SNAP_BYTES ((size_t)4 << 20)

struct snap_head {
    uint32_t bytes, n_ans, n_cho;
    uint32_t id, question, dataset_at;
    int type, unanswerable;
};

/* Restores line k into the arena and ix->ls when it was kept. */
static bool snap_get(struct lleval_item_index *ix, size_t k)
{
    struct line_scan *ls = ix->ls;
    struct snap_head h;
    const char *p;
    size_t slot = k & ix->snap_mask;
    if (!ix->snap_line || ix->snap_line[slot] != (uint32_t)k + 1)
        return false;
    p = ix->snap.buf + ix->snap_at[slot];
    memcpy(&h, p, sizeof(h));
    p += sizeof(h);
    if (h.n_ans > ls->cap_ans) {
        ls->cap_ans = h.n_ans;
        ls->ans = lleval_xrealloc(ls->ans, h.n_ans * sizeof(*ls->ans));
    }
    if (h.n_cho > ls->cap_cho) {
        ls->cap_cho = h.n_cho;
        ls->cho = lleval_xrealloc(ls->cho, h.n_cho * sizeof(*ls->cho));
    }
    if (h.n_ans)
        memcpy(ls->ans, p, h.n_ans * sizeof(*ls->ans));
    p += h.n_ans * sizeof(*ls->ans);
    if (h.n_cho)
        memcpy(ls->cho, p, h.n_cho * sizeof(*ls->cho));
    p += h.n_cho * sizeof(*ls->cho);
    ls->n_ans = h.n_ans;
    ls->n_cho = h.n_cho;
    ls->id = h.id;
    ls->question = h.question;
    ls->dataset_at = h.dataset_at;
    ls->type = h.type;
    ls->unanswerable = h.unanswerable;
    lleval_sb_setlen(&ix->arena, 1);
    lleval_sb_add(&ix->arena, p, h.bytes);
    return true;
}

/* Keeps line k (just read into the arena and ix->ls) when its slot is free
 * and it fits. */
static void snap_put(struct lleval_item_index *ix, size_t k)
{
    const struct line_scan *ls = ix->ls;
    struct snap_head h;
    size_t slot, need;
    if (k >= UINT32_MAX || ix->arena.len > UINT32_MAX)
        return;
    if (!ix->snap_line) {
        size_t slots = 1;
        while (slots < SNAP_SLOTS && slots < ix->n)
            slots *= 2;
        ix->snap_mask = slots - 1;
        ix->snap_line = lleval_xcalloc(slots, sizeof(*ix->snap_line));
        ix->snap_at = lleval_xcalloc(slots, sizeof(*ix->snap_at));
    }
    slot = k & ix->snap_mask;
    if (ix->snap_line[slot])
        return;
    need = sizeof(h) + (ls->n_ans + ls->n_cho) * sizeof(uint32_t) + (ix->arena.len - 1);
    if (ix->snap.len + need > SNAP_BYTES)
        return;
    memset(&h, 0, sizeof(h));
    h.bytes = (uint32_t)(ix->arena.len - 1);
    h.n_ans = (uint32_t)ls->n_ans;
    h.n_cho = (uint32_t)ls->n_cho;
    h.id = (uint32_t)ls->id;
    h.question = (uint32_t)ls->question;
    h.dataset_at = (uint32_t)ls->dataset_at;
    h.type = ls->type;
    h.unanswerable = ls->unanswerable;
    ix->snap_line[slot] = (uint32_t)k + 1;
    ix->snap_at[slot] = (uint32_t)ix->snap.len;
    lleval_sb_add(&ix->snap, (const char *)&h, sizeof(h));
    if (ls->n_ans)
        lleval_sb_add(&ix->snap, (const char *)ls->ans, ls->n_ans * sizeof(*ls->ans));
    if (ls->n_cho)
        lleval_sb_add(&ix->snap, (const char *)ls->cho, ls->n_cho * sizeof(*ls->cho));
    lleval_sb_add(&ix->snap, ix->arena.buf + 1, ix->arena.len - 1);
}

/* Reads line k again into the arena (and ix->ls). */
static int reread(struct lleval_item_index *ix, size_t k, struct lleval_err *err)
{
    struct line_scan *ls = ix->ls;
    struct lleval_lines *lr = &ix->rd.lines;
    json_t *item = NULL;
    int rc;
    if (ix->cur == (long)k)
        return 0;
    ix->cur = -1;
    if (snap_get(ix, k)) {
        ix->cur = (long)k;
        return 0;
    }
    lleval_sb_setlen(&ix->arena, 1);
    if (lr->end != ix->offs[k]) {
        rc = lleval_lines_seek(lr, ix->offs[k], err);
        if (rc)
            return rc;
        lr->lineno = ix->offs[k] ? 1 : 0; /* line 1 may start with a BOM, no other */
    }
    rc = lleval_prepared_next_line(&ix->rd, err);
    if (rc < 0)
        return rc;
    if (rc == 1 && lr->start == ix->offs[k] && !scan_line(ls, lr->line, lr->len)) {
        lleval_sb_setlen(&ix->arena, 1);
        rc = lleval_prepared_item(&ix->rd, &item, NULL) == 1 ? 1 : 0;
        if (rc)
            from_json(ls, item);
        json_decref(item);
    }
    if (rc != 1 || lr->start != ix->offs[k])
        return lleval_err_set(err, LLEVAL_EIO,
                              "'%s' changed while lleval read it (the item at byte %llu is "
                              "gone); was it prepared again meanwhile? Run the step again",
                              ix->rd.path, (unsigned long long)ix->offs[k]);
    ix->cur = (long)k;
    snap_put(ix, k);
    return 0;
}

int lleval_item_index_find(struct lleval_item_index *ix, const char *id, bool first, long *line,
                           struct lleval_err *err)
{
    long best = -1;
    uint32_t v;
    uint64_t h;
    *line = -1;
    if (!ix || !id || !(ix->flags & LLEVAL_INDEX_OFFSETS))
        return 0;
    h = lleval_idset_hash(id); /* once, not per candidate */
    for (size_t pos = 0; lleval_idset_next(&ix->byid, h, &pos, &v);) {
        int rc;
        if (best >= 0 && (first ? (long)v > best : (long)v < best))
            continue; /* it could not win */
        rc = reread(ix, v, err);
        if (rc)
            return rc;
        if (!strcmp(ix->arena.buf + ix->ls->id, id))
            best = (long)v;
    }
    *line = best;
    return 0;
}

int lleval_item_index_at(struct lleval_item_index *ix, size_t line, struct lleval_item_entry *e,
                         struct lleval_err *err)
{
    struct line_scan *ls = ix->ls;
    size_t n;
    int rc = reread(ix, line, err);
    if (rc)
        return rc;
    n = ls->n_ans + ls->n_cho;
    if (n > ix->cap_view) {
        ix->cap_view = n;
        ix->view = lleval_xrealloc(ix->view, n * sizeof(*ix->view));
    }
    for (size_t i = 0; i < n; i++)
        ix->view[i] = ix->arena.buf + (i < ls->n_ans ? ls->ans[i] : ls->cho[i - ls->n_ans]);
    e->id = ix->arena.buf + ls->id;
    e->type = type_names[ls->type >= 0 && ls->type < 3 ? ls->type : 0];
    e->question = (ix->flags & LLEVAL_INDEX_QUESTIONS) ? ix->arena.buf + ls->question : NULL;
    e->answers = ix->view;
    e->n_answers = ls->n_ans;
    e->choices = ix->view + ls->n_ans;
    e->n_choices = ls->n_cho;
    e->unanswerable = ls->unanswerable;
    return 0;
}

void lleval_item_index_v2(const struct lleval_item_index *ix, size_t *v2, size_t *no_ans)
{
    *v2 = ix ? ix->v2 : 0;
    *no_ans = ix ? ix->no_ans : 0;
}
