/*
 * Every item, scored (docs/formats.md, "items.csv and items.jsonl"): one row
 * per scored row of predictions.csv with the item's question and gold
 * answers, the raw and the extracted answer, each metric's verdict, the
 * finish reason, latency, tokens and error. The one module that writes the
 * two files (the score step and `lleval score`) and the one reader of
 * items.jsonl (`lleval runs items`, later the HTML explorer), with the
 * filters and orders the terminal offers (lib/score/items_query.c).
 *
 * A metric that does not apply is NaN in the struct, null in JSONL and an
 * empty cell in CSV: EM, F1 and contains on a multiple-choice item, the
 * letter on a QA item; latency and tokens that the engine did not report.
 *
 * Ownership: a row handed to a callback is borrowed, valid during the call
 * only; path parameters are borrowed.
 */
#ifndef LLEVAL_ITEMS_H
#define LLEVAL_ITEMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lleval/score/score.h"
#include "lleval/util/error.h"
#include "lleval/util/util.h"

/* The file names, in results/ of a run or in `lleval score --out-dir`. */
#define LLEVAL_ITEMS_CSV   "items.csv"
#define LLEVAL_ITEMS_JSONL "items.jsonl"

/* One item. Every string is borrowed (never NULL; "" when absent). */
struct lleval_item_row {
    const char *custom_id, *dataset, *item_id, *type, *prompt_type;
    const char *temperature; /* short form: "0", "0.7" */
    long sample;
    bool ok; /* status ok (else error: the request failed for good) */
    const char *question;
    const char *const *gold; /* the gold answers; multiple choice: the gold letter */
    size_t n_gold;
    const char *const *choices; /* multiple choice: the options (A, B, ...); else none */
    size_t n_choices;
    const char *prediction;  /* the model's text as returned */
    const char *answer;      /* the extracted answer that was scored */
    bool mc;                 /* multiple choice: mc_letter applies, em/f1/contains do not */
    double em, f1, contains; /* 0..1; NaN when they do not apply (multiple choice) */
    char mc_letter;          /* multiple choice: 'A'.. chosen, 0 when no letter was read */
    bool correct;            /* QA: em == 1; multiple choice: the gold letter */
    const char *finish_reason;
    double latency_ms;        /* NaN: unknown */
    const char *latency_text; /* the writer: its predictions.csv cell, or NULL (a fast path) */
    long long prompt_tokens, completion_tokens; /* -1: unknown */
    const char *error;
    long line; /* the reader: the line of items.jsonl; the writer: of predictions.csv */
};

/* Called for each row; a nonzero return stops and is returned. */
typedef int (*lleval_item_row_fn)(const struct lleval_item_row *r, void *ud);

/* ---- writing -------------------------------------------------------------- */

/* Appends the CSV header (RFC 4180, CRLF) to sb. */
void lleval_items_csv_header(struct lleval_sb *sb);
/* Appends r (borrowed) as one CSV record: text cells with the spreadsheet
 * guard (csv.h), gold answers and choices as a JSON array of strings, a
 * metric that does not apply as an empty cell. */
void lleval_items_csv_row(struct lleval_sb *sb, const struct lleval_item_row *r);
/* Appends r (borrowed) as one JSON line (with its "\n"). */
void lleval_items_json_row(struct lleval_sb *sb, const struct lleval_item_row *r);

/* What lleval_items_rows() keeps from row to row: the text of the numbers
 * it printed last (by the double's bits: a row's F1 is one of few values),
 * the text of the items' questions and gold answers (by their bytes: an
 * item comes back once per sample, prompt type and temperature; bounded),
 * and scratch buffers. Init with lleval_items_memo_init, free its contents
 * with lleval_items_memo_release. Its text is redacted as the secrets were
 * when it was written: a memo lives while they stay as they are (they are
 * registered before any file is written). */
#define LLEVAL_ITEMS_MEMO 256
struct lleval_items_memo {
    struct {
        uint64_t bits;
        bool used;
        unsigned char n15, n6;
        char g15[32], g6[24]; /* "%.15g" (items.jsonl), "%.6g" (items.csv) */
    } num[LLEVAL_ITEMS_MEMO];
    struct lleval_sb list;
    /* an item's question and gold answers as both files write them, kept by
     * their bytes (items.c); allocated when first needed */
    struct lleval_items_text *text;
    size_t text_slots, text_used, text_bytes;
    struct lleval_sb key, tj, tc;
};
void lleval_items_memo_init(struct lleval_items_memo *m);
void lleval_items_memo_release(struct lleval_items_memo *m);
/*
 * Appends r (borrowed) to csv as lleval_items_csv_row() and to jsonl as
 * lleval_items_json_row() would, the same bytes, in one pass: each string is
 * measured and redacted once for both files, the gold answers' JSON text is
 * written once for both, and a number's text, and an item's question and
 * gold answers, come from memo (may be NULL) when they were written before.
 */
void lleval_items_rows(struct lleval_sb *csv, struct lleval_sb *jsonl,
                       const struct lleval_item_row *r, struct lleval_items_memo *memo);

/*
 * Scores pred_csv against the prepared datasets (lleval_score_each(), with
 * o's options) and calls fn with each scored row, in file order: unknown
 * and duplicate rows are left out, so the rows are the `n` of scores.json's
 * groups. The question, gold answers and choices come from the prepared
 * files (the whole dataset's questions are held while its rows go by).
 */
int lleval_items_compute(const char *pred_csv, const char *prepared_dir,
                         const struct lleval_score_opts *o, lleval_item_row_fn fn, void *ud,
                         struct lleval_err *err);

/*
 * Writes <out_dir>/items.csv and <out_dir>/items.jsonl from the rows of
 * lleval_items_compute(), each atomically (temp file, fsync, rename), the
 * CSV first. *rows (may be NULL) gets the number of rows. On failure neither
 * temp file is left and a file written before stays as it was.
 */
int lleval_items_write(const char *pred_csv, const char *prepared_dir,
                       const struct lleval_score_opts *o, const char *out_dir, size_t *rows,
                       struct lleval_err *err);

/*
 * lleval_score_run() and lleval_items_write() in one pass over pred_csv
 * (issue 13): the rows go to the items' temp files while the groups are
 * scored; then scores.json is written, then items.csv and items.jsonl are
 * committed. The same files and errors as the two calls one after the other:
 * a failure of the items (their files, the prepared questions) still leaves
 * scores.json written and is returned after it. On failure res is empty.
 */
int lleval_score_items_run(const char *pred_csv, const char *prepared_dir, const char *out_dir,
                           const struct lleval_score_opts *o, struct lleval_score_result *res,
                           struct lleval_err *err);

/* ---- reading -------------------------------------------------------------- */

/*
 * Streams items.jsonl (path) and calls fn for each row, in file order.
 * Errors: a missing file or a damaged line ("path:line: ...") is LLEVAL_EIO
 * inside a run directory (lleval wrote it) and LLEVAL_EINVAL elsewhere; the
 * caller appends what to do (rundir.h, lleval_run_err_damaged()).
 */
int lleval_items_each(const char *path, lleval_item_row_fn fn, void *ud, struct lleval_err *err);
/*
 * As lleval_items_each(), each line read by the scanner without a JSON tree
 * (items_scan.c); when the scanner gives up on a line, reset(ud) is called and
 * the file is read again by lleval_items_each(), which words any error.
 */
int lleval_items_each_fast(const char *path, lleval_item_row_fn fn, void (*reset)(void *ud),
                           void *ud, struct lleval_err *err);
/*
 * As lleval_items_each_fast(), passing over the lines (numbered from 1) for
 * which want(line, ud) is false without reading them: for a file read whole
 * before. Where the scanner gives up, jansson reads every row again (fn
 * filters those itself).
 */
int lleval_items_each_fast_lines(const char *path, bool (*want)(long line, void *ud),
                                 lleval_item_row_fn fn, void (*reset)(void *ud), void *ud,
                                 struct lleval_err *err);

/* ---- querying (lib/score/items_query.c) ------------------------------------ */

enum lleval_items_verdict {
    LLEVAL_ITEMS_ANY = 0,
    LLEVAL_ITEMS_RIGHT, /* correct */
    LLEVAL_ITEMS_WRONG, /* not correct (errors included) */
};

enum lleval_items_sort {
    LLEVAL_ITEMS_SORT_FILE = 0, /* file order (dataset, temperature, part, item) */
    LLEVAL_ITEMS_SORT_LATENCY,  /* slowest first; unknown last */
    LLEVAL_ITEMS_SORT_TOKENS,   /* most completion tokens first; unknown last */
    LLEVAL_ITEMS_SORT_F1,       /* lowest F1 first; multiple choice (n/a) last */
};

struct lleval_items_query {
    enum lleval_items_verdict verdict;
    const char *model;       /* NULL: any; a model of a run of several (its custom_id prefix) */
    const char *dataset;     /* NULL: any; borrowed, as every string here */
    const char *prompt_type; /* NULL: any */
    const char *finish;      /* finish reason (stop, length, error); NULL: any */
    const char *grep; /* NULL: any; else a substring (ASCII case-insensitive) of the question,
                         a gold answer, the raw or extracted answer, the error or the custom_id */
    enum lleval_items_sort sort;
    size_t limit; /* 0: every match */
};

/* The sort key names ("latency", "tokens", "f1", "file"); LLEVAL_EINVAL otherwise. */
int lleval_items_sort_parse(const char *s, enum lleval_items_sort *out);

/*
 * Reads items.jsonl (lleval_items_each_fast: the scanner, jansson where it
 * gives up, each row handed over once) and calls fn for each row that
 * passes q, in q's order (ties keep file order), at most q->limit of them.
 * File order streams; a sort keeps the matching lines (with a limit, only
 * the best limit of them). *matched (may be NULL) gets how many rows
 * matched, limit aside.
 */
int lleval_items_query_run(const char *path, const struct lleval_items_query *q,
                           lleval_item_row_fn fn, void *ud, size_t *matched,
                           struct lleval_err *err);

/* ---- showing ---------------------------------------------------------------- */

/* The cells of the terminal table, in order. */
enum lleval_items_col {
    LLEVAL_ITEMS_COL_VERDICT = 0, /* right | wrong | error */
    LLEVAL_ITEMS_COL_ID,          /* custom_id (the table shows lleval_items_id_short()) */
    LLEVAL_ITEMS_COL_EM,          /* 1 | 0 | n/a */
    LLEVAL_ITEMS_COL_F1,          /* 0.67 | n/a */
    LLEVAL_ITEMS_COL_MC,          /* the letter | none | n/a */
    LLEVAL_ITEMS_COL_FINISH,
    LLEVAL_ITEMS_COL_MS,     /* latency, whole ms; "-" unknown */
    LLEVAL_ITEMS_COL_TOKENS, /* completion tokens; "-" unknown */
    LLEVAL_ITEMS_COL_QUESTION,
    LLEVAL_ITEMS_COL_GOLD,   /* gold answers joined with " | " */
    LLEVAL_ITEMS_COL_ANSWER, /* the extracted answer; the error for a failed request */
    LLEVAL_ITEMS_NCOLS
};
/* The header of a column ("verdict", "item", ...); static. */
const char *lleval_items_col_name(enum lleval_items_col c);
/* Whether a column may be cut to fit the width (the texts and the id). */
bool lleval_items_col_flexible(enum lleval_items_col c);
/* Appends the text of cell c of r (borrowed) to sb (reset first), as is:
 * the caller sanitizes it for where it shows it. */
void lleval_items_cell(struct lleval_sb *sb, const struct lleval_item_row *r,
                       enum lleval_items_col c);

/*
 * Short item ids for a table: the parts of the custom_id that are the same
 * in every row shown (one dataset, one prompt type, ...) are left out of
 * each row and said once (lleval_items_id_common()), so the id column shows
 * what tells the rows apart: "nq-00017", or "nq_open:nq-00017:t0.7" when
 * datasets and temperatures vary. Strings are borrowed.
 */
struct lleval_items_id {
    const char *dataset, *item_id, *prompt_type, *temperature;
    long sample;
};
enum lleval_items_id_part {
    LLEVAL_ITEMS_ID_DATASET = 1u << 0,
    LLEVAL_ITEMS_ID_PROMPT = 1u << 1,
    LLEVAL_ITEMS_ID_TEMP = 1u << 2,
    LLEVAL_ITEMS_ID_SAMPLE = 1u << 3,
};
/* The id parts of r (borrowed from r). */
struct lleval_items_id lleval_items_id_of(const struct lleval_item_row *r);
/* The parts (lleval_items_id_part bits) in which a and b differ. */
unsigned lleval_items_id_diff(const struct lleval_items_id *a, const struct lleval_items_id *b);
/* Appends the item id and the parts in `parts`, in custom_id order joined by
 * ':' ("nq_open:nq-00017:direct:t0.7:s1" with every part), to sb. */
void lleval_items_id_short(struct lleval_sb *sb, const struct lleval_items_id *id, unsigned parts);
/* Appends the parts NOT in `varying`, as words ("dataset nq_open, prompt
 * direct, temperature 0.7, sample 0"), to sb; nothing when every part varies. */
void lleval_items_id_common(struct lleval_sb *sb, const struct lleval_items_id *id,
                            unsigned varying);

/*
 * Column widths that fit a line of `width` display columns with `gap`
 * columns between neighbours: natural[] are the widest cells (header
 * included), flexible[] says which may shrink, and out[] gets each width.
 * The fixed columns keep theirs; the flexible ones share what is left, each
 * getting at most its natural width and at least min_flex (so a very narrow
 * width still shows something, and the line may then be wider). width 0: no
 * limit (out = natural).
 */
void lleval_fit_columns(const size_t *natural, const bool *flexible, size_t n, size_t gap,
                        size_t width, size_t min_flex, size_t *out);
/* Appends s (borrowed, already safe to print) cut to at most cols display
 * columns, with "…" marking a cut, then padded with spaces to cols when pad. */
void lleval_fit_cell(struct lleval_sb *sb, const char *s, size_t cols, bool pad);
/* The same, keeping the end of s ("…test-17"): for ids, which differ at the end. */
void lleval_fit_cell_tail(struct lleval_sb *sb, const char *s, size_t cols, bool pad);

#endif
