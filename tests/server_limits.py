#!/usr/bin/python3
"""Attacks on `goldroot serve` from one machine on the lab network, and a
victim that keeps booting meanwhile. Used by tests/server_limits_root.sh and
bench/server_flood_bench.sh; stdlib only.

Every attacker binds its sockets to its own loopback address (127.0.0.2,
127.0.0.3: the whole 127/8 is local on Linux), so the server sees one client
address per attacker and the victim (127.0.0.1) apart from them.

  victim HOST PORT PATH SECONDS [--source ADDRESS]
      GETs PATH over a new connection each time (as iPXE does) for SECONDS;
      prints JSON: requests, answered (200), failures, per_second,
      p50_ms, max_ms.
  idle-flood HOST PORT VICTIM_PATH [--connections N] [--source ADDRESS]
             [--victim-seconds S] [--limit L] [--expect-head-timeout]
      Opens N connections from ADDRESS that send nothing while a victim
      runs; prints the figures and JSON; with --limit, fails when the server
      held more than L at once or the victim lost a request.
  hold HOST PORT [--connections N] [--source ADDRESS] [--seconds S]
      Opens N idle connections, prints "ready N", holds them S seconds,
      then prints JSON with how many the server held (at 1 s, at the end).
  slow-layers HOST PORT LAYER_PATH VICTIM_PATH --server-pid PID
              --cache-dir DIR [--connections N] [--source ADDRESS] [--key PEM]
      N connections from ADDRESS request LAYER_PATH with a tiny receive
      buffer and never read the body; checks the victim and that all N are
      sent from one cache file.
  bodies HOST PORT
      Bodies the server must refuse before reading them.

Failures raise SystemExit with one line saying what broke.
"""

import argparse
import errno
import json
import os
import resource
import select
import socket
import statistics
import subprocess
import sys
import time

def check(condition, message):
    if not condition:
        raise SystemExit("FAIL: " + message)


def raise_file_limit(wanted):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(wanted, hard), max(wanted, hard)))
    except (ValueError, OSError):  # not root: as far as the hard limit goes
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    check(soft >= wanted, f"RLIMIT_NOFILE is {soft}; {wanted} connections need more (run as root)")


class SourcePorts:
    """Explicit source ports for a flood from one address. Letting the
    kernel pick (bind to port 0, or IP_BIND_ADDRESS_NO_PORT) scans its
    ephemeral range on every connect: 17,000 connections then take seconds
    of system time, longer than the server's 5 s head deadline."""

    def __init__(self):
        self.next = 1024 + (os.getpid() * 7919) % 64000

    def bind(self, sock, source):
        for _ in range(64512):
            port = self.next
            self.next = 1024 if self.next >= 65535 else self.next + 1
            try:
                sock.bind((source, port))
                return
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
        raise SystemExit(f"FAIL: no free source port on {source}")


def client_socket(source, receive_buffer=None, ports=None):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer:  # before connect: it sets the window scale
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    if source and ports:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ports.bind(sock, source)
    elif source:
        sock.bind((source, 0))
    return sock


def read_response(sock):
    """Status, headers (lower-cased names) and body of one response that
    ends at the close of the connection or after Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} bytes of head")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "-1"))
    while length < 0 or len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def get(host, port, path, source=None, timeout=5.0):
    sock = client_socket(source)
    sock.settimeout(timeout)
    try:
        sock.connect((host, port))
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        return read_response(sock)
    finally:
        sock.close()


def percentile(values, fraction):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# --- the victim -------------------------------------------------------------

def run_victim(host, port, path, seconds, source=None, timeout=5.0):
    latencies, failures = [], []
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        began = time.monotonic()
        try:
            status, _, body = get(host, port, path, source, timeout)
            took = (time.monotonic() - began) * 1000
            if status == 200 and body:
                latencies.append(took)
            else:
                failures.append(f"status {status} after {took:.0f} ms")
        except OSError as error:
            failures.append(f"{type(error).__name__}: {error} after {(time.monotonic() - began) * 1000:.0f} ms")
    elapsed = time.monotonic() - start
    return {
        "requests": len(latencies) + len(failures),
        "answered": len(latencies),
        "failures": failures[:5],
        "failure_count": len(failures),
        "per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 2) if latencies else None,
        "max_ms": round(max(latencies), 2) if latencies else None,
    }


def start_victim(host, port, path, seconds):
    """The victim in its own process: the attacker's loops must not hold
    its GIL, and its figures are the server's, not Python's."""
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), "victim", host, str(port),
                             path, str(seconds)], stdout=subprocess.PIPE, text=True)


def finish_victim(process):
    out, _ = process.communicate(timeout=120)
    check(process.returncode == 0, f"the victim process failed: {out}")
    return json.loads(out)


def check_victim(result, during):
    check(result["answered"] > 0, f"the victim got no answer {during}: {result['failures']}")
    check(result["failure_count"] == 0,
          f"{result['failure_count']} of the victim's {result['requests']} requests {during} "
          f"were not answered 200: {result['failures']}")


# --- many idle connections from one address -----------------------------------

def open_idle(host, port, source, count, deadline_seconds=30.0):
    """count connections from source, established or refused; returns the
    established sockets and how many the kernel refused outright."""
    epoll = select.epoll()
    pending, established, refused = {}, [], 0
    started = time.monotonic()
    opened = 0
    ports = SourcePorts()
    while opened < count or pending:
        # Keep a few thousand handshakes in flight, not all at once: the
        # listener's backlog is the server's, and a full one drops SYNs.
        while opened < count and len(pending) < 2000:
            sock = client_socket(source, ports=ports)
            sock.setblocking(False)
            code = sock.connect_ex((host, port))
            opened += 1
            if code == 0:
                established.append(sock)
            elif code == errno.EINPROGRESS:
                pending[sock.fileno()] = sock
                epoll.register(sock.fileno(), select.EPOLLOUT)
            else:
                refused += 1
                sock.close()
        for fd, _ in epoll.poll(0.2):
            sock = pending.pop(fd)
            epoll.unregister(fd)
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                established.append(sock)
            else:
                refused += 1
                sock.close()
        check(time.monotonic() - started < deadline_seconds,
              f"opening {count} connections took over {deadline_seconds:.0f} s ({opened} started)")
    epoll.close()
    return established, refused


def still_open(sockets):
    """How many of sockets the server has not closed: a live connection
    with nothing to read says EAGAIN; a closed one reads 0 or is reset."""
    live = 0
    for sock in sockets:
        try:
            if sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
                live += 1  # the server said something (an error page): still open
        except BlockingIOError:
            live += 1
        except OSError:
            pass
    return live


def idle_flood(args):
    raise_file_limit(args.connections + 1024)
    victim = start_victim(args.host, args.port, args.victim_path, args.victim_seconds)
    time.sleep(0.3)  # the victim is under way before the flood starts
    began = time.monotonic()
    sockets, refused = open_idle(args.host, args.port, args.source, args.connections)
    opened_seconds = time.monotonic() - began
    # Held at once: the most still open a while after the storm, once the
    # server has accepted what was in its backlog, and while the 5 s head
    # deadline of the first ones has not passed.
    samples = []
    while time.monotonic() - began < min(args.victim_seconds, 4.5):
        time.sleep(0.5)
        if time.monotonic() - began - opened_seconds >= 0.5:
            samples.append(still_open(sockets))
    if not samples:
        samples.append(still_open(sockets))
    held = max(samples)
    during = finish_victim(victim)

    expired_after = None
    if args.expect_head_timeout:
        # A connection that sends no head within 5 s is closed: 5 s after
        # the last accept, the attacker holds nothing.
        while time.monotonic() - began < opened_seconds + 9:
            if still_open(sockets) == 0:
                expired_after = time.monotonic() - began
                break
            time.sleep(0.25)
    left_open = still_open(sockets)
    for sock in sockets:
        sock.close()
    after = run_victim(args.host, args.port, args.victim_path, 1.0)

    result = {
        "attempted": args.connections,
        "established": len(sockets),
        "refused": refused,
        "open_seconds": round(opened_seconds, 2),
        "held": held,
        "held_samples": samples,
        "all_closed_after_seconds": round(expired_after, 2) if expired_after else None,
        "victim_during": during,
        "victim_after": after,
    }
    print(f"  attacker {args.source}: {len(sockets)} of {args.connections} connections established "
          f"in {opened_seconds:.1f} s ({refused} refused); the server held {held} at once "
          f"(samples {samples})")
    print(f"  victim 127.0.0.1 during the flood: {during['answered']}/{during['requests']} answered, "
          f"{during['per_second']} req/s, p50 {during['p50_ms']} ms, p99 {during['p99_ms']} ms, "
          f"max {during['max_ms']} ms")
    if args.expect_head_timeout:
        print(f"  every idle connection closed by {expired_after:.1f} s after the flood began "
              f"(head deadline 5 s)" if expired_after else
              f"  {left_open} idle connections still open 9 s after the flood began")
    print(f"  victim after the attacker left: {after['answered']}/{after['requests']} answered, "
          f"p50 {after['p50_ms']} ms")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out)
    if args.limit is not None:
        check(held <= args.limit, f"the server held {held} idle connections from {args.source}; "
                                  f"the limit is {args.limit}")
        check(held > 0, "the server held none of the attacker's connections: is it refusing everyone?")
        check_victim(during, "during the flood")
        check_victim(after, "after the attacker left")
    if args.expect_head_timeout:
        check(expired_after is not None,
              f"{left_open} idle connections still open 9 s after the flood began "
              f"(a head is due within 5 s)")


def hold(args):
    """Opens the connections, says "ready", holds them for args.seconds,
    and prints JSON: how many the server still held at 1 s and at the end
    (for a benchmark that measures a victim meanwhile)."""
    raise_file_limit(args.connections + 1024)
    began = time.monotonic()
    sockets, refused = open_idle(args.host, args.port, args.source, args.connections)
    opened_seconds = time.monotonic() - began
    print(f"ready {len(sockets)}", flush=True)
    time.sleep(1.0)
    held_at_one_second = still_open(sockets)
    time.sleep(max(0.0, args.seconds - (time.monotonic() - began)))
    held_at_end = still_open(sockets)
    for sock in sockets:
        sock.close()
    print(json.dumps({"established": len(sockets), "refused": refused,
                      "open_seconds": round(opened_seconds, 2),
                      "held": held_at_one_second, "held_at_end": held_at_end}), flush=True)


# --- slow readers of a big layer -------------------------------------------------

def cache_files_open(pid, cache_dir):
    """The cache files server pid has open, as /proc shows them (a replaced
    one ends in ' (deleted)')."""
    found = []
    fd_dir = f"/proc/{pid}/fd"
    for name in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, name))
        except OSError:
            continue
        if target.startswith(cache_dir + "/"):
            found.append(target)
    return found


def host_signature_headers(key, host, port, path):
    """The headers that sign GET `path` with the host key at `key` (PEM) over
    a fresh challenge (crypto/host_signature.h); openssl does the signing."""
    import urllib.request
    with urllib.request.urlopen(f"http://{host}:{port}/api/v1/challenge") as answer:
        challenge = json.load(answer)["challenge"]
    import base64, tempfile
    with tempfile.NamedTemporaryFile() as statement:  # ed25519 in openssl reads a file, not a pipe
        statement.write(f"goldroot-host-request-v1\nGET\n{path}\n{challenge}".encode())
        statement.flush()
        signature = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", key,
                                    "-in", statement.name],
                                   capture_output=True, check=True).stdout
    return (f"X-Goldroot-Challenge: {challenge}\r\n"
            f"X-Goldroot-Host-Signature: ed25519={base64.b64encode(signature).decode()}\r\n")


def slow_layers(args):
    baseline = run_victim(args.host, args.port, args.victim_path, 1.5)
    victim = start_victim(args.host, args.port, args.victim_path, 3.0)
    time.sleep(0.3)
    slow = []
    for _ in range(args.connections):
        sock = client_socket(args.source, receive_buffer=1024)
        sock.settimeout(10)
        sock.connect((args.host, args.port))
        signed = host_signature_headers(args.key, args.host, args.port, args.layer_path) if args.key else ""
        sock.sendall(f"GET {args.layer_path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n{signed}\r\n".encode())
        slow.append(sock)
    # Read each head (a few hundred bytes), never the body.
    lengths, statuses = [], []
    for sock in slow:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(256)
            check(chunk, f"a slow reader's connection closed after {len(data)} bytes: {data[:200]!r}")
            data += chunk
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        statuses.append(int(head[0].split()[1]))
        for line in head[1:]:
            if line.lower().startswith("content-length:"):
                lengths.append(int(line.split(":", 1)[1]))
    time.sleep(0.5)  # the server is now stuck sending to all of them
    open_files = cache_files_open(args.server_pid, os.path.realpath(args.cache_dir))
    during = finish_victim(victim)
    for sock in slow:
        sock.close()

    print(f"  {args.connections} slow readers from {args.source}: statuses {sorted(set(statuses))}, "
          f"content lengths {sorted(set(lengths))}; the server sends them from "
          f"{len(set(open_files))} cache file(s) {sorted(set(os.path.basename(f) for f in open_files))}")
    print(f"  victim /boot p50 {baseline['p50_ms']} ms without the flood, {during['p50_ms']} ms during it "
          f"(max {during['max_ms']} ms, {during['answered']}/{during['requests']} answered)")
    check(statuses == [200] * args.connections, f"slow readers' statuses: {statuses}")
    check(len(lengths) == args.connections and len(set(lengths)) == 1,
          f"the {args.connections} responses differ in length: {sorted(set(lengths))}")
    check(lengths[0] > 4_000_000, f"the layer is {lengths[0]} bytes; the big file is missing")
    check(len(open_files) >= args.connections // 2,
          f"the server had {len(open_files)} cache files open for {args.connections} unfinished "
          f"responses: {sorted(set(open_files))[:5]}")
    check(len(set(open_files)) == 1,
          f"the {args.connections} responses come from {len(set(open_files))} different cache files, "
          f"so the layer was written more than once: {sorted(set(open_files))[:5]}")
    check_victim(baseline, "without the flood")
    check_victim(during, "during the slow-reader flood")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"baseline": baseline, "during": during, "length": lengths[0],
                       "open_files": sorted(set(open_files))}, out)


# --- bodies the server must refuse unread ------------------------------------------

def exchange(host, port, request, timeout=3.0):
    """Sends request (a head, maybe part of a body) and waits for the
    answer without sending more; returns (status, milliseconds)."""
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        began = time.monotonic()
        sock.sendall(request)
        try:
            status, _, _ = read_response(sock)
        except socket.timeout:
            raise SystemExit(f"FAIL: no answer within {timeout:.0f} s to {request[:120]!r}: "
                             "the server waits for a body it should refuse")
        except ConnectionError as error:
            raise SystemExit(f"FAIL: {error} for {request[:120]!r}")
        return status, (time.monotonic() - began) * 1000
    finally:
        sock.close()


def bodies(args):
    h = f"Host: {args.host}:{args.port}\r\n"
    cases = [
        ("a GET / with a body it does not send", 400,
         f"GET / HTTP/1.1\r\n{h}Content-Length: 100000\r\n\r\n"),
        ("a GET / with a body it sends in part", 400,
         f"GET / HTTP/1.1\r\n{h}Content-Length: 100000\r\n\r\n" + "x" * 1000),
        ("a HEAD / with a body", 400,
         f"HEAD / HTTP/1.1\r\n{h}Content-Length: 10\r\n\r\n"),
        ("a POST /boot/x.ipxe announcing 1,000,000 bytes and sending none", 413,
         f"POST /boot/x.ipxe HTTP/1.1\r\n{h}Content-Type: application/json\r\n"
         "Content-Length: 1000000\r\n\r\n"),
        ("Content-Length: 5 and Content-Length: 6", 400,
         f"POST /api/v1/reports HTTP/1.1\r\n{h}Content-Type: application/json\r\n"
         "Content-Length: 5\r\nContent-Length: 6\r\n\r\n{}"),
        ("Content-Length: 5 twice", 400,
         f"POST /api/v1/reports HTTP/1.1\r\n{h}Content-Type: application/json\r\n"
         "Content-Length: 5\r\nContent-Length: 5\r\n\r\n{}"),
        ("Content-Length: 5, 6 in one header", 400,
         f"POST /api/v1/reports HTTP/1.1\r\n{h}Content-Type: application/json\r\n"
         "Content-Length: 5, 6\r\n\r\n{}"),
        ("Content-Length with Transfer-Encoding: chunked", 400,
         f"POST /api/v1/reports HTTP/1.1\r\n{h}Content-Type: application/json\r\n"
         "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ]
    wrong = []
    for what, expected, request in cases:
        status, took = exchange(args.host, args.port, request.encode())
        print(f"  {what}: {status} in {took:.1f} ms")
        if status != expected:
            wrong.append(f"{what}: {status}, expected {expected}")
    check(not wrong, "; ".join(wrong))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    victim = commands.add_parser("victim")
    victim.add_argument("host")
    victim.add_argument("port", type=int)
    victim.add_argument("path")
    victim.add_argument("seconds", type=float)
    victim.add_argument("--source")

    flood = commands.add_parser("idle-flood")
    flood.add_argument("host")
    flood.add_argument("port", type=int)
    flood.add_argument("victim_path")
    flood.add_argument("--connections", type=int, default=17000)
    flood.add_argument("--source", default="127.0.0.2")
    flood.add_argument("--victim-seconds", type=float, default=4.0)
    flood.add_argument("--limit", type=int)
    flood.add_argument("--expect-head-timeout", action="store_true")
    flood.add_argument("--json")

    holder = commands.add_parser("hold")
    holder.add_argument("host")
    holder.add_argument("port", type=int)
    holder.add_argument("--connections", type=int, default=5000)
    holder.add_argument("--source", default="127.0.0.2")
    holder.add_argument("--seconds", type=float, default=5.0)

    layers = commands.add_parser("slow-layers")
    layers.add_argument("host")
    layers.add_argument("port", type=int)
    layers.add_argument("layer_path")
    layers.add_argument("victim_path")
    layers.add_argument("--server-pid", type=int, required=True)
    layers.add_argument("--cache-dir", required=True)
    layers.add_argument("--connections", type=int, default=40)
    layers.add_argument("--source", default="127.0.0.3")
    layers.add_argument("--key", help="the host key that signs each layer request (PEM)")
    layers.add_argument("--json")

    refused = commands.add_parser("bodies")
    refused.add_argument("host")
    refused.add_argument("port", type=int)

    args = parser.parse_args()
    if args.command == "victim":
        print(json.dumps(run_victim(args.host, args.port, args.path, args.seconds, args.source)))
    elif args.command == "idle-flood":
        idle_flood(args)
    elif args.command == "hold":
        hold(args)
    elif args.command == "slow-layers":
        slow_layers(args)
    else:
        bodies(args)


if __name__ == "__main__":
    main()
