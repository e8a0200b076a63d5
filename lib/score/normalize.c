/*
 * SQuAD v1.1 answer normalization with Python's Unicode semantics, as the
 * official SQuAD and NQ-open scripts do it: str.lower (full mapping, final
 * sigma), ASCII punctuation removed, re's \b around articles, str.split
 * whitespace, and the NQ-open variant's NFD first. Character classes, the
 * UTF-8 codec the normalizer needs, and tokenization into struct lleval_norm.
 * See include/lleval/score/normalize.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "lleval/score/normalize.h"
#include "lleval/util/text.h"
#include "normalize_int.h"
#include "score_int.h"

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
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0, i = 0;
    grow_cp(a, k, len + 1);
    while (i < len) {
        if (p[i] < 0x80) {
            a->cp[k][n++] = p[i++];
            continue;
        }
        i += lleval_utf8_decode(s + i, len - i, &a->cp[k][n++]);
    }
    return n;
}

/* Canonical decomposition (NFD) of cp[0][0..n) into cp[0]; returns the new count. */
static size_t nfd(struct lleval_norm *a, size_t n)
{
    struct lleval_sb tmp = LLEVAL_SB_INIT;
    utf8proc_ssize_t got;
    for (size_t i = 0; i < n; i++)
        lleval_utf8_encode(&tmp, a->cp[0][i]);
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

static int tok_cmp(const struct lleval_norm *a, uint32_t x, uint32_t y)
{
    const struct lleval_token *tx = &a->toks[x], *ty = &a->toks[y];
    return bytes_cmp(a->text.buf + tx->off, tx->len, a->text.buf + ty->off, ty->len);
}

/* Sorts a->sorted by token bytes: insertion sort for short answers, merge sort otherwise. */
void lleval_norm_sort_tokens(struct lleval_norm *a)
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
                a->text.len += lleval_utf8_put(t + a->text.len, out[i]);
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
    lleval_norm_sort_tokens(a);
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
