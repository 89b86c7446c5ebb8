import DemoBackend
import Proxy
#if canImport(Glibc)
import Glibc
#endif

/// A recording demo backend on an ephemeral loopback port, stopped when released.
final class DemoBackendHandle {
    let backend: DemoBackend
    var port: UInt16 { backend.address.port }

    init() throws {
        backend = try DemoBackend(host: "127.0.0.1", port: 0, recording: true)
        backend.start()
    }

    deinit { backend.stop() }
}

/// Runs `server.shutdown` on its own thread, as the signal thread would.
final class Thread {
    private var thread = pthread_t()

    init(server: ProxyServer) {
        let box = Unmanaged.passRetained(server)
        pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            let server = Unmanaged<ProxyServer>.fromOpaque(raw).takeRetainedValue()
            server.shutdown(drainMillis: 2000)
            return nil
        }, box.toOpaque())
    }

    func join() { pthread_join(thread, nil) }
}
