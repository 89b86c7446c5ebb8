extension LocatedValue {
    /// The bytes of the file this value names (at most 4 MiB), or a config error naming the key
    /// the path came from: for the files layers read after parsing (certificates, secrets).
    public func readFile() throws(ConfigError) -> [UInt8] {
        do {
            return try readFileBytes(value)
        } catch {
            throw self.error("cannot read '\(value)': \(error.reason)")
        }
    }

    /// A secret file's contents without the line end an editor or `echo` leaves: a trailing
    /// newline is never part of a secret. An empty secret is an error.
    public func readSecret() throws(ConfigError) -> [UInt8] {
        var bytes = try readFile()
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
        guard !bytes.isEmpty else { throw self.error("'\(value)' is empty") }
        return bytes
    }
}
