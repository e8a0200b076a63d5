/* RFC 4180 CSV reader (streaming, line-aware) and writer (see csv.h for the rules). */
#include <stdlib.h>
#include <string.h>
#include "lleval/csv.h"

int lleval_csv_open(struct lleval_csv_reader *r, const char *path, struct lleval_err *err)
{
    unsigned char bom[3];
    size_t n;

    memset(r, 0, sizeof(*r));
    lleval_sb_init(&r->field, 0);
    r->path = path;
    r->next_line = 1;
    r->f = fopen(path, "rb");
    if (!r->f)
        return lleval_err_errno(err, "cannot open", path);
    /* Drop a UTF-8 byte order mark (spreadsheets write one). */
    n = fread(bom, 1, sizeof(bom), r->f);
    if (n == 3 && bom[0] == 0xEF && bom[1] == 0xBB && bom[2] == 0xBF) {
        r->pos = 3;
    } else if (fseek(r->f, 0, SEEK_SET)) {
        int rc = lleval_err_errno(err, "cannot rewind", path);
        fclose(r->f);
        r->f = NULL;
        return rc;
    }
    return 0;
}

static int getch(struct lleval_csv_reader *r)
{
    int c = getc(r->f);
    if (c != EOF)
        r->pos++;
    return c;
}

static void ungetch(struct lleval_csv_reader *r, int c)
{
    if (c != EOF) {
        ungetc(c, r->f);
        r->pos--;
    }
}

static int nul_error(struct lleval_csv_reader *r, long line, struct lleval_err *err)
{
    return lleval_err_set(err, LLEVAL_EINVAL,
                          "%s:%ld: NUL byte in CSV data (byte offset %lld); the file is binary "
                          "or in UTF-16: re-save it as UTF-8 text",
                          r->path, line, r->pos - 1);
}

static void start_field(struct lleval_csv_reader *r)
{
    LLEVAL_GROW(r->starts, r->n_fields, r->cap_starts);
    r->starts[r->n_fields++] = r->field.len;
}

int lleval_csv_next(struct lleval_csv_reader *r, struct lleval_err *err)
{
    long line;
    int c;

    lleval_sb_reset(&r->field);
    r->n_fields = 0;
    r->blank = false;
    if (!r->f)
        return 0;
    r->line = r->next_line;
    r->offset = r->pos;
    line = r->line;
    c = getch(r);
    if (c == EOF) {
        if (ferror(r->f))
            return lleval_err_errno(err, "cannot read", r->path);
        return 0;
    }
    r->blank = c == '\n' || c == '\r';
    for (;;) {
        start_field(r);
        if (c == '"') {
            long quote_line = line;
            for (;;) {
                c = getch(r);
                if (c == EOF) {
                    if (ferror(r->f))
                        return lleval_err_errno(err, "cannot read", r->path);
                    return lleval_err_set(err, LLEVAL_EINVAL,
                                          "%s:%ld: unterminated quoted field %zu (the quote opened "
                                          "on this line is never closed); close it with a double "
                                          "quote and double any quote inside it",
                                          r->path, quote_line, r->n_fields);
                }
                if (c == '"') {
                    c = getch(r);
                    if (c != '"')
                        break;
                } else if (c == '\0') {
                    return nul_error(r, line, err);
                } else if (c == '\n') {
                    line++;
                } else if (c == '\r') {
                    int next = getch(r);
                    ungetch(r, next);
                    if (next != '\n')
                        line++;
                }
                lleval_sb_addch(&r->field, (char)c);
                if (r->field.len > LLEVAL_CSV_MAX_RECORD)
                    goto too_big;
            }
            if (c != ',' && c != '\r' && c != '\n' && c != EOF)
                return lleval_err_set(
                    err, LLEVAL_EINVAL,
                    "%s:%ld: unexpected text after the closing quote of field "
                    "%zu; quote the whole field and write a quote inside it as \"\"",
                    r->path, line, r->n_fields);
        } else {
            while (c != ',' && c != '\r' && c != '\n' && c != EOF) {
                if (c == '"')
                    return lleval_err_set(err, LLEVAL_EINVAL,
                                          "%s:%ld: stray double quote in unquoted field %zu; "
                                          "enclose the field in double quotes and write the quote "
                                          "as \"\"",
                                          r->path, line, r->n_fields);
                if (c == '\0')
                    return nul_error(r, line, err);
                lleval_sb_addch(&r->field, (char)c);
                if (r->field.len > LLEVAL_CSV_MAX_RECORD)
                    goto too_big;
                c = getch(r);
            }
        }
        lleval_sb_addch(&r->field, '\0');
        if (c == ',') {
            c = getch(r);
            continue;
        }
        if (c == '\r') {
            int next = getch(r);
            if (next != '\n')
                ungetch(r, next);
            line++;
        } else if (c == '\n') {
            line++;
        } else if (ferror(r->f)) {
            return lleval_err_errno(err, "cannot read", r->path);
        }
        break;
    }
    r->next_line = line;
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
