/// The broker state that a future cluster must share across brokers — SCRAM credentials and
/// ACLs — behind one interface. A single broker backs it with its RocksDB database
/// (`RocksDBMetadataStore`); a cluster will back it with its shared store (etcd), whose watch
/// keeps each broker's view current.
///
/// Implementer's notes: reads are called on event loops (SASL exchanges, the authorizer), so they
/// must answer from memory without blocking; writes may block (call them off the event loops)
/// and are visible to reads on return. Every write bumps `aclVersion` when ACLs changed, which
/// is how caches of authorization decisions know to drop what they hold.
public protocol MetadataStore: Sendable {
    // MARK: SCRAM credentials (KIP-554)

    /// The credential of `user` for `mechanism`; nil when none.
    func scramCredential(user: String, mechanism: ScramMechanism) -> ScramCredential?
    /// Every user with at least one credential, and their credentials.
    func scramCredentials() -> [String: [ScramMechanism: ScramCredential]]
    /// Applies every change together (one write). Deleting a credential that does not exist is
    /// no error here: the caller checks first and answers RESOURCE_NOT_FOUND.
    func alterScramCredentials(_ changes: [ScramCredentialChange]) throws

    // MARK: ACLs

    /// Every ACL, in no particular order.
    func acls() -> [AclBinding]
    /// Changes whenever the ACLs change (a counter; caches compare it).
    var aclVersion: UInt64 { get }
    /// Adds ACLs; one that exists already is no error (CreateAcls is idempotent in Kafka).
    func createAcls(_ bindings: [AclBinding]) throws
    /// Removes exactly these ACLs (those absent are ignored).
    func deleteAcls(_ bindings: [AclBinding]) throws
}
