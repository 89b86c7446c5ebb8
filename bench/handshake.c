// handshake: new TLS connections per second against a loopback HTTPS server, one request per
// connection, every handshake a full one.
//
// Why not wrk -H "Connection: close" (or h2load): both keep the SSL object across reconnects
// (wrk: SSL_shutdown + SSL_clear, which keeps the session) and offer the last session again, so
// against a server that issues tickets nearly every "new" connection is a resumed handshake
// (checked against nginx's $ssl_session_reused: wrk resumed 4,116 of 4,126 TLS 1.3 handshakes,
// h2load --h1 4,990 of 5,000). wrk also starts its latency clock at the first request byte, after
// the handshake. Here every connection gets a fresh SSL with no session and the client's session
// cache is off, so nothing can be resumed (and the count of resumed handshakes is printed to
// prove it); latency runs from connect() to the last byte of the response.
//
//   cc -O2 -pthread -o handshake handshake.c -lssl -lcrypto
//   ./handshake -p 8443 -c 50 -d 5                 # GET /hello, 50 connections in flight, 5 s
//   ./handshake -p 8443 -c 50 -d 5 -t 2 -P /x      # two threads, another path
//
// Loopback only (-p is a port on 127.0.0.1), bounded by -d; a connection with no answer after -T
// seconds counts as a timeout. Certificates are not verified (as in wrk): the CertificateVerify
// signature is still checked, as in any handshake. Offers ALPN http/1.1 and sends SNI localhost.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum state { CONNECTING, HANDSHAKING, WRITING, READING };

struct conn {
    int fd;
    SSL *ssl;
    enum state state;
    double start;
    size_t written;
    char head[8192];
    size_t have, head_end;
    long body, body_have; // body -1: read to EOF (no Content-Length)
    int status;
};

struct worker {
    pthread_t thread;
    int nconns, ep;
    struct conn *conns;
    uint32_t *lat; // microseconds, one per completed request
    size_t nlat, cap;
    long responses, non2xx, handshakes, resumed;
    long e_connect, e_handshake, e_io, e_timeout;
    char tls[160];
    char first_error[240];
};

static int port = 8443, connections = 50, threads = 1, seconds = 5, timeout_s = 10;
static const char *path = "/hello";
static char request[512];
static size_t request_len;
static SSL_CTX *ctx;
static double started, deadline;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void start(struct worker *w, struct conn *c);

static void discard(struct worker *w, struct conn *c) {
    if (c->ssl) {
        SSL_shutdown(c->ssl); // close_notify, as wrk sends; the answer is not waited for
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    ERR_clear_error();
}

// Counts the error, drops the connection and starts the next one; `restart` 0 leaves the slot idle
// for the sweep to refill (a failure in start itself must not recurse).
static void fail_(struct worker *w, struct conn *c, long *counter, const char *what, int restart) {
    (*counter)++;
    if (!w->first_error[0]) {
        unsigned long e = ERR_peek_error();
        char reason[160] = "";
        if (e) ERR_error_string_n(e, reason, sizeof reason);
        snprintf(w->first_error, sizeof w->first_error, "%s%s%s%s%s", what, errno ? ": " : "",
                 errno ? strerror(errno) : "", reason[0] ? ": " : "", reason);
    }
    discard(w, c);
    if (restart && now() < deadline) start(w, c);
}
#define fail(w, c, counter, what) fail_(w, c, counter, what, 1)

static void complete(struct worker *w, struct conn *c) {
    double t = now();
    if (t < deadline) {
        w->responses++;
        if (c->status < 200 || c->status > 299) w->non2xx++;
        if (w->nlat == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 65536;
            w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
            if (!w->lat) { perror("realloc"); exit(1); }
        }
        w->lat[w->nlat++] = (uint32_t)((t - c->start) * 1e6);
    }
    discard(w, c);
    if (t < deadline) start(w, c);
}

static void start(struct worker *w, struct conn *c) {
    memset(c, 0, offsetof(struct conn, head));
    c->have = c->head_end = 0;
    c->body = -1;
    c->body_have = 0;
    c->status = 0;
    c->ssl = NULL;
    c->start = now();
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) { fail_(w, c, &w->e_connect, "socket", 0); return; }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->state = CONNECTING;
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        fail_(w, c, &w->e_connect, "connect", 0);
        return;
    }
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c };
    epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev);
}

// Parses the head once it is whole: status, and Content-Length (absent or chunked: read to EOF).
static int parse_head(struct conn *c) {
    char *end = memmem(c->head, c->have, "\r\n\r\n", 4);
    if (!end) return c->have == sizeof c->head ? -1 : 0;
    c->head_end = (size_t)(end - c->head) + 4;
    *end = '\0';
    if (strncmp(c->head, "HTTP/1.", 7) != 0 || c->have < 12) return -1;
    c->status = atoi(c->head + 9);
    c->body = -1;
    for (char *line = strstr(c->head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "content-length:", 15) == 0) c->body = atol(line + 17);
        if (strncasecmp(line + 2, "transfer-encoding:", 18) == 0) { c->body = -1; break; }
    }
    c->body_have = (long)(c->have - c->head_end);
    return 1;
}

static void advance(struct worker *w, struct conn *c) {
    int r, err;
    switch (c->state) {
    case CONNECTING: {
        int so_error = 0;
        socklen_t len = sizeof so_error;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
        if (so_error == EINPROGRESS) return;
        if (so_error) { errno = so_error; fail(w, c, &w->e_connect, "connect"); return; }
        c->ssl = SSL_new(ctx);
        if (!c->ssl) { errno = 0; fail(w, c, &w->e_handshake, "SSL_new"); return; }
        SSL_set_fd(c->ssl, c->fd);
        SSL_set_tlsext_host_name(c->ssl, "localhost");
        SSL_set_connect_state(c->ssl);
        c->state = HANDSHAKING;
    }
    /* fall through */
    case HANDSHAKING:
        errno = 0;
        r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            err = SSL_get_error(c->ssl, r);
            if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
            fail(w, c, &w->e_handshake, "handshake");
            return;
        }
        w->handshakes++;
        if (SSL_session_reused(c->ssl)) w->resumed++;
        if (!w->tls[0]) {
            const unsigned char *alpn = NULL;
            unsigned alpn_len = 0;
            SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
            int group = SSL_get_negotiated_group(c->ssl);
            const char *group_name = (group & TLSEXT_nid_unknown) ? "?" : OBJ_nid2sn(group);
            snprintf(w->tls, sizeof w->tls, "%s %s %s, ALPN %.*s", SSL_get_version(c->ssl),
                     SSL_get_cipher_name(c->ssl), group_name ? group_name : "?",
                     alpn_len ? (int)alpn_len : 4, alpn_len ? (const char *)alpn : "none");
        }
        c->state = WRITING;
    /* fall through */
    case WRITING:
        while (c->written < request_len) {
            errno = 0;
            r = SSL_write(c->ssl, request + c->written, (int)(request_len - c->written));
            if (r <= 0) {
                err = SSL_get_error(c->ssl, r);
                if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
                fail(w, c, &w->e_io, "write");
                return;
            }
            c->written += (size_t)r;
        }
        c->state = READING;
    /* fall through */
    case READING:
        for (;;) {
            char scratch[16384];
            char *into = c->head_end ? scratch : c->head + c->have;
            size_t room = c->head_end ? sizeof scratch : sizeof c->head - c->have;
            errno = 0;
            r = SSL_read(c->ssl, into, (int)room);
            if (r <= 0) {
                err = SSL_get_error(c->ssl, r);
                if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
                // EOF (close_notify, or a bare FIN: unexpected EOF is ignored by the context).
                if (err == SSL_ERROR_ZERO_RETURN && c->head_end && c->body < 0) { complete(w, c); return; }
                fail(w, c, &w->e_io, err == SSL_ERROR_ZERO_RETURN ? "closed before the whole response" : "read");
                return;
            }
            if (c->head_end) {
                c->body_have += r;
            } else {
                c->have += (size_t)r;
                int p = parse_head(c);
                if (p < 0) { errno = 0; fail(w, c, &w->e_io, "bad response head"); return; }
            }
            if (c->head_end && c->body >= 0 && c->body_have >= c->body) { complete(w, c); return; }
        }
    }
}

static void *run(void *arg) {
    struct worker *w = arg;
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < w->nconns; i++) {
        w->conns[i].fd = -1;
        start(w, &w->conns[i]);
    }
    struct epoll_event events[256];
    double next_sweep = now() + 0.1;
    for (;;) {
        double t = now();
        if (t >= deadline) break;
        int ms = (int)((deadline - t) * 1000) + 1;
        if (ms > 100) ms = 100;
        int n = epoll_wait(w->ep, events, 256, ms);
        for (int i = 0; i < n; i++) advance(w, events[i].data.ptr);
        t = now();
        if (t >= next_sweep) {
            next_sweep = t + 0.1;
            for (int i = 0; i < w->nconns; i++) {
                struct conn *c = &w->conns[i];
                if (c->fd >= 0 && t - c->start > timeout_s) { errno = 0; fail(w, c, &w->e_timeout, "timeout"); }
                else if (c->fd < 0 && t - c->start > 0.1 && t < deadline) start(w, c); // after a failed start
            }
        }
    }
    for (int i = 0; i < w->nconns; i++) discard(w, &w->conns[i]);
    close(w->ep);
    return NULL;
}

static int by_value(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static double percentile(const uint32_t *sorted, size_t n, double p) {
    if (!n) return 0;
    size_t i = (size_t)(p / 100.0 * (double)n);
    if (i >= n) i = n - 1;
    return sorted[i] / 1000.0;
}

static void usage(const char *self) {
    fprintf(stderr, "usage: %s -p PORT [-c connections] [-t threads] [-d seconds] [-T timeout-seconds] [-P path]\n", self);
    exit(2);
}

int main(int argc, char **argv) {
    int opt;
    while ((opt = getopt(argc, argv, "p:c:t:d:T:P:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'c': connections = atoi(optarg); break;
        case 't': threads = atoi(optarg); break;
        case 'd': seconds = atoi(optarg); break;
        case 'T': timeout_s = atoi(optarg); break;
        case 'P': path = optarg; break;
        default: usage(argv[0]);
        }
    }
    if (port <= 0 || port > 65535 || connections < 1 || threads < 1 || threads > connections || seconds < 1 || timeout_s < 1)
        usage(argv[0]);
    signal(SIGPIPE, SIG_IGN);
    request_len = (size_t)snprintf(request, sizeof request,
                                   "GET %s HTTP/1.1\r\nHost: localhost:%d\r\nConnection: close\r\n\r\n", path, port);

    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) { fprintf(stderr, "SSL_CTX_new failed\n"); return 1; }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF); // never store, never offer a session
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);

    struct worker *workers = calloc((size_t)threads, sizeof *workers);
    struct conn *conns = calloc((size_t)connections, sizeof *conns);
    if (!workers || !conns) { perror("calloc"); return 1; }
    started = now();
    deadline = started + seconds;
    for (int i = 0, next = 0; i < threads; i++) {
        struct worker *w = &workers[i];
        w->nconns = connections / threads + (i < connections % threads);
        w->conns = conns + next;
        next += w->nconns;
        pthread_create(&w->thread, NULL, run, w);
    }
    long responses = 0, non2xx = 0, handshakes = 0, resumed = 0, ec = 0, eh = 0, eio = 0, eto = 0;
    size_t n = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(workers[i].thread, NULL);
        struct worker *w = &workers[i];
        responses += w->responses; non2xx += w->non2xx; handshakes += w->handshakes; resumed += w->resumed;
        ec += w->e_connect; eh += w->e_handshake; eio += w->e_io; eto += w->e_timeout;
        n += w->nlat;
    }
    double elapsed = now() - started;
    uint32_t *all = malloc((n ? n : 1) * sizeof *all);
    if (!all) { perror("malloc"); return 1; }
    size_t k = 0;
    for (int i = 0; i < threads; i++) {
        memcpy(all + k, workers[i].lat, workers[i].nlat * sizeof *all);
        k += workers[i].nlat;
    }
    qsort(all, n, sizeof *all, by_value);

    printf("handshake: https://127.0.0.1:%d%s, %d connection(s), %d thread(s), %d s, one request per new TLS connection\n",
           port, path, connections, threads, seconds);
    printf("tls: %s\n", workers[0].tls[0] ? workers[0].tls : "no handshake completed");
    printf("handshakes: %ld full, %ld resumed\n", handshakes - resumed, resumed);
    printf("responses: %ld (%ld non-2xx)\n", responses, non2xx);
    printf("errors: connect %ld, handshake %ld, read/write %ld, timeout %ld\n", ec, eh, eio, eto);
    for (int i = 0; i < threads; i++)
        if (workers[i].first_error[0]) { printf("first error: %s\n", workers[i].first_error); break; }
    printf("latency (connect to last byte): p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms\n",
           percentile(all, n, 50), percentile(all, n, 90), percentile(all, n, 99), n ? all[n - 1] / 1000.0 : 0.0);
    printf("Requests/sec: %.2f\n", responses / elapsed);
    return 0;
}
