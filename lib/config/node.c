/*
 * Typed values from YAML nodes (strings, whole numbers, numbers, booleans,
 * choices, lists, mapping keys) for config files, presets and command-line
 * values alike. Every error names the place of the node, file:line:column
 * (1-based), or the flag or preset, then the key path and the fix.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config_int.h"

static unsigned long mark_line(const yaml_node_t *n)
{
    return (unsigned long)n->start_mark.line + 1;
}

static unsigned long mark_col(const yaml_node_t *n)
{
    return (unsigned long)n->start_mark.column + 1;
}

char *lleval_cfg_where(const struct lleval_cfg_src *s, const yaml_node_t *n)
{
    if (s->file && n)
        return lleval_xasprintf("%s:%lu:%lu", s->file, mark_line(n), mark_col(n));
    return lleval_xstrdup(s->file ? s->file : s->flag);
}

int lleval_cfg_fail(const struct lleval_cfg_src *s, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[LLEVAL_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (s->file && n)
        return lleval_err_set(s->err, LLEVAL_EINVAL, "%s:%lu:%lu: %s", s->file, mark_line(n),
                              mark_col(n), msg);
    if (s->file)
        return lleval_err_set(s->err, LLEVAL_EINVAL, "%s: %s", s->file, msg);
    if (s->from == LLEVAL_FROM_PRESET)
        return lleval_err_set(s->err, LLEVAL_EINVAL, "preset %s: %s", s->flag, msg);
    return lleval_err_set(s->err, LLEVAL_EINVAL, "%s: %s", s->flag, msg);
}

yaml_node_t *lleval_cfg_node(const struct lleval_cfg_src *s, int id)
{
    return yaml_document_get_node(s->doc, id);
}

const char *lleval_cfg_text(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

bool lleval_cfg_is_null(const yaml_node_t *n)
{
    const char *t;
    if (!n)
        return true;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    t = lleval_cfg_text(n);
    return !*t || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") || !strcmp(t, "NULL");
}

static bool is_quoted(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
}

const char *lleval_cfg_kind_of(const yaml_node_t *n)
{
    if (lleval_cfg_is_null(n))
        return "null";
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    default:
        return is_quoted(n) ? "a quoted string" : "a plain value";
    }
}

static int need_value(const struct lleval_cfg_src *s, const yaml_node_t *n, const char *path)
{
    return lleval_cfg_fail(
        s, n, "'%s' needs a value; give one or remove the key to keep the default", path);
}

int lleval_cfg_get_string(const struct lleval_cfg_src *s, const yaml_node_t *n, const char *path,
                          bool nullable, char **out)
{
    *out = NULL;
    if (lleval_cfg_is_null(n)) {
        if (nullable)
            return 0;
        return need_value(s, n, path);
    }
    if (n->type != YAML_SCALAR_NODE)
        return lleval_cfg_fail(s, n, "'%s' must be a string, not %s; write e.g. '%s: text'", path,
                               lleval_cfg_kind_of(n), path);
    if (strlen(lleval_cfg_text(n)) != n->data.scalar.length)
        return lleval_cfg_fail(s, n, "'%s' contains a NUL byte; remove it", path);
    *out = lleval_xstrdup(lleval_cfg_text(n));
    return 0;
}

int lleval_cfg_get_long(const struct lleval_cfg_src *s, const yaml_node_t *n, const char *path,
                        long min, long max, long *out)
{
    long v;
    double d;
    if (lleval_cfg_is_null(n))
        return need_value(s, n, path);
    if (n->type != YAML_SCALAR_NODE)
        return lleval_cfg_fail(s, n, "'%s' must be a whole number from %ld to %ld, not %s", path,
                               min, max, lleval_cfg_kind_of(n));
    if (is_quoted(n))
        return lleval_cfg_fail(
            s, n,
            "'%s' must be a whole number, not the string \"%.60s\"; remove the quotes "
            "(write a number from %ld to %ld)",
            path, lleval_cfg_text(n), min, max);
    if (lleval_parse_long(lleval_cfg_text(n), -2147483647L - 1, 2147483647L, &v)) {
        if (!lleval_parse_double(lleval_cfg_text(n), &d))
            return lleval_cfg_fail(
                s, n,
                "'%s' must be a whole number, not '%.60s'; write a number from %ld "
                "to %ld without a fraction",
                path, lleval_cfg_text(n), min, max);
        return lleval_cfg_fail(s, n, "'%s' must be a whole number from %ld to %ld, not '%.60s'",
                               path, min, max, lleval_cfg_text(n));
    }
    if (v < min || v > max)
        return lleval_cfg_fail(s, n, "'%s' must be from %ld to %ld, not %ld", path, min, max, v);
    *out = v;
    return 0;
}

int lleval_cfg_get_double(const struct lleval_cfg_src *s, const yaml_node_t *n, const char *path,
                          double min, double max, double *out)
{
    double v;
    char a[32], b[32];
    lleval_fmt_num(a, sizeof(a), min);
    lleval_fmt_num(b, sizeof(b), max);
    if (lleval_cfg_is_null(n))
        return need_value(s, n, path);
    if (n->type != YAML_SCALAR_NODE)
        return lleval_cfg_fail(s, n, "'%s' must be a number from %s to %s, not %s", path, a, b,
                               lleval_cfg_kind_of(n));
    if (is_quoted(n))
        return lleval_cfg_fail(
            s, n,
            "'%s' must be a number, not the string \"%.60s\"; remove the quotes (write a "
            "number from %s to %s)",
            path, lleval_cfg_text(n), a, b);
    if (lleval_parse_double(lleval_cfg_text(n), &v))
        return lleval_cfg_fail(s, n, "'%s' must be a number from %s to %s, not '%.60s'", path, a, b,
                               lleval_cfg_text(n));
    if (v < min || v > max)
        return lleval_cfg_fail(s, n, "'%s' must be from %s to %s, not %.60s", path, a, b,
                               lleval_cfg_text(n));
    *out = v;
    return 0;
}

int lleval_cfg_get_bool(const struct lleval_cfg_src *s, const yaml_node_t *n, const char *path,
                        bool *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No",
                                     "NO",    "off",   "Off",   "OFF"};
    if (lleval_cfg_is_null(n))
        return need_value(s, n, path);
    if (n->type == YAML_SCALAR_NODE && !is_quoted(n)) {
        if (lleval_cfg_one_of(lleval_cfg_text(n), yes, LLEVAL_ARRAY_SIZE(yes))) {
            *out = true;
            return 0;
        }
        if (lleval_cfg_one_of(lleval_cfg_text(n), no, LLEVAL_ARRAY_SIZE(no))) {
            *out = false;
            return 0;
        }
    }
    if (n->type != YAML_SCALAR_NODE)
        return lleval_cfg_fail(s, n, "'%s' must be true or false, not %s", path,
                               lleval_cfg_kind_of(n));
    return lleval_cfg_fail(s, n, "'%s' must be true or false (without quotes), not '%.60s'", path,
                           lleval_cfg_text(n));
}

int lleval_cfg_get_choice(const struct lleval_cfg_src *s, const yaml_node_t *n, const char *path,
                          const char *const *names, size_t count, char **out)
{
    char list[256], hint[128];
    int rc = lleval_cfg_get_string(s, n, path, false, out);
    if (rc)
        return rc;
    if (lleval_cfg_one_of(*out, names, count))
        return 0;
    lleval_cfg_join_names(list, sizeof(list), names, count);
    rc = lleval_cfg_fail(s, n, "'%s' must be one of %s, not '%.60s'%s", path, list, *out,
                         lleval_cfg_dym(hint, sizeof(hint), *out, names, count));
    free(*out);
    *out = NULL;
    return rc;
}

int lleval_cfg_get_double_list(const struct lleval_cfg_src *s, yaml_node_t *n, const char *path,
                               double min, double max, double **out, size_t *count)
{
    double *v = NULL;
    size_t nv = 0;
    int rc = 0;
    *out = NULL;
    *count = 0;
    if (lleval_cfg_is_null(n))
        return need_value(s, n, path);
    if (n->type == YAML_MAPPING_NODE)
        return lleval_cfg_fail(s, n,
                               "'%s' must be a number or a list of numbers like [0.0, 0.7], not %s",
                               path, lleval_cfg_kind_of(n));
    if (n->type == YAML_SCALAR_NODE) {
        v = lleval_xcalloc(1, sizeof(*v));
        rc = lleval_cfg_get_double(s, n, path, min, max, &v[0]);
        nv = 1;
    } else {
        size_t total = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        v = lleval_xcalloc(total ? total : 1, sizeof(*v));
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             !rc && it < n->data.sequence.items.top; it++) {
            char *ipath = lleval_xasprintf("%s[%zu]", path, nv);
            rc = lleval_cfg_get_double(s, lleval_cfg_node(s, *it), ipath, min, max, &v[nv++]);
            free(ipath);
        }
    }
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *count = nv;
    return 0;
}

int lleval_cfg_get_string_list(const struct lleval_cfg_src *s, yaml_node_t *n, const char *path,
                               char ***out, size_t *count)
{
    char **v = NULL;
    size_t nv = 0;
    int rc = 0;
    *out = NULL;
    *count = 0;
    if (lleval_cfg_is_null(n))
        return 0; /* "stop:" with nothing: no strings */
    if (n->type == YAML_MAPPING_NODE)
        return lleval_cfg_fail(
            s, n, "'%s' must be a string or a list of strings like [\"Q:\", \"A:\"], not %s", path,
            lleval_cfg_kind_of(n));
    if (n->type == YAML_SCALAR_NODE) {
        v = lleval_xcalloc(1, sizeof(*v));
        rc = lleval_cfg_get_string(s, n, path, false, &v[0]);
        nv = rc ? 0 : 1;
    } else {
        size_t total = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        v = lleval_xcalloc(total ? total : 1, sizeof(*v));
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             !rc && it < n->data.sequence.items.top; it++) {
            char *ipath = lleval_xasprintf("%s[%zu]", path, nv);
            rc = lleval_cfg_get_string(s, lleval_cfg_node(s, *it), ipath, false, &v[nv]);
            if (!rc)
                nv++;
            free(ipath);
        }
    }
    if (rc) {
        lleval_cfg_free_strv(v, nv);
        return rc;
    }
    *out = v;
    *count = nv;
    return 0;
}

/* Finds key in the pairs of a mapping that come before `upto`; returns its node. */
static yaml_node_t *earlier_key(const struct lleval_cfg_src *s, const yaml_node_t *map,
                                const yaml_node_pair_t *upto, const char *key)
{
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < upto; q++) {
        yaml_node_t *k = lleval_cfg_node(s, q->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp(lleval_cfg_text(k), key))
            return k;
    }
    return NULL;
}

int lleval_cfg_pair_key(const struct lleval_cfg_src *s, const yaml_node_t *map,
                        const yaml_node_pair_t *p, const char *where_path, const char **name)
{
    yaml_node_t *k = lleval_cfg_node(s, p->key), *first;
    if (!k || k->type != YAML_SCALAR_NODE || lleval_cfg_is_null(k))
        return lleval_cfg_fail(s, k, "keys must be names, not %s%s%s",
                               k ? lleval_cfg_kind_of(k) : "empty", where_path ? " in " : "",
                               where_path ? where_path : "");
    first = earlier_key(s, map, p, lleval_cfg_text(k));
    if (first) {
        if (s->file)
            return lleval_cfg_fail(s, k,
                                   "duplicate key '%s%s%s' (first at line %lu); keep one of them",
                                   where_path ? where_path : "", where_path ? "." : "",
                                   lleval_cfg_text(k), mark_line(first));
        return lleval_cfg_fail(s, k, "duplicate key '%s%s%s'; keep one of them",
                               where_path ? where_path : "", where_path ? "." : "",
                               lleval_cfg_text(k));
    }
    *name = lleval_cfg_text(k);
    return 0;
}
