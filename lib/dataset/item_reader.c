/*
 * The prepared items one at a time as typed views (see item_reader.h): each
 * line scanned once without a tree; a line the scanner gives up on (or that
 * lacks a field the checks need) goes to the prepared reader, which parses it
 * with jansson and words the error as lleval_prepared_load() does.
 */
#include <stdlib.h>
#include <string.h>
#include "lleval/dataset/item_reader.h"
#include "lleval/util/jscan.h"
#include "lleval/util/json.h"

/* The scan of one line; offsets into rd->text, (size_t)-1 when absent. */
struct item_scan {
    struct lleval_jscan js; /* first: the member callback gets &sc.js */
    struct lleval_item_reader *rd;
    size_t id, dataset, question, context, type;
    bool answers, choices, unanswerable;
};

#define NONE ((size_t)-1)

static bool keep(struct item_scan *sc, size_t *at)
{
    *at = sc->js.out->len;
    return lleval_jscan_str(&sc->js, sc->js.out);
}

/* An array of strings, each kept (any other element: give up). */
static bool choices(struct item_scan *sc)
{
    struct lleval_item_reader *rd = sc->rd;
    struct lleval_jscan *j = &sc->js;
    if (!lleval_jscan_eat(j, '['))
        return false;
    if (lleval_jscan_eat(j, ']'))
        return true;
    do {
        size_t at;
        if (!keep(sc, &at))
            return false;
        LLEVAL_GROW(rd->offs, rd->n_offs, rd->cap_offs);
        rd->offs[rd->n_offs++] = at;
    } while (lleval_jscan_eat(j, ','));
    return lleval_jscan_eat(j, ']');
}

static bool member(struct lleval_jscan *j, const char *key, unsigned *seen, int depth)
{
    struct item_scan *sc = (struct item_scan *)j;
    (void)seen; /* the scan rejects every repeated key (unique) */
    switch (key[0]) {
    case 'i':
        if (LLEVAL_JSCAN_KEY_IS(key, "id"))
            return keep(sc, &sc->id);
        break;
    case 'd':
        if (LLEVAL_JSCAN_KEY_IS(key, "dataset"))
            return keep(sc, &sc->dataset);
        break;
    case 't':
        if (LLEVAL_JSCAN_KEY_IS(key, "type"))
            return keep(sc, &sc->type);
        break;
    case 'q':
        if (LLEVAL_JSCAN_KEY_IS(key, "question"))
            return keep(sc, &sc->question);
        break;
    case 'c':
        if (LLEVAL_JSCAN_KEY_IS(key, "context"))
            return keep(sc, &sc->context);
        if (LLEVAL_JSCAN_KEY_IS(key, "choices")) {
            sc->choices = true;
            return choices(sc);
        }
        break;
    case 'a':
        if (LLEVAL_JSCAN_KEY_IS(key, "answers")) {
            sc->answers = lleval_jscan_peek(j, '[');
            return sc->answers && lleval_jscan_skip(j, depth);
        }
        break;
    case 'u':
        if (LLEVAL_JSCAN_KEY_IS(key, "unanswerable"))
            sc->unanswerable = true;
        break;
    default:
        break;
    }
    return lleval_jscan_skip(j, depth);
}

/* True when the line is a whole prepared item with every field the checks
 * ask for; the view is then filled. */
static bool scan(struct lleval_item_reader *rd, const char *line, size_t len)
{
    struct item_scan sc;
    struct lleval_item_view *v = &rd->view;
    const char *t;
    memset(&sc, 0, sizeof(sc));
    sc.js.p = (const unsigned char *)line;
    sc.js.end = (const unsigned char *)line + len;
    sc.js.out = &rd->text;
    sc.js.unique = true; /* prepared lines are read with JSON_REJECT_DUPLICATES */
    sc.rd = rd;
    sc.id = sc.dataset = sc.question = sc.context = sc.type = NONE;
    lleval_sb_reset(&rd->text);
    rd->n_offs = 0;
    if (!lleval_jscan_peek(&sc.js, '{') || !lleval_jscan_object(&sc.js, 0, member) ||
        !lleval_jscan_end(&sc.js))
        return false;
    if (sc.id == NONE || sc.dataset == NONE || sc.question == NONE || sc.type == NONE ||
        !sc.answers)
        return false;
    t = rd->text.buf + sc.type;
    if (lleval_item_type_parse(t, &v->type) ||
        (v->type == LLEVAL_OPEN_BOOK && sc.context == NONE) ||
        (v->type == LLEVAL_MULTIPLE_CHOICE && !sc.choices))
        return false;
    if (rd->n_offs > rd->cap_choices) {
        rd->cap_choices = rd->n_offs;
        rd->choices = lleval_xrealloc(rd->choices, rd->cap_choices * sizeof(*rd->choices));
    }
    for (size_t i = 0; i < rd->n_offs; i++)
        rd->choices[i] = rd->text.buf + rd->offs[i];
    v->id = rd->text.buf + sc.id;
    v->dataset = rd->text.buf + sc.dataset;
    v->question = rd->text.buf + sc.question;
    v->context = sc.context == NONE ? NULL : rd->text.buf + sc.context;
    v->choices = rd->choices;
    v->n_choices = rd->n_offs;
    v->unanswerable = sc.unanswerable;
    return true;
}

void lleval_item_view_from_json(const json_t *item, struct lleval_item_view *v,
                                const char ***choices)
{
    const json_t *cs = json_object_get(item, "choices");
    const json_t *c;
    size_t i;
    memset(v, 0, sizeof(*v));
    v->id = lleval_json_str(item, "id");
    v->dataset = lleval_json_str(item, "dataset");
    v->type = LLEVAL_CLOSED_BOOK;
    if (lleval_json_str(item, "type"))
        lleval_item_type_parse(lleval_json_str(item, "type"), &v->type);
    v->question = lleval_json_str(item, "question");
    v->context = lleval_json_str(item, "context");
    v->unanswerable = json_object_get(item, "unanswerable") != NULL;
    *choices = NULL;
    if (json_array_size(cs)) {
        *choices = lleval_xcalloc(json_array_size(cs), sizeof(**choices));
        json_array_foreach(cs, i, c)
        {
            (*choices)[i] = json_is_string(c) ? json_string_value(c) : "";
        }
        v->n_choices = json_array_size(cs);
    }
    v->choices = *choices;
}

int lleval_item_reader_open(struct lleval_item_reader *rd, const char *prepared_dir,
                            const char *dataset, struct lleval_err *err)
{
    json_t *info;
    int rc;
    memset(rd, 0, sizeof(*rd));
    rc = lleval_prepared_open(&rd->r, prepared_dir, dataset, err);
    if (rc)
        return rc;
    info = lleval_prepared_info(prepared_dir, dataset, err);
    if (!info) {
        lleval_prepared_close(&rd->r);
        return err ? err->code : LLEVAL_EINVAL;
    }
    rd->want = (long)json_integer_value(json_object_get(info, "items"));
    json_decref(info);
    rd->dataset = dataset;
    lleval_sb_init(&rd->text, 0);
    return 0;
}

int lleval_item_reader_next(struct lleval_item_reader *rd, const struct lleval_item_view **v,
                            struct lleval_err *err)
{
    struct lleval_prepared_reader *r = &rd->r;
    int rc;

    *v = NULL;
    json_decref(rd->item);
    rd->item = NULL;
    rc = lleval_prepared_next_line(r, err);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        if (rd->want != rd->n)
            return lleval_err_set(err, LLEVAL_EINVAL,
                                  "'%s' holds %ld items but its info file says %ld (an "
                                  "interrupted prepare?); run `lleval prepare` again",
                                  r->path, rd->n, rd->want);
        return 0;
    }
    if (!scan(rd, r->lines.line, r->lines.len)) {
        const char **cs = NULL;
        rc = lleval_prepared_item(r, &rd->item, err);
        if (rc < 0)
            return rc;
        lleval_item_view_from_json(rd->item, &rd->view, &cs);
        /* the choices' pointers in the reader's array, so that it owns them */
        if (rd->view.n_choices > rd->cap_choices) {
            rd->cap_choices = rd->view.n_choices;
            rd->choices = lleval_xrealloc(rd->choices, rd->cap_choices * sizeof(*rd->choices));
        }
        if (rd->view.n_choices)
            memcpy(rd->choices, cs, rd->view.n_choices * sizeof(*cs));
        rd->view.choices = rd->choices;
        free(cs);
    }
    if (strcmp(rd->view.dataset, rd->dataset))
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "%s:%ld: item belongs to dataset '%s', not '%s'; run `lleval "
                              "prepare` again",
                              r->path, r->lines.lineno, rd->view.dataset, rd->dataset);
    rd->n++;
    *v = &rd->view;
    return 1;
}

void lleval_item_reader_close(struct lleval_item_reader *rd)
{
    if (!rd->dataset)
        return;
    lleval_prepared_close(&rd->r);
    lleval_sb_release(&rd->text);
    json_decref(rd->item);
    free(rd->offs);
    free(rd->choices);
    memset(rd, 0, sizeof(*rd));
}
