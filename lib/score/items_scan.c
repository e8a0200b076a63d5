/*
 * The fast reader of results/items.jsonl (score/items.h): each line read in
 * one pass by the scanner (util/jscan.h) into the typed row, without a JSON
 * tree (issue 13: the report reads the scored items instead of scoring
 * predictions.csv again). Where the scanner cannot vouch for a line (or a
 * field has another type than items.c writes), the caller's state is reset
 * and the whole file is read again by lleval_items_each() (jansson), which
 * also words the error.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/score/items.h"
#include "lleval/util/jscan.h"
#include "lleval/util/util.h"

/* The string fields, in items.jsonl's order; their arena offsets + 1 (0: absent or null). */
enum {
    F_CID,
    F_DATASET,
    F_ITEM,
    F_TYPE,
    F_PROMPT,
    F_STATUS,
    F_QUESTION,
    F_PRED,
    F_ANSWER,
    F_LETTER,
    F_FINISH,
    F_ERROR,
    F_NSTR
};

/* The number fields (NaN: null or absent). */
enum { N_TEMP, N_SAMPLE, N_EM, N_F1, N_CONTAINS, N_LAT, N_PT, N_CT, N_NNUM };

struct isc {
    struct lleval_jscan js; /* first: the member callback gets &isc.js */
    size_t str[F_NSTR];
    double num[N_NNUM];
    size_t *gold, *choices; /* arena offsets of the list items */
    size_t n_gold, cap_gold, n_choices, cap_choices;
    bool has_correct, correct, has_letter;
    bool have_temp; /* temp holds the short form of the temperature `temp` */
    double temp;
};

/* A list of strings (or null): each string's arena offset. */
static bool str_list(struct isc *s, size_t **v, size_t *n, size_t *cap)
{
    struct lleval_jscan *j = &s->js;
    *n = 0;
    if (lleval_jscan_null(j))
        return true;
    if (!lleval_jscan_eat(j, '['))
        return false;
    if (lleval_jscan_peek(j, ']'))
        return lleval_jscan_eat(j, ']');
    for (;;) {
        size_t at = j->out->len;
        if (!lleval_jscan_peek(j, '"') || !lleval_jscan_str(j, j->out))
            return false;
        LLEVAL_GROW(*v, *n, *cap);
        (*v)[(*n)++] = at;
        if (lleval_jscan_eat(j, ']'))
            return true;
        if (!lleval_jscan_eat(j, ','))
            return false;
    }
}

static bool word(struct lleval_jscan *j, const char *w, size_t len)
{
    lleval_jscan_ws(j);
    if ((size_t)(j->end - j->p) < len || memcmp(j->p, w, len))
        return false;
    j->p += len;
    return true;
}

/* A number in a form items.c writes (-?int(.frac)?, at most 15 digits in all)
 * read without strtod: the digits are an integer below 2^53 and 10^frac is
 * exact, so one division rounds once, to the double strtod gives; an integer
 * is (double) of itself as the scanner's is (so "-0" is 0). False, with
 * nothing read, for any other form: the scanner reads it. */
static bool plain_num(struct lleval_jscan *j, double *out)
{
    const unsigned char *p, *end;
    uint64_t m = 0;
    int digits = 0, frac = 0;
    bool neg = false;
    lleval_jscan_ws(j);
    p = j->p;
    end = j->end;
    if (p < end && *p == '-') {
        neg = true;
        p++;
    }
    if (p < end && *p == '0') {
        p++;
        digits = 1;
    } else {
        for (; p < end && *p >= '0' && *p <= '9' && digits <= 15; p++, digits++)
            m = m * 10 + (uint64_t)(*p - '0');
        if (!digits)
            return false;
    }
    if (p < end && *p == '.') {
        for (p++; p < end && *p >= '0' && *p <= '9' && digits <= 15; p++, digits++, frac++)
            m = m * 10 + (uint64_t)(*p - '0');
        if (!frac)
            return false;
    }
    if (digits > 15 || (p < end && ((*p >= '0' && *p <= '9') || *p == 'e' || *p == 'E')))
        return false;
    if (frac)
        *out = (neg ? -(double)m : (double)m) / lleval_pow10_exact[frac];
    else
        *out = (double)(neg ? -(long long)m : (long long)m);
    j->p = p;
    return true;
}

/* The member ids: the string fields, the number fields, then these. */
enum { K_GOLD = F_NSTR + N_NNUM, K_CHOICES, K_CORRECT };

/* The id of an items.jsonl key, or -1 for another key. */
static int key_id(const char *k)
{
#define IS(name, id)                                                                               \
    if (!strcmp(k, name))                                                                          \
    return (id)
    switch (k[0]) {
    case 'a':
        IS("answer", F_ANSWER);
        break;
    case 'c':
        IS("custom_id", F_CID);
        IS("choices", K_CHOICES);
        IS("correct", K_CORRECT);
        IS("contains", F_NSTR + N_CONTAINS);
        IS("completion_tokens", F_NSTR + N_CT);
        break;
    case 'd':
        IS("dataset", F_DATASET);
        break;
    case 'e':
        IS("em", F_NSTR + N_EM);
        IS("error", F_ERROR);
        break;
    case 'f':
        IS("f1", F_NSTR + N_F1);
        IS("finish_reason", F_FINISH);
        break;
    case 'g':
        IS("gold_answers", K_GOLD);
        break;
    case 'i':
        IS("item_id", F_ITEM);
        break;
    case 'l':
        IS("latency_ms", F_NSTR + N_LAT);
        break;
    case 'm':
        IS("mc_letter", F_LETTER);
        break;
    case 'p':
        IS("prompt_type", F_PROMPT);
        IS("prediction", F_PRED);
        IS("prompt_tokens", F_NSTR + N_PT);
        break;
    case 'q':
        IS("question", F_QUESTION);
        break;
    case 's':
        IS("sample", F_NSTR + N_SAMPLE);
        IS("status", F_STATUS);
        break;
    case 't':
        IS("type", F_TYPE);
        IS("temperature", F_NSTR + N_TEMP);
        break;
    default:
        break;
    }
#undef IS
    return -1;
}

/* Every key is one of the writer's, each at most once (a bit of seen per key):
 * another key or a repeated one gives up, and jansson (which rejects repeated
 * keys and ignores unknown ones) decides. */
static bool member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct isc *s = (struct isc *)j;
    int id = key_id(key);
    (void)depth;
    if (id < 0 || !lleval_jscan_first(seen, id))
        return false;
    if (id < F_NSTR) {
        if (lleval_jscan_null(j))
            return true;
        if (!lleval_jscan_peek(j, '"'))
            return false;
        s->str[id] = j->out->len + 1;
        if (id == F_LETTER)
            s->has_letter = true;
        return lleval_jscan_str(j, j->out);
    }
    if (id < F_NSTR + N_NNUM) {
        bool is_int;
        long long iv;
        double dv;
        if (lleval_jscan_null(j) || plain_num(j, &s->num[id - F_NSTR]))
            return true;
        if (!lleval_jscan_num(j, &is_int, &iv, &dv))
            return false;
        s->num[id - F_NSTR] = is_int ? (double)iv : dv;
        return true;
    }
    if (id == K_GOLD)
        return str_list(s, &s->gold, &s->n_gold, &s->cap_gold);
    if (id == K_CHOICES)
        return str_list(s, &s->choices, &s->n_choices, &s->cap_choices);
    s->has_correct = true;
    if (word(j, "true", 4))
        return s->correct = true;
    s->correct = false;
    return word(j, "false", 5);
}

/* Scans one line into r (strings in the arena; lists in gv/cv); false: give up. */
static bool scan_line(struct isc *s, const char *text, size_t len, struct lleval_item_row *r,
                      const char ***gv, size_t *gcap, const char ***cv, size_t *ccap, char *temp,
                      size_t temp_size)
{
    const char *base;
    s->js.p = (const unsigned char *)text;
    s->js.end = (const unsigned char *)text + len;
    s->js.unique = false; /* member() checks every key itself */
    lleval_sb_reset(s->js.out);
    memset(s->str, 0, sizeof(s->str));
    for (int i = 0; i < N_NNUM; i++)
        s->num[i] = NAN;
    s->n_gold = s->n_choices = 0;
    s->has_correct = s->has_letter = false;
    if (!lleval_jscan_peek(&s->js, '{') || !lleval_jscan_object(&s->js, 0, member) ||
        !lleval_jscan_end(&s->js) || !s->has_correct)
        return false;
    base = s->js.out->buf;
    memset(r, 0, sizeof(*r));
#define STR(f) (s->str[f] ? base + s->str[f] - 1 : "")
    r->custom_id = STR(F_CID);
    if (!*r->custom_id)
        return false;
    r->dataset = STR(F_DATASET);
    r->item_id = STR(F_ITEM);
    r->type = STR(F_TYPE);
    r->prompt_type = STR(F_PROMPT);
    r->question = STR(F_QUESTION);
    r->prediction = STR(F_PRED);
    r->answer = STR(F_ANSWER);
    r->finish_reason = STR(F_FINISH);
    r->error = STR(F_ERROR);
    r->ok = strcmp(STR(F_STATUS), "error") != 0;
    r->mc = s->has_letter;
    r->mc_letter = r->mc ? STR(F_LETTER)[0] : 0;
#undef STR
    if (*gcap < s->n_gold + 1) {
        *gcap = s->n_gold + 1;
        *gv = lleval_xrealloc((void *)*gv, *gcap * sizeof(**gv));
    }
    if (*ccap < s->n_choices + 1) {
        *ccap = s->n_choices + 1;
        *cv = lleval_xrealloc((void *)*cv, *ccap * sizeof(**cv));
    }
    for (size_t i = 0; i < s->n_gold; i++)
        (*gv)[i] = base + s->gold[i];
    for (size_t i = 0; i < s->n_choices; i++)
        (*cv)[i] = base + s->choices[i];
    r->gold = *gv;
    r->n_gold = s->n_gold;
    r->choices = *cv;
    r->n_choices = s->n_choices;
    r->correct = s->correct;
    r->em = s->num[N_EM];
    r->f1 = s->num[N_F1];
    r->contains = s->num[N_CONTAINS];
    r->latency_ms = s->num[N_LAT];
    r->sample = isnan(s->num[N_SAMPLE]) ? 0 : (long)s->num[N_SAMPLE];
    r->prompt_tokens = isnan(s->num[N_PT]) ? -1 : (long long)s->num[N_PT];
    r->completion_tokens = isnan(s->num[N_CT]) ? -1 : (long long)s->num[N_CT];
    {
        /* the short form, made again only when the temperature changes */
        double t = isnan(s->num[N_TEMP]) ? 0 : s->num[N_TEMP];
        if (!s->have_temp || t != s->temp || signbit(t) != signbit(s->temp)) {
            lleval_fmt_num(temp, temp_size, t);
            s->temp = t;
            s->have_temp = true;
        }
    }
    r->temperature = temp;
    return true;
}

int lleval_items_each_fast(const char *path, lleval_item_row_fn fn, void (*reset)(void *ud),
                           void *ud, struct lleval_err *err)
{
    return lleval_items_each_fast_lines(path, NULL, fn, reset, ud, err);
}

int lleval_items_each_fast_lines(const char *path, bool (*want)(long line, void *ud),
                                 lleval_item_row_fn fn, void (*reset)(void *ud), void *ud,
                                 struct lleval_err *err)
{
    struct lleval_sb arena = LLEVAL_SB_INIT;
    struct isc s;
    struct lleval_lines lr;
    const char **gv = NULL, **cv = NULL;
    size_t gcap = 0, ccap = 0;
    char temp[40];
    int rc = 0, more;
    bool gave_up = false;
    struct lleval_err e = LLEVAL_ERR_INIT;

    memset(&s, 0, sizeof(s));
    s.js.out = &arena;
    if (!lleval_path_exists(path) || lleval_lines_open(&lr, path, &e))
        return lleval_items_each(path, fn, ud, err); /* it words the error */
    while ((more = lleval_lines_next(&lr, &e)) > 0) {
        struct lleval_item_row r;
        if (!lr.len || (want && !want(lr.lineno, ud)))
            continue;
        if (!scan_line(&s, lr.line, lr.len, &r, &gv, &gcap, &cv, &ccap, temp, sizeof(temp))) {
            gave_up = true;
            break;
        }
        r.line = lr.lineno;
        rc = fn(&r, ud);
        if (rc)
            break;
    }
    lleval_lines_close(&lr);
    lleval_sb_release(&arena);
    free(s.gold);
    free(s.choices);
    free((void *)gv);
    free((void *)cv);
    if (!rc && (gave_up || more < 0)) {
        reset(ud);
        rc = lleval_items_each(path, fn, ud, err);
    }
    return rc;
}
