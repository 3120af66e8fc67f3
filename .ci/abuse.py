#!/usr/bin/env python3
"""Abuse clients for .ci/load.sh (Python 3 standard library only).

Each subcommand runs one check against a hwcost server, prints one line
`CHECK <name>: <figures> PASS|FAIL` (plus detail lines above it) and exits 0 on PASS, 1 on FAIL.

  methods  1000 requests with made-up HTTP methods must not add /metrics series nor grow RSS
  import   2-4 clients posting a GGUF header of 1,000,000 tensors while /healthz p99 stays low
  slow     hundreds of connections that send headers and one byte of body: 408 and closed by the
           body timeout, /healthz p99 low meanwhile
  drain    starts its own server with HWCOST_DRAIN_SECONDS, sends SIGTERM with slow bodies open:
           /readyz 503 and /healthz 200 during the drain, exit 0 within drain + a few seconds
  batches  16 or 32 clients looping 1000-item POST /v1/estimate/batch (~190 KB in, ~16 MB out):
           only 200 or 429 (admission), /healthz p99 low, RSS peak under 300 MiB
  stalled-imports  clients opening imports every 0.5 s and sending nothing while a 1 KB
           config.json import loops: every import 200, never 429
  sigterm  starts its own server (1 worker, drain 0 s), sends 12 requests at once (a batch first)
           then SIGTERM twice: all 12 answered 200, exit 0

/healthz latency is probed from a separate process (one new connection per probe, so the probes
spread over the server's workers the way real clients do) so that the abuse clients' work does
not show up in the figures.
"""

import argparse
import json
import math
import multiprocessing
import os
import signal
import socket
import struct
import subprocess
import sys
import time

HOST = "127.0.0.1"


# --- small helpers -------------------------------------------------------------------------------


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def pct(values, p):
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, math.ceil(p / 100.0 * len(s)) - 1)]


def verdict(ok):
    return "PASS" if ok else "FAIL"


def status_of(raw):
    """The status code of a raw HTTP/1.x response, or None."""
    try:
        line = raw.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ")
        if parts[0].startswith("HTTP/") and len(parts) >= 2:
            return int(parts[1])
    except (ValueError, IndexError):
        pass
    return None


def simple_request(port, method, path, timeout=5.0, body=b"", headers=""):
    """One request on a new connection (Connection: close); returns (status or None, raw bytes)."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}"
        if body:
            head += f"Content-Length: {len(body)}\r\n"
        s.sendall(head.encode("latin-1") + b"\r\n" + body)
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
    raw = b"".join(chunks)
    return status_of(raw), raw


def get_status(port, path, timeout=5.0):
    """GET path; status code, or a string naming the failure."""
    try:
        status, _ = simple_request(port, "GET", path, timeout=timeout)
        return status if status is not None else "no-status"
    except ConnectionRefusedError:
        return "refused"
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return type(e).__name__


def wait_ready(port, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if get_status(port, "/readyz", timeout=1.0) == 200:
            return True
        time.sleep(0.05)
    return False


# --- /healthz latency probe in its own process ---------------------------------------------------


def _probe_loop(port, interval, stop, conn):
    samples = []  # (latency ms, status or failure)
    while not stop.is_set():
        t0 = time.perf_counter()
        st = get_status(port, "/healthz", timeout=5.0)
        samples.append(((time.perf_counter() - t0) * 1000.0, st))
        rest = interval - (time.perf_counter() - t0)
        if rest > 0:
            time.sleep(rest)
    conn.send(samples)
    conn.close()


class HealthProbe:
    """GET /healthz every `interval` seconds from another process until stop()."""

    def __init__(self, port, interval=0.01):
        ctx = multiprocessing.get_context("fork")
        self._stop = ctx.Event()
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_probe_loop, args=(port, interval, self._stop, send), daemon=True)
        self._proc.start()
        send.close()

    def stop(self):
        self._stop.set()
        samples = self._recv.recv()
        self._proc.join()
        lat = [ms for ms, _ in samples]
        bad = [st for _, st in samples if st != 200]
        return {"n": len(samples), "p50": pct(lat, 50), "p90": pct(lat, 90), "p99": pct(lat, 99),
                "max": max(lat) if lat else float("nan"), "non200": len(bad), "bad": bad[:5]}


def fmt_probe(h):
    return (f"healthz n={h['n']} p50={h['p50']:.1f}ms p90={h['p90']:.1f}ms p99={h['p99']:.1f}ms "
            f"max={h['max']:.1f}ms non200={h['non200']}")


# --- 1. made-up methods ---------------------------------------------------------------------------


def cmd_methods(a):
    def burst(method, n):
        statuses = {}
        for i in range(n):
            req = method(i) + b" /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            try:
                with socket.create_connection((HOST, a.port), timeout=5) as s:
                    s.sendall(req)
                    raw = b""
                    while True:
                        d = s.recv(65536)
                        if not d:
                            break
                        raw += d
                st = status_of(raw) or "no-status"
            except OSError as e:
                st = type(e).__name__
            statuses[st] = statuses.get(st, 0) + 1
        return statuses

    # Warm the allocator and connection paths with the same number of ordinary requests first, so
    # that the RSS difference is the made-up methods' doing.
    # Both RSS samples are taken after a /metrics scrape, which renders every series.
    burst(lambda i: b"GET", a.count)
    simple_request(a.port, "GET", "/metrics", timeout=10)
    time.sleep(0.2)
    rss0 = rss_kib(a.pid)
    statuses = burst(lambda i: b"X%d" % i, a.count)
    _, raw = simple_request(a.port, "GET", "/metrics", timeout=10)
    time.sleep(0.2)
    rss1 = rss_kib(a.pid)
    series = sum(1 for line in raw.split(b"\n") if b'method="X' in line)
    growth = rss1 - rss0
    ok = series == 0 and growth <= a.max_growth_kib and "no-status" not in statuses
    print(f"  made-up method answers: {dict(sorted(statuses.items(), key=str))}")
    print(f"CHECK methods: requests={a.count} metrics_lines_method_X={series} "
          f"rss_before={rss0}KiB rss_after={rss1}KiB growth={growth}KiB (limit {a.max_growth_kib}KiB) "
          f"{verdict(ok)}")
    return ok


# --- 2. big GGUF imports --------------------------------------------------------------------------


def gguf_header(tensors):
    """A GGUF v3 header listing `tensors` one-dimensional F32 tensors (58 bytes each), no kv."""
    out = [b"GGUF", struct.pack("<IQQ", 3, tensors, 0)]
    per = struct.Struct("<Q26sIQIQ")  # name length, name, n_dims, dim, ggml type, offset
    for i in range(tensors):
        out.append(per.pack(26, b"blk.%08d.ffn_up.weight" % i, 1, 64, 0, i * 256))
    return b"".join(out)


def _import_client(port, body, stop, conn):
    results = []  # (status or failure, seconds)
    head = (f"POST /v1/models/import HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            with socket.create_connection((HOST, port), timeout=120) as s:
                try:
                    s.sendall(head)
                    s.sendall(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the server may answer (413, 503) before it has read the whole body
                raw = b""
                try:
                    while True:
                        d = s.recv(65536)
                        if not d:
                            break
                        raw += d
                except ConnectionResetError:
                    pass
            st = status_of(raw) or "no-answer"
        except OSError as e:
            st = type(e).__name__
        results.append((st, time.perf_counter() - t0))
    conn.send(results)
    conn.close()


def cmd_import(a):
    t0 = time.perf_counter()
    body = gguf_header(a.tensors)
    print(f"  GGUF header: {a.tensors} tensors, {len(body) / 1e6:.1f} MB, built in {time.perf_counter() - t0:.1f}s")
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    clients = []
    for _ in range(a.clients):
        r, w = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_import_client, args=(a.port, body, stop, w), daemon=True)
        p.start()
        w.close()
        clients.append((p, r))
    time.sleep(0.5)  # the uploads are under way
    probe = HealthProbe(a.port)
    time.sleep(a.seconds)
    h = probe.stop()
    stop.set()
    results = []
    for p, r in clients:
        if r.poll(a.client_grace):
            results.extend(r.recv())
        else:
            results.append(("unfinished", float("nan")))
        p.kill()
        p.join()
    statuses = {}
    for st, _ in results:
        statuses[st] = statuses.get(st, 0) + 1
    durations = [d for _, d in results if not math.isnan(d)]
    # Any answer is acceptable (200, or 413/422/429/503 from a limit); a 5xx other than 503, a
    # dropped connection or a request still unanswered after the grace time is not.
    bad = {st: n for st, n in statuses.items()
           if not (isinstance(st, int) and (st < 500 or st == 503))}
    ok = h["p99"] < a.p99_ms and h["non200"] == 0 and not bad
    print(f"  imports: {len(results)} answers {dict(sorted(statuses.items(), key=str))}, "
          f"p50 {pct(durations, 50):.2f}s max {max(durations) if durations else float('nan'):.2f}s each")
    print(f"CHECK import: clients={a.clients} imports={len(results)} unexpected={sum(bad.values())} "
          f"{fmt_probe(h)} (p99 limit {a.p99_ms:.0f}ms) {verdict(ok)}")
    return ok


# --- 3. slow bodies -------------------------------------------------------------------------------


def open_slow(port, n_length, n_chunked, path="/v1/estimate/inference"):
    """Opens connections that send a POST's headers and one byte of body, then stall."""
    socks = []
    for i in range(n_length + n_chunked):
        s = socket.create_connection((HOST, port), timeout=5)
        if i < n_length:
            head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    f"Content-Length: 100\r\n\r\n{{")
            kind = "length"
        else:
            head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    f"Transfer-Encoding: chunked\r\n\r\n1\r\n{{\r\n")
            kind = "chunked"
        s.sendall(head.encode())
        s.setblocking(False)
        socks.append({"sock": s, "kind": kind, "sent": time.monotonic(), "raw": b"", "closed": None})
    return socks


def watch_slow(socks, deadline):
    """Reads every connection until the server closes it or `deadline` (monotonic) passes."""
    import selectors
    sel = selectors.DefaultSelector()
    for c in socks:
        sel.register(c["sock"], selectors.EVENT_READ, c)
    open_n = len(socks)
    while open_n and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=max(0.0, min(0.2, deadline - time.monotonic()))):
            c = key.data
            try:
                d = c["sock"].recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                d = b""
            if d:
                c["raw"] += d
            else:
                c["closed"] = time.monotonic() - c["sent"]
                sel.unregister(c["sock"])
                open_n -= 1
    for c in socks:
        c["sock"].close()
    sel.close()


def slow_summary(socks):
    out = {}
    for kind in ("length", "chunked"):
        cs = [c for c in socks if c["kind"] == kind]
        if not cs:
            continue
        statuses = {}
        for c in cs:
            st = status_of(c["raw"]) if c["raw"] else "none"
            statuses[st] = statuses.get(st, 0) + 1
        closed = [c["closed"] for c in cs if c["closed"] is not None]
        out[kind] = {"n": len(cs), "statuses": statuses, "open": len(cs) - len(closed),
                     "closed_max": max(closed) if closed else float("nan")}
    return out


def cmd_slow(a):
    probe = HealthProbe(a.port)
    time.sleep(0.2)
    t0 = time.monotonic()
    socks = open_slow(a.port, a.conns, a.chunked)
    opened = time.monotonic() - t0
    limit = a.body_timeout + a.margin
    watch_slow(socks, time.monotonic() + limit)
    h = probe.stop()
    summ = slow_summary(socks)
    ok = h["p99"] < a.p99_ms and h["non200"] == 0
    parts = []
    for kind, s in summ.items():
        all408 = s["statuses"].get(408, 0) == s["n"]
        ok = ok and s["open"] == 0 and all408
        closed_max = f"{s['closed_max']:.2f}s" if s["n"] > s["open"] else "-"
        parts.append(f"{kind}: n={s['n']} 408={s['statuses'].get(408, 0)} still_open={s['open']} "
                     f"closed_max={closed_max}")
        print(f"  {kind} connections: answers {dict(sorted(s['statuses'].items(), key=str))}, "
              f"{s['n'] - s['open']} closed by the server within {limit:.0f}s")
    print(f"  opened {len(socks)} connections in {opened:.2f}s")
    print(f"CHECK slow-bodies: {'; '.join(parts)} (limit {limit:.0f}s = body timeout {a.body_timeout:.0f}s "
          f"+ {a.margin:.0f}s) {fmt_probe(h)} (p99 limit {a.p99_ms:.0f}ms) {verdict(ok)}")
    return ok


# --- 4. graceful drain ----------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def cmd_drain(a):
    port = free_port()
    env = dict(os.environ, HWCOST_LOG_FORMAT="json", RUST_LOG=os.environ.get("RUST_LOG", "warn"),
               HWCOST_DRAIN_SECONDS=str(a.drain), HWCOST_BODY_TIMEOUT_SECONDS=str(a.body_timeout))
    with open(a.log, "ab") as log:
        proc = subprocess.Popen([a.bin, "serve", "--addr", f"{HOST}:{port}"], env=env,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        if not wait_ready(port):
            print(f"CHECK drain: server on port {port} never became ready FAIL")
            return False
        socks = open_slow(port, a.slow, 0)
        time.sleep(0.2)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        deadline = t0 + a.drain + a.margin
        ready, health = [], []  # (seconds after SIGTERM, status)
        while proc.poll() is None and time.monotonic() < deadline:
            ready.append((time.monotonic() - t0, get_status(port, "/readyz", timeout=1.0)))
            health.append((time.monotonic() - t0, get_status(port, "/healthz", timeout=1.0)))
            time.sleep(0.05)
        try:
            code = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            exited = time.monotonic() - t0
        except subprocess.TimeoutExpired:
            code, exited = None, None
        for c in socks:
            c["sock"].close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    first503 = next((t for t, st in ready if st == 503), None)
    ready200_after = sum(1 for t, st in ready if st == 200 and first503 is not None and t > first503)
    # /healthz must answer 200 for as long as the drain lasts (until the listener closes).
    during = [st for t, st in health if t < a.drain - 0.1]
    health_bad = [st for st in during if st != 200]
    counts = {}
    for _, st in ready:
        counts[st] = counts.get(st, 0) + 1
    ok = (first503 is not None and first503 < 0.5 and ready200_after == 0 and during and not health_bad
          and code == 0)
    print(f"  /readyz after SIGTERM: {dict(sorted(counts.items(), key=str))}; /healthz during the drain: "
          f"{len(during) - len(health_bad)}/{len(during)} answered 200; {a.slow} slow bodies open")
    exit_s = f"{exited:.2f}s" if exited is not None else f"not within {a.drain + a.margin:.0f}s (killed)"
    first = f"{first503:.2f}s" if first503 is not None else "never"
    print(f"CHECK drain: drain={a.drain}s readyz_first_503={first} readyz_200_after_503={ready200_after} "
          f"healthz_200_during_drain={len(during) - len(health_bad)}/{len(during)} exit_code={code} "
          f"exit_after={exit_s} (limit {a.drain + a.margin:.0f}s) {verdict(ok)}")
    return ok


# --- 5. batches -----------------------------------------------------------------------------------


def batch_body(items):
    item = ('{"inference": {"model": "llama-3.1-70b", "hardware": "nvidia-h100-sxm-80gb", "devices": 4, '
            '"weights": "fp8", "batch_size": 32, "input_tokens": 2048, "output_tokens": 256}}')
    return ('{"items": [' + ",".join([item] * items) + "]}").encode()


def _post_loop(port, path, content_type, body, stop, conn, pause=0.0):
    results = []  # (status or failure, seconds, bytes)
    head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    while not stop.is_set():
        t0 = time.perf_counter()
        n = 0
        try:
            with socket.create_connection((HOST, port), timeout=60) as s:
                first = b""
                try:
                    s.sendall(head + body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # refused (429) before the body was read: the answer is still there
                try:
                    while True:
                        d = s.recv(1 << 20)
                        if not d:
                            break
                        if len(first) < 64:
                            first += d[:64]
                        n += len(d)
                except ConnectionResetError:
                    pass  # closed with the unread body: what arrived before counts
            st = status_of(first) or "no-answer"
        except OSError as e:
            st = type(e).__name__
        results.append((st, time.perf_counter() - t0, n))
        if pause:
            time.sleep(pause)
    conn.send(results)
    conn.close()


def _clients(n, target, args):
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    procs = []
    for _ in range(n):
        r, w = ctx.Pipe(duplex=False)
        p = ctx.Process(target=target, args=(*args, stop, w), daemon=True)
        p.start()
        w.close()
        procs.append((p, r))
    return stop, procs


def _collect(stop, procs, grace):
    stop.set()
    results = []
    for p, r in procs:
        if r.poll(grace):
            results.extend(r.recv())
        else:
            results.append(("unfinished", float("nan"), 0))
        p.kill()
        p.join()
    return results


def cmd_batches(a):
    """`clients` loops posting a batch of `items` items for `seconds`: every answer a 200 or a 429
    (admission), /healthz p99 under the limit, RSS peak under the limit."""
    body = batch_body(a.items)
    rss0 = rss_kib(a.pid)
    stop, procs = _clients(a.clients, _post_loop, (a.port, "/v1/estimate/batch", "application/json", body))
    probe = HealthProbe(a.port)
    peak = rss0
    t_end = time.monotonic() + a.seconds
    while time.monotonic() < t_end:
        peak = max(peak, rss_kib(a.pid))
        time.sleep(0.05)
    h = probe.stop()
    results = _collect(stop, procs, 60)
    peak = max(peak, rss_kib(a.pid))
    statuses = {}
    for st, _, _ in results:
        statuses[st] = statuses.get(st, 0) + 1
    bad = {st: n for st, n in statuses.items() if st not in (200, 429)}
    sizes = [n for st, _, n in results if st == 200]
    ok = h["p99"] < a.p99_ms and h["non200"] == 0 and not bad and statuses.get(200, 0) > 0 \
        and peak < a.max_rss_mib * 1024
    print(f"  batches: {len(body) / 1e3:.0f} KB bodies, answers {dict(sorted(statuses.items(), key=str))}, "
          f"200s of {pct(sizes, 50) / 1e6 if sizes else 0:.1f} MB")
    print(f"CHECK batches-{a.clients}: clients={a.clients} items={a.items} unexpected={sum(bad.values())} "
          f"rss_start={rss0 / 1024:.0f}MiB rss_peak={peak / 1024:.0f}MiB (limit {a.max_rss_mib}MiB) "
          f"{fmt_probe(h)} (p99 limit {a.p99_ms:.0f}ms) {verdict(ok)}")
    return ok


# --- 6. stalled imports ---------------------------------------------------------------------------


def _stall_loop(port, every, stop, conn):
    """Opens an import every `every` seconds and sends its headers only."""
    socks = []
    while not stop.is_set():
        try:
            s = socket.create_connection((HOST, port), timeout=5)
            s.sendall(b"POST /v1/models/import HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 1000\r\n\r\n")
            socks.append(s)
        except OSError:
            pass
        stop.wait(every)
    for s in socks:
        s.close()
    conn.send([])
    conn.close()


def cmd_stalled_imports(a):
    """Stalling clients open imports and send nothing while one client imports a 1 KB config.json
    in a loop: every import a 200 (never 429), /healthz p99 under the limit."""
    config = (b'{"model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32, '
              b'"num_key_value_heads": 8, "intermediate_size": 14336, "vocab_size": 128256, '
              b'"max_position_embeddings": 8192}')
    stall_stop, stallers = _clients(a.stallers, _stall_loop, (a.port, a.every))
    time.sleep(1.0)
    stop, procs = _clients(1, _post_loop, (a.port, "/v1/models/import", "application/json", config))
    probe = HealthProbe(a.port)
    time.sleep(a.seconds)
    h = probe.stop()
    results = _collect(stop, procs, 20)
    _collect(stall_stop, stallers, 10)
    statuses = {}
    for st, _, _ in results:
        statuses[st] = statuses.get(st, 0) + 1
    slowest = max((d for _, d, _ in results if not math.isnan(d)), default=float("nan"))
    ok = set(statuses) == {200} and h["p99"] < a.p99_ms and h["non200"] == 0
    print(f"CHECK stalled-imports: stallers={a.stallers} every={a.every}s imports={len(results)} "
          f"answers={dict(sorted(statuses.items(), key=str))} slowest={slowest:.2f}s {fmt_probe(h)} "
          f"(p99 limit {a.p99_ms:.0f}ms) {verdict(ok)}")
    return ok


# --- 7. SIGTERM with requests queued --------------------------------------------------------------


def cmd_sigterm(a):
    """A server with one worker and no drain gets `requests` requests at once (a batch first, to
    keep it busy), then SIGTERM twice: every request answered 200, exit 0."""
    port = free_port()
    env = dict(os.environ, HWCOST_LOG_FORMAT="json", RUST_LOG=os.environ.get("RUST_LOG", "warn"),
               HWCOST_DRAIN_SECONDS="0", HWCOST_WORKERS="1")
    with open(a.log, "ab") as log:
        proc = subprocess.Popen([a.bin, "serve", "--addr", f"{HOST}:{port}"], env=env,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    estimate = (b'{"model": "llama-3.1-70b", "hardware": "nvidia-h100-sxm-80gb", "devices": 4, '
                b'"batch_size": 32, "input_tokens": 2048, "output_tokens": 256}')
    try:
        if not wait_ready(port):
            print(f"CHECK sigterm: server on port {port} never became ready FAIL")
            return False
        socks = []
        for i in range(a.requests):
            path, body = ("/v1/estimate/batch", batch_body(1000)) if i == 0 else ("/v1/estimate/inference", estimate)
            s = socket.create_connection((HOST, port), timeout=30)
            s.sendall((f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                       f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
            socks.append(s)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        statuses = []
        for s in socks:
            first = b""
            try:
                while True:
                    d = s.recv(1 << 20)
                    if not d:
                        break
                    if len(first) < 64:
                        first += d[:64]
                st = status_of(first) or "reset-or-empty"
            except OSError as e:
                st = type(e).__name__
            statuses.append(st)
            s.close()
        try:
            code = proc.wait(timeout=a.margin)
        except subprocess.TimeoutExpired:
            code = None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    answered = sum(1 for st in statuses if st == 200)
    ok = answered == a.requests and code == 0
    print(f"CHECK sigterm: requests={a.requests} answered_200={answered} statuses={statuses} "
          f"exit_code={code} (two SIGTERMs, drain 0 s, 1 worker) {verdict(ok)}")
    return ok


# --- heavy checks and concurrent plans --------------------------------------------------------------


CHECK_WITH_PERCENTILES = (
    b'{"inference": {"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "weights": "fp8", '
    b'"batch_size": 64, "input_tokens": 1000, "output_tokens": 200, "engine": "vllm"}, '
    b'"requirements": {"max_ttft_p99_ms": 2000, "max_tpot_p90_ms": 50, "forecast_requests_per_s": 5}}')


def cmd_checks(a):
    """`clients` loop `POST /v1/check` with percentile rules (a capacity search and a replay each)
    for `seconds`: every answer a 200 or a 503 (admission), /healthz p99 under the limit."""
    stop, procs = _clients(a.clients, _post_loop, (a.port, "/v1/check", "application/json", CHECK_WITH_PERCENTILES))
    probe = HealthProbe(a.port)
    time.sleep(a.seconds)
    h = probe.stop()
    results = _collect(stop, procs, 60)
    statuses = {}
    for st, _, _ in results:
        statuses[st] = statuses.get(st, 0) + 1
    bad = {st: n for st, n in statuses.items() if st not in (200, 503)}
    ok = h["p99"] < a.p99_ms and h["non200"] == 0 and not bad and statuses.get(200, 0) > 0
    print(f"CHECK heavy-checks: clients={a.clients} answers={dict(sorted(statuses.items(), key=str))} "
          f"{fmt_probe(h)} (p99 limit {a.p99_ms:.0f}ms) {verdict(ok)}")
    return ok


PLAN = (b'{"models": ["llama-3.1-70b"], "objective": "usd_per_million_output_tokens", "limit": 5, '
        b'"workload": {"input_tokens": 1000, "output_tokens": 200, "requests_per_s": 10}, '
        b'"requirements": {"max_ttft_ms": 2000, "max_tpot_ms": 50}, '
        b'"search": {"weights": ["bf16", "fp8", "int8", "int4"], "engines": ["vllm"]}}')


def _one_plan(port, conn):
    head = (f"POST /v1/plan HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(PLAN)}\r\n\r\n").encode()
    data = b""
    try:
        with socket.create_connection((HOST, port), timeout=120) as s:
            s.sendall(head + PLAN)
            while True:
                d = s.recv(1 << 20)
                if not d:
                    break
                data += d
    except OSError as e:
        conn.send((type(e).__name__, None))
        conn.close()
        return
    status = status_of(data[:64]) or "no-answer"
    body = data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
    try:
        doc = json.loads(body)
        doc.pop("elapsed_ms", None)
        conn.send((status, json.dumps(doc, sort_keys=True)))
    except ValueError:
        conn.send((status, None))
    conn.close()


def cmd_plans(a):
    """`copies` copies of the same plan at once: every one a 200 with the same answer (elapsed time
    aside) and a complete search, /healthz p99 under the limit meanwhile."""
    ctx = multiprocessing.get_context("fork")
    probe = HealthProbe(a.port)
    procs = []
    for _ in range(a.copies):
        r, w = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_one_plan, args=(a.port, w), daemon=True)
        p.start()
        w.close()
        procs.append((p, r))
    answers = []
    for p, r in procs:
        answers.append(r.recv() if r.poll(180) else ("unfinished", None))
        p.join()
    h = probe.stop()
    statuses = [st for st, _ in answers]
    bodies = {body for _, body in answers}
    complete = all(body is not None and json.loads(body).get("complete") is True for _, body in answers)
    ok = statuses == [200] * a.copies and len(bodies) == 1 and complete and h["p99"] < a.p99_ms and h["non200"] == 0
    print(f"CHECK plans: copies={a.copies} statuses={statuses} distinct_answers={len(bodies)} complete={complete} "
          f"{fmt_probe(h)} (p99 limit {a.p99_ms:.0f}ms) {verdict(ok)}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("methods")
    m.add_argument("--port", type=int, required=True)
    m.add_argument("--pid", type=int, required=True)
    m.add_argument("--count", type=int, default=5000)
    m.add_argument("--max-growth-kib", type=int, default=1024)
    i = sub.add_parser("import")
    i.add_argument("--port", type=int, required=True)
    i.add_argument("--clients", type=int, default=3)
    i.add_argument("--tensors", type=int, default=1_000_000)
    i.add_argument("--seconds", type=float, default=10.0)
    i.add_argument("--client-grace", type=float, default=20.0)
    i.add_argument("--p99-ms", type=float, default=50.0)
    s = sub.add_parser("slow")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--conns", type=int, default=200)
    s.add_argument("--chunked", type=int, default=20)
    s.add_argument("--body-timeout", type=float, default=2.0)
    s.add_argument("--margin", type=float, default=2.0)
    s.add_argument("--p99-ms", type=float, default=50.0)
    d = sub.add_parser("drain")
    d.add_argument("--bin", required=True)
    d.add_argument("--log", required=True)
    d.add_argument("--drain", type=float, default=2.0)
    d.add_argument("--body-timeout", type=int, default=2)
    d.add_argument("--slow", type=int, default=20)
    d.add_argument("--margin", type=float, default=4.0)
    b = sub.add_parser("batches")
    b.add_argument("--port", type=int, required=True)
    b.add_argument("--pid", type=int, required=True)
    b.add_argument("--clients", type=int, default=16)
    b.add_argument("--items", type=int, default=1000)
    b.add_argument("--seconds", type=float, default=10.0)
    b.add_argument("--max-rss-mib", type=int, default=300)
    b.add_argument("--p99-ms", type=float, default=50.0)
    t = sub.add_parser("stalled-imports")
    t.add_argument("--port", type=int, required=True)
    t.add_argument("--stallers", type=int, default=4)
    t.add_argument("--every", type=float, default=0.5)
    t.add_argument("--seconds", type=float, default=8.0)
    t.add_argument("--p99-ms", type=float, default=50.0)
    c = sub.add_parser("checks")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--clients", type=int, default=4)
    c.add_argument("--seconds", type=float, default=10.0)
    c.add_argument("--p99-ms", type=float, default=50.0)
    p = sub.add_parser("plans")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--copies", type=int, default=8)
    p.add_argument("--p99-ms", type=float, default=50.0)
    g = sub.add_parser("sigterm")
    g.add_argument("--bin", required=True)
    g.add_argument("--log", required=True)
    g.add_argument("--requests", type=int, default=12)
    g.add_argument("--margin", type=float, default=20.0)
    a = ap.parse_args()
    if a.cmd == "drain" and a.drain != int(a.drain):
        ap.error("--drain takes whole seconds")
    if a.cmd == "drain":
        a.drain = int(a.drain)
    ok = {"methods": cmd_methods, "import": cmd_import, "slow": cmd_slow, "drain": cmd_drain,
          "batches": cmd_batches, "stalled-imports": cmd_stalled_imports, "sigterm": cmd_sigterm,
          "checks": cmd_checks, "plans": cmd_plans}[a.cmd](a)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
