import ArgumentParser
import Foundation
import WeirBroker
import WeirClient
import WeirStorage

/// `weir configs --entity-type users`: SCRAM credentials over AlterUserScramCredentials and
/// DescribeUserScramCredentials, with kafka-configs.sh's syntax and output.
extension ConfigsCommand {
    func runUsers() async throws {
        if alter {
            guard let user = entityName, !user.isEmpty else { throw DatabaseTool.usage(Self.command, "--alter needs --entity-name") }
            guard !addConfig.isEmpty || !deleteConfig.isEmpty else {
                throw DatabaseTool.usage(Self.command, "--alter needs --add-config or --delete-config")
            }
            let (addConfig, deleteConfig) = (self.addConfig, self.deleteConfig)
            try await CLI.run(bootstrap: bootstrapServer!, clientId: "weir-configs", commandConfig: commandConfig) { client in
                var upserts: [Admin.ScramUpsertion] = []
                for (key, value) in try addConfig.flatMap({ try Self.parseAddConfig($0) }) {
                    guard let mechanism = ScramMechanism(rawValue: key) else {
                        throw CLIError("Weir manages only SCRAM credentials of users (SCRAM-SHA-256, SCRAM-SHA-512), not '\(key)'")
                    }
                    upserts.append(try Self.upsertion(user: user, mechanism: mechanism, spec: value))
                }
                var deletes: [(user: String, mechanism: Int8)] = []
                for name in deleteConfig.flatMap({ $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }) where !name.isEmpty {
                    guard let mechanism = ScramMechanism(rawValue: name) else {
                        throw CLIError("Weir manages only SCRAM credentials of users (SCRAM-SHA-256, SCRAM-SHA-512), not '\(name)'")
                    }
                    deletes.append((user, mechanism.kafkaCode))
                }
                try await Admin(client: client).alterScramCredentials(upsert: upserts, delete: deletes)
                print("Completed updating config for user \(user).")
            }
            return
        }
        try await CLI.run(bootstrap: bootstrapServer!, clientId: "weir-configs", commandConfig: commandConfig) { client in
            let described = try await Admin(client: client).describeScramCredentials(entityName.map { [$0] })
            for (user, credentials) in described {
                let list = credentials.map { "\($0.mechanismName)=iterations=\($0.iterations)" }.joined(separator: ", ")
                print("SCRAM credential configs for user-principal '\(user)' are \(list)")
            }
        }
    }

    /// `iterations=8192,password=secret` (iterations default 4096): salted here, as kafka-configs.sh does.
    static func upsertion(user: String, mechanism: ScramMechanism, spec: String) throws -> Admin.ScramUpsertion {
        var password: String?
        var iterations: Int32 = ScramMechanism.minIterations
        for part in spec.split(separator: ",") {
            guard let eq = part.firstIndex(of: "=") else { throw CLIError("\(mechanism.rawValue) expects [iterations=N,password=P], got '\(spec)'") }
            let (k, v) = (String(part[..<eq]), String(part[part.index(after: eq)...]))
            switch k {
            case "password": password = v
            case "iterations":
                guard let n = Int32(v) else { throw CLIError("iterations must be an integer, not '\(v)'") }
                iterations = n
            default: throw CLIError("unknown SCRAM credential field '\(k)' (iterations, password)")
            }
        }
        guard let password, !password.isEmpty else { throw CLIError("\(mechanism.rawValue) needs password=…") }
        var random = SystemRandomNumberGenerator()
        let salt = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
        let salted = ScramFormatter(mechanism).saltedPassword(Array(password.utf8), salt: salt, iterations: iterations)
        return Admin.ScramUpsertion(user: user, mechanism: mechanism.kafkaCode, iterations: iterations, salt: salt, saltedPassword: salted)
    }
}
