/*
 * SQuAD 2.0 (the official evaluate-v2.0 script): its output object printed
 * the way the script prints it (json.dumps(out_eval, indent=2), Python's
 * shortest round-trip float repr), and an abstention check for the
 * pipeline's answers. The scoring itself runs in score.c over gold sets
 * whose items carry "unanswerable" (gold.c). See include/lleval/score/score.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/score/score.h"
#include "normalize_int.h"
#include "score_int.h"

void lleval_fmt_pyfloat(double v, struct lleval_sb *out)
{
    char buf[40], digits[24];
    int prec, exp, nd = 0;
    const char *p;

    if (isnan(v)) {
        lleval_sb_adds(out, "NaN");
        return;
    }
    if (isinf(v)) {
        lleval_sb_adds(out, v < 0 ? "-Infinity" : "Infinity");
        return;
    }
    /* the fewest significant digits that read back as v (what repr() prints) */
    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    p = buf;
    if (*p == '-') {
        lleval_sb_addch(out, '-');
        p++;
    }
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    exp = (int)strtol(p + 1, NULL, 10);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    if (exp < -4 || exp >= 16) { /* repr's scientific form: 1e-05, 1.5e+16 */
        lleval_sb_addch(out, digits[0]);
        if (nd > 1) {
            lleval_sb_addch(out, '.');
            lleval_sb_adds(out, digits + 1);
        }
        lleval_sb_addf(out, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (exp < 0) {
        lleval_sb_adds(out, "0.");
        for (int i = 0; i < -exp - 1; i++)
            lleval_sb_addch(out, '0');
        lleval_sb_adds(out, digits);
    } else {
        for (int i = 0; i <= exp; i++)
            lleval_sb_addch(out, i < nd ? digits[i] : '0');
        lleval_sb_addch(out, '.');
        lleval_sb_adds(out, nd > exp + 1 ? digits + exp + 1 : "0");
    }
}

void lleval_squad2_format(const struct lleval_squad2_eval *e, struct lleval_sb *out)
{
    static const char *const prefix[] = {"", "HasAns_", "NoAns_"};
    const struct lleval_squad2_part *parts[] = {&e->all, &e->has_ans, &e->no_ans};
    bool first = true;
    lleval_sb_adds(out, "{");
    for (int i = 0; i < 3; i++) {
        if (!parts[i]->total)
            continue; /* the script prints a breakdown only when it has questions */
        lleval_sb_addf(out, "%s\n  \"%sexact\": ", first ? "" : ",", prefix[i]);
        lleval_fmt_pyfloat(100.0 * parts[i]->exact_sum / (double)parts[i]->total, out);
        lleval_sb_addf(out, ",\n  \"%sf1\": ", prefix[i]);
        lleval_fmt_pyfloat(100.0 * parts[i]->f1_sum / (double)parts[i]->total, out);
        lleval_sb_addf(out, ",\n  \"%stotal\": %ld", prefix[i], parts[i]->total);
        first = false;
    }
    lleval_sb_adds(out, "\n}\n");
}

void lleval_squad2_add(struct lleval_squad2_part *p, double exact, double f1)
{
    p->exact_sum += exact; /* left to right, as the script's sum() (Python <= 3.11) */
    p->f1_sum += f1;
    p->total++;
}

bool lleval_squad2_abstains(const char *answer, size_t len, const struct lleval_score_opts *o)
{
    struct lleval_norm a = LLEVAL_NORM_INIT, ph = LLEVAL_NORM_INIT;
    bool yes = false;
    lleval_norm_set(&a, answer, len, false);
    yes = a.text.len == 0;
    for (size_t i = 0; !yes && i < o->n_abstain; i++) {
        lleval_norm_set(&ph, o->abstain[i], strlen(o->abstain[i]), false);
        yes = ph.text.len > 0 && lleval_norm_em(&a, &ph);
    }
    lleval_norm_release(&a);
    lleval_norm_release(&ph);
    return yes;
}
