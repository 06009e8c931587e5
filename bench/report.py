"""The one table of `make bench`: every figure beside its limit and the peer, with the ratios
Weir/limit and Weir/peer and the issue's target where there is one, built from the raw results
that bench/run.py collected. Printed as text and written as JSON (bench/results/latest.json)."""
import json

KINDS = [(100, "none"), (100, "lz4"), (1024, "none"), (1024, "lz4")]


def kind_name(size, codec):
    return f"{size}b-{codec}"


def _ratio(a, b):
    if a is None or b is None or not b:
        return None
    return round(a / b, 2)


class Row:
    def __init__(self, section, figure, unit, weir, limit=None, peer=None, target=None, check=None, note=""):
        self.section, self.figure, self.unit = section, figure, unit
        self.weir, self.limit, self.peer = weir, limit, peer
        self.target, self.note = target, note
        self.vs_limit, self.vs_peer = _ratio(weir, limit), _ratio(weir, peer)
        # check(row) -> True/False, or None when a figure is missing
        self.ok = None
        if check is not None:
            try:
                self.ok = check(self)
            except TypeError:
                self.ok = None

    def as_dict(self):
        return {k: getattr(self, k) for k in
                ("section", "figure", "unit", "weir", "limit", "vs_limit", "peer", "vs_peer", "target", "ok", "note")}


def _find(rows, **match):
    for r in rows:
        if all(r.get(k) == v for k, v in match.items()):
            return r
    return None


def _get(row, key):
    return None if row is None else row.get(key)


def _cpu_note(r):
    if not r:
        return ""
    parts = []
    if r.get("broker_cpu_s_per_MB") is not None:
        parts.append(f"broker {r['broker_cpu_s_per_MB'] * 1000:.1f} ms CPU/MB")
    if r.get("client_cpu_s_per_MB") is not None:
        parts.append(f"client {r['client_cpu_s_per_MB'] * 1000:.1f} ms CPU/MB")
    return ", ".join(parts)


def build_rows(res):
    """res: {"storage": [...], "network": [...], "replay": [...], "fetch": [...],
    "weir": [kbench rows], "peer": [kbench rows], "scale": [...], "prefill": {...}}"""
    rows = []
    # The six-partition runs are the limits; the 1,000-partition run measures write amplification.
    storage = {r["kind"]: r for r in res.get("storage", []) if r.get("partitions", 6) == 6}
    net = res.get("network", [])

    # 1 + 2: the limits themselves
    for size, codec in KINDS:
        s = storage.get(kind_name(size, codec))
        rows.append(Row("1 storage limit", f"write {size} B {codec}", "MB/s", _get(s, "write_MB_per_s")))
        rows.append(Row("1 storage limit", f"read {size} B {codec}", "MB/s", _get(s, "read_MB_per_s")))
    rows += _storage_rows(res.get("storage", []), storage)
    for n in net:
        rows.append(Row("2 network limit", f"loopback TCP, {n['message_bytes']} B messages", "MB/s", n.get("MB_per_s")))
    net_big = max((n.get("MB_per_s") or 0 for n in net), default=None) or None

    # 3: broker alone
    replay = res.get("replay", [])
    for size, codec in KINDS:
        k = kind_name(size, codec)
        s = storage.get(k)
        for acks in ("1", "all"):
            r = _find(replay, kind=k, acks=acks)
            target, check = (("≥ 0.7 × storage write", lambda row: row.vs_limit >= 0.7) if acks == "all" else (None, None))
            lat = (r or {}).get("latency_ms") or {}
            note = _cpu_note(r) + (f"; request p99 {lat.get('p99')} ms" if lat else "")
            rows.append(Row("3 broker alone", f"produce {size} B {codec} acks={acks}", "MB/s", _get(r, "MB_per_s"),
                            limit=_get(s, "write_MB_per_s"), target=target, check=check, note=note))
        f = _find(res.get("fetch", []), kind=k)
        rows.append(Row("3 broker alone", f"fetch {size} B {codec}", "MB/s", _get(f, "MB_per_s"),
                        limit=_get(s, "read_MB_per_s"), target="≥ 0.5 × storage read",
                        check=lambda row: row.vs_limit >= 0.5, note=_cpu_note(f)))
    best_wire = max((r.get("wire_MB_per_s") or 0 for r in replay), default=None) or None
    rows.append(Row("3 broker alone", "produce, best request bytes", "MB/s", best_wire, limit=net_big,
                    note="vs the loopback limit"))

    # 4 + 5: end to end, Weir and the peer
    weir, peer = res.get("weir", []), res.get("peer", [])
    for size, codec in KINDS:
        s = storage.get(kind_name(size, codec))
        for acks in ("1", "all"):
            w = _find(weir, scenario="produce", record_bytes=size, acks=acks, compression=codec)
            p = _find(peer, scenario="produce", record_bytes=size, acks=acks, compression=codec)
            target, check = None, None
            if acks == "all" and size == 1024:
                target, check = "≥ 1.0 × peer, ≥ 0.5 × storage", lambda row: row.vs_peer >= 1.0 and row.vs_limit >= 0.5
            elif acks == "all":
                target, check = "≥ 1.0 × peer", lambda row: row.vs_peer >= 1.0
            note = _cpu_note(w) + (f" (peer: {_cpu_note(p)})" if p else "")
            rows.append(Row("4/5 end to end", f"produce {size} B {codec} acks={acks}", "MB/s", _get(w, "MB_per_s"),
                            limit=_get(s, "write_MB_per_s"), peer=_get(p, "MB_per_s"), target=target, check=check,
                            note=note))
    for size, codec in KINDS:
        s = storage.get(kind_name(size, codec))
        for acks in ("1", "all"):
            how = f"acks={acks},compression={codec}"
            w = _find(weir, scenario="consume", record_bytes=size, produced_with=how)
            p = _find(peer, scenario="consume", record_bytes=size, produced_with=how)
            # The figure counts from the first record on: librdkafka starts fetching 0.5-1 s
            # after assign() whatever the broker (its offset-query timer), a constant that would
            # otherwise dominate a 0.5 s read. The total, start-up included, is in the note.
            note = _cpu_note(w)
            if w:
                note = (f"incl. start-up: {w.get('MB_per_s')} MB/s" + (f" (peer {p.get('MB_per_s')})" if p else "")
                        + "; " + note)
            if w and not w.get("ok"):
                note = "COUNT MISMATCH; " + note
            rows.append(Row("4/5 end to end", f"consume {size} B {codec} (acks={acks} topic)", "MB/s",
                            _get(w, "MB_per_s_after_first"), limit=_get(s, "read_MB_per_s"),
                            peer=_get(p, "MB_per_s_after_first"), target="≥ 2 × peer",
                            check=lambda row: row.vs_peer >= 2.0, note=note))
    wl = (_find(weir, scenario="latency") or {})
    pl = (_find(peer, scenario="latency") or {})
    for q in ("p50", "p99", "p99_9"):
        target, check = (("≤ 5 ms", lambda row: row.weir <= 5.0) if q == "p99" else (None, None))
        rows.append(Row("4/5 end to end", f"produce latency {q.replace('_', '.')} at "
                        f"{wl.get('target_rate', 20000)} rec/s, linger 0, acks=all", "ms",
                        (wl.get("latency_ms") or {}).get(q), peer=(pl.get("latency_ms") or {}).get(q),
                        target=target, check=check))
    rows.append(Row("4/5 end to end", "latency run: broker CPU", "s", wl.get("broker_cpu_s"), peer=pl.get("broker_cpu_s"),
                    note=f"{wl.get('seconds')} s at {wl.get('achieved_send_rate')} rec/s" if wl else ""))
    rows.append(Row("4/5 end to end", "broker peak RSS (whole run)", "MiB", _peak(weir), peer=_peak(peer)))
    rows.append(Row("4/5 end to end", "broker CPU (whole run)", "s", _sum(weir, "broker_cpu_s"), peer=_sum(peer, "broker_cpu_s")))
    rows.append(Row("4/5 end to end", "client CPU (whole run)", "s", _sum(weir, "client_cpu_s"), peer=_sum(peer, "client_cpu_s")))
    rows.append(Row("4/5 end to end", "broker CPU per produced MB (all produce runs)", "ms/MB",
                    _per_mb(weir, "broker_cpu_s"), peer=_per_mb(peer, "broker_cpu_s")))
    rows.append(Row("4/5 end to end", "client CPU per produced MB (all produce runs)", "ms/MB",
                    _per_mb(weir, "client_cpu_s"), peer=_per_mb(peer, "client_cpu_s")))

    # 6: scale
    scale = res.get("scale", [])
    base_p = _find(scale, part="produce-replay", partitions=6)
    base_f = _find(scale, part="fetch-replay", partitions=6)
    for n in sorted({r["partitions"] for r in scale if r.get("part") == "produce-replay" and not r.get("prefilled")}):
        pr = _find(scale, part="produce-replay", partitions=n)
        fr = _find(scale, part="fetch-replay", partitions=n)
        big = n >= 1000
        rows.append(Row("6 scale", f"produce {n} partitions, 1 KiB none, acks=all", "MB/s", _get(pr, "MB_per_s"),
                        limit=_get(base_p, "MB_per_s"), target="within 20% of 6 partitions" if big else None,
                        check=(lambda row: row.vs_limit >= 0.8) if big else None, note="limit = 6 partitions, same run"))
        rows.append(Row("6 scale", f"fetch {n} partitions", "MB/s", _get(fr, "MB_per_s"), limit=_get(base_f, "MB_per_s"),
                        target="within 20% of 6 partitions" if big else None,
                        check=(lambda row: row.vs_limit >= 0.8) if big else None))
        rows.append(Row("6 scale", f"broker peak RSS, produce to {n} partitions", "MiB", _get(pr, "step_peak_rss_mb"),
                        target="< 512 MiB" if big else None, check=(lambda row: row.weir < 512) if big else None,
                        note=f"RSS after: {_get(pr, 'step_rss_mb')} MiB"))
        rows.append(Row("6 scale", f"broker peak RSS, fetch from {n} partitions", "MiB", _get(fr, "step_peak_rss_mb"),
                        target="< 512 MiB" if big else None, check=(lambda row: row.weir < 512) if big else None,
                        note=f"RSS after: {_get(fr, 'step_rss_mb')} MiB"))
    pre = res.get("prefill") or {}
    pp = _find(scale, part="produce-replay", prefilled=True)
    pf = _find(scale, part="fetch-replay", prefilled=True)
    gb = round((pre.get("payload_bytes") or 0) / 1e9, 1)
    rows.append(Row("6 scale", f"produce into a {gb} GB database, 1 KiB none, acks=all", "MB/s", _get(pp, "MB_per_s"),
                    limit=_get(base_p, "MB_per_s"), note=f"limit = empty database; prefill at {pre.get('MB_per_s')} MB/s"))
    rows.append(Row("6 scale", f"fetch from the start of the {gb} GB topic", "MB/s", _get(pf, "MB_per_s"),
                    limit=_get(base_f, "MB_per_s"), note="cold data: SST files, not memtables"))
    rows += _idle_rows(res.get("idle") or {})
    rows += _stall_rows(res.get("stall") or {})
    rows += _kcat_rows(res.get("kcat") or [], storage)
    rows += _rebalance_rows(res.get("rebalance") or [])
    rows += _downconvert_rows(res.get("downconvert") or [])
    rows += _txn_rows(res.get("txn") or [])
    rows += _security_rows(res.get("security") or [])
    rows += _cluster_rows(res.get("cluster") or {}, weir)
    # A section without a single figure (its part was not run) is left out of the table.
    seen = {r.section for r in rows if r.weir is not None or r.peer is not None}
    return [r for r in rows if r.section in seen]


def _mb(v):
    return None if v is None else f"{v / 1e6:,.0f} MB"


def _storage_rows(runs, six):
    """What RocksDB did in the 1 KiB none storage runs, 6 and 1,000 partitions: write
    amplification (bytes RocksDB wrote to SST files by flushes and compactions / bytes appended;
    the WAL is not counted), flushes and write stalls."""
    rows = []
    base = six.get("1024b-none")
    wide = next((r for r in runs if r.get("kind") == "1024b-none" and r.get("partitions") == 1000), None)
    if wide:
        rows.append(Row("1 storage limit", "write 1024 B none, 1,000 partitions", "MB/s", wide.get("write_MB_per_s"),
                        limit=_get(base, "write_MB_per_s"), note="limit = 6 partitions, same run; "
                        f"{_mb(wide.get('payload_bytes'))} written"))
    others = ", ".join(f"{k.replace('b-', ' B ')} {r['write_amplification']}" for k, r in six.items()
                       if k != "1024b-none" and r.get("write_amplification") is not None)
    for n, r in ((6, base), (1000, wide)):
        if r is None and n == 1000:
            continue
        note = (f"limit = Kafka's (each byte written once); flushes wrote {_mb(_get(r, 'rocksdb_flush_write_bytes'))}, "
                f"{_get(r, 'rocksdb_compactions')} compactions wrote {_mb(_get(r, 'rocksdb_compaction_write_bytes'))}"
                if r else "")
        if n == 6 and others:
            note += f"; other kinds: {others}"
        rows.append(Row("1 storage limit", f"storage write amplification, {n:,} partitions, 1 KiB none", "×",
                        _get(r, "write_amplification"), limit=1.0, target="≤ 1.5",
                        check=lambda row: row.weir <= 1.5, note=note))
        rows.append(Row("1 storage limit", f"RocksDB flushes, {n:,} partitions", "count", _get(r, "rocksdb_flushes"),
                        note=f"{_get(r, 'sst_files')} SST files at the end ({_get(r, 'sst_files_after_write')} "
                             f"before the final flush, {_get(r, 'l0_files_after_write')} in L0)" if r else ""))
        rows.append(Row("1 storage limit", f"RocksDB write stalls, {n:,} partitions", "ms", _get(r, "rocksdb_stall_ms"),
                        note=f"over a {_get(r, 'write_seconds')} s write" if r else ""))
    return rows


def _idle_rows(idle):
    n = idle.get("partitions") or 10000
    note = ""
    if idle:
        note = (f"created in {idle.get('create_seconds')} s, idle {idle.get('idle_after_s')} s later; empty broker "
                f"{idle.get('rss_mb_empty')} MiB; peak {idle.get('peak_rss_mb')} MiB")
    rows = [Row("7 idle partitions", f"broker RSS with {n:,} idle partitions", "MiB", idle.get("rss_mb"),
                target="< 512 MiB", check=lambda row: row.weir < 512, note=note)]
    note = ""
    if idle:
        note = (f"listening {idle.get('restart_listen_s')} s after start, idle {idle.get('restart_idle_after_s')} s "
                f"later; peak {idle.get('restart_peak_rss_mb')} MiB")
    rows.append(Row("7 idle partitions", f"broker RSS after a restart on those {n:,} partitions", "MiB",
                    idle.get("restart_rss_mb"), target="< 512 MiB", check=lambda row: row.weir < 512, note=note))
    return rows


def _stall_rows(stall):
    quiet = (stall.get("quiet") or {})
    flooded = (stall.get("flooded") or {})
    q, f = quiet.get("latency_ms") or {}, flooded.get("latency_ms") or {}
    flood = stall.get("flood") or {}
    rate = flooded.get("target_rate") or quiet.get("target_rate") or 20000
    rows = [Row("8 stall", f"produce p99 at {rate:,} rec/s, quiet broker", "ms", q.get("p99"),
                target="≤ 3 ms", check=lambda row: row.weir <= 3.0,
                note=f"p99.9 {q.get('p99_9')} ms, max {q.get('max')} ms" if q else "")]
    note = "limit = quiet p99, same broker"
    if f:
        note += f"; p99.9 {f.get('p99_9')} ms, max {f.get('max')} ms; sent {flooded.get('achieved_send_rate')} rec/s"
    if flood:
        note += (f"; flood: {flood.get('MB_per_s')} MB/s acks=1 into {flood.get('partitions', 1000):,} partitions")
    if stall and not stall.get("flood_still_running", True):
        note += "; THE FLOOD ENDED FIRST"
    rows.append(Row("8 stall", f"produce p99 at {rate:,} rec/s while 1,000 partitions are flooded", "ms", f.get("p99"),
                    limit=q.get("p99"), target="≤ 3 ms", check=lambda row: row.weir <= 3.0, note=note))
    return rows


def _kcat_rows(runs, storage):
    rows = []
    for size in (100, 1024):
        w = _find(runs, broker="weir", record_bytes=size)
        p = _find(runs, broker="peer", record_bytes=size)
        note = ""
        if w:
            note = (f"from start {w.get('MB_per_s')} MB/s" + (f" (peer {p.get('MB_per_s')})" if p else "")
                    + f"; {w.get('records_read'):,} records; broker {w.get('broker_cpu_ms_per_MB')} ms CPU/MB"
                    + (f" (peer {p.get('broker_cpu_ms_per_MB')})" if p else ""))
            if not w.get("ok"):
                note = f"COUNT MISMATCH or exit {w.get('exit_status')}; " + note
        if p and not p.get("ok"):
            note += f"; peer: COUNT MISMATCH or exit {p.get('exit_status')}"
        peer_error = next((r["error"] for r in runs if r.get("broker") == "peer" and r.get("error")), None)
        if peer_error:
            note += f"; peer not measured: {peer_error.split(';')[0]} (see the problems)"
        rows.append(Row("9 C client (kcat)", f"kcat consume {size} B none (from the first record)", "MB/s",
                        _get(w, "MB_per_s_after_first"), limit=_get(storage.get(kind_name(size, "none")), "read_MB_per_s"),
                        peer=_get(p, "MB_per_s_after_first"), note=note))
        rows.append(Row("9 C client (kcat)", f"kcat CPU per MB, {size} B", "ms/MB", _get(w, "client_cpu_ms_per_MB"),
                        peer=_get(p, "client_cpu_ms_per_MB"),
                        note=f"kcat {w.get('client_cpu_s')} s CPU, max RSS {w.get('client_max_rss_mb')} MiB" if w else ""))
    return rows


def _downconvert_rows(runs):
    """Part 11: Fetch v3 (magic 1) and v1 (magic 0) beside v12 on the same topic, same broker."""
    rows = []
    for kind in dict.fromkeys(r.get("kind") for r in runs):
        by_version = {r.get("fetch_version"): r for r in runs if r.get("kind") == kind}
        modern = by_version.get(12)
        for version, magic in ((12, 2), (3, 1), (1, 0)):
            r = by_version.get(version)
            if r is None:
                continue
            what = "record batches as stored" if version == 12 else f"down-converted to magic {magic}"
            rows.append(Row("11 downconvert", f"fetch v{version} {kind}, {what}", "MB/s", _get(r, "MB_per_s"),
                            limit=None if version == 12 else _get(modern, "MB_per_s"),
                            note=("limit = fetch v12, same topic; " if version != 12 else "") + _cpu_note(r)))
    return rows


def _txn_rows(runs):
    """Part 12: transactional beside idempotent produce, read_committed beside read_uncommitted."""
    by = {r.get("scenario"): r for r in runs}
    rows = []
    for scenario, base, what in (("produce-idempotent", None, "produce, idempotent, 100 B"),
                                 ("produce-transactional", "produce-idempotent", "produce, transactional (commit / 1,000), 100 B"),
                                 ("consume-read_uncommitted", None, "consume read_uncommitted, 100 B"),
                                 ("consume-read_committed", "consume-read_uncommitted", "consume read_committed, 100 B")):
        r = by.get(scenario)
        if r is None:
            continue
        rows.append(Row("12 txn", what, "MB/s", _get(r, "MB_per_s"), limit=_get(by.get(base), "MB_per_s") if base else None,
                        note=(f"limit = {base}, same run; " if base else "") + _cpu_note(r)))
    return rows


def _security_rows(runs):
    """Part 13: TLS and SASL beside PLAINTEXT on the same broker; the ACL authorizer beside the
    same SASL listener without it."""
    rows = []

    def size_of(r):
        return r.get("record_bytes") or next((int(p[:-1]) for p in r.get("topic", "").split("-") if p.endswith("b") and p[:-1].isdigit()), None)

    for scenario in ("produce", "consume"):
        for size in sorted({size_of(r) for r in runs if r.get("scenario") == scenario} - {None}):
            by = {}
            for r in runs:  # the best round of each (several with `repeats`)
                if r.get("scenario") == scenario and size_of(r) == size and r.get("ok", True):
                    best = by.get(r.get("security"))
                    if best is None or (r.get("MB_per_s") or 0) > (best.get("MB_per_s") or 0):
                        by[r.get("security")] = r
            for label, base, what in (("plaintext", None, "PLAINTEXT"), ("ssl", "plaintext", "SSL (TLS 1.3)"),
                                      ("sasl", "plaintext", "SASL_PLAINTEXT (PLAIN)"),
                                      ("sasl+acl", "sasl", "SASL_PLAINTEXT + ACL authorizer")):
                r = by.get(label)
                if r is None:
                    continue
                rows.append(Row("13 security", f"{scenario} {size} B, acks=1, {what}", "MB/s", _get(r, "MB_per_s"),
                                limit=_get(by.get(base), "MB_per_s") if base else None,
                                note=(f"limit = {base.upper() if base == 'plaintext' else 'SASL_PLAINTEXT without authorizer'}; "
                                      if base else "") + _cpu_note(r)))
    return rows


def _ms_per_mb(r):
    v = _get(r, "broker_cpu_s_per_MB")
    return "-" if v is None else f"{v * 1000:.1f} ms"


def _cluster_rows(cluster, single):
    """Part 14: RF 3 beside RF 1 on the same three brokers (the target: ≥ 0.5 × RF 1 end to end),
    and RF 1 on the cluster beside part 4's single broker without etcd (RF 1 did not slow down)."""
    rf3, rf1 = cluster.get("rf3") or [], cluster.get("rf1") or []
    if not (rf3 or rf1):
        return []
    sec, rows = "14 cluster (3 brokers, etcd)", []
    one = "limit = part 4's single broker, same run" if single else "part e2e not run: no single-broker figure"
    for size in (100, 1024):
        match = dict(scenario="produce", record_bytes=size, acks="all", compression="none")
        r3, r1, s1 = _find(rf3, **match), _find(rf1, **match), _find(single, **match)
        rows.append(Row(sec, f"produce {size} B none acks=all, RF 3", "MB/s", _get(r3, "MB_per_s"),
                        limit=_get(r1, "MB_per_s"), target="≥ 0.5 × RF 1", check=lambda row: row.vs_limit >= 0.5,
                        note="limit = RF 1, same cluster; the brokers' CPU per MB " + _ms_per_mb(r3)
                        + f" (RF 1: {_ms_per_mb(r1)})"))
        rows.append(Row(sec, f"produce {size} B none acks=all, RF 1 on the cluster", "MB/s", _get(r1, "MB_per_s"),
                        limit=_get(s1, "MB_per_s"), note=one))
        how = dict(scenario="consume", record_bytes=size, produced_with="acks=all,compression=none")
        c3, c1 = _find(rf3, **how), _find(rf1, **how)
        rows.append(Row(sec, f"consume {size} B none, RF 3 topic (from the first record)", "MB/s",
                        _get(c3, "MB_per_s_after_first"), limit=_get(c1, "MB_per_s_after_first"),
                        note=("COUNT MISMATCH; " if c3 and not c3.get("ok") else "") + "limit = the RF 1 topic"))
    ls = _find(single, scenario="latency") or {}

    def lat(r):
        m = r.get("latency_ms") or {}
        return (f"p50 {m.get('p50')}, p99.9 {m.get('p99_9')}, max {m.get('max')} ms; sent {r.get('achieved_send_rate')}"
                f" rec/s" + ("" if r.get("ok") else "; NOT ALL ACKED (client timeout)")) if m else ""
    for rate in sorted({r.get("target_rate") for r in rf3 + rf1 if r.get("scenario") == "latency"} - {None}, reverse=True):
        l3 = _find(rf3, scenario="latency", target_rate=rate) or {}
        l1 = _find(rf1, scenario="latency", target_rate=rate) or {}
        rows.append(Row(sec, f"produce latency p99 at {rate:,} rec/s, linger 0, acks=all, RF 3", "ms",
                        (l3.get("latency_ms") or {}).get("p99"), limit=(l1.get("latency_ms") or {}).get("p99"),
                        note="limit = RF 1, same cluster (W/limit: how many times slower); " + lat(l3)))
        s1 = ls if ls.get("target_rate") == rate else {}
        rows.append(Row(sec, f"produce latency p99 at {rate:,} rec/s, RF 1 on the cluster", "ms",
                        (l1.get("latency_ms") or {}).get("p99"), limit=(s1.get("latency_ms") or {}).get("p99"),
                        note=("limit = part 4's single broker, same run; " if s1 else
                              "no single-broker figure at this rate (part latency); ") + lat(l1)))
    logs, at_stop = cluster.get("logs") or {}, cluster.get("logs_at_stop") or {}
    loud = sum(v.get("count", 0) for v in logs.values())
    rows.append(Row(sec, "broker log lines at warning or above, during the run", "count", loud if logs else None,
                    note="per broker: " + ", ".join(f"{n}: {v.get('count')}" for n, v in logs.items())
                         + f"; {sum(v.get('count', 0) for v in at_stop.values())} more while stopping; etcd CPU "
                         f"{cluster.get('etcd_cpu_s')} s over the part; settled {cluster.get('settle_s')} s after start"))
    return rows


def _rebalance_rows(runs):
    rows = []
    counts = sorted({r["consumers"] for r in runs if r.get("consumers")}) or [2, 8, 32]
    peer_note = next((r["note"] for r in runs if r.get("broker") == "peer" and r.get("note")
                      and not r.get("consumers")), "")
    for n in counts:
        w = _find(runs, broker="weir", consumers=n)
        p = _find(runs, broker="peer", consumers=n)
        notes = []
        for who, r in (("", w), ("peer: ", p)):
            if r and r.get("max_churn_seconds_to_stable") is not None:
                notes.append(f"{who}after churn {r['max_churn_seconds_to_stable']} s")
            if r and not r.get("ok"):
                notes.append(f"{who}NOT STABLE within the timeout" + (f" ({r['note']})" if r.get("note") else ""))
        if p is None and peer_note:
            notes.append(f"peer: {peer_note}")
        if n > 16:  # rebalance.py's balanced(): counts differ by at most one, so here none owns two
            notes.append("stable = every partition owned once, no consumer owning two")
        rows.append(Row("10 rebalance", f"group of {n} consumers on 16 partitions: seconds to stable", "s",
                        _get(w, "seconds_to_stable"), peer=_get(p, "seconds_to_stable"), note="; ".join(notes)))
    return rows


def _peak(runs):
    vals = [r.get("broker_peak_rss_mb") for r in runs if r.get("broker_peak_rss_mb") is not None]
    return max(vals) if vals else None


def _sum(runs, key):
    vals = [r.get(key) for r in runs if r.get(key) is not None]
    return round(sum(vals), 1) if vals else None


def _per_mb(runs, key):
    prod = [r for r in runs if r.get("scenario") == "produce" and r.get(key) is not None]
    mb = sum((r.get("delivered") or 0) * (r.get("record_bytes") or 0) for r in prod) / 1e6
    return round(sum(r[key] for r in prod) / mb * 1000, 2) if mb else None


def _fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def render(rows):
    head = ["figure", "unit", "Weir", "limit", "W/limit", "peer", "W/peer", "target", "ok", "notes"]
    table = [[r.figure, r.unit, _fmt(r.weir), _fmt(r.limit), _fmt(r.vs_limit), _fmt(r.peer), _fmt(r.vs_peer),
              r.target or "", {True: "yes", False: "NO", None: "" if r.target is None else "?"}[r.ok], r.note]
             for r in rows]
    widths = [max(len(h), *(len(t[i]) for t in table)) if table else len(h) for i, h in enumerate(head)]
    widths[-1] = len(head[-1])
    out, section = [], None

    def line(cells):
        return "  ".join(c.ljust(widths[i]) if i < len(cells) - 1 else c for i, c in enumerate(cells)).rstrip()

    out.append(line(head))
    for r, cells in zip(rows, table):
        if r.section != section:
            section = r.section
            out.append(f"-- {section} " + "-" * max(0, sum(widths[:-1]) + 2 * (len(widths) - 1) - len(section) - 4))
        out.append(line(cells))
    missed = [r for r in rows if r.ok is False]
    unknown = [r for r in rows if r.target and r.ok is None]
    out.append("")
    out.append(f"targets: {sum(1 for r in rows if r.ok)} met, {len(missed)} missed, {len(unknown)} not measured")
    for r in missed:
        out.append(f"  missed: {r.section}: {r.figure} ({r.target})")
    return "\n".join(out)


def write_json(path, meta, rows, raw):
    with open(path, "w") as f:
        json.dump({"meta": meta, "table": [r.as_dict() for r in rows], "raw": raw}, f, indent=1)


if __name__ == "__main__":
    # Re-renders a saved run: python3 bench/report.py [bench/results/latest.json]
    import sys
    with open(sys.argv[1] if len(sys.argv) > 1 else "bench/results/latest.json") as f:
        saved = json.load(f)
    print(render(build_rows(saved["raw"])))
