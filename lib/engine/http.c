/*
 * Blocking HTTP for probes (libcurl easy) and the helpers the HTTP engine
 * adapters share: URLs, headers, status classification, engine error text
 * and tolerant JSON decoding of replies that carry model output.
 */
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/engine/http.h"
#include "lleval/platform/platform.h"
#include "lleval/util/json.h"
#include "lleval/util/text.h"
#include "engine_int.h"

#define ERROR_TEXT_MAX 300

/* Where a fetch puts the reply: a buffer capped at the fetch's max_body. */
struct fetch_sink {
    struct lleval_sb reply;
    bool too_big; /* the reply went past the cap */
};

static size_t fetch_write(char *ptr, size_t size, size_t nmemb, void *data)
{
    struct fetch_sink *sink = data;
    size_t n = size * nmemb;
    if (lleval_sb_try_add(&sink->reply, ptr, n)) {
        sink->too_big = true;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    return n;
}

char *lleval_http_url_redact(const char *url)
{
    const char *scheme = strstr(url, "://");
    const char *host = scheme ? scheme + 3 : url;
    size_t auth_len = strcspn(host, "/?#");
    const char *at = NULL;
    struct lleval_sb sb = LLEVAL_SB_INIT;
    for (size_t i = 0; i < auth_len; i++)
        if (host[i] == '@')
            at = host + i;
    if (!at)
        return lleval_xstrdup(url);
    lleval_sb_add(&sb, url, (size_t)(host - url));
    lleval_sb_adds(&sb, at + 1);
    return lleval_sb_detach(&sb, NULL);
}

/* Whether libcurl would take a proxy from the environment (curl's variables). */
static bool proxy_in_env(void)
{
    static const char *const names[] = {"http_proxy",  "HTTP_PROXY", "https_proxy",
                                        "HTTPS_PROXY", "all_proxy",  "ALL_PROXY"};
    for (size_t i = 0; i < LLEVAL_ARRAY_SIZE(names); i++) {
        const char *v = getenv(names[i]);
        if (v && *v)
            return true;
    }
    return false;
}

void lleval_http_tls_setup(const char *const *urls, size_t n_urls)
{
    /* OPENSSL_init_ssl (OpenSSL 1.1+) and its options (openssl/crypto.h, openssl/ssl.h) */
    typedef int (*init_ssl_fn)(uint64_t opts, const void *settings);
    const uint64_t no_crypto_strings = 0x1, no_ciphers = 0x10, no_digests = 0x20, no_config = 0x80,
                   no_atexit = 0x80000, no_ssl_strings = 0x100000;
    const curl_version_info_data *v;
    lleval_dl_fn sym;
    init_ssl_fn init_ssl;
    bool tls = proxy_in_env();

    for (size_t i = 0; i < n_urls && !tls; i++)
        tls = !lleval_str_starts_with(urls[i] ? urls[i] : "", "http://");
    v = curl_version_info(CURLVERSION_NOW);
    sym = tls || !v->ssl_version || !lleval_str_starts_with(v->ssl_version, "OpenSSL/")
              ? NULL
              : lleval_dl_sym_loaded("OPENSSL_init_ssl");
    if (sym) {
        /* each option runs once per process: libcurl's later requests to load them do nothing */
        init_ssl = (init_ssl_fn)sym;
        init_ssl(no_crypto_strings | no_ciphers | no_digests | no_config | no_atexit |
                     no_ssl_strings,
                 NULL);
    }
}

int lleval_http_fetch(const struct lleval_http_request *req, long timeout_s, size_t max_body,
                      long *status, struct lleval_sb *body, struct lleval_err *err)
{
    CURL *curl = NULL;
    struct curl_slist *headers = NULL;
    struct fetch_sink sink = {LLEVAL_SB_INIT, false};
    char errbuf[CURL_ERROR_SIZE] = "";
    char *where = lleval_http_url_redact(req->url);
    long timeout_ms = (timeout_s > 0 ? timeout_s : 10) * 1000L;
    CURLcode cc;
    int rc = 0;

    *status = 0;
    lleval_sb_init_max(&sink.reply, 0, max_body ? max_body : LLEVAL_HTTP_PROBE_MAX_BODY);
    curl = curl_easy_init();
    if (!curl) {
        rc = lleval_err_set(err, LLEVAL_EENGINE, "cannot start an HTTP request to %s", where);
        goto out;
    }
    for (size_t i = 0; i < req->n_headers; i++) {
        struct curl_slist *next = curl_slist_append(headers, req->headers[i]);
        if (!next) {
            rc = lleval_err_set(err, LLEVAL_EENGINE, "cannot build headers for %s", where);
            goto out;
        }
        headers = next;
    }
    curl_easy_setopt(curl, CURLOPT_URL, req->url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "lleval");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, fetch_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    if (req->body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(req->body));
    }

    cc = curl_easy_perform(curl);
    if (sink.too_big) {
        rc = lleval_err_set(err, LLEVAL_EENGINE, "the reply from %s is larger than %zu bytes",
                            where, sink.reply.max);
        goto out;
    }
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        rc = lleval_err_set(err, LLEVAL_EENGINE, "no reply from %s within %ld s", where,
                            timeout_ms / 1000);
        goto out;
    }
    if (cc != CURLE_OK) {
        rc = lleval_err_set(err, LLEVAL_EENGINE, "cannot reach %s: %s", where,
                            *errbuf ? errbuf : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);

out:
    /* what arrived goes to the caller's body, also when the fetch failed */
    lleval_sb_add(body, sink.reply.buf, sink.reply.len);
    lleval_sb_release(&sink.reply);
    curl_slist_free_all(headers);
    if (curl)
        curl_easy_cleanup(curl);
    free(where);
    return rc;
}

const char *lleval_http_reason(const char *msg)
{
    const char *sep;
    if (lleval_str_starts_with(msg, "cannot reach ") && (sep = strstr(msg, ": ")))
        return sep + 2;
    return msg;
}

char *lleval_http_url(const struct lleval_engine *e, const char *path)
{
    const char *base = e->base_url ? e->base_url : "";
    size_t n = strlen(base);
    size_t m = strlen(path);
    bool slash = *path != '/';
    char *url;
    while (n > 0 && base[n - 1] == '/')
        n--;
    url = lleval_xmalloc(n + slash + m + 1);
    memcpy(url, base, n);
    if (slash)
        url[n] = '/';
    memcpy(url + n + slash, path, m + 1);
    return url;
}

void lleval_http_add_headers(const struct lleval_engine *e, struct lleval_http_request *r)
{
    lleval_http_request_add_header(r, "Content-Type", "application/json");
    lleval_http_request_add_header(r, "Accept", "application/json");
    lleval_http_request_add_header(r, "Expect", "");
    if (e->api_key && *e->api_key) {
        char *bearer = lleval_xasprintf("Bearer %s", e->api_key);
        lleval_http_request_add_header(r, "Authorization", bearer);
        free(bearer);
    }
}

void lleval_http_get_request(const struct lleval_engine *e, const char *path,
                             struct lleval_http_request *req)
{
    memset(req, 0, sizeof(*req));
    req->url = lleval_http_url(e, path);
    lleval_http_add_headers(e, req);
}

int lleval_http_get(const struct lleval_engine *e, const char *path, long timeout_s, long *status,
                    struct lleval_sb *body, struct lleval_err *err)
{
    struct lleval_http_request req;
    int rc;
    lleval_http_get_request(e, path, &req);
    rc = lleval_http_fetch(&req, timeout_s, 0, status, body, err);
    lleval_http_request_release(&req);
    return rc;
}

enum lleval_reply lleval_http_classify(long status)
{
    if (status >= 200 && status < 300)
        return LLEVAL_REPLY_OK;
    if (status == 0 || status == 408 || status == 409 || status == 425 || status == 429 ||
        status >= 500)
        return LLEVAL_REPLY_RETRY;
    return LLEVAL_REPLY_FAIL;
}

static bool hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return false;
    }
    *out = v;
    return true;
}

/* Copies s into out with invalid UTF-8 and lone surrogate escapes replaced by
 * U+FFFD; returns true when anything changed. */
static bool repair_json(const char *s, size_t len, struct lleval_sb *out)
{
    bool changed = false;
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        unsigned cp, lo;
        size_t n;
        if (c == '\\' && i + 1 < len) {
            if (s[i + 1] == 'u' && i + 6 <= len && hex4(s + i + 2, &cp)) {
                bool high = cp >= 0xd800 && cp <= 0xdbff;
                bool low = cp >= 0xdc00 && cp <= 0xdfff;
                if (high && i + 12 <= len && s[i + 6] == '\\' && s[i + 7] == 'u' &&
                    hex4(s + i + 8, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
                    lleval_sb_add(out, s + i, 12);
                    i += 12;
                } else if (high || low) {
                    lleval_sb_adds(out, "\\ufffd");
                    changed = true;
                    i += 6;
                } else {
                    lleval_sb_add(out, s + i, 6);
                    i += 6;
                }
                continue;
            }
            lleval_sb_add(out, s + i, 2);
            i += 2;
            continue;
        }
        n = lleval_utf8_seq(s + i, len - i);
        if (n) {
            lleval_sb_add(out, s + i, n);
            i += n;
        } else {
            lleval_sb_adds(out, LLEVAL_UTF8_REPLACEMENT);
            changed = true;
            i++;
        }
    }
    return changed;
}

json_t *lleval_http_json_decode(const char *body, size_t len, char *why, size_t size)
{
    json_error_t jerr;
    struct lleval_sb fixed = LLEVAL_SB_INIT;
    json_t *j = json_loadb(body, len, JSON_ALLOW_NUL, &jerr);
    if (j)
        return j;
    if (repair_json(body, len, &fixed)) {
        json_error_t jerr2;
        j = json_loadb(fixed.buf, fixed.len, JSON_ALLOW_NUL, &jerr2);
    }
    lleval_sb_release(&fixed);
    if (!j && why && size)
        snprintf(why, size, "the body %s (line %d, column %d)",
                 len ? lleval_json_error_text(&jerr) : "is empty", jerr.line, jerr.column);
    return j;
}

const char *lleval_http_json_kind(const json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
        return "true";
    case JSON_FALSE:
        return "false";
    default:
        return v ? "null" : "missing";
    }
}

char *lleval_http_json_text(const json_t *v)
{
    struct lleval_sb sb = LLEVAL_SB_INIT;
    const char *s;
    size_t n;
    if (!json_is_string(v))
        return NULL;
    s = json_string_value(v);
    n = json_string_length(v);
    lleval_sb_grow(&sb, n);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\0')
            lleval_sb_adds(&sb, LLEVAL_UTF8_REPLACEMENT);
        else
            lleval_sb_addch(&sb, s[i]);
    }
    return lleval_sb_detach(&sb, NULL);
}

/* The message an error reply carries, borrowed from root, or NULL. */
static const char *json_error_message(const json_t *root)
{
    const json_t *e = json_object_get(root, "error");
    const char *s;
    if (json_is_string(e))
        return json_string_value(e);
    if (json_is_object(e) && (s = lleval_json_str(e, "message")))
        return s;
    if ((s = lleval_json_str(root, "message")))
        return s;
    if ((s = lleval_json_str(root, "detail")))
        return s;
    return NULL;
}

char *lleval_http_error_text(const char *body, size_t len, const char *key)
{
    json_t *root = len ? lleval_http_json_decode(body, len, NULL, 0) : NULL;
    const char *msg = root ? json_error_message(root) : NULL;
    char *raw = msg ? lleval_utf8_sanitize(msg, strlen(msg)) : lleval_utf8_sanitize(body, len);
    struct lleval_sb sb = LLEVAL_SB_INIT;
    size_t keylen = key ? strlen(key) : 0;
    json_decref(root);

    for (const char *p = raw; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (keylen && !strncmp(p, key, keylen)) {
            lleval_sb_adds(&sb, "***");
            p += keylen - 1;
            continue;
        }
        /* one line: control characters become spaces, runs of them one */
        if (c < 0x20 || c == 0x7f) {
            if (sb.len && sb.buf[sb.len - 1] != ' ')
                lleval_sb_addch(&sb, ' ');
            continue;
        }
        lleval_sb_addch(&sb, (char)c);
    }
    free(raw);
    lleval_sb_rtrim(&sb);
    if (sb.len > ERROR_TEXT_MAX) {
        lleval_sb_setlen(&sb, lleval_utf8_cut(sb.buf, sb.len, ERROR_TEXT_MAX));
        lleval_sb_adds(&sb, "...");
    }
    return lleval_sb_detach(&sb, NULL);
}
