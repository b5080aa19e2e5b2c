/* RFC 6120 §4 / §11.1: libxml2 SAX2 push parser restricted to the XMPP XML subset.
 *
 * Why this exists rather than a bare libxml2 context: libxml2 2.9.14 driven by
 * our own SAX handler accepts comments, PIs and DTDs silently and has no depth
 * or size limit for this use, so every restriction and cap is enforced here.
 * The first error is sticky and stops the parser; there is no recovery mode.
 * Never set XML_PARSE_NOENT, DTDLOAD, HUGE or RECOVER. */
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

struct xs_parser {
    xmlParserCtxtPtr ctxt;
    xs_callbacks cb;
    void *ctx;
    xs_limits lim;

    unsigned open;              /* open elements, the stream header included */
    int error_kind;
    char error_msg[256];

    unsigned long long fed;      /* bytes handed to libxml2 so far */
    unsigned long long boundary; /* offset where unfinished input begins: the end of
                                    the last stanza, header or inter-stanza text */
    size_t text_bytes;          /* decoded text in the open stanza */

    /* The pre-scan's lexer state, carried across chunks (see xs_prescan). */
    int scan_state;             /* XS_SCAN_TEXT, _LT, _TAG or _MARKUP */
    unsigned char scan_quote;   /* the open quote inside a tag, or 0 */
    size_t eq_in_tag;           /* '=' outside quotes in the current start tag */
    size_t eq_limit;

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

/* Offset just past the construct libxml2 is reporting. */
static unsigned long long xs_position(xs_parser *p) {
    long consumed = xmlByteConsumed(p->ctxt);
    return consumed < 0 ? p->fed : (unsigned long long)consumed;
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

/* Records a start tag of the open stanza. -1 on OOM. */
static int xs_tape_start(xs_parser *p, const xmlChar *localname, const xmlChar *URI,
                         int nb_attributes, const xmlChar **a) {
    const char *ns = URI != NULL ? xs_intern(p, URI) : "";
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
    if (p->open + 1 > p->lim.max_depth) {
        xs_fail(p, XS_POLICY_VIOLATION, "element nesting exceeds %u levels", p->lim.max_depth);
        return;
    }
    if ((unsigned)nb_attributes > p->lim.max_attributes) {
        xs_fail(p, XS_POLICY_VIOLATION, "element <%s> has %d attributes (limit %u)",
                (const char *)localname, nb_attributes, p->lim.max_attributes);
        return;
    }
    if (p->open == 0) {
        if (URI == NULL || strcmp((const char *)localname, "stream") != 0 ||
            strcmp((const char *)URI, XS_STREAM_NS) != 0) {
            xs_fail(p, XS_NOT_WELL_FORMED, "stream header is <%s> in namespace '%s', not <stream> in '"
                    XS_STREAM_NS "'", (const char *)localname, URI ? (const char *)URI : "");
            return;
        }
        if (xs_collect_attrs(p, nb_attributes, attributes) != 0) {
            xs_fail(p, XS_POLICY_VIOLATION, "out of memory while parsing attributes");
            return;
        }
        p->open = 1;
        p->boundary = xs_position(p);
        if (p->cb.stream_open) p->cb.stream_open(p->ctx, p->attrs, (size_t)nb_attributes);
        return;
    }
    if (p->open == 1) {
        p->text_bytes = 0;
        xs_tape_clear(p);
    }
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
        p->boundary = xs_position(p);
        xs_stanza st = {
            .nodes = p->nodes, .node_count = p->nodes_len,
            .attrs = p->tattrs, .attr_count = p->tattrs_len,
            .bytes = p->bytes, .byte_count = p->bytes_len,
        };
        if (p->cb.stanza) p->cb.stanza(p->ctx, &st);
        xs_tape_clear(p);
    }
}

static void on_text(void *user, const xmlChar *ch, int len) {
    xs_parser *p = user;
    if (p->error_kind != XS_OK || len <= 0) return;
    if (p->open < 2) {
        /* Between stanzas: keepalive whitespace. Dropped, and it no longer
         * counts against the next stanza's byte budget. */
        if (p->open == 1) p->boundary = xs_position(p);
        return;
    }
    p->text_bytes += (size_t)len;
    if (p->text_bytes > p->lim.max_text_bytes) {
        xs_fail(p, XS_POLICY_VIOLATION, "text in one stanza exceeds %zu bytes", p->lim.max_text_bytes);
        return;
    }
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
    if (p->lim.max_text_bytes == 0) p->lim.max_text_bytes = 1u << 20;
    /* 8192 attributes cost libxml2 ~20 ms; no real tag gets close. */
    p->eq_limit = 8192;
    if (p->eq_limit < (size_t)p->lim.max_attributes * 2) p->eq_limit = (size_t)p->lim.max_attributes * 2;

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
    /* IGNORE_ENC: RFC 6120 §11.6 streams are UTF-8 whatever the declaration says. */
    int bad = xmlCtxtUseOptions(p->ctxt, XML_PARSE_NONET | XML_PARSE_IGNORE_ENC);
    if (bad != 0) {
        xmlFreeParserCtxt(p->ctxt);
        free(p);
        return NULL;
    }
    return p;
}

enum { XS_SCAN_TEXT, XS_SCAN_LT, XS_SCAN_TAG, XS_SCAN_MARKUP };

/* libxml2 2.9 checks a start tag for duplicate attributes pairwise, so one
 * tag with 100k attributes (under 1 MiB) costs seconds of CPU before a SAX
 * callback could count them. This small lexer counts the '=' signs outside
 * quotes in each tag and refuses a tag with too many, before libxml2 sees it.
 * Text is skipped with memchr, so only tag bytes are examined one by one;
 * '=' in text never counts (a body full of '=' is not an attack). "<!" opens
 * CDATA or a declaration, whose quotes are not attribute quotes: it is skipped
 * to the next '>' without tracking quotes, so it cannot shift the count. */
/* The only bytes the tag state acts on outside quotes. */
static const unsigned char xs_tag_special[256] = {
    ['"'] = 1, ['\''] = 1, ['<'] = 1, ['>'] = 1, ['='] = 1,
};

static int xs_prescan(xs_parser *p, const char *bytes, size_t len) {
    const unsigned char *s = (const unsigned char *)bytes, *end = s + len;
    while (s < end) {
        switch (p->scan_state) {
        case XS_SCAN_TEXT: {
            const unsigned char *lt = memchr(s, '<', (size_t)(end - s));
            if (lt == NULL) return 0;
            p->scan_state = XS_SCAN_LT;
            s = lt + 1;
            break;
        }
        case XS_SCAN_LT:
            p->scan_state = *s == '!' ? XS_SCAN_MARKUP : XS_SCAN_TAG;
            p->scan_quote = 0;
            p->eq_in_tag = 0;
            break;
        case XS_SCAN_MARKUP: {
            const unsigned char *gt = memchr(s, '>', (size_t)(end - s));
            if (gt == NULL) return 0;
            p->scan_state = XS_SCAN_TEXT;
            s = gt + 1;
            break;
        }
        case XS_SCAN_TAG: {
            if (p->scan_quote != 0) {
                /* An attribute value: nothing inside it counts. */
                const unsigned char *q = memchr(s, p->scan_quote, (size_t)(end - s));
                if (q == NULL) return 0;
                p->scan_quote = 0;
                s = q + 1;
                break;
            }
            while (s < end && !xs_tag_special[*s]) s++;
            if (s == end) return 0;
            unsigned char c = *s++;
            if (c == '"' || c == '\'') {
                p->scan_quote = c;
            } else if (c == '>') {
                p->scan_state = XS_SCAN_TEXT;
            } else if (c == '<') {
                p->scan_state = XS_SCAN_LT; /* not well-formed; libxml2 will say so */
            } else if (++p->eq_in_tag > p->eq_limit) { /* c == '=' */
                xs_fail(p, XS_POLICY_VIOLATION, "more than %zu attribute assignments in one tag", p->eq_limit);
                return -1;
            }
            break;
        }
        }
    }
    return 0;
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
    /* Hand libxml2 at most the stanza budget beyond the last boundary, so a
     * never-closed tag, text node or comment cannot grow its buffer unbounded. */
    while (len > 0) {
        unsigned long long pending = p->fed - p->boundary;
        if (pending >= p->lim.max_stanza_bytes) {
            xs_fail(p, XS_POLICY_VIOLATION, "stanza exceeds %zu bytes", p->lim.max_stanza_bytes);
            return p->error_kind;
        }
        size_t allowance = p->lim.max_stanza_bytes - (size_t)pending;
        size_t n = len < allowance ? len : allowance;
        if (n > (size_t)INT32_MAX) n = (size_t)INT32_MAX;
        if (xs_prescan(p, bytes, n) != 0) return p->error_kind;
        int rc = xmlParseChunk(p->ctxt, bytes, (int)n, 0);
        p->fed += n;
        bytes += n;
        len -= n;
        if (p->error_kind != XS_OK) return p->error_kind;
        if (rc != 0) {
            xs_fail(p, XS_NOT_WELL_FORMED, "libxml2 error %d", rc);
            return p->error_kind;
        }
    }
    return XS_OK;
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
    free(p);
}
