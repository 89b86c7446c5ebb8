/// The identity headers App Service Easy Auth gives a backend, so code written for it works
/// unchanged behind Portcullis.
enum EasyAuth {
    static func headers(claims: JSONValue, objectID: String?, name: String?, settings: IdentityHeaderSettings) -> [String] {
        var lines: [String] = []
        if settings.easyAuth {
            lines.append("X-MS-CLIENT-PRINCIPAL: " + Base64URL.standard(Array(principal(claims).utf8)))
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

    /// `{"auth_typ":"aad","claims":[{"typ":...,"val":...}],"name_typ":...,"role_typ":...}`; array
    /// claims become one entry per element, as App Service writes them.
    static func principal(_ claims: JSONValue) -> String {
        var entries: [JSONValue] = []
        if case .object(let members) = claims {
            for (typ, value) in members {
                if case .array(let elements) = value {
                    for element in elements {
                        if let text = claimText(element) { entries.append(.object([("typ", .string(typ)), ("val", .string(text))])) }
                    }
                } else if let text = claimText(value) {
                    entries.append(.object([("typ", .string(typ)), ("val", .string(text))]))
                }
            }
        }
        return JSONValue.object([
            ("auth_typ", .string("aad")),
            ("claims", .array(entries)),
            ("name_typ", .string("name")),
            ("role_typ", .string("roles")),
        ]).serialized
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
