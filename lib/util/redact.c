/*
 * Secret redaction (see redact.h): the registry of secret values and the
 * functions that take them, and URL userinfo, out of text and JSON.
 */
#include <stdlib.h>
#include <string.h>
#include "lleval/util/redact.h"
#include "lleval/util/text.h"

#define MAX_SECRETS 64

/* Registered spellings: each secret as it is and as the Markdown escaper
 * writes it (the HTML escaper leaves the characters of a key alone). */
static char *secrets[MAX_SECRETS];
static size_t secret_lens[MAX_SECRETS];
static size_t n_secrets;

static const char *find(const char *s, size_t len, const char *pat, size_t plen)
{
    const char *end = s + len;
    const char *p = s;
    while (plen && (size_t)(end - p) >= plen) {
        p = memchr(p, pat[0], (size_t)(end - p) - plen + 1);
        if (!p)
            return NULL;
        if (memcmp(p, pat, plen) == 0)
            return p;
        p++;
    }
    return NULL;
}

static void add_spelling(const char *v, size_t len)
{
    size_t i;
    if (len < LLEVAL_REDACT_MIN_LEN || n_secrets == MAX_SECRETS)
        return;
    for (i = 0; i < n_secrets; i++)
        if (secret_lens[i] == len && memcmp(secrets[i], v, len) == 0)
            return;
    /* longest first, so a secret that contains another is replaced whole */
    for (i = n_secrets; i > 0 && secret_lens[i - 1] < len; i--) {
        secrets[i] = secrets[i - 1];
        secret_lens[i] = secret_lens[i - 1];
    }
    secrets[i] = lleval_xmalloc(len + 1);
    memcpy(secrets[i], v, len);
    secrets[i][len] = '\0';
    secret_lens[i] = len;
    n_secrets++;
}

void lleval_redact_add(const char *value)
{
    struct lleval_sb md = LLEVAL_SB_INIT;
    /* "[redacted]" itself comes back from a saved config (resume): never a secret */
    if (!value || strlen(value) < LLEVAL_REDACT_MIN_LEN || strstr(value, LLEVAL_REDACTED))
        return;
    add_spelling(value, strlen(value));
    lleval_md_escape(&md, value);
    add_spelling(md.buf, md.len);
    lleval_sb_release(&md);
}

/* The characters that end a URL's authority (and a URL written in text). */
static bool ends_authority(unsigned char c)
{
    return c <= ' ' || c == 0x7f || strchr("/?#\"'<>\\`", c) != NULL;
}

/* The userinfo of the URL whose "://" is at sep in s[0..len): sets *ui and
 * *ui_len and returns true when the authority holds an '@'. */
static bool url_userinfo(const char *s, size_t len, const char *sep, const char **ui,
                         size_t *ui_len)
{
    const char *p = sep + 3;
    const char *end = s + len;
    const char *at = NULL;
    for (; p < end && !ends_authority((unsigned char)*p); p++)
        if (*p == '@')
            at = p;
    if (!at)
        return false;
    *ui = sep + 3;
    *ui_len = (size_t)(at - *ui);
    return true;
}

void lleval_redact_add_url(const char *url)
{
    const char *sep, *ui, *colon;
    size_t ui_len;
    if (!url || !(sep = strstr(url, "://")) || !url_userinfo(url, strlen(url), sep, &ui, &ui_len))
        return;
    {
        char *copy = lleval_xmalloc(ui_len + 1);
        memcpy(copy, ui, ui_len);
        copy[ui_len] = '\0';
        lleval_redact_add(copy);
        colon = strchr(copy, ':');
        if (colon)
            lleval_redact_add(colon + 1);
        free(copy);
    }
}

void lleval_redact_clear(void)
{
    size_t i;
    for (i = 0; i < n_secrets; i++)
        free(secrets[i]);
    n_secrets = 0;
}

/* True when the userinfo at ui is something other than "[redacted]". */
static bool userinfo_to_strip(const char *ui, size_t ui_len)
{
    return !(ui_len == sizeof(LLEVAL_REDACTED) - 1 && memcmp(ui, LLEVAL_REDACTED, ui_len) == 0);
}

bool lleval_redact_none(void)
{
    return n_secrets == 0;
}

bool lleval_redact_needed(const char *s, size_t len)
{
    size_t i;
    const char *p = s, *end = s + len;
    for (i = 0; i < n_secrets; i++)
        if (find(s, len, secrets[i], secret_lens[i]))
            return true;
    if (!memchr(s, '@', len))
        return false;
    while ((p = find(p, (size_t)(end - p), "://", 3)) != NULL) {
        const char *ui;
        size_t ui_len;
        if (url_userinfo(s, len, p, &ui, &ui_len) && userinfo_to_strip(ui, ui_len))
            return true;
        p += 3;
    }
    return false;
}

/* Appends s[0..len) to out with registered secrets replaced. */
static void add_secrets_out(struct lleval_sb *out, const char *s, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        size_t i, best_at = len, best_len = 0;
        for (i = 0; i < n_secrets; i++) {
            const char *f = find(s + pos, len - pos, secrets[i], secret_lens[i]);
            size_t at = f ? (size_t)(f - s) : len;
            if (f && (at < best_at || (at == best_at && secret_lens[i] > best_len))) {
                best_at = at;
                best_len = secret_lens[i];
            }
        }
        lleval_sb_add(out, s + pos, best_at - pos);
        if (best_at == len)
            break;
        lleval_sb_adds(out, LLEVAL_REDACTED);
        pos = best_at + best_len;
    }
}

/* Appends the redaction of s[0..len) to out: secrets first, then the
 * userinfo of every URL. */
static void redact_into(struct lleval_sb *out, const char *s, size_t len)
{
    struct lleval_sb tmp = LLEVAL_SB_INIT;
    const char *p, *end, *from;
    add_secrets_out(&tmp, s, len);
    p = from = tmp.buf;
    end = tmp.buf + tmp.len;
    while ((p = find(p, (size_t)(end - p), "://", 3)) != NULL) {
        const char *ui;
        size_t ui_len;
        if (url_userinfo(tmp.buf, tmp.len, p, &ui, &ui_len)) {
            lleval_sb_add(out, from, (size_t)(ui - from));
            lleval_sb_adds(out, LLEVAL_REDACTED);
            from = ui + ui_len;
            p = from;
        } else {
            p += 3;
        }
    }
    lleval_sb_add(out, from, (size_t)(end - from));
    lleval_sb_release(&tmp);
}

bool lleval_redact_sb(struct lleval_sb *sb)
{
    struct lleval_sb out = LLEVAL_SB_INIT;
    if (!lleval_redact_needed(sb->buf, sb->len))
        return false;
    redact_into(&out, sb->buf, sb->len);
    lleval_sb_reset(sb);
    lleval_sb_add(sb, out.buf, out.len);
    lleval_sb_release(&out);
    return true;
}

char *lleval_redact_dup(const char *s)
{
    struct lleval_sb out = LLEVAL_SB_INIT;
    if (!s || !lleval_redact_needed(s, strlen(s)))
        return NULL;
    redact_into(&out, s, strlen(s));
    return lleval_sb_detach(&out, NULL);
}

static bool json_needed(const json_t *j)
{
    const char *key;
    json_t *v;
    size_t i;
    switch (json_typeof(j)) {
    case JSON_STRING:
        return lleval_redact_needed(json_string_value(j), json_string_length(j));
    case JSON_ARRAY:
        json_array_foreach(j, i, v)
        {
            if (json_needed(v))
                return true;
        }
        return false;
    case JSON_OBJECT:
        json_object_foreach((json_t *)j, key, v)
        {
            if (lleval_redact_needed(key, strlen(key)) || json_needed(v))
                return true;
        }
        return false;
    default:
        return false;
    }
}

static json_t *json_copy_redacted(const json_t *j)
{
    const char *key;
    json_t *v, *out;
    size_t i;
    switch (json_typeof(j)) {
    case JSON_STRING: {
        struct lleval_sb sb = LLEVAL_SB_INIT;
        redact_into(&sb, json_string_value(j), json_string_length(j));
        out = json_stringn_nocheck(sb.buf, sb.len);
        lleval_sb_release(&sb);
        return out;
    }
    case JSON_ARRAY:
        out = json_array();
        json_array_foreach(j, i, v) json_array_append_new(out, json_copy_redacted(v));
        return out;
    case JSON_OBJECT:
        out = json_object();
        json_object_foreach((json_t *)j, key, v)
        {
            char *k = lleval_redact_dup(key);
            json_object_set_new_nocheck(out, k ? k : key, json_copy_redacted(v));
            free(k);
        }
        return out;
    default:
        return json_copy((json_t *)j);
    }
}

json_t *lleval_redact_json(const json_t *j)
{
    if (!j || !json_needed(j))
        return NULL;
    return json_copy_redacted(j);
}
