/* jansson helpers: typed getters, dotted paths, atomic JSON files. */
#include <stdlib.h>
#include <string.h>
#include "lleval/platform/fs.h"
#include "lleval/util/json.h"
#include "lleval/util/redact.h"

const char *lleval_json_str(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

double lleval_json_num(const json_t *obj, const char *key, double dflt)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

long long lleval_json_int(const json_t *obj, const char *key, long long dflt)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_integer(v))
        return json_integer_value(v);
    /* a real outside long long's range (1e300) is dflt: converting it is undefined */
    if (json_is_real(v) && json_real_value(v) >= -9223372036854775808.0 &&
        json_real_value(v) < 9223372036854775808.0)
        return (long long)json_real_value(v);
    return dflt;
}

json_t *lleval_json_path(const json_t *root, const char *path)
{
    const json_t *cur = root;
    const char *p = path;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char key[128];
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        if (json_is_array(cur)) {
            long idx;
            if (lleval_parse_long(key, 0, 1L << 30, &idx))
                return NULL;
            cur = json_array_get(cur, (size_t)idx);
        } else {
            cur = json_object_get(cur, key);
        }
        p += n;
        if (*p == '.')
            p++;
    }
    return (json_t *)cur;
}

static int dump_cb(const char *buf, size_t size, void *data)
{
    lleval_sb_add(data, buf, size);
    return 0;
}

int lleval_json_dump_sb(const json_t *j, struct lleval_sb *sb)
{
    return json_dump_callback(j, dump_cb, sb,
                              JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15))
               ? LLEVAL_EFAIL
               : 0;
}

int lleval_json_render_file(const json_t *j, struct lleval_sb *sb)
{
    json_t *redacted = lleval_redact_json(j);
    int rc;
    if (redacted)
        j = redacted;
    rc = json_dump_callback(j, dump_cb, sb, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    json_decref(redacted);
    if (rc)
        return LLEVAL_EFAIL;
    lleval_sb_addch(sb, '\n');
    return 0;
}

int lleval_json_write_atomic(const char *path, const json_t *j, struct lleval_err *err)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    int rc = lleval_json_render_file(j, &sb);
    if (rc)
        rc = lleval_err_set(err, LLEVAL_EIO, "cannot serialize JSON for '%s'", path);
    else
        rc = lleval_write_file_atomic(path, sb.buf, sb.len, err);
    lleval_sb_release(&sb);
    return rc;
}

const char *lleval_json_error_text(const json_error_t *jerr)
{
    /* jansson's texts (load.c), matched by their start: "<what> near '<bytes>'" */
    static const struct {
        const char *jansson, *plain;
    } map[] = {
        {"\\u0000 is not allowed", "contains a NUL character (\\u0000)"},
        {"NUL byte in object key", "contains a NUL character (\\u0000) in a key"},
        {"'[' or '{' expected near end of file", "is empty: expected a JSON object or list"},
        {"'[' or '{' expected", "is not JSON: expected an object or a list"},
        {"end of file expected", "has more text after the JSON value"},
        {"premature end of input", "ends too early (truncated?)"},
        {"unexpected newline", "has a line break inside a string"},
        {"control character", "has a control character inside a string"},
        {"invalid escape", "has an invalid escape (\\) inside a string"},
        {"invalid Unicode escape", "has an invalid \\u escape inside a string"},
        {"invalid Unicode", "has an invalid \\u escape (a lone surrogate) inside a string"},
        {"unable to decode byte", "is not valid UTF-8"},
        {"too big negative integer", "has a number too large to hold"},
        {"too big integer", "has a number too large to hold"},
        {"real number overflow", "has a number too large to hold"},
        {"maximum parsing depth", "is nested too deeply"},
        {"string or '}' expected", "expected a quoted key or '}'"},
        {"duplicate object key", "has a duplicate key (the same key twice in one object)"},
        {"':' expected", "expected ':' after a key"},
        {"']' expected", "expected ',' or ']' in a list"},
        {"'}' expected", "expected ',' or '}' in an object"},
        {"invalid token", "has text that is not JSON"},
        {"unexpected token", "has a character that is not JSON there"},
        {"wrong arguments", "is not JSON"},
    };
    if (strstr(jerr->text, " near end of file") && strncmp(jerr->text, "'[' or '{'", 10))
        return "ends too early (truncated?)";
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(map); i++)
        if (!strncmp(jerr->text, map[i].jansson, strlen(map[i].jansson)))
            return map[i].plain;
    return "is not valid JSON";
}

json_t *lleval_json_load_file(const char *path, struct lleval_err *err)
{
    json_error_t jerr;
    struct lleval_err oe = LLEVAL_ERR_INIT;
    FILE *f;
    json_t *j;

    if (lleval_fopen_read(path, &f, &oe)) { /* refuses links inside a run directory */
        if (!strncmp(oe.msg, "cannot open ", 12))
            lleval_err_set(err, LLEVAL_EIO, "cannot read %s", oe.msg + 12);
        else if (err)
            *err = oe;
        return NULL;
    }
    j = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    fclose(f);
    if (!j) {
        if (jerr.line <= 0) {
            lleval_err_set(err, LLEVAL_EIO, "cannot read '%s'", path);
        } else {
            lleval_err_set(err, LLEVAL_EINVAL, "%s:%d:%d: invalid JSON: %s", path, jerr.line,
                           jerr.column, lleval_json_error_text(&jerr));
        }
    }
    return j;
}

/* ---- typed field reading ------------------------------------------------------ */

void lleval_jr_wrong(struct lleval_json_reader *rd, const char *prefix, const char *key,
                     const char *want)
{
    if (rd->rc)
        return;
    rd->rc =
        lleval_err_set(rd->err, LLEVAL_EINVAL, "%s: '%s%s' must be %s: the file is damaged (%s)",
                       rd->name, prefix, key, want, rd->fix);
}

void lleval_jr_str(struct lleval_json_reader *rd, const json_t *o, const char *prefix,
                   const char *key, bool nullable, char **out)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        return;
    if (nullable && json_is_null(v)) {
        free(*out);
        *out = NULL;
        return;
    }
    if (!json_is_string(v)) {
        lleval_jr_wrong(rd, prefix, key, nullable ? "a string or null" : "a string");
        return;
    }
    free(*out);
    *out = lleval_xstrdup(json_string_value(v));
}

void lleval_jr_long(struct lleval_json_reader *rd, const json_t *o, const char *prefix,
                    const char *key, long *out)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        return;
    if (!json_is_integer(v)) {
        lleval_jr_wrong(rd, prefix, key, "an integer");
        return;
    }
    *out = (long)json_integer_value(v);
}

void lleval_jr_num(struct lleval_json_reader *rd, const json_t *o, const char *prefix,
                   const char *key, bool nullable, double null_value, double *out)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        return;
    if (nullable && json_is_null(v)) {
        *out = null_value;
        return;
    }
    if (!json_is_number(v)) {
        lleval_jr_wrong(rd, prefix, key, nullable ? "a number or null" : "a number");
        return;
    }
    *out = json_number_value(v);
}

void lleval_jr_bool(struct lleval_json_reader *rd, const json_t *o, const char *prefix,
                    const char *key, bool *out)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        return;
    if (!json_is_boolean(v)) {
        lleval_jr_wrong(rd, prefix, key, "true or false");
        return;
    }
    *out = json_is_true(v);
}

const json_t *lleval_jr_obj(struct lleval_json_reader *rd, const json_t *o, const char *prefix,
                            const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (v && !json_is_object(v)) {
        lleval_jr_wrong(rd, prefix, key, "an object");
        return NULL;
    }
    return v;
}
