/* The same-run reference for tern-bench's parse figure: raw libxml2, no tern code.
 *
 * Only TernBench links this target; the client never does. libxml2 types stay out of this
 * header for the same reason as in CXMLStream (a Swift module importing libxml2 and
 * Foundation fails to build). */
#ifndef XMLREF_H
#define XMLREF_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    /* SAX callbacks only count depth-1 elements: libxml2's own floor. */
    XR_COUNT_ONLY = 0,
    /* SAX callbacks build each stanza as a small C tree and free it once complete. */
    XR_C_TREE = 1,
} xr_mode;

/* Feeds `len` bytes (a stream header, then stanzas) to one libxml2 push parser in
 * `chunk`-byte pieces. Returns the depth-1 elements completed, or -1 on a parse error. */
long xr_parse(const char *bytes, size_t len, size_t chunk, xr_mode mode);

#ifdef __cplusplus
}
#endif

#endif
