import Proxy
import TokenSources

/// The token sources as the egress side asks for them: a lookup that never waits.
struct ProviderTokens: OutboundTokens {
    let provider: TokenProvider

    func bearer(source: String, scope: String) -> OutboundToken {
        switch provider.current(source: source, scope: scope) {
        case .token(let token): .token(token)
        case .unavailable(let reason): .unavailable(reason)
        }
    }
}
