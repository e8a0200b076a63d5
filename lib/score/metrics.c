/*
 * Official QA metrics over normalized answers (lib/score/normalize.c): exact
 * match, token F1, "contains" and the max over the golds, and the names of
 * the scoring schemes. See include/lleval/score/metrics.h.
 */
#include <string.h>
#include "lleval/score/metrics.h"
#include "normalize_int.h"
#include "score_int.h"

/* ---- names ---- */

static const char *const scoring_names[] = {"squad", "nq", "mc"};

const char *lleval_scoring_name(enum lleval_scoring s)
{
    return (unsigned)s < LLEVAL_ARRAY_SIZE(scoring_names) ? scoring_names[s] : "squad";
}

int lleval_scoring_parse(const char *s, enum lleval_scoring *out)
{
    for (size_t i = 0; s && i < LLEVAL_ARRAY_SIZE(scoring_names); i++) {
        if (!strcmp(s, scoring_names[i])) {
            *out = (enum lleval_scoring)i;
            return 0;
        }
    }
    return LLEVAL_EINVAL;
}

/* ---- metrics ---- */

bool lleval_norm_em(const struct lleval_norm *pred, const struct lleval_norm *gold)
{
    return pred->text.len == gold->text.len &&
           !memcmp(pred->text.buf, gold->text.buf, pred->text.len);
}

static int cross_cmp(const struct lleval_norm *a, uint32_t x, const struct lleval_norm *b,
                     uint32_t y)
{
    const struct lleval_token *tx = &a->toks[x], *ty = &b->toks[y];
    return bytes_cmp(a->text.buf + tx->off, tx->len, b->text.buf + ty->off, ty->len);
}

/* The two tokens are the same bytes. */
static bool cross_eq(const struct lleval_norm *a, uint32_t x, const struct lleval_norm *b,
                     uint32_t y)
{
    const struct lleval_token *tx = &a->toks[x], *ty = &b->toks[y];
    const char *p = a->text.buf + tx->off, *q = b->text.buf + ty->off;
    return tx->len == ty->len && p[0] == q[0] && !memcmp(p, q, tx->len);
}

/* Short answers pair their tokens directly (no byte order needed). */
static bool pairable(const struct lleval_norm *pred, const struct lleval_norm *gold)
{
    return pred->n_toks <= 64 && pred->n_toks * gold->n_toks <= 256;
}

/* The size of the multiset intersection of the two token bags: each gold
 * token takes an equal prediction token that no other one took. */
static size_t common_paired(const struct lleval_norm *pred, const struct lleval_norm *gold)
{
    uint64_t used = 0;
    size_t same = 0;
    for (size_t j = 0; j < gold->n_toks; j++) {
        for (size_t i = 0; i < pred->n_toks; i++) {
            if (!((used >> i) & 1) && cross_eq(pred, (uint32_t)i, gold, (uint32_t)j)) {
                used |= (uint64_t)1 << i;
                same++;
                break;
            }
        }
    }
    return same;
}

/* The same from the tokens in byte order: the matches of a sorted merge. */
static size_t common_sorted(const struct lleval_norm *pred, const struct lleval_norm *gold)
{
    size_t i = 0, j = 0, same = 0;
    while (i < pred->n_toks && j < gold->n_toks) {
        int c = cross_cmp(pred, pred->sorted[i], gold, gold->sorted[j]);
        if (c < 0) {
            i++;
        } else if (c > 0) {
            j++;
        } else {
            same++;
            i++;
            j++;
        }
    }
    return same;
}

double lleval_norm_f1(const struct lleval_norm *pred, const struct lleval_norm *gold)
{
    size_t same = pairable(pred, gold) ? common_paired(pred, gold) : common_sorted(pred, gold);
    double precision, recall;

    if (same == 0)
        return 0.0;
    /* the official script's exact operations, in its order (no FMA: -std=c11
     * keeps floating-point contraction off), so sums match it bit for bit */
    precision = 1.0 * (double)same / (double)pred->n_toks;
    recall = 1.0 * (double)same / (double)gold->n_toks;
    return (2 * precision * recall) / (precision + recall);
}

bool lleval_norm_contains(const struct lleval_norm *pred, const struct lleval_norm *gold)
{
    size_t m = gold->n_toks;
    if (m == 0)
        return pred->n_toks == 0;
    for (size_t s = 0; s + m <= pred->n_toks; s++) {
        size_t k = 0;
        while (k < m && cross_eq(pred, (uint32_t)(s + k), gold, (uint32_t)k))
            k++;
        if (k == m)
            return true;
    }
    return false;
}

void lleval_qa_score(const struct lleval_norm *pred, const struct lleval_norm *golds,
                     size_t n_golds, struct lleval_qa_score *out)
{
    out->em = out->f1 = out->contains = 0.0;
    for (size_t g = 0; g < n_golds; g++) {
        double f1;
        if (lleval_norm_em(pred, &golds[g])) {
            /* equal token sequences: each contains the other, and F1 is
             * exactly 1 (nothing scores higher) unless both are empty, which
             * the official script scores F1 0 */
            out->em = out->contains = 1.0;
            if (pred->n_toks) {
                out->f1 = 1.0;
                break;
            }
            continue;
        }
        f1 = lleval_norm_f1(pred, &golds[g]);
        if (f1 > out->f1)
            out->f1 = f1;
        /* without a common token the gold cannot be contained (an empty gold
         * is contained only in an empty prediction, which is EM) */
        if (out->contains < 1.0 && f1 > 0.0 && lleval_norm_contains(pred, &golds[g]))
            out->contains = 1.0;
    }
}

void lleval_qa_score_unsorted(struct lleval_norm *pred, const struct lleval_norm *golds,
                              size_t n_golds, struct lleval_qa_score *out)
{
    for (size_t g = 0; g < n_golds; g++) {
        if (!pairable(pred, &golds[g])) {
            lleval_norm_sort_tokens(pred); /* a long answer: F1 needs the byte order */
            break;
        }
    }
    lleval_qa_score(pred, golds, n_golds, out);
}

bool lleval_exact_match(const char *pred, const char *gold, bool use_nfd)
{
    struct lleval_norm p = LLEVAL_NORM_INIT, g = LLEVAL_NORM_INIT;
    bool r;
    lleval_norm_set(&p, pred ? pred : "", pred ? strlen(pred) : 0, use_nfd);
    lleval_norm_set(&g, gold ? gold : "", gold ? strlen(gold) : 0, use_nfd);
    r = lleval_norm_em(&p, &g);
    lleval_norm_release(&p);
    lleval_norm_release(&g);
    return r;
}

double lleval_f1(const char *pred, const char *gold, bool use_nfd)
{
    struct lleval_norm p = LLEVAL_NORM_INIT, g = LLEVAL_NORM_INIT;
    double r;
    lleval_norm_set(&p, pred ? pred : "", pred ? strlen(pred) : 0, use_nfd);
    lleval_norm_set(&g, gold ? gold : "", gold ? strlen(gold) : 0, use_nfd);
    r = lleval_norm_f1(&p, &g);
    lleval_norm_release(&p);
    lleval_norm_release(&g);
    return r;
}
