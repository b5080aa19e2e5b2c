/* Raw libxml2 as tern-bench's parse reference (see xmlref.h).
 *
 * Why a C tree rather than counting alone: tern's parser hands over every stanza as a
 * tree whose names, attribute values and text the caller can keep, so a reference that
 * only counts elements measures less work than any usable parser does. The tree here is
 * the least a C caller would build to match: one malloc'd node per element and text run,
 * names and namespaces kept as libxml2's interned dictionary pointers (tern interns them
 * too), attribute values and text copied out (tern copies them into Strings), the whole
 * stanza freed once complete (as tern's elements are once the events are consumed). It
 * uses the push parser, the chunk size and the parser options tern uses, on the same
 * bytes, and none of tern's checks (character validation, lexer, limits): the ratio is
 * what tern's safety and its Swift tree cost over the least libxml2 work. The counting
 * mode is printed too, as libxml2's own floor. */
#include "xmlref.h"

#include <libxml/parser.h>
#include <stdlib.h>
#include <string.h>

typedef struct xr_attr {
    const xmlChar *name;   /* interned */
    char *value;           /* copied */
} xr_attr;

typedef struct xr_node {
    const xmlChar *name;   /* interned; NULL for a text run */
    const xmlChar *ns;     /* interned */
    xr_attr *attrs;
    int attr_count;
    char *text;            /* text run: copied */
    size_t text_len;
    struct xr_node *parent, *first_child, *last_child, *next;
} xr_node;

typedef struct {
    xr_mode mode;
    int depth;
    long stanzas;
    xr_node *current;      /* innermost open element of the stanza being built */
} xr_state;

static void xr_free(xr_node *node) {
    while (node != NULL) {
        xr_node *next = node->next;
        xr_free(node->first_child);
        for (int i = 0; i < node->attr_count; i++) free(node->attrs[i].value);
        free(node->attrs);
        free(node->text);
        free(node);
        node = next;
    }
}

static void xr_append(xr_state *s, xr_node *node) {
    node->parent = s->current;
    if (s->current == NULL) return;
    if (s->current->last_child != NULL) s->current->last_child->next = node;
    else s->current->first_child = node;
    s->current->last_child = node;
}

static void on_start(void *user, const xmlChar *localname, const xmlChar *prefix, const xmlChar *URI,
                     int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
                     const xmlChar **attributes) {
    (void)prefix; (void)nb_namespaces; (void)namespaces; (void)nb_defaulted;
    xr_state *s = user;
    s->depth++;
    if (s->mode != XR_C_TREE || s->depth < 2) return;
    xr_node *node = calloc(1, sizeof *node);
    if (node == NULL) abort();
    node->name = localname;
    node->ns = URI;
    if (nb_attributes > 0) {
        node->attrs = malloc((size_t)nb_attributes * sizeof *node->attrs);
        if (node->attrs == NULL) abort();
        for (int i = 0; i < nb_attributes; i++) {
            const xmlChar *begin = attributes[i * 5 + 3], *end = attributes[i * 5 + 4];
            size_t len = (size_t)(end - begin);
            char *value = malloc(len + 1);
            if (value == NULL) abort();
            memcpy(value, begin, len);
            value[len] = '\0';
            node->attrs[i].name = attributes[i * 5];
            node->attrs[i].value = value;
        }
        node->attr_count = nb_attributes;
    }
    xr_append(s, node);
    s->current = node;
}

static void on_end(void *user, const xmlChar *localname, const xmlChar *prefix, const xmlChar *URI) {
    (void)localname; (void)prefix; (void)URI;
    xr_state *s = user;
    s->depth--;
    if (s->depth != 1) {
        if (s->mode == XR_C_TREE && s->current != NULL) s->current = s->current->parent;
        return;
    }
    s->stanzas++;
    if (s->mode == XR_C_TREE) {
        xr_free(s->current);
        s->current = NULL;
    }
}

static void on_text(void *user, const xmlChar *ch, int len) {
    xr_state *s = user;
    if (s->mode != XR_C_TREE || s->current == NULL || len <= 0) return;
    xr_node *last = s->current->last_child;
    if (last != NULL && last->name == NULL) {
        /* libxml2 splits a run at chunk ends: one text node, as tern makes it. */
        char *grown = realloc(last->text, last->text_len + (size_t)len);
        if (grown == NULL) abort();
        memcpy(grown + last->text_len, ch, (size_t)len);
        last->text = grown;
        last->text_len += (size_t)len;
        return;
    }
    xr_node *node = calloc(1, sizeof *node);
    if (node == NULL) abort();
    node->text = malloc((size_t)len);
    if (node->text == NULL) abort();
    memcpy(node->text, ch, (size_t)len);
    node->text_len = (size_t)len;
    xr_append(s, node);
}

long xr_parse(const char *bytes, size_t len, size_t chunk, xr_mode mode) {
    xmlSAXHandler sax;
    memset(&sax, 0, sizeof sax);
    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = on_start;
    sax.endElementNs = on_end;
    sax.characters = on_text;
    sax.cdataBlock = on_text;
    xr_state state = {.mode = mode};
    xmlParserCtxtPtr ctxt = xmlCreatePushParserCtxt(&sax, &state, NULL, 0, NULL);
    if (ctxt == NULL) return -1;
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_IGNORE_ENC);
    long result = 0;
    for (size_t at = 0; at < len; at += chunk) {
        size_t n = len - at < chunk ? len - at : chunk;
        if (xmlParseChunk(ctxt, bytes + at, (int)n, 0) != 0) {
            result = -1;
            break;
        }
    }
    if (result == 0) result = state.stanzas;
    xr_free(state.current);
    xmlFreeParserCtxt(ctxt);
    return result;
}
