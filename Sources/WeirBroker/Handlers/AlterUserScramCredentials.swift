import KafkaProtocol
import WeirStorage

/// AlterUserScramCredentials (51, KIP-554): upserts and deletes SCRAM credentials. The client
/// sends the salted password (never the password); the broker derives and keeps StoredKey and
/// ServerKey. Each user's changes apply together or not at all, as in Kafka; every user gets a
/// result, in the order the request first names them.
struct AlterUserScramCredentialsHandler: ApiHandler {
    typealias Request = AlterUserScramCredentialsRequest
    let credentials: any MetadataStore
    let io: IOPool
    /// Alter on the cluster (CLUSTER_AUTHORIZATION_FAILED for every user).
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...0 }

    func handle(_ request: AlterUserScramCredentialsRequest, context: RequestContext) async throws -> AlterUserScramCredentialsResponse? {
        guard authorizer.authorize(context, .alter, .cluster, AclResource.clusterName) else {
            var denied = AlterUserScramCredentialsResponse()
            var users: [String] = []
            for name in request.deletions.map(\.name) + request.upsertions.map(\.name) where !users.contains(name) { users.append(name) }
            denied.results = users.map { .init(user: $0, errorCode: ErrorCode.clusterAuthorizationFailed.rawValue, errorMessage: nil) }
            return denied
        }
        var order: [String] = []
        var errors: [String: (ErrorCode, String)] = [:]
        var changes: [String: [ScramCredentialChange]] = [:]
        var seen = Set<String>()
        func fail(_ user: String, _ code: ErrorCode, _ message: String) {
            if errors[user] == nil { errors[user] = (code, message) }
        }
        func note(_ user: String, _ mechanismCode: Int8) -> ScramMechanism? {
            if !order.contains(user) { order.append(user) }
            guard !user.isEmpty else {
                fail(user, .unacceptableCredential, "Username must not be empty")
                return nil
            }
            guard let mechanism = ScramMechanism(kafkaCode: mechanismCode) else {
                fail(user, .unsupportedSaslMechanism, "Unknown SCRAM mechanism")
                return nil
            }
            guard seen.insert("\(mechanism.rawValue)/\(user)").inserted else {
                fail(user, .duplicateResource, "A user credential cannot be altered twice in the same request")
                return nil
            }
            return mechanism
        }
        for d in request.deletions {
            guard let mechanism = note(d.name, d.mechanism) else { continue }
            guard credentials.scramCredential(user: d.name, mechanism: mechanism) != nil else {
                fail(d.name, .resourceNotFound, "Attempt to delete a user credential that does not exist")
                continue
            }
            changes[d.name, default: []].append(.delete(user: d.name, mechanism: mechanism))
        }
        for u in request.upsertions {
            guard let mechanism = note(u.name, u.mechanism) else { continue }
            guard u.iterations >= ScramMechanism.minIterations else {
                fail(u.name, .unacceptableCredential, "Too few iterations")
                continue
            }
            guard u.iterations <= ScramMechanism.maxIterations else {
                fail(u.name, .unacceptableCredential, "Too many iterations")
                continue
            }
            let salt = u.salt.getBytes(at: u.salt.readerIndex, length: u.salt.readableBytes) ?? []
            let salted = u.saltedPassword.getBytes(at: u.saltedPassword.readerIndex, length: u.saltedPassword.readableBytes) ?? []
            guard !salt.isEmpty, !salted.isEmpty else {
                fail(u.name, .unacceptableCredential, "Credential must have a salt and a salted password")
                continue
            }
            let credential = ScramFormatter(mechanism).credential(saltedPassword: salted, salt: salt, iterations: u.iterations)
            changes[u.name, default: []].append(.upsert(user: u.name, mechanism: mechanism, credential: credential))
        }
        let accepted = order.filter { errors[$0] == nil }.flatMap { changes[$0] ?? [] }
        if !accepted.isEmpty {
            let credentials = self.credentials
            try await io.run { try credentials.alterScramCredentials(accepted) }
        }
        var response = AlterUserScramCredentialsResponse()
        response.results = order.map { user in
            let error = errors[user]
            return .init(user: user, errorCode: error?.0.rawValue ?? 0, errorMessage: error?.1)
        }
        return response
    }
}

/// DescribeUserScramCredentials (50, KIP-554): which mechanisms each user has, with their
/// iteration counts (never salts or keys). No users named (null or empty) means every user.
struct DescribeUserScramCredentialsHandler: ApiHandler {
    typealias Request = DescribeUserScramCredentialsRequest
    let credentials: any MetadataStore
    /// Describe on the cluster (CLUSTER_AUTHORIZATION_FAILED).
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...0 }

    func handleImmediately(_ request: DescribeUserScramCredentialsRequest,
                           context: RequestContext) -> Immediate<DescribeUserScramCredentialsResponse> {
        .now(describe(request, context: context))
    }

    func handle(_ request: DescribeUserScramCredentialsRequest, context: RequestContext) async throws -> DescribeUserScramCredentialsResponse? {
        describe(request, context: context)
    }

    private func describe(_ request: DescribeUserScramCredentialsRequest, context: RequestContext) -> DescribeUserScramCredentialsResponse {
        guard authorizer.authorize(context, .describe, .cluster, AclResource.clusterName) else {
            var denied = DescribeUserScramCredentialsResponse()
            denied.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
            return denied
        }
        let all = credentials.scramCredentials()
        func info(_ user: String) -> [DescribeUserScramCredentialsResponse.CredentialInfo] {
            (all[user] ?? [:]).sorted { $0.key.kafkaCode < $1.key.kafkaCode }.map {
                .init(mechanism: $0.key.kafkaCode, iterations: $0.value.iterations)
            }
        }
        var response = DescribeUserScramCredentialsResponse()
        guard let users = request.users?.map(\.name), !users.isEmpty else {
            response.results = all.keys.sorted().map { .init(user: $0, errorCode: 0, errorMessage: nil, credentialInfos: info($0)) }
            return response
        }
        var counts: [String: Int] = [:]
        for u in users { counts[u, default: 0] += 1 }
        var answered = Set<String>()
        for user in users where answered.insert(user).inserted {
            if counts[user, default: 0] > 1 {
                response.results.append(.init(user: user, errorCode: ErrorCode.duplicateResource.rawValue,
                                              errorMessage: "Cannot describe SCRAM credentials for the same user twice in a single request"))
            } else if all[user] == nil {
                response.results.append(.init(user: user, errorCode: ErrorCode.resourceNotFound.rawValue,
                                              errorMessage: "Attempt to describe a user credential that does not exist: \(user)"))
            } else {
                response.results.append(.init(user: user, errorCode: 0, errorMessage: nil, credentialInfos: info(user)))
            }
        }
        return response
    }
}
