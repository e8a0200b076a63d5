/*
 * Blocking HTTP for the cloud batch driver (remote.c): performs one
 * provider request (batchapi.h) with libcurl's easy interface: a JSON body,
 * a multipart upload of a part file, or a raw file body, and reads the reply
 * into memory up to a bound. A body cut short (the connection dropped before
 * Content-Length bytes arrived) is no reply: the driver retries.
 */
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lleval/engine/http.h"
#include "lleval/platform/fs.h"
#include "remote_int.h"

struct sink {
    struct lleval_sb reply;
    bool too_big;
};

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *data)
{
    struct sink *s = data;
    size_t n = size * nmemb;
    if (lleval_sb_try_add(&s->reply, ptr, n)) {
        s->too_big = true;
        return 0;
    }
    return n;
}

static const char *method_name(enum lleval_batch_method m)
{
    switch (m) {
    case LLEVAL_BATCH_POST:
        return "POST";
    case LLEVAL_BATCH_PUT:
        return "PUT";
    case LLEVAL_BATCH_DELETE:
        return "DELETE";
    default:
        return "GET";
    }
}

int lleval_remote_fetch(const struct lleval_batch_request *req, long timeout_s, size_t max_body,
                        long *status, struct lleval_sb *body, struct lleval_err *err)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    curl_mime *mime = NULL;
    struct sink sink = {LLEVAL_SB_INIT, false};
    struct lleval_sb file = LLEVAL_SB_INIT;
    char errbuf[CURL_ERROR_SIZE] = "";
    char *where = lleval_http_url_redact(req->url);
    CURLcode cc;
    int rc = 0;

    *status = 0;
    lleval_sb_init_max(&sink.reply, 0, max_body);
    if (!curl) {
        rc = lleval_err_set(err, LLEVAL_EENGINE, "cannot start an HTTP request to %s", where);
        goto out;
    }
    for (size_t i = 0; i < req->n_headers; i++)
        headers = curl_slist_append(headers, req->headers[i]);
    headers = curl_slist_append(headers, "Expect:");
    if ((req->upload_path || req->raw_file) &&
        (rc = lleval_read_file(req->upload_path, &file, 0, err)))
        goto out;
    curl_easy_setopt(curl, CURLOPT_URL, req->url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_s > 0 ? timeout_s : 600L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "lleval");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    if (req->raw_file) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, file.buf);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)file.len);
    } else if (req->upload_path || req->n_form) {
        curl_mimepart *part;
        mime = curl_mime_init(curl);
        for (size_t i = 0; i < req->n_form; i++) {
            part = curl_mime_addpart(mime);
            curl_mime_name(part, req->form_names[i]);
            curl_mime_data(part, req->form_values[i], CURL_ZERO_TERMINATED);
        }
        if (req->upload_path) {
            part = curl_mime_addpart(mime);
            curl_mime_name(part, req->upload_field ? req->upload_field : "file");
            curl_mime_filename(part, req->upload_name ? req->upload_name : "input.jsonl");
            curl_mime_type(part, "application/jsonl");
            curl_mime_data(part, file.buf, file.len);
        }
        curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
    } else if (req->body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(req->body));
    } else if (req->method == LLEVAL_BATCH_POST) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    if (req->method != LLEVAL_BATCH_GET && req->method != LLEVAL_BATCH_POST)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method_name(req->method));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

    cc = curl_easy_perform(curl);
    if (sink.too_big) {
        rc = lleval_err_set(err, LLEVAL_EENGINE, "the reply from %s is larger than %zu bytes",
                            where, max_body);
        goto out;
    }
    if (cc != CURLE_OK) { /* refused, timed out, reset, or a body cut short */
        rc = lleval_err_set(err, LLEVAL_EENGINE, "%s %s: %s", method_name(req->method), where,
                            *errbuf ? errbuf : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    lleval_sb_add(body, sink.reply.buf, sink.reply.len);

out:
    lleval_sb_release(&sink.reply);
    lleval_sb_release(&file);
    curl_slist_free_all(headers);
    curl_mime_free(mime);
    if (curl)
        curl_easy_cleanup(curl);
    free(where);
    return rc;
}
