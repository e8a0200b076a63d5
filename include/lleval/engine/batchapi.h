/*
 * Cloud batch engines (openai_batch, fireworks_batch): the interface a batch
 * provider implements, and the state of one part's remote job.
 *
 * As for the chat adapters (engine.h), a provider does no I/O: it builds
 * each HTTP request from the job's state (lleval_batch_provider.next) and
 * reads each reply back into the job (lleval_batch_provider.reply). The
 * driver (lib/run/remote.c) moves the bytes with blocking HTTP, records the
 * job in the part's state.json whenever it changed (before the next request
 * goes out, so a crash never loses a remote id), appends downloaded result
 * lines to the part's journal exactly once, and resubmits the requests a
 * job left unanswered.
 *
 * A part has one job at a time: attempt 1 uploads the part file; a later
 * attempt uploads a file of the requests still missing after the earlier
 * ones ended (failed, expired, cancelled, or rows absent from the output).
 *
 * The life of a job, as the provider moves it (phase):
 *   NEW -> UPLOADING -> UPLOADED -> CREATING -> SUBMITTED -> ENDED -> COLLECTED
 * UPLOADING and CREATING are recorded before the upload / create request is
 * sent: a session that finds a job in one of them (a crash between the
 * request and the record of its reply) first looks the object up remotely
 * (a file with the job's upload_name, a job for its input_id) and adopts
 * it, so nothing is uploaded or submitted twice.
 */
#ifndef LLEVAL_BATCHAPI_H
#define LLEVAL_BATCHAPI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "lleval/config/config.h"
#include "lleval/util/error.h"

/* Where a job is, as the driver needs to know it. */
enum lleval_bjob_phase {
    LLEVAL_BJOB_NEW = 0,   /* nothing remote yet */
    LLEVAL_BJOB_UPLOADING, /* the upload was (maybe) sent; input_id not known yet */
    LLEVAL_BJOB_UPLOADED,  /* input_id recorded */
    LLEVAL_BJOB_CREATING,  /* the create was (maybe) sent; job_id not known yet */
    LLEVAL_BJOB_SUBMITTED, /* job_id recorded; the job runs remotely */
    LLEVAL_BJOB_ENDED,     /* the job reached a final status; its outputs are to collect */
    LLEVAL_BJOB_COLLECTED, /* every output of the job is in the journal */
};
/* "new", "uploading", ... (static); lleval_bjob_phase_parse: 0 or LLEVAL_EINVAL. */
const char *lleval_bjob_phase_name(enum lleval_bjob_phase p);
int lleval_bjob_phase_parse(const char *s, enum lleval_bjob_phase *out);

/* The remote job's status, normalized (OpenAI's words; Fireworks' states map onto them). */
enum lleval_bjob_status {
    LLEVAL_BJOB_S_NONE = 0, /* not known yet (no job, or not polled yet) */
    LLEVAL_BJOB_S_VALIDATING,
    LLEVAL_BJOB_S_IN_PROGRESS,
    LLEVAL_BJOB_S_FINALIZING,
    LLEVAL_BJOB_S_COMPLETED, /* final */
    LLEVAL_BJOB_S_FAILED,    /* final */
    LLEVAL_BJOB_S_EXPIRED,   /* final */
    LLEVAL_BJOB_S_CANCELLING,
    LLEVAL_BJOB_S_CANCELLED, /* final */
};
/* "none", "validating", "in_progress", ... (static); parse: 0 or LLEVAL_EINVAL. */
const char *lleval_bjob_status_name(enum lleval_bjob_status s);
int lleval_bjob_status_parse(const char *s, enum lleval_bjob_status *out);
/* True for completed, failed, expired and cancelled. */
bool lleval_bjob_status_final(enum lleval_bjob_status s);

/*
 * One part's remote job, as recorded in the "remote" object of the part's
 * state.json (docs/formats.md). Every string owned (NULL: not known);
 * lleval_bjob_init / lleval_bjob_release.
 */
struct lleval_bjob {
    char *provider;      /* "openai_batch" */
    long attempt;        /* 1-based; attempt N > 1 sends the requests still missing */
    char *input;         /* the file to upload, relative to the run directory */
    long input_requests; /* its request lines */
    char *upload_name;   /* the name it is uploaded under: unique per run, part and attempt */
    enum lleval_bjob_phase phase;
    char *input_id; /* the uploaded file (OpenAI file id; Fireworks dataset id) */
    char *job_id;   /* the remote job (OpenAI batch id; Fireworks job id) */
    enum lleval_bjob_status status;
    char *remote_status;           /* the provider's own word for the status */
    long total, completed, failed; /* request_counts / jobProgress; -1 unknown */
    char *output_id, *error_id;    /* output and error files (OpenAI file ids), when known */
    bool output_done, error_done;  /* that file was collected into the journal */
    char *message;                 /* why the job failed (the provider's errors), or NULL */
    bool cancel_sent;              /* a cancel was requested for this job */
    json_t *extra;                 /* the provider's own fields: an object, owned, never NULL
                                      after init */
    json_t *transient;             /* the provider's fields for this session only (signed
                                      URLs: secrets for their lifetime), never written to
                                      state.json: an object, owned, never NULL after init */
};
void lleval_bjob_init(struct lleval_bjob *j);
void lleval_bjob_release(struct lleval_bjob *j);
/* Returns the owned JSON object recorded in state.json ("remote"). */
json_t *lleval_bjob_to_json(const struct lleval_bjob *j);
/* Reads o (borrowed; a "remote" object) into j (initialized here; release it
 * even on failure). LLEVAL_EINVAL naming the field when one is of the wrong type. */
int lleval_bjob_from_json(const json_t *o, struct lleval_bjob *j, struct lleval_err *err);

/* What the driver does with a request's reply body. */
enum lleval_batch_sink {
    LLEVAL_BATCH_SINK_MEMORY = 0, /* a small JSON reply: handed to reply() */
    LLEVAL_BATCH_SINK_OUTPUT,     /* a results file: its lines go to the journal (result_line()),
                                     then reply() is called with body NULL */
    LLEVAL_BATCH_SINK_ERRORS,     /* the same for an error file */
};

enum lleval_batch_method {
    LLEVAL_BATCH_GET = 0,
    LLEVAL_BATCH_POST,
    LLEVAL_BATCH_PUT,
    LLEVAL_BATCH_DELETE,
};

/* One HTTP request of a provider. Everything owned; lleval_batch_request_release. */
struct lleval_batch_request {
    const char *step; /* static tag the provider reads back in reply(): "upload", "create", ... */
    enum lleval_batch_method method;
    char *url;
    char **headers; /* "Name: value" lines, Authorization included (a secret: never logged) */
    size_t n_headers;
    char *body; /* a JSON body, or NULL */
    /* a multipart/form-data body instead (body NULL): the text fields, then
     * the file at upload_path (absolute) as field upload_field named upload_name */
    char **form_names, **form_values;
    size_t n_form;
    char *upload_path, *upload_field, *upload_name;
    bool raw_file; /* PUT/POST the file at upload_path as the raw body (a signed upload URL) */
    enum lleval_batch_sink sink;
    bool expect_404; /* informational: a 404 is an answer reply() reads (a lookup) */
};
void lleval_batch_request_init(struct lleval_batch_request *r);
void lleval_batch_request_release(struct lleval_batch_request *r);
/* Appends an owned copy of "name: value". */
void lleval_batch_request_header(struct lleval_batch_request *r, const char *name,
                                 const char *value);
/* Appends a multipart text field (copied). */
void lleval_batch_request_form(struct lleval_batch_request *r, const char *name, const char *value);

/* What a provider's functions read. Everything borrowed. */
struct lleval_batch_ctx {
    const struct lleval_config *cfg; /* base_url, completion_window, account ids, limits */
    const char *base_url;            /* without a trailing slash */
    const char *api_key;             /* a secret, or NULL: goes into headers only */
    const char *run_id;
    const char *part;    /* "nq_open/t0/part-001" */
    const char *model;   /* the model the part's requests name */
    const char *run_dir; /* absolute paths: run_dir + "/" + job->input */
};

/* What next() asks the driver to do. */
enum lleval_batch_next {
    LLEVAL_BATCH_NEXT_HTTP = 0, /* perform *out now, then call reply() */
    LLEVAL_BATCH_NEXT_POLL,     /* perform *out after the poll interval (a status check) */
    LLEVAL_BATCH_NEXT_DONE,     /* nothing left: the job is COLLECTED */
};

/* How a reply went (reply()'s return). */
enum lleval_batch_verdict {
    LLEVAL_BATCH_OK = 0, /* the job was updated; call next() again */
    LLEVAL_BATCH_RETRY,  /* transient (429, 5xx, no reply, a download cut short): redo the same
                            request after a backoff (bounded by max_retries) */
    LLEVAL_BATCH_FAIL,   /* final: err says why; the run stops (resumable) */
};

/*
 * A provider: pure functions of the job's state. A provider never blocks,
 * never prints, never touches files except to name them in requests.
 */
struct lleval_batch_provider {
    const char *name; /* the engine's name: "openai_batch" */
    /* the provider's limits per input file (the config's batch.max_requests /
     * batch.max_bytes may lower them, never raise them) */
    long max_requests;
    long long max_bytes;
    /*
     * The next request for job j (which it may move on: NEW -> UPLOADING is
     * recorded before the upload goes out). out is initialized by the
     * driver; on HTTP/POLL the provider fills it. Returns the action, or a
     * negative LLEVAL_E* code with err (a job in a state the provider cannot
     * go on from).
     */
    int (*next)(const struct lleval_batch_ctx *c, struct lleval_bjob *j,
                struct lleval_batch_request *out, struct lleval_err *err);
    /*
     * Reads the reply to req (borrowed; the one next() built) into j: ids,
     * status, counts, output refs, phase. status 0 means no complete reply
     * (connection failed or the body was cut short). body is NULL for a 2xx
     * reply to a sink other than MEMORY (the driver journaled the file
     * already); any other reply's body is passed (an error text). Every
     * status reaches reply(): a lookup may read a 404 as "not there".
     */
    enum lleval_batch_verdict (*reply)(const struct lleval_batch_ctx *c, struct lleval_bjob *j,
                                       const struct lleval_batch_request *req, long status,
                                       const char *body, size_t len, struct lleval_err *err);
    /*
     * Builds the request that cancels j's remote job into out. Returns 1
     * when it built one, 0 when there is nothing to cancel (no job yet, or
     * ended). Its reply goes to reply() (step "cancel").
     */
    int (*cancel)(const struct lleval_batch_ctx *c, const struct lleval_bjob *j,
                  struct lleval_batch_request *out, struct lleval_err *err);
    /*
     * Converts one line of a downloaded output or error file (borrowed) into
     * an OpenAI batch output line ({custom_id, response: {status_code, body},
     * error}) as `lleval import` reads it (import.h), owned. NULL with
     * err->code 0: the line is no result (a request the job never ran, e.g.
     * expired or cancelled): the request stays missing, for the next
     * attempt. NULL with err->code set: the line is malformed (counted and
     * reported, never written). A NULL function: every line is that already.
     */
    json_t *(*result_line)(const struct lleval_batch_ctx *c, const json_t *line,
                           struct lleval_err *err);
};

/* The provider of a batch engine, or NULL for an engine that is not one. Static. */
const struct lleval_batch_provider *lleval_batch_provider_for(enum lleval_engine_kind k);
/* True when k is a cloud batch engine. */
bool lleval_engine_is_batch(enum lleval_engine_kind k);

/* The providers (lib/engine/<name>.c). */
extern const struct lleval_batch_provider lleval_batch_openai;

/*
 * Shared pieces for providers (lib/engine/batchapi.c):
 * lleval_batch_classify: 2xx OK, 0 / 408 / 409 / 425 / 429 / 5xx RETRY, else FAIL
 * (err says "<what> replied HTTP <status>: <the provider's error text>").
 */
enum lleval_batch_verdict lleval_batch_classify(long status, const char *what, const char *body,
                                                size_t len, struct lleval_err *err);
/* The bearer header ("Authorization: Bearer <key>") when key is set and not empty. */
void lleval_batch_request_auth(struct lleval_batch_request *r, const char *key);

#endif
