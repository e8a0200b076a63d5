/*
 * Helpers of the fuzz targets that feed server replies to an engine adapter
 * (fuzz_reply.c, fuzz_probe.c): the secrets every seed carries in each place a
 * server could echo them, the optional status line in front of a reply, and
 * the checks that no secret and no invalid UTF-8 ever leaves the adapter.
 */
#ifndef LLEVAL_FUZZ_ENGINE_H
#define LLEVAL_FUZZ_ENGINE_H

#include "fuzz_common.h"
#include "lleval/util/text.h"

/* Seeds in tests/fuzz/corpus/reply_* and probe_* carry these. */
#define FUZZ_API_KEY  "sk-fuzz-4f3a9c2e7b1d0a55"
#define FUZZ_PASSWORD "pw-fuzz-8e6d0a1c"

/* "404\n..." -> 404 and the rest; no digits -> 200 and all of it. */
static inline long fuzz_split_status(const uint8_t **data, size_t *size)
{
    long status = 0;
    size_t i = 0;
    while (i < *size && i < 3 && (*data)[i] >= '0' && (*data)[i] <= '9')
        status = status * 10 + ((*data)[i++] - '0');
    if (!i || i >= *size || (*data)[i] != '\n')
        return 200;
    *data += i + 1;
    *size -= i + 1;
    return status;
}

/* Aborts when text (NULL is fine) holds the API key or the URL password. */
static inline void fuzz_check_no_secret(const char *what, const char *text)
{
    size_t len = text ? strlen(text) : 0;
    FUZZ_CHECK(!fuzz_contains(text, len, FUZZ_API_KEY), "the API key is in the %s: %s", what, text);
    FUZZ_CHECK(!fuzz_contains(text, len, FUZZ_PASSWORD), "the URL password is in the %s: %s", what,
               text);
}

/* Aborts when s is not valid UTF-8; what names it in the message. */
static inline void fuzz_check_utf8(const char *what, const char *s)
{
    size_t len = strlen(s), i = 0;
    while (i < len) {
        size_t n = lleval_utf8_seq(s + i, len - i);
        FUZZ_CHECK(n > 0, "the %s is not valid UTF-8 at byte %zu", what, i);
        i += n;
    }
}

#endif
