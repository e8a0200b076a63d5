/*
 * The engine-reported generation speed (lleval.gen_tps) of each request, as
 * the run's result lines hold it, unrounded: the scorer's tokens/s for a
 * run's score step, where predictions.csv only has it rounded to one decimal
 * (docs/scoring.md). Library-internal (lib/score).
 */
#ifndef LLEVAL_SCORE_SPEEDS_H
#define LLEVAL_SCORE_SPEEDS_H

struct lleval_speeds;

/* Reads the result lines at path (borrowed; results_combined.jsonl) and
 * returns an owned map (lleval_speeds_free) of the successful requests with a
 * positive gen_tps, or NULL when the file is missing or unreadable. Lines
 * that cannot be decoded are left out. */
struct lleval_speeds *lleval_speeds_load(const char *path);
/* The gen_tps of custom_id (borrowed), or NAN when the map has none; s may be NULL. */
double lleval_speeds_get(const struct lleval_speeds *s, const char *custom_id);
void lleval_speeds_free(struct lleval_speeds *s);

#endif
