/// The identity headers App Service Easy Auth gives a backend, so code written for it works
/// unchanged behind Portcullis.
enum EasyAuth {
    static func headers(claims: JSONValue, objectID: String?, name: String?, settings: IdentityHeaderSettings) -> [String] {
        var lines: [String] = []
        lines.reserveCapacity(4 + settings.claimHeaders.count)
        if settings.easyAuth {
            lines.append(principalHeader(claims))
            if let objectID, isHeaderSafe(objectID) { lines.append("X-MS-CLIENT-PRINCIPAL-ID: " + objectID) }
            if let name, isHeaderSafe(name) { lines.append("X-MS-CLIENT-PRINCIPAL-NAME: " + name) }
            lines.append("X-MS-CLIENT-PRINCIPAL-IDP: aad")
        }
        for (header, claim) in settings.claimHeaders {
            guard let value = claimText(claims[claim]), isHeaderSafe(value) else { continue }
            lines.append("\(header): \(value)")
        }
        return lines
    }

    /// `X-MS-CLIENT-PRINCIPAL: <base64 of the principal>`, written as bytes in two buffers
    /// (the JSON, then the line): once per validated token, so it is on the uncached path.
    static func principalHeader(_ claims: JSONValue) -> String {
        var json: [UInt8] = []
        json.reserveCapacity(2048)
        writePrincipal(claims, to: &json)
        return Base64URL.standard(json, prefix: "X-MS-CLIENT-PRINCIPAL: ")
    }

    /// `{"auth_typ":"aad","claims":[{"typ":...,"val":...}],"name_typ":...,"role_typ":...}`; array
    /// claims become one entry per element, as App Service writes them.
    static func writePrincipal(_ claims: JSONValue, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"auth_typ":"aad","claims":["#.utf8)
        var first = true
        if case .object(let members) = claims {
            for (typ, value) in members {
                if case .array(let elements) = value {
                    for element in elements { writeEntry(typ, element, first: &first, to: &out) }
                } else {
                    writeEntry(typ, value, first: &first, to: &out)
                }
            }
        }
        out.append(contentsOf: #"],"name_typ":"name","role_typ":"roles"}"#.utf8)
    }

    /// `{"typ":...,"val":...}` for a string, number or boolean; numbers and booleans go in as their
    /// JSON text, quoted, as App Service does. Other values have no entry.
    private static func writeEntry(_ typ: String, _ value: JSONValue, first: inout Bool, to out: inout [UInt8]) {
        switch value {
        case .string, .number, .bool: break
        default: return
        }
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        out.append(contentsOf: #"{"typ":"#.utf8)
        JSONValue.writeQuoted(typ, to: &out)
        out.append(contentsOf: #","val":"#.utf8)
        if case .string(let text) = value {
            JSONValue.writeQuoted(text, to: &out)
        } else {
            out.append(UInt8(ascii: "\""))
            value.write(to: &out)
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
    }

    static func claimText(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let s)?: s
        case .number?, .bool?: value?.serialized
        default: nil
        }
    }

    /// A claim value goes into a header only if it cannot break the header block.
    static func isHeaderSafe(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F }
    }
}
