/*
 * Batch building: custom_id encoding, prompt rendering and the part files in
 * the OpenAI batch input format (docs/formats.md).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/engine/batchapi.h"
#include "lleval/run/batch.h"
#include "lleval/dataset/dataset.h"
#include "lleval/dataset/item_reader.h"
#include "lleval/platform/fs.h"
#include "lleval/run/rundir.h"
#include "lleval/util/json.h"
#include "lleval/util/jwrite.h"

static bool cid_plain(unsigned char c)
{
    return isalnum(c) || c == '.' || c == '_' || c == '-';
}

static void cid_escape(struct lleval_sb *sb, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (cid_plain(c)) {
            lleval_sb_addch(sb, (char)c);
        } else {
            lleval_sb_addch(sb, '%');
            lleval_sb_addch(sb, hex[c >> 4]);
            lleval_sb_addch(sb, hex[c & 15]);
        }
    }
}

const char *lleval_temp_dir(char *buf, size_t size, double temp)
{
    char num[32];
    snprintf(buf, size, "t%s", lleval_fmt_num(num, sizeof(num), temp));
    return buf;
}

void lleval_cid_encode(struct lleval_sb *sb, const char *dataset, const char *item_id,
                       const char *prompt_type, double temp, long sample)
{
    char num[32];
    cid_escape(sb, dataset);
    lleval_sb_addch(sb, ':');
    cid_escape(sb, item_id);
    lleval_sb_addch(sb, ':');
    cid_escape(sb, prompt_type);
    lleval_sb_addf(sb, ":t%s:s%ld", lleval_fmt_num(num, sizeof(num), temp), sample);
}

void lleval_cid_encode_model(struct lleval_sb *sb, const char *model, const char *dataset,
                             const char *item_id, const char *prompt_type, double temp, long sample)
{
    if (model) {
        cid_escape(sb, model);
        lleval_sb_addch(sb, ':');
    }
    lleval_cid_encode(sb, dataset, item_id, prompt_type, temp, sample);
}

char *lleval_model_folder(const char *model)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    cid_escape(&sb, model);
    return lleval_sb_detach(&sb, NULL);
}

char *lleval_trial_folder(const char *model, const char *dataset)
{
    char *m, *out;
    if (!model)
        return lleval_xstrdup(dataset);
    m = lleval_model_folder(model);
    out = lleval_xasprintf("%s/%s", m, dataset);
    free(m);
    return out;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The bytes cid_plain() takes in any locale (ASCII letters and digits, '.',
 * '_', '-'), as a table: the decoder's shortcut, which leaves every other
 * byte to cid_plain() itself. */
#define CID_AZ(c)                                                                                  \
    [c] = 1, [c + 1] = 1, [c + 2] = 1, [c + 3] = 1, [c + 4] = 1, [c + 5] = 1, [c + 6] = 1,         \
    [c + 7] = 1, [c + 8] = 1, [c + 9] = 1, [c + 10] = 1, [c + 11] = 1, [c + 12] = 1
static const unsigned char cid_ascii_tab[256] = {
    CID_AZ('a'), CID_AZ('a' + 13), CID_AZ('A'), CID_AZ('A' + 13), ['0'] = 1, ['1'] = 1,
    ['2'] = 1,   ['3'] = 1,        ['4'] = 1,   ['5'] = 1,        ['6'] = 1, ['7'] = 1,
    ['8'] = 1,   ['9'] = 1,        ['.'] = 1,   ['_'] = 1,        ['-'] = 1};
#undef CID_AZ

static bool cid_ascii_plain(unsigned char c)
{
    return cid_ascii_tab[c];
}

/* Decodes one %XX-escaped component; NULL on malformed input. */
static char *cid_unescape(const char *s, size_t n)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    size_t plain = 0;
    while (plain < n && cid_ascii_plain((unsigned char)s[plain]))
        plain++;
    if (plain == n) /* nothing escaped: the bytes as they are */
        return lleval_xstrndup(s, n);
    lleval_sb_add(&sb, s, plain);
    for (size_t i = plain; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= n)
                goto bad;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || cid_plain((unsigned char)(hi * 16 + lo)) || !(hi | lo))
                goto bad;
            lleval_sb_addch(&sb, (char)(hi * 16 + lo));
            i += 2;
        } else if (cid_plain(c)) {
            lleval_sb_addch(&sb, (char)c);
        } else {
            goto bad;
        }
    }
    return lleval_sb_detach(&sb, NULL);
bad:
    lleval_sb_release(&sb);
    return NULL;
}

/* Appends the decoding of one %XX-escaped component and its NUL to sb, as
 * cid_unescape() decodes it; false on malformed input (sb then holds part of
 * it). */
static bool cid_unescape_to(struct lleval_sb *sb, const char *s, size_t n)
{
    size_t plain = 0;
    while (plain < n && cid_ascii_plain((unsigned char)s[plain]))
        plain++;
    lleval_sb_add(sb, s, plain);
    for (size_t i = plain; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= n)
                return false;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || cid_plain((unsigned char)(hi * 16 + lo)) || !(hi | lo))
                return false;
            lleval_sb_addch(sb, (char)(hi * 16 + lo));
            i += 2;
        } else if (cid_plain(c)) {
            lleval_sb_addch(sb, (char)c);
        } else {
            return false;
        }
    }
    lleval_sb_addch(sb, '\0');
    return true;
}

void lleval_cid_release(struct lleval_cid *c)
{
    free(c->model);
    free(c->dataset);
    free(c->item_id);
    free(c->prompt_type);
    free(c->temp);
    memset(c, 0, sizeof(*c));
}

/* True when s is digits with at most one '.' between digits, 1 to 30 bytes
 * (a temperature as lleval_fmt_num() writes it): a finite number that
 * lleval_parse_double() takes without asking strtod. */
static bool plain_decimal(const char *s)
{
    size_t n = 0, dot = 0;
    for (; s[n] && n <= 30; n++) {
        if (s[n] == '.' && !dot && n && s[n + 1] >= '0' && s[n + 1] <= '9')
            dot = n;
        else if (s[n] < '0' || s[n] > '9')
            return false;
    }
    return n && n <= 30;
}

/* s as 1 to 9 digits (at most 999,999,999, inside the sample's range of 0 to
 * 2^30): its value in *out, as lleval_parse_long() reads it; false for
 * anything else (then lleval_parse_long() decides). */
static bool small_count(const char *s, long *out)
{
    long v = 0;
    size_t n = 0;
    for (; s[n] >= '0' && s[n] <= '9'; n++) {
        if (n == 9)
            return false;
        v = v * 10 + (s[n] - '0');
    }
    if (!n || s[n])
        return false;
    *out = v;
    return true;
}

/* The colon-separated components of custom_id (5, or 6 with the model
 * first), none empty: their number, or 0 when it is not an encoded id. */
static int cid_split(const char *custom_id, const char *parts[6], size_t lens[6])
{
    const char *p = custom_id;
    int n = 0;
    while (n < 6) {
        const char *colon = strchr(p, ':');
        parts[n] = p;
        lens[n] = colon ? (size_t)(colon - p) : strlen(p);
        n++;
        if (!colon)
            break;
        p = colon + 1;
    }
    if (n < 5 || strchr(parts[n - 1], ':'))
        return 0;
    for (int i = 0; i < n; i++)
        if (!lens[i])
            return 0;
    return n;
}

static int cid_malformed(struct lleval_err *err, const char *custom_id)
{
    return lleval_err_set(err, LLEVAL_EINVAL,
                          "malformed custom_id '%.200s': expected "
                          "[model:]dataset:item:prompt_type:t<temp>:s<sample>",
                          custom_id);
}

int lleval_cid_decode_in(const char *custom_id, struct lleval_cid *out, struct lleval_sb *buf,
                         struct lleval_err *err)
{
    const char *parts[6];
    size_t lens[6], at[5];
    int n = cid_split(custom_id, parts, lens), first = n == 6 ? 0 : 1;
    double t;

    memset(out, 0, sizeof(*out));
    lleval_sb_reset(buf);
    if (!n || parts[n - 2][0] != 't' || parts[n - 1][0] != 's')
        return cid_malformed(err, custom_id);
    /* model (when there is one), dataset, item, prompt type, temperature */
    for (int i = first; i < 4; i++) {
        at[i] = buf->len;
        if (!cid_unescape_to(buf, parts[i - first], lens[i - first]))
            return cid_malformed(err, custom_id);
    }
    at[4] = buf->len;
    lleval_sb_add(buf, parts[n - 2] + 1, lens[n - 2] - 1);
    lleval_sb_addch(buf, '\0');
    if (!plain_decimal(buf->buf + at[4]) && lleval_parse_double(buf->buf + at[4], &t))
        return cid_malformed(err, custom_id);
    if (!small_count(parts[n - 1] + 1, &out->sample) &&
        lleval_parse_long(parts[n - 1] + 1, 0, 1L << 30, &out->sample))
        return cid_malformed(err, custom_id);
    out->model = first ? NULL : buf->buf + at[0];
    out->dataset = buf->buf + at[1];
    out->item_id = buf->buf + at[2];
    out->prompt_type = buf->buf + at[3];
    out->temp = buf->buf + at[4];
    return 0;
}

int lleval_cid_decode(const char *custom_id, struct lleval_cid *out, struct lleval_err *err)
{
    const char *all[6], **parts = all;
    size_t all_lens[6], *lens = all_lens;
    int n = cid_split(custom_id, parts, lens);
    double t;

    memset(out, 0, sizeof(*out));
    if (!n)
        goto bad;
    if (n == 6) { /* a run of several models: the model first */
        out->model = cid_unescape(parts[0], lens[0]);
        if (!out->model)
            goto bad;
        parts++;
        lens++;
    }
    out->dataset = cid_unescape(parts[0], lens[0]);
    out->item_id = cid_unescape(parts[1], lens[1]);
    out->prompt_type = cid_unescape(parts[2], lens[2]);
    if (!out->dataset || !out->item_id || !out->prompt_type)
        goto bad;
    if (parts[3][0] != 't' || parts[4][0] != 's')
        goto bad;
    out->temp = lleval_xstrndup(parts[3] + 1, lens[3] - 1);
    if (!plain_decimal(out->temp) && lleval_parse_double(out->temp, &t))
        goto bad;
    if (!small_count(parts[4] + 1, &out->sample) &&
        lleval_parse_long(parts[4] + 1, 0, 1L << 30, &out->sample))
        goto bad;
    return 0;
bad:
    lleval_cid_release(out);
    return cid_malformed(err, custom_id);
}

static void render_choices(struct lleval_sb *sb, const struct lleval_item_view *v,
                           bool letters_only)
{
    for (size_t i = 0; i < v->n_choices; i++) {
        char letter = (char)('A' + (i < 26 ? i : 25));
        if (letters_only) {
            if (i)
                lleval_sb_adds(sb, i + 1 == v->n_choices ? " or " : ", ");
            lleval_sb_addch(sb, letter);
        } else {
            if (i)
                lleval_sb_addch(sb, '\n');
            lleval_sb_addch(sb, letter);
            lleval_sb_add(sb, ". ", 2);
            lleval_sb_adds(sb, v->choices[i]);
        }
    }
}

/* Appends tmpl rendered with the item's fields to sb. */
static void render_view(struct lleval_sb *sb, const char *tmpl, const struct lleval_item_view *v)
{
    const char *p = tmpl;
    while (*p) {
        const char *open = strchr(p, '{');
        if (!open) {
            lleval_sb_adds(sb, p);
            break;
        }
        lleval_sb_add(sb, p, (size_t)(open - p));
        if (lleval_str_starts_with(open, "{question}")) {
            lleval_sb_adds(sb, v->question ? v->question : "");
            p = open + strlen("{question}");
        } else if (lleval_str_starts_with(open, "{context}")) {
            lleval_sb_adds(sb, v->context ? v->context : "");
            p = open + strlen("{context}");
        } else if (lleval_str_starts_with(open, "{choices}")) {
            render_choices(sb, v, false);
            p = open + strlen("{choices}");
        } else if (lleval_str_starts_with(open, "{choice_letters}")) {
            render_choices(sb, v, true);
            p = open + strlen("{choice_letters}");
        } else {
            lleval_sb_addch(sb, '{');
            p = open + 1;
        }
    }
}

char *lleval_render_prompt(const char *tmpl, const json_t *item)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    struct lleval_item_view v;
    const char **choices;
    lleval_item_view_from_json(item, &v, &choices);
    render_view(&sb, tmpl, &v);
    free(choices);
    return lleval_sb_detach(&sb, NULL);
}

void lleval_build_result_release(struct lleval_build_result *r)
{
    for (size_t i = 0; i < r->n_parts; i++) {
        free(r->parts[i].model);
        free(r->parts[i].folder);
        free(r->parts[i].dataset);
        free(r->parts[i].batch_path);
    }
    free(r->parts);
    memset(r, 0, sizeof(*r));
}

static struct lleval_part_info *add_part(struct lleval_build_result *r)
{
    r->parts = lleval_xrealloc(r->parts, (r->n_parts + 1) * sizeof(*r->parts));
    memset(&r->parts[r->n_parts], 0, sizeof(*r->parts));
    return &r->parts[r->n_parts++];
}

static json_t *part_json(const struct lleval_part_info *p, const char *out_dir)
{
    const char *rel = p->batch_path + strlen(out_dir) + 1;
    json_t *j =
        json_pack("{s:s, s:f, s:I, s:s, s:I}", "dataset", p->dataset, "temperature", p->temp,
                  "part", (json_int_t)p->index, "path", rel, "requests", (json_int_t)p->requests);
    if (p->model) /* a run of several models only: one model's build.json stays as it was */
        json_object_set_new(j, "model", json_string(p->model));
    return j;
}

static int write_build_json(const char *out_dir, const struct lleval_build_result *res,
                            struct lleval_err *err)
{
    json_t *root = json_object(), *parts = json_array();
    char *path = lleval_path_join(out_dir, "build.json");
    int rc;
    for (size_t i = 0; i < res->n_parts; i++)
        json_array_append_new(parts, part_json(&res->parts[i], out_dir));
    json_object_set_new(root, "total_requests", json_integer(res->total_requests));
    json_object_set_new(root, "parts", parts);
    rc = lleval_json_write_atomic(path, root, err);
    json_decref(root);
    free(path);
    return rc;
}

/* The limits of one part file (a cloud batch engine's, lowered by batch.*); 0: none. */
struct part_limits {
    long requests;
    long long bytes;
};

static struct part_limits part_limits(const struct lleval_config *cfg)
{
    const struct lleval_batch_provider *pv = lleval_batch_provider_for(cfg->engine);
    struct part_limits l = {0, 0};
    if (!pv)
        return l;
    l.requests = pv->max_requests;
    l.bytes = pv->max_bytes;
    if (cfg->batch.max_requests > 0 && (!l.requests || cfg->batch.max_requests < l.requests))
        l.requests = cfg->batch.max_requests;
    if (cfg->batch.max_bytes > 0 && (!l.bytes || cfg->batch.max_bytes < l.bytes))
        l.bytes = cfg->batch.max_bytes;
    return l;
}

static bool over_limits(struct part_limits l, long requests, long long bytes)
{
    return (l.requests > 0 && requests > l.requests) || (l.bytes > 0 && bytes > l.bytes);
}

/*
 * The build streams (issue 13): the prepared items are read one at a time
 * and each request line goes to its part file as it is made, so memory does
 * not grow with the dataset. Every part file is written to its temp file and
 * put in place only when the whole build succeeded (a damaged prepared line
 * found late leaves the previous batches as they were, as when the items were
 * all loaded first). Request lines are written with the JSON writer, byte for
 * byte what the jansson dump of the same object gave.
 */

/* Unwritten lines of a part are handed to its file in blocks of this size. */
#define PART_FLUSH_BYTES (256u * 1024u)

/* One temperature's part files of the dataset being built. */
struct temp_parts {
    double temp;
    struct lleval_part_info *parts; /* this temperature's parts, in order */
    size_t n_parts;
    struct lleval_atomic_file af; /* the last part's temp file while it is written */
    struct lleval_sb buf;         /* its lines not yet written */
    long long bytes;              /* its bytes so far */
    /* the body after the messages up to the seed's value, per item type */
    struct lleval_sb tail[LLEVAL_N_ITEM_TYPES];
};

/* What one build keeps across datasets. */
struct build {
    const struct lleval_config *cfg;
    const struct lleval_prompt_set *set;
    const char *out_dir;
    struct part_limits lim;
    char *abstain;                   /* the SQuAD 2.0 sentence (owned) */
    struct lleval_atomic_file *done; /* written part files, put in place at the end */
    size_t n_done, cap_done;
    char **made; /* folders under out_dir this build created (owned), removed if it fails */
    size_t n_made, cap_made;
    struct lleval_sb sys, user, msgs, line, cid, head;
};

/* Notes the folders of dir under b->out_dir that do not exist yet, which
 * lleval_mkdirs() is about to create. */
static void note_new_folders(struct build *b, const char *dir)
{
    char *p = lleval_xstrdup(dir);
    const char *below;
    while ((below = lleval_path_under(b->out_dir, p)) && *below && !lleval_is_dir(p)) {
        char *up = lleval_path_dirname(p);
        LLEVAL_GROW(b->made, b->n_made, b->cap_made);
        b->made[b->n_made++] = p;
        p = up;
    }
    free(p);
}

static int longer_first(const void *a, const void *b)
{
    size_t x = strlen(*(char *const *)a), y = strlen(*(char *const *)b);
    return x < y ? 1 : x > y ? -1 : 0;
}

/* A failed build leaves no folder of its own behind: each one it created
 * goes when it is empty (deepest first; one holding anything stays). */
static void remove_new_folders(struct build *b)
{
    qsort(b->made, b->n_made, sizeof(*b->made), longer_first);
    for (size_t i = 0; i < b->n_made; i++) {
        struct lleval_dir_list list;
        if (!lleval_list_dir(b->made[i], &list, NULL)) {
            if (!list.n)
                lleval_remove_tree(b->made[i], NULL);
            lleval_dir_list_release(&list);
        }
    }
}

/* Starts part idx (1-based) of a dataset and temperature: its folder made,
 * its temp file opened. */
static int new_part(struct build *b, struct temp_parts *tp, const char *model, const char *name,
                    struct lleval_err *err)
{
    struct lleval_part_info *pi;
    char tdir[40], *rel, *dir;
    int rc;
    tp->parts = lleval_xrealloc(tp->parts, (tp->n_parts + 1) * sizeof(*tp->parts));
    pi = &tp->parts[tp->n_parts++];
    memset(pi, 0, sizeof(*pi));
    lleval_temp_dir(tdir, sizeof(tdir), tp->temp);
    pi->model = model ? lleval_xstrdup(model) : NULL;
    pi->folder = lleval_trial_folder(model, name);
    pi->dataset = lleval_xstrdup(name);
    pi->temp = tp->temp;
    pi->index = (long)tp->n_parts;
    rel = lleval_xasprintf("%s/%s", pi->folder, tdir);
    dir = lleval_path_join(b->out_dir, rel);
    free(rel);
    note_new_folders(b, dir);
    rc = lleval_mkdirs(dir, err);
    rel = lleval_xasprintf("part-%03zu.jsonl", tp->n_parts);
    pi->batch_path = lleval_path_join(dir, rel);
    free(rel);
    free(dir);
    lleval_sb_reset(&tp->buf);
    tp->bytes = 0;
    if (!rc)
        rc = lleval_atomic_open(&tp->af, pi->batch_path, err);
    return rc;
}

/* Writes the rest of the last part and files it among the finished ones. */
static int finish_part(struct build *b, struct temp_parts *tp, struct lleval_err *err)
{
    int rc = lleval_atomic_write(&tp->af, tp->buf.buf, tp->buf.len, err);
    lleval_sb_reset(&tp->buf);
    if (!rc)
        rc = lleval_atomic_finish(&tp->af, err);
    LLEVAL_GROW(b->done, b->n_done, b->cap_done);
    b->done[b->n_done++] = tp->af;
    memset(&tp->af, 0, sizeof(tp->af));
    return rc;
}

/* The body's members after "messages", up to the seed's value, for item type t. */
static void make_tail(struct lleval_sb *sb, const struct lleval_config *cfg,
                      enum lleval_item_type t, double temp)
{
    bool first = false;
    lleval_jw_key(sb, &first, "max_tokens");
    lleval_jw_int(sb, cfg->max_new_tokens[t]);
    lleval_jw_key(sb, &first, "temperature");
    lleval_jw_real(sb, temp);
    lleval_jw_key(sb, &first, "top_p");
    lleval_jw_real(sb, cfg->top_p);
    lleval_jw_key(sb, &first, "top_k");
    lleval_jw_int(sb, cfg->top_k);
    lleval_jw_key(sb, &first, "stop");
    lleval_sb_addch(sb, '[');
    for (size_t i = 0; i < cfg->n_stop; i++) {
        if (i)
            lleval_sb_addch(sb, ',');
        lleval_jw_str(sb, cfg->stop[i]);
    }
    lleval_sb_addch(sb, ']');
    lleval_jw_key(sb, &first, "seed");
}

/* The "messages" member of item v with prompt type pt, into b->msgs. */
static void make_messages(struct build *b, const struct lleval_prompt_type *pt,
                          const struct lleval_item_view *v)
{
    enum lleval_item_type type = v->type;
    struct lleval_sb *m = &b->msgs;
    lleval_sb_reset(&b->sys);
    lleval_sb_reset(&b->user);
    render_view(&b->sys, pt->system[type] ? pt->system[type] : "", v);
    render_view(&b->user, pt->user[type] ? pt->user[type] : "{question}", v);
    if (type == LLEVAL_OPEN_BOOK && v->unanswerable) {
        /* SQuAD 2.0: every question of the dataset is told how to abstain */
        if (b->sys.len)
            lleval_sb_addch(&b->sys, ' ');
        lleval_sb_adds(&b->sys, b->abstain);
    }
    lleval_sb_reset(m);
    lleval_sb_adds(m, ",\"messages\":[");
    if (b->sys.len) {
        lleval_sb_adds(m, "{\"role\":\"system\",\"content\":");
        lleval_jw_strn(m, b->sys.buf, b->sys.len);
        lleval_sb_adds(m, "},");
    }
    lleval_sb_adds(m, "{\"role\":\"user\",\"content\":");
    lleval_jw_strn(m, b->user.buf, b->user.len);
    lleval_sb_addch(m, '}');
    lleval_sb_addch(m, ']');
}

/* Adds b->line (one request) to tp's current part, opening the next part
 * first when the line would take the part over the provider's limits. */
static int put_line(struct build *b, struct temp_parts *tp, const char *model, const char *name,
                    struct lleval_err *err)
{
    struct lleval_part_info *pi = &tp->parts[tp->n_parts - 1];
    int rc = 0;
    if (pi->requests && over_limits(b->lim, pi->requests + 1, tp->bytes + (long long)b->line.len)) {
        /* the provider's limit per file: this line opens the next part */
        rc = finish_part(b, tp, err);
        if (!rc)
            rc = new_part(b, tp, model, name, err);
        if (rc)
            return rc;
        pi = &tp->parts[tp->n_parts - 1];
    }
    lleval_sb_add(&tp->buf, b->line.buf, b->line.len);
    tp->bytes += (long long)b->line.len;
    pi->requests++;
    if (tp->buf.len >= PART_FLUSH_BYTES) {
        rc = lleval_atomic_write(&tp->af, tp->buf.buf, tp->buf.len, err);
        lleval_sb_reset(&tp->buf);
    }
    return rc;
}

/* The requests of item v: prompt types x samples x temperatures. */
static int add_item(struct build *b, struct temp_parts *tps, const char *model, const char *name,
                    const struct lleval_item_view *v, struct lleval_err *err)
{
    const struct lleval_config *cfg = b->cfg;
    long samples = cfg->samples > 0 ? cfg->samples : 1;
    size_t cid_item;
    int rc = 0;

    /* the custom_id up to the prompt type: [model:]dataset:item: */
    lleval_sb_setlen(&b->cid, 0);
    if (cfg->n_models > 1) {
        cid_escape(&b->cid, model);
        lleval_sb_addch(&b->cid, ':');
    }
    cid_escape(&b->cid, name);
    lleval_sb_addch(&b->cid, ':');
    cid_escape(&b->cid, v->id);
    lleval_sb_addch(&b->cid, ':');
    cid_item = b->cid.len;
    for (size_t k = 0; k < b->set->n_types && !rc; k++) {
        const struct lleval_prompt_type *pt = &b->set->types[k];
        make_messages(b, pt, v);
        lleval_sb_setlen(&b->cid, cid_item);
        cid_escape(&b->cid, pt->name);
        lleval_sb_add(&b->cid, ":t", 2);
        for (long s = 0; s < samples && !rc; s++)
            for (size_t t = 0; t < cfg->n_temps && !rc; t++) {
                struct temp_parts *tp = &tps[t];
                char num[32];
                struct lleval_sb *l = &b->line;
                lleval_sb_reset(l);
                lleval_sb_add(l, "{\"custom_id\":\"", 14);
                lleval_sb_add(l, b->cid.buf, b->cid.len);
                lleval_sb_adds(l, lleval_fmt_num(num, sizeof(num), tp->temp));
                lleval_sb_add(l, ":s", 2);
                lleval_jw_int(l, s);
                lleval_sb_add(l, "\"", 1);
                lleval_sb_add(l, b->head.buf, b->head.len);
                lleval_sb_add(l, b->msgs.buf, b->msgs.len);
                lleval_sb_add(l, tp->tail[v->type].buf, tp->tail[v->type].len);
                lleval_jw_int(l, (long long)cfg->seed + s);
                lleval_sb_add(l, "}}\n", 3);
                rc = put_line(b, tp, model, name, err);
            }
    }
    return rc;
}

/* The parts of one dataset (index d) for one model (NULL: the run's one model). */
static int build_dataset(struct build *b, const char *model, size_t d,
                         struct lleval_build_result *res, struct lleval_err *err)
{
    const struct lleval_config *cfg = b->cfg;
    const char *name = cfg->datasets[d].name;
    const char *body_model = model ? model : (cfg->model_id ? cfg->model_id : "");
    struct lleval_item_reader rd;
    const struct lleval_item_view *v;
    struct temp_parts *tps;
    size_t n, parts, slice = 0, hi, i = 0;
    int rc, more = 0;

    rc = lleval_item_reader_open(&rd, cfg->prepared_dir, name, err);
    if (rc)
        return rc;
    n = rd.want > 0 ? (size_t)rd.want : 0;
    if (cfg->limit_items > 0 && (size_t)cfg->limit_items < n)
        n = (size_t)cfg->limit_items;
    parts = cfg->parts_per_dataset > 0 ? (size_t)cfg->parts_per_dataset : 1;
    if (parts > n)
        parts = n ? n : 1;
    /* the body up to "messages": the same for every request of the model */
    lleval_sb_reset(&b->head);
    lleval_sb_adds(&b->head, ",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":"
                             "{\"model\":");
    lleval_jw_str(&b->head, body_model);
    tps = lleval_xcalloc(cfg->n_temps ? cfg->n_temps : 1, sizeof(*tps));
    for (size_t t = 0; t < cfg->n_temps && !rc; t++) {
        tps[t].temp = cfg->temps[t];
        lleval_sb_init(&tps[t].buf, 0);
        for (int k = 0; k < LLEVAL_N_ITEM_TYPES; k++) {
            lleval_sb_init(&tps[t].tail[k], 0);
            make_tail(&tps[t].tail[k], cfg, (enum lleval_item_type)k, tps[t].temp);
        }
        rc = new_part(b, &tps[t], model, name, err);
    }
    /* contiguous, nearly equal slices: [n*p/parts, n*(p+1)/parts); every item
     * is read (and checked), the first n make requests */
    hi = n / parts;
    while (!rc && (more = lleval_item_reader_next(&rd, &v, err)) == 1) {
        if (i >= n) {
            i++;
            continue;
        }
        while (i >= hi && slice + 1 < parts) {
            slice++;
            hi = n * (slice + 1) / parts;
            for (size_t t = 0; t < cfg->n_temps && !rc; t++) {
                rc = finish_part(b, &tps[t], err);
                if (!rc)
                    rc = new_part(b, &tps[t], model, name, err);
            }
        }
        if (!rc)
            rc = add_item(b, tps, model, name, v, err);
        i++;
    }
    if (!rc && more < 0)
        rc = more;
    for (size_t t = 0; t < cfg->n_temps; t++) {
        if (!rc)
            rc = finish_part(b, &tps[t], err);
        else
            lleval_atomic_abort(&tps[t].af);
    }
    /* the parts in the order of the slices, temperature by temperature */
    for (size_t t = 0; t < cfg->n_temps; t++) {
        struct temp_parts *tp = &tps[t];
        res->parts =
            lleval_xrealloc(res->parts, (res->n_parts + tp->n_parts) * sizeof(*res->parts));
        for (size_t p = 0; p < tp->n_parts; p++) {
            res->total_requests += tp->parts[p].requests;
            res->parts[res->n_parts++] = tp->parts[p];
        }
        free(tp->parts);
        lleval_sb_release(&tp->buf);
        for (int k = 0; k < LLEVAL_N_ITEM_TYPES; k++)
            lleval_sb_release(&tp->tail[k]);
    }
    free(tps);
    lleval_item_reader_close(&rd);
    return rc;
}

int lleval_build_batches(const struct lleval_config *cfg, const char *out_dir,
                         struct lleval_build_result *res, struct lleval_err *err)
{
    const struct lleval_prompt_set *set = lleval_config_prompt_set(cfg);
    size_t n_models = cfg->n_models > 1 ? cfg->n_models : 1;
    struct build b;
    int rc = 0;

    memset(res, 0, sizeof(*res));
    if (!set)
        return lleval_err_set(err, LLEVAL_EINVAL, "prompt set '%s' is not defined",
                              cfg->prompt_set ? cfg->prompt_set : "");
    if (!cfg->n_datasets)
        return lleval_err_set(err, LLEVAL_EINVAL,
                              "no datasets configured: add a 'datasets:' list to the config");
    memset(&b, 0, sizeof(b));
    b.cfg = cfg;
    b.set = set;
    b.out_dir = out_dir;
    b.lim = part_limits(cfg);
    b.abstain = lleval_prompt_abstain(cfg);
    lleval_sb_init(&b.sys, 0);
    lleval_sb_init(&b.user, 0);
    lleval_sb_init(&b.msgs, 0);
    lleval_sb_init(&b.line, 0);
    lleval_sb_init(&b.cid, 0);
    lleval_sb_init(&b.head, 0);
    /* model-major: all of one model's parts before the next model's (the poll asks in
     * this order, so an engine holds one model at a time) */
    for (size_t m = 0; m < n_models && !rc; m++)
        for (size_t d = 0; d < cfg->n_datasets && !rc; d++)
            rc = build_dataset(&b, cfg->n_models > 1 ? cfg->models[m] : NULL, d, res, err);
    /* every part file in place only once all were written */
    for (size_t i = 0; i < b.n_done; i++) {
        if (!rc)
            rc = lleval_atomic_commit(&b.done[i], err);
        else
            lleval_atomic_abort(&b.done[i]);
    }
    if (!rc)
        rc = write_build_json(out_dir, res, err);
    if (rc)
        remove_new_folders(&b);
    for (size_t i = 0; i < b.n_made; i++)
        free(b.made[i]);
    free(b.made);
    free(b.done);
    free(b.abstain);
    lleval_sb_release(&b.sys);
    lleval_sb_release(&b.user);
    lleval_sb_release(&b.msgs);
    lleval_sb_release(&b.line);
    lleval_sb_release(&b.cid);
    lleval_sb_release(&b.head);
    if (rc)
        lleval_build_result_release(res);
    return rc;
}

int lleval_build_load(const char *out_dir, struct lleval_build_result *res, struct lleval_err *err)
{
    char *path = lleval_path_join(out_dir, "build.json");
    json_t *root = lleval_json_load_file(path, err);
    json_t *parts, *p;
    size_t i;
    int rc = 0;

    memset(res, 0, sizeof(*res));
    if (!root) {
        if (!lleval_path_exists(path))
            rc = lleval_err_set(err, LLEVAL_EINVAL,
                                "no batches in '%s': run `lleval build` first, or drop "
                                "--skip_build",
                                out_dir);
        else /* lleval wrote it: damaged (exit 4) */
            rc = lleval_run_err_damaged(err, LLEVAL_RUN_FIX_BATCH);
        free(path);
        return rc;
    }
    parts = json_object_get(root, "parts");
    json_array_foreach(parts, i, p)
    {
        const char *ds = lleval_json_str(p, "dataset"), *rel = lleval_json_str(p, "path");
        const char *model = lleval_json_str(p, "model");
        struct lleval_part_info *pi;
        if (!ds || !rel || strstr(rel, "..") || (json_object_get(p, "model") && !model)) {
            lleval_err_set(err, LLEVAL_EIO, "%s: part %zu is malformed", path, i + 1);
            rc = lleval_run_err_damaged(err, LLEVAL_RUN_FIX_BATCH);
            break;
        }
        pi = add_part(res);
        pi->model = model ? lleval_xstrdup(model) : NULL;
        pi->folder = lleval_trial_folder(model, ds);
        pi->dataset = lleval_xstrdup(ds);
        pi->temp = lleval_json_num(p, "temperature", 0);
        pi->index = (long)lleval_json_int(p, "part", (long long)i + 1);
        pi->batch_path = lleval_path_join(out_dir, rel);
        pi->requests = (long)lleval_json_int(p, "requests", 0);
        res->total_requests += pi->requests;
    }
    json_decref(root);
    free(path);
    if (rc)
        lleval_build_result_release(res);
    return rc;
}

/* ---- reading request lines back ---------------------------------------------------- */

int lleval_request_open(struct lleval_request_reader *rr, const char *batch_path,
                        struct lleval_err *err)
{
    memset(rr, 0, sizeof(*rr));
    if (lleval_lines_open(&rr->lines, batch_path, err)) /* lleval wrote it: exit 4 */
        return lleval_run_err_damaged(err, LLEVAL_RUN_FIX_BATCH);
    return 0;
}

int lleval_request_next(struct lleval_request_reader *rr, const struct lleval_request_view **v,
                        struct lleval_err *err)
{
    return lleval_request_next_skip(rr, NULL, NULL, v, err);
}

int lleval_request_next_skip(struct lleval_request_reader *rr,
                             bool (*skip)(void *ud, const char *custom_id), void *ud,
                             const struct lleval_request_view **v, struct lleval_err *err)
{
    struct lleval_request_view *rv = &rr->view;
    char cid[512];
    int more;
    const json_t *m;
    size_t k;

    json_decref(rv->line);
    memset(rv, 0, sizeof(*rv));
    for (;;) {
        more = lleval_lines_next(&rr->lines, err);
        if (more <= 0)
            return more;
        if (!rr->lines.len)
            continue;
        if (skip && lleval_request_quick_cid(rr->lines.line, rr->lines.len, cid, sizeof(cid)) &&
            skip(ud, cid))
            continue;
        break;
    }
    rv->lineno = rr->lines.lineno;
    rv->line = json_loadb(rr->lines.line, rr->lines.len, 0, NULL);
    rv->custom_id = lleval_json_str(rv->line, "custom_id");
    rv->body = json_object_get(rv->line, "body");
    if (!json_is_object(rv->body))
        rv->body = NULL;
    rv->max_tokens = (long)lleval_json_int(rv->body, "max_tokens", 0);
    json_array_foreach(json_object_get(rv->body, "messages"), k, m)
    {
        const char *c = lleval_json_str(m, "content");
        rv->prompt_chars += c ? strlen(c) : 0;
    }
    *v = rv;
    return 1;
}

void lleval_request_close(struct lleval_request_reader *rr)
{
    json_decref(rr->view.line);
    lleval_lines_close(&rr->lines);
    memset(rr, 0, sizeof(*rr));
}

bool lleval_request_quick_cid(const char *line, size_t len, char *buf, size_t size)
{
    static const char prefix[] = "{\"custom_id\":\"";
    const size_t np = sizeof(prefix) - 1;
    const char *end;
    if (len <= np || memcmp(line, prefix, np))
        return false;
    end = memchr(line + np, '"', len - np);
    if (!end || (size_t)(end - line - np) >= size ||
        memchr(line + np, '\\', (size_t)(end - line - np)))
        return false;
    memcpy(buf, line + np, (size_t)(end - line - np));
    buf[end - line - np] = '\0';
    return true;
}
