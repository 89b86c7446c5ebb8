// The one C target: it exposes the Linux headers Glibc's Swift module leaves out (epoll, eventfd,
// timerfd, accept4) and wraps what Swift cannot call (function-like macros, variadic functions).
// Nothing else belongs here.
#ifndef PORTCULLIS_CSHIMS_H
#define PORTCULLIS_CSHIMS_H

#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <curl/curl.h>

// epoll's flags are a C enum whose high bit (EPOLLET) does not import as a UInt32 constant.
static const uint32_t cs_EPOLLIN = EPOLLIN;
static const uint32_t cs_EPOLLOUT = EPOLLOUT;
static const uint32_t cs_EPOLLERR = EPOLLERR;
static const uint32_t cs_EPOLLHUP = EPOLLHUP;
static const uint32_t cs_EPOLLRDHUP = EPOLLRDHUP;
static const uint32_t cs_EPOLLET = EPOLLET;

/// accept4(2): Glibc's module does not export it.
int cs_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

/// epoll_event is packed on x86-64; Swift cannot lay it out, so these read and write it.
void cs_epoll_event_set(struct epoll_event *ev, uint32_t events, uint64_t data);
uint32_t cs_epoll_event_events(const struct epoll_event *ev);
uint64_t cs_epoll_event_data(const struct epoll_event *ev);
size_t cs_epoll_event_size(void);

/// Bytes the allocator has handed out and not taken back, all arenas (mallinfo2 from <malloc.h>,
/// which Glibc's module leaves out): the leak checks' measure of "nothing left behind".
size_t cs_heap_bytes_in_use(void);

// OpenSSL: function-like macros, and constants built from several macros.
#include <openssl/evp.h>
#include <openssl/core_names.h>
static const int cs_EVP_PKEY_PUBLIC_KEY = EVP_PKEY_PUBLIC_KEY;
// OSSL_PARAM_BLD keeps the key-name pointers until OSSL_PARAM_BLD_to_param, so they must
// outlive a Swift call: these are static.
static const char *const cs_PARAM_RSA_N = OSSL_PKEY_PARAM_RSA_N;
static const char *const cs_PARAM_RSA_E = OSSL_PKEY_PARAM_RSA_E;
static const char *const cs_PARAM_GROUP_NAME = OSSL_PKEY_PARAM_GROUP_NAME;
static const char *const cs_PARAM_PUB_KEY = OSSL_PKEY_PARAM_PUB_KEY;
static const char *const cs_PARAM_MAC_KEY = OSSL_MAC_PARAM_KEY;
static const char *const cs_PARAM_MAC_DIGEST = OSSL_MAC_PARAM_DIGEST;
long cs_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version);
/// A listener's fixed TLS options: no renegotiation, no compression, the server's cipher order,
/// an unexpected EOF read as a close; partial writes and a moving write buffer (the connection's
/// output buffer may compact between a WANT_WRITE and the retry); read-ahead (one read(2) takes
/// whatever records are there instead of two per record).
void cs_SSL_CTX_set_server_defaults(SSL_CTX *ctx);
/// SSL_CTX_set_tlsext_servername_callback and _arg are macros.
typedef int (*cs_servername_callback)(SSL *ssl, int *alert, void *arg);
void cs_SSL_CTX_set_servername_callback(SSL_CTX *ctx, cs_servername_callback callback, void *arg);
/// SSL_set_tlsext_host_name is a macro.
long cs_SSL_set_tlsext_host_name(SSL *ssl, const char *name);
/// SSL_CTX_set_tlsext_ticket_key_evp_cb is a macro.
typedef int (*cs_ticket_key_callback)(SSL *ssl, unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *cipher,
                                      EVP_MAC_CTX *mac, int encrypt);
void cs_SSL_CTX_set_ticket_key_callback(SSL_CTX *ctx, cs_ticket_key_callback callback);

// libcurl: curl_easy_setopt is variadic; one wrapper per argument type.
int cs_curl_easy_setopt_long(CURL *curl, int option, long value);
int cs_curl_easy_setopt_pointer(CURL *curl, int option, void *value);
int cs_curl_easy_setopt_string(CURL *curl, int option, const char *value);
typedef size_t (*cs_curl_write_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);
int cs_curl_easy_setopt_write_function(CURL *curl, cs_curl_write_callback callback);
int cs_curl_easy_setopt_header_function(CURL *curl, cs_curl_write_callback callback);
int cs_curl_easy_getinfo_long(CURL *curl, int info, long *value);

#endif
