// churn: short-lived connections against a loopback HTTP/1.1 server, as scripts, probes and
// load balancers make them. wrk reuses connections, so it never shows what a closed connection
// leaves behind; this does. Bounded by time (-d) and loopback only (-p is a port on 127.0.0.1).
//
//   cc -O2 -pthread -o churn churn.c
//   ./churn -p 8080 -m open -c 16 -d 8              # GET, read the answer, client closes
//   ./churn -p 8080 -m close -c 16 -d 8             # GET with Connection: close, server closes
//   ./churn -p 8080 -m rst -c 16 -d 8               # GET, read the answer, client resets (RST)
//   ./churn -p 8080 -m halfclose -c 16 -d 8         # GET, shut down writing, read until the server closes
//   ./churn -p 8080 -m empty -c 16 -d 8             # connect and close, nothing sent
//   ./churn -p 8080 -m partial -c 16 -d 8           # half a request head, then close
//   ./churn -p 8080 -m keepalive -n 1000 -c 16 -d 8 # 1,000 requests per connection (the control)
//   ./churn ... -s 127.0.0.3                        # from another loopback source address
//   ./churn ... -P /api -H 'Authorization: Bearer x'
//
// Prints one line: connections, responses by class, errors.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum mode { OPEN, CLOSE, RST, HALFCLOSE, EMPTY, PARTIAL, KEEPALIVE };

static int port = 8080, threads = 16, seconds = 8, per_connection = 1000;
static enum mode mode = OPEN;
static const char *source = NULL, *path = "/open/x", *extra = NULL;
static double deadline;
static atomic_long connections, responses[6], errors;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

// Reads one response; returns its status, 0 on EOF before a full response, -1 on error.
// `until_close` reads to EOF (Connection: close, half-close).
static int read_response(int fd, int until_close) {
    char buf[16384];
    size_t have = 0;
    long body = -1;
    size_t head_end = 0;
    int status = 0;
    for (;;) {
        if (head_end && body >= 0 && !until_close && have >= head_end + (size_t)body) return status;
        if (have == sizeof buf) {
            if (!head_end) return -1;
            // Body bytes we do not keep: slide the window.
            size_t keep = head_end;
            body -= (long)(have - keep);
            have = keep;
        }
        ssize_t n = recv(fd, buf + have, sizeof buf - have, 0);
        if (n < 0) { if (errno == EINTR) continue; return -1; }
        if (n == 0) return head_end ? status : 0;
        have += (size_t)n;
        if (!head_end) {
            char *end = memmem(buf, have, "\r\n\r\n", 4);
            if (!end) continue;
            head_end = (size_t)(end - buf) + 4;
            if (have < 12) return -1;
            status = atoi(buf + 9);
            body = 0;
            for (char *p = buf; p < end; ) {
                char *eol = memmem(p, (size_t)(end - p) + 2, "\r\n", 2);
                if (!eol) break;
                if (eol - p > 15 && strncasecmp(p, "content-length:", 15) == 0) body = atol(p + 15);
                p = eol + 2;
            }
        }
    }
}

static int open_connection(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (source) {
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in local = {.sin_family = AF_INET};
        inet_pton(AF_INET, source, &local.sin_addr);
        if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) { close(fd); return -1; }
    }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0) { close(fd); return -1; }
    return fd;
}

static void count(int status) {
    if (status <= 0) { atomic_fetch_add(&errors, 1); return; }
    atomic_fetch_add(&responses[status / 100 < 6 ? status / 100 : 0], 1);
}

static void *run(void *arg) {
    (void)arg;
    char request[1024];
    int length = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: churn\r\n%s%s%s\r\n", path,
                          mode == CLOSE ? "Connection: close\r\n" : "", extra ? extra : "", extra ? "\r\n" : "");
    while (now() < deadline) {
        int fd = open_connection();
        if (fd < 0) { atomic_fetch_add(&errors, 1); usleep(1000); continue; }
        atomic_fetch_add(&connections, 1);
        switch (mode) {
        case EMPTY:
            break;
        case PARTIAL:
            send(fd, request, (size_t)length / 2, MSG_NOSIGNAL);
            break;
        case KEEPALIVE:
            for (int i = 0; i < per_connection && now() < deadline; i++) {
                if (send(fd, request, (size_t)length, MSG_NOSIGNAL) != length) { atomic_fetch_add(&errors, 1); break; }
                int status = read_response(fd, 0);
                count(status);
                if (status <= 0) break;
            }
            break;
        case HALFCLOSE:
            send(fd, request, (size_t)length, MSG_NOSIGNAL);
            shutdown(fd, SHUT_WR);
            count(read_response(fd, 1));
            break;
        default:
            if (send(fd, request, (size_t)length, MSG_NOSIGNAL) != length) { atomic_fetch_add(&errors, 1); break; }
            count(read_response(fd, mode == CLOSE));
            if (mode == RST) {
                struct linger linger = {.l_onoff = 1, .l_linger = 0};
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
            }
        }
        close(fd);
    }
    return NULL;
}

int main(int argc, char **argv) {
    int opt;
    while ((opt = getopt(argc, argv, "p:m:c:d:n:s:P:H:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'c': threads = atoi(optarg); break;
        case 'd': seconds = atoi(optarg); break;
        case 'n': per_connection = atoi(optarg); break;
        case 's': source = optarg; break;
        case 'P': path = optarg; break;
        case 'H': extra = optarg; break;
        case 'm':
            if (!strcmp(optarg, "open")) mode = OPEN;
            else if (!strcmp(optarg, "close")) mode = CLOSE;
            else if (!strcmp(optarg, "rst")) mode = RST;
            else if (!strcmp(optarg, "halfclose")) mode = HALFCLOSE;
            else if (!strcmp(optarg, "empty")) mode = EMPTY;
            else if (!strcmp(optarg, "partial")) mode = PARTIAL;
            else if (!strcmp(optarg, "keepalive")) mode = KEEPALIVE;
            else { fprintf(stderr, "unknown mode %s\n", optarg); return 2; }
            break;
        default:
            fprintf(stderr, "usage: churn -p PORT [-m open|close|rst|halfclose|empty|partial|keepalive] "
                            "[-c THREADS] [-d SECONDS] [-n PER_CONNECTION] [-s SOURCE] [-P PATH] [-H HEADER]\n");
            return 2;
        }
    }
    if (threads < 1 || threads > 256 || seconds < 1 || seconds > 600) { fprintf(stderr, "churn: -c 1..256, -d 1..600\n"); return 2; }
    deadline = now() + seconds;
    pthread_t ids[256];
    for (int i = 0; i < threads; i++) pthread_create(&ids[i], NULL, run, NULL);
    for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
    printf("connections=%ld 2xx=%ld 3xx=%ld 4xx=%ld 5xx=%ld errors=%ld\n", atomic_load(&connections),
           atomic_load(&responses[2]), atomic_load(&responses[3]), atomic_load(&responses[4]),
           atomic_load(&responses[5]), atomic_load(&errors));
    return 0;
}
