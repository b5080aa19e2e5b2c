/* RFC 2782 SRV lookups through libresolv, for XEP-0368 / RFC 6120 §3.2.1.
 * Thread-safe: each call uses its own resolver state (res_ninit/res_nclose). */
#ifndef CDNS_H
#define CDNS_H

#include <stdint.h>

/* One SRV answer. `target` is the expanded domain name without the trailing
 * dot; the root name (RFC 2782 "service decidedly not available") is ".". */
typedef struct cdns_srv_record {
    uint16_t priority;
    uint16_t weight;
    uint16_t port;
    char target[256];
} cdns_srv_record;

/* Negative results of cdns_srv_query. NXDOMAIN and "no SRV records" are not
 * errors: they return 0. */
enum {
    CDNS_ERR_INIT = -1,      /* res_ninit failed (no resolver configuration) */
    CDNS_ERR_QUERY = -2,     /* SERVFAIL, timeout, network down, refused */
    CDNS_ERR_PARSE = -3,     /* malformed answer */
    CDNS_ERR_ARGUMENT = -4,  /* NULL name/out or negative capacity */
    CDNS_ERR_MEMORY = -5
};

/* Queries SRV records for `name` (e.g. "_xmpp-client._tcp.example.org").
 * Writes at most `capacity` records into `out` in answer order.
 * Returns the number written (0 = NXDOMAIN or no records) or a CDNS_ERR_*. */
int cdns_srv_query(const char *name, cdns_srv_record *out, int capacity);

#endif
