#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/crypto.h>
#include <gnutls/abstract.h>

/* gnutls_free is a function-like macro over a mutable global function
 * pointer, which Swift 6 can neither call nor reference safely. */
static inline void tern_gnutls_free(void *p) { gnutls_free(p); }

/* GNUTLS_CLIENT is both an enum case and a macro; give Swift one spelling. */
static inline unsigned int tern_gnutls_client_flags(void) { return GNUTLS_CLIENT; }
