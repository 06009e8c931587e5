import ArgumentParser

/// `weir-bench`: the Swift half of `make bench` (bench/run.py drives it). Each subcommand
/// measures one thing and prints one JSON object per line on stdout.
///
///     storage   part 1, the storage limit: LogStore append + read, no network
///     network   part 2, the network limit: loopback TCP with NIO
///     produce   part 3, broker alone: pre-encoded Produce requests replayed, pipelined
///     fetch     part 3, broker alone: a topic read back with Fetch, batch headers only
///     prefill   part 6, scale: gigabytes written into a stopped broker's data directory
@main
struct WeirBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weir-bench",
        abstract: "Weir's benchmark parts: storage and network limits, broker-alone replay, prefill.",
        subcommands: [
            StorageCommand.self,
            NetworkCommand.self,
            ProduceReplayCommand.self,
            FetchReplayCommand.self,
            PrefillCommand.self,
            LayoutCommand.self,
        ]
    )
}
