// placeholder until tools/codegen writes it
public enum ApiKey: Int16, Sendable { case produce = 0, fetch = 1, apiVersions = 18 }
