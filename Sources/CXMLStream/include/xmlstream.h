/* RFC 6120 §4 / §11: a hardened XMPP XML stream parser behind an opaque API.
 *
 * libxml2 is included only by xmlstream.c: a Swift module that imports both
 * libxml2 and Foundation fails to build (ICU clash), so no libxml2 type may
 * appear here. The parser accepts the XML subset of RFC 6120 §11.1 only and
 * enforces its own resource caps (libxml2 2.9 has none for this use).
 *
 * Two kinds of limit (DESIGN §6). What only the server controls (not
 * well-formed XML, DTDs, comments, PIs, entities, the stream header, bytes
 * beyond the hard cap, bytes that are not XML characters in UTF-8 even inside
 * a skipped stanza) is a sticky error that ends the stream. What any peer
 * can put inside a relayed stanza (attributes, depth, text, stanza size) only
 * drops that stanza: it is skipped to its end in constant memory and reported
 * through xs_callbacks.dropped, and the stream goes on. */
#ifndef XMLSTREAM_H
#define XMLSTREAM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xs_parser xs_parser;

/* Error classes; each maps to the RFC 6120 §4.9.3 stream error of that name. */
typedef enum {
    XS_OK = 0,
    XS_NOT_WELL_FORMED = 1,  /* <not-well-formed/> */
    XS_RESTRICTED_XML = 2,   /* <restricted-xml/>: DTD, comment, PI, entity */
    XS_POLICY_VIOLATION = 3, /* <policy-violation/>: a cap was exceeded */
} xs_error_kind;

/* One attribute. `prefix` is NULL when unprefixed ("xml" for xml:lang).
 * `prefix` and `local` are NUL-terminated and interned: for the lifetime of
 * the parser, equal strings have equal pointers, so callers may cache by
 * pointer until xs_free. `value` is decoded UTF-8, NOT NUL-terminated, valid
 * only during the callback. */
typedef struct {
    const char *prefix;
    const char *local;
    const char *value;
    size_t value_len;
} xs_attr;

/* A completed top-level element (a stanza), recorded while it was parsed so
 * the caller is entered once per stanza rather than once per SAX event.
 * Nodes are in document order (pre-order): an element is followed by its
 * `child_count` direct children, each followed by its own subtree. Offsets
 * index `bytes`; every pointer is valid only during the callback, except
 * names and namespaces, which are interned like xs_attr names. */
enum { XS_NODE_ELEMENT = 1, XS_NODE_TEXT = 2 };

typedef struct {
    int kind;                 /* XS_NODE_ELEMENT or XS_NODE_TEXT */
    const char *name;         /* element: local name */
    size_t name_len;
    const char *ns;           /* element: namespace URI, "" when none */
    size_t ns_len;
    size_t first_attr;        /* element: its attributes are attrs[first_attr ..< first_attr + attr_count] */
    size_t attr_count;
    size_t child_count;       /* element: direct children (elements and text runs) */
    size_t text_offset;       /* text: one whole run of character data, entities */
    size_t text_len;          /*       decoded, CDATA included */
} xs_node;

typedef struct {
    const char *name;         /* interned qualified name: "type", "xml:lang" */
    size_t name_len;
    size_t value_offset;      /* decoded value in `bytes` */
    size_t value_len;
} xs_stanza_attr;

typedef struct {
    const xs_node *nodes;
    size_t node_count;
    const xs_stanza_attr *attrs;
    size_t attr_count;
    const char *bytes;
    size_t byte_count;
} xs_stanza;

/* Callbacks; `ctx` is the pointer given to xs_new. Any member may be NULL.
 * Text at depth 1 (between stanzas: whitespace keepalives) is not reported. */
typedef struct {
    /* The stream header (<stream:stream>, depth 0). */
    void (*stream_open)(void *ctx, const xs_attr *attrs, size_t nattrs);
    /* A complete element at depth 1 (a stanza, <stream:features>, ...). */
    void (*stanza)(void *ctx, const xs_stanza *stanza);
    /* </stream:stream>. */
    void (*stream_close)(void *ctx);
    /* A depth-1 element that crossed a per-stanza limit, once its end has
     * been skipped to. `partial` holds what was parsed before the limit (the
     * stanza's own start tag and the children begun so far; elements still
     * open have only the children read by then); it may be empty when the
     * limit fell inside the stanza's own start tag. `name` is the stanza's
     * qualified name as written ("message", "stream:error"), truncated to 63
     * bytes, NUL-terminated. `reason` is a one-line description. */
    void (*dropped)(void *ctx, const xs_stanza *partial, const char *name, const char *reason);
} xs_callbacks;

/* Caps; a zero field means "use the default". The first four drop the
 * stanza that crosses them; the stream header crossing one ends the stream. */
typedef struct {
    unsigned max_depth;        /* open elements incl. the stream header; default 64 */
    size_t max_stanza_bytes;   /* bytes of one top-level element as received (and
                                  of the stream header), so they also bound what
                                  libxml2 buffers; default 1 MiB */
    unsigned max_attributes;   /* attribute assignments in one start tag,
                                  namespace declarations included; default 64 */
    size_t max_text_bytes;     /* character data within one stanza, counted as
                                  received (CDATA included); default 512 KiB */
    size_t max_skip_bytes;     /* the hard cap: a dropped stanza longer than this
                                  ends the stream; default 16 MiB */
} xs_limits;

/* NULL on allocation failure. `cb` is copied; `limits` may be NULL. */
xs_parser *xs_new(const xs_callbacks *cb, void *ctx, const xs_limits *limits);

/* Feeds bytes; callbacks run synchronously. Returns XS_OK or the (sticky)
 * error kind: after the first error every call fails with the same error.
 * However the stream is cut into calls, the callbacks and the error are the
 * same (Fuzz/ checks it). */
int xs_feed(xs_parser *p, const char *bytes, size_t len);

/* The first error, or XS_OK. */
int xs_error_kind_of(const xs_parser *p);
/* A human-readable description of the first error ("" if none). Valid until
 * xs_free. */
const char *xs_error_message(const xs_parser *p);

void xs_free(xs_parser *p);

#ifdef __cplusplus
}
#endif

#endif
