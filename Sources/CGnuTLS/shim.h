#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/crypto.h>
#include <gnutls/abstract.h>

#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* gnutls_free is a function-like macro over a mutable global function
 * pointer, which Swift 6 can neither call nor reference safely. */
static inline void tern_gnutls_free(void *p) { gnutls_free(p); }

/* GNUTLS_CLIENT is both an enum case and a macro; give Swift one spelling. */
static inline unsigned int tern_gnutls_client_flags(void) { return GNUTLS_CLIENT; }

/* GnuTLS 3.7's default push writes without MSG_NOSIGNAL, so a peer that has
 * gone away raises SIGPIPE and kills the process. This push is the same
 * vectored write with the signal suppressed, and never blocks: a full send
 * buffer gives EAGAIN, which GnuTLS turns into GNUTLS_E_AGAIN, so a peer that
 * stops reading cannot hold the I/O thread. errno is left for GnuTLS. */
static inline ssize_t tern_gnutls_push_nosignal(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt) {
    struct msghdr hdr;
    memset(&hdr, 0, sizeof hdr);
    hdr.msg_iov = (struct iovec *)(void *)iov;
    hdr.msg_iovlen = (size_t)iovcnt;
    return sendmsg((int)(intptr_t)ptr, &hdr, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* gnutls_transport_set_int is a macro; this also installs the push above. */
static inline void tern_gnutls_transport_set_fd(gnutls_session_t session, int fd) {
    gnutls_transport_set_int2(session, fd, fd);
    gnutls_transport_set_vec_push_function(session, tern_gnutls_push_nosignal);
}
