import EventLoop
import HTTP1
import CShims
import Transport

/// One client of the dev issuer, on its loop only: the TLS handshake when serving https, then
/// requests one at a time (head by the strict parser, a body by Content-Length only), each
/// answered before the next is parsed. Closes on a malformed request, on `Connection: close`,
/// and when a head, a body or the next request takes longer than the idle timeout.
final class IssuerConnection: EventHandler, TimerHandler {
    static let maxHeadBytes = 16 * 1024
    static let maxBodyBytes = 64 * 1024

    let fd: Int32
    /// Tells this connection from a later one that got the same descriptor number, for an
    /// answer that arrives from another thread (a key rotation).
    let serial: UInt64
    unowned let server: DevIssuer
    let transport: Transport
    let fromLoopback: Bool
    var timer = TimerSlot()
    private let input = IOBuffer(capacity: 4096)
    private let output = IOBuffer(capacity: 4096)
    private var parser = RequestParser(limits: RequestLimits(maxHeadBytes: maxHeadBytes, maxHeaders: 64, maxTargetBytes: 4096))
    private var head = RequestHead()
    private var handshaking: Bool
    /// An answer is being made on another thread; nothing is read or parsed meanwhile.
    private var waiting = false
    private var closing = false
    private var closed = false

    init(fd: Int32, serial: UInt64, server: DevIssuer, transport: Transport, fromLoopback: Bool) {
        self.fd = fd
        self.serial = serial
        self.server = server
        self.transport = transport
        self.fromLoopback = fromLoopback
        handshaking = transport.isTLS
    }

    func start() {
        // One deadline covers the handshake and the first request; bytes trickling in do not
        // push it back.
        armDeadline()
        handleEvent(cs_EPOLLIN)
    }

    func deadlinePassed(now: Int64) {
        close()
    }

    func handleEvent(_ events: UInt32) {
        guard !closed else { return }
        if handshaking {
            guard case .tls(let session) = transport else { return }
            switch session.handshake() {
            case .done: handshaking = false
            case .pending: return
            case .failed: return close()
            }
        }
        while !waiting {
            serve()
            let wrote = !output.isEmpty
            guard flush() else { return }
            if wrote || waiting { continue }
            let result: IOBuffer.ReadResult
            do {
                result = try transport.read(into: input, maxHeld: Self.maxHeadBytes + Self.maxBodyBytes)
            } catch {
                return close()
            }
            switch result {
            case .read: continue
            case .full: return reject(413, "request too large")
            case .endOfStream: return close()
            case .wouldBlock: return
            }
        }
        // Waiting: only the output (empty) would need the socket; nothing to do until the answer.
    }

    /// Answers the first complete request in the input, if any.
    private func serve() {
        guard !closing, !waiting, output.isEmpty else { return }
        let complete: Bool
        do {
            complete = try parser.parse(input.readable, into: &head)
        } catch {
            return reject(error.status, "\(error.reason)")
        }
        guard complete else { return }
        var bodyLength = 0
        switch head.framing {
        case .none: break
        case .contentLength(let n):
            guard n <= UInt64(Self.maxBodyBytes) else { return reject(413, "a body larger than \(Self.maxBodyBytes) bytes") }
            bodyLength = Int(n)
        case .chunked, .untilClose:
            // Token requests are small forms that every client sends with a Content-Length.
            return reject(411, "send the body with a Content-Length")
        }
        guard input.readableBytes >= head.length + bodyLength else { return }
        let request: IssuerRequest
        do {
            request = try IssuerRequest(head: head, bytes: input.readable, bodyLength: bodyLength, fromLoopback: fromLoopback)
        } catch {
            return reject(400, error.reason)
        }
        let keepAlive = head.keepAlive
        let isHead = head.method == .head
        input.consume(head.length + bodyLength)
        input.compact()
        parser.reset()
        switch server.routes.route(request) {
        case .respond(let response):
            write(response, includeBody: !isHead, keepAlive: keepAlive)
        case .rotate:
            waiting = true
            if !keepAlive { closing = true }
            server.rotateInBackground(replyingTo: fd, serial: serial)
        }
    }

    /// The answer made on another thread, delivered on the loop.
    func deliver(_ response: IssuerResponse) {
        guard waiting, !closed else { return }
        waiting = false
        response.serialize(into: output, includeBody: true, keepAlive: !closing)
        armDeadline()
        handleEvent(cs_EPOLLOUT)
    }

    private func reject(_ status: Int, _ reason: String) {
        write(.text(status, reason + "\n"), includeBody: true, keepAlive: false)
    }

    private func write(_ response: IssuerResponse, includeBody: Bool, keepAlive: Bool) {
        response.serialize(into: output, includeBody: includeBody, keepAlive: keepAlive)
        if !keepAlive { closing = true }
        // The next request gets a fresh deadline, counted from this answer.
        armDeadline()
    }

    /// Writes what is pending; false when the connection is finished with (closed, or waiting
    /// for the socket to take more).
    private func flush() -> Bool {
        if !output.isEmpty {
            let done: Bool
            do {
                done = try transport.write(from: output)
            } catch {
                close()
                return false
            }
            guard done else { return false }
            output.clear()
        }
        if closing && !waiting {
            close()
            return false
        }
        return true
    }

    private func armDeadline() {
        server.loop.setDeadline(self, at: server.loop.now + server.idleMillis)
    }

    func close() {
        guard !closed else { return }
        closed = true
        if case .tls(let session) = transport { session.shutdown() }
        server.loop.clearDeadline(self)
        server.loop.close(fd)
        server.connections[fd] = nil
    }
}
