import EventLoop
import HTTP1
import CShims

/// One admin client: reads request heads, answers each from ``AdminRoutes``, closes on error,
/// on `Connection: close`, on a request with a body, or when ``AdminServer/Options/idleTimeout``
/// passes. Lives on the admin thread only.
final class AdminConnection: EventHandler, TimerHandler {
    let fd: Int32
    unowned let server: AdminServer
    var timer = TimerSlot()
    private let input = IOBuffer(capacity: 4096)
    private let output = IOBuffer(capacity: 4096)
    private var parser: RequestParser
    private var head = RequestHead()
    /// Close once the output is written: the response said `Connection: close`.
    private var closing = false
    private var closed = false

    init(fd: Int32, server: AdminServer) {
        self.fd = fd
        self.server = server
        let limit = server.options.maxRequestBytes
        parser = RequestParser(limits: RequestLimits(maxHeadBytes: limit, maxHeaders: 64, maxTargetBytes: min(limit, 2048)))
    }

    private var idleMillis: Int64 { server.options.idleTimeout.wholeMilliseconds }

    func start() {
        // The deadline covers the first request head; bytes trickling in do not push it back.
        server.loop.setDeadline(self, at: server.loop.now + idleMillis)
        handleEvent(cs_EPOLLIN)
    }

    func deadlinePassed(now: Int64) {
        close()
    }

    func handleEvent(_ events: UInt32) {
        guard !closed else { return }
        while true {
            // Requests already buffered first: the last read may have brought several.
            let before = input.readableBytes
            serve()
            // Once a response has left, the next buffered request can be answered.
            let wrote = !output.isEmpty
            guard flush() else { return }
            if wrote { continue }
            let result: IOBuffer.ReadResult
            do {
                result = try input.read(from: fd, maxHeld: server.options.maxRequestBytes)
            } catch {
                close()
                return
            }
            switch result {
            case .read:
                continue
            case .full:
                // Full, and serving freed nothing: a head larger than it may be. The next turn
                // writes the 431 and closes.
                if input.readableBytes == before { reject(.headersTooLarge) }
            case .endOfStream:
                close()
                return
            case .wouldBlock:
                return
            }
        }
    }

    /// Answers the first complete request in the input, if any. The next is parsed only once
    /// the previous response has left, so a client that does not read cannot pile up answers.
    private func serve() {
        guard !closing, output.isEmpty else { return }
        let complete: Bool
        do {
            complete = try parser.parse(input.readable, into: &head)
        } catch {
            return reject(error)
        }
        guard complete else { return }
        respond()
        input.consume(head.length)
        input.compact()
        parser.reset()
        // The next request gets a fresh deadline, counted from the end of this one.
        server.loop.setDeadline(self, at: server.loop.now + idleMillis)
    }

    private func respond() {
        let bytes = input.readable
        let isHead = head.method == .head
        // The admin API takes no bodies; rather than skip one, answer and close.
        let keepAlive = head.keepAlive && head.framing == .none
        guard head.method == .get || isHead else {
            return write(AdminResponse(status: 405, text: "method not allowed; use GET or HEAD\n"),
                         head: false, keepAlive: keepAlive)
        }
        let path = UnsafeRawBufferPointer(rebasing: bytes[head.path])
        let routes = server.routes
        let response: AdminResponse
        if path.elementsEqual("/healthz".utf8) {
            let report = routes.health()
            response = report.isHealthy ? AdminResponse(status: 200, text: "ok\n") : AdminResponse(status: 503, lines: report.problems)
        } else if path.elementsEqual("/readyz".utf8) {
            let unmet = routes.readiness()
            response = unmet.isEmpty ? AdminResponse(status: 200, text: "ready\n") : AdminResponse(status: 503, lines: unmet)
        } else if path.elementsEqual("/metrics".utf8) {
            response = AdminResponse(status: 200, contentType: AdminResponse.prometheus, body: routes.metrics())
        } else if path.elementsEqual("/config".utf8) {
            response = AdminResponse(status: 200, contentType: AdminResponse.json, body: routes.config())
        } else {
            response = AdminResponse(status: 404, text: "not found; try /healthz, /readyz, /metrics or /config\n")
        }
        write(response, head: isHead, keepAlive: keepAlive)
    }

    /// A request the parser refused: its status, and the connection closed, since what follows
    /// it on the wire cannot be trusted to start a request.
    private func reject(_ error: HTTPError) {
        write(AdminResponse(status: error.status, text: "\(error.reason)\n"), head: false, keepAlive: false)
    }

    private func write(_ response: AdminResponse, head isHead: Bool, keepAlive: Bool) {
        response.serialize(into: output, includeBody: !isHead, keepAlive: keepAlive)
        if !keepAlive { closing = true }
    }

    /// Writes what is pending; false when the connection is finished with (closed, or waiting
    /// for the socket to take more).
    private func flush() -> Bool {
        if !output.isEmpty {
            let done: Bool
            do {
                done = try output.write(to: fd)
            } catch {
                close()
                return false
            }
            guard done else { return false }
            output.clear()
        }
        if closing {
            close()
            return false
        }
        return true
    }

    func close() {
        guard !closed else { return }
        closed = true
        server.loop.clearDeadline(self)
        server.loop.close(fd)
        server.connections[fd] = nil
    }
}
