"""Synthetic network flow traces with real protocol structure, for ``trustmap repro kaleidoscope``.

**Synthetic data.** No packet traces ship offline, so :func:`flow_traces` generates them, seeded and
deterministic. Five application classes *(ours, all laws and parameters)*:

=========  =====  ===============================================  ===================  ====================
class      proto  payload sizes (bytes)                            inter-arrival        payload packets
=========  =====  ===============================================  ===================  ====================
web        TCP    up U(100, 700); down 1460 (p 0.6) else U(200,     lognormal, median     3 + Pareto(1.3) * 3
                  1400); 60% down                                  10 ms, sigma 1.5
video      TCP    down 1460 (p 0.9) else U(300, 1460); 90% down     lognormal 2 ms,       10 + Pareto(1.1) * 20
                                                                   sigma 1.0
voip       UDP    U(160, 220) RTP, alternating directions          N(20 ms, 3 ms)        lognormal, median 150
chat       TCP    U(60, 400) both ways                             exponential 800 ms    1 + geometric(1/6)
bulk       TCP    down 1460 (p 0.95) else U(500, 1460)              exponential 0.3 ms    5 + Pareto(1.0) * 5
=========  =====  ===============================================  ===================  ====================

TCP flows open with a three-way handshake (SYN, SYN-ACK, ACK: no payload, one round trip ``rtt`` ~
lognormal median 30 ms apart) and a TLS handshake (ClientHello up, with a per-application length range;
ServerHello and certificate down) before application data in TLS records (content type 0x17); the
server port is 443 for every TCP class. VoIP is RTP over UDP with a random server port and DSCP EF
(ToS 0xB8) on 70% of flows. Each packet is the first 64 bytes from its IPv4 header: version/IHL, ToS,
total length, ID, DF flag, TTL (client 64 or 128, server 40-60), protocol, random addresses and ports,
TCP sequence numbers, flags (SYN 0x02, SYN-ACK 0x12, ACK 0x10, PSH-ACK 0x18) and window, then the first
payload bytes (TLS record header or RTP header, then random "encrypted" bytes); short packets are
zero-padded. Flow counts follow ``mix`` (default :data:`MIX`: web 40%, video 10%, VoIP 10%, chat 25%,
bulk 15% *(ours)*: most flows are mice). Only the first ``keep`` packets of a flow are materialised;
``n_packets`` is its full length.

Shapes: ``raw`` ``(N, keep, 64)`` uint8; ``iat`` ``(N, keep)`` seconds since the previous packet;
``direction`` ``(N, keep)`` (0 client->server, 1 back); ``length`` ``(N, keep)`` IP total length (0 = no
packet); ``n_packets`` ``(N,)``; ``label`` ``(N,)``.

>>> tr = flow_traces(1000, seed=0)
>>> tr.raw.shape, np.bincount(tr.label)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trustmap.errors import DataError

CLASSES = ("web", "video", "voip", "chat", "bulk")
# flow-count shares: most flows are short web and chat flows, few are video or calls (ours)
MIX = (0.4, 0.1, 0.1, 0.25, 0.15)
HELLO = {"web": (512, 600), "video": (517, 530), "chat": (220, 300), "bulk": (300, 400)}  # ClientHello
TCP_HDR, UDP_HDR, IP_HDR = 20, 8, 20


@dataclass(frozen=True)
class FlowTraces:
    raw: np.ndarray
    iat: np.ndarray
    direction: np.ndarray
    length: np.ndarray
    n_packets: np.ndarray
    label: np.ndarray


def _payload_count(cls: str, rng: np.random.Generator) -> int:
    if cls == "web":
        return 3 + int(rng.pareto(1.3) * 3)
    if cls == "video":
        return 10 + int(rng.pareto(1.1) * 20)
    if cls == "voip":
        return max(2, int(rng.lognormal(np.log(150), 1.0)))
    if cls == "chat":
        return int(rng.geometric(1 / 6))
    return 5 + int(rng.pareto(1.0) * 5)


def _app_packet(cls: str, rng: np.random.Generator) -> tuple[int, int, float]:
    """(payload bytes, direction, inter-arrival seconds) of one application-data packet."""
    if cls == "web":
        down = int(rng.random() < 0.6)
        size = (1460 if rng.random() < 0.6 else int(rng.integers(200, 1400))) if down else int(rng.integers(100, 700))
        return size, down, float(rng.lognormal(np.log(0.010), 1.5))
    if cls == "video":
        down = int(rng.random() < 0.9)
        size = 1460 if rng.random() < 0.9 else int(rng.integers(300, 1460))
        return size, down, float(rng.lognormal(np.log(0.002), 1.0))
    if cls == "chat":
        return int(rng.integers(60, 400)), int(rng.random() < 0.5), float(rng.exponential(0.8))
    if cls == "bulk":
        size = 1460 if rng.random() < 0.95 else int(rng.integers(500, 1460))
        return size, int(rng.random() < 0.95), float(rng.exponential(0.0003))
    return int(rng.integers(160, 220)), 0, max(1e-4, float(rng.normal(0.020, 0.003)))  # voip; caller alternates


def _packet(flow: dict, *, payload: int, down: int, flags: int, tls: int, noise: np.ndarray) -> np.ndarray:
    """One packet's first 64 bytes; ``noise`` ``(64,)`` uint8 supplies the random fields."""
    b = np.zeros(64, np.uint8)
    udp = flow["udp"]
    total = IP_HDR + (UDP_HDR if udp else TCP_HDR) + payload
    b[0], b[1] = 0x45, flow["tos"]
    b[2:4] = divmod(total, 256)
    b[4:6] = noise[4:6]
    b[6] = 0x40
    b[8] = flow["ttl"][down]
    b[9] = 17 if udp else 6
    b[10:12] = noise[10:12]
    src, dst = (flow["server"], flow["client"]) if down else (flow["client"], flow["server"])
    b[12:16], b[16:20] = src[0], dst[0]
    b[20:22], b[22:24] = divmod(src[1], 256), divmod(dst[1], 256)
    if udp:
        b[24:26] = divmod(UDP_HDR + payload, 256)
        b[26:28] = noise[26:28]
        rtp = [0x80, flow["pt"], *divmod(flow["rtp_seq"] % 65536, 256)]
        flow["rtp_seq"] += 1
        b[28:32] = rtp
        b[32:64] = noise[32:64]
        return b
    seq = flow["seq"][down]
    b[24:28] = [(seq >> s) & 255 for s in (24, 16, 8, 0)]
    ack = flow["seq"][1 - down] if flags != 0x02 else 0
    b[28:32] = [(ack >> s) & 255 for s in (24, 16, 8, 0)]
    flow["seq"][down] = (seq + max(payload, 1 if flags & 0x02 else 0)) % 2**32
    b[32], b[33] = 0x50, flags
    b[34:36] = divmod(flow["window"][down], 256)
    b[36:38] = noise[36:38]
    if payload:
        b[40:45] = [tls, 3, 3, *divmod(max(payload - 5, 0), 256)]
        b[45:64] = noise[45:64]
    return b


def _flow(cls: str, keep: int, rng: np.random.Generator) -> tuple[list[tuple[np.ndarray, float, int, int]], int]:
    udp = cls == "voip"
    flow = {
        "udp": udp,
        "tos": 0xB8 if udp and rng.random() < 0.7 else 0,
        "ttl": (int(rng.choice([64, 128])), int(rng.integers(40, 61))),
        "client": (rng.integers(1, 255, 4), int(rng.integers(49152, 65536))),
        "server": (rng.integers(1, 255, 4), int(rng.integers(10000, 20000)) if udp else 443),
        "seq": [int(rng.integers(0, 2**32)), int(rng.integers(0, 2**32))],
        "window": (int(rng.integers(1024, 65536)), int(rng.integers(1024, 65536))),
        "pt": int(rng.choice([0, 8, 111])),
        "rtp_seq": int(rng.integers(0, 65536)),
    }
    n_app = _payload_count(cls, rng)
    pkts: list[tuple[np.ndarray, float, int, int]] = []
    noise = rng.integers(0, 256, (keep, 64), dtype=np.uint8)

    def add(payload: int, down: int, iat: float, flags: int = 0x18, tls: int = 0x17) -> None:
        if len(pkts) < keep:
            raw = _packet(flow, payload=payload, down=down, flags=flags, tls=tls, noise=noise[len(pkts)])
            pkts.append((raw, iat, down, int(raw[2]) * 256 + int(raw[3])))

    if udp:
        for i in range(n_app):
            size, _, iat = _app_packet(cls, rng)
            add(size, i % 2, 0.0 if i == 0 else iat)
        return pkts, n_app
    rtt = float(rng.lognormal(np.log(0.030), 0.5))
    add(0, 0, 0.0, flags=0x02)
    add(0, 1, rtt / 2, flags=0x12)
    add(0, 0, rtt / 2, flags=0x10)
    lo, hi = HELLO[cls]
    add(int(rng.integers(lo, hi + 1)), 0, 1e-4, tls=0x16)
    add(1460, 1, rtt, tls=0x16)
    add(int(rng.integers(800, 1460)), 1, 1e-4, tls=0x16)
    for _ in range(max(n_app - 3, 0)):
        if len(pkts) >= keep:
            break
        add(*_app_packet(cls, rng))
    return pkts, 3 + max(n_app, 3)


def flow_traces(n: int, *, keep: int = 24, mix: tuple[float, ...] = MIX, seed: int = 0) -> FlowTraces:
    """``n`` flows whose classes follow the shares ``mix`` (rounded counts, shuffled), seeded."""
    if n < 1 or keep < 1:
        raise DataError(f"flow_traces needs n >= 1 and keep >= 1, got n={n}, keep={keep}")
    if len(mix) != len(CLASSES) or min(mix) < 0 or not np.isclose(sum(mix), 1.0):
        raise DataError(f"mix must give {len(CLASSES)} non-negative class shares summing to 1, got {mix}")
    rng = np.random.default_rng(seed)
    counts_per = np.floor(np.asarray(mix) * n).astype(int)
    counts_per[: n - counts_per.sum()] += 1
    labels = rng.permutation(np.repeat(np.arange(len(CLASSES)), counts_per))
    raw = np.zeros((n, keep, 64), np.uint8)
    iat = np.zeros((n, keep), np.float32)
    direction = np.zeros((n, keep), np.int8)
    length = np.zeros((n, keep), np.int32)
    counts = np.zeros(n, np.int64)
    for i, lab in enumerate(labels):
        pkts, counts[i] = _flow(CLASSES[lab], keep, rng)
        for j, (b, t, d, ln) in enumerate(pkts):
            raw[i, j], iat[i, j], direction[i, j], length[i, j] = b, t, d, ln
    return FlowTraces(raw, iat, direction, length, counts, labels.astype(np.int64))


def packet_features(tr: FlowTraces, *, first: int, skip_handshake: bool = True) -> np.ndarray:
    """``(N, first, 66)`` float32: the first ``first`` packets' 64 raw bytes / 255, log1p(IAT in ms) / 10
    and direction; with ``skip_handshake`` the flow tracker drops payload-free TCP packets (SYN, SYN-ACK,
    bare ACK) first *(ours)*. Missing packets are zeros."""
    n = len(tr.raw)
    out = np.zeros((n, first, 66), np.float32)
    tcp = tr.raw[:, :, 9] == 6
    bare = tcp & (tr.length <= IP_HDR + TCP_HDR)
    present = tr.length > 0
    for i in range(n):
        idx = np.flatnonzero(present[i] & ~(bare[i] if skip_handshake else False))[:first]
        k = len(idx)
        out[i, :k, :64] = tr.raw[i, idx] / 255.0
        out[i, :k, 64] = np.log1p(tr.iat[i, idx] * 1000) / 10
        out[i, :k, 65] = tr.direction[i, idx]
    return out


def app_packets(tr: FlowTraces) -> np.ndarray:
    """``(N,)`` packets per flow minus the TCP three-way handshake (what the flow tracker counts)."""
    tcp = tr.raw[:, 0, 9] == 6
    return tr.n_packets - 3 * tcp
