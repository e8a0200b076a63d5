/*
 * Answer extraction from raw model output (strip <think> blocks, first line,
 * text after the last "Answer:") and multiple-choice letter extraction. See
 * include/lleval/score/extract.h.
 */
#include <ctype.h>
#include <string.h>
#include "lleval/score/extract.h"
#include "lleval/score/metrics.h"

/* ---- names ---- */

static const char *const extract_names[] = {"none", "first_line", "after_answer"};

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
