/* RFC 4180 CSV reader (streaming in 64 KiB chunks, decoding in place, line-aware) and writer
 * (see csv.h for the rules). */
#include <stdlib.h>
#include <string.h>
#include "lleval/csv.h"

/* Bytes read from the file at a time. */
#define CSV_CHUNK (64u * 1024u)

/* Zero bytes after the sentinel, so that a 16-byte load at any unread byte
 * stays inside the buffer and reads defined bytes. */
#define CSV_PAD 16

/*
 * run_len(): the bytes that end a run of ordinary bytes are, in an unquoted
 * field, comma, CR, LF, quote and NUL; in a quoted field, quote, CR, LF and
 * NUL. NUL is also the sentinel after the buffered bytes. With SSE2 (every
 * x86-64) 16 bytes are tested at a time; elsewhere a table is.
 */
#if defined(__SSE2__)
#include <emmintrin.h>

/* The length of the run of ordinary bytes at p (unquoted or quoted field),
 * 16 bytes at a time; the sentinel ends every run. */
static inline size_t run_len(const char *p, bool quoted)
{
    const __m128i quote = _mm_set1_epi8('"'), cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
    const __m128i comma = _mm_set1_epi8(quoted ? '"' : ','), nul = _mm_setzero_si128();
    size_t n = 0;
    for (;;) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + n));
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, comma)),
                                 _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, cr),
                                                           _mm_cmpeq_epi8(v, lf)),
                                              _mm_cmpeq_epi8(v, nul)));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits)
            return n + (size_t)__builtin_ctz(bits);
        n += 16;
    }
}
#else
static const unsigned char stop_unquoted[256] = {[0] = 1, [','] = 1, ['\r'] = 1, ['\n'] = 1,
                                                 ['"'] = 1};
static const unsigned char stop_quoted[256] = {[0] = 1, ['\r'] = 1, ['\n'] = 1, ['"'] = 1};

/* The length of the run of ordinary bytes at p (unquoted or quoted field);
 * the sentinel ends every run. */
static inline size_t run_len(const char *p, bool quoted)
{
    const unsigned char *stop = quoted ? stop_quoted : stop_unquoted;
    const unsigned char *q = (const unsigned char *)p;
    while (!stop[*q])
        q++;
    return (size_t)(q - (const unsigned char *)p);
}
#endif

/*
 * Reads the next chunk once the buffer is used up. The `keep` decoded bytes
 * of the record at buf[rec] move to the front first (the record being read
 * stays in one piece). Returns 0, or LLEVAL_EIO; afterwards buf_pos ==
 * buf_len means the end of the file.
 */
static int refill(struct lleval_csv_reader *r, size_t rec, size_t keep, struct lleval_err *err)
{
    size_t n = 0;
    r->buf_off += (long long)r->buf_len - (long long)keep;
    if (keep && rec)
        memmove(r->buf, r->buf + rec, keep);
    if (keep + CSV_CHUNK + 1 + CSV_PAD > r->buf_cap) {
        size_t cap = 2 * r->buf_cap;
        if (cap < keep + CSV_CHUNK + 1 + CSV_PAD)
            cap = keep + CSV_CHUNK + 1 + CSV_PAD;
        r->buf = lleval_xrealloc(r->buf, cap);
        r->buf_cap = cap;
    }
    r->buf_len = r->buf_pos = keep;
    r->buf[keep] = '\0';
    if (!r->eof) {
        n = fread(r->buf + keep, 1, CSV_CHUNK, r->f);
        if (n < CSV_CHUNK) {
            if (ferror(r->f))
                return lleval_err_errno(err, "cannot read", r->path);
            r->eof = true;
        }
    }
    r->buf_len = keep + n;
    memset(r->buf + r->buf_len, 0, 1 + CSV_PAD);
    return 0;
}

int lleval_csv_open(struct lleval_csv_reader *r, const char *path, struct lleval_err *err)
{
    int rc;

    memset(r, 0, sizeof(*r));
    r->path = path;
    r->next_line = 1;
    r->f = fopen(path, "rb");
    if (!r->f)
        return lleval_err_errno(err, "cannot open", path);
    r->buf_cap = 2 * CSV_CHUNK + 1 + CSV_PAD;
    r->buf = lleval_xmalloc(r->buf_cap);
    rc = refill(r, 0, 0, err);
    if (rc) {
        fclose(r->f);
        free(r->buf);
        r->f = NULL;
        r->buf = NULL;
        return rc;
    }
    /* Drop a UTF-8 byte order mark (spreadsheets write one). */
    if (r->buf_len >= 3 && !memcmp(r->buf, "\xEF\xBB\xBF", 3))
        r->buf_pos = 3;
    r->pos = (long long)r->buf_pos;
    return 0;
}

/*
 * Where lleval_csv_next() is, in locals the compiler can keep in registers
 * (the bytes it stores into the buffer could alias the reader's fields): the
 * buffer, the next unread byte, the end of the buffered bytes, the start of
 * the record, and the end of its decoded part.
 */
struct cursor {
    char *b;
    size_t pos, len, rec, w;
};

/* The buffer is used up in the middle of a record: reads on, keeping the
 * record's decoded part (which moves to the front). */
static inline int more(struct lleval_csv_reader *r, struct cursor *c, struct lleval_err *err)
{
    size_t keep = c->w - c->rec;
    int rc;
    r->buf_pos = c->pos;
    rc = refill(r, c->rec, keep, err);
    c->b = r->buf;
    c->pos = r->buf_pos;
    c->len = r->buf_len;
    c->rec = 0;
    c->w = keep;
    return rc;
}

/* The unread byte at the cursor, or EOF when the buffer is used up. */
static inline int cur(const struct cursor *c)
{
    return c->pos < c->len ? (unsigned char)c->b[c->pos] : EOF;
}

static int nul_error(struct lleval_csv_reader *r, long line, long long offset,
                     struct lleval_err *err)
{
    return lleval_err_set(err, LLEVAL_EINVAL,
                          "%s:%ld: NUL byte in CSV data (byte offset %lld); the file is binary "
                          "or in UTF-16: re-save it as UTF-8 text",
                          r->path, line, offset);
}

/*
 * One record, decoded in place: field bytes move down over the quotes and
 * separators before them (not at all while no quoted field came first) and a
 * NUL replaces each field's separator, so the record's fields end up packed
 * from buf[rec] on, as one string each. Runs of ordinary bytes are scanned
 * with a table; only the bytes that end a run are looked at one by one.
 * "Record size" is the size of the decoded fields with their NULs.
 */
int lleval_csv_next(struct lleval_csv_reader *r, struct lleval_err *err)
{
    struct cursor k;
    size_t *starts = r->starts, cap = r->cap_starts, nf = 0;
    long line;
    int c, rc;

    r->n_fields = 0;
    r->blank = false;
    if (!r->f)
        return 0;
    r->line = r->next_line;
    line = r->line;
    k.b = r->buf;
    k.pos = k.rec = k.w = r->buf_pos;
    k.len = r->buf_len;
    if (k.pos == k.len && (rc = more(r, &k, err)) != 0)
        return rc;
    r->offset = r->buf_off + (long long)k.pos;
    c = cur(&k);
    if (c == EOF)
        return 0;
    r->blank = c == '\n' || c == '\r';
    for (;;) {
        if (nf == cap) {
            r->cap_starts = cap = cap ? 2 * cap : 16;
            r->starts = starts = lleval_xrealloc(starts, cap * sizeof(*starts));
        }
        starts[nf++] = k.w - k.rec;
        if (c == '"') {
            long quote_line = line;
            k.pos++;
            for (;;) {
                size_t n = run_len(k.b + k.pos, true);
                if (n && k.w - k.rec + n > LLEVAL_CSV_MAX_RECORD)
                    goto too_big;
                if (k.w != k.pos)
                    memmove(k.b + k.w, k.b + k.pos, n);
                k.w += n;
                k.pos += n;
                if (k.pos == k.len) {
                    if ((rc = more(r, &k, err)) != 0)
                        return rc;
                    if (k.pos == k.len)
                        return lleval_err_set(err, LLEVAL_EINVAL,
                                              "%s:%ld: unterminated quoted field %zu (the quote "
                                              "opened on this line is never closed); close it "
                                              "with a double quote and double any quote inside it",
                                              r->path, quote_line, nf);
                    continue;
                }
                c = (unsigned char)k.b[k.pos++];
                if (c == '"') {
                    if (k.pos == k.len && (rc = more(r, &k, err)) != 0)
                        return rc;
                    c = cur(&k);
                    if (c != '"')
                        break; /* the closing quote; c is the byte after it */
                    k.pos++;
                } else if (c == '\0') {
                    return nul_error(r, line, r->buf_off + (long long)k.pos - 1, err);
                } else if (c == '\n') {
                    line++;
                }
                if (k.w - k.rec + 1 > LLEVAL_CSV_MAX_RECORD)
                    goto too_big;
                k.b[k.w++] = (char)c;
                if (c == '\r') { /* a line of its own unless LF follows */
                    if (k.pos == k.len && (rc = more(r, &k, err)) != 0)
                        return rc;
                    if (cur(&k) != '\n')
                        line++;
                }
            }
            if (c != ',' && c != '\r' && c != '\n' && c != EOF)
                return lleval_err_set(
                    err, LLEVAL_EINVAL,
                    "%s:%ld: unexpected text after the closing quote of field "
                    "%zu; quote the whole field and write a quote inside it as \"\"",
                    r->path, line, nf);
        } else {
            for (;;) {
                size_t n;
                if (k.w == k.pos) {
                    /* in place: nothing to move, so a run of unquoted fields
                     * is read in one loop, each comma becoming its field's
                     * NUL; a comma before a quote or a NUL (the end of the
                     * buffer, maybe) is left to the general code */
                    for (;;) {
                        size_t end;
                        n = run_len(k.b + k.pos, false);
                        end = k.pos + n;
                        if (k.b[end] != ',' || k.b[end + 1] == '"' || k.b[end + 1] == '\0')
                            break;
                        if (n && end - k.rec > LLEVAL_CSV_MAX_RECORD)
                            goto too_big;
                        k.b[end] = '\0';
                        k.pos = k.w = end + 1;
                        if (nf == cap) {
                            r->cap_starts = cap = 2 * cap;
                            r->starts = starts = lleval_xrealloc(starts, cap * sizeof(*starts));
                        }
                        starts[nf++] = k.pos - k.rec;
                    }
                } else {
                    n = run_len(k.b + k.pos, false);
                    memmove(k.b + k.w, k.b + k.pos, n);
                }
                if (n && k.w - k.rec + n > LLEVAL_CSV_MAX_RECORD)
                    goto too_big;
                k.w += n;
                k.pos += n;
                if (k.pos < k.len)
                    break;
                if ((rc = more(r, &k, err)) != 0)
                    return rc;
                if (k.pos == k.len)
                    break;
            }
            c = cur(&k);
            if (c == '"')
                return lleval_err_set(err, LLEVAL_EINVAL,
                                      "%s:%ld: stray double quote in unquoted field %zu; "
                                      "enclose the field in double quotes and write the quote "
                                      "as \"\"",
                                      r->path, line, nf);
            if (c == '\0')
                return nul_error(r, line, r->buf_off + (long long)k.pos, err);
        }
        k.b[k.w++] = '\0'; /* over the separator (already read into c) or the sentinel */
        if (c == ',') {
            k.pos++;
            if (k.pos == k.len && (rc = more(r, &k, err)) != 0)
                return rc;
            c = cur(&k);
            continue;
        }
        if (c == '\r') {
            k.pos++;
            if (k.pos == k.len && (rc = more(r, &k, err)) != 0)
                return rc;
            if (cur(&k) == '\n')
                k.pos++;
            line++;
        } else if (c == '\n') {
            k.pos++;
            line++;
        }
        break;
    }
    r->buf_pos = k.pos;
    r->next_line = line;
    r->pos = r->buf_off + (long long)k.pos;
    r->n_fields = nf;
    if (nf > r->cap_fields) {
        r->cap_fields = nf;
        r->fields = lleval_xrealloc(r->fields, r->cap_fields * sizeof(*r->fields));
    }
    for (size_t i = 0; i < nf; i++)
        r->fields[i] = k.b + k.rec + starts[i];
    return 1;

too_big:
    return lleval_err_set(err, LLEVAL_EINVAL,
                          "%s:%ld: CSV record larger than %u bytes (an unclosed quote?); check "
                          "the quoting of this record",
                          r->path, r->line, LLEVAL_CSV_MAX_RECORD);
}

bool lleval_csv_blank(const struct lleval_csv_reader *r)
{
    return r->blank;
}

void lleval_csv_close(struct lleval_csv_reader *r)
{
    if (r->f)
        fclose(r->f);
    free(r->buf);
    free(r->fields);
    free(r->starts);
    memset(r, 0, sizeof(*r));
}

void lleval_csv_add_field(struct lleval_sb *sb, const char *s, bool first)
{
    if (!first)
        lleval_sb_addch(sb, ',');
    if (!strpbrk(s, ",\"\r\n")) {
        lleval_sb_adds(sb, s);
        return;
    }
    lleval_sb_addch(sb, '"');
    for (; *s; s++) {
        if (*s == '"')
            lleval_sb_addch(sb, '"');
        lleval_sb_addch(sb, *s);
    }
    lleval_sb_addch(sb, '"');
}

void lleval_csv_end_record(struct lleval_sb *sb)
{
    lleval_sb_add(sb, "\r\n", 2);
}
