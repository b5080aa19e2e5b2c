/* RFC 2782 SRV lookup with a per-call resolver state (RFC 6120 §3.2.1). */
#include "cdns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

/* Large enough for any UDP answer and most TCP ones; the resolver retries
 * over TCP itself when the UDP answer is truncated. */
#define CDNS_ANSWER_MAX 65535

int cdns_srv_query(const char *name, cdns_srv_record *out, int capacity) {
    if (name == NULL || (out == NULL && capacity > 0) || capacity < 0) {
        return CDNS_ERR_ARGUMENT;
    }

    struct __res_state state;
    memset(&state, 0, sizeof state);
    if (res_ninit(&state) != 0) {
        res_nclose(&state);
        return CDNS_ERR_INIT;
    }

    unsigned char *answer = malloc(CDNS_ANSWER_MAX);
    if (answer == NULL) {
        res_nclose(&state);
        return CDNS_ERR_MEMORY;
    }

    int len = res_nquery(&state, name, ns_c_in, ns_t_srv, answer, CDNS_ANSWER_MAX);
    if (len < 0) {
        /* The resolver reports why in its own h_errno slot: NXDOMAIN and
         * NODATA mean "no such service", everything else is a failure. */
        int herr = state.res_h_errno;
        free(answer);
        res_nclose(&state);
        return (herr == HOST_NOT_FOUND || herr == NO_DATA) ? 0 : CDNS_ERR_QUERY;
    }
    if (len > CDNS_ANSWER_MAX) {
        len = CDNS_ANSWER_MAX;
    }

    ns_msg msg;
    if (ns_initparse(answer, len, &msg) != 0) {
        free(answer);
        res_nclose(&state);
        return CDNS_ERR_PARSE;
    }

    int written = 0;
    int count = ns_msg_count(msg, ns_s_an);
    for (int i = 0; i < count && written < capacity; i++) {
        ns_rr rr;
        if (ns_parserr(&msg, ns_s_an, i, &rr) != 0) {
            free(answer);
            res_nclose(&state);
            return CDNS_ERR_PARSE;
        }
        /* CNAMEs and other types may precede the SRV records. */
        if (ns_rr_type(rr) != ns_t_srv || ns_rr_class(rr) != ns_c_in) {
            continue;
        }
        const unsigned char *rdata = ns_rr_rdata(rr);
        if (ns_rr_rdlen(rr) < 7) {
            free(answer);
            res_nclose(&state);
            return CDNS_ERR_PARSE;
        }
        cdns_srv_record *rec = &out[written];
        rec->priority = (uint16_t)ns_get16(rdata);
        rec->weight = (uint16_t)ns_get16(rdata + 2);
        rec->port = (uint16_t)ns_get16(rdata + 4);
        if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rdata + 6,
                      rec->target, (int)sizeof rec->target) < 0) {
            free(answer);
            res_nclose(&state);
            return CDNS_ERR_PARSE;
        }
        written++;
    }

    free(answer);
    res_nclose(&state);
    return written;
}
