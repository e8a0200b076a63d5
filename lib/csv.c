/* RFC 4180 CSV reader (streaming in 64 KiB chunks, line-aware) and writer (see csv.h for the
 * rules). */
#include <stdlib.h>
#include <string.h>
#include "lleval/csv.h"

/* Bytes read from the file at a time. */
#define CSV_CHUNK (64u * 1024u)

/* Bytes that end a run of ordinary bytes: in an unquoted field (comma, CR,
 * LF, quote, NUL) and in a quoted field (quote, CR, LF, NUL). NUL is also the
 * sentinel after the buffered bytes. */
static const unsigned char stop_unquoted[256] = {[0] = 1, [','] = 1, ['\r'] = 1, ['\n'] = 1,
                                                 ['"'] = 1};
static const unsigned char stop_quoted[256] = {[0] = 1, ['\r'] = 1, ['\n'] = 1, ['"'] = 1};

/* Reads the next chunk. Returns 0 (r->buf_len 0 at the end) or LLEVAL_EIO. */
static int refill(struct lleval_csv_reader *r, struct lleval_err *err)
{
    size_t n = 0;
    r->buf_off += (long long)r->buf_len;
    r->buf_pos = r->buf_len = 0;
    if (!r->eof) {
        n = fread(r->buf, 1, CSV_CHUNK, r->f);
        if (n < CSV_CHUNK) {
            if (ferror(r->f)) {
                r->buf[0] = '\0';
                return lleval_err_errno(err, "cannot read", r->path);
            }
            r->eof = true;
        }
    }
    r->buf_len = n;
    r->buf[n] = '\0';
    return 0;
}

int lleval_csv_open(struct lleval_csv_reader *r, const char *path, struct lleval_err *err)
{
    int rc;

    memset(r, 0, sizeof(*r));
    lleval_sb_init(&r->field, 0);
    r->path = path;
    r->next_line = 1;
    r->f = fopen(path, "rb");
    if (!r->f)
        return lleval_err_errno(err, "cannot open", path);
    r->buf = lleval_xmalloc(CSV_CHUNK + 1);
    r->buf[0] = '\0';
    rc = refill(r, err);
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

/* The byte at the cursor, not consumed (refilling the buffer when it is used
 * up), or EOF at the end of the file; *rc is set on a read error. */
static int peek(struct lleval_csv_reader *r, int *rc, struct lleval_err *err)
{
    if (r->buf_pos == r->buf_len) {
        *rc = refill(r, err);
        if (*rc || !r->buf_len)
            return EOF;
    }
    return (unsigned char)r->buf[r->buf_pos];
}

/* Appends the ordinary bytes at the cursor up to the first stop byte (or the
 * end of the buffer) to the record; false when the record grows too large. */
static bool take_run(struct lleval_csv_reader *r, const unsigned char *stop)
{
    const char *s = r->buf + r->buf_pos, *q = s;
    size_t n;
    while (!stop[(unsigned char)*q])
        q++;
    n = (size_t)(q - s);
    if (!n)
        return true;
    if (r->field.len + n > LLEVAL_CSV_MAX_RECORD)
        return false;
    lleval_sb_add(&r->field, s, n);
    r->buf_pos += n;
    return true;
}

static int nul_error(struct lleval_csv_reader *r, long line, long long offset,
                     struct lleval_err *err)
{
    return lleval_err_set(err, LLEVAL_EINVAL,
                          "%s:%ld: NUL byte in CSV data (byte offset %lld); the file is binary "
                          "or in UTF-16: re-save it as UTF-8 text",
                          r->path, line, offset);
}

static void start_field(struct lleval_csv_reader *r)
{
    LLEVAL_GROW(r->starts, r->n_fields, r->cap_starts);
    r->starts[r->n_fields++] = r->field.len;
}

/*
 * One record. The cursor (r->buf_pos) always rests on the next unread byte;
 * runs of ordinary bytes are copied in one go, and only the bytes that end a
 * run (separators, quotes, line ends, NUL) are looked at one by one.
 */
int lleval_csv_next(struct lleval_csv_reader *r, struct lleval_err *err)
{
    long line;
    int c, rc = 0;

    lleval_sb_reset(&r->field);
    r->n_fields = 0;
    r->blank = false;
    if (!r->f)
        return 0;
    r->line = r->next_line;
    line = r->line;
    c = peek(r, &rc, err);
    if (rc)
        return rc;
    r->offset = r->buf_off + (long long)r->buf_pos;
    if (c == EOF)
        return 0;
    r->blank = c == '\n' || c == '\r';
    for (;;) {
        start_field(r);
        if (c == '"') {
            long quote_line = line;
            r->buf_pos++;
            for (;;) {
                if (!take_run(r, stop_quoted))
                    goto too_big;
                c = peek(r, &rc, err);
                if (rc)
                    return rc;
                if (c == EOF)
                    return lleval_err_set(err, LLEVAL_EINVAL,
                                          "%s:%ld: unterminated quoted field %zu (the quote opened "
                                          "on this line is never closed); close it with a double "
                                          "quote and double any quote inside it",
                                          r->path, quote_line, r->n_fields);
                if (!stop_quoted[c])
                    continue; /* a new chunk starts with ordinary bytes */
                r->buf_pos++;
                if (c == '"') {
                    c = peek(r, &rc, err);
                    if (rc)
                        return rc;
                    if (c != '"')
                        break; /* the closing quote; c is the byte after it */
                    r->buf_pos++;
                } else if (c == '\0') {
                    return nul_error(r, line, r->buf_off + (long long)r->buf_pos - 1, err);
                } else if (c == '\n') {
                    line++;
                } else { /* CR: a line of its own unless LF follows */
                    int next = peek(r, &rc, err);
                    if (rc)
                        return rc;
                    if (next != '\n')
                        line++;
                }
                if (r->field.len + 1 > LLEVAL_CSV_MAX_RECORD)
                    goto too_big;
                lleval_sb_addch(&r->field, (char)c);
            }
            if (c != ',' && c != '\r' && c != '\n' && c != EOF)
                return lleval_err_set(
                    err, LLEVAL_EINVAL,
                    "%s:%ld: unexpected text after the closing quote of field "
                    "%zu; quote the whole field and write a quote inside it as \"\"",
                    r->path, line, r->n_fields);
        } else {
            for (;;) {
                if (!take_run(r, stop_unquoted))
                    goto too_big;
                c = peek(r, &rc, err);
                if (rc)
                    return rc;
                if (c == EOF || stop_unquoted[c])
                    break;
            }
            if (c == '"')
                return lleval_err_set(err, LLEVAL_EINVAL,
                                      "%s:%ld: stray double quote in unquoted field %zu; "
                                      "enclose the field in double quotes and write the quote "
                                      "as \"\"",
                                      r->path, line, r->n_fields);
            if (c == '\0')
                return nul_error(r, line, r->buf_off + (long long)r->buf_pos, err);
        }
        lleval_sb_addch(&r->field, '\0');
        if (c == ',') {
            r->buf_pos++;
            c = peek(r, &rc, err);
            if (rc)
                return rc;
            continue;
        }
        if (c == '\r') {
            r->buf_pos++;
            if (peek(r, &rc, err) == '\n')
                r->buf_pos++;
            if (rc)
                return rc;
            line++;
        } else if (c == '\n') {
            r->buf_pos++;
            line++;
        }
        break;
    }
    r->next_line = line;
    r->pos = r->buf_off + (long long)r->buf_pos;
    if (r->n_fields > r->cap_fields) {
        r->cap_fields = r->n_fields;
        r->fields = lleval_xrealloc(r->fields, r->cap_fields * sizeof(*r->fields));
    }
    for (size_t i = 0; i < r->n_fields; i++)
        r->fields[i] = r->field.buf + r->starts[i];
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
    lleval_sb_release(&r->field);
    memset(r, 0, sizeof(*r));
    lleval_sb_init(&r->field, 0);
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
