/* One HTTP transfer through libcurl (the GnuTLS build), for XEP-0363 uploads and file
 * downloads. curl_easy_setopt is variadic, which Swift cannot call: this shim takes the
 * whole request as a struct and runs it to the end on the calling thread.
 *
 * The easy handle lives only inside ccurl_perform, so no C resource outlives a call. */
#ifndef CCURL_H
#define CCURL_H

#include <stddef.h>
#include <stdint.h>

/* Called with the bytes of the response body. Returns 0 to go on, nonzero to abort. */
typedef int (*ccurl_body_fn)(void *context, const char *data, size_t size);
/* Called often during the transfer. Returns 0 to go on, nonzero to abort (cancellation). */
typedef int (*ccurl_progress_fn)(void *context, int64_t download_total, int64_t download_now,
                                 int64_t upload_total, int64_t upload_now);

typedef struct ccurl_request {
    const char *url;
    int put;                        /* 1: PUT the upload file; 0: GET */
    const char *const *headers;     /* "Name: value" lines, already checked by the caller */
    int header_count;
    const char *ca_file;            /* trust anchors instead of the system's, or NULL */
    const char *pinned_key;         /* "sha256//BASE64": this key replaces CA and name checks */
    int allow_http;                 /* 0: https only */
    int upload_fd;                  /* PUT: read from here, upload_size bytes */
    int64_t upload_size;
    int64_t max_download;           /* GET: refuse a larger body (checked by the caller as it streams too); 0 = no cap */
    long connect_timeout_seconds;
    long stall_seconds;             /* abort when under 1 byte/s for this long */
    ccurl_body_fn body;
    ccurl_progress_fn progress;
    void *context;
} ccurl_request;

typedef struct ccurl_result {
    long status;                    /* HTTP status, 0 when none was received */
    int curl_code;                  /* CURLcode: 0 is success at the transport level */
    int aborted_by_caller;          /* a callback asked to stop */
    int64_t content_length;         /* -1 when unknown */
    char error[256];                /* curl's own words for curl_code, NUL-terminated */
} ccurl_result;

/* Once per process, before any transfer and before other threads run curl. */
int ccurl_global_init(void);

/* Runs one transfer to its end. Returns curl_code (0 on transport success). */
int ccurl_perform(const ccurl_request *request, ccurl_result *result);

/* The libcurl version string and its TLS backend, e.g. "libcurl/7.88.1 GnuTLS/3.7.9". */
const char *ccurl_version(void);

#endif
