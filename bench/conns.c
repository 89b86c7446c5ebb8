// conns: many keep-alive connections against a loopback HTTP server, for per-connection memory,
// many-connection runs and the soak. One thread, epoll, non-blocking sockets.
//
// Hold mode (the default) opens -n connections and keeps them:
//   1. connect: all -n connected (at most -C connects or TLS handshakes under way at once);
//   2. request: one request on each (at most -c in flight), every answer read and checked;
//   3. hold: counts the connections the server still keeps open, then resets them all.
// With -i it stops after phases 1 and 2, prints the phase's line and waits for a line on stdin, so
// a script can read the server's memory while the connections are held in that state.
//
//   cc -O2 -o conns conns.c -lssl -lcrypto
//   ./conns -p 8080 -n 5000                        # cleartext HTTP/1.1, GET /hello
//   ./conns -p 8443 -n 5000 -t                     # TLS (ALPN http/1.1; -2 for h2)
//   ./conns -p 8080 -n 5000 -2                     # h2c by prior knowledge
//   ./conns -p 8080 -n 10000 -c 10000 -C 1000 -i   # all 10,000 requests in flight at once
//
// Soak mode (-m soak) runs -n connections for -d seconds, each sending requests one after another,
// one class after another: allowed (GET with the -G token: 200), token-refused (GET with the -X
// token: 401), chunked (POST, chunked body, -G token: 200 and the echo's body_bytes), large (POST
// with -L bytes of body, -G token: 200 and body_bytes). Every eighth connection instead comes from
// -s (a source address the server's network rules deny: 403). A connection is closed and opened
// again after -R requests. Every answer is checked against its class; a reset, an early close, a
// connect failure or no answer within -T seconds is a transport error.
//
//   ./conns -m soak -p 8080 -n 256 -d 600 -G "$GOOD" -X "$BAD" -s 127.0.0.3
//
// Loopback only (-p is a port on 127.0.0.1), bounded by -T per phase (hold) or -d (soak). Prints
// one line per phase; the exit status is 0 only when every answer was right and nothing failed.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum state { FREE, CONNECTING, HANDSHAKING, IDLE, WRITING, READING, FAILED };
enum cls { ALLOWED, REFUSED, CHUNKED, LARGE, DENIED, NCLASSES };
static const char *class_names[] = {"allowed", "token_refused", "chunked", "large_body", "denied"};
static const int class_status[] = {200, 401, 200, 200, 403};

#define INBUF (64 * 1024)

struct conn {
    int fd;
    SSL *ssl;
    enum state state;
    int denied;          // soak: this connection comes from the denied source
    int cls;             // the class of the request in flight
    long served;         // requests answered on this connection
    int status;          // h2: the answer's status, from its HEADERS frame
    const char *head;    // request bytes to write: head, then body
    size_t head_len, head_off;
    const char *body;
    size_t body_len, body_off;
    char *in;            // answer bytes, while a request is in flight
    size_t have;
    double start, deadline;
};

static int port = 8080, count = 100, inflight = 100, connect_window = 512, tls = 0, h2 = 0, interactive = 0;
static int soak = 0, per_connection = 200, phase_timeout = 60;
static double soak_seconds = 10;
static long large_body = 1 << 20;
static const char *path = "/hello", *good_token = NULL, *bad_token = NULL, *denied_source = NULL;
static struct conn *conns;
static int ep;
static SSL_CTX *ctx;
static char *zeros;

// Counters.
static long connected, connect_failed, answered, wrong, transport_errors, closed_by_server, connects;
static int stopping; // soak: finish the requests in flight, start none
static long class_ok[NCLASSES], class_wrong[NCLASSES], class_errors[NCLASSES];
static double max_connect_ms, max_request_ms;
static char first_problem[512];

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void note_problem(const char *what, int i) {
    if (!first_problem[0]) snprintf(first_problem, sizeof first_problem, "%s (connection %d, errno %d)", what, i, errno);
}

// The request of each kind, built once.
static char h1_get[1024], h2_request[256], soak_heads[NCLASSES][4096], chunked_body[4096];
static size_t h1_get_len, h2_request_len, soak_head_len[NCLASSES], chunked_body_len, chunked_data;

static void build_requests(void) {
    h1_get_len = snprintf(h1_get, sizeof h1_get, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path);
    // h2: the preface, an empty SETTINGS, one HEADERS frame (END_STREAM|END_HEADERS, stream 1):
    // :method GET, :scheme http(s), :path and :authority as literals with indexed names.
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    size_t n = 0;
    memcpy(h2_request, preface, 24); n = 24;
    memcpy(h2_request + n, "\0\0\0\x04\0\0\0\0\0", 9); n += 9;
    unsigned char block[200];
    size_t b = 0, plen = strlen(path);
    block[b++] = 0x82;
    block[b++] = tls ? 0x87 : 0x86;
    block[b++] = 0x04; block[b++] = (unsigned char)plen; memcpy(block + b, path, plen); b += plen;
    block[b++] = 0x01; block[b++] = 9; memcpy(block + b, "localhost", 9); b += 9;
    unsigned char frame[9] = {0, 0, (unsigned char)b, 0x01, 0x05, 0, 0, 0, 1};
    memcpy(h2_request + n, frame, 9); n += 9;
    memcpy(h2_request + n, block, b); n += b;
    h2_request_len = n;

    const char *good = good_token ? good_token : "", *bad = bad_token ? bad_token : "";
    soak_head_len[ALLOWED] = snprintf(soak_heads[ALLOWED], 4096,
        "GET /soak/allowed HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n\r\n", good);
    soak_head_len[REFUSED] = snprintf(soak_heads[REFUSED], 4096,
        "GET /soak/refused HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n\r\n", bad);
    soak_head_len[CHUNKED] = snprintf(soak_heads[CHUNKED], 4096,
        "POST /soak/chunked HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n", good);
    soak_head_len[LARGE] = snprintf(soak_heads[LARGE], 4096,
        "POST /soak/large HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\nContent-Length: %ld\r\n\r\n", good, large_body);
    soak_head_len[DENIED] = snprintf(soak_heads[DENIED], 4096, "GET /soak/denied HTTP/1.1\r\nHost: localhost\r\n\r\n");
    // Three chunks of different sizes, a chunk extension and a trailer.
    char *p = chunked_body;
    static const int sizes[] = {1000, 17, 3000};
    for (int i = 0; i < 3; i++) {
        p += sprintf(p, i == 1 ? "%x;ext=1\r\n" : "%x\r\n", sizes[i]);
        memset(p, 'c', sizes[i]); p += sizes[i];
        p += sprintf(p, "\r\n");
        chunked_data += sizes[i];
    }
    p += sprintf(p, "0\r\nX-Trailer: t\r\n\r\n");
    chunked_body_len = p - chunked_body;
}

// MARK: transport

static ssize_t c_write(struct conn *c, const void *p, size_t n) {
    if (!c->ssl) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        return w >= 0 ? w : (errno == EAGAIN ? -1 : -2);
    }
    size_t w = 0;
    if (SSL_write_ex(c->ssl, p, n, &w) == 1) return (ssize_t)w;
    int e = SSL_get_error(c->ssl, 0);
    return (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) ? -1 : -2;
}

// >0 bytes, 0 end of stream, -1 would block, -2 error.
static ssize_t c_read(struct conn *c, void *p, size_t n) {
    if (!c->ssl) {
        ssize_t r = recv(c->fd, p, n, 0);
        return r >= 0 ? r : (errno == EAGAIN ? -1 : -2);
    }
    size_t r = 0;
    if (SSL_read_ex(c->ssl, p, n, &r) == 1) return (ssize_t)r;
    int e = SSL_get_error(c->ssl, 0);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return -1;
    return e == SSL_ERROR_ZERO_RETURN ? 0 : -2;
}

static void drop(struct conn *c, int reset) {
    if (c->fd >= 0) {
        if (reset) {
            struct linger l = {1, 0};
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        }
        close(c->fd);
    }
    if (c->ssl) SSL_free(c->ssl);
    free(c->in);
    c->fd = -1; c->ssl = NULL; c->in = NULL; c->have = 0;
}

static int start_connect(struct conn *c, int i) {
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) { note_problem("socket", i); c->state = FAILED; return -1; }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    c->denied = soak && denied_source && i % 8 == 7;
    if (c->denied) {
        setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in s = {.sin_family = AF_INET};
        inet_pton(AF_INET, denied_source, &s.sin_addr);
        if (bind(c->fd, (struct sockaddr *)&s, sizeof s) != 0) { note_problem("bind", i); drop(c, 0); c->state = FAILED; return -1; }
    }
    c->start = now();
    c->deadline = c->start + phase_timeout;
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
        note_problem("connect", i); drop(c, 0); c->state = FAILED; return -1;
    }
    if (tls) {
        c->ssl = SSL_new(ctx);
        SSL_set_fd(c->ssl, c->fd);
        SSL_set_tlsext_host_name(c->ssl, "localhost");
        SSL_set_connect_state(c->ssl);
    }
    c->state = CONNECTING;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    return 0;
}

static void start_request(struct conn *c, int i) {
    (void)i;
    c->head_off = c->body_off = 0;
    c->body = NULL; c->body_len = 0;
    if (soak) {
        c->cls = c->denied ? DENIED : (int)(c->served % 4);
        c->head = soak_heads[c->cls]; c->head_len = soak_head_len[c->cls];
        if (c->cls == CHUNKED) { c->body = chunked_body; c->body_len = chunked_body_len; }
        if (c->cls == LARGE) { c->body = zeros; c->body_len = (size_t)large_body; }
    } else if (h2) {
        c->head = h2_request; c->head_len = h2_request_len;
    } else {
        c->head = h1_get; c->head_len = h1_get_len;
    }
    if (!c->in) c->in = malloc(INBUF);
    c->have = 0;
    c->status = 0;
    c->start = now();
    c->deadline = c->start + (soak ? 10 : phase_timeout);
    c->state = WRITING;
}

// MARK: answers

// 1: a whole answer is in (status in *status, body from *body for *body_len), 0: not yet, -1: bad.
static int parse_h1(struct conn *c, int *status, const char **body, size_t *body_len) {
    c->in[c->have < INBUF ? c->have : INBUF - 1] = 0;
    char *end = memmem(c->in, c->have, "\r\n\r\n", 4);
    if (!end) return c->have >= INBUF - 1 ? -1 : 0;
    if (c->have < 12 || memcmp(c->in, "HTTP/1.", 7) != 0) return -1;
    *status = atoi(c->in + 9);
    size_t head_len = end + 4 - c->in;
    long length = -1;
    for (char *line = strstr(c->in, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
        if (strncasecmp(line, "content-length:", 15) == 0) length = atol(line + 15);
        if (strncasecmp(line, "transfer-encoding:", 18) == 0) return -1; // the echo backend never chunks
    }
    if (length < 0) length = 0;
    if (head_len + (size_t)length > INBUF - 1) return -1;
    if (c->have < head_len + (size_t)length) return 0;
    *body = c->in + head_len;
    *body_len = (size_t)length;
    return c->have == head_len + (size_t)length ? 1 : -1; // nothing may follow an answer we asked for
}

// h2: frames until stream 1 ends; answers the server's SETTINGS. Same results as parse_h1.
static int parse_h2(struct conn *c) {
    size_t off = 0;
    int done = 0;
    while (c->have - off >= 9) {
        unsigned char *f = (unsigned char *)c->in + off;
        size_t len = (size_t)f[0] << 16 | f[1] << 8 | f[2];
        if (c->have - off < 9 + len) break;
        unsigned type = f[3], flags = f[4];
        uint32_t stream = ((uint32_t)f[5] << 24 | f[6] << 16 | f[7] << 8 | f[8]) & 0x7fffffff;
        if (type == 4 && !(flags & 1)) {
            static const char ack[] = "\0\0\0\x04\x01\0\0\0\0";
            if (c_write(c, ack, 9) != 9) return -1;
        }
        if (type == 7 || (type == 3 && stream == 1)) return -1;    // GOAWAY, RST_STREAM
        if (type == 1 && stream == 1) {
            size_t p = 9 + ((flags & 0x8) ? 1 : 0) + ((flags & 0x20) ? 5 : 0);
            // :status 200 is entry 8 of the static table; anything else counts as another status.
            c->status = len > 0 && f[p] == 0x88 ? 200 : 0;
        }
        if (stream == 1 && (type == 0 || type == 1) && (flags & 1)) done = 1;
        off += 9 + len;
    }
    memmove(c->in, c->in + off, c->have - off);
    c->have -= off;
    return done;
}

static void request_done(struct conn *c, int i, int ok) {
    double ms = (now() - c->start) * 1000;
    if (ms > max_request_ms) max_request_ms = ms;
    c->served++;
    if (ok) { answered++; class_ok[c->cls]++; } else { wrong++; class_wrong[c->cls]++; }
    c->state = IDLE;
    if (!soak) { free(c->in); c->in = NULL; }
    (void)i;
}

static void transport_failed(struct conn *c, int i, const char *what) {
    transport_errors++;
    if (c->state == WRITING || c->state == READING) class_errors[c->cls]++;
    note_problem(what, i);
    drop(c, 1);
    c->state = FAILED;
}

// Hold mode counts failed connects on their own; in the soak they are transport errors too.
static void connect_failure(struct conn *c, int i, const char *what) {
    connect_failed++;
    if (soak) transport_errors++;
    note_problem(what, i);
    drop(c, 1);
    c->state = FAILED;
}

// Checks the answer in hand against the request's class.
static int check_answer(struct conn *c, int status, const char *body, size_t body_len) {
    if (!soak) return status == 200;
    if (status != class_status[c->cls]) return 0;
    long expect = c->cls == CHUNKED ? (long)chunked_data : c->cls == LARGE ? large_body : -1;
    if (expect >= 0) {
        char tmp[64];
        const char *k = memmem(body, body_len, "\"body_bytes\":", 13);
        if (!k) return 0;
        size_t n = body_len - (k + 13 - body);
        if (n > sizeof tmp - 1) n = sizeof tmp - 1;
        memcpy(tmp, k + 13, n); tmp[n] = 0;
        if (atol(tmp) != expect) return 0;
    }
    return 1;
}

// Moves a connection on as far as the socket allows.
static void step(struct conn *c, int i) {
    for (;;) {
        switch (c->state) {
        case CONNECTING: {
            int err = 0; socklen_t l = sizeof err;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
            if (err) { errno = err; connect_failure(c, i, "connect"); return; }
            struct tcp_info ti; l = sizeof ti;
            if (getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &l) == 0 && ti.tcpi_state != TCP_ESTABLISHED) return;
            c->state = tls ? HANDSHAKING : IDLE;
            if (!tls) {
                connected++;
                double ms = (now() - c->start) * 1000;
                if (ms > max_connect_ms) max_connect_ms = ms;
                if (soak) { connects++; start_request(c, i); }
                else return;
            }
            break;
        }
        case HANDSHAKING: {
            int rc = SSL_do_handshake(c->ssl);
            if (rc != 1) {
                int e = SSL_get_error(c->ssl, rc);
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
                connect_failure(c, i, "TLS handshake"); return;
            }
            connected++;
            double ms = (now() - c->start) * 1000;
            if (ms > max_connect_ms) max_connect_ms = ms;
            c->state = IDLE;
            return;
        }
        case IDLE: {
            // Nothing expected: data or an end here means the server spoke out of turn or closed.
            char b[1];
            ssize_t r = c_read(c, b, 1);
            if (r == -1 || (r > 0 && h2)) return; // h2: a late SETTINGS ACK or WINDOW_UPDATE is fine
            if (r == 0) { closed_by_server++; note_problem("closed by the server while idle", i); drop(c, 0); c->state = FAILED; return; }
            transport_failed(c, i, r > 0 ? "bytes while idle" : "error while idle");
            return;
        }
        case WRITING: {
            const char *p; size_t left;
            if (c->head_off < c->head_len) { p = c->head + c->head_off; left = c->head_len - c->head_off; }
            else if (c->body_off < c->body_len) { p = c->body + c->body_off; left = c->body_len - c->body_off; if (left > 65536) left = 65536; }
            else { c->state = READING; break; }
            ssize_t w = c_write(c, p, left);
            if (w == -1) return;
            if (w < 0) { transport_failed(c, i, "write"); return; }
            if (c->head_off < c->head_len) c->head_off += (size_t)w; else c->body_off += (size_t)w;
            break;
        }
        case READING: {
            if (c->have >= INBUF - 1) { wrong++; class_wrong[c->cls]++; note_problem("answer too large", i); drop(c, 1); c->state = FAILED; return; }
            ssize_t r = c_read(c, c->in + c->have, INBUF - 1 - c->have);
            if (r == -1) return;
            if (r <= 0) { transport_failed(c, i, r == 0 ? "closed before the answer" : "read"); return; }
            c->have += (size_t)r;
            int status = 0; const char *body = NULL; size_t body_len = 0;
            int got = h2 ? parse_h2(c) : parse_h1(c, &status, &body, &body_len);
            if (h2) status = c->status;
            if (got == 0) break;
            if (got < 0) { wrong++; class_wrong[c->cls]++; note_problem("malformed answer", i); drop(c, 1); c->state = FAILED; return; }
            int ok = check_answer(c, status, body, body_len);
            if (!ok) {
                char what[160];
                snprintf(what, sizeof what, "%s: status %d, expected %d", class_names[c->cls], status, soak ? class_status[c->cls] : 200);
                note_problem(what, i);
            }
            request_done(c, i, ok);
            if (!soak) return;
            if (stopping) { drop(c, 0); c->state = FREE; return; }
            if (c->served % per_connection == 0) {
                drop(c, 0);
                start_connect(c, i);
                return;
            }
            start_request(c, i);
            break;
        }
        default:
            return;
        }
    }
}

// Runs the loop until `done()` or the deadline; also times out requests that take too long.
static void run_until(int (*done)(void), double deadline, void (*refill)(void)) {
    struct epoll_event events[1024];
    double last_sweep = now();
    while (!done() && now() < deadline) {
        int n = epoll_wait(ep, events, 1024, 100);
        for (int k = 0; k < n; k++) {
            int i = (int)events[k].data.u32;
            if (conns[i].state != FREE && conns[i].state != FAILED) step(&conns[i], i);
        }
        if (refill) refill();
        double t = now();
        if (t - last_sweep > 0.5) {
            last_sweep = t;
            for (int i = 0; i < count; i++) {
                struct conn *c = &conns[i];
                if (t <= c->deadline) continue;
                if (c->state == CONNECTING || c->state == HANDSHAKING) connect_failure(c, i, "connect timeout");
                else if (c->state == WRITING || c->state == READING) transport_failed(c, i, "no answer in time");
            }
        }
    }
}

// MARK: hold mode

static int next_connect, next_request;

static int pending_connects(void) {
    int n = 0;
    for (int i = 0; i < next_connect; i++) n += conns[i].state == CONNECTING || conns[i].state == HANDSHAKING;
    return n;
}
static int pending_requests(void) {
    int n = 0;
    for (int i = 0; i < next_request; i++) n += conns[i].state == WRITING || conns[i].state == READING;
    return n;
}
static int connects_open;
static int requests_open;
static void refill_connects(void) {
    connects_open = pending_connects();
    while (next_connect < count && connects_open < connect_window) {
        if (start_connect(&conns[next_connect], next_connect) == 0) {
            connects_open++;
            step(&conns[next_connect], next_connect);
        } else {
            connect_failed++;
        }
        next_connect++;
    }
}
static int all_connected(void) { return next_connect == count && pending_connects() == 0; }
static void refill_requests(void) {
    requests_open = pending_requests();
    while (next_request < count && requests_open < inflight) {
        struct conn *c = &conns[next_request];
        if (c->state == IDLE) {
            start_request(c, next_request);
            step(c, next_request);
            requests_open++;
        }
        next_request++;
    }
}
static int all_answered(void) { return next_request == count && pending_requests() == 0; }

static void pause_for_script(void) {
    fflush(stdout);
    if (!interactive) return;
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return;
}

static int hold_mode(void) {
    double t0 = now();
    refill_connects();
    run_until(all_connected, t0 + phase_timeout, refill_connects);
    printf("connected ok=%ld failed=%ld seconds=%.2f max_connect_ms=%.1f%s%s\n", connected, connect_failed, now() - t0, max_connect_ms,
           first_problem[0] ? " first_problem=" : "", first_problem);
    pause_for_script();
    double t1 = now();
    refill_requests();
    run_until(all_answered, t1 + phase_timeout, refill_requests);
    long open = 0;
    for (int i = 0; i < count; i++) {
        struct conn *c = &conns[i];
        if (c->state != IDLE) continue;
        step(c, i); // reads an end of stream the server may have sent meanwhile
        open += c->state == IDLE;
    }
    printf("requested ok=%ld wrong=%ld transport_errors=%ld closed_by_server=%ld seconds=%.2f max_request_ms=%.1f open=%ld%s%s\n",
           answered, wrong, transport_errors, closed_by_server, now() - t1, max_request_ms, open,
           first_problem[0] ? " first_problem=" : "", first_problem);
    pause_for_script();
    for (int i = 0; i < count; i++) drop(&conns[i], 1);
    return (connected == count && answered == count && !wrong && !transport_errors && !closed_by_server) ? 0 : 1;
}

// MARK: soak mode

static double soak_end;
static int soak_over(void) { return now() >= soak_end; }
static double last_report;
static void soak_tick(void) {
    double t = now();
    if (t - last_report >= 10) {
        last_report = t;
        fprintf(stderr, "t=%.0fs answered=%ld wrong=%ld transport_errors=%ld connects=%ld\n", t - (soak_end - soak_seconds),
                answered, wrong, transport_errors, connects);
    }
    // A connection that failed is opened again: the soak goes on with all of them.
    for (int i = 0; i < count; i++)
        if (conns[i].state == FAILED && start_connect(&conns[i], i) != 0) connect_failure(&conns[i], i, "connect");
}

static int nothing_in_flight(void) {
    for (int i = 0; i < count; i++) if (conns[i].state == WRITING || conns[i].state == READING) return 0;
    return 1;
}

static int soak_mode(void) {
    soak_end = now() + soak_seconds;
    last_report = now();
    for (int i = 0; i < count; i++) if (start_connect(&conns[i], i) != 0) connect_failure(&conns[i], i, "connect");
    run_until(soak_over, soak_end, soak_tick);
    // Requests in flight at the end are waited for (bounded), so none counts as an error;
    // connections still connecting are let go.
    stopping = 1;
    for (int i = 0; i < count; i++) {
        struct conn *c = &conns[i];
        if (c->state == CONNECTING || c->state == IDLE || c->state == FAILED) { drop(c, 0); c->state = FREE; }
    }
    run_until(nothing_in_flight, now() + 10, NULL);
    for (int i = 0; i < count; i++) {
        struct conn *c = &conns[i];
        if (c->state == WRITING || c->state == READING) transport_failed(c, i, "no answer by the end");
        drop(c, 0);
    }
    printf("soak seconds=%.0f connections=%d answered=%ld wrong=%ld transport_errors=%ld connects=%ld", soak_seconds, count, answered,
           wrong, transport_errors, connects);
    for (int k = 0; k < NCLASSES; k++) printf(" %s=%ld/%ld/%ld", class_names[k], class_ok[k], class_wrong[k], class_errors[k]);
    printf(" max_request_ms=%.1f%s%s\n", max_request_ms, first_problem[0] ? " first_problem=" : "", first_problem);
    return (!wrong && !transport_errors && answered > 0) ? 0 : 1;
}

int main(int argc, char **argv) {
    int opt;
    while ((opt = getopt(argc, argv, "p:n:c:C:t2im:d:R:L:G:X:s:P:T:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'n': count = atoi(optarg); break;
        case 'c': inflight = atoi(optarg); break;
        case 'C': connect_window = atoi(optarg); break;
        case 't': tls = 1; break;
        case '2': h2 = 1; break;
        case 'i': interactive = 1; break;
        case 'm': soak = strcmp(optarg, "soak") == 0; break;
        case 'd': soak_seconds = atof(optarg); break;
        case 'R': per_connection = atoi(optarg); break;
        case 'L': large_body = atol(optarg); break;
        case 'G': good_token = optarg; break;
        case 'X': bad_token = optarg; break;
        case 's': denied_source = optarg; break;
        case 'P': path = optarg; break;
        case 'T': phase_timeout = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: conns -p PORT [-n N] [-c INFLIGHT] [-C CONNECTS] [-t] [-2] [-i] [-P PATH] [-T SECONDS]\n"
                            "       conns -m soak -p PORT [-n N] [-d SECONDS] [-R PER_CONN] [-L BYTES] -G TOKEN -X TOKEN [-s SOURCE]\n");
            return 2;
        }
    }
    if (count < 1 || per_connection < 1 || (soak && (tls || h2))) { fprintf(stderr, "conns: bad arguments\n"); return 2; }
    signal(SIGPIPE, SIG_IGN);
    // One descriptor per connection, and a few: take what the hard limit allows.
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)count + 16) {
        fprintf(stderr, "conns: RLIMIT_NOFILE %lu is too low for %d connections\n", (unsigned long)rl.rlim_cur, count);
        return 2;
    }
    if (tls) {
        ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
        static const unsigned char h1[] = "\x08http/1.1", h2p[] = "\x02h2";
        if (h2) SSL_CTX_set_alpn_protos(ctx, h2p, sizeof h2p - 1);
        else SSL_CTX_set_alpn_protos(ctx, h1, sizeof h1 - 1);
    }
    zeros = malloc((size_t)large_body > 65536 ? (size_t)large_body : 65536);
    memset(zeros, 'x', (size_t)large_body > 65536 ? (size_t)large_body : 65536);
    build_requests();
    conns = calloc((size_t)count, sizeof *conns);
    for (int i = 0; i < count; i++) conns[i].fd = -1;
    ep = epoll_create1(0);
    return soak ? soak_mode() : hold_mode();
}
