#!/usr/bin/env python3
"""Tiny UDP/TCP probes for netlab (run inside a lab host with `netlab exec`).

  probe.py echo PORT [--tcp]           answer every datagram (or TCP
                                       connection) with "ip:port" of its sender
  probe.py ask HOST PORT [--src-port P] [--timeout S] [--tcp] [--wait S]
                                       send one probe, print the reply (the
                                       address the far side saw); with --wait,
                                       then print "inbound IP:PORT" for every
                                       datagram arriving on the same socket
                                       within S seconds
  probe.py send HOST PORT [--src-port P] [--count N] [--interval S]
                [--size BYTES]         send N datagrams; prints the seconds
                                       it took
  probe.py recv PORT [--timeout S] [--group G]
                                       count datagrams until S seconds pass
                                       with nothing new (joining multicast
                                       group G first); prints the count
Exit status 1 when an expected reply does not come within the timeout.
Every command ends by itself (bounded by its timeout) except echo.
"""
import argparse
import socket
import sys
import time


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def cmd_echo(a):
    if a.tcp:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", a.port))
        s.listen(16)
        while True:
            c, peer = s.accept()
            c.sendall(f"{peer[0]}:{peer[1]}\n".encode())
            c.close()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", a.port))
    while True:
        _, peer = s.recvfrom(2048)
        s.sendto(f"{peer[0]}:{peer[1]}".encode(), peer)


def cmd_ask(a):
    fam = family_of(a.host)
    if a.tcp:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(a.timeout)
        if a.src_port:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("", a.src_port))
        try:
            s.connect((a.host, a.port))
            print(s.recv(256).decode().strip(), flush=True)
            return 0
        except OSError as e:
            print(f"no reply: {e}", file=sys.stderr)
            return 1
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", a.src_port or 0))
    deadline = time.monotonic() + a.timeout
    reply = None
    # One probe every 0.2 s until a reply or the deadline, so a path that
    # comes back while we wait is seen.
    while reply is None:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            s.sendto(b"?", (a.host, a.port))
        except OSError:
            pass
        resend = time.monotonic() + min(0.2, left)
        while reply is None:
            wait = resend - time.monotonic()
            if wait <= 0:
                break
            s.settimeout(wait)
            try:
                data, peer = s.recvfrom(2048)
            except socket.timeout:
                break
            except OSError:
                time.sleep(0.02)
                continue
            if peer[0] == a.host and peer[1] == a.port:
                reply = data.decode()
    if reply is None:
        print("no reply", file=sys.stderr)
        return 1
    print(reply, flush=True)
    if a.wait:
        end = time.monotonic() + a.wait
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                _, peer = s.recvfrom(2048)
            except (socket.timeout, OSError):
                break
            if (peer[0], peer[1]) != (a.host, a.port):
                print(f"inbound {peer[0]}:{peer[1]}", flush=True)
    return 0


def cmd_send(a):
    s = socket.socket(family_of(a.host), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", a.src_port or 0))
    start = time.monotonic()
    for i in range(a.count):
        try:
            s.sendto(f"seq {i}".encode().ljust(a.size, b"."),
                     (a.host, a.port))
        except OSError:
            pass  # e.g. EPERM from a local drop rule: counts as lost
        if a.interval:
            time.sleep(a.interval)
    print(f"{time.monotonic() - start:.3f}", flush=True)
    return 0


def cmd_recv(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:  # root may exceed net.core.rmem_max: no drops at the socket
        s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", a.port))
    if a.group:
        mreq = socket.inet_aton(a.group) + socket.inet_aton("0.0.0.0")
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    s.settimeout(a.timeout)
    n = 0
    try:
        while True:
            s.recvfrom(2048)
            n += 1
    except socket.timeout:
        pass
    print(n, flush=True)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("echo")
    e.add_argument("port", type=int)
    e.add_argument("--tcp", action="store_true")
    k = sub.add_parser("ask")
    k.add_argument("host")
    k.add_argument("port", type=int)
    k.add_argument("--src-port", type=int, default=0)
    k.add_argument("--timeout", type=float, default=2.0)
    k.add_argument("--wait", type=float, default=0.0)
    k.add_argument("--tcp", action="store_true")
    s = sub.add_parser("send")
    s.add_argument("host")
    s.add_argument("port", type=int)
    s.add_argument("--src-port", type=int, default=0)
    s.add_argument("--count", type=int, default=1)
    s.add_argument("--interval", type=float, default=0.0)
    s.add_argument("--size", type=int, default=0)
    r = sub.add_parser("recv")
    r.add_argument("port", type=int)
    r.add_argument("--timeout", type=float, default=1.0)
    r.add_argument("--group", default="")
    a = p.parse_args()
    return {"echo": cmd_echo, "ask": cmd_ask, "send": cmd_send,
            "recv": cmd_recv}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
