#!/usr/bin/env python3
"""Writes the seed corpora, fuzz/corpus/<target>/seed-*.

The seeds are committed; this script documents how they were made and
can rebuild them (`python3 fuzz/seedgen/make_seeds.py` from the
repository root). Files a fuzz run adds are named by their SHA-1 and are
not committed (see .gitignore).
"""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")

TYPES = ["REQ", "REP", "DEALER", "ROUTER", "PUB", "SUB", "XPUB", "XSUB",
         "PUSH", "PULL", "PAIR", "BUS", "RADIO", "DISH"]


def T(name):
    return TYPES.index(name)


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(bytes(data))


# --- wire pieces -----------------------------------------------------------

def greeting(major=3, minor=1, mech=b"NULL", as_server=0, sig9=0x7F):
    return (b"\xff" + b"\0" * 8 + bytes([sig9, major, minor]) + mech.ljust(20, b"\0")
            + bytes([as_server]) + b"\0" * 31)


def header(size, more=False, command=False, long=None):
    flags = (1 if more else 0) | (4 if command else 0)
    if long is None:
        long = size > 255
    if long:
        return bytes([flags | 2]) + struct.pack(">Q", size)
    return bytes([flags, size])


def frame(body, more=False):
    return header(len(body), more=more) + body


def props(*pairs):
    out = b""
    for n, v in pairs:
        out += bytes([len(n)]) + n + struct.pack(">I", len(v)) + v
    return out


def cmd_body(name, data=b""):
    return bytes([len(name)]) + name + data


def cmd(name, data=b""):
    body = cmd_body(name, data)
    return header(len(body), command=True) + body


def ready(socket_type, identity=None):
    p = [(b"Socket-Type", socket_type.encode())]
    if identity is not None:
        p.append((b"Identity", identity))
    return cmd(b"READY", props(*p))


# --- frame_decoder ---------------------------------------------------------

def frame_decoder():
    t = "frame_decoder"
    write(t, "empty-frame", header(0))
    write(t, "short-more", frame(b"hello", more=True))
    write(t, "short-max", header(255) + b"x" * 255)
    write(t, "short-command", header(5, command=True) + b"\x04PING")
    write(t, "long-256", header(256) + b"y" * 16)
    write(t, "long-more", header(300, more=True))
    write(t, "long-command", header(1 << 40, command=True))
    write(t, "long-form-small-size", header(5, more=True, long=True) + b"abcde")
    write(t, "huge-size", b"\x02\x80" + b"\0" * 7)
    write(t, "max-size", b"\x02" + b"\xff" * 8)
    write(t, "reserved-bits", b"\xfc\x03abc")
    write(t, "command-with-more", b"\x05\x01x")
    write(t, "truncated-flags-only", b"\x00")
    write(t, "truncated-long", b"\x02\x00\x00")
    write(t, "empty", b"")
    write(t, "boundary-flag", b"\x40\x01\x00")
    write(t, "stream", frame(b"a", True) + frame(b"bc") + cmd(b"PING", b"\0\0") + b"\x00")


# --- greeting --------------------------------------------------------------

def greeting_seeds():
    t = "greeting"
    g = greeting()
    write(t, "null-3.1", g)
    write(t, "null-3.0", greeting(minor=0))
    write(t, "null-3.2", greeting(minor=2))
    write(t, "major-4", greeting(major=4, minor=0))
    write(t, "plain", greeting(mech=b"PLAIN", as_server=1))
    write(t, "curve", greeting(mech=b"CURVE"))
    write(t, "zmtp-2", greeting(major=2, minor=5))  # ZMTP 2.0: socket type at 11
    write(t, "zmtp-1", b"\x01\x00")
    write(t, "http", b"GET / HTTP/1.1\r\n\r\n")
    write(t, "sig9-even", greeting(sig9=0x7E))
    write(t, "sig9-one", greeting(sig9=0x01))
    write(t, "padding", b"\xff" + b"\x09" * 8 + g[9:])
    write(t, "filler", g[:33] + b"\xaa" * 31)
    write(t, "with-ready", g + ready("DEALER", b""))
    for cut in (1, 9, 10, 11, 12, 32, 63):
        write(t, "cut-%d" % cut, g[:cut])
    write(t, "empty", b"")


# --- command ---------------------------------------------------------------

def command_seeds():
    t = "command"
    write(t, "ready-dealer", cmd_body(b"READY", props((b"Socket-Type", b"DEALER"), (b"Identity", b""))))
    write(t, "ready-router-id", cmd_body(b"READY", props((b"Socket-Type", b"ROUTER"), (b"Identity", b"peer-1"))))
    write(t, "ready-empty", cmd_body(b"READY"))
    write(t, "ready-case", b"\x05READY\x0bsocket-TYPE\x00\x00\x00\x04PUSH\x08identity\x00\x00\x00\x01A")
    write(t, "ready-extra-props", cmd_body(b"READY", props((b"Socket-Type", b"SUB"), (b"User-Id", b"x" * 40), (b"X-Custom", b""))))
    write(t, "ready-long-name", cmd_body(b"READY", props((b"n" * 255, b"v"))))
    write(t, "ready-cut-value", b"\x05READY\x0bSocket-Type\x00\x00\x00\x04PUS")
    write(t, "ready-cut-len", b"\x05READY\x0bSocket-Type\x00\x00")
    write(t, "ready-cut-name", b"\x05READY\x0bSocket-Ty")
    write(t, "ready-zero-name", b"\x05READY\x00\x00\x00\x00\x00")
    write(t, "ready-huge-value", b"\x05READY\x01A\xff\xff\xff\xff")
    write(t, "error", cmd_body(b"ERROR", b"\x04oops"))
    write(t, "error-trailing", cmd_body(b"ERROR", b"\x02nozzz"))
    write(t, "error-cut", cmd_body(b"ERROR", b"\x05oo"))
    write(t, "error-no-len", cmd_body(b"ERROR"))
    write(t, "ping", cmd_body(b"PING", b"\x00\x0aLOL"))
    write(t, "ping-long-context", cmd_body(b"PING", b"\x00\x00" + b"c" * 20))
    write(t, "ping-no-ttl", cmd_body(b"PING", b"\x00"))
    write(t, "pong", cmd_body(b"PONG", b"LOL"))
    write(t, "subscribe", cmd_body(b"SUBSCRIBE", b"weather."))
    write(t, "subscribe-empty", cmd_body(b"SUBSCRIBE"))
    write(t, "cancel", cmd_body(b"CANCEL", b"xy"))
    write(t, "join", cmd_body(b"JOIN", b"group"))
    write(t, "leave", cmd_body(b"LEAVE", b"group"))
    write(t, "unknown", cmd_body(b"HELLO", b"data"))
    write(t, "lowercase-ready", b"\x05readyabc")
    write(t, "zero-name", b"\x00PING")
    write(t, "cut-name", b"\x05REA")
    write(t, "empty", b"")
    # Property lists on their own (the first byte is a name length).
    write(t, "props-only", props((b"Socket-Type", b"PAIR")))
    # Built commands: the first byte picks the kind (mod 9).
    for kind in range(9):
        write(t, "built-%d" % kind, bytes([kind, 2, 3]) + b"name" + b"\x04valu" + b"rest")


# --- zmtp_connection -------------------------------------------------------

def feed(data):
    """Op 0: feed chunks of at most 255 bytes."""
    out = b""
    for i in range(0, len(data), 255):
        chunk = data[i:i + 255]
        out += bytes([0, len(chunk)]) + chunk
    return out


def tick(ms):
    return bytes([3]) + struct.pack(">H", ms)


def drain(n16):
    return bytes([4, n16])


def send(*frame_bytes):
    """Op 5; each frame: a length byte (< 0x80) then its bytes, or a byte
    with bits 6 and 7 set for a big frame."""
    out = bytes([5, len(frame_bytes) - 1])
    for f in frame_bytes:
        if isinstance(f, int):
            out += bytes([f])
        else:
            out += bytes([len(f)]) + f
    return out


def sub(subscribe, topic):
    return bytes([6, (len(topic) << 1) | int(subscribe)]) + topic


def send_cmd(kind, n, payload=b"", ttl=None):
    """Op 7: the byte's value mod 5 is the kind, its top 5 bits a length."""
    b = next(b for b in range(n << 3, (n << 3) + 8) if b % 5 == kind)
    out = bytes([7, b])
    if ttl is not None:
        out += bytes([ttl])
    return out + payload


def conn(ours, flags=0, limit=None, hb=None, rid=None, pre=None):
    out = bytes([T(ours), flags])
    if limit is not None:
        out += limit  # 2 bytes base, 1 byte shift
    if hb is not None:
        out += bytes(hb)  # interval ms, timeout ms, ttl (x100 ms)
    if rid is not None:
        out += bytes([len(rid)]) + rid
    if pre is not None:
        minor, theirs, ident = pre
        out += bytes([minor, T(theirs) if theirs else 0x80, len(ident)]) + ident
    return out


def zmtp_connection():
    t = "zmtp_connection"
    g = greeting()
    # PULL from a PUSH, everything on the wire from the input.
    stream = g + ready("PUSH") + frame(b"one") + frame(b"a", True) + frame(b"b") + frame(b"z" * 300)
    write(t, "pull-from-push", conn("PULL") + feed(stream) + drain(255))
    # The same, one byte at a time in the first chunks.
    write(t, "pull-bytewise", conn("PULL") + b"".join(bytes([0, 1, c]) for c in stream[:80]) + feed(stream[80:]))
    # DEALER with a routing id, against a ROUTER, sending and draining.
    write(t, "dealer-router", conn("DEALER", 0x04, rid=b"me") + feed(g + ready("ROUTER", b"them"))
          + send(b"", b"hello") + drain(1) + drain(3) + send(b"x") + drain(255))
    # SUB (preamble from a compatible PUB) subscribing, ZMTP 3.1 then 3.0.
    write(t, "sub-3.1", conn("SUB", 0x08, pre=(1, None, b"")) + sub(True, b"weather.") + sub(False, b"weather.")
          + feed(frame(b"weather.today")) + drain(255))
    write(t, "sub-3.0", conn("SUB", 0x08, pre=(0, None, b"")) + sub(True, b"A") + drain(255))
    # XPUB receiving subscriptions as commands and as messages.
    write(t, "xpub", conn("XPUB") + feed(g + ready("XSUB") + cmd(b"SUBSCRIBE", b"t") + cmd(b"CANCEL", b"t")
          + frame(b"\x01topic") + frame(b"\x00topic")))
    # RADIO/DISH groups.
    write(t, "dish", conn("DISH", 0x08, pre=(1, None, b"")) + send_cmd(2, 4, b"grp!") + send_cmd(3, 4, b"grp!")
          + feed(frame(b"grp", True) + frame(b"body")) + drain(255))
    # Heartbeats: PINGs every 10 ms, a 20 ms timeout, a 100 ms TTL; a peer PING with a TTL.
    write(t, "heartbeat", conn("DEALER", 0x0A, hb=[10, 20, 1], pre=(1, None, b""))
          + tick(5) + tick(10) + drain(255) + feed(cmd(b"PING", b"\x00\x0actx")) + tick(5) + tick(100) + drain(255))
    write(t, "heartbeat-expires", conn("PAIR", 0x0A, hb=[1, 1, 0], pre=(1, None, b"")) + tick(1) + tick(1) + tick(5))
    write(t, "peer-ping-ttl", conn("PAIR", 0x08, pre=(1, None, b"")) + feed(cmd(b"PING", b"\x00\x01")) + tick(50) + tick(200))
    # Our own commands once established.
    write(t, "commands", conn("PAIR", 0x08, pre=(1, None, b"")) + send_cmd(0, 3, b"abcd", ttl=7)
          + send_cmd(1, 3, b"pon") + send_cmd(4, 2, b"zz") + drain(255))
    # Big frames (sent by reference) and partial drains.
    write(t, "big-frames", conn("PUSH", 0x08, pre=(1, None, b"")) + send(0xC0, b"small", 0xFF) + drain(1)
          + drain(200) + drain(255) + drain(255) + drain(255))
    # max_msg_size: 100 octets; a 200-octet frame, a multipart over it, a command under the floor.
    write(t, "max-msg-size", conn("PULL", 0x09, limit=b"\x00\x64\x00", pre=(1, "PUSH", b""))
          + feed(frame(b"a" * 60, True) + frame(b"b" * 60)))
    write(t, "max-msg-size-frame", conn("PULL", 0x09, limit=b"\x00\x64\x00", pre=(1, "PUSH", b""))
          + feed(header(1 << 30)))
    write(t, "max-msg-size-command", conn("PULL", 0x09, limit=b"\x00\x01\x00", pre=(1, "PUSH", b""))
          + feed(cmd(b"SUBSCRIBE", b"x" * 300) + header(70000, command=True)))
    # Hostile handshakes.
    write(t, "incompatible", conn("PUSH", 0x08, pre=(1, "PUSH", b"")) + drain(255) + drain(255))
    write(t, "bad-signature", conn("REQ") + feed(b"GET / HTTP/1.1\r\n"))
    write(t, "zmtp-2", conn("REQ") + feed(greeting(major=2)))
    write(t, "plain", conn("REP") + feed(greeting(mech=b"PLAIN")))
    write(t, "message-before-ready", conn("REP") + feed(g + frame(b"early")))
    write(t, "ping-before-ready", conn("REP") + feed(g + cmd(b"PING", b"\0\0")))
    write(t, "error-in-handshake", conn("REP") + feed(g + cmd(b"ERROR", b"\x03bad")))
    write(t, "missing-socket-type", conn("REP") + feed(g + cmd(b"READY", props((b"Identity", b"x")))))
    write(t, "unknown-socket-type", conn("REP") + feed(g + cmd(b"READY", props((b"Socket-Type", b"FOO")))))
    write(t, "command-with-more", conn("PAIR", 0x08, pre=(1, None, b"")) + feed(b"\x05\x01x"))
    write(t, "second-ready", conn("PAIR", 0x08, pre=(1, None, b"")) + feed(ready("PAIR")))
    write(t, "malformed-command", conn("PAIR", 0x08, pre=(1, None, b"")) + feed(b"\x04\x02\x05R"))
    write(t, "unknown-command", conn("PAIR", 0x08, pre=(1, None, b"")) + feed(cmd(b"X-NEW", b"data") + frame(b"after")))
    write(t, "truncated-greeting", conn("ROUTER") + feed(g[:40]))
    write(t, "truncated-frame", conn("PAIR", 0x08, pre=(1, None, b"")) + feed(header(1000) + b"abc"))
    write(t, "empty", b"")
    # Every type, with a compatible peer through the preamble.
    for name in TYPES:
        write(t, "type-" + name.lower(), conn(name, 0x08, pre=(1, None, b"id")) + feed(frame(b"m")) + sub(True, b"") + drain(255))


# --- endpoint --------------------------------------------------------------

def endpoint_seeds():
    t = "endpoint"
    # mode % 7: inproc, tcp4, tcp6, ipc path, ipc abstract, udp, raw;
    # sel picks the binding socket type.
    seeds = {
        "inproc": (0, 8, b"name"),
        "inproc-empty": (0, 0, b""),
        "inproc-slash": (0, 4, b"a/b://c"),
        "tcp4-wildcard": (1, 8, b"*"),
        "tcp4-zero": (1, 2, b"0"),
        "tcp4-fixed": (1, 10, b"5555"),
        "tcp4-bad-port": (1, 0, b"65536"),
        "tcp4-letters": (1, 0, b"abc"),
        "tcp4-empty": (1, 0, b""),
        "tcp4-colon": (1, 0, b"1.2.3.4:*"),
        "tcp6-wildcard": (2, 10, b"*"),
        "tcp6-bracket": (2, 0, b"]:*"),
        "ipc-path": (3, 8, b"sock"),
        "ipc-dots": (3, 0, b".."),
        "ipc-nul": (3, 0, b"a\0b"),
        "ipc-long": (3, 0, b"x" * 120),
        "ipc-abstract": (4, 4, b"name"),
        "ipc-abstract-empty": (4, 0, b""),
        "udp-dish": (5, 0x80, b"*"),
        "udp-not-dish": (5, 8, b"*"),
        "udp-iface": (5, 0x80, b"eth0;239.0.0.1"),
        "raw-tcp": (6, 0, b"tcp://127.0.0.1:5555"),
        "raw-upper": (6, 0, b" TCP://x:1"),
        "raw-unknown": (6, 0, b"foo://bar"),
        "raw-no-scheme": (6, 0, b"127.0.0.1:5"),
        "raw-empty": (6, 0, b""),
    }
    for name, (mode, sel, s) in seeds.items():
        write(t, name, bytes([mode, sel]) + s)


# --- plain and curve (fuzz/targets/secure.rs) --------------------------------

def cred(value):
    assert len(value) < 16
    return bytes([len(value)]) + value


def r_feed(data):
    """raw mode: feed a chunk."""
    assert len(data) < 256
    return bytes([0, len(data)]) + data


R_WRITE = bytes([5])


def verdict_bytes(b):
    """A verdict: even allows (with b >> 4 octets of user id, and 4 of
    metadata if bit 1 is set), odd refuses."""
    out = bytes([b])
    if b & 1 == 0:
        out += b"u" * (b >> 4)
        if b & 2:
            out += b"meta"
    return out


def r_verdict(b):
    """raw mode: a verdict."""
    return bytes([3]) + verdict_bytes(b)


def msg_ops(*frames):
    """A message as the targets read it: frame count, then each frame."""
    out = bytes([len(frames) - 1])
    for f in frames:
        assert len(f) < 0x80
        out += bytes([len(f)]) + f
    return out


def r_send(*frames):
    return bytes([4]) + msg_ops(*frames)


def op(n, side=0):
    """relay mode: operation n from side 0 (client) or 1 (server)."""
    return bytes([(n << 1) | side])


FLUSH = op(1)


def deliver(side):
    return op(0, side)


def flip(side, at, mask):
    return op(2, side) + struct.pack(">H", at) + bytes([mask])


def drop(side):
    return op(3, side)


def dup(side):
    return op(4, side)


def swap(side):
    return op(5, side)


def inject(side, data):
    return op(6, side) + bytes([len(data)]) + data


def send_from(side, *frames):
    return op(7, side) + msg_ops(*frames)


def cmd_from(side, kind, payload=b""):
    """kind: 0 SUBSCRIBE, 1 CANCEL, 2 PING, 3 PONG, 4 JOIN, 5 LEAVE, 6 unknown."""
    n = len(payload)
    assert n < 32
    b = (n << 3) | kind
    return op(9, side) + bytes([b]) + payload


def verdict_op(b):
    return op(10) + verdict_bytes(b)


def plain_hello(user, password):
    return cmd(b"HELLO", bytes([len(user)]) + user + bytes([len(password)]) + password)


def plain_seeds():
    t = "plain"
    user, pw = cred(b"admin"), cred(b"secret")
    hello = plain_hello(b"admin", b"secret")
    initiate = cmd(b"INITIATE", props((b"Socket-Type", b"DEALER")))
    write(t, "raw-server-allow", bytes([0]) + user + pw + bytes([1]) + r_feed(hello)
          + r_verdict(0x22) + r_feed(initiate) + r_send(b"hello") + R_WRITE
          + r_feed(frame(b"hi")) + r_feed(cmd(b"PING", b"\0\1ctx")) + R_WRITE)
    write(t, "raw-server-deny", bytes([0]) + user + pw + bytes([1]) + r_feed(hello)
          + r_verdict(0x03) + r_feed(initiate) + R_WRITE)
    write(t, "raw-server-pipelined", bytes([0]) + user + pw + bytes([1])
          + r_feed(hello + initiate + frame(b"early")) + r_verdict(0x00) + r_feed(b""))
    write(t, "raw-server-bad-hello", bytes([0]) + user + pw + bytes([0])
          + r_feed(cmd(b"HELLO", b"\x05ab")))
    write(t, "raw-client", bytes([1]) + user + pw + bytes([1]) + r_feed(cmd(b"WELCOME"))
          + r_feed(ready("ROUTER")) + r_send(b"x", b"yz") + r_feed(frame(b"hi"))
          + R_WRITE)
    write(t, "raw-client-refused", bytes([1]) + user + pw + bytes([1])
          + r_feed(cmd(b"ERROR", b"\x03400")))
    handshake = FLUSH + verdict_op(0x12) + FLUSH
    traffic = (send_from(0, b"", b"req") + send_from(1, b"rep") + cmd_from(0, 2, b"c")
               + cmd_from(1, 6, b"??????") + FLUSH)
    write(t, "relay-allow", bytes([2]) + user + pw + bytes([0]) + handshake + traffic)
    write(t, "relay-deny", bytes([2]) + user + pw + bytes([0]) + FLUSH + verdict_op(0x03)
          + FLUSH)
    write(t, "relay-pair-limit", bytes([0x32, 8, 2]) + user + pw + bytes([1])
          + send_from(0, b"a" * 20) + send_from(1, b"b" * 40) + FLUSH)
    write(t, "relay-tampered", bytes([2]) + user + pw + bytes([1])
          + send_from(0, b"one") + send_from(0, b"two") + flip(0, 3, 0x20) + swap(0)
          + FLUSH)
    write(t, "relay-null-zap", bytes([3]) + user + pw + bytes([0]) + handshake + traffic)
    write(t, "relay-null-zap-deny", bytes([3]) + user + pw + bytes([0]) + FLUSH
          + verdict_op(0x05) + FLUSH)


def curve_seeds():
    t = "curve"
    fake_hello = cmd(b"HELLO", b"\x01\x00" + b"\0" * 72 + b"\x11" * 32
                     + struct.pack(">Q", 1) + b"\0" * 80)
    fake_welcome = cmd(b"WELCOME", b"\x22" * 16 + b"\0" * 144)
    write(t, "raw-server-hello", bytes([0, 1]) + r_feed(fake_hello) + R_WRITE)
    write(t, "raw-server-error", bytes([0, 1]) + r_feed(cmd(b"ERROR", b"\x03400")))
    write(t, "raw-client-welcome", bytes([1, 1]) + R_WRITE + r_feed(fake_welcome))
    write(t, "raw-client-message", bytes([1, 1]) + r_feed(frame(b"\x07MESSAGE" + b"\0" * 30)))
    traffic = (send_from(0, b"", b"req") + send_from(1, b"rep") + cmd_from(0, 2, b"c")
               + cmd_from(0, 0, b"topic") + cmd_from(1, 6, b"??????") + FLUSH)
    write(t, "relay-handshake", bytes([2, 0]) + FLUSH + verdict_op(0x02) + FLUSH + traffic)
    write(t, "relay-stepwise", bytes([2, 0]) + deliver(0) + deliver(1) + deliver(0)
          + deliver(1) + deliver(0) + verdict_op(0x00) + deliver(1) + traffic)
    write(t, "relay-deny", bytes([2, 0]) + FLUSH + verdict_op(0x03) + FLUSH)
    write(t, "relay-established", bytes([3, 1]) + traffic)
    write(t, "relay-flip", bytes([2, 1]) + send_from(0, b"secret") + flip(0, 20, 0x01)
          + send_from(0, b"next") + FLUSH)
    write(t, "relay-flip-outer-flags", bytes([2, 1]) + send_from(0, b"a")
          + send_from(0, b"b") + flip(0, 0, 0x01) + FLUSH)
    write(t, "relay-replay", bytes([2, 1]) + send_from(1, b"once") + dup(1) + FLUSH)
    write(t, "relay-reorder", bytes([2, 1]) + send_from(0, b"first") + send_from(0, b"second")
          + swap(0) + FLUSH)
    write(t, "relay-drop", bytes([2, 1]) + send_from(0, b"1", b"2") + send_from(0, b"3")
          + drop(0) + FLUSH)
    write(t, "relay-inject", bytes([2, 1]) + inject(1, frame(b"\x07MESSAGE" + b"\xff" * 30))
          + FLUSH)
    write(t, "relay-handshake-flip", bytes([2, 0]) + deliver(0) + deliver(1) + deliver(0)
          + flip(1, 100, 0x80) + FLUSH)
    write(t, "relay-limit", bytes([0x12, 4, 4, 1]) + send_from(0, b"x" * 60) + FLUSH)


if __name__ == "__main__":
    frame_decoder()
    greeting_seeds()
    command_seeds()
    zmtp_connection()
    endpoint_seeds()
    plain_seeds()
    curve_seeds()
