import EventLoop
import HTTP1
import CShims
import Synchronization
import NetworkPolicy
import Transport

/// One client connection and the exchange it has in flight: the proxy's state machine.
///
/// It lives its whole life on one worker's loop. Sockets are edge-triggered, so the connection
/// remembers readiness (`readable`, `writable`) and reads or writes until the kernel says EAGAIN
/// or a bound says stop; a side whose output is over ``highWater`` stops the other side's reading
/// until it drains. Everything here runs on the loop thread.
final class ClientConnection: EventHandler, TimerHandler, UpstreamOwner, DownstreamConnection {
    enum State {
        /// TLS handshake in progress (listeners with `tls`).
        case handshaking
        /// Waiting for a PROXY protocol header before the first request.
        case proxyHeader
        case readingHead
        /// A request admitted and sent (or being sent) upstream; response not finished.
        case exchanging
        /// After a 101: bytes flow both ways untouched.
        case tunnel
        /// Writing the last bytes, then closing.
        case closing
    }

    enum Body {
        case done
        case length(UInt64)
        case chunked(ChunkedDecoder)
        case untilClose
    }

    enum TimerPhase {
        case idle, handshake, header, upstreamConnect, upstreamResponse, transfer
    }

    static let highWater = 256 * 1024

    let fd: Int32
    // The one-byte fields together, first, so no padding sits between them and the eight-byte
    // ones: an idle connection is mostly this object.
    /// Accepted on an egress listener: the local app calling out (routes, outgoing tokens).
    let egress: Bool
    /// Whether this connection's listener asks for client certificates.
    let requestsClientCertificates: Bool
    /// What the listener speaks: h2 by ALPN under TLS or by the preface in cleartext, and
    /// whether HTTP/1.1 is served at all.
    let offers: OfferedProtocols
    /// No request has been read yet (only the first may turn out to be an HTTP/2 preface).
    var firstRequest = true
    /// `peerIP` came from a PROXY protocol header (the log says how the client was found).
    var viaProxyProtocol = false
    var timerPhase = TimerPhase.idle
    var readable = false
    var writable = true
    var peerClosed = false
    /// FIN or error signalled by epoll: keep reading until read returns 0 (see UpstreamConnection).
    var hangup = false
    var closed = false
    var state: State
    /// Whether the client gets the body chunked (HTTP/1.1) or delimited by close (HTTP/1.0).
    var chunkToClient = false
    var closeAfterResponse = false
    var retried = false
    var retryable = false
    /// Bytes of the method at the start of `logLine` (see ``logMethodLength``).
    private var methodLength: UInt32 = 0

    let listener: String
    /// Where the current request goes: a pool index of the worker (0: ingress upstream).
    var target = 0
    /// The socket, or a TLS session over it: everything below the HTTP/1.1 codec.
    let transport: Transport
    private var tlsFacts: TLSFacts?
    /// The client's verified certificate, once the handshake is done (mutual TLS listeners).
    var tlsPeer: PeerCertificate? { tlsFacts?.peer }
    /// The TLS facts the access log repeats on every request of this connection.
    var tlsLog: AccessLog.TLSLogFields? { tlsFacts?.log }
    private let live: LiveObjects
    // The worker outlives every connection, pool and listener it owns (they die with its loop),
    // so the reference needs no reference counting on the request path.
    unowned(unsafe) let worker: Worker
    /// The TCP peer, or the source from a PROXY protocol header once read.
    var peerIP: IPAddress
    var timer = TimerSlot()

    /// Client bytes read and not yet used, and bytes for the client not yet written. Their
    /// storage is lent by the worker's pool while they hold bytes and given back once empty at
    /// the end of an event (``releaseIdleBuffers()``): a kept-alive connection waiting for its
    /// next request holds none, so memory follows the requests in flight, not the connections.
    let input: IOBuffer
    let output: IOBuffer
    // Made on a connection's first request (none for one that never sends any), lending 2 KiB
    // blocks; their bytes and storage are dropped once each exchange is over.
    private(set) var heldSentHead: IOBuffer?
    private(set) var heldLogLine: IOBuffer?

    var parser: RequestParser
    // No room for fields until the first request: a connection that never sends one stays small.
    var head = RequestHead(reservingFields: 0)
    var requestBody = Body.done
    var upstream: UpstreamConnection?
    var response: UpstreamResponse

    /// What the access log and the metrics will say of the current request.
    var record: ExchangeRecord
    var logMethodLength: Int {
        get { Int(methodLength) }
        set { methodLength = UInt32(clamping: newValue) }
    }

    /// What the finished handshake said, kept apart so a cleartext connection carries one
    /// pointer for it rather than both values.
    final class TLSFacts {
        let peer: PeerCertificate?
        let log: AccessLog.TLSLogFields?

        init(peer: PeerCertificate?, log: AccessLog.TLSLogFields?) {
            self.peer = peer
            self.log = log
        }
    }

    init(fd: Int32, peer: SocketAddress, worker: Worker, listener: String, expectProxyHeader: Bool, tls: TLSSession?,
         offers: OfferedProtocols, egress: Bool = false) {
        self.fd = fd
        self.egress = egress
        self.listener = listener
        self.offers = offers
        transport = tls.map { .tls($0) } ?? .plain(fd)
        requestsClientCertificates = tls?.requestsClientCertificates ?? false
        self.peerIP = peer.withAddressBytes { IPAddress(bytes: $0) } ?? IPAddress(high: 0, low: 0)
        self.record = ExchangeRecord(client: peerIP)
        self.worker = worker
        self.state = expectProxyHeader ? .proxyHeader : tls != nil ? .handshaking : .readingHead
        self.parser = RequestParser(limits: worker.settings.requestLimits)
        self.response = UpstreamResponse(maxHeadBytes: worker.settings.requestLimits.maxHeadBytes, reservingFields: 0)
        input = IOBuffer(lendingFrom: worker.buffers.blocks)
        output = IOBuffer(lendingFrom: worker.buffers.blocks)
        live = worker.live
        live.clients.add(1, ordering: .relaxed)
    }

    deinit {
        live.clients.subtract(1, ordering: .relaxed)
    }

    // MARK: Buffers

    /// The encoded upstream request head, kept to retry an idempotent request once (and, for a
    /// chunked request, its first body bytes until the framing has proved itself).
    var sentHead: IOBuffer {
        _read {
            if heldSentHead == nil { heldSentHead = IOBuffer(lendingFrom: worker.smallBlocks) }
            yield heldSentHead.unsafelyUnwrapped
        }
    }

    /// Method and path of the current request, for the access log.
    var logLine: IOBuffer {
        _read {
            if heldLogLine == nil { heldLogLine = IOBuffer(lendingFrom: worker.smallBlocks) }
            yield heldLogLine.unsafelyUnwrapped
        }
    }

    /// Gives back the storage of what holds nothing the connection still needs. Only called
    /// where the connection's own work has unwound (the end of an event), so no caller is using
    /// a buffer: empty input and output at any time; the upstream head and the log line, whose
    /// bytes are spent, between requests and once the last exchange is over. Bytes still to be
    /// used are never dropped (a pipelined request, an unsent answer).
    func releaseIdleBuffers() {
        if input.holdsStorage { input.shed() }
        if output.holdsStorage { output.shed() }
        switch state {
        case .exchanging, .tunnel: return
        case .readingHead, .handshaking, .proxyHeader, .closing: break
        }
        heldSentHead?.dropAll()
        heldLogLine?.dropAll()
    }

    // MARK: Events

    func handleEvent(_ events: UInt32) {
        if events & cs_EPOLLOUT != 0 { writable = true }
        if events & (cs_EPOLLIN | cs_EPOLLRDHUP | cs_EPOLLHUP | cs_EPOLLERR) != 0 { readable = true }
        if events & (cs_EPOLLRDHUP | cs_EPOLLHUP | cs_EPOLLERR) != 0 { hangup = true }
        drive()
    }

    /// Does all the work the current readiness allows, then lets go of the buffers it no longer needs.
    func drive() {
        driveSteps()
        releaseIdleBuffers()
    }

    private func driveSteps() {
        var rounds = 0
        while !closed {
            rounds += 1
            if rounds > 64 {
                // Fairness: yield, and come back next iteration since the socket is still ready.
                worker.loop.resumeSoon(self)
                return
            }
            if !flushOutput() { return }
            if state == .handshaking {
                // Only the client's next flight moves the handshake on, or room in the socket
                // when OpenSSL could not write all of ours. Every new socket reports EPOLLOUT
                // once registered (and ACKs may bring more): a handshake step on such an event
                // cost an SSL_do_handshake and a read(2) that could only say EAGAIN.
                guard readable || (writable && handshakeWantsWrite) else { return }
                guard continueHandshake() else { return }
                continue
            }
            if state == .closing {
                if output.isEmpty { close() }
                return
            }
            resumeResponseIfRoom()
            if closed { return }
            guard readable, wantsInput(), input.readableBytes < inputLimit else { return }
            guard readInput() else { return }
            processInput()
        }
    }

    /// Whether the handshake last stopped for want of room in the socket (not of client bytes).
    private var handshakeWantsWrite: Bool {
        guard case .tls(let session) = transport else { return false }
        return session.handshakeWantsWrite
    }

    /// One step of the TLS handshake; true once it is done and HTTP can begin.
    private func continueHandshake() -> Bool {
        guard case .tls(let session) = transport else { return true }
        switch session.handshake() {
        case .done:
            let peer = session.verifiedPeer()
            let log = worker.accessLog.enabled
                ? AccessLog.TLSLogFields(version: session.version, alpn: session.negotiatedProtocol,
                                         clientCertificate: peer?.primaryIdentity)
                : nil
            if peer != nil || log != nil { tlsFacts = TLSFacts(peer: peer, log: log) }
            state = .readingHead
            timerPhase = .idle
            arm(.idle, worker.settings.idleMillis)
            // Application data can arrive in the same flight as the client's Finished and sit
            // in OpenSSL's buffer, where no edge will announce it: try a read.
            readable = true
            if session.negotiatedProtocol == "h2" {
                worker.handOverToH2(self)
                return false
            }
            return true
        case .pending:
            // OpenSSL stops for the socket only after read(2) or write(2) said EAGAIN, so an
            // edge will say when to go on.
            if session.handshakeWantsWrite { writable = false } else { readable = false }
            if timerPhase != .handshake { arm(.handshake, worker.settings.tlsHandshakeMillis) }
            return false
        case .failed:
            // A scanner, a client that does not trust us, TLS 1.1, a certificate of another CA:
            // nothing HTTP can be said. Counted, not logged per connection (a flood would
            // become a log flood).
            worker.tlsHandshakeFailures += 1
            close()
            return false
        }
    }

    /// Flushes queued output; false if the connection was closed because of it.
    @inline(__always)
    func flushOutput() -> Bool {
        guard writable, !output.isEmpty else { return true }
        do {
            if try !transport.write(from: output) { writable = false }
        } catch {
            abort()
            return false
        }
        return true
    }

    private func wantsInput() -> Bool {
        switch state {
        case .handshaking:
            return false
        case .proxyHeader, .readingHead:
            return true
        case .exchanging:
            guard case .done = requestBody else {
                return (upstream?.output.readableBytes ?? upstreamPendingBytes) < Self.highWater && input.readableBytes < inputLimit
            }
            return false
        case .tunnel:
            return (upstream?.output.readableBytes ?? 0) < Self.highWater
        case .closing:
            return false
        }
    }

    /// Request bytes waiting for an upstream that is not attached yet (a chunked head on hold).
    var upstreamPendingBytes: Int { heldSentHead?.readableBytes ?? 0 }

    /// Bytes of client input held at most; more waits in the kernel (backpressure).
    var inputLimit: Int { max(worker.settings.requestLimits.maxHeadBytes, 64 * 1024) + 16 * 1024 }

    /// One read; false when the connection ended.
    private func readInput() -> Bool {
        do {
            switch try transport.read(into: input, maxHeld: inputLimit) {
            case .read(_, let filled):
                if !filled && !hangup { readable = false }
                if timerPhase == .transfer { worker.loop.setDeadline(self, at: worker.loop.now + worker.settings.idleMillis) }
            case .wouldBlock:
                readable = false
            case .full:
                // Still readable; reading resumes once the buffered bytes move on.
                return false
            case .endOfStream:
                readable = false
                peerClosed = true
                clientEOF()
                return !closed
            }
            return true
        } catch {
            abort()
            return false
        }
    }

    /// The client closed its side.
    private func clientEOF() {
        switch state {
        case .handshaking:
            close()
        case .readingHead where input.isEmpty, .proxyHeader where input.isEmpty:
            close()
        case .readingHead, .proxyHeader:
            // A partial head and then EOF: nothing to answer to.
            close()
        case .exchanging:
            if case .done = requestBody {
                // Half-close after a full request: finish the response, then close.
                closeAfterResponse = true
            } else {
                abort()
            }
        case .tunnel:
            abort()
        case .closing:
            close()
        }
    }

    func processInput() {
        switch state {
        case .handshaking:
            break
        case .proxyHeader:
            consumeProxyHeader()
        case .readingHead:
            parseHead()
        case .exchanging:
            pumpRequest()
        case .tunnel:
            pumpTunnelToUpstream()
        case .closing:
            break
        }
    }

    /// Reads the PROXY protocol header a listener with `proxy_protocol: true` requires. A
    /// connection that does not start with one is closed: it did not come through the balancer.
    private func consumeProxyHeader() {
        if timerPhase != .header {
            arm(.header, worker.settings.requestHeaderMillis)
        }
        switch ProxyProtocol.parse(input.readable) {
        case .needMoreBytes:
            return
        case .invalid:
            worker.proxyProtocolRejected += 1
            close()
        case .done(let consumed, let source):
            input.consume(consumed)
            if let source {
                peerIP = source
                viaProxyProtocol = true
            }
            record.client = peerIP
            state = .readingHead
            timerPhase = .idle
            parseHead()
        }
    }

    // MARK: Timers

    func deadlinePassed(now: Int64) {
        guard !closed else { return }
        defer { releaseIdleBuffers() }
        switch timerPhase {
        case .idle, .handshake:
            close()
        case .header:
            reject(.requestTimeout, forceClose: true)
        case .upstreamConnect, .upstreamResponse:
            if response.headDone || record.bytesOut > 0 {
                abort()
            } else {
                upstream?.close()
                upstream = nil
                reject(.upstreamTimeout, forceClose: true)
            }
        case .transfer:
            abort()
        }
    }

    func arm(_ phase: TimerPhase, _ duration: Int64) {
        timerPhase = phase
        worker.loop.setDeadline(self, at: worker.loop.now + duration)
    }

    // MARK: Ending

    /// The connection now belongs to an ``H2Connection``: stop without closing the socket.
    func detachForHandover() {
        closed = true
        worker.loop.clearDeadline(self)
    }

    func drain() {
        switch state {
        case .readingHead where input.isEmpty, .proxyHeader, .handshaking:
            close()
        default:
            break
        }
    }

    /// Closes without ceremony (peer error, timeout mid-stream): nothing more can be said.
    func abort() {
        if state == .exchanging || state == .tunnel {
            logExchange(status: response.headDone ? response.head.status : 0, decision: "aborted", reason: "connection_aborted")
        }
        close()
    }

    func close() {
        guard !closed else { return }
        closed = true
        if let upstream {
            upstream.close()
            self.upstream = nil
        }
        worker.loop.clearDeadline(self)
        worker.loop.close(fd)
        worker.connectionClosed(self)
    }
}
