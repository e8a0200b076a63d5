/*
 * What `lleval runs items` asks of items.jsonl (see items.h): the filters
 * (--wrong, --right, --dataset, --prompt, --finish, --grep), the orders
 * (--sort latency | tokens | f1) and --limit over the streamed rows, and the
 * terminal table's cells and column widths cut to fit a width. The tool only
 * parses options and prints what these give.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/run/batch.h"
#include "lleval/score/items.h"
#include "lleval/util/text.h"

/* ---- filters -------------------------------------------------------------- */

int lleval_items_sort_parse(const char *s, enum lleval_items_sort *out)
{
    static const struct {
        const char *name;
        enum lleval_items_sort sort;
    } names[] = {
        {"file", LLEVAL_ITEMS_SORT_FILE},
        {"latency", LLEVAL_ITEMS_SORT_LATENCY},
        {"tokens", LLEVAL_ITEMS_SORT_TOKENS},
        {"f1", LLEVAL_ITEMS_SORT_F1},
    };
    for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strcmp(s, names[i].name)) {
            *out = names[i].sort;
            return 0;
        }
    }
    return LLEVAL_EINVAL;
}

/* Whether needle (non-empty) occurs in hay, ASCII letters matched without case. */
static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return false;
}

static bool grep_row(const char *needle, const struct lleval_item_row *r)
{
    if (contains_nocase(r->question, needle) || contains_nocase(r->prediction, needle) ||
        contains_nocase(r->answer, needle) || contains_nocase(r->error, needle) ||
        contains_nocase(r->custom_id, needle))
        return true;
    for (size_t i = 0; i < r->n_gold; i++)
        if (contains_nocase(r->gold[i], needle))
            return true;
    return false;
}

/* True when r (borrowed) passes q's filters; model_prefix: q->model escaped as in a
 * custom_id (lleval_model_folder), made once per query, or NULL for any model. */
static bool matches(const struct lleval_items_query *q, const char *model_prefix,
                    const struct lleval_item_row *r)
{
    if (q->verdict == LLEVAL_ITEMS_RIGHT && !r->correct)
        return false;
    if (q->verdict == LLEVAL_ITEMS_WRONG && r->correct)
        return false;
    if (q->dataset && strcmp(q->dataset, r->dataset))
        return false;
    if (model_prefix && (strncmp(r->custom_id, model_prefix, strlen(model_prefix)) ||
                         r->custom_id[strlen(model_prefix)] != ':'))
        return false;
    if (q->prompt_type && strcmp(q->prompt_type, r->prompt_type))
        return false;
    if (q->finish && strcmp(q->finish, r->finish_reason))
        return false;
    if (q->grep && *q->grep && !grep_row(q->grep, r))
        return false;
    return true;
}

/* ---- kept rows (for a sort) --------------------------------------------------- */

/* An owned copy of a row: the strings live in one arena, the row points into it. */
struct kept {
    struct lleval_item_row row;
    char *arena;
    const char **lists; /* gold answers, then choices */
    double key;         /* sort key, larger first; -INFINITY: unknown (last) */
    size_t seq;         /* file order, for ties */
};

static void kept_free(struct kept *k)
{
    free(k->arena);
    free(k->lists);
}

/* Copies s into arena at *off (advanced past its NUL); returns the copy. */
static const char *keep_str(char *arena, size_t *off, const char *s)
{
    size_t len = strlen(s) + 1;
    char *at = arena + *off;
    memcpy(at, s, len);
    *off += len;
    return at;
}

static void kept_copy(struct kept *k, const struct lleval_item_row *r)
{
    const char *const strs[] = {r->custom_id,   r->dataset,       r->item_id,  r->type,
                                r->prompt_type, r->temperature,   r->question, r->prediction,
                                r->answer,      r->finish_reason, r->error};
    const char **dst[] = {&k->row.custom_id,     &k->row.dataset,     &k->row.item_id,
                          &k->row.type,          &k->row.prompt_type, &k->row.temperature,
                          &k->row.question,      &k->row.prediction,  &k->row.answer,
                          &k->row.finish_reason, &k->row.error};
    size_t ns = sizeof(strs) / sizeof(strs[0]), total = 0, off = 0;
    size_t nl = r->n_gold + r->n_choices;
    k->row = *r;
    k->row.latency_text = NULL; /* not kept */
    for (size_t i = 0; i < ns; i++)
        total += strlen(strs[i]) + 1;
    for (size_t i = 0; i < r->n_gold; i++)
        total += strlen(r->gold[i]) + 1;
    for (size_t i = 0; i < r->n_choices; i++)
        total += strlen(r->choices[i]) + 1;
    k->arena = lleval_xmalloc(total);
    k->lists = lleval_xcalloc(nl ? nl : 1, sizeof(*k->lists));
    for (size_t i = 0; i < ns; i++)
        *dst[i] = keep_str(k->arena, &off, strs[i]);
    for (size_t i = 0; i < r->n_gold; i++)
        k->lists[i] = keep_str(k->arena, &off, r->gold[i]);
    for (size_t i = 0; i < r->n_choices; i++)
        k->lists[r->n_gold + i] = keep_str(k->arena, &off, r->choices[i]);
    k->row.gold = k->lists;
    k->row.choices = k->lists + r->n_gold;
}

static double sort_key(enum lleval_items_sort s, const struct lleval_item_row *r)
{
    switch (s) {
    case LLEVAL_ITEMS_SORT_LATENCY:
        return isnan(r->latency_ms) ? -INFINITY : r->latency_ms;
    case LLEVAL_ITEMS_SORT_TOKENS:
        return r->completion_tokens < 0 ? -INFINITY : (double)r->completion_tokens;
    case LLEVAL_ITEMS_SORT_F1:
        return r->mc || isnan(r->f1) ? -INFINITY : -r->f1; /* lowest first */
    case LLEVAL_ITEMS_SORT_FILE:
        break;
    }
    return 0;
}

/* Whether a goes before b: the larger key, then the earlier row. */
static bool before(const struct kept *a, const struct kept *b)
{
    if (a->key != b->key)
        return a->key > b->key;
    return a->seq < b->seq;
}

static int cmp_kept(const void *x, const void *y)
{
    const struct kept *a = x, *b = y;
    if (before(a, b))
        return -1;
    return before(b, a) ? 1 : 0;
}

struct query {
    const struct lleval_items_query *q;
    char *model_prefix; /* q->model as a custom_id starts with it (owned), NULL: any */
    lleval_item_row_fn fn;
    void *ud;
    size_t matched, shown;
    struct kept *kept; /* sorted: best first (with a limit, at most limit of them) */
    size_t n, cap;
    /* rows read so far, and how many of the first rows to pass over: the fast
     * reader gave up after handing over `skip` rows that jansson reads again */
    size_t rows, skip;
};

/* Keeps r: appended (no limit), or put in its place among the best limit. */
static void keep_row(struct query *qs, const struct lleval_item_row *r)
{
    struct kept k;
    size_t limit = qs->q->limit, lo = 0, hi;
    k.key = sort_key(qs->q->sort, r);
    k.seq = qs->matched;
    if (!limit) {
        LLEVAL_GROW(qs->kept, qs->n, qs->cap);
        kept_copy(&k, r);
        qs->kept[qs->n++] = k;
        return;
    }
    if (qs->n == limit && !before(&k, &qs->kept[qs->n - 1]))
        return; /* not among the best limit */
    hi = qs->n;
    while (lo < hi) { /* the first kept row that k goes before */
        size_t mid = lo + (hi - lo) / 2;
        if (before(&k, &qs->kept[mid]))
            hi = mid;
        else
            lo = mid + 1;
    }
    if (qs->n == limit)
        kept_free(&qs->kept[--qs->n]);
    LLEVAL_GROW(qs->kept, qs->n, qs->cap);
    memmove(qs->kept + lo + 1, qs->kept + lo, (qs->n - lo) * sizeof(*qs->kept));
    kept_copy(&k, r);
    qs->kept[lo] = k;
    qs->n++;
}

static int on_row(const struct lleval_item_row *r, void *ud)
{
    struct query *qs = ud;
    if (qs->rows++ < qs->skip)
        return 0; /* handed over before the fast reader gave up: done already */
    if (!matches(qs->q, qs->model_prefix, r))
        return 0;
    if (qs->q->sort != LLEVAL_ITEMS_SORT_FILE) {
        keep_row(qs, r);
        qs->matched++;
        return 0;
    }
    qs->matched++;
    if (qs->q->limit && qs->shown >= qs->q->limit)
        return 0; /* counted, not shown */
    qs->shown++;
    return qs->fn(r, qs->ud);
}

/* The fast reader gave up on a line and jansson reads the file again: the
 * rows before that line were the same rows (items_scan.c's contract) and were
 * filtered, kept or shown already (--json and --full print as rows come), so
 * the second reading passes over them instead of starting again. */
static void query_reread(void *ud)
{
    struct query *qs = ud;
    qs->skip = qs->rows;
    qs->rows = 0;
}

int lleval_items_query_run(const char *path, const struct lleval_items_query *q,
                           lleval_item_row_fn fn, void *ud, size_t *matched, struct lleval_err *err)
{
    struct query qs;
    int rc;
    memset(&qs, 0, sizeof(qs));
    qs.q = q;
    qs.model_prefix = q->model ? lleval_model_folder(q->model) : NULL;
    qs.fn = fn;
    qs.ud = ud;
    rc = lleval_items_each_fast(path, on_row, query_reread, &qs, err);
    if (!rc && q->sort != LLEVAL_ITEMS_SORT_FILE) {
        if (!q->limit && qs.n > 1)
            qsort(qs.kept, qs.n, sizeof(*qs.kept), cmp_kept);
        for (size_t i = 0; i < qs.n && !rc; i++)
            rc = fn(&qs.kept[i].row, ud);
    }
    for (size_t i = 0; i < qs.n; i++)
        kept_free(&qs.kept[i]);
    free(qs.kept);
    free(qs.model_prefix);
    if (matched)
        *matched = qs.matched;
    return rc;
}

/* ---- showing ------------------------------------------------------------------ */

static const char *const col_names[LLEVAL_ITEMS_NCOLS] = {
    [LLEVAL_ITEMS_COL_VERDICT] = "verdict",
    [LLEVAL_ITEMS_COL_ID] = "item",
    [LLEVAL_ITEMS_COL_EM] = "EM",
    [LLEVAL_ITEMS_COL_F1] = "F1",
    [LLEVAL_ITEMS_COL_MC] = "MC",
    [LLEVAL_ITEMS_COL_FINISH] = "finish",
    [LLEVAL_ITEMS_COL_MS] = "ms",
    [LLEVAL_ITEMS_COL_TOKENS] = "tokens",
    [LLEVAL_ITEMS_COL_QUESTION] = "question",
    [LLEVAL_ITEMS_COL_GOLD] = "gold",
    [LLEVAL_ITEMS_COL_ANSWER] = "answer",
};

const char *lleval_items_col_name(enum lleval_items_col c)
{
    return (unsigned)c < LLEVAL_ITEMS_NCOLS ? col_names[c] : "";
}

bool lleval_items_col_flexible(enum lleval_items_col c)
{
    return c == LLEVAL_ITEMS_COL_ID || c == LLEVAL_ITEMS_COL_QUESTION ||
           c == LLEVAL_ITEMS_COL_GOLD || c == LLEVAL_ITEMS_COL_ANSWER;
}

void lleval_items_cell(struct lleval_sb *sb, const struct lleval_item_row *r,
                       enum lleval_items_col c)
{
    lleval_sb_reset(sb);
    switch (c) {
    case LLEVAL_ITEMS_COL_VERDICT:
        lleval_sb_adds(sb, !r->ok ? "error" : r->correct ? "right" : "wrong");
        break;
    case LLEVAL_ITEMS_COL_ID:
        lleval_sb_adds(sb, r->custom_id);
        break;
    case LLEVAL_ITEMS_COL_EM:
        if (r->mc || isnan(r->em))
            lleval_sb_adds(sb, "n/a");
        else
            lleval_sb_addf(sb, "%.0f", r->em);
        break;
    case LLEVAL_ITEMS_COL_F1:
        if (r->mc || isnan(r->f1))
            lleval_sb_adds(sb, "n/a");
        else
            lleval_sb_addf(sb, "%.2f", r->f1);
        break;
    case LLEVAL_ITEMS_COL_MC:
        if (!r->mc)
            lleval_sb_adds(sb, "n/a");
        else if (r->mc_letter)
            lleval_sb_addch(sb, r->mc_letter);
        else
            lleval_sb_adds(sb, "none");
        break;
    case LLEVAL_ITEMS_COL_FINISH:
        lleval_sb_adds(sb, r->finish_reason);
        break;
    case LLEVAL_ITEMS_COL_MS:
        if (isnan(r->latency_ms))
            lleval_sb_adds(sb, "-");
        else
            lleval_sb_addf(sb, "%.0f", r->latency_ms);
        break;
    case LLEVAL_ITEMS_COL_TOKENS:
        if (r->completion_tokens < 0)
            lleval_sb_adds(sb, "-");
        else
            lleval_sb_addf(sb, "%lld", r->completion_tokens);
        break;
    case LLEVAL_ITEMS_COL_QUESTION:
        lleval_sb_adds(sb, r->question);
        break;
    case LLEVAL_ITEMS_COL_GOLD:
        for (size_t i = 0; i < r->n_gold; i++) {
            if (i)
                lleval_sb_adds(sb, " | ");
            lleval_sb_adds(sb, r->gold[i]);
        }
        break;
    case LLEVAL_ITEMS_COL_ANSWER:
        if (!r->ok) {
            lleval_sb_adds(sb, "error: ");
            lleval_sb_adds(sb, r->error);
        } else {
            lleval_sb_adds(sb, r->answer);
        }
        break;
    case LLEVAL_ITEMS_NCOLS:
        break;
    }
}

struct lleval_items_id lleval_items_id_of(const struct lleval_item_row *r)
{
    struct lleval_items_id id = {r->dataset, r->item_id, r->prompt_type, r->temperature, r->sample};
    return id;
}

unsigned lleval_items_id_diff(const struct lleval_items_id *a, const struct lleval_items_id *b)
{
    unsigned d = 0;
    if (strcmp(a->dataset, b->dataset))
        d |= LLEVAL_ITEMS_ID_DATASET;
    if (strcmp(a->prompt_type, b->prompt_type))
        d |= LLEVAL_ITEMS_ID_PROMPT;
    if (strcmp(a->temperature, b->temperature))
        d |= LLEVAL_ITEMS_ID_TEMP;
    if (a->sample != b->sample)
        d |= LLEVAL_ITEMS_ID_SAMPLE;
    return d;
}

void lleval_items_id_short(struct lleval_sb *sb, const struct lleval_items_id *id, unsigned parts)
{
    if (parts & LLEVAL_ITEMS_ID_DATASET)
        lleval_sb_addf(sb, "%s:", id->dataset);
    lleval_sb_adds(sb, id->item_id);
    if (parts & LLEVAL_ITEMS_ID_PROMPT)
        lleval_sb_addf(sb, ":%s", id->prompt_type);
    if (parts & LLEVAL_ITEMS_ID_TEMP)
        lleval_sb_addf(sb, ":t%s", id->temperature);
    if (parts & LLEVAL_ITEMS_ID_SAMPLE)
        lleval_sb_addf(sb, ":s%ld", id->sample);
}

void lleval_items_id_common(struct lleval_sb *sb, const struct lleval_items_id *id,
                            unsigned varying)
{
    const char *sep = "";
    if (!(varying & LLEVAL_ITEMS_ID_DATASET)) {
        lleval_sb_addf(sb, "dataset %s", id->dataset);
        sep = ", ";
    }
    if (!(varying & LLEVAL_ITEMS_ID_PROMPT)) {
        lleval_sb_addf(sb, "%sprompt %s", sep, id->prompt_type);
        sep = ", ";
    }
    if (!(varying & LLEVAL_ITEMS_ID_TEMP)) {
        lleval_sb_addf(sb, "%stemperature %s", sep, id->temperature);
        sep = ", ";
    }
    if (!(varying & LLEVAL_ITEMS_ID_SAMPLE))
        lleval_sb_addf(sb, "%ssample %ld", sep, id->sample);
}

void lleval_fit_columns(const size_t *natural, const bool *flexible, size_t n, size_t gap,
                        size_t width, size_t min_flex, size_t *out)
{
    size_t fixed = n ? gap * (n - 1) : 0, avail, left = 0;
    bool *done;
    for (size_t i = 0; i < n; i++) {
        out[i] = natural[i];
        if (flexible[i])
            left++;
        else
            fixed += natural[i];
    }
    if (!width || !left)
        return;
    avail = width > fixed ? width - fixed : 0;
    done = lleval_xcalloc(n, sizeof(*done));
    /* water-filling: a column narrower than an equal share keeps its width and
     * hands the rest to the others, until every flexible column is placed */
    for (bool placed = true; placed && left;) {
        size_t share = avail / left;
        placed = false;
        for (size_t i = 0; i < n; i++) {
            if (!flexible[i] || done[i] || natural[i] > share)
                continue;
            done[i] = true;
            avail -= natural[i];
            left--;
            placed = true;
        }
    }
    for (size_t i = 0, k = 0; i < n && left; i++) {
        if (!flexible[i] || done[i])
            continue;
        /* the first avail % left columns get one more */
        out[i] = avail / left + (k++ < avail % left ? 1 : 0);
    }
    for (size_t i = 0; i < n; i++) {
        size_t floor = natural[i] < min_flex ? natural[i] : min_flex;
        if (flexible[i] && out[i] < floor)
            out[i] = floor;
    }
    free(done);
}

void lleval_fit_cell(struct lleval_sb *sb, const char *s, size_t cols, bool pad)
{
    size_t len = strlen(s), w = lleval_utf8_width_n(s, len);
    if (w > cols) {
        size_t cut = cols ? lleval_utf8_cut_width(s, len, cols - 1) : 0;
        lleval_sb_add(sb, s, cut);
        if (cols)
            lleval_sb_adds(sb, "\xE2\x80\xA6"); /* … */
        w = lleval_utf8_width_n(s, cut) + (cols ? 1 : 0);
    } else {
        lleval_sb_add(sb, s, len);
    }
    while (pad && w < cols) {
        lleval_sb_addch(sb, ' ');
        w++;
    }
}

void lleval_fit_cell_tail(struct lleval_sb *sb, const char *s, size_t cols, bool pad)
{
    size_t len = strlen(s), i = 0, w = lleval_utf8_width_n(s, len);
    if (w > cols) {
        int32_t cp;
        if (!cols) /* nothing fits, not even the mark */
            return;
        lleval_sb_adds(sb, "\xE2\x80\xA6"); /* … */
        /* drop characters from the start until the rest fits beside the mark;
         * zero-width marks go with the character before them */
        while (i < len && lleval_utf8_width_n(s + i, len - i) > cols - 1)
            i += lleval_utf8_decode(s + i, len - i, &cp);
        while (i < len && lleval_utf8_width_n(s + i, lleval_utf8_seq(s + i, len - i)) == 0)
            i += lleval_utf8_decode(s + i, len - i, &cp);
        lleval_sb_add(sb, s + i, len - i);
        w = 1 + lleval_utf8_width_n(s + i, len - i);
    } else {
        lleval_sb_add(sb, s, len);
    }
    while (pad && w < cols) {
        lleval_sb_addch(sb, ' ');
        w++;
    }
}
