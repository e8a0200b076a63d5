/*
 * The report's item explorer (see report_int.h and docs/report.md): every
 * answered item of the run, with its verdict, answer, extracted answer, gold
 * answers and prompt, embedded in report.html as one inline JSON document
 * that a small inline script (explorer_assets.c) turns into a table with
 * filters, text search, sorting, pages and an item view. Nothing is fetched:
 * the page's Content-Security-Policy (explorer_csp.c) allows no network
 * access at all and no script but that one.
 *
 * The items are gathered in one place, lleval_report_xrows_load(): the rows
 * of predictions.csv, scored again against the prepared data with
 * lleval_score_each() (as samples.c does), joined by custom_id. The
 * comparison page (compare_page.c) reads its two runs through it too.
 *
 * Model output and dataset text only ever reach the page inside the JSON
 * document, where '<', '>', '&' and U+2028/U+2029 are written as \u escapes
 * (so no "</script>" can close the element), and the script puts them into
 * the page with textContent only.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/dataset/dataset.h"
#include "lleval/platform/fs.h"
#include "lleval/run/batch.h"
#include "lleval/run/rundir.h"
#include "lleval/score/predictions.h"
#include "lleval/score/score.h"
#include "lleval/util/json.h"
#include "lleval/util/text.h"
#include "lleval/util/util.h"
#include "report_int.h"

/* Bytes of one text (answer, prompt, question) kept in the page. */
#define X_TEXT_MAX 65536

const char *lleval_report_verdict_name(enum xverdict v)
{
    switch (v) {
    case XV_RIGHT:
        return "right";
    case XV_WRONG:
        return "wrong";
    case XV_ERROR:
        return "error";
    case XV_UNKNOWN:
        return "unknown";
    case XV_UNSCORED:
        break;
    }
    return "unscored";
}

void lleval_report_xrows_release(struct xrows *x)
{
    for (size_t i = 0; i < x->n; i++) {
        struct xrow *w = &x->rows[i];
        free(w->custom_id);
        free(w->dataset);
        free(w->item_id);
        free(w->prompt);
        free(w->temp);
        free(w->prediction);
        free(w->answer);
        free(w->finish);
        free(w->error);
    }
    free(x->rows);
    json_decref(x->by_cid);
    json_decref(x->golds);
    free(x->note);
    memset(x, 0, sizeof(*x));
}

const struct xrow *lleval_report_xrows_find(const struct xrows *x, const char *custom_id)
{
    const json_t *at = x->by_cid ? json_object_get(x->by_cid, custom_id) : NULL;
    return at ? &x->rows[json_integer_value(at)] : NULL;
}

static double num_or_nan(const char *s)
{
    double v;
    return s && *s && !lleval_parse_double(s, &v) && isfinite(v) ? v : NAN;
}

static long long int_or_neg(const char *s)
{
    double v = num_or_nan(s);
    return isnan(v) || v < 0 ? -1 : (long long)v;
}

/* Appends one row of predictions.csv, unless its custom_id was seen (the
 * scorer scores the first row of a custom_id too). */
static void add_row(struct xrows *x, const struct lleval_pred_row *p)
{
    struct xrow *w;
    long sample = 0;
    if (json_object_get(x->by_cid, p->custom_id))
        return;
    LLEVAL_GROW(x->rows, x->n, x->cap);
    w = &x->rows[x->n];
    memset(w, 0, sizeof(*w));
    json_object_set_new(x->by_cid, p->custom_id, json_integer((json_int_t)x->n));
    x->n++;
    w->custom_id = lleval_xstrdup(p->custom_id);
    w->dataset = lleval_xstrdup(p->dataset);
    w->item_id = lleval_xstrdup(p->item_id);
    w->prompt = lleval_xstrdup(p->prompt_type);
    w->temp = lleval_xstrdup(p->temperature);
    if (p->sample)
        lleval_parse_long(p->sample, 0, 1000000000L, &sample);
    w->sample = sample;
    w->verdict = strcmp(p->status, "ok") ? XV_ERROR : XV_UNSCORED;
    w->f1 = NAN;
    w->choice = -1;
    w->prediction = lleval_xstrdup(p->prediction);
    w->finish = lleval_xstrdup(p->finish_reason);
    w->error = lleval_xstrdup(p->error);
    w->latency_ms = num_or_nan(p->latency_ms);
    w->tokens = int_or_neg(p->completion_tokens);
}

static int on_scored(const struct lleval_item_score *is, void *ud)
{
    struct xrows *x = ud;
    const json_t *at = json_object_get(x->by_cid, is->custom_id);
    struct xrow *w;
    if (!at || is->state == LLEVAL_ITEM_DUPLICATE)
        return 0;
    w = &x->rows[json_integer_value(at)];
    if (w->answer || w->verdict == XV_UNKNOWN)
        return 0; /* a repeated custom_id: the first row is the one kept */
    if (is->state == LLEVAL_ITEM_UNKNOWN) {
        w->verdict = XV_UNKNOWN;
        return 0;
    }
    w->mc = is->scoring == LLEVAL_SCORING_MC;
    w->answer = lleval_xstrdup(is->answer ? is->answer : "");
    w->choice = is->choice;
    if (!w->mc)
        w->f1 = is->f1;
    w->verdict = !is->ok ? XV_ERROR : is->correct ? XV_RIGHT : XV_WRONG;
    return 0;
}

/* Loads the prepared items of every dataset the rows name, once each. */
static void load_golds(struct xrows *x, const char *prepared_dir)
{
    for (size_t i = 0; i < x->n; i++) {
        struct xrow *w = &x->rows[i];
        json_t *index = json_object_get(x->golds, w->dataset);
        if (!index) {
            struct lleval_err e = LLEVAL_ERR_INIT;
            json_t *items = lleval_prepared_load(prepared_dir, w->dataset, NULL, &e);
            index = items ? lleval_prepared_index(items) : json_object();
            json_decref(items);
            json_object_set_new(x->golds, w->dataset, index);
        }
        w->item = json_object_get(index, w->item_id);
    }
}

int lleval_report_xrows_load(struct xrows *x, const char *run_dir, const struct lleval_config *cfg,
                             const char *prepared_dir, struct lleval_err *err)
{
    char *path = lleval_run_file_path(run_dir, LLEVAL_RUN_FILE_PREDICTIONS);
    const unsigned cols =
        LLEVAL_PRED_BIT(LLEVAL_PRED_CUSTOM_ID) | LLEVAL_PRED_BIT(LLEVAL_PRED_DATASET) |
        LLEVAL_PRED_BIT(LLEVAL_PRED_ITEM_ID) | LLEVAL_PRED_BIT(LLEVAL_PRED_PROMPT_TYPE) |
        LLEVAL_PRED_BIT(LLEVAL_PRED_TEMPERATURE) | LLEVAL_PRED_BIT(LLEVAL_PRED_STATUS) |
        LLEVAL_PRED_BIT(LLEVAL_PRED_FINISH_REASON) | LLEVAL_PRED_BIT(LLEVAL_PRED_PREDICTION) |
        LLEVAL_PRED_BIT(LLEVAL_PRED_ERROR);
    struct lleval_pred_reader pr;
    struct lleval_pred_row row;
    struct lleval_score_opts so;
    struct lleval_err e = LLEVAL_ERR_INIT;
    int rc;

    memset(x, 0, sizeof(*x));
    x->by_cid = json_object();
    x->golds = json_object();
    if (!lleval_path_exists(path)) {
        x->note = lleval_xasprintf("no answers to explore: %s was not written",
                                   lleval_run_file_rel(LLEVAL_RUN_FILE_PREDICTIONS));
        rc = lleval_err_set(err, LLEVAL_EINVAL, "%s", x->note);
        goto out;
    }
    rc = lleval_pred_open(&pr, path, cols, LLEVAL_PRED_SKIP_RAGGED, err);
    if (rc) {
        x->note = lleval_xasprintf("no answers to explore: %s", err->msg);
        goto out;
    }
    while ((rc = lleval_pred_next(&pr, &row, err)) == 1)
        add_row(x, &row);
    lleval_pred_close(&pr);
    if (rc < 0) {
        lleval_report_xrows_release(x);
        x->by_cid = json_object();
        x->golds = json_object();
        x->note = lleval_xasprintf("no answers to explore: %s", err->msg);
        goto out;
    }
    rc = 0;
    if (!prepared_dir) {
        x->note = lleval_xstrdup("no verdicts or gold answers: the run's prepared_dir is unknown");
        goto out;
    }
    if (!lleval_is_dir(prepared_dir)) {
        x->note = lleval_xasprintf("no verdicts or gold answers: the prepared data in '%s' is gone",
                                   prepared_dir);
        goto out;
    }
    lleval_score_opts_init(&so);
    if (cfg)
        lleval_score_opts_from_config(&so, cfg);
    so.bootstrap = 0;
    if (lleval_score_each(path, prepared_dir, &so, on_scored, x, &e)) {
        x->note = lleval_xasprintf("no verdicts: the answers could not be scored: %s", e.msg);
        for (size_t i = 0; i < x->n; i++) {
            struct xrow *w = &x->rows[i];
            free(w->answer);
            w->answer = NULL;
            w->f1 = NAN;
            w->choice = -1;
            if (w->verdict != XV_ERROR)
                w->verdict = XV_UNSCORED;
        }
        goto out;
    }
    x->gold = true;
    load_golds(x, prepared_dir);
out:
    free(path);
    return rc;
}

json_t *lleval_report_golds(const json_t *item)
{
    const json_t *answers = json_object_get(item, "answers"), *choices, *a;
    json_t *out = json_array();
    size_t i;
    choices = json_object_get(item, "choices");
    json_array_foreach(answers, i, a)
    {
        const char *txt = json_string_value(a), *c = NULL;
        if (!txt)
            continue;
        if (json_is_array(choices) && strlen(txt) == 1 && txt[0] >= 'A' && txt[0] <= 'Z')
            c = json_string_value(json_array_get(choices, (size_t)(txt[0] - 'A')));
        if (c) {
            char *s = lleval_xasprintf("%s (%s)", txt, c);
            json_array_append_new(out, json_string(s));
            free(s);
        } else {
            json_array_append_new(out, json_string(txt));
        }
    }
    return out;
}

/* ---- the page's data ----------------------------------------------------- */

/* s as a JSON string: bad UTF-8 bytes and control characters other than
 * line breaks and tabs as U+FFFD (as the rest of the page shows them), at
 * most X_TEXT_MAX bytes (then a note says how many were left out). NULL is
 * JSON null. */
static json_t *jtext(const char *s)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    size_t len, cut, i = 0;
    json_t *j;
    if (!s)
        return json_null();
    len = strlen(s);
    cut = lleval_utf8_cut(s, len, X_TEXT_MAX);
    while (i < cut) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F) {
            lleval_sb_adds(&sb, LLEVAL_UTF8_REPLACEMENT);
            i++;
        } else {
            i += lleval_utf8_copy(&sb, s + i, cut - i);
        }
    }
    if (cut < len)
        lleval_sb_addf(&sb, "\n[... %zu more bytes not shown]", len - cut);
    j = json_stringn(sb.buf, sb.len);
    lleval_sb_release(&sb);
    return j ? j : json_string("");
}

/* The string table: repeated values (dataset names, prompts, gold lists)
 * are stored once and rows refer to them by index. */
struct table {
    json_t *values; /* array */
    json_t *seen;   /* compact JSON text -> index */
};

/* The index of v in the table (v taken); -1 for JSON null. */
static json_int_t intern(struct table *t, json_t *v)
{
    char *key;
    const json_t *at;
    json_int_t k;
    if (!v || json_is_null(v)) {
        json_decref(v);
        return -1;
    }
    key = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    at = key ? json_object_get(t->seen, key) : NULL;
    if (at) {
        k = json_integer_value(at);
        json_decref(v);
    } else {
        k = (json_int_t)json_array_size(t->values);
        json_array_append_new(t->values, v);
        if (key)
            json_object_set_new(t->seen, key, json_integer(k));
    }
    free(key);
    return k;
}

/*
 * The prompt a row was asked with, rendered from the run's prompt set as the
 * build step renders it, as indexes into t (each text stored once): [system,
 * before, after] when the user message is before + the question + after
 * (the question is the row's own field, and a SQuAD context in "before" is
 * then shared by the questions on it), else [system, user]. NULL when unknown.
 */
static json_t *row_prompt(const struct report *r, struct table *t, const struct xrow *w)
{
    const struct lleval_prompt_set *set = r->have_cfg ? lleval_config_prompt_set(&r->cfg) : NULL;
    const struct lleval_prompt_type *pt = set ? lleval_prompt_set_find_type(set, w->prompt) : NULL;
    enum lleval_item_type type = LLEVAL_CLOSED_BOOK;
    const char *tname, *q, *at;
    char *sys, *user;
    json_t *j;
    if (!pt || !w->item)
        return NULL;
    tname = lleval_json_str(w->item, "type");
    if (tname)
        lleval_item_type_parse(tname, &type);
    sys = lleval_render_prompt(pt->system[type] ? pt->system[type] : "", w->item);
    user = lleval_render_prompt(pt->user[type] ? pt->user[type] : "{question}", w->item);
    q = lleval_json_str(w->item, "question");
    at = q && *q && strlen(q) <= X_TEXT_MAX && lleval_utf8_valid(q, strlen(q), NULL)
             ? strstr(user, q)
             : NULL;
    j = json_array();
    json_array_append_new(j, json_integer(intern(t, jtext(sys))));
    if (at) {
        char *before = lleval_xstrndup(user, (size_t)(at - user));
        json_array_append_new(j, json_integer(intern(t, jtext(before))));
        json_array_append_new(j, json_integer(intern(t, jtext(at + strlen(q)))));
        free(before);
    } else {
        json_array_append_new(j, json_integer(intern(t, jtext(user))));
    }
    free(sys);
    free(user);
    return j;
}

static json_t *opt_real(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

/* The data the script reads: {"t": [...], "rows": [[...], ...]}; each row
 * is the fields named in the script's COLS, in that order. */
/* The model a custom_id names (a run of several models), or null. */
static json_t *row_model(const char *custom_id)
{
    struct lleval_cid c;
    json_t *j = json_null();
    if (!lleval_cid_decode(custom_id, &c, NULL)) {
        if (c.model) {
            json_decref(j);
            j = jtext(c.model);
        }
        lleval_cid_release(&c);
    }
    return j;
}

static json_t *explorer_data(const struct report *r, const struct xrows *x)
{
    struct table t = {json_array(), json_object()};
    json_t *rows = json_array(), *root;
    for (size_t i = 0; i < x->n; i++) {
        const struct xrow *w = &x->rows[i];
        bool same = w->answer && !strcmp(w->answer, w->prediction);
        json_t *row = json_array();
        json_array_append_new(row, jtext(w->custom_id));
        json_array_append_new(row, json_integer(intern(&t, jtext(w->dataset))));
        json_array_append_new(row, jtext(w->item_id));
        json_array_append_new(row, json_integer(intern(&t, jtext(w->prompt))));
        json_array_append_new(row, json_integer(intern(&t, jtext(w->temp))));
        json_array_append_new(row, json_integer(w->sample));
        json_array_append_new(
            row, json_integer(intern(&t, json_string(lleval_report_verdict_name(w->verdict)))));
        json_array_append_new(row, json_integer(intern(&t, jtext(w->finish))));
        json_array_append_new(row, opt_real(w->f1));
        json_array_append_new(row, jtext(w->prediction));
        /* the extracted answer: 0 when it is the whole prediction, null when unscored */
        json_array_append_new(row, same ? json_integer(0) : jtext(w->answer));
        json_array_append_new(row, jtext(w->error));
        json_array_append_new(row, json_integer(intern(&t, row_prompt(r, &t, w))));
        json_array_append_new(
            row,
            json_integer(intern(&t, w->item ? jtext(lleval_json_str(w->item, "question")) : NULL)));
        json_array_append_new(
            row, json_integer(intern(&t, w->item ? lleval_report_golds(w->item) : NULL)));
        json_array_append_new(row, opt_real(w->latency_ms));
        json_array_append_new(row, w->tokens >= 0 ? json_integer(w->tokens) : json_null());
        json_array_append_new(row, w->mc ? json_integer(w->choice) : json_null());
        json_array_append_new(row, json_integer(intern(&t, row_model(w->custom_id))));
        json_array_append_new(rows, row);
    }
    root = json_pack("{s:o, s:o}", "t", t.values, "rows", rows);
    json_decref(t.seen);
    return root;
}

/* Whether any byte of w is b (the classic zero-byte test on w ^ b's pattern: exact). */
static bool has_byte(uint64_t w, unsigned char b)
{
    uint64_t v = w ^ (0x0101010101010101ULL * b);
    return ((v - 0x0101010101010101ULL) & ~v & 0x8080808080808080ULL) != 0;
}

/* The script text (report_int.h). */
void lleval_report_script_json(struct lleval_sb *sb, const char *s, size_t len)
{
    size_t run = 0, i = 0;
    while (i < len) {
        unsigned char c;
        const char *esc;
        if (len - i >= 8) { /* eight bytes at a time while none may need an escape */
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!has_byte(w, '<') && !has_byte(w, '>') && !has_byte(w, '&') && !has_byte(w, 0xE2)) {
                i += 8;
                continue;
            }
        }
        c = (unsigned char)s[i];
        if (c == '<')
            esc = "\\u003c";
        else if (c == '>')
            esc = "\\u003e";
        else if (c == '&')
            esc = "\\u0026";
        else if (c == 0xE2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
                 ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9))
            esc = (unsigned char)s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029";
        else {
            i++;
            continue;
        }
        lleval_sb_add(sb, s + run, i - run);
        lleval_sb_adds(sb, esc);
        i += c == 0xE2 ? 3 : 1;
        run = i;
    }
    lleval_sb_add(sb, s + run, len - run);
}

void lleval_report_explorer_load(struct report *r, struct explorer *ex)
{
    struct lleval_err e = LLEVAL_ERR_INIT;
    const char *prepared = r->have_cfg ? r->cfg.prepared_dir : NULL;
    memset(ex, 0, sizeof(*ex));
    r->ex = ex;
    if (r->xd.ready) { /* read from items.jsonl with the samples */
        ex->xd = &r->xd;
        ex->loaded = true;
        return;
    }
    if (!prepared && r->scores)
        prepared = r->scores->prepared_dir;
    ex->loaded =
        !lleval_report_xrows_load(&ex->items, r->dir, r->have_cfg ? &r->cfg : NULL, prepared, &e);
    r->ex = ex;
}

void lleval_report_explorer_release(struct explorer *ex)
{
    lleval_report_xrows_release(&ex->items);
    ex->loaded = false;
}

void lleval_report_explorer_head(struct lleval_sb *sb)
{
    lleval_report_csp(sb);
    lleval_sb_adds(sb, "<style>\n");
    for (size_t i = 0; lleval_explorer_css[i]; i++)
        lleval_sb_adds(sb, lleval_explorer_css[i]);
    lleval_sb_adds(sb, "</style>\n");
}

/* The explorer's controls and its empty table; the script fills them. */
static const char explorer_markup[] =
    "<div class=\"x-bar\" role=\"search\">\n"
    "<label>model <select id=\"x-f-model\" data-col=\"18\"></select></label>\n"
    "<label>dataset <select id=\"x-f-dataset\" data-col=\"1\"></select></label>\n"
    "<label>prompt <select id=\"x-f-prompt\" data-col=\"3\"></select></label>\n"
    "<label>temperature <select id=\"x-f-temp\" data-col=\"4\"></select></label>\n"
    "<label>verdict <select id=\"x-f-verdict\" data-col=\"6\"></select></label>\n"
    "<label>finish reason <select id=\"x-f-finish\" data-col=\"7\"></select></label>\n"
    "<label class=\"x-q\">search <input id=\"x-q\" type=\"search\" placeholder=\"item id, "
    "question, answer, gold\" autocomplete=\"off\"></label>\n"
    "<button type=\"button\" id=\"x-reset\">reset</button>\n"
    "</div>\n"
    "<p class=\"x-status\"><span id=\"x-count\" aria-live=\"polite\"></span> "
    "<span id=\"x-pageinfo\" class=\"muted\"></span> "
    "<button type=\"button\" id=\"x-prev\">&larr; previous</button> "
    "<button type=\"button\" id=\"x-next\">next &rarr;</button> "
    "<label class=\"muted\">rows per page <select id=\"x-pagesize\"><option>50</option>"
    "<option selected>100</option><option>500</option></select></label></p>\n"
    "<div class=\"scroll\"><table class=\"x-table\">\n<thead><tr>"
    "<th><button type=\"button\" data-sort=\"order\">#</button></th>"
    "<th><button type=\"button\" data-sort=\"verdict\">verdict</button></th>"
    "<th><button type=\"button\" data-sort=\"dataset\">dataset</button></th>"
    "<th><button type=\"button\" data-sort=\"prompt\">prompt</button></th>"
    "<th><button type=\"button\" data-sort=\"temp\">t</button></th>"
    "<th><button type=\"button\" data-sort=\"item\">item</button></th>"
    "<th><button type=\"button\" data-sort=\"question\">question</button></th>"
    "<th><button type=\"button\" data-sort=\"answer\">answer</button></th>"
    "<th><button type=\"button\" data-sort=\"finish\">finish</button></th>"
    "<th class=\"n\"><button type=\"button\" data-sort=\"f1\">F1</button></th>"
    "<th class=\"n\"><button type=\"button\" data-sort=\"latency\">ms</button></th>"
    "</tr></thead>\n<tbody id=\"x-rows\"></tbody></table></div>\n"
    "<section id=\"x-view\" class=\"x-view\" hidden aria-label=\"item\">\n"
    "<div class=\"x-view-bar\"><h3 id=\"x-v-title\"></h3>"
    "<button type=\"button\" id=\"x-v-prev\">&larr;</button>"
    "<button type=\"button\" id=\"x-v-next\">&rarr;</button>"
    "<button type=\"button\" id=\"x-v-close\">close</button></div>\n"
    "<dl class=\"facts\" id=\"x-v-facts\"></dl>\n"
    "<h4>Prompt</h4><div id=\"x-v-prompt\"></div>\n"
    "<h4>Answer</h4><pre id=\"x-v-answer\" class=\"x-text\"></pre>\n"
    "<h4>Extracted answer</h4><pre id=\"x-v-extracted\" class=\"x-text\"></pre>\n"
    "<h4>Gold answers</h4><ul id=\"x-v-golds\"></ul>\n"
    "</section>\n";

void lleval_report_explorer_html(struct lleval_sb *sb, const struct report *r)
{
    const struct explorer *ex = r->ex;
    json_t *data;
    char *text;
    size_t len = 0;

    lleval_sb_adds(sb, "<section id=\"explorer\">\n<h2>Items</h2>\n");
    if (!ex || !ex->loaded) {
        lleval_sb_adds(sb, "<p class=\"note\">");
        lleval_html_escape(sb, ex && ex->items.note ? ex->items.note : "no answers to explore");
        lleval_sb_adds(sb, "</p>\n</section>\n");
        return;
    }
    if (ex->xd && ex->xd->shown < ex->xd->total) {
        lleval_sb_addf(sb,
                       "<p class=\"muted\">A sample of the answered items of %s: those whose "
                       "custom_id hashes under a fixed cut, so every run of the same items "
                       "shows the same ones. Filter, "
                       "search and sort them; click a row to see its prompt, the full answer, "
                       "the extracted answer and the gold answers.</p>\n"
                       "<p class=\"note\" id=\"x-sampled\">%zu of %zu items shown; the full "
                       "list is in %s / %s.</p>\n",
                       lleval_run_file_rel(LLEVAL_RUN_FILE_ITEMS_JSONL), ex->xd->shown,
                       ex->xd->total, lleval_run_file_rel(LLEVAL_RUN_FILE_ITEMS_JSONL),
                       LLEVAL_ITEMS_CSV);
    } else {
        lleval_sb_addf(
            sb,
            "<p class=\"muted\">Every answered item (%zu), from %s%s. Filter, search "
            "and sort them; click a row to see its prompt, the full answer, the "
            "extracted answer and the gold answers.</p>\n",
            ex->xd ? ex->xd->shown : ex->items.n,
            lleval_run_file_rel(ex->xd ? LLEVAL_RUN_FILE_ITEMS_JSONL : LLEVAL_RUN_FILE_PREDICTIONS),
            ex->xd           ? " (the score step's verdicts)"
            : ex->items.gold ? ", scored again against the prepared data"
                             : "");
    }
    if (ex->items.note) {
        lleval_sb_adds(sb, "<p class=\"note\">");
        lleval_html_escape(sb, ex->items.note);
        lleval_sb_adds(sb, "</p>\n");
    }
    lleval_sb_adds(sb, "<noscript><p class=\"note\">The item explorer needs JavaScript; the "
                       "sample answers above show a few items without it.</p></noscript>\n");
    lleval_sb_adds(sb, explorer_markup);
    if (ex->xd) {
        lleval_sb_adds(sb, "<script type=\"application/json\" id=\"x-data\">{\"t\":[");
        lleval_report_script_json(sb, ex->xd->t.buf ? ex->xd->t.buf : "", ex->xd->t.len);
        lleval_sb_adds(sb, "],\"rows\":[");
        lleval_report_script_json(sb, ex->xd->rows.buf ? ex->xd->rows.buf : "", ex->xd->rows.len);
        lleval_sb_adds(sb, "]}</script>\n<script>");
        lleval_report_explorer_script(sb);
        lleval_sb_adds(sb, "</script>\n</section>\n");
        return;
    }
    data = explorer_data(r, &ex->items);
    text = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    if (text)
        len = strlen(text);
    lleval_sb_adds(sb, "<script type=\"application/json\" id=\"x-data\">");
    lleval_report_script_json(sb, text ? text : "{\"t\":[],\"rows\":[]}", text ? len : 18);
    free(text);
    /* the script's text is exactly what the page's policy names by its hash */
    lleval_sb_adds(sb, "</script>\n<script>");
    lleval_report_explorer_script(sb);
    lleval_sb_adds(sb, "</script>\n</section>\n");
}
