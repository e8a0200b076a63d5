/*
 * Result lines read without building a JSON tree (issue 13): a one-pass
 * scanner for the fields of struct lleval_result_view, with jansson's
 * lleval_result_decode_text() as the fallback for anything it does not vouch
 * for. The view it gives is the one lleval_result_decode_text() would give:
 * the scanner answers only when the line is valid JSON (as jansson reads it)
 * and every field of the view has its documented type; a damaged, foreign or
 * unusual line (a duplicate key, \u0000, a huge integer, deep nesting) goes
 * to jansson, which also words the error.
 */
#ifndef LLEVAL_RESULT_SCAN_H
#define LLEVAL_RESULT_SCAN_H
#include <jansson.h>
#include <stddef.h>
#include "lleval/result/result.h"
#include "lleval/util/error.h"
#include "lleval/util/util.h"

/* What a view's strings live in between two reads: the scanner's arena or
 * jansson's tree. Start from LLEVAL_RESULT_HOLD_INIT; reusable across lines. */
struct lleval_result_hold {
    json_t *json;           /* the fallback's tree, NULL when the scanner answered */
    struct lleval_sb arena; /* the scanner's unescaped strings */
    size_t offs[8];         /* scratch: string offsets into arena */
};
#define LLEVAL_RESULT_HOLD_INIT                                                                    \
    {                                                                                              \
        NULL, LLEVAL_SB_INIT,                                                                      \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

/*
 * Decodes text[0..len) (borrowed) into v, as lleval_result_decode_text()
 * does, and returns what it returns. v's strings are borrowed from hold and
 * live until the next read with hold or its release.
 */
int lleval_result_read(const char *text, size_t len, struct lleval_result_hold *hold,
                       struct lleval_result_view *v, struct lleval_err *err);
/*
 * The view's fields a reader may go without (the doctor reads no times, no
 * engine, no attempts): the scanner checks such a member as JSON only, so it
 * costs no number conversion or copy.
 */
enum lleval_result_some {
    LLEVAL_RESULT_ENGINE = 1u << 0,      /* engine */
    LLEVAL_RESULT_BODY_FINISH = 1u << 1, /* body_finish */
    LLEVAL_RESULT_ATTEMPTS = 1u << 2,    /* attempts */
    LLEVAL_RESULT_TIMES = 1u << 3,       /* latency_ms, prompt_tps, load_ms, finished_at */
    LLEVAL_RESULT_ALL = (1u << 4) - 1,
};
/*
 * lleval_result_read() for the fields of enum lleval_result_some in fields
 * and every other field of the view: these are what lleval_result_read()
 * gives. Those not asked for are absent when the scanner answers (whatever
 * the line holds there, so a damaged one goes unnoticed: 0 is returned where
 * lleval_result_read() might say it is damaged).
 */
int lleval_result_read_some(const char *text, size_t len, struct lleval_result_hold *hold,
                            struct lleval_result_view *v, unsigned fields, struct lleval_err *err);
/* Frees what hold holds; hold is LLEVAL_RESULT_HOLD_INIT again. */
void lleval_result_hold_release(struct lleval_result_hold *hold);

#endif
