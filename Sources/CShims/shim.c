#include "CShims.h"
#include <openssl/ssl.h>
#include <curl/curl.h>
#include <malloc.h>

int cs_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    return accept4(fd, addr, len, flags);
}

void cs_epoll_event_set(struct epoll_event *ev, uint32_t events, uint64_t data) {
    ev->events = events;
    ev->data.u64 = data;
}
uint32_t cs_epoll_event_events(const struct epoll_event *ev) { return ev->events; }
uint64_t cs_epoll_event_data(const struct epoll_event *ev) { return ev->data.u64; }
size_t cs_epoll_event_size(void) { return sizeof(struct epoll_event); }

size_t cs_heap_bytes_in_use(void) {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

long cs_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_min_proto_version(ctx, version);
}

void cs_SSL_CTX_set_server_defaults(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE
                                 | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    // Without read-ahead OpenSSL reads each record in two read(2)s, header then body: a full
    // handshake with one request took ~13 reads where nginx (which sets read-ahead too) takes ~5.
    // TLSSession.read already reads until OpenSSL wants the socket, so bytes read ahead are
    // never left behind an edge that will not come.
    SSL_CTX_set_read_ahead(ctx, 1);
}

void cs_SSL_CTX_set_servername_callback(SSL_CTX *ctx, cs_servername_callback callback, void *arg) {
    SSL_CTX_set_tlsext_servername_callback(ctx, callback);
    SSL_CTX_set_tlsext_servername_arg(ctx, arg);
}

long cs_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}

void cs_SSL_CTX_set_ticket_key_callback(SSL_CTX *ctx, cs_ticket_key_callback callback) {
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, callback);
}

int cs_curl_easy_setopt_long(CURL *curl, int option, long value) {
    return (int)curl_easy_setopt(curl, (CURLoption)option, value);
}
int cs_curl_easy_setopt_pointer(CURL *curl, int option, void *value) {
    return (int)curl_easy_setopt(curl, (CURLoption)option, value);
}
int cs_curl_easy_setopt_string(CURL *curl, int option, const char *value) {
    return (int)curl_easy_setopt(curl, (CURLoption)option, value);
}
int cs_curl_easy_setopt_write_function(CURL *curl, cs_curl_write_callback callback) {
    return (int)curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, callback);
}
int cs_curl_easy_setopt_header_function(CURL *curl, cs_curl_write_callback callback) {
    return (int)curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, callback);
}
int cs_curl_easy_getinfo_long(CURL *curl, int info, long *value) {
    return (int)curl_easy_getinfo(curl, (CURLINFO)info, value);
}
