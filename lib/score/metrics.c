/*
 * Official QA metrics: the SQuAD v1.1 normalization with Python's Unicode
 * semantics (str.lower, re's \b, str.split), exact match, token F1,
 * "contains", the NQ-open NFD variant, answer extraction and
 * multiple-choice letter extraction. See include/lleval/score/metrics.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "lleval/score/metrics.h"
#include "score_int.h"

/* ---- names ---- */

static const char *const scoring_names[] = {"squad", "nq", "mc"};
static const char *const extract_names[] = {"none", "first_line", "after_answer"};

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

const char *lleval_extract_name(enum lleval_extract e)
{
    return (unsigned)e < LLEVAL_ARRAY_SIZE(extract_names) ? extract_names[e] : "none";
}

int lleval_extract_parse(const char *s, enum lleval_extract *out)
{
    if (!s)
        return LLEVAL_EINVAL;
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(extract_names); i++) {
        const char *n = extract_names[i];
        size_t k = 0;
        while (s[k] && n[k] && (s[k] == n[k] || (s[k] == '-' && n[k] == '_')))
            k++;
        if (!s[k] && !n[k]) {
            *out = (enum lleval_extract)i;
            return 0;
        }
    }
    return LLEVAL_EINVAL;
}

/* ---- character classes with Python's semantics ---- */

/*
 * What the normalization does with an ASCII byte: a letter or digit maps to
 * its lower-case form (str.isalnum(); never below '0'), AN_PUNCT is deleted
 * (string.punctuation), AN_SPACE separates (str.isspace()), AN_OTHER (the
 * other control characters) is kept as it is but is no word character.
 */
enum { AN_PUNCT = 0, AN_SPACE = 1, AN_OTHER = 2 };

#define P_ AN_PUNCT
#define S_ AN_SPACE
#define O_ AN_OTHER
static const unsigned char ascii_norm[128] = {
    O_,  O_,  O_,  O_,  O_,  O_,  O_,  O_,  /* 0x00 */
    O_,  S_,  S_,  S_,  S_,  S_,  O_,  O_,  /* 0x08: \t \n \v \f \r */
    O_,  O_,  O_,  O_,  O_,  O_,  O_,  O_,  /* 0x10 */
    O_,  O_,  O_,  O_,  S_,  S_,  S_,  S_,  /* 0x18: 0x1c-0x1f are spaces to Python */
    S_,  P_,  P_,  P_,  P_,  P_,  P_,  P_,  /* ' ' ! " # $ % & ' */
    P_,  P_,  P_,  P_,  P_,  P_,  P_,  P_,  /* ( ) * + , - . / */
    '0', '1', '2', '3', '4', '5', '6', '7', /* */
    '8', '9', P_,  P_,  P_,  P_,  P_,  P_,  /* 8 9 : ; < = > ? */
    P_,  'a', 'b', 'c', 'd', 'e', 'f', 'g', /* @ A-G */
    'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', /* */
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', /* */
    'x', 'y', 'z', P_,  P_,  P_,  P_,  P_,  /* X Y Z [ \ ] ^ _ */
    P_,  'a', 'b', 'c', 'd', 'e', 'f', 'g', /* ` a-g */
    'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', /* */
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', /* */
    'x', 'y', 'z', P_,  P_,  P_,  P_,  O_,  /* x y z { | } ~ DEL */
};
#undef P_
#undef S_
#undef O_

/* str.isspace() / str.split() */
static bool py_space(int32_t c)
{
    if (c < 128)
        return (c >= 9 && c <= 13) || (c >= 28 && c <= 32);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* re's \w for str patterns: str.isalnum() or '_'. Combining marks are not. */
static bool py_word(int32_t c)
{
    if (c < 128)
        return ascii_norm[c] >= '0' || c == '_';
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return true;
    default:
        return false;
    }
}

/* Unicode "Cased" (for the final-sigma rule): Lu, Ll, Lt, letters with a case
 * mapping, and the Other_Lowercase/Other_Uppercase characters that are not
 * case-ignorable anyway (the modifier letters are skipped before this test). */
static bool cased(int32_t c)
{
    utf8proc_category_t cat = utf8proc_category(c);
    if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT)
        return true;
    if (c == 0xAA || c == 0xBA || (c >= 0x1F130 && c <= 0x1F149) ||
        (c >= 0x1F150 && c <= 0x1F169) || (c >= 0x1F170 && c <= 0x1F189))
        return true;
    return utf8proc_tolower(c) != c || utf8proc_toupper(c) != c;
}

/* Unicode "Case_Ignorable" (for the final-sigma rule). */
static bool case_ignorable(int32_t c)
{
    switch (c) {
    case '\'':
    case '.':
    case ':':
    case 0x00B7:
    case 0x0387:
    case 0x055F:
    case 0x05F4:
    case 0x2018:
    case 0x2019:
    case 0x2024:
    case 0x2027:
    case 0xFE13:
    case 0xFE52:
    case 0xFE55:
    case 0xFF07:
    case 0xFF0E:
    case 0xFF1A:
        return true;
    default:
        break;
    }
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK:
        return true;
    default:
        return false;
    }
}

/* CPython's handle_capital_sigma(): final sigma when a cased letter precedes
 * (skipping case-ignorables) and none follows. */
static int32_t lower_sigma(const int32_t *cp, size_t n, size_t i)
{
    size_t j = i;
    int32_t c = 0;
    bool final = false;
    while (j > 0) {
        c = cp[--j];
        if (!case_ignorable(c)) {
            final = cased(c);
            break;
        }
    }
    if (final) {
        for (j = i + 1; j < n; j++) {
            if (!case_ignorable(cp[j])) {
                final = !cased(cp[j]);
                break;
            }
        }
    }
    return final ? 0x3C2 : 0x3C3;
}

/* ---- UTF-8 ---- */

static void grow_cp(struct lleval_norm *a, int k, size_t n)
{
    if (n <= a->cp_cap[k])
        return;
    size_t cap = a->cp_cap[k] ? a->cp_cap[k] : 64;
    while (cap < n)
        cap *= 2;
    a->cp[k] = lleval_xrealloc(a->cp[k], cap * sizeof(int32_t));
    a->cp_cap[k] = cap;
}

/* Decodes s into a->cp[k]; invalid bytes become U+FFFD. Returns the count. */
static size_t decode(struct lleval_norm *a, int k, const char *s, size_t len)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t n = 0, i = 0;
    grow_cp(a, k, len + 1);
    while (i < len) {
        if (p[i] < 0x80) {
            a->cp[k][n++] = p[i++];
            continue;
        }
        int32_t c;
        utf8proc_ssize_t used = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &c);
        if (used <= 0) {
            c = 0xFFFD;
            used = 1;
        }
        a->cp[k][n++] = c;
        i += (size_t)used;
    }
    return n;
}

static void encode(struct lleval_sb *sb, int32_t c)
{
    utf8proc_uint8_t buf[4];
    utf8proc_ssize_t n = utf8proc_encode_char(c, buf);
    if (n <= 0) {
        lleval_sb_adds(sb, "\xEF\xBF\xBD");
        return;
    }
    lleval_sb_add(sb, buf, (size_t)n);
}

/* Canonical decomposition (NFD) of cp[0][0..n) into cp[0]; returns the new count. */
static size_t nfd(struct lleval_norm *a, size_t n)
{
    struct lleval_sb tmp = LLEVAL_SB_INIT;
    utf8proc_ssize_t got;
    for (size_t i = 0; i < n; i++)
        encode(&tmp, a->cp[0][i]);
    for (;;) {
        got = utf8proc_decompose((const utf8proc_uint8_t *)tmp.buf, (utf8proc_ssize_t)tmp.len,
                                 a->cp[0], (utf8proc_ssize_t)a->cp_cap[0],
                                 UTF8PROC_DECOMPOSE | UTF8PROC_STABLE);
        if (got < 0) { /* cannot happen for valid UTF-8; keep the text undecomposed */
            n = decode(a, 0, tmp.buf, tmp.len);
            break;
        }
        if ((size_t)got <= a->cp_cap[0]) {
            n = (size_t)got;
            break;
        }
        grow_cp(a, 0, (size_t)got);
    }
    lleval_sb_release(&tmp);
    return n;
}

/* ---- normalization ---- */

static bool is_article(const int32_t *w, size_t n)
{
    if (n == 1)
        return w[0] == 'a';
    if (n == 2)
        return w[0] == 'a' && w[1] == 'n';
    if (n == 3)
        return w[0] == 't' && w[1] == 'h' && w[2] == 'e';
    return false;
}

static void add_token(struct lleval_norm *a, size_t off)
{
    if (a->n_toks + 1 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->toks = lleval_xrealloc(a->toks, a->cap * sizeof(*a->toks));
        a->sorted = lleval_xrealloc(a->sorted, a->cap * sizeof(*a->sorted));
    }
    a->toks[a->n_toks].off = (uint32_t)off;
    a->toks[a->n_toks].len = 0;
    a->n_toks++;
}

/* Byte order of two tokens (memcmp, then the shorter first); most pairs differ
 * in their first byte, which is compared without a call. */
static inline int bytes_cmp(const char *x, uint32_t xl, const char *y, uint32_t yl)
{
    uint32_t n = xl < yl ? xl : yl;
    int c;
    if (n && x[0] != y[0])
        return (unsigned char)x[0] < (unsigned char)y[0] ? -1 : 1;
    c = memcmp(x, y, n);
    if (c)
        return c;
    return xl < yl ? -1 : xl > yl;
}

static int tok_cmp(const struct lleval_norm *a, uint32_t x, uint32_t y)
{
    const struct lleval_token *tx = &a->toks[x], *ty = &a->toks[y];
    return bytes_cmp(a->text.buf + tx->off, tx->len, a->text.buf + ty->off, ty->len);
}

/* Sorts a->sorted by token bytes: insertion sort for short answers, merge sort otherwise. */
static void sort_tokens(struct lleval_norm *a)
{
    size_t n = a->n_toks;
    uint32_t *v = a->sorted;
    for (size_t i = 0; i < n; i++)
        v[i] = (uint32_t)i;
    if (n <= 24) {
        for (size_t i = 1; i < n; i++) {
            uint32_t x = v[i];
            size_t j = i;
            while (j > 0 && tok_cmp(a, v[j - 1], x) > 0) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = x;
        }
        return;
    }
    uint32_t *tmp = lleval_xmalloc(n * sizeof(*tmp));
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = tok_cmp(a, v[j], v[i]) < 0 ? v[j++] : v[i++];
            while (i < mid)
                tmp[k++] = v[i++];
            while (j < hi)
                tmp[k++] = v[j++];
        }
        memcpy(v, tmp, n * sizeof(*v));
    }
    free(tmp);
}

void lleval_norm_init(struct lleval_norm *a)
{
    struct lleval_norm z = LLEVAL_NORM_INIT;
    *a = z;
}

void lleval_norm_release(struct lleval_norm *a)
{
    lleval_sb_release(&a->text);
    free(a->toks);
    free(a->sorted);
    free(a->cp[0]);
    free(a->cp[1]);
    lleval_norm_init(a);
}

static bool is_article_bytes(const char *w, size_t n)
{
    return (n == 1 && w[0] == 'a') || (n == 2 && w[0] == 'a' && w[1] == 'n') ||
           (n == 3 && w[0] == 't' && w[1] == 'h' && w[2] == 'e');
}

/*
 * The same normalization for pure ASCII input in one pass over the bytes
 * (the common case): punctuation is dropped inside word runs ("a.b" is one
 * word "ab"), and a run that reads "a", "an" or "the" is a separator. The
 * output is never longer than the input (a space stands for at least one
 * separator byte), so it is written in place without further checks. The
 * tokens are left unsorted.
 */
static void norm_ascii(struct lleval_norm *a, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    char *out;
    size_t o = 0, i = 0;
    bool sep = false;

    lleval_sb_grow(&a->text, len + 1);
    out = a->text.buf;
    while (i < len) {
        unsigned char c = p[i], m = ascii_norm[c];
        bool open_new;
        size_t w, j = i + 1, wl = 1;

        if (m == AN_PUNCT) {
            i++;
            continue;
        }
        if (m == AN_SPACE) {
            sep = true;
            i++;
            continue;
        }
        open_new = sep || a->n_toks == 0;
        w = o + (open_new && a->n_toks); /* where the run's bytes go */
        if (m >= '0') {
            out[w] = (char)m;
            for (; j < len; j++) {
                unsigned char d = ascii_norm[p[j]];
                if (d >= '0')
                    out[w + wl++] = (char)d;
                else if (d != AN_PUNCT)
                    break;
            }
            if (is_article_bytes(out + w, wl)) {
                sep = true; /* an article: a separator, its bytes are dropped */
                i = j;
                continue;
            }
        } else {
            out[w] = (char)c; /* a control character: part of a token, not a word */
        }
        if (open_new) {
            if (a->n_toks) {
                a->toks[a->n_toks - 1].len = (uint32_t)(o - a->toks[a->n_toks - 1].off);
                out[o] = ' ';
            }
            add_token(a, w);
            sep = false;
        }
        o = w + wl;
        i = j;
    }
    a->text.len = o;
    out[o] = '\0';
    if (a->n_toks)
        a->toks[a->n_toks - 1].len = (uint32_t)(o - a->toks[a->n_toks - 1].off);
}

/* True when s[0..len) is all ASCII (eight bytes at a time). */
static bool all_ascii(const char *s, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, s + i, 8);
        if (v & 0x8080808080808080ULL)
            return false;
    }
    for (; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return false;
    return true;
}

/* The normalization and the tokens in text order (a->sorted is not set). */
static void norm_fill(struct lleval_norm *a, const char *s, size_t len, bool use_nfd)
{
    size_t n, m = 0;
    int32_t *in, *out;
    char *t;
    bool sep = false;

    lleval_sb_reset(&a->text);
    a->n_toks = 0;
    if (all_ascii(s, len)) { /* NFD changes nothing in ASCII */
        norm_ascii(a, s, len);
        return;
    }
    n = decode(a, 0, s, len);
    if (use_nfd)
        n = nfd(a, n);

    /* lower() and the deletion of ASCII punctuation, into cp[1] */
    grow_cp(a, 1, 2 * n + 1);
    in = a->cp[0];
    out = a->cp[1];
    for (size_t i = 0; i < n; i++) {
        int32_t c = in[i];
        if (c < 128) {
            /* punctuation goes; letters and digits lower-cased; controls stay */
            unsigned char k = ascii_norm[c];
            if (k == AN_PUNCT)
                continue;
            out[m++] = k >= '0' ? k : c;
        } else if (c == 0x130) { /* the one unconditional multi-code-point lowercase */
            out[m++] = 'i';
            out[m++] = 0x307;
        } else if (c == 0x3A3) {
            out[m++] = lower_sigma(in, n, i);
        } else {
            out[m++] = utf8proc_tolower(c);
        }
    }

    /* articles (whole \w runs "a", "an", "the") become spaces; split on
     * whitespace; join with single spaces. At most 4 bytes per code point
     * (a space stands for a separator), written without further checks. */
    lleval_sb_grow(&a->text, 4 * m + 1);
    t = a->text.buf;
    for (size_t i = 0; i < m;) {
        int32_t c = out[i];
        size_t j = i + 1;
        if (py_space(c)) {
            sep = true;
            i = j;
            continue;
        }
        if (py_word(c)) {
            while (j < m && py_word(out[j]))
                j++;
            if (is_article(out + i, j - i)) {
                sep = true;
                i = j;
                continue;
            }
        }
        if (sep || a->n_toks == 0) {
            if (a->n_toks) {
                a->toks[a->n_toks - 1].len = (uint32_t)(a->text.len - a->toks[a->n_toks - 1].off);
                t[a->text.len++] = ' ';
            }
            add_token(a, a->text.len);
            sep = false;
        }
        for (; i < j; i++) {
            if (out[i] < 128) {
                t[a->text.len++] = (char)out[i];
            } else {
                utf8proc_ssize_t k =
                    utf8proc_encode_char(out[i], (utf8proc_uint8_t *)t + a->text.len);
                if (k <= 0) {
                    memcpy(t + a->text.len, "\xEF\xBF\xBD", 3);
                    k = 3;
                }
                a->text.len += (size_t)k;
            }
        }
    }
    t[a->text.len] = '\0';
    if (a->n_toks)
        a->toks[a->n_toks - 1].len = (uint32_t)(a->text.len - a->toks[a->n_toks - 1].off);
}

void lleval_norm_set(struct lleval_norm *a, const char *s, size_t len, bool use_nfd)
{
    norm_fill(a, s, len, use_nfd);
    sort_tokens(a);
}

void lleval_norm_set_unsorted(struct lleval_norm *a, const char *s, size_t len, bool use_nfd)
{
    norm_fill(a, s, len, use_nfd);
}

void lleval_normalize_answer(const char *s, size_t len, bool use_nfd, struct lleval_sb *out)
{
    struct lleval_norm a = LLEVAL_NORM_INIT;
    lleval_norm_set(&a, s, len, use_nfd);
    lleval_sb_add(out, a.text.buf, a.text.len);
    lleval_norm_release(&a);
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
            sort_tokens(pred); /* a long answer: F1 needs the byte order */
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

/* ---- answer extraction ---- */

static bool ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* ASCII case-insensitive comparison of n bytes (no locale, no strings.h). */
static bool caseeq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
            return false;
    return true;
}

/* Finds needle in s[0..len) starting at from; returns the offset or len. */
static size_t find(const char *s, size_t len, size_t from, const char *needle)
{
    size_t n = strlen(needle);
    while (from + n <= len) {
        const char *p = memchr(s + from, needle[0], len - n + 1 - from);
        if (!p)
            break;
        from = (size_t)(p - s);
        if (!memcmp(p, needle, n))
            return from;
        from++;
    }
    return len;
}

/* True when s[0..len) holds "think>" (the end of "<think>" or "</think>"). */
static bool has_think_tag(const char *s, size_t len)
{
    const char *p = s, *end = s + len, *gt;
    while ((gt = memchr(p, '>', (size_t)(end - p))) != NULL) {
        if (gt - s >= 5 && !memcmp(gt - 5, "think", 5))
            return true;
        p = gt + 1;
    }
    return false;
}

static void add_trimmed(struct lleval_sb *out, const char *s, size_t len)
{
    while (len && ws(*s)) {
        s++;
        len--;
    }
    while (len && ws(s[len - 1]))
        len--;
    lleval_sb_add(out, s, len);
}

static void strip_think(const char *s, size_t len, struct lleval_sb *out)
{
    size_t open = find(s, len, 0, "<think>"), close = find(s, len, 0, "</think>");
    size_t i = 0;
    if (close < open) /* the block was opened in the prompt: drop up to the first </think> */
        i = close + strlen("</think>");
    while (i < len) {
        size_t o = find(s, len, i, "<think>");
        lleval_sb_add(out, s + i, o - i);
        if (o == len)
            break;
        size_t c = find(s, len, o, "</think>");
        if (c == len)
            break; /* unterminated: the rest is thinking */
        i = c + strlen("</think>");
    }
}

void lleval_extract_answer(const char *text, size_t len, enum lleval_extract mode, bool do_strip,
                           struct lleval_sb *out)
{
    struct lleval_sb tmp = LLEVAL_SB_INIT;
    const char *s = text ? text : "";
    if (!text)
        len = 0;
    if (do_strip && has_think_tag(s, len)) {
        strip_think(s, len, &tmp);
        s = tmp.buf;
        len = tmp.len;
    }
    if (mode == LLEVAL_EXTRACT_FIRST_LINE) {
        size_t i = 0;
        while (i < len) {
            size_t e = i;
            while (e < len && s[e] != '\n' && s[e] != '\r')
                e++;
            size_t k = i;
            while (k < e && ws(s[k]))
                k++;
            if (k < e) {
                add_trimmed(out, s + i, e - i);
                break;
            }
            i = e + 1;
        }
    } else if (mode == LLEVAL_EXTRACT_AFTER_ANSWER) {
        size_t at = 0;
        for (size_t i = 0; i + 7 <= len; i++)
            if (caseeq(s + i, "answer:", 7))
                at = i + 7;
        add_trimmed(out, s + at, len - at);
    } else {
        add_trimmed(out, s, len);
    }
    lleval_sb_release(&tmp);
}

/* ---- multiple choice ---- */

static int letter_at(char c, size_t n_choices, bool allow_lower)
{
    size_t n = n_choices ? n_choices : LLEVAL_MC_MAX_CHOICES;
    if (c >= 'A' && c <= 'Z' && (size_t)(c - 'A') < n)
        return c - 'A';
    if (allow_lower && c >= 'a' && c <= 'z' && (size_t)(c - 'a') < n)
        return c - 'a';
    return -1;
}

static bool alnum(char c)
{
    return isalnum((unsigned char)c) || (unsigned char)c >= 0x80;
}

/* True when s[0..len) holds only punctuation and whitespace. */
static bool only_punct(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (alnum(s[i]))
            return false;
    return true;
}

/* A lone letter, possibly wrapped: "B", "(B)", "B.", "B)", "[b]". */
static int lone_letter(const char *s, size_t len, size_t n_choices)
{
    size_t i = 0;
    bool open = false;
    int idx;
    if (i < len && (s[i] == '(' || s[i] == '[')) {
        open = true;
        i++;
    }
    if (i >= len)
        return -1;
    idx = letter_at(s[i++], n_choices, true);
    if (idx < 0)
        return -1;
    if (open) {
        if (i >= len || (s[i] != ')' && s[i] != ']'))
            return -1;
        i++;
    } else if (i < len && (s[i] == ')' || s[i] == ']' || s[i] == ':')) {
        i++;
    }
    while (i < len && (s[i] == '.' || s[i] == '!'))
        i++;
    return i == len ? idx : -1;
}

/* Reads a letter token at s[i..): wrappers "(", "[", "*", then the letter,
 * then closers, then a non-alphanumeric character or the end. */
static int letter_token(const char *s, size_t len, size_t i, size_t n_choices)
{
    bool paren = false;
    int idx;
    while (i < len && (s[i] == '(' || s[i] == '[' || s[i] == '*' || s[i] == '"' || s[i] == '\'')) {
        if (s[i] == '(' || s[i] == '[')
            paren = true;
        i++;
    }
    if (i >= len)
        return -1;
    idx = letter_at(s[i], n_choices, true);
    if (idx < 0)
        return -1;
    if (i + 1 < len && alnum(s[i + 1]))
        return -1;
    if (s[i] >= 'a' && s[i] <= 'z' && !paren && !only_punct(s + i + 1, len - i - 1))
        return -1; /* "the answer is a city" */
    return idx;
}

static int choice_text(const char *s, size_t len, const char *const *choices, size_t n)
{
    struct lleval_norm a = LLEVAL_NORM_INIT, c = LLEVAL_NORM_INIT;
    int found = -1;
    if (!choices)
        return -1;
    lleval_norm_set(&a, s, len, false);
    if (a.text.len) {
        for (size_t i = 0; i < n; i++) {
            if (!choices[i])
                continue;
            lleval_norm_set(&c, choices[i], strlen(choices[i]), false);
            if (lleval_norm_em(&a, &c)) {
                if (found >= 0) {
                    found = -1; /* two choices read the same: ambiguous */
                    break;
                }
                found = (int)i;
            }
        }
    }
    lleval_norm_release(&a);
    lleval_norm_release(&c);
    return found;
}

static bool word_at(const char *s, size_t len, size_t i, const char *w, size_t *end)
{
    size_t n = strlen(w);
    if (i + n > len || !caseeq(s + i, w, n))
        return false;
    if (i + n < len && isalpha((unsigned char)s[i + n]))
        return false;
    *end = i + n;
    return true;
}

static size_t skip_blank(const char *s, size_t len, size_t i)
{
    while (i < len && (ws(s[i]) || s[i] == ':' || s[i] == '*' || s[i] == '='))
        i++;
    return i;
}

/* The last "answer|option|choice [is|would be|...] X" phrase. */
static int answer_phrase(const char *s, size_t len, const char *const *choices, size_t n)
{
    static const char *const keys[] = {"answer", "option", "choice"};
    static const char *const verbs[] = {"is",      "would be", "will be", "should be",
                                        "must be", "was",      "of"};
    static const char *const nouns[] = {"option", "choice", "letter"};
    int best = -1;
    for (size_t i = 0; i < len; i++) {
        size_t e = 0;
        bool hit = false;
        if (i > 0 && isalpha((unsigned char)s[i - 1]))
            continue;
        for (size_t k = 0; k < LLEVAL_ARRAY_SIZE(keys) && !hit; k++)
            hit = word_at(s, len, i, keys[k], &e);
        if (!hit)
            continue;
        size_t p = skip_blank(s, len, e);
        for (size_t k = 0; k < LLEVAL_ARRAY_SIZE(verbs); k++) {
            size_t ve;
            if (word_at(s, len, p, verbs[k], &ve)) {
                p = skip_blank(s, len, ve);
                break;
            }
        }
        for (size_t k = 0; k < LLEVAL_ARRAY_SIZE(nouns); k++) {
            size_t ne;
            if (word_at(s, len, p, nouns[k], &ne)) {
                p = skip_blank(s, len, ne);
                break;
            }
        }
        int idx = letter_token(s, len, p, n);
        if (idx < 0) {
            size_t q = len;
            while (q > p && (s[q - 1] == '.' || ws(s[q - 1])))
                q--;
            idx = choice_text(s + p, q - p, choices, n);
        }
        if (idx >= 0)
            best = idx;
    }
    return best;
}

/* "B) Paris", "B. Paris", "(B) Paris", "B: Paris". */
static int leading_letter(const char *s, size_t len, size_t n)
{
    size_t i = 0;
    bool open = false;
    if (i < len && s[i] == '(') {
        open = true;
        i++;
    }
    if (i + 1 >= len)
        return -1;
    char c = s[i++];
    if (open ? s[i] != ')' : (s[i] != ')' && s[i] != '.' && s[i] != ':'))
        return -1;
    bool lower_ok = s[i] == ')';
    i++;
    if (i < len && !ws(s[i]))
        return -1;
    return letter_at(c, n, lower_ok);
}

/* Exactly one distinct wrapped letter: "(C)", "[C]", "**C**". */
static int wrapped_letter(const char *s, size_t len, size_t n)
{
    int found = -1;
    for (size_t i = 0; i + 2 < len; i++) {
        int idx = -1;
        if ((s[i] == '(' && s[i + 2] == ')') || (s[i] == '[' && s[i + 2] == ']'))
            idx = letter_at(s[i + 1], n, false);
        else if (i + 4 < len && s[i] == '*' && s[i + 1] == '*' && s[i + 3] == '*' &&
                 s[i + 4] == '*')
            idx = letter_at(s[i + 2], n, false);
        if (idx < 0)
            continue;
        if (found >= 0 && found != idx)
            return -1;
        found = idx;
    }
    return found;
}

int lleval_mc_extract(const char *text, size_t len, const char *const *choices, size_t n_choices)
{
    const char *s = text ? text : "";
    int idx;
    if (!text)
        len = 0;
    if (n_choices > LLEVAL_MC_MAX_CHOICES)
        n_choices = LLEVAL_MC_MAX_CHOICES;
    /* trim whitespace and symmetric markdown/quote wrappers */
    for (;;) {
        while (len && ws(*s)) {
            s++;
            len--;
        }
        while (len && ws(s[len - 1]))
            len--;
        if (len >= 2 && strchr("*_`\"'", s[0]) && s[len - 1] == s[0]) {
            s++;
            len -= 2;
            continue;
        }
        break;
    }
    if (!len)
        return -1;
    if ((idx = lone_letter(s, len, n_choices)) >= 0)
        return idx;
    if ((idx = answer_phrase(s, len, choices, n_choices)) >= 0)
        return idx;
    if ((idx = leading_letter(s, len, n_choices)) >= 0)
        return idx;
    if ((idx = choice_text(s, len, choices, n_choices)) >= 0)
        return idx;
    return wrapped_letter(s, len, n_choices);
}
