#include "ccurl.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

typedef struct transfer_state {
    const ccurl_request *request;
    int aborted;
} transfer_state;

static size_t on_body(char *data, size_t size, size_t count, void *userdata) {
    transfer_state *state = userdata;
    size_t length = size * count;
    if (state->request->body && state->request->body(state->request->context, data, length) != 0) {
        state->aborted = 1;
        return CURL_WRITEFUNC_ERROR;
    }
    return length;
}

static size_t on_read(char *buffer, size_t size, size_t count, void *userdata) {
    transfer_state *state = userdata;
    for (;;) {
        ssize_t got = read(state->request->upload_fd, buffer, size * count);
        if (got >= 0) return (size_t)got;
        if (errno == EINTR) continue;
        return CURL_READFUNC_ABORT;
    }
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    transfer_state *state = userdata;
    if (state->request->progress &&
        state->request->progress(state->request->context, dltotal, dlnow, ultotal, ulnow) != 0) {
        state->aborted = 1;
        return 1;
    }
    return 0;
}

int ccurl_global_init(void) {
    return (int)curl_global_init(CURL_GLOBAL_DEFAULT);
}

const char *ccurl_version(void) {
    return curl_version();
}

int ccurl_perform(const ccurl_request *request, ccurl_result *result) {
    memset(result, 0, sizeof *result);
    result->content_length = -1;
    CURL *curl = curl_easy_init();
    if (!curl) {
        result->curl_code = CURLE_FAILED_INIT;
        snprintf(result->error, sizeof result->error, "could not start an HTTP transfer");
        return result->curl_code;
    }
    transfer_state state = { request, 0 };
    char error[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    for (int i = 0; i < request->header_count; i++) {
        struct curl_slist *grown = curl_slist_append(headers, request->headers[i]);
        if (!grown) break;
        headers = grown;
    }

    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_URL, request->url);
    /* Only the scheme the caller allowed; never a redirect to somewhere else. */
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, request->allow_http ? "https,http" : "https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "tern");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, request->connect_timeout_seconds);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, request->stall_seconds);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (request->ca_file) curl_easy_setopt(curl, CURLOPT_CAINFO, request->ca_file);
    if (request->pinned_key) {
        /* As for the XMPP stream: a pinned key replaces CA and hostname trust, and no
         * other key is ever accepted. libcurl checks the pin whatever VERIFYPEER says. */
        curl_easy_setopt(curl, CURLOPT_PINNEDPUBLICKEY, request->pinned_key);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &state);
    if (request->max_download > 0) curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)request->max_download);
    if (request->put) {
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(curl, CURLOPT_READDATA, &state);
        curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)request->upload_size);
    }

    CURLcode code = curl_easy_perform(curl);
    result->curl_code = (int)code;
    result->aborted_by_caller = state.aborted;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result->status);
    curl_off_t length = -1;
    if (curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK) result->content_length = length;
    if (code != CURLE_OK) {
        snprintf(result->error, sizeof result->error, "%s", error[0] ? error : curl_easy_strerror(code));
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return result->curl_code;
}
