/// One JAAS login-module entry as Kafka's `sasl.jaas.config` properties hold it:
/// `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin"
/// password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";`
public struct JaasConfig: Sendable, Equatable {
    public var loginModule: String
    public var flag: String
    public var options: [String: String]

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public static let plainLoginModule = "org.apache.kafka.common.security.plain.PlainLoginModule"
    public static let scramLoginModule = "org.apache.kafka.common.security.scram.ScramLoginModule"

    /// `user_<name>="<password>"` options: PLAIN's users.
    public var plainUsers: [String: String] {
        var users: [String: String] = [:]
        for (k, v) in options where k.hasPrefix("user_") && k.count > 5 {
            users[String(k.dropFirst(5))] = v
        }
        return users
    }

    /// Parses exactly one entry: module class, flag, `key=value` options (values quoted with `"`,
    /// `\"` and `\\` escaped, or bare words), and the closing `;`.
    public init(parsing text: String) throws {
        var s = Substring(text)
        func skipSpace() { while let c = s.first, c.isWhitespace { s = s.dropFirst() } }
        func word() -> String {
            skipSpace()
            let w = s.prefix { !$0.isWhitespace && $0 != "=" && $0 != ";" && $0 != "\"" }
            s = s.dropFirst(w.count)
            return String(w)
        }
        loginModule = word()
        flag = word()
        guard !loginModule.isEmpty, ["required", "requisite", "sufficient", "optional"].contains(flag) else {
            throw Invalid(description: "expected '<LoginModule class> required key=\"value\" …;', not '\(text.prefix(80))'")
        }
        options = [:]
        while true {
            skipSpace()
            if s.first == ";" {
                s = s.dropFirst()
                skipSpace()
                guard s.isEmpty else { throw Invalid(description: "text after the closing ';' (one login module only)") }
                return
            }
            let key = word()
            skipSpace()
            guard !key.isEmpty, s.first == "=" else {
                throw Invalid(description: s.isEmpty ? "missing the closing ';'" : "expected key=value near '\(s.prefix(20))'")
            }
            s = s.dropFirst()
            skipSpace()
            var value = ""
            if s.first == "\"" {
                s = s.dropFirst()
                var closed = false
                while let c = s.first {
                    s = s.dropFirst()
                    if c == "\\", let next = s.first {
                        value.append(next)
                        s = s.dropFirst()
                    } else if c == "\"" {
                        closed = true
                        break
                    } else {
                        value.append(c)
                    }
                }
                guard closed else { throw Invalid(description: "unterminated quoted value of \(key)") }
            } else {
                value = word()
            }
            options[key] = value
        }
    }
}
