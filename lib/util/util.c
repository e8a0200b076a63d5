/* Checked allocation, the string buffer, strict number parsing, hashes. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/util/util.h"

char lleval_sb_empty[1];

static void oom(size_t n)
{
    fprintf(stderr, "lleval: out of memory allocating %zu bytes\n", n);
    abort();
}

void *lleval_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *lleval_xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        oom(nmemb * size);
    return p;
}

void *lleval_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *lleval_xstrdup(const char *s)
{
    return s ? lleval_xstrndup(s, strlen(s)) : NULL;
}

char *lleval_xstrndup(const char *s, size_t n)
{
    char *p = lleval_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *lleval_xasprintf(const char *fmt, ...)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    va_list ap;
    va_start(ap, fmt);
    lleval_sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    return lleval_sb_detach(&sb, NULL);
}

void lleval_sb_init_max(struct lleval_sb *sb, size_t hint, size_t max)
{
    sb->len = 0;
    sb->alloc = 0;
    sb->buf = lleval_sb_empty;
    sb->max = max;
    if (hint)
        lleval_sb_grow(sb, hint);
}

void lleval_sb_init(struct lleval_sb *sb, size_t hint)
{
    lleval_sb_init_max(sb, hint, 0);
}

void lleval_sb_release(struct lleval_sb *sb)
{
    if (sb->alloc)
        free(sb->buf);
    lleval_sb_init_max(sb, 0, sb->max);
}

void lleval_sb_reset(struct lleval_sb *sb)
{
    lleval_sb_setlen(sb, 0);
}

void lleval_sb_grow(struct lleval_sb *sb, size_t extra)
{
    size_t need = sb->len + extra + 1;
    if (need <= sb->alloc)
        return;
    size_t alloc = sb->alloc ? sb->alloc : 64;
    while (alloc < need)
        alloc = alloc * 3 / 2 + 16;
    if (!sb->alloc) {
        sb->buf = lleval_xmalloc(alloc);
        sb->buf[0] = '\0';
    } else {
        sb->buf = lleval_xrealloc(sb->buf, alloc);
    }
    sb->alloc = alloc;
}

void lleval_sb_setlen(struct lleval_sb *sb, size_t len)
{
    if (!sb->alloc)
        return; /* only the empty buffer, len is 0 */
    sb->len = len;
    sb->buf[len] = '\0';
}

/* The external definitions of the inline appends (util.h). */
extern inline void lleval_sb_add(struct lleval_sb *sb, const void *data, size_t len);
extern inline void lleval_sb_adds(struct lleval_sb *sb, const char *s);
extern inline void lleval_sb_addch(struct lleval_sb *sb, char c);

void lleval_sb_add_grow(struct lleval_sb *sb, const void *data, size_t len)
{
    if (!len)
        return;
    lleval_sb_grow(sb, len);
    memcpy(sb->buf + sb->len, data, len);
    lleval_sb_setlen(sb, sb->len + len);
}

int lleval_sb_try_add(struct lleval_sb *sb, const void *data, size_t len)
{
    if (sb->max && (sb->len > sb->max || len > sb->max - sb->len))
        return LLEVAL_EINVAL;
    lleval_sb_add(sb, data, len);
    return 0;
}

void lleval_sb_vaddf(struct lleval_sb *sb, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n <= 0)
        return;
    lleval_sb_grow(sb, (size_t)n);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    lleval_sb_setlen(sb, sb->len + (size_t)n);
}

void lleval_sb_addf(struct lleval_sb *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lleval_sb_vaddf(sb, fmt, ap);
    va_end(ap);
}

char *lleval_sb_detach(struct lleval_sb *sb, size_t *len)
{
    char *p;
    if (len)
        *len = sb->len;
    p = sb->alloc ? sb->buf : lleval_xstrdup("");
    lleval_sb_init_max(sb, 0, sb->max);
    return p;
}

void lleval_sb_rtrim(struct lleval_sb *sb)
{
    size_t n = sb->len;
    while (n && isspace((unsigned char)sb->buf[n - 1]))
        n--;
    lleval_sb_setlen(sb, n);
}

int lleval_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;
    if (!s || !*s || isspace((unsigned char)*s))
        return LLEVAL_EINVAL;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return LLEVAL_EINVAL;
    *out = v;
    return 0;
}

int lleval_parse_double(const char *s, double *out)
{
    char *end;
    double v;
    if (!s || !*s || isspace((unsigned char)*s))
        return LLEVAL_EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return LLEVAL_EINVAL;
    *out = v;
    return 0;
}

int lleval_parse_size(const char *s, uint64_t *out)
{
    static const struct {
        const char *suffix;
        double mult;
    } units[] = {
        {"", 1},
        {"B", 1},
        {"K", 1024.0},
        {"KB", 1000.0},
        {"KIB", 1024.0},
        {"M", 1024.0 * 1024},
        {"MB", 1e6},
        {"MIB", 1024.0 * 1024},
        {"G", 1024.0 * 1024 * 1024},
        {"GB", 1e9},
        {"GIB", 1024.0 * 1024 * 1024},
        {"T", 1024.0 * 1024 * 1024 * 1024},
        {"TB", 1e12},
        {"TIB", 1024.0 * 1024 * 1024 * 1024},
    };
    char *end;
    char suffix[8];
    size_t i, n;
    double v;

    if (!s || !*s || isspace((unsigned char)*s))
        return LLEVAL_EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0)
        return LLEVAL_EINVAL;
    while (*end == ' ')
        end++;
    n = strlen(end);
    if (n >= sizeof(suffix))
        return LLEVAL_EINVAL;
    for (i = 0; i < n; i++)
        suffix[i] = (char)toupper((unsigned char)end[i]);
    suffix[n] = '\0';
    for (i = 0; i < LLEVAL_ARRAY_SIZE(units); i++) {
        if (!strcmp(units[i].suffix, suffix)) {
            double bytes = v * units[i].mult;
            if (bytes > 1.8e19)
                return LLEVAL_EINVAL;
            *out = (uint64_t)(bytes + 0.5);
            return 0;
        }
    }
    return LLEVAL_EINVAL;
}

bool lleval_str_starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool lleval_str_ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !memcmp(s + a - b, suffix, b);
}

size_t lleval_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = lleval_xcalloc(lb + 1, sizeof(*row));
    size_t i, j, result;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t cost =
                tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
            size_t best = prev + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    result = row[lb];
    free(row);
    return result;
}

const char *lleval_did_you_mean(const char *word, const char *const *candidates, size_t n)
{
    size_t limit = strlen(word) / 3;
    size_t best_d = (size_t)-1;
    const char *best = NULL;
    if (limit < 2)
        limit = 2;
    for (size_t i = 0; i < n; i++) {
        size_t d = lleval_edit_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best_d <= limit ? best : NULL;
}

const char *lleval_fmt_num(char *buf, size_t size, double v)
{
    snprintf(buf, size, "%.6g", v);
    if (!strcmp(buf, "-0"))
        snprintf(buf, size, "0");
    return buf;
}

/* The FNV-1a loop of the tree, from the given offset basis. */
static uint64_t fnv1a_from(uint64_t h, const char *s)
{
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001B3ULL; /* the 64-bit FNV prime */
    }
    return h;
}

const double lleval_pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

const uint64_t lleval_pow10_u64[20] = {1ULL,
                                       10ULL,
                                       100ULL,
                                       1000ULL,
                                       10000ULL,
                                       100000ULL,
                                       1000000ULL,
                                       10000000ULL,
                                       100000000ULL,
                                       1000000000ULL,
                                       10000000000ULL,
                                       100000000000ULL,
                                       1000000000000ULL,
                                       10000000000000ULL,
                                       100000000000000ULL,
                                       1000000000000000ULL,
                                       10000000000000000ULL,
                                       100000000000000000ULL,
                                       1000000000000000000ULL,
                                       10000000000000000000ULL};

uint64_t lleval_fnv1a64(const char *s)
{
    return fnv1a_from(0xCBF29CE484222325ULL, s); /* the 64-bit FNV offset basis */
}

uint64_t lleval_hash64(const char *s)
{
    /* this basis has lost the standard one's last digit (14695981039346656037);
     * kept, since ids and the dry engine's answers already depend on it */
    uint64_t h = fnv1a_from(1469598103934665603ULL, s);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}
