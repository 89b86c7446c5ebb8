import Tokens

/// An identity provider's answer to a token request, read strictly (the Tokens JSON parser:
/// no duplicate members, bounded size): a token and its lifetime, or the provider's reason.
struct TokenAnswer: Sendable, Equatable {
    /// The two answer shapes there are.
    enum Shape: Sendable {
        /// Entra's token endpoint: `access_token`, `expires_in` (a number, or a string on v1);
        /// errors as `error`, `error_description`, `error_codes`.
        case entra
        /// Managed identity endpoints: `access_token`, `expires_on` (epoch seconds) and/or
        /// `expires_in`, often as strings; errors as `statusCode`/`message` or Entra's.
        case managedIdentity
    }

    let accessToken: String
    /// Seconds from now.
    let expiresIn: Int64

    /// Reads a response; `wallNow` (epoch seconds) turns an `expires_on` into a lifetime.
    static func read(status: Int, body: [UInt8], shape: Shape, wallNow: Int64) -> Result<TokenAnswer, TokenSourceError> {
        let document = JSONValue.parse(body)
        guard (200..<300).contains(status) else {
            return .failure(refusal(status: status, document))
        }
        guard let document, case .object = document else {
            return .failure(TokenSourceError("bad_response", "the token endpoint's answer is not a JSON object"))
        }
        guard let token = document["access_token"]?.string, !token.isEmpty, token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .failure(TokenSourceError("bad_response", "the answer has no usable access_token"))
        }
        if let type = document["token_type"]?.string, type.lowercased() != "bearer" {
            return .failure(TokenSourceError("bad_response", "the token type is \(type), not Bearer"))
        }
        var lifetime = seconds(document["expires_in"])
        if lifetime == nil, shape == .managedIdentity, let on = seconds(document["expires_on"]) { lifetime = on - wallNow }
        guard let lifetime, lifetime > 0 else {
            return .failure(TokenSourceError("bad_response", "the answer says no lifetime (expires_in or expires_on) in the future"))
        }
        return .success(TokenAnswer(accessToken: token, expiresIn: lifetime))
    }

    /// A number, or a string of digits (Entra's v1 endpoint and the managed identity endpoints
    /// write them so).
    static func seconds(_ value: JSONValue?) -> Int64? {
        switch value {
        case .number(let n)?: return n.isFinite && n >= 0 && n < 1e12 ? Int64(n) : nil
        case .string(let s)?: return s.count <= 12 && s.allSatisfy(\.isASCII) ? Int64(s) : nil
        default: return nil
        }
    }

    /// The provider's own words: the AADSTS code and the first line of the description (the
    /// rest is trace and correlation ids and a time, kept as ids), or a managed identity
    /// endpoint's message.
    static func refusal(status: Int, _ document: JSONValue?) -> TokenSourceError {
        guard let document, case .object = document else {
            return TokenSourceError("http_\(status)", "the token endpoint answered HTTP \(status)")
        }
        if let error = document["error"]?.string {
            let description = document["error_description"]?.string ?? ""
            let firstLine = description.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            var code = error
            if case .array(let codes)? = document["error_codes"], let first = codes.first?.number, first.isFinite, abs(first) < 1e12 {
                code = "AADSTS\(Int64(first))"
            }
            // The description starts with the code again (`AADSTS7000215: Invalid …`): said once.
            let message = firstLine.hasPrefix(code + ": ") ? String(firstLine.dropFirst(code.count + 2)) : firstLine
            var reason = message.isEmpty ? error : "\(error): \(message)"
            if let trace = document["trace_id"]?.string, let correlation = document["correlation_id"]?.string {
                reason += " (trace id \(trace), correlation id \(correlation))"
            }
            return TokenSourceError(code, reason)
        }
        if let message = document["message"]?.string ?? document["Message"]?.string {
            return TokenSourceError("http_\(status)", message)
        }
        return TokenSourceError("http_\(status)", "the token endpoint answered HTTP \(status)")
    }
}
