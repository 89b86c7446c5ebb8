import IPSets

/// The configuration's named IP sets: loaded before serving, kept fresh on the loader's thread,
/// each load applied to the configuration in effect and handed to the workers.
extension ProxyServer {
    /// Starts loading the configuration's IP sets, refreshed on the loader's own thread. With
    /// `waitForFirstLoad` (at startup, before serving) every set that has nothing yet is loaded
    /// here first, each bounded by ``IPSetLoader/fetchTimeout``. Returns whether every set
    /// has loaded; one that has not fails closed until it does, and readiness names it.
    @discardableResult
    public func startIPSets(waitForFirstLoad: Bool = true) -> Bool {
        let (factory, existing) = state.withLock { ($0.factory, $0.ipSetLoader) }
        guard existing == nil, !factory.ipSetSources.isEmpty else { return factory.loadedIPSetNames.count == factory.ipSetSources.count }
        let loader = IPSetLoader(sources: factory.ipSetSources, holding: factory.loadedIPSetNames) { [weak self] source, report in
            self?.ipSetReported(source, report)
        }
        state.withLock { $0.ipSetLoader = loader }
        loader.start(waitForFirstLoad: waitForFirstLoad)
        let current = state.withLock { $0.factory }
        return current.loadedIPSetNames.count == current.ipSetSources.count
    }

    /// A load ended on the loader's thread (or at startup). Taken under the reload lock, so a
    /// set is applied to the configuration in effect and never lost to a reload that copied
    /// the sets a moment before; the recompiled rules go to every worker.
    private func ipSetReported(_ source: IPSetSource, _ report: IPSetLoader.Report) {
        reloading.withLock { _ in
            let factory = state.withLock { $0.factory }
            switch report {
            case .loaded(let set):
                if let policy = factory.ipSetLoaded(set, from: source) { publish(policy) }
            case .failed(let reason):
                factory.ipSetFailed(source, reason: reason)
            }
        }
    }
}
