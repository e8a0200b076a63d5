/*
 * Secret redaction: the one place that keeps secrets out of every message and
 * every file lleval writes (docs/design.md, "No secret reaches disk").
 *
 * A process-wide registry holds the secret values lleval knows of (the values
 * of the configured API key variables, the userinfo of the URLs it is given).
 * lleval_redact_*() replace every occurrence of a registered secret with
 * "[redacted]" and strip the userinfo of any URL (`scheme://user:pass@host` ->
 * `scheme://[redacted]@host`), registered or not. Error texts (error.c) and
 * the writers of the artifacts (result lines, CSV, JSON files,
 * config.resolved.yaml, the reports) call them. When nothing is registered
 * and no "@" appears, they copy nothing.
 *
 * Registration happens on the main thread before requests are sent (lleval
 * has one thread); the registry is not locked.
 */
#ifndef LLEVAL_REDACT_H
#define LLEVAL_REDACT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "lleval/util/util.h"

/* What a secret becomes. */
#define LLEVAL_REDACTED "[redacted]"

/* Secrets shorter than this many bytes are not registered: a 1-2 character
 * "secret" would redact every word it occurs in. URL userinfo is stripped
 * whatever its length. */
#define LLEVAL_REDACT_MIN_LEN 8

/* Registers value (borrowed, copied) as a secret, with its Markdown-escaped
 * spelling. Ignores NULL, values shorter than LLEVAL_REDACT_MIN_LEN and
 * values already registered; at most 64 spellings are kept. */
void lleval_redact_add(const char *value);

/* Registers the userinfo of url (borrowed), when it has one: "user:pass" and
 * the password alone, each subject to LLEVAL_REDACT_MIN_LEN. */
void lleval_redact_add_url(const char *url);

/* Forgets every registered secret (tests). */
void lleval_redact_clear(void);

/* True when no secret is registered: then only a URL's userinfo, which
 * needs an '@', is redacted (a writer's shortcut for text without one). */
bool lleval_redact_none(void);

/* True when s[0..len) (borrowed) holds a registered secret or a URL with
 * userinfo other than "[redacted]". */
bool lleval_redact_needed(const char *s, size_t len);

/* Redacts sb in place. Returns true when it changed anything; copies nothing
 * when there is nothing to redact. */
bool lleval_redact_sb(struct lleval_sb *sb);

/* Returns an owned redacted copy of s (borrowed), or NULL when s is NULL or
 * has nothing to redact (then use s itself). */
char *lleval_redact_dup(const char *s);

/* Returns a new reference to a deep copy of j (borrowed) with every string
 * and object key redacted, or NULL when nothing in j needs it (then use j). */
json_t *lleval_redact_json(const json_t *j);

#endif
