/* RFC 6120 §4 / §11.1: libxml2 SAX2 push parser restricted to the XMPP XML subset.
 *
 * Why this exists rather than a bare libxml2 context: libxml2 2.9.14 driven by
 * our own SAX handler accepts comments, PIs and DTDs silently and has no depth
 * or size limit for this use, so every restriction and cap is enforced here.
 * Never set XML_PARSE_NOENT, DTDLOAD, HUGE or RECOVER.
 *
 * Bytes pass a small lexer (xs_lex) before libxml2 sees them. It knows where
 * each stanza begins and ends and applies the per-stanza limits, so libxml2
 * never parses a tag with more attributes, or a stanza deeper or longer, than
 * the limits allow: its quadratic duplicate-attribute check and its buffers
 * stay bounded. A stanza that crosses a limit is not an error (a peer chose
 * it, the server only relayed it; DESIGN §6): libxml2 is given nothing more of
 * it, the lexer skips to its end counting only depth, and then libxml2 is
 * reset and primed again with the saved stream header, so the next stanza
 * parses in the same namespace context. Errors libxml2 finds (not well-formed,
 * restricted XML) are sticky and end the stream; there is no recovery mode.
 *
 * The parser must not depend on how the stream was cut into chunks (the
 * fuzzer in Fuzz/ checks it): libxml2 gets bytes only up to the end of
 * markup, so it never has part of a tag or a text run to guess about; bytes that are
 * not XML characters are refused before it sees them, and a fault the lexer
 * finds is reported after libxml2 has judged the bytes before it. */
#include "xmlstream.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/dict.h>
#include <libxml/xmlerror.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XS_STREAM_NS "http://etherx.jabber.org/streams"
#define XS_NAME_CAP 64
/* The stream header is the server's alone, so its caps end the stream; they
 * are fixed rather than the per-stanza limits, which tests set small. */
#define XS_HEADER_MAX_BYTES (64u << 10)
#define XS_HEADER_MAX_ATTRIBUTES 64u

/* The lexer's states; each names what the next byte belongs to. */
enum {
    XS_LX_TEXT,    /* character data (or whitespace between stanzas) */
    XS_LX_LT,      /* just after '<' */
    XS_LX_TAG,     /* inside a start tag */
    XS_LX_ENDTAG,  /* inside an end tag */
    XS_LX_BANG,    /* after "<!", matching "[CDATA[" or "--" */
    XS_LX_CDATA,   /* inside <![CDATA[ ... ]]> */
    XS_LX_COMMENT, /* inside <!-- ... --> (libxml2 refuses it; kept in step anyway) */
    XS_LX_PI,      /* inside <? ... ?> (the XML declaration, or a PI libxml2 refuses) */
};

struct xs_parser {
    xmlParserCtxtPtr ctxt;
    xs_callbacks cb;
    void *ctx;
    xs_limits lim;

    unsigned open;              /* elements open as libxml2 reports them, the header included */
    int error_kind;
    char error_msg[256];
    unsigned long long fed;     /* bytes given to xs_feed so far */

    /* The lexer (see xs_lex), carried across chunks. */
    int lx_state;
    unsigned char lx_quote;     /* the open quote inside a start tag, or 0 */
    unsigned char lx_last;      /* the last byte outside quotes in a start tag ('/' before '>' ends an empty element) */
    unsigned lx_run;            /* ']' or '-' seen in a row (CDATA, comment ends), '?' for a PI,
                                   bytes of lx_opener matched after "<!" */
    const char *lx_opener;      /* "[CDATA[" or "--" */
    size_t lx_depth;            /* open elements by the lexer's count, the header included */
    size_t lx_eq;               /* attribute assignments in the current start tag */
    int lx_naming;              /* still reading the stanza's own name */
    unsigned long long lx_clean_at; /* offset just after the last markup that ended: libxml2
                                   is given bytes up to here only (see xs_feed) */
    int lx_fault;               /* the kind of a stream-level fault the lexer found, reported */
    char lx_fault_msg[160];     /* once libxml2 has had the bytes before it (see xs_feed) */

    /* Character validation (xs_chars_prefix), carried across chunks: UTF-8
     * continuation bytes still expected, the range the next one must fall
     * in, and the sequence's first byte. */
    unsigned u8_need;
    unsigned char u8_lo, u8_hi, u8_lead;
    int unit_open;              /* markup begun at depth 1 (a stanza, or what libxml2
                                   will refuse or end the stream with) has not ended */
    int stanza_open;            /* ...and it is a stanza: an element */
    unsigned long long unit_start; /* offset of its '<' */
    size_t stanza_text;         /* character data bytes in the stanza */
    char stanza_name[XS_NAME_CAP];
    size_t stanza_name_len;

    /* The stream header as received, to prime libxml2 again after a drop. */
    int header_done;
    char *header;
    size_t header_len, header_cap;
    int priming;                /* libxml2 is re-reading the header: report nothing */

    /* A dropped stanza: found (pending), then skipped to its end. */
    int drop_pending;
    int skipping;
    char drop_reason[160];

    /* Bytes after the last markup that ended, from earlier xs_feed calls:
     * libxml2 gets them with the markup that ends them (see xs_feed). Never
     * longer than a unit's cap. */
    char *held;
    size_t held_len, held_cap;

    xs_attr *attrs;             /* the stream header's attributes */
    size_t attrs_cap;
    char *scratch;              /* their decoded values */
    size_t scratch_cap;

    /* The open stanza, recorded for one xs_callbacks.stanza call (see
     * xs_stanza). The buffers are reused from stanza to stanza. */
    xs_node *nodes;
    size_t nodes_len, nodes_cap;
    xs_stanza_attr *tattrs;
    size_t tattrs_len, tattrs_cap;
    char *bytes;
    size_t bytes_len, bytes_cap;
    size_t *stack;              /* nodes index of each open element in the stanza */
    size_t stack_len, stack_cap;
    int text_run_open;          /* the last node is text still being extended */
};

static pthread_once_t xs_init_once = PTHREAD_ONCE_INIT;
static void xs_init(void) { xmlInitParser(); }

static void xs_fail(xs_parser *p, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void xs_fail(xs_parser *p, int kind, const char *fmt, ...) {
    if (p->error_kind != XS_OK) return; /* keep the first cause */
    p->error_kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->error_msg, sizeof p->error_msg, fmt, ap);
    va_end(ap);
    if (p->ctxt != NULL) xmlStopParser(p->ctxt);
}

/* Interned strings let the caller cache conversions by pointer. */
static const char *xs_intern(xs_parser *p, const xmlChar *s) {
    if (s == NULL) return NULL;
    xmlDictPtr dict = p->ctxt->dict;
    if (dict == NULL || xmlDictOwns(dict, s) == 1) return (const char *)s;
    const xmlChar *interned = xmlDictLookup(dict, s, -1);
    return interned != NULL ? (const char *)interned : (const char *)s;
}

/* Without NOENT, libxml2 hands an attribute's literal '&' to SAX as "&#38;"
 * (its own SAX2 layer re-decodes it); every other reference arrives decoded. */
static size_t xs_decode_amp(char *out, const char *in, size_t len) {
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        if (in[i] == '&' && len - i >= 5 && memcmp(in + i, "&#38;", 5) == 0) {
            out[o++] = '&';
            i += 5;
        } else {
            out[o++] = in[i++];
        }
    }
    return o;
}

/* Converts the stream header's (localname, prefix, URI, begin, end)
 * attribute tuples; stanzas go to the tape instead (xs_tape_start). */
static int xs_collect_attrs(xs_parser *p, int nb, const xmlChar **a) {
    size_t n = (size_t)nb;
    if (n > p->attrs_cap) {
        size_t cap = n < 8 ? 8 : n;
        xs_attr *grown = realloc(p->attrs, cap * sizeof *grown);
        if (grown == NULL) return -1;
        p->attrs = grown;
        p->attrs_cap = cap;
    }
    size_t need = 0;
    for (size_t i = 0; i < n; i++) {
        const char *v = (const char *)a[i * 5 + 3];
        size_t len = (size_t)(a[i * 5 + 4] - a[i * 5 + 3]);
        if (memchr(v, '&', len) != NULL) need += len;
    }
    if (need > p->scratch_cap) {
        char *grown = realloc(p->scratch, need);
        if (grown == NULL) return -1;
        p->scratch = grown;
        p->scratch_cap = need;
    }
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        const char *v = (const char *)a[i * 5 + 3];
        size_t len = (size_t)(a[i * 5 + 4] - a[i * 5 + 3]);
        xs_attr *out = &p->attrs[i];
        out->local = xs_intern(p, a[i * 5]);
        out->prefix = xs_intern(p, a[i * 5 + 1]);
        if (memchr(v, '&', len) != NULL) {
            char *dst = p->scratch + used;
            size_t decoded = xs_decode_amp(dst, v, len);
            used += decoded;
            out->value = dst;
            out->value_len = decoded;
        } else {
            out->value = v;
            out->value_len = len;
        }
    }
    return 0;
}

/* Grows *buf to hold at least `need` items of `size` bytes; 0 or -1 (OOM or
 * overflow). Doubling keeps appends amortised O(1). */
static int xs_reserve(void **buf, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return 0;
    size_t grown = *cap < 16 ? 16 : *cap;
    while (grown < need) {
        if (grown > SIZE_MAX / 2) return -1;
        grown *= 2;
    }
    if (grown > SIZE_MAX / size) return -1;
    void *p = realloc(*buf, grown * size);
    if (p == NULL) return -1;
    *buf = p;
    *cap = grown;
    return 0;
}

/* Appends a node, counting it as a child of the innermost open element. */
static xs_node *xs_tape_node(xs_parser *p, int kind) {
    if (xs_reserve((void **)&p->nodes, &p->nodes_cap, p->nodes_len + 1, sizeof *p->nodes) != 0) return NULL;
    if (p->stack_len > 0) p->nodes[p->stack[p->stack_len - 1]].child_count++;
    xs_node *n = &p->nodes[p->nodes_len++];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    return n;
}

/* Copies `len` bytes to the tape's byte buffer; returns their offset, or
 * SIZE_MAX on OOM. With `decode_amp`, "&#38;" is decoded (see xs_decode_amp). */
static size_t xs_tape_bytes(xs_parser *p, const char *src, size_t len, int decode_amp, size_t *out_len) {
    if (len > SIZE_MAX - p->bytes_len ||
        xs_reserve((void **)&p->bytes, &p->bytes_cap, p->bytes_len + len, 1) != 0)
        return SIZE_MAX;
    size_t at = p->bytes_len;
    size_t n = len;
    if (decode_amp && memchr(src, '&', len) != NULL) {
        n = xs_decode_amp(p->bytes + at, src, len);
    } else if (len > 0) {
        memcpy(p->bytes + at, src, len);
    }
    p->bytes_len += n;
    *out_len = n;
    return at;
}

static int xs_attr_name_cmp(const void *a, const void *b) {
    return strcmp(((const xs_stanza_attr *)a)->name, ((const xs_stanza_attr *)b)->name);
}

/* A namespace URI, interned. libxml2 hands it over as written in the xmlns
 * attribute's value, with '&' as "&#38;" (see xs_decode_amp). NULL on OOM. */
static const char *xs_intern_namespace(xs_parser *p, const xmlChar *uri) {
    if (uri == NULL) return "";
    size_t len = strlen((const char *)uri);
    if (memchr(uri, '&', len) == NULL) return xs_intern(p, uri);
    if (len > p->scratch_cap) {
        char *grown = realloc(p->scratch, len);
        if (grown == NULL) return NULL;
        p->scratch = grown;
        p->scratch_cap = len;
    }
    size_t decoded = xs_decode_amp(p->scratch, (const char *)uri, len);
    return (const char *)xmlDictLookup(p->ctxt->dict, (const xmlChar *)p->scratch, (int)decoded);
}

/* Records a start tag of the open stanza. -1 on OOM. */
static int xs_tape_start(xs_parser *p, const xmlChar *localname, const xmlChar *URI,
                         int nb_attributes, const xmlChar **a) {
    const char *ns = xs_intern_namespace(p, URI);
    const char *name = xs_intern(p, localname);
    size_t n = (size_t)nb_attributes;
    if (name == NULL || ns == NULL ||
        xs_reserve((void **)&p->tattrs, &p->tattrs_cap, p->tattrs_len + n, sizeof *p->tattrs) != 0 ||
        xs_reserve((void **)&p->stack, &p->stack_cap, p->stack_len + 1, sizeof *p->stack) != 0)
        return -1;
    size_t first = p->tattrs_len;
    for (size_t i = 0; i < n; i++) {
        const xmlChar *local = a[i * 5], *prefix = a[i * 5 + 1];
        const char *v = (const char *)a[i * 5 + 3];
        size_t len = (size_t)(a[i * 5 + 4] - a[i * 5 + 3]);
        /* The dictionary interns "prefix:local" too, so the key stays one
         * stable pointer the caller can cache. */
        const char *qname = prefix != NULL ? (const char *)xmlDictQLookup(p->ctxt->dict, prefix, local)
                                           : xs_intern(p, local);
        if (qname == NULL) return -1;
        xs_stanza_attr *out = &p->tattrs[first + i];
        out->name = qname;
        out->name_len = strlen(qname);
        out->value_offset = xs_tape_bytes(p, v, len, 1, &out->value_len);
        if (out->value_offset == SIZE_MAX) return -1;
    }
    /* Sorted by name bytes, which is the order the Swift side keeps them
     * in for ASCII names: it then only has to confirm the order. Insertion
     * sort for the usual handful; max_attributes may be set high. */
    xs_stanza_attr *sorted = p->tattrs + first;
    if (n > 16) {
        qsort(sorted, n, sizeof *sorted, xs_attr_name_cmp);
    } else {
        for (size_t i = 1; i < n; i++) {
            xs_stanza_attr a = sorted[i];
            size_t j = i;
            while (j > 0 && strcmp(a.name, sorted[j - 1].name) < 0) {
                sorted[j] = sorted[j - 1];
                j--;
            }
            sorted[j] = a;
        }
    }
    p->tattrs_len += n;
    xs_node *node = xs_tape_node(p, XS_NODE_ELEMENT);
    if (node == NULL) return -1;
    node->name = name;
    node->name_len = strlen(name);
    node->ns = ns;
    node->ns_len = strlen(ns);
    node->first_attr = first;
    node->attr_count = n;
    p->stack[p->stack_len++] = p->nodes_len - 1;
    p->text_run_open = 0;
    return 0;
}

/* Forgets the open stanza, keeping the buffers unless one is unusually
 * large, so a single huge stanza does not pin its memory for the stream. */
static void xs_tape_clear(xs_parser *p) {
    p->nodes_len = p->tattrs_len = p->bytes_len = p->stack_len = 0;
    p->text_run_open = 0;
    if (p->bytes_cap > (64u << 10)) {
        free(p->bytes);
        p->bytes = NULL;
        p->bytes_cap = 0;
    }
}

static void on_start(void *user, const xmlChar *localname, const xmlChar *prefix,
                     const xmlChar *URI, int nb_namespaces, const xmlChar **namespaces,
                     int nb_attributes, int nb_defaulted, const xmlChar **attributes) {
    (void)prefix; (void)nb_namespaces; (void)namespaces; (void)nb_defaulted;
    xs_parser *p = user;
    if (p->error_kind != XS_OK) return;
    if (p->open == 0) {
        if (URI == NULL || strcmp((const char *)localname, "stream") != 0 ||
            strcmp((const char *)URI, XS_STREAM_NS) != 0) {
            xs_fail(p, XS_NOT_WELL_FORMED, "stream header is <%s> in namespace '%s', not <stream> in '"
                    XS_STREAM_NS "'", (const char *)localname, URI ? (const char *)URI : "");
            return;
        }
        p->open = 1;
        if (p->priming) return; /* the same header again, after a drop: already reported */
        if (xs_collect_attrs(p, nb_attributes, attributes) != 0) {
            xs_fail(p, XS_POLICY_VIOLATION, "out of memory while parsing attributes");
            return;
        }
        if (p->cb.stream_open) p->cb.stream_open(p->ctx, p->attrs, (size_t)nb_attributes);
        return;
    }
    if (p->open == 1) xs_tape_clear(p);
    if (xs_tape_start(p, localname, URI, nb_attributes, attributes) != 0) {
        xs_fail(p, XS_POLICY_VIOLATION, "out of memory while parsing a stanza");
        return;
    }
    p->open++;
}

static void on_end(void *user, const xmlChar *localname, const xmlChar *prefix, const xmlChar *URI) {
    (void)localname; (void)prefix; (void)URI;
    xs_parser *p = user;
    if (p->error_kind != XS_OK || p->open == 0) return;
    p->open--;
    if (p->open == 0) {
        if (p->cb.stream_close) p->cb.stream_close(p->ctx);
        return;
    }
    if (p->stack_len > 0) p->stack_len--;
    p->text_run_open = 0;
    if (p->open == 1) {
        xs_stanza st = {
            .nodes = p->nodes, .node_count = p->nodes_len,
            .attrs = p->tattrs, .attr_count = p->tattrs_len,
            .bytes = p->bytes, .byte_count = p->bytes_len,
        };
        if (p->cb.stanza) p->cb.stanza(p->ctx, &st);
        xs_tape_clear(p);
    }
}

/* The lexer has already bounded the text of a stanza (xs_lex), and decoding
 * only shrinks it, so nothing here can grow past max_text_bytes. */
static void on_text(void *user, const xmlChar *ch, int len) {
    xs_parser *p = user;
    if (p->error_kind != XS_OK || len <= 0) return;
    if (p->open < 2) return; /* between stanzas: keepalive whitespace */
    /* libxml2 splits one run of text at entities, CDATA and chunk ends;
     * pieces with no tag between them are one node. Nothing else is
     * appended to `bytes` during a run, so the pieces stay contiguous. */
    if (!p->text_run_open) {
        xs_node *node = xs_tape_node(p, XS_NODE_TEXT);
        if (node == NULL) {
            xs_fail(p, XS_POLICY_VIOLATION, "out of memory while parsing text");
            return;
        }
        node->text_offset = p->bytes_len;
        p->text_run_open = 1;
    }
    size_t copied;
    if (xs_tape_bytes(p, (const char *)ch, (size_t)len, 0, &copied) == SIZE_MAX) {
        xs_fail(p, XS_POLICY_VIOLATION, "out of memory while parsing text");
        return;
    }
    p->nodes[p->nodes_len - 1].text_len += copied;
}

/* RFC 6120 §11.1: everything below is outside the XMPP subset. */
static void on_internal_subset(void *user, const xmlChar *name, const xmlChar *e, const xmlChar *s) {
    (void)name; (void)e; (void)s;
    xs_fail(user, XS_RESTRICTED_XML, "document type declaration");
}
static void on_external_subset(void *user, const xmlChar *name, const xmlChar *e, const xmlChar *s) {
    (void)name; (void)e; (void)s;
    xs_fail(user, XS_RESTRICTED_XML, "external DTD subset");
}
static void on_comment(void *user, const xmlChar *value) {
    (void)value;
    xs_fail(user, XS_RESTRICTED_XML, "XML comment");
}
static void on_pi(void *user, const xmlChar *target, const xmlChar *data) {
    (void)data;
    xs_fail(user, XS_RESTRICTED_XML, "processing instruction <?%s?>", (const char *)target);
}
static xmlEntityPtr on_get_entity(void *user, const xmlChar *name) {
    /* The five predefined entities never reach this callback. */
    xs_fail(user, XS_RESTRICTED_XML, "entity reference &%s;", (const char *)name);
    return NULL;
}
static xmlEntityPtr on_get_parameter_entity(void *user, const xmlChar *name) {
    xs_fail(user, XS_RESTRICTED_XML, "parameter entity %%%s;", (const char *)name);
    return NULL;
}
static void on_entity_decl(void *user, const xmlChar *name, int type, const xmlChar *publicId,
                           const xmlChar *systemId, xmlChar *content) {
    (void)type; (void)publicId; (void)systemId; (void)content;
    xs_fail(user, XS_RESTRICTED_XML, "entity declaration %s", (const char *)name);
}
static void on_reference(void *user, const xmlChar *name) {
    xs_fail(user, XS_RESTRICTED_XML, "entity reference &%s;", (const char *)name);
}
static xmlParserInputPtr on_resolve_entity(void *user, const xmlChar *publicId, const xmlChar *systemId) {
    (void)publicId;
    xs_fail(user, XS_RESTRICTED_XML, "external entity %s", systemId ? (const char *)systemId : "");
    return NULL;
}

static void on_error(void *user, xmlErrorPtr err) {
    xs_parser *p = user;
    if (err == NULL || err->level < XML_ERR_ERROR) return; /* warnings, e.g. relative ns URIs */
    int kind = XS_NOT_WELL_FORMED;
    switch (err->code) {
    case XML_ERR_UNDECLARED_ENTITY:
    case XML_WAR_UNDECLARED_ENTITY:
    case XML_ERR_ENTITY_LOOP:
    case XML_ERR_ENTITY_BOUNDARY:
    case XML_ERR_EXT_ENTITY_STANDALONE:
        kind = XS_RESTRICTED_XML;
        break;
    default:
        break;
    }
    const char *msg = err->message ? err->message : "parse error";
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) n--;
    xs_fail(p, kind, "line %d column %d: %.*s", err->line, err->int2, (int)n, msg);
}

/* IGNORE_ENC: RFC 6120 §11.6 streams are UTF-8 whatever the declaration says. */
static int xs_use_options(xs_parser *p) {
    return xmlCtxtUseOptions(p->ctxt, XML_PARSE_NONET | XML_PARSE_IGNORE_ENC);
}

xs_parser *xs_new(const xs_callbacks *cb, void *ctx, const xs_limits *limits) {
    pthread_once(&xs_init_once, xs_init);
    xs_parser *p = calloc(1, sizeof *p);
    if (p == NULL) return NULL;
    if (cb != NULL) p->cb = *cb;
    p->ctx = ctx;
    if (limits != NULL) p->lim = *limits;
    if (p->lim.max_depth == 0) p->lim.max_depth = 64;
    if (p->lim.max_stanza_bytes == 0) p->lim.max_stanza_bytes = 1u << 20;
    if (p->lim.max_attributes == 0) p->lim.max_attributes = 64;
    if (p->lim.max_text_bytes == 0) p->lim.max_text_bytes = 512u << 10;
    if (p->lim.max_skip_bytes == 0) p->lim.max_skip_bytes = 16u << 20;

    xmlSAXHandler sax;
    memset(&sax, 0, sizeof sax);
    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = on_start;
    sax.endElementNs = on_end;
    sax.characters = on_text;
    sax.ignorableWhitespace = on_text;
    sax.cdataBlock = on_text;
    sax.internalSubset = on_internal_subset;
    sax.externalSubset = on_external_subset;
    sax.comment = on_comment;
    sax.processingInstruction = on_pi;
    sax.getEntity = on_get_entity;
    sax.getParameterEntity = on_get_parameter_entity;
    sax.entityDecl = on_entity_decl;
    sax.reference = on_reference;
    sax.resolveEntity = on_resolve_entity;
    sax.serror = on_error;

    p->ctxt = xmlCreatePushParserCtxt(&sax, p, NULL, 0, NULL);
    if (p->ctxt == NULL) {
        free(p);
        return NULL;
    }
    if (xs_use_options(p) != 0) {
        xmlFreeParserCtxt(p->ctxt);
        free(p);
        return NULL;
    }
    return p;
}

/* A per-stanza limit was crossed at the byte about to be lexed: stop before
 * it, so libxml2 is never given it (nor anything after it in this stanza). */
static void xs_limit_crossed(xs_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void xs_limit_crossed(xs_parser *p, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->drop_reason, sizeof p->drop_reason, fmt, ap);
    va_end(ap);
    p->drop_pending = 1;
}

static int xs_is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The only bytes the start-tag state acts on outside quotes. */
static const unsigned char xs_tag_special[256] = {
    ['"'] = 1, ['\''] = 1, ['<'] = 1, ['>'] = 1, ['='] = 1, ['/'] = 1,
};

/* A stream-level fault at the byte about to be lexed. It is reported after
 * libxml2 has been given the bytes before it, so that an earlier error of
 * libxml2's wins however the stream was cut into chunks. */
static void xs_lex_fault(xs_parser *p, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void xs_lex_fault(xs_parser *p, int kind, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->lx_fault_msg, sizeof p->lx_fault_msg, fmt, ap);
    va_end(ap);
    p->lx_fault = kind;
}

/* Lexes up to `len` bytes and returns how many it consumed. It stops early
 * (the caller acts, then calls again with the rest):
 *   - before a byte that would cross a per-stanza limit (drop_pending), unless skipping;
 *   - after the last byte of the stanza being skipped (stanza_open cleared);
 *   - after the '>' of the stream header (header_done set);
 *   - after the end of markup held from an earlier call (held_len > 0);
 *   - before a stream-level fault (lx_fault set).
 * Text is crossed with memchr and tags with a table, so only tag bytes are
 * looked at one by one. Well-formedness is libxml2's to check, except where
 * the two could disagree on where markup ends (a quote or '<' where XML has
 * none, a partial "<!" opener): the lexer refuses those itself, so libxml2,
 * which only gets bytes up to the end of markup (xs_feed), reaches the same verdict
 * however the stream was cut into chunks.
 *
 * Everything that begins with '<' between stanzas is a unit whose bytes are
 * capped, since libxml2 buffers a construct until it ends: a stanza over the
 * cap is dropped; anything else there (an end tag, comment, PI, CDATA) is the
 * server's own doing, and ends the stream. */
static size_t xs_lex(xs_parser *p, const unsigned char *start, size_t len) {
    const unsigned char *s = start, *end = start + len;
    while (s < end && !p->lx_fault) {
        int in_markup = p->lx_state != XS_LX_TEXT;
        /* Each step below stops at `e`, the first byte beyond the unit's cap. */
        const unsigned char *e = end;
        /* Text between stanzas is held too (xs_feed), so it is capped like a stanza. */
        if (p->unit_open || !p->header_done || p->lx_depth <= 1) {
            unsigned long long at = p->fed + (unsigned long long)(s - start);
            unsigned long long used = !p->header_done ? at : p->unit_open ? at - p->unit_start : at - p->lx_clean_at;
            size_t cap = !p->header_done ? XS_HEADER_MAX_BYTES
                       : p->skipping ? p->lim.max_skip_bytes : p->lim.max_stanza_bytes;
            if (used >= cap) {
                if (!p->header_done) {
                    xs_lex_fault(p, XS_POLICY_VIOLATION, "stream header exceeds %zu bytes", cap);
                } else if (!p->unit_open) {
                    xs_lex_fault(p, XS_POLICY_VIOLATION, "text between stanzas exceeds %zu bytes", cap);
                } else if (!p->stanza_open) {
                    xs_lex_fault(p, XS_POLICY_VIOLATION, "markup between stanzas exceeds %zu bytes", cap);
                } else if (p->skipping) {
                    xs_lex_fault(p, XS_POLICY_VIOLATION, "a dropped stanza exceeds %zu bytes", cap);
                } else {
                    xs_limit_crossed(p, "stanza exceeds %zu bytes", cap);
                }
                break;
            }
            if (cap - used < (unsigned long long)(end - s)) e = s + (cap - used);
        }
        switch (p->lx_state) {
        case XS_LX_TEXT: {
            /* Look one byte past the text allowance: a '<' there still ends the run in time. */
            int counted = p->stanza_open && p->lx_depth >= 2;
            size_t room = p->lim.max_text_bytes - p->stanza_text;
            int limited = counted && !p->skipping && (size_t)(e - s) > room;
            const unsigned char *window = limited ? s + room + 1 : e;
            const unsigned char *lt = memchr(s, '<', (size_t)(window - s));
            if (lt == NULL && limited) {
                p->stanza_text += room;
                s += room;
                xs_limit_crossed(p, "text in one stanza exceeds %zu bytes", p->lim.max_text_bytes);
                goto out;
            }
            const unsigned char *run_end = lt != NULL ? lt : window;
            if (counted) p->stanza_text += (size_t)(run_end - s);
            s = run_end;
            if (lt != NULL) {
                int opens_unit = !p->unit_open && p->lx_depth == 1;
                if (opens_unit) {
                    p->unit_open = 1;
                    p->unit_start = p->fed + (unsigned long long)(lt - start);
                }
                p->lx_state = XS_LX_LT;
                s++;
                /* Inside a stanza the markup goes on in this step (see XS_LX_TAG). A
                 * unit just opened is capped from its '<' on: the next step works out
                 * its bound. */
                if (!opens_unit && s < e) {
                    in_markup = 1;
                    goto lex_lt;
                }
            }
            break;
        }
        case XS_LX_LT: {
        lex_lt:
            if (p->header_done && p->lx_depth == 0) {
                /* The stream has ended: nothing after it is a stanza to count or drop. */
                xs_lex_fault(p, XS_NOT_WELL_FORMED, "markup after the end of the stream");
                goto out;
            }
            unsigned char c = *s;
            if (c == '/') {
                p->lx_state = XS_LX_ENDTAG;
                s++;
                if (s < e) goto lex_endtag;
                break;
            }
            if (c == '!' || c == '?') {
                p->lx_state = c == '!' ? XS_LX_BANG : XS_LX_PI;
                p->lx_run = 0;
                s++;
                break;
            }
            /* A start tag, opening level lx_depth + 1. */
            if (p->unit_open && !p->stanza_open) {
                p->stanza_open = 1;
                p->stanza_text = 0;
                p->stanza_name_len = 0;
                p->lx_naming = 1;
            } else if (p->stanza_open && !p->skipping && p->lx_depth + 1 > p->lim.max_depth) {
                xs_limit_crossed(p, "element nesting exceeds %u levels", p->lim.max_depth);
                goto out;
            }
            p->lx_state = XS_LX_TAG;
            p->lx_quote = 0;
            p->lx_last = 0;
            p->lx_eq = 0;
            goto lex_tag;
        }
        case XS_LX_TAG:
            /* The whole tag in one step, up to its '>' or the end of the bytes (and
             * inside a stanza from the text before its '<' on): one step per '<', '=',
             * and quote made the bookkeeping around the switch cost more than the short
             * runs between them (callgrind on tern-bench's chat messages: xs_feed's own
             * instructions 286M -> 229M for one step per tag). */
        lex_tag:
            for (;;) {
                if (p->lx_quote != 0) {
                    /* An attribute value: nothing inside it counts, and it holds no '<' (XML 1.0 §3.1). */
                    const unsigned char *q = memchr(s, p->lx_quote, (size_t)(e - s));
                    const unsigned char *lt = memchr(s, '<', (size_t)((q != NULL ? q : e) - s));
                    if (lt != NULL) {
                        s = lt;
                        xs_lex_fault(p, XS_NOT_WELL_FORMED, "'<' in an attribute value");
                        goto out;
                    }
                    if (q == NULL) {
                        s = e;
                        break;
                    }
                    p->lx_quote = 0;
                    p->lx_last = *q;
                    s = q + 1;
                    continue;
                }
                if (p->lx_naming) {
                    while (s < e && !xs_is_space(*s) && !xs_tag_special[*s]) {
                        if (p->stanza_name_len < XS_NAME_CAP - 1) p->stanza_name[p->stanza_name_len++] = (char)*s;
                        s++;
                    }
                    if (s == e) break;
                    p->lx_naming = 0;
                }
                while (s < e && !xs_tag_special[*s]) {
                    if (!xs_is_space(*s)) p->lx_last = *s;
                    s++;
                }
                if (s == e) break;
                unsigned char c = *s;
                if (c == '<') {
                    xs_lex_fault(p, XS_NOT_WELL_FORMED, "'<' inside a tag");
                    goto out;
                }
                if (c == '>') {
                    s++;
                    p->lx_state = XS_LX_TEXT;
                    if (!p->header_done) {
                        /* The stream header is complete: the stream is open. */
                        p->header_done = 1;
                        p->lx_depth = 1;
                        p->lx_clean_at = p->fed + (unsigned long long)(s - start);
                        goto out;
                    }
                    if (p->lx_last != '/') p->lx_depth++;
                    break;
                }
                if (c == '=') {
                    if (!p->header_done) {
                        if (p->lx_eq + 1 > XS_HEADER_MAX_ATTRIBUTES) {
                            xs_lex_fault(p, XS_POLICY_VIOLATION, "stream header has more than %u attributes", XS_HEADER_MAX_ATTRIBUTES);
                            goto out;
                        }
                    } else if (p->lx_eq + 1 > p->lim.max_attributes) {
                        if (!p->skipping) {
                            xs_limit_crossed(p, "an element has more than %u attributes", p->lim.max_attributes);
                            goto out;
                        }
                    }
                    p->lx_eq++;
                } else if (c == '"' || c == '\'') {
                    p->lx_quote = c;
                }
                p->lx_last = c;
                s++;
            }
            break;
        case XS_LX_ENDTAG: {
        lex_endtag:;
            /* Ends at the next '>' and closes a level. A quote or '<' before
             * it is not well-formed, and would make libxml2 look for its end
             * elsewhere. */
            const unsigned char *gt = memchr(s, '>', (size_t)(e - s));
            for (const unsigned char *c = s; c < (gt != NULL ? gt : e); c++) {
                if (*c == '<' || *c == '\'' || *c == '"') {
                    s = c;
                    xs_lex_fault(p, XS_NOT_WELL_FORMED, "malformed end tag");
                    goto out;
                }
            }
            if (gt == NULL) {
                s = e;
                break;
            }
            s = gt + 1;
            if (p->lx_depth > 0) p->lx_depth--;
            p->lx_state = XS_LX_TEXT;
            break;
        }
        case XS_LX_BANG:
            /* "<![CDATA[" or "<!--", matched whole: libxml2 judges a partial
             * opener by how many bytes it has. Any other "<!" is a DTD or
             * another declaration (RFC 6120 §11.1). */
            if (p->lx_run == 0) p->lx_opener = *s == '[' ? "[CDATA[" : *s == '-' ? "--" : NULL;
            if (p->lx_opener == NULL) {
                xs_lex_fault(p, XS_RESTRICTED_XML, "document type or markup declaration");
                goto out;
            }
            if (*s != (unsigned char)p->lx_opener[p->lx_run]) {
                xs_lex_fault(p, XS_NOT_WELL_FORMED, "malformed '<!' markup");
                goto out;
            }
            s++;
            if (p->lx_opener[++p->lx_run] == '\0') {
                p->lx_state = p->lx_opener[0] == '[' ? XS_LX_CDATA : XS_LX_COMMENT;
                p->lx_run = 0;
            }
            break;
        case XS_LX_CDATA:
        case XS_LX_COMMENT: {
            /* Ends at "]]>" or "-->"; CDATA counts as text. */
            unsigned char mark = p->lx_state == XS_LX_CDATA ? ']' : '-';
            int counted = p->stanza_open && p->lx_depth >= 2 && p->lx_state == XS_LX_CDATA;
            if (counted && !p->skipping && p->stanza_text >= p->lim.max_text_bytes) {
                xs_limit_crossed(p, "text in one stanza exceeds %zu bytes", p->lim.max_text_bytes);
                goto out;
            }
            unsigned char c = *s++;
            if (counted) p->stanza_text++;
            if (c == '>' && p->lx_run >= 2) {
                p->lx_state = XS_LX_TEXT;
            } else {
                p->lx_run = c == mark ? p->lx_run + 1 : 0;
            }
            break;
        }
        case XS_LX_PI: {
            unsigned char c = *s++;
            if (c == '>' && p->lx_run) p->lx_state = XS_LX_TEXT;
            p->lx_run = c == '?';
            break;
        }
        }
        int markup_ended = in_markup && p->lx_state == XS_LX_TEXT;
        if (markup_ended) p->lx_clean_at = p->fed + (unsigned long long)(s - start);
        /* Back in text between stanzas: the unit has ended. */
        if (p->unit_open && p->lx_state == XS_LX_TEXT && p->lx_depth <= 1) {
            int was_skipped = p->skipping && p->stanza_open;
            p->unit_open = 0;
            p->stanza_open = 0;
            if (was_skipped) break;
        }
        /* Held bytes end here: libxml2 gets them now, in one piece. */
        if (markup_ended && p->held_len > 0) break;
    }
out:
    return (size_t)(s - start);
}

/* Hands bytes the lexer passed to libxml2. */
static int xs_parse(xs_parser *p, const char *bytes, size_t len) {
    while (len > 0 && p->error_kind == XS_OK) {
        int n = len > (size_t)INT32_MAX ? INT32_MAX : (int)len;
        int rc = xmlParseChunk(p->ctxt, bytes, n, 0);
        if (p->error_kind != XS_OK) break;
        if (rc != 0) xs_fail(p, XS_NOT_WELL_FORMED, "libxml2 error %d", rc);
        bytes += n;
        len -= (size_t)n;
    }
    return p->error_kind;
}

/* Appends to the saved header or the held bytes; -1 on OOM. */
static int xs_append(xs_parser *p, char **buf, size_t *buf_len, size_t *buf_cap, const char *bytes, size_t len) {
    if (xs_reserve((void **)buf, buf_cap, *buf_len + len, 1) != 0) {
        xs_fail(p, XS_POLICY_VIOLATION, "out of memory while reading the stream");
        return -1;
    }
    memcpy(*buf + *buf_len, bytes, len);
    *buf_len += len;
    return 0;
}

/* XML 1.0 §2.2 Char in RFC 3629 UTF-8 (RFC 6120 §11.6): how many of `len`
 * bytes are valid. UTF-8 in shortest form, no surrogates, nothing beyond
 * U+10FFFF; no C0 control but TAB, LF and CR (NUL included); no U+FFFE or
 * U+FFFF. A sequence cut by the end of the chunk is carried to the next call.
 * libxml2 checks these too, but it never sees a skipped stanza, and how it
 * reports a bad byte depends on what follows it in its buffer (a NUL may
 * even pass for the end of its input). */
static size_t xs_chars_prefix(xs_parser *p, const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (p->u8_need > 0) {
            if (c < p->u8_lo || c > p->u8_hi) return i;
            p->u8_need--;
            p->u8_lo = 0x80;
            /* EF BF BE and EF BF BF are U+FFFE and U+FFFF. */
            p->u8_hi = p->u8_need == 1 && p->u8_lead == 0xEF && c == 0xBF ? 0xBD : 0xBF;
            i++;
            continue;
        }
        if (c >= 0x20 && c < 0x80) {
            /* Printable ASCII, a word at a time: no byte with its high bit set or below 0x20. */
            i++;
            while (len - i >= 8) {
                uint64_t word;
                memcpy(&word, s + i, 8);
                if ((word | ((word - 0x2020202020202020ull) & ~word)) & 0x8080808080808080ull) break;
                i += 8;
            }
            continue;
        }
        if (c < 0x20) {
            if (c != '\t' && c != '\n' && c != '\r') return i;
            i++;
            continue;
        }
        p->u8_lead = c;
        p->u8_lo = 0x80;
        p->u8_hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            p->u8_need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            p->u8_need = 2;
            if (c == 0xE0) p->u8_lo = 0xA0;      /* no overlong forms */
            if (c == 0xED) p->u8_hi = 0x9F;      /* no surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            p->u8_need = 3;
            if (c == 0xF0) p->u8_lo = 0x90;
            if (c == 0xF4) p->u8_hi = 0x8F;      /* nothing beyond U+10FFFF */
        } else {
            return i;
        }
        i++;
    }
    return len;
}

/* The skipped stanza has ended: report it with what libxml2 recorded of it,
 * then start libxml2 over on the saved header, in the namespace context the
 * next stanza expects. The dictionary survives xmlCtxtResetPush, so interned
 * names stay valid for the caller's caches. */
static void xs_finish_drop(xs_parser *p) {
    /* Close what was still open in the record, so it reads as a tree. */
    p->stack_len = 0;
    p->text_run_open = 0;
    xs_stanza partial = {
        .nodes = p->nodes, .node_count = p->nodes_len,
        .attrs = p->tattrs, .attr_count = p->tattrs_len,
        .bytes = p->bytes, .byte_count = p->bytes_len,
    };
    p->stanza_name[p->stanza_name_len] = '\0';
    if (p->cb.dropped) p->cb.dropped(p->ctx, &partial, p->stanza_name, p->drop_reason);
    xs_tape_clear(p);
    if (p->error_kind != XS_OK) return;
    if (xmlCtxtResetPush(p->ctxt, NULL, 0, NULL, NULL) != 0 || xs_use_options(p) != 0) {
        xs_fail(p, XS_POLICY_VIOLATION, "cannot reset the XML parser after a dropped stanza");
        return;
    }
    p->open = 0;
    p->priming = 1;
    xs_parse(p, p->header, p->header_len);
    p->priming = 0;
    if (p->error_kind == XS_OK && p->open != 1)
        xs_fail(p, XS_POLICY_VIOLATION, "cannot restore the stream header after a dropped stanza");
}

int xs_feed(xs_parser *p, const char *bytes, size_t len) {
    if (p == NULL) return XS_POLICY_VIOLATION;
    if (p->error_kind != XS_OK) return p->error_kind;
    if (len == 0) return XS_OK;
    if (p->fed == 0) {
        /* Only UTF-8 (§11.6): refuse what libxml2 would auto-detect as UTF-16,
         * UCS-4 or EBCDIC, and the BOM. */
        unsigned char c = (unsigned char)bytes[0];
        if (c != '<' && c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            xs_fail(p, XS_NOT_WELL_FORMED, "stream does not start with '<' (byte 0x%02x): not UTF-8 XML", c);
            return p->error_kind;
        }
    }
    /* Bytes after one that is not an XML character are never lexed; the error
     * is reported once those before it have been handled, as in any chunking. */
    size_t valid = xs_chars_prefix(p, (const unsigned char *)bytes, len);
    int bad_char = valid < len;
    len = valid;
    while (len > 0 && p->error_kind == XS_OK) {
        int was_header_done = p->header_done;
        size_t n = xs_lex(p, (const unsigned char *)bytes, len);
        if (p->skipping) {
            /* Nothing of a dropped stanza reaches libxml2. */
            p->fed += n;
            if (p->lx_fault) {
                xs_fail(p, p->lx_fault, "%s", p->lx_fault_msg);
                break;
            }
            if (!p->unit_open) {
                p->skipping = 0;
                xs_finish_drop(p);
            }
        } else {
            if (!was_header_done && xs_append(p, &p->header, &p->header_len, &p->header_cap, bytes, n) != 0) break;
            /* libxml2 is given bytes only up to the end of markup. Its push
             * parser guesses from what it has whether a tag is complete, and
             * parses text early or late by how much of it it has, so bytes cut
             * across chunks could parse, or fail, differently depending on
             * where the cuts fall. What follows the last markup that ended
             * (text, unfinished markup) is held. */
            size_t ready = p->lx_clean_at > p->fed ? (size_t)(p->lx_clean_at - p->fed) : 0;
            if (ready > n) ready = n;
            if (ready > 0 && p->held_len > 0) {
                /* xs_lex stopped where the held bytes end. */
                if (xs_append(p, &p->held, &p->held_len, &p->held_cap, bytes, ready) != 0) break;
                size_t held = p->held_len;
                p->held_len = 0;
                xs_parse(p, p->held, held);
                if (p->held_cap > (64u << 10)) {
                    /* A long text, CDATA section or tag does not pin its memory for the stream. */
                    free(p->held);
                    p->held = NULL;
                    p->held_cap = 0;
                }
            } else if (ready > 0) {
                xs_parse(p, bytes, ready);
            }
            p->fed += n;
            if (p->error_kind != XS_OK) break;
            if (p->lx_fault) {
                xs_fail(p, p->lx_fault, "%s", p->lx_fault_msg);
                break;
            }
            if (p->drop_pending) {
                /* What was held of the stanza is dropped with it. */
                p->drop_pending = 0;
                p->skipping = 1;
                p->held_len = 0;
            } else if (n > ready && xs_append(p, &p->held, &p->held_len, &p->held_cap, bytes + ready, n - ready) != 0) {
                break;
            }
        }
        bytes += n;
        len -= n;
    }
    if (bad_char) xs_fail(p, XS_NOT_WELL_FORMED, "byte %llu of the stream is not an XML character in UTF-8", p->fed);
    return p->error_kind;
}

int xs_error_kind_of(const xs_parser *p) { return p ? p->error_kind : XS_POLICY_VIOLATION; }

const char *xs_error_message(const xs_parser *p) { return p ? p->error_msg : "no parser"; }

void xs_free(xs_parser *p) {
    if (p == NULL) return;
    if (p->ctxt != NULL) xmlFreeParserCtxt(p->ctxt);
    free(p->attrs);
    free(p->scratch);
    free(p->nodes);
    free(p->tattrs);
    free(p->bytes);
    free(p->stack);
    free(p->header);
    free(p->held);
    free(p);
}
