/*
 * Batch requests: custom_id encoding and the build step that turns prepared
 * items x prompt types x temperatures x samples into part files in the OpenAI
 * batch input format (docs/formats.md).
 */
#ifndef LLEVAL_BATCH_H
#define LLEVAL_BATCH_H

#include <jansson.h>
#include <stddef.h>
#include <stdbool.h>
#include "lleval/config/config.h"
#include "lleval/platform/fs.h"
#include "lleval/util/error.h"
#include "lleval/util/util.h"

/* The decoded parts of a custom_id. Strings owned; release with lleval_cid_release(). */
struct lleval_cid {
    char *model; /* a run of several models: the model; NULL for one model (5 components) */
    char *dataset;
    char *item_id;
    char *prompt_type;
    char *temp; /* as written in the id: "0", "0.7" */
    long sample;
};
void lleval_cid_release(struct lleval_cid *c);

/* Appends the custom_id for the parts to sb. Any bytes are allowed in item_id. */
void lleval_cid_encode(struct lleval_sb *sb, const char *dataset, const char *item_id,
                       const char *prompt_type, double temp, long sample);
/* The same with the model first ("<model>:<dataset>:..."), for a run of several
 * models; model NULL is lleval_cid_encode. */
void lleval_cid_encode_model(struct lleval_sb *sb, const char *model, const char *dataset,
                             const char *item_id, const char *prompt_type, double temp,
                             long sample);
/* A model's folder in a run of several models (batches/<folder>/..., parts/...,
 * results/parts/...): the model id escaped as in a custom_id. Returns owned text. */
char *lleval_model_folder(const char *model);
/* The folder of a part's trial below batches/, parts/ and results/parts/:
 * "<dataset>", or "<model folder>/<dataset>" when model is not NULL. Owned. */
char *lleval_trial_folder(const char *model, const char *dataset);
/* Decodes (five components, or six with the model first); LLEVAL_EINVAL (err says why) for anything
 * that encode cannot produce. */
int lleval_cid_decode(const char *custom_id, struct lleval_cid *out, struct lleval_err *err);
/* lleval_cid_decode() without an allocation per component: out's strings
 * are borrowed from buf (reset first; the caller owns and releases it) and
 * live until buf's next use. Never pass out to lleval_cid_release(). */
int lleval_cid_decode_in(const char *custom_id, struct lleval_cid *out, struct lleval_sb *buf,
                         struct lleval_err *err);

/* Directory name of a temperature: "t0", "t0.7". Writes into buf. */
const char *lleval_temp_dir(char *buf, size_t size, double temp);

/* Renders a template with {question} {context} {choices} {choice_letters}
 * from a prepared item (borrowed); returns owned text. Unknown placeholders
 * are kept as written. */
char *lleval_render_prompt(const char *tmpl, const json_t *item);

/* One part file written by the build. */
struct lleval_part_info {
    char *model;  /* a run of several models: its model (owned); NULL for one model */
    char *folder; /* owned: lleval_trial_folder(model, dataset), the paths' dataset part */
    char *dataset;
    double temp;
    long index;       /* 1-based */
    char *batch_path; /* owned */
    long requests;
};

struct lleval_build_result {
    struct lleval_part_info *parts;
    size_t n_parts;
    long total_requests;
};
void lleval_build_result_release(struct lleval_build_result *r);

/*
 * Builds request files under out_dir/<dataset>/t<temp>/part-NNN.jsonl (a run of
 * several models, cfg->n_models > 1: out_dir/<model folder>/<dataset>/..., all of
 * the first model's parts first) for every dataset in cfg (prepared in cfg->prepared_dir),
 * honouring limit_items, parts_per_dataset, the prompt set, temps and samples. Writes
 * out_dir/build.json listing the parts. The prepared items are read one at a time and
 * every request line goes to its part's temp file as it is made (memory does not grow
 * with the dataset); every part file is put in place (atomically) only once the whole
 * build succeeded, then build.json.
 */
int lleval_build_batches(const struct lleval_config *cfg, const char *out_dir,
                         struct lleval_build_result *res, struct lleval_err *err);

/* Loads out_dir/build.json (written by lleval_build_batches). */
int lleval_build_load(const char *out_dir, struct lleval_build_result *res, struct lleval_err *err);

/* ---- reading request lines back ------------------------------------------------ */

/*
 * The one reader of batch request lines (the writer is the build above):
 * the poll step, parse's reconciliation, doctor and the context check read
 * the part files through it. Fields are borrowed until the next call.
 */
struct lleval_request_view {
    long lineno;           /* 1-based line in the part file */
    const char *custom_id; /* NULL when the line has none (or is not JSON) */
    const json_t *body;    /* the request body object, NULL when missing */
    long max_tokens;       /* body.max_tokens, 0 when absent */
    size_t prompt_chars;   /* bytes of all message contents */
    json_t *line;          /* the whole line, NULL when it is not JSON */
};

/* The tokens one request needs at most, as lleval estimates them: its prompt
 * (characters / 4) + 8 for the chat template + max_tokens. */
static inline long lleval_request_need(const struct lleval_request_view *v)
{
    return (long)(v->prompt_chars / 4) + 8 + v->max_tokens;
}

struct lleval_request_reader {
    struct lleval_lines lines;
    struct lleval_request_view view;
};

/* Opens a part file; err is NULL for a lenient caller (then only the code). */
int lleval_request_open(struct lleval_request_reader *rr, const char *batch_path,
                        struct lleval_err *err);
/* The next non-empty line: 1 with *v filled (borrowed until the next call),
 * 0 at the end, negative on a read error. A line that is not a request line
 * is returned with custom_id / body NULL: the caller decides. */
int lleval_request_next(struct lleval_request_reader *rr, const struct lleval_request_view **v,
                        struct lleval_err *err);
/* As lleval_request_next, but a line whose custom_id, read without parsing
 * the line (lleval_request_quick_cid), makes skip(ud, id) true is passed over
 * unparsed: the poll step skips the requests answered before this way. */
int lleval_request_next_skip(struct lleval_request_reader *rr,
                             bool (*skip)(void *ud, const char *custom_id), void *ud,
                             const struct lleval_request_view **v, struct lleval_err *err);
void lleval_request_close(struct lleval_request_reader *rr);

/* The custom_id at the start of a request line as the build writes it
 * ({"custom_id":"..."; ids are printable ASCII without quotes or
 * backslashes), copied into buf, without parsing the line: false for any
 * other shape (then read the line with the reader). */
bool lleval_request_quick_cid(const char *line, size_t len, char *buf, size_t size);

#endif
