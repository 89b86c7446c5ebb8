import Benchmark
import HTTP1

/// A realistic service-to-service request head: ~500 bytes, 12 header fields.
let requestHead: [UInt8] = Array("""
GET /api/v1/orders/8f14e45f-ceea-467f-a7e1-3c0d9b2f6a11/items?limit=50&cursor=eyJpZCI6MTIzNH0 HTTP/1.1\r
Host: orders.internal.example.com\r
User-Agent: service-a/2.14.1 (linux; swift)\r
Accept: application/json\r
Accept-Encoding: gzip, deflate\r
Connection: keep-alive\r
X-Request-Id: 7b3f6c2e-59d1-4c8a-9e0b-2a6d1f4e8c37\r
X-Forwarded-For: 10.1.2.9, 10.0.0.5\r
Traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r
Content-Type: application/json\r
Cache-Control: no-cache\r
X-Tenant: contoso\r
Authorization: Bearer abc.def.ghi\r
\r

""".utf8)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(3)
    )

    Benchmark("RequestParser.parse (\(requestHead.count)-byte head, 13 fields)") { benchmark in
        var parser = RequestParser()
        var head = RequestHead()
        requestHead.withUnsafeBytes { bytes in
            // Warm the reused head so steady state is measured, as on a keep-alive connection.
            _ = try? parser.parse(bytes, into: &head)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                parser.reset()
                blackHole(try? parser.parse(bytes, into: &head))
            }
            benchmark.stopMeasurement()
        }
        blackHole(head.headers.count)
    }

    // What every ingress request pays after parsing: the one-pass check of an already-normal
    // path (the head above: a 57-byte path), which writes nothing.
    Benchmark("RequestHead.normalizePath (normal 57-byte path)") { benchmark in
        var parser = RequestParser()
        var head = RequestHead()
        var bytes = requestHead
        bytes.withUnsafeMutableBytes { raw in
            _ = try? parser.parse(UnsafeRawBufferPointer(raw), into: &head)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(try? head.normalizePath(in: raw))
            }
            benchmark.stopMeasurement()
        }
        blackHole(head.path.count)
    }

    // The full pass, for a path that needs it: escapes, a repeated slash and dot segments.
    Benchmark("PathNormalizer.normalize (74-byte path to rewrite)") { benchmark in
        let path = Array("/api/v1/%6Frders//8f14e45f-ceea-467f-a7e1-3c0d9b2f6a11/./items/../items%3a".utf8)
        var out = [UInt8](repeating: 0, count: path.count)
        path.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { target in
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    blackHole(try? PathNormalizer.normalize(source, into: target))
                }
                benchmark.stopMeasurement()
            }
        }
    }

    Benchmark("ChunkedDecoder.decode (64 KiB in 4 KiB chunks)") { benchmark in
        var body: [UInt8] = []
        for _ in 0..<16 { body += Array("1000\r\n".utf8) + [UInt8](repeating: 0x61, count: 4096) + Array("\r\n".utf8) }
        body += Array("0\r\n\r\n".utf8)
        body.withUnsafeBytes { bytes in
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                var decoder = ChunkedDecoder()
                var total = 0
                blackHole(try? decoder.decode(bytes) { event in
                    if case .data(let range) = event { total += range.count }
                })
                blackHole(total)
            }
            benchmark.stopMeasurement()
        }
    }
}
