/* RFC 4180 CSV reader (streaming in 64 KiB chunks, decoding in place, line-aware) and writer
 * (see csv.h for the rules). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/util/csv.h"
#include "lleval/util/redact.h"
#include "lleval/util/text.h"

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
        __m128i m =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, comma)),
                         _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)),
                                      _mm_cmpeq_epi8(v, nul)));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits)
            return n + (size_t)__builtin_ctz(bits);
        n += 16;
    }
}

/* The 16 bytes at p as bit masks: *commas, and *stops (every byte that ends
 * a run in an unquoted field, commas included). */
static inline void classify(const char *p, unsigned *commas, unsigned *stops)
{
    const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    const __m128i c = _mm_cmpeq_epi8(v, _mm_set1_epi8(','));
    const __m128i o = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_setzero_si128())),
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')),
                     _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))));
    *commas = (unsigned)_mm_movemask_epi8(c);
    *stops = (unsigned)_mm_movemask_epi8(_mm_or_si128(c, o));
}
#else
static const unsigned char stop_unquoted[256] = {
    [0] = 1, [','] = 1, ['\r'] = 1, ['\n'] = 1, ['"'] = 1};
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
 * Reads the next chunk once the buffer is used up, after the first `keep`
 * bytes (the record being read, already moved to the front). Returns 0, or
 * LLEVAL_EIO; afterwards buf_pos == buf_len means the end of the file.
 */
static int refill(struct lleval_csv_reader *r, size_t keep, struct lleval_err *err)
{
    size_t n = 0;
    r->buf_off += (long long)r->buf_len - (long long)keep;
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
    rc = lleval_fopen_read(path, &r->f, err); /* refuses links inside a run directory */
    if (rc)
        return rc;
    r->buf_cap = 2 * CSV_CHUNK + 1 + CSV_PAD;
    r->buf = lleval_xmalloc(r->buf_cap);
    rc = refill(r, 0, err);
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
 * buffer, the next unread byte, the end of the buffered bytes, the record's
 * first byte, its fields' starts (relative to rec; r->starts) and the decoded
 * size of its finished fields, NULs included (what LLEVAL_CSV_MAX_RECORD
 * bounds, with the field being read).
 */
struct cursor {
    char *b;
    size_t pos, len, rec;
    size_t *starts;
    size_t nf, cap;
    size_t done;
};

/* Starts field k->nf at buffer index at. */
static inline void add_field(struct lleval_csv_reader *r, struct cursor *k, size_t at)
{
    if (k->nf == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 16;
        k->starts = lleval_xrealloc(k->starts, k->cap * sizeof(*k->starts));
        r->starts = k->starts;
        r->cap_starts = k->cap;
    }
    k->starts[k->nf++] = at - k->rec;
}

/* Buffer index of the last field's first byte. */
static inline size_t last_start(const struct cursor *k)
{
    return k->rec + k->starts[k->nf - 1];
}

/*
 * Moves the decoded fields of the record at b[rec] to the front of b, packed
 * (each string right after the previous one's NUL), and sets starts[] to
 * their new places. open_end, unless SIZE_MAX, ends the decoded part of the
 * last field, which is still being read; otherwise every field has its NUL.
 * Returns the size of the packed bytes.
 */
static size_t pack_record(char *b, size_t rec, size_t *starts, size_t nf, size_t open_end)
{
    size_t keep = 0;
    for (size_t i = 0; i < nf; i++) {
        size_t src = rec + starts[i];
        size_t n = open_end != SIZE_MAX && i + 1 == nf ? open_end - src : strlen(b + src) + 1;
        memmove(b + keep, b + src, n);
        starts[i] = keep;
        keep += n;
    }
    return keep;
}

/*
 * The buffer is used up in the middle of a record: packs the record's
 * decoded fields at the front (pack_record(); *open_end, when not NULL, ends
 * the field being read and becomes the end of the packed bytes) and reads on
 * after them. Small enough to be inlined, so that the cursor stays in
 * registers.
 */
static inline int more(struct lleval_csv_reader *r, struct cursor *k, size_t *open_end,
                       struct lleval_err *err)
{
    size_t keep = pack_record(k->b, k->rec, k->starts, k->nf, open_end ? *open_end : SIZE_MAX);
    int rc;
    if (open_end)
        *open_end = keep;
    r->buf_pos = k->pos;
    rc = refill(r, keep, err);
    k->b = r->buf;
    k->pos = r->buf_pos;
    k->len = r->buf_len;
    k->rec = 0;
    return rc;
}

/* The unread byte at the cursor, or EOF when the buffer is used up. */
static inline int cur(const struct cursor *k)
{
    return k->pos < k->len ? (unsigned char)k->b[k->pos] : EOF;
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
 * Reads unquoted fields in place from k->pos, the start of the last field:
 * while one ends in a comma that is followed by neither a quote nor a NUL
 * (the end of the buffer, maybe), the comma becomes the field's NUL and the
 * next field starts after it. Stops in a field at its first CR, LF, quote,
 * NUL or such a comma, and returns the number of bytes from k->pos to there
 * (k->pos is still at the field's start or where it resumed); returns
 * SIZE_MAX when the record grows larger than LLEVAL_CSV_MAX_RECORD.
 */
static inline size_t unquoted_fields(struct lleval_csv_reader *r, struct cursor *k)
{
    /* In place, the decoded size grows with the buffer index, so the record
     * is too large once a field's bytes reach past `limit` (fixed here: the
     * field start and k->done move together). */
    size_t fs = last_start(k); /* the field's first byte */
    size_t first = fs;
    size_t limit = k->done <= LLEVAL_CSV_MAX_RECORD ? fs + (LLEVAL_CSV_MAX_RECORD - k->done) : 0;
#if defined(__SSE2__)
    /* 16 bytes classified at a time; the fields of a block are found from
     * its bit masks, without going back to memory */
    size_t base = k->pos, from = k->pos, end;
    unsigned commas, stops;
    classify(k->b + base, &commas, &stops);
    for (;;) {
        unsigned m = stops & (0xFFFFu << (from - base));
        if (!m) {
            base += 16;
            from = base;
            classify(k->b + base, &commas, &stops);
            continue;
        }
        end = base + (size_t)__builtin_ctz(m);
        if (!((commas >> (end - base)) & 1) || k->b[end + 1] == '"' || k->b[end + 1] == '\0')
            break;
        if (end > limit && end > k->pos)
            return SIZE_MAX;
        k->b[end] = '\0';
        k->pos = from = fs = end + 1;
        add_field(r, k, fs);
    }
#else
    size_t end;
    for (;;) {
        end = k->pos + run_len(k->b + k->pos, false);
        if (k->b[end] != ',' || k->b[end + 1] == '"' || k->b[end + 1] == '\0')
            break;
        if (end > limit && end > k->pos)
            return SIZE_MAX;
        k->b[end] = '\0';
        k->pos = fs = end + 1;
        add_field(r, k, fs);
    }
#endif
    k->done += fs - first; /* the fields finished here, NULs included */
    return end - k->pos;
}

/*
 * One record, decoded in place. An unquoted field stays where it is, its
 * separator replaced by a NUL; a quoted field's bytes move down over its
 * opening quote and the first quote of each "" pair, and a NUL follows them.
 * When the buffer runs out in the middle of a record, the fields decoded so
 * far move to the front, packed, before the next chunk is read, so the buffer
 * never holds more than the decoded record and one chunk. Runs of ordinary
 * bytes are found 16 bytes at a time; only the bytes that end them are
 * looked at one by one. The record size that LLEVAL_CSV_MAX_RECORD bounds is
 * that of the decoded fields with their NULs.
 */
int lleval_csv_next(struct lleval_csv_reader *r, struct lleval_err *err)
{
    struct cursor k;
    long line;
    int c, rc;

    r->n_fields = 0;
    r->blank = false;
    if (!r->f)
        return 0;
    r->line = r->next_line;
    line = r->line;
    k.b = r->buf;
    k.pos = k.rec = r->buf_pos;
    k.len = r->buf_len;
    k.starts = r->starts;
    k.cap = r->cap_starts;
    k.nf = k.done = 0;
    if (k.pos == k.len && (rc = more(r, &k, NULL, err)) != 0)
        return rc;
    r->offset = r->buf_off + (long long)k.pos;
    c = cur(&k);
    if (c == EOF)
        return 0;
    r->blank = c == '\n' || c == '\r';
    for (;;) {
        size_t end; /* where the field's NUL goes */
        if (c == '"') {
            long quote_line = line;
            size_t w = ++k.pos; /* the end of the decoded bytes */
            add_field(r, &k, w);
            for (;;) {
                size_t n = run_len(k.b + k.pos, true);
                if (n && k.done + (w - last_start(&k)) + n > LLEVAL_CSV_MAX_RECORD)
                    goto too_big;
                if (w != k.pos)
                    memmove(k.b + w, k.b + k.pos, n);
                w += n;
                k.pos += n;
                if (k.pos == k.len) {
                    if ((rc = more(r, &k, &w, err)) != 0)
                        return rc;
                    if (k.pos == k.len)
                        return lleval_err_set(err, LLEVAL_EINVAL,
                                              "%s:%ld: unterminated quoted field %zu (the quote "
                                              "opened on this line is never closed); close it "
                                              "with a double quote and double any quote inside it",
                                              r->path, quote_line, k.nf);
                    continue;
                }
                c = (unsigned char)k.b[k.pos++];
                if (c == '"') {
                    if (k.pos == k.len && (rc = more(r, &k, &w, err)) != 0)
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
                if (k.done + (w - last_start(&k)) + 1 > LLEVAL_CSV_MAX_RECORD)
                    goto too_big;
                k.b[w++] = (char)c;
                if (c == '\r') { /* a line of its own unless LF follows */
                    if (k.pos == k.len && (rc = more(r, &k, &w, err)) != 0)
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
                    r->path, line, k.nf);
            end = w;
        } else {
            add_field(r, &k, k.pos);
            for (;;) {
                size_t n = unquoted_fields(r, &k);
                if (n == SIZE_MAX ||
                    (n && k.done + (k.pos + n - last_start(&k)) > LLEVAL_CSV_MAX_RECORD))
                    goto too_big;
                k.pos += n;
                if (k.pos < k.len)
                    break;
                end = k.pos;
                if ((rc = more(r, &k, &end, err)) != 0)
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
                                      r->path, line, k.nf);
            if (c == '\0')
                return nul_error(r, line, r->buf_off + (long long)k.pos, err);
            end = k.pos;
        }
        /* the NUL goes over the separator (already read into c), the closing
         * quote or the sentinel */
        k.b[end] = '\0';
        k.done += end - last_start(&k) + 1;
        if (c == ',') {
            k.pos++;
            if (k.pos == k.len && (rc = more(r, &k, NULL, err)) != 0)
                return rc;
            c = cur(&k);
            continue;
        }
        if (c == '\r') {
            k.pos++;
            if (k.pos == k.len && (rc = more(r, &k, NULL, err)) != 0)
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
    r->n_fields = k.nf;
    if (k.nf > r->cap_fields) {
        r->cap_fields = k.nf;
        r->fields = lleval_xrealloc(r->fields, r->cap_fields * sizeof(*r->fields));
    }
    for (size_t i = 0; i < k.nf; i++)
        r->fields[i] = k.b + k.rec + k.starts[i];
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

/* Appends s (not NULL) as it stands, after a comma unless first, when it
 * needs neither redaction (no secret registered, no '@' of a URL's userinfo)
 * nor quoting (no comma, quote, CR or LF, no byte order mark at its start),
 * as most fields do: one pass over s where redaction and quoting take four;
 * false, nothing appended, otherwise. */
static bool add_plain(struct lleval_sb *sb, const char *s, bool first)
{
    size_t n = strcspn(s, ",\"\r\n@");
    if (s[n] || !lleval_redact_none() || (n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)))
        return false;
    if (!first)
        lleval_sb_addch(sb, ',');
    lleval_sb_add(sb, s, n);
    return true;
}

void lleval_csv_add_field(struct lleval_sb *sb, const char *s, bool first)
{
    char *redacted;
    if (s && add_plain(sb, s, first))
        return;
    redacted = lleval_redact_dup(s);
    if (!first)
        lleval_sb_addch(sb, ',');
    lleval_csv_quote(sb, redacted ? redacted : s);
    free(redacted);
}

bool lleval_csv_needs_guard(const char *s)
{
    if (!s)
        return false;
    switch (*s) { /* a switch: called for every text cell written */
    case '=':
    case '+':
    case '-':
    case '@':
    case '\t':
    case '\r':
    case '\'':
        return true;
    default:
        return false;
    }
}

static void add_text_field(struct lleval_sb *sb, const char *s, bool first)
{
    if (!first)
        lleval_sb_addch(sb, ',');
    if (!lleval_csv_needs_guard(s)) {
        lleval_csv_quote(sb, s ? s : "");
        return;
    }
    {
        /* the quote goes inside the field's double quotes, when it has them */
        struct lleval_sb g = LLEVAL_SB_INIT;
        lleval_sb_addch(&g, '\'');
        lleval_sb_adds(&g, s);
        lleval_csv_quote(sb, g.buf);
        lleval_sb_release(&g);
    }
}

void lleval_csv_add_text_field(struct lleval_sb *sb, const char *s, bool first)
{
    char *redacted;
    if (!lleval_csv_needs_guard(s) && add_plain(sb, s ? s : "", first))
        return;
    redacted = lleval_redact_dup(s);
    add_text_field(sb, redacted ? redacted : s, first);
    free(redacted);
}

const char *lleval_csv_text_value(const char *field)
{
    return field[0] == '\'' ? field + 1 : field;
}

void lleval_csv_end_record(struct lleval_sb *sb)
{
    lleval_sb_add(sb, "\r\n", 2);
}
