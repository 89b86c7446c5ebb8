#if canImport(Glibc)
import Glibc
#endif

/// Writes bytes to stderr unbuffered, so an error is seen even if the process exits right after.
func fputsBytes(_ buffer: UnsafeMutableRawBufferPointer) -> Int {
    guard let base = buffer.baseAddress else { return 0 }
    var offset = 0
    while offset < buffer.count {
        let n = write(2, base + offset, buffer.count - offset)
        if n < 0 { if errno == EINTR { continue }; return offset }
        offset += n
    }
    return offset
}
