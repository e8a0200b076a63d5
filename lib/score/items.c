/*
 * items.csv and items.jsonl (see items.h): every scored row of
 * predictions.csv with its question, gold answers and verdicts. The rows
 * come from the scorer's per-row callback (lleval_score_each()), joined with
 * the questions of the prepared datasets; the writer writes both files
 * atomically, a row of each in one pass (lleval_items_rows(), the same bytes
 * as the one-file writers), and the reader streams items.jsonl back as typed
 * rows.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/dataset/dataset.h"
#include "lleval/dataset/index.h"
#include "lleval/platform/fs.h"
#include "lleval/run/rundir.h"
#include "lleval/score/items.h"
#include "lleval/score/predictions.h"
#include "lleval/util/csv.h"
#include "lleval/util/json.h"
#include "lleval/util/redact.h"
#include "lleval/util/util.h"
#include "lleval/util/text.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---- the columns ----------------------------------------------------------- */

/* The CSV header; items.jsonl has the same fields, in this order. */
static const char *const csv_cols[] = {
    "custom_id",
    "dataset",
    "item_id",
    "type",
    "prompt_type",
    "temperature",
    "sample",
    "status",
    "question",
    "gold_answers",
    "choices",
    "prediction",
    "answer",
    "em",
    "f1",
    "contains",
    "mc_letter",
    "correct",
    "finish_reason",
    "latency_ms",
    "prompt_tokens",
    "completion_tokens",
    "error",
};
#define N_CSV_COLS (sizeof(csv_cols) / sizeof(csv_cols[0]))

void lleval_items_csv_header(struct lleval_sb *sb)
{
    for (size_t i = 0; i < N_CSV_COLS; i++)
        lleval_csv_add_field(sb, csv_cols[i], i == 0);
    lleval_csv_end_record(sb);
}

/* Byte-wise tests on 8 bytes at once (exact: nonzero when some byte is). */
#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
static inline uint64_t has_byte(uint64_t x, unsigned char c)
{
    uint64_t y = x ^ (ONES * c);
    return (y - ONES) & ~y & HIGHS;
}

/* True when the 8 bytes at p are printable ASCII other than '"' and '\\'. */
static inline bool json_plain8(const char *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof(x));
    return !((x & HIGHS) | ((x - ONES * 0x20) & ~x & HIGHS) | has_byte(x, '"') | has_byte(x, '\\'));
}

/* The end of the run of printable ASCII but '"' and '\\' from p[i] on
 * (16 bytes at a time with SSE2, else 8). */
static size_t json_plain_end(const char *p, size_t i, size_t len)
{
#if defined(__SSE2__)
    const __m128i sp = _mm_set1_epi8(0x20), q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
    for (; i + 16 <= len; i += 16) {
        /* signed: a byte of 0x80 or more is below 0x20 too */
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, sp),
                                   _mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, bs)));
        unsigned m = (unsigned)_mm_movemask_epi8(bad);
        if (m)
            return i + (size_t)__builtin_ctz(m);
    }
#endif
    while (i + 8 <= len && json_plain8(p + i))
        i += 8;
    return i;
}

/*
 * The JSON text of p[0..len) (borrowed, already redacted): '"', '\\' and
 * control characters escaped, a byte that is not valid UTF-8 written as
 * U+FFFD. Written by hand, not through jansson: a run has a row per answer,
 * and building a JSON object per row cost ten times the scoring.
 */
static void json_strn(struct lleval_sb *sb, const char *p, size_t len)
{
    size_t i = 0, run = 0;

    lleval_sb_addch(sb, '"');
    while (i < len) {
        unsigned char c;
        size_t n = 1;
        const char *esc = NULL;
        char u[8];
        i = json_plain_end(p, i, len); /* printable ASCII, most bytes */
        if (i >= len)
            break;
        c = (unsigned char)p[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++; /* printable ASCII, most bytes: copied with the run */
            continue;
        }
        if (c >= 0x80) {
            n = lleval_utf8_seq(p + i, len - i);
            if (n) {
                i += n;
                continue;
            }
            esc = LLEVAL_UTF8_REPLACEMENT;
            n = 1;
        } else if (c == '"') {
            esc = "\\\"";
        } else if (c == '\\') {
            esc = "\\\\";
        } else if (c == '\n') {
            esc = "\\n";
        } else if (c == '\t') {
            esc = "\\t";
        } else if (c == '\r') {
            esc = "\\r";
        } else { /* another control character */
            snprintf(u, sizeof(u), "\\u%04x", c);
            esc = u;
        }
        lleval_sb_add(sb, p + run, i - run);
        lleval_sb_adds(sb, esc);
        i += n;
        run = i;
    }
    lleval_sb_add(sb, p + run, i - run);
    lleval_sb_addch(sb, '"');
}

/* The JSON text of string s (borrowed; NULL is ""), redacted (util/redact.h). */
static void json_str(struct lleval_sb *sb, const char *s)
{
    char *red = lleval_redact_dup(s);
    const char *p = red ? red : s ? s : "";
    json_strn(sb, p, strlen(p));
    free(red);
}

/* A JSON array of strings. */
static void json_list(struct lleval_sb *sb, const char *const *v, size_t n)
{
    lleval_sb_addch(sb, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            lleval_sb_addch(sb, ',');
        json_str(sb, v[i]);
    }
    lleval_sb_addch(sb, ']');
}

/* Appends v >= 0 in decimal (no printf: it runs a few times per row). */
static void add_uint(struct lleval_sb *sb, unsigned long long v)
{
    char buf[24];
    size_t i = sizeof(buf);
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    lleval_sb_add(sb, buf + i, sizeof(buf) - i);
}

/* A number (as jansson writes it with lleval's 15 digits), or null for NaN. */
static void json_num(struct lleval_sb *sb, double v)
{
    if (isnan(v) || isinf(v))
        lleval_sb_adds(sb, "null");
    else if (v == 0.0 || v == 1.0)
        lleval_sb_addch(sb, v == 0.0 ? '0' : '1');
    else
        lleval_sb_addf(sb, "%.15g", v);
}

/*
 * The latency cell as `lleval parse` writes it ("%.1f": digits, '.', one
 * digit; at most 15 digits, no leading zero, not 0 or 1): then its "%.1f" is
 * the cell itself and its "%.15g" the cell without a ".0" (a decimal of at
 * most 15 significant digits round-trips through the nearest double), so
 * neither needs printf. Returns the length of the digits before the '.', or
 * 0 when the cell is anything else (the caller formats the number).
 */
static size_t plain_tenths(const char *t)
{
    size_t i = 0;
    if (!t)
        return 0;
    while (t[i] >= '0' && t[i] <= '9')
        i++;
    if (!i || i > 14 || t[i] != '.' || t[i + 1] < '0' || t[i + 1] > '9' || t[i + 2] ||
        (t[0] == '0' && i > 1))
        return 0;
    if (i == 1 && (t[0] == '0' || t[0] == '1') && t[2] == '0')
        return 0; /* 0.0 and 1.0: written "0" and "1" */
    return i;
}

static void json_latency(struct lleval_sb *sb, const struct lleval_item_row *r)
{
    size_t i = plain_tenths(r->latency_text);
    if (!i)
        json_num(sb, r->latency_ms);
    else
        lleval_sb_add(sb, r->latency_text, r->latency_text[i + 1] == '0' ? i : i + 2);
}

static void json_count(struct lleval_sb *sb, long long v)
{
    if (v < 0)
        lleval_sb_adds(sb, "null");
    else
        add_uint(sb, (unsigned long long)v);
}

/* ,"key": (key a literal) */
#define JSON_KEY(sb, key) lleval_sb_adds((sb), ",\"" key "\":")

/* The temperature's short form ("0.7") as it is, when it is a plain decimal
 * (as the scorer and the reader write it), else parsed and written. */
static void json_temp(struct lleval_sb *sb, const char *t)
{
    size_t i = 0, dots = 0;
    double v = 0;
    for (; t[i]; i++) {
        if (t[i] == '.')
            dots++;
        else if (t[i] < '0' || t[i] > '9')
            break;
    }
    if (i && !t[i] && dots <= 1 && t[0] != '.' && t[i - 1] != '.') {
        lleval_sb_add(sb, t, i);
        return;
    }
    if (lleval_parse_double(t, &v) || !isfinite(v))
        v = 0;
    json_num(sb, v);
}

void lleval_items_json_row(struct lleval_sb *sb, const struct lleval_item_row *r)
{
    char letter[2] = {r->mc_letter, '\0'};
    lleval_sb_adds(sb, "{\"custom_id\":");
    json_str(sb, r->custom_id);
    JSON_KEY(sb, "dataset");
    json_str(sb, r->dataset);
    JSON_KEY(sb, "item_id");
    json_str(sb, r->item_id);
    JSON_KEY(sb, "type");
    json_str(sb, r->type);
    JSON_KEY(sb, "prompt_type");
    json_str(sb, r->prompt_type);
    JSON_KEY(sb, "temperature");
    json_temp(sb, r->temperature);
    JSON_KEY(sb, "sample");
    json_count(sb, r->sample < 0 ? 0 : r->sample);
    JSON_KEY(sb, "status");
    lleval_sb_adds(sb, r->ok ? "\"ok\"" : "\"error\"");
    JSON_KEY(sb, "question");
    json_str(sb, r->question);
    JSON_KEY(sb, "gold_answers");
    json_list(sb, r->gold, r->n_gold);
    JSON_KEY(sb, "choices");
    if (r->mc)
        json_list(sb, r->choices, r->n_choices);
    else
        lleval_sb_adds(sb, "null");
    JSON_KEY(sb, "prediction");
    json_str(sb, r->prediction);
    JSON_KEY(sb, "answer");
    json_str(sb, r->answer);
    JSON_KEY(sb, "em");
    json_num(sb, r->mc ? NAN : r->em);
    JSON_KEY(sb, "f1");
    json_num(sb, r->mc ? NAN : r->f1);
    JSON_KEY(sb, "contains");
    json_num(sb, r->mc ? NAN : r->contains);
    JSON_KEY(sb, "mc_letter");
    if (r->mc)
        json_str(sb, letter);
    else
        lleval_sb_adds(sb, "null");
    JSON_KEY(sb, "correct");
    lleval_sb_adds(sb, r->correct ? "true" : "false");
    JSON_KEY(sb, "finish_reason");
    json_str(sb, r->finish_reason);
    JSON_KEY(sb, "latency_ms");
    json_latency(sb, r);
    JSON_KEY(sb, "prompt_tokens");
    json_count(sb, r->prompt_tokens);
    JSON_KEY(sb, "completion_tokens");
    json_count(sb, r->completion_tokens);
    JSON_KEY(sb, "error");
    json_str(sb, r->error);
    lleval_sb_adds(sb, "}\n");
}

/* A cell of a numeric column: never guarded; empty when it does not apply. */
static void num_field(struct lleval_sb *sb, double v, const char *fmt)
{
    char buf[64] = "";
    lleval_sb_addch(sb, ',');
    if (v == 0.0 || v == 1.0) {
        lleval_sb_addch(sb, v == 0.0 ? '0' : '1');
    } else if (!isnan(v)) {
        snprintf(buf, sizeof(buf), fmt, v);
        lleval_sb_adds(sb, buf);
    }
}

static void int_field(struct lleval_sb *sb, long long v)
{
    lleval_sb_addch(sb, ',');
    if (v >= 0)
        add_uint(sb, (unsigned long long)v);
}

/* A list of strings as one cell: its JSON array text. */
static void list_field(struct lleval_sb *sb, const char *const *v, size_t n)
{
    struct lleval_sb t = LLEVAL_SB_INIT;
    json_list(&t, v, n);
    lleval_csv_add_text_field(sb, t.buf, false);
    lleval_sb_release(&t);
}

void lleval_items_csv_row(struct lleval_sb *sb, const struct lleval_item_row *r)
{
    char letter[2] = {r->mc_letter, '\0'};
    lleval_csv_add_text_field(sb, r->custom_id, true);
    lleval_csv_add_text_field(sb, r->dataset, false);
    lleval_csv_add_text_field(sb, r->item_id, false);
    lleval_csv_add_text_field(sb, r->type, false);
    lleval_csv_add_text_field(sb, r->prompt_type, false);
    lleval_csv_add_field(sb, r->temperature, false);
    int_field(sb, r->sample);
    lleval_csv_add_text_field(sb, r->ok ? "ok" : "error", false);
    lleval_csv_add_text_field(sb, r->question, false);
    list_field(sb, r->gold, r->n_gold);
    if (r->mc)
        list_field(sb, r->choices, r->n_choices);
    else
        lleval_csv_add_field(sb, "", false);
    lleval_csv_add_text_field(sb, r->prediction, false);
    lleval_csv_add_text_field(sb, r->answer, false);
    num_field(sb, r->mc ? NAN : r->em, "%.0f");
    num_field(sb, r->mc ? NAN : r->f1, "%.6g");
    num_field(sb, r->mc ? NAN : r->contains, "%.0f");
    lleval_csv_add_text_field(sb, r->mc ? letter : "", false);
    lleval_csv_add_field(sb, r->correct ? "1" : "0", false);
    lleval_csv_add_text_field(sb, r->finish_reason, false);
    if (plain_tenths(r->latency_text)) {
        lleval_sb_addch(sb, ',');
        lleval_sb_adds(sb, r->latency_text);
    } else {
        num_field(sb, r->latency_ms, "%.1f");
    }
    int_field(sb, r->prompt_tokens);
    int_field(sb, r->completion_tokens);
    lleval_csv_add_text_field(sb, r->error, false);
    lleval_csv_end_record(sb);
}

/* ---- both rows in one pass ------------------------------------------------------ */

/* A string of the row, measured and redacted once for both files. */
struct view {
    const char *s;
    size_t len;
    char *red; /* owned: the redacted copy, or NULL */
};

static void view_set(struct view *v, const char *s)
{
    v->s = s ? s : "";
    v->len = strlen(v->s);
    v->red = NULL;
    if (lleval_redact_needed(v->s, v->len)) {
        v->red = lleval_redact_dup(v->s);
        v->s = v->red;
        v->len = strlen(v->s);
    }
}

/* The bytes that make a CSV cell quoted (lleval_csv_quote()). */
static bool csv_special(const char *s, size_t len)
{
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i co = _mm_set1_epi8(','), q = _mm_set1_epi8('"'), cr = _mm_set1_epi8('\r'),
                  lf = _mm_set1_epi8('\n');
    for (; i + 16 <= len; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, co), _mm_cmpeq_epi8(v, q)),
                                   _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)));
        if (_mm_movemask_epi8(hit))
            return true;
    }
#endif
    for (; i + 8 <= len; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, sizeof(x));
        if (has_byte(x, ',') | has_byte(x, '"') | has_byte(x, '\r') | has_byte(x, '\n'))
            return true;
    }
    for (; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ',' || c == '"' || c == '\r' || c == '\n')
            return true;
    }
    return false;
}

/* Appends s[0..len) with each '"' doubled. */
static void add_doubled(struct lleval_sb *sb, const char *s, size_t len)
{
    const char *end = s + len, *q;
    while ((q = memchr(s, '"', (size_t)(end - s))) != NULL) {
        lleval_sb_add(sb, s, (size_t)(q - s) + 1);
        lleval_sb_addch(sb, '"');
        s = q + 1;
    }
    lleval_sb_add(sb, s, (size_t)(end - s));
}

/* The first bytes that get the spreadsheet guard (lleval_csv_needs_guard()). */
static inline bool guard_char(unsigned char c)
{
    return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r' || c == '\'';
}

/* lleval_csv_add_field() (guard false) or lleval_csv_add_text_field() (guard
 * true) of a view: the same bytes. A text cell that starts with one of
 * "=+-@\t\r'" gets a leading "'" (lleval_csv_needs_guard()); a cell with ',',
 * '"', CR or LF, or an unguarded one that starts with a byte order mark, is
 * quoted. */
static void csv_view(struct lleval_sb *sb, const struct view *v, bool guard, bool first)
{
    bool guarded = guard && v->len && guard_char((unsigned char)v->s[0]);
    bool quote =
        csv_special(v->s, v->len) || (!guarded && v->len >= 3 && !memcmp(v->s, "\xEF\xBB\xBF", 3));
    if (!first)
        lleval_sb_addch(sb, ',');
    if (quote)
        lleval_sb_addch(sb, '"');
    if (guarded)
        lleval_sb_addch(sb, '\'');
    if (quote) {
        add_doubled(sb, v->s, v->len);
        lleval_sb_addch(sb, '"');
    } else {
        lleval_sb_add(sb, v->s, v->len);
    }
}

/* The memo's entry for v (finite, neither 0 nor 1), filled when new. */
static const void *memo_num(struct lleval_items_memo *m, double v, bool csv, size_t *len)
{
    uint64_t bits;
    size_t at;
    memcpy(&bits, &v, sizeof(bits));
    at = (size_t)((bits * 0x9E3779B97F4A7C15ULL) >> 56) % LLEVAL_ITEMS_MEMO;
    if (!m->num[at].used || m->num[at].bits != bits) {
        int a = snprintf(m->num[at].g15, sizeof(m->num[at].g15), "%.15g", v);
        int b = snprintf(m->num[at].g6, sizeof(m->num[at].g6), "%.6g", v);
        m->num[at].bits = bits;
        m->num[at].used = true;
        m->num[at].n15 = (unsigned char)(a > 0 ? a : 0);
        m->num[at].n6 = (unsigned char)(b > 0 ? b : 0);
    }
    *len = csv ? m->num[at].n6 : m->num[at].n15;
    return csv ? m->num[at].g6 : m->num[at].g15;
}

/* json_num() through the memo. */
static void json_num_memo(struct lleval_sb *sb, double v, struct lleval_items_memo *m)
{
    size_t len;
    const char *t;
    if (!m || isnan(v) || isinf(v) || v == 0.0 || v == 1.0) {
        json_num(sb, v);
        return;
    }
    t = memo_num(m, v, false, &len);
    lleval_sb_add(sb, t, len);
}

/* num_field(sb, v, "%.6g") through the memo. */
static void g6_field_memo(struct lleval_sb *sb, double v, struct lleval_items_memo *m)
{
    size_t len;
    const char *t;
    if (!m || isnan(v) || isinf(v) || v == 0.0 || v == 1.0) {
        num_field(sb, v, "%.6g");
        return;
    }
    t = memo_num(m, v, true, &len);
    lleval_sb_addch(sb, ',');
    lleval_sb_add(sb, t, len);
}

/* The question and gold answers of an item as both files write them: a
 * slot per item id's hash, the text of the last item that came with that
 * hash, TEXT_BYTES in all. Its key holds the bytes the text was written
 * from, so a slot is used only for the very same bytes. The table starts
 * with TEXT_SLOTS_FIRST slots and doubles while more than half are taken, up
 * to TEXT_SLOTS, so a small run's table stays small. */
#define TEXT_SLOTS_FIRST 256
#define TEXT_SLOTS       4096
#define TEXT_BYTES       ((size_t)4 << 20)

struct lleval_items_text {
    char *buf; /* key, JSON text, CSV text; NULL: a free slot */
    size_t key_len, json_len, csv_len;
    uint64_t h; /* the item id's hash (lleval_hash64(), well mixed: its low bits pick the slot) */
};

void lleval_items_memo_init(struct lleval_items_memo *m)
{
    memset(m, 0, sizeof(*m));
    lleval_sb_init(&m->list, 0);
    lleval_sb_init(&m->key, 0);
    lleval_sb_init(&m->tj, 0);
    lleval_sb_init(&m->tc, 0);
}

void lleval_items_memo_release(struct lleval_items_memo *m)
{
    if (m->text)
        for (size_t i = 0; i < m->text_slots; i++)
            free(m->text[i].buf);
    free(m->text);
    lleval_sb_release(&m->list);
    lleval_sb_release(&m->key);
    lleval_sb_release(&m->tj);
    lleval_sb_release(&m->tc);
}

/* A list of strings: its JSON text (json_list()) into the JSON row, and as
 * one CSV text cell (list_field()). */
static void list_both(struct lleval_sb *csv, struct lleval_sb *jsonl, struct lleval_sb *t,
                      const char *const *v, size_t n)
{
    struct view cell;
    lleval_sb_reset(t);
    json_list(t, v, n);
    lleval_sb_add(jsonl, t->buf, t->len);
    cell.s = t->buf;
    cell.len = t->len;
    cell.red = NULL;
    if (lleval_redact_needed(t->buf, t->len)) {
        cell.red = lleval_redact_dup(t->buf);
        cell.s = cell.red;
        cell.len = strlen(cell.s);
    }
    csv_view(csv, &cell, true, false);
    free(cell.red);
}

/* The question (view q of r->question) and r's gold answers: JSON from the
 * question's value to the gold answers' list, CSV their two cells. */
static void question_golds(struct lleval_sb *csv, struct lleval_sb *jsonl, struct lleval_sb *t,
                           const struct view *q, const struct lleval_item_row *r)
{
    json_strn(jsonl, q->s, q->len);
    JSON_KEY(jsonl, "gold_answers");
    csv_view(csv, q, true, false);
    list_both(csv, jsonl, t, r->gold, r->n_gold);
}

/* Doubles the memo's table: a slot's text moves to the one of the two new
 * slots its hash picks, so none is lost. */
static void text_grow(struct lleval_items_memo *m)
{
    size_t n = m->text_slots * 2;
    struct lleval_items_text *t = lleval_xcalloc(n, sizeof(*t));
    for (size_t i = 0; i < m->text_slots; i++)
        if (m->text[i].buf)
            t[m->text[i].h & (n - 1)] = m->text[i];
    free(m->text);
    m->text = t;
    m->text_slots = n;
}

/* question_golds() through the memo: the text written before for the same
 * question and gold answers (byte for byte), else written and kept. */
static void question_golds_memo(struct lleval_sb *csv, struct lleval_sb *jsonl,
                                struct lleval_items_memo *m, const struct lleval_item_row *r,
                                const struct view *id)
{
    struct lleval_items_text *e;
    struct view q;
    size_t n = r->n_gold, need;
    uint64_t h;
    const char *question = r->question ? r->question : "";
    lleval_sb_reset(&m->key);
    lleval_sb_add(&m->key, (const char *)&n, sizeof(n));
    lleval_sb_add(&m->key, question, strlen(question) + 1);
    for (size_t i = 0; i < n; i++)
        lleval_sb_add(&m->key, r->gold[i] ? r->gold[i] : "",
                      strlen(r->gold[i] ? r->gold[i] : "") + 1);
    if (!m->text) {
        m->text_slots = TEXT_SLOTS_FIRST;
        m->text = lleval_xcalloc(m->text_slots, sizeof(*m->text));
    }
    h = lleval_hash64(id->s);
    e = &m->text[h & (m->text_slots - 1)];
    if (e->buf && e->key_len == m->key.len && !memcmp(e->buf, m->key.buf, m->key.len)) {
        lleval_sb_add(jsonl, e->buf + e->key_len, e->json_len);
        lleval_sb_add(csv, e->buf + e->key_len + e->json_len, e->csv_len);
        return;
    }
    view_set(&q, r->question);
    lleval_sb_reset(&m->tj);
    lleval_sb_reset(&m->tc);
    question_golds(&m->tc, &m->tj, &m->list, &q, r);
    free(q.red);
    lleval_sb_add(jsonl, m->tj.buf, m->tj.len);
    lleval_sb_add(csv, m->tc.buf, m->tc.len);
    need = m->key.len + m->tj.len + m->tc.len;
    if (e->buf) {
        m->text_bytes -= e->key_len + e->json_len + e->csv_len;
        m->text_used--;
    }
    free(e->buf);
    e->buf = NULL;
    if (m->text_bytes + need > TEXT_BYTES)
        return;
    e->buf = lleval_xmalloc(need);
    memcpy(e->buf, m->key.buf, m->key.len);
    memcpy(e->buf + m->key.len, m->tj.buf, m->tj.len);
    memcpy(e->buf + m->key.len + m->tj.len, m->tc.buf, m->tc.len);
    e->key_len = m->key.len;
    e->json_len = m->tj.len;
    e->csv_len = m->tc.len;
    e->h = h;
    m->text_bytes += need;
    if (++m->text_used * 2 > m->text_slots && m->text_slots < TEXT_SLOTS)
        text_grow(m);
}

enum { V_CID, V_DATASET, V_ITEM, V_TYPE, V_PROMPT, V_PRED, V_ANSWER, V_FINISH, V_ERROR, N_VIEWS };

void lleval_items_rows(struct lleval_sb *csv, struct lleval_sb *jsonl,
                       const struct lleval_item_row *r, struct lleval_items_memo *memo)
{
    char letter[2] = {r->mc_letter, '\0'};
    const char *src[N_VIEWS] = {r->custom_id, r->dataset,       r->item_id,
                                r->type,      r->prompt_type,   r->prediction,
                                r->answer,    r->finish_reason, r->error};
    struct view v[N_VIEWS], t;
    struct lleval_sb own = LLEVAL_SB_INIT, *scratch = memo ? &memo->list : &own;

    for (int i = 0; i < N_VIEWS; i++)
        view_set(&v[i], src[i]);

    /* the JSON line */
    lleval_sb_adds(jsonl, "{\"custom_id\":");
    json_strn(jsonl, v[V_CID].s, v[V_CID].len);
    JSON_KEY(jsonl, "dataset");
    json_strn(jsonl, v[V_DATASET].s, v[V_DATASET].len);
    JSON_KEY(jsonl, "item_id");
    json_strn(jsonl, v[V_ITEM].s, v[V_ITEM].len);
    JSON_KEY(jsonl, "type");
    json_strn(jsonl, v[V_TYPE].s, v[V_TYPE].len);
    JSON_KEY(jsonl, "prompt_type");
    json_strn(jsonl, v[V_PROMPT].s, v[V_PROMPT].len);
    JSON_KEY(jsonl, "temperature");
    json_temp(jsonl, r->temperature);
    JSON_KEY(jsonl, "sample");
    json_count(jsonl, r->sample < 0 ? 0 : r->sample);
    JSON_KEY(jsonl, "status");
    lleval_sb_adds(jsonl, r->ok ? "\"ok\"" : "\"error\"");
    JSON_KEY(jsonl, "question");

    /* the CSV record up to the question */
    csv_view(csv, &v[V_CID], true, true);
    csv_view(csv, &v[V_DATASET], true, false);
    csv_view(csv, &v[V_ITEM], true, false);
    csv_view(csv, &v[V_TYPE], true, false);
    csv_view(csv, &v[V_PROMPT], true, false);
    view_set(&t, r->temperature);
    csv_view(csv, &t, false, false);
    free(t.red);
    int_field(csv, r->sample);
    lleval_sb_adds(csv, r->ok ? ",ok" : ",error");

    /* question and gold answers (one JSON text of them for both), choices */
    if (memo) {
        question_golds_memo(csv, jsonl, memo, r, &v[V_ITEM]);
    } else {
        view_set(&t, r->question);
        question_golds(csv, jsonl, scratch, &t, r);
        free(t.red);
    }
    JSON_KEY(jsonl, "choices");
    if (r->mc) {
        list_both(csv, jsonl, scratch, r->choices, r->n_choices);
    } else {
        lleval_sb_adds(jsonl, "null");
        lleval_sb_addch(csv, ',');
    }

    JSON_KEY(jsonl, "prediction");
    json_strn(jsonl, v[V_PRED].s, v[V_PRED].len);
    JSON_KEY(jsonl, "answer");
    json_strn(jsonl, v[V_ANSWER].s, v[V_ANSWER].len);
    csv_view(csv, &v[V_PRED], true, false);
    csv_view(csv, &v[V_ANSWER], true, false);

    JSON_KEY(jsonl, "em");
    json_num_memo(jsonl, r->mc ? NAN : r->em, memo);
    JSON_KEY(jsonl, "f1");
    json_num_memo(jsonl, r->mc ? NAN : r->f1, memo);
    JSON_KEY(jsonl, "contains");
    json_num_memo(jsonl, r->mc ? NAN : r->contains, memo);
    num_field(csv, r->mc ? NAN : r->em, "%.0f");
    g6_field_memo(csv, r->mc ? NAN : r->f1, memo);
    num_field(csv, r->mc ? NAN : r->contains, "%.0f");

    JSON_KEY(jsonl, "mc_letter");
    if (r->mc)
        json_str(jsonl, letter);
    else
        lleval_sb_adds(jsonl, "null");
    lleval_csv_add_text_field(csv, r->mc ? letter : "", false);
    JSON_KEY(jsonl, "correct");
    lleval_sb_adds(jsonl, r->correct ? "true" : "false");
    lleval_sb_adds(csv, r->correct ? ",1" : ",0");

    JSON_KEY(jsonl, "finish_reason");
    json_strn(jsonl, v[V_FINISH].s, v[V_FINISH].len);
    csv_view(csv, &v[V_FINISH], true, false);
    JSON_KEY(jsonl, "latency_ms");
    json_latency(jsonl, r);
    if (plain_tenths(r->latency_text)) {
        lleval_sb_addch(csv, ',');
        lleval_sb_adds(csv, r->latency_text);
    } else {
        num_field(csv, r->latency_ms, "%.1f");
    }
    JSON_KEY(jsonl, "prompt_tokens");
    json_count(jsonl, r->prompt_tokens);
    JSON_KEY(jsonl, "completion_tokens");
    json_count(jsonl, r->completion_tokens);
    int_field(csv, r->prompt_tokens);
    int_field(csv, r->completion_tokens);
    JSON_KEY(jsonl, "error");
    json_strn(jsonl, v[V_ERROR].s, v[V_ERROR].len);
    lleval_sb_adds(jsonl, "}\n");
    csv_view(csv, &v[V_ERROR], true, false);
    lleval_csv_end_record(csv);

    for (int i = 0; i < N_VIEWS; i++)
        free(v[i].red);
    lleval_sb_release(&own);
}

/* ---- computing the rows ------------------------------------------------------ */

/* The rows' sink: each scored row's prepared item comes with the row (the
 * scorer's gold set reads it, question included), so no second index. */
struct compute {
    lleval_item_row_fn fn;
    void *ud;
};

/* A number cell of predictions.csv: NaN (unknown) when empty or not a number. */
static double num_of(const char *s)
{
    double v;
    if (!s || !*s)
        return NAN;
    if (lleval_pred_plain_number(s, &v))
        return v;
    if (lleval_parse_double(s, &v) || !isfinite(v))
        return NAN;
    return v;
}

static long long count_of(const char *s)
{
    double v = num_of(s);
    return isnan(v) || v < 0 || v > 9e15 ? -1 : (long long)v;
}

static int on_scored(const struct lleval_item_score *s, void *ud)
{
    struct compute *c = ud;
    const struct lleval_pred_row *p = s->row;
    struct lleval_item_row r;
    const struct lleval_item_entry *item = s->item;
    const char *type;
    bool found = item != NULL;

    if (s->state != LLEVAL_ITEM_SCORED || !p)
        return 0;
    memset(&r, 0, sizeof(r));
    r.custom_id = s->custom_id;
    r.dataset = s->dataset;
    r.item_id = s->item_id;
    type = found ? item->type : NULL;
    r.type = type && *type ? type : p->type;
    r.prompt_type = s->prompt_type;
    r.temperature = s->temperature;
    r.sample = s->sample;
    r.ok = s->ok;
    r.question = found && item->question ? item->question : "";
    r.n_gold = found ? item->n_answers : 0;
    r.gold = found ? item->answers : NULL;
    r.mc = s->scoring == LLEVAL_SCORING_MC;
    if (r.mc) {
        r.n_choices = found ? item->n_choices : 0;
        r.choices = found ? item->choices : NULL;
        r.mc_letter = s->choice >= 0 && s->choice < 26 ? (char)('A' + s->choice) : 0;
        r.em = r.f1 = r.contains = NAN;
    } else {
        r.em = s->em;
        r.f1 = s->f1;
        r.contains = s->contains;
    }
    r.prediction = p->prediction;
    r.answer = s->answer ? s->answer : "";
    r.correct = s->correct;
    r.finish_reason = p->finish_reason;
    r.latency_ms = num_of(p->latency_ms);
    r.latency_text = p->latency_ms;
    r.prompt_tokens = count_of(p->prompt_tokens);
    r.completion_tokens = count_of(p->completion_tokens);
    r.error = p->error;
    r.line = s->line;
    return c->fn(&r, c->ud);
}

int lleval_items_compute(const char *pred_csv, const char *prepared_dir,
                         const struct lleval_score_opts *o, lleval_item_row_fn fn, void *ud,
                         struct lleval_err *err)
{
    struct compute c;
    struct lleval_score_opts so;
    if (o)
        so = *o;
    else
        lleval_score_opts_init(&so);
    so.results_jsonl = NULL; /* the speeds it reads are the breakdown's, not a row's */
    memset(&c, 0, sizeof(c));
    c.fn = fn;
    c.ud = ud;
    return lleval_score_each(pred_csv, prepared_dir, &so, on_scored, &c, err);
}

/* ---- writing ------------------------------------------------------------------ */

/* One output file: a temp file beside it, filled through a buffer. */
struct out_file {
    char *path, *tmp;
    FILE *f;
    struct lleval_sb buf;
};

static int out_open(struct out_file *o, const char *dir, const char *name, struct lleval_err *err)
{
    memset(o, 0, sizeof(*o));
    lleval_sb_init(&o->buf, 0);
    o->path = lleval_path_join(dir, name);
    o->tmp = lleval_xasprintf("%s.tmp.%ld", o->path, lleval_getpid());
    return lleval_fopen_new(o->tmp, &o->f, err); /* never through a planted link */
}

static int out_flush(struct out_file *o, struct lleval_err *err)
{
    if (o->buf.len && fwrite(o->buf.buf, 1, o->buf.len, o->f) != o->buf.len)
        return lleval_err_errno(err, "cannot write", o->tmp);
    lleval_sb_reset(&o->buf);
    return 0;
}

/* Flushes, syncs and closes the temp file. */
static int out_close(struct out_file *o, struct lleval_err *err)
{
    int rc = out_flush(o, err);
    if (!rc)
        rc = lleval_fsync_file(o->f, o->tmp, err);
    if (fclose(o->f) && !rc)
        rc = lleval_err_errno(err, "cannot close", o->tmp);
    o->f = NULL;
    return rc;
}

static void out_release(struct out_file *o, bool remove_tmp)
{
    if (o->f)
        fclose(o->f);
    if (remove_tmp && o->tmp)
        remove(o->tmp);
    free(o->path);
    free(o->tmp);
    lleval_sb_release(&o->buf);
}

/* A buffer is written out past this size: large enough for few writes, small
 * enough that the two buffers stay a small part of the process's memory (the
 * string builder doubles, so each stays within 64 KiB with its last row). */
#define OUT_FLUSH_AT ((size_t)32 << 10)

struct writer {
    struct out_file csv, jsonl;
    struct lleval_err *err;
    size_t rows;
    struct lleval_items_memo memo;
};

static int write_one(const struct lleval_item_row *r, void *ud)
{
    struct writer *w = ud;
    int rc = 0;
    lleval_items_rows(&w->csv.buf, &w->jsonl.buf, r, &w->memo);
    w->rows++;
    if (w->csv.buf.len > OUT_FLUSH_AT)
        rc = out_flush(&w->csv, w->err);
    if (!rc && w->jsonl.buf.len > OUT_FLUSH_AT)
        rc = out_flush(&w->jsonl, w->err);
    return rc;
}

static int out_commit(struct out_file *o, struct lleval_err *err)
{
    if (lleval_rename(o->tmp, o->path)) {
        int rc = lleval_err_errno(err, "cannot rename to", o->path);
        if (lleval_is_dir(o->path)) /* a folder in its place: say what to do */
            rc = lleval_run_err_damaged(err, LLEVAL_RUN_FIX_OUTPUT);
        return rc;
    }
    free(o->tmp);
    o->tmp = NULL; /* renamed: nothing to remove */
    return 0;
}

int lleval_items_write(const char *pred_csv, const char *prepared_dir,
                       const struct lleval_score_opts *o, const char *out_dir, size_t *rows,
                       struct lleval_err *err)
{
    struct writer w;
    int rc;
    memset(&w, 0, sizeof(w));
    lleval_items_memo_init(&w.memo);
    w.err = err;
    if (rows)
        *rows = 0;
    rc = lleval_mkdirs(out_dir, err);
    if (rc)
        return rc;
    rc = out_open(&w.csv, out_dir, LLEVAL_ITEMS_CSV, err);
    if (!rc)
        rc = out_open(&w.jsonl, out_dir, LLEVAL_ITEMS_JSONL, err);
    if (rc)
        goto out;
    lleval_items_csv_header(&w.csv.buf);
    rc = lleval_items_compute(pred_csv, prepared_dir, o, write_one, &w, err);
    if (!rc)
        rc = out_close(&w.csv, err);
    if (!rc)
        rc = out_close(&w.jsonl, err);
    if (!rc)
        rc = out_commit(&w.csv, err);
    if (!rc)
        rc = out_commit(&w.jsonl, err);
    if (!rc && rows)
        *rows = w.rows;
out:
    out_release(&w.csv, true);
    out_release(&w.jsonl, true);
    lleval_items_memo_release(&w.memo);
    return rc;
}

/* The items' side of lleval_score_items_run(): a failure is kept (with its
 * message) and ends the rows, never the scoring. */
struct both {
    struct compute c;
    struct writer w;
    struct lleval_err err;
    int rc;
};

static int on_scored_both(const struct lleval_item_score *s, void *ud)
{
    struct both *b = ud;
    if (!b->rc)
        b->rc = on_scored(s, &b->c);
    return 0;
}

int lleval_score_items_run(const char *pred_csv, const char *prepared_dir, const char *out_dir,
                           const struct lleval_score_opts *o, struct lleval_score_result *res,
                           struct lleval_err *err)
{
    struct both b;
    int rc;
    memset(&b, 0, sizeof(b));
    lleval_items_memo_init(&b.w.memo);
    b.w.err = &b.err;
    b.c.fn = write_one;
    b.c.ud = &b.w;
    b.rc = lleval_mkdirs(out_dir, &b.err);
    if (!b.rc)
        b.rc = out_open(&b.w.csv, out_dir, LLEVAL_ITEMS_CSV, &b.err);
    if (!b.rc)
        b.rc = out_open(&b.w.jsonl, out_dir, LLEVAL_ITEMS_JSONL, &b.err);
    if (!b.rc)
        lleval_items_csv_header(&b.w.csv.buf);
    rc = lleval_score_csv_each(pred_csv, prepared_dir, o, on_scored_both, &b, res, err);
    if (!rc)
        rc = lleval_score_write(res, out_dir, err);
    if (!rc && b.rc) {
        rc = b.rc;
        if (err)
            *err = b.err;
    }
    if (!rc)
        rc = out_close(&b.w.csv, err);
    if (!rc)
        rc = out_close(&b.w.jsonl, err);
    if (!rc)
        rc = out_commit(&b.w.csv, err);
    if (!rc)
        rc = out_commit(&b.w.jsonl, err);
    if (rc)
        lleval_score_result_release(res);
    out_release(&b.w.csv, true);
    out_release(&b.w.jsonl, true);
    lleval_items_memo_release(&b.w.memo);
    return rc;
}

/* ---- reading ------------------------------------------------------------------- */

struct reader {
    const char *path;
    int code; /* of its errors: LLEVAL_EIO inside a run directory */
    const char **gold, **choices;
    size_t cap_gold, cap_choices;
    char temp[40];
};

/* A string field; "" when null (never written so) and an error for another type. */
static int get_str(const struct reader *rd, const json_t *o, long line, const char *key,
                   const char **out, struct lleval_err *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *out = "";
        return 0;
    }
    if (!json_is_string(v))
        return lleval_err_set(err, rd->code, "%s:%ld: '%s' must be a string", rd->path, line, key);
    *out = json_string_value(v);
    return 0;
}

/* A number field; NaN when null or absent. */
static int get_num(const struct reader *rd, const json_t *o, long line, const char *key,
                   double *out, struct lleval_err *err)
{
    const json_t *v = json_object_get(o, key);
    *out = NAN;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v))
        return lleval_err_set(err, rd->code, "%s:%ld: '%s' must be a number or null", rd->path,
                              line, key);
    *out = json_number_value(v);
    return 0;
}

static int get_list(const struct reader *rd, const json_t *o, long line, const char *key,
                    const char ***v, size_t *cap, size_t *n, struct lleval_err *err)
{
    const json_t *a = json_object_get(o, key), *x;
    size_t i;
    *n = 0;
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return lleval_err_set(err, rd->code, "%s:%ld: '%s' must be a list of strings", rd->path,
                              line, key);
    json_array_foreach(a, i, x)
    {
        if (!json_is_string(x))
            return lleval_err_set(err, rd->code, "%s:%ld: '%s' must be a list of strings", rd->path,
                                  line, key);
        LLEVAL_GROW(*v, *n, *cap);
        (*v)[(*n)++] = json_string_value(x);
    }
    return 0;
}

/* Decodes one line's object into r (strings borrowed from o). */
static int decode(struct reader *rd, const json_t *o, long line, struct lleval_item_row *r,
                  struct lleval_err *err)
{
    const char *status = "", *letter = "";
    double temp, sample, pt, ct;
    const json_t *corr = json_object_get(o, "correct"), *mcl = json_object_get(o, "mc_letter");
    int rc;

    memset(r, 0, sizeof(*r));
    r->line = line;
    if ((rc = get_str(rd, o, line, "custom_id", &r->custom_id, err)) ||
        (rc = get_str(rd, o, line, "dataset", &r->dataset, err)) ||
        (rc = get_str(rd, o, line, "item_id", &r->item_id, err)) ||
        (rc = get_str(rd, o, line, "type", &r->type, err)) ||
        (rc = get_str(rd, o, line, "prompt_type", &r->prompt_type, err)) ||
        (rc = get_num(rd, o, line, "temperature", &temp, err)) ||
        (rc = get_num(rd, o, line, "sample", &sample, err)) ||
        (rc = get_str(rd, o, line, "status", &status, err)) ||
        (rc = get_str(rd, o, line, "question", &r->question, err)) ||
        (rc = get_list(rd, o, line, "gold_answers", &rd->gold, &rd->cap_gold, &r->n_gold, err)) ||
        (rc = get_list(rd, o, line, "choices", &rd->choices, &rd->cap_choices, &r->n_choices,
                       err)) ||
        (rc = get_str(rd, o, line, "prediction", &r->prediction, err)) ||
        (rc = get_str(rd, o, line, "answer", &r->answer, err)) ||
        (rc = get_num(rd, o, line, "em", &r->em, err)) ||
        (rc = get_num(rd, o, line, "f1", &r->f1, err)) ||
        (rc = get_num(rd, o, line, "contains", &r->contains, err)) ||
        (rc = get_str(rd, o, line, "mc_letter", &letter, err)) ||
        (rc = get_str(rd, o, line, "finish_reason", &r->finish_reason, err)) ||
        (rc = get_num(rd, o, line, "latency_ms", &r->latency_ms, err)) ||
        (rc = get_num(rd, o, line, "prompt_tokens", &pt, err)) ||
        (rc = get_num(rd, o, line, "completion_tokens", &ct, err)) ||
        (rc = get_str(rd, o, line, "error", &r->error, err)))
        return rc;
    if (!*r->custom_id)
        return lleval_err_set(err, rd->code, "%s:%ld: 'custom_id' is missing", rd->path, line);
    if (!json_is_boolean(corr))
        return lleval_err_set(err, rd->code, "%s:%ld: 'correct' must be true or false", rd->path,
                              line);
    r->gold = rd->gold;
    r->choices = rd->choices;
    r->correct = json_is_true(corr);
    r->ok = strcmp(status, "error") != 0;
    r->mc = mcl && !json_is_null(mcl);
    r->mc_letter = r->mc ? letter[0] : 0;
    r->sample = isnan(sample) ? 0 : (long)sample;
    r->prompt_tokens = isnan(pt) ? -1 : (long long)pt;
    r->completion_tokens = isnan(ct) ? -1 : (long long)ct;
    lleval_fmt_num(rd->temp, sizeof(rd->temp), isnan(temp) ? 0 : temp);
    r->temperature = rd->temp;
    return 0;
}

int lleval_items_each(const char *path, lleval_item_row_fn fn, void *ud, struct lleval_err *err)
{
    struct reader rd;
    struct lleval_lines lr;
    int rc, more;

    memset(&rd, 0, sizeof(rd));
    rd.path = path;
    rd.code = lleval_path_in_run_dir(path) ? LLEVAL_EIO : LLEVAL_EINVAL;
    if (!lleval_path_exists(path))
        return lleval_err_set(err, rd.code, "'%s' does not exist", path);
    rc = lleval_lines_open(&lr, path, err);
    if (rc)
        return rc;
    while ((more = lleval_lines_next(&lr, err)) > 0) {
        json_error_t jerr;
        struct lleval_item_row r;
        json_t *o;
        if (!lr.len)
            continue;
        o = json_loadb(lr.line, lr.len, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(o)) {
            rc = lleval_err_set(err, rd.code, "%s:%ld: %s", path, lr.lineno,
                                o ? "not a JSON object" : lleval_json_error_text(&jerr));
            json_decref(o);
            break;
        }
        rc = decode(&rd, o, lr.lineno, &r, err);
        if (!rc)
            rc = fn(&r, ud);
        json_decref(o);
        if (rc)
            break;
    }
    if (more < 0 && !rc)
        rc = more;
    lleval_lines_close(&lr);
    free(rd.gold);
    free(rd.choices);
    return rc;
}
