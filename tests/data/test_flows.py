"""Synthetic flow traces (repro kaleidoscope): seeded, protocol structure, per-class laws, features."""

from __future__ import annotations

import numpy as np
import pytest

from trustmap.data.flows import CLASSES, app_packets, flow_traces, packet_features
from trustmap.errors import DataError


@pytest.fixture(scope="module")
def traces():
    return flow_traces(300, keep=20, seed=0)


def test_traces_are_seeded_and_shaped(traces):
    again = flow_traces(300, keep=20, seed=0)
    assert all(np.array_equal(getattr(traces, k), getattr(again, k)) for k in ("raw", "iat", "n_packets", "label"))
    assert not np.array_equal(flow_traces(300, keep=20, seed=1).raw, traces.raw)
    assert traces.raw.shape == (300, 20, 64) and traces.raw.dtype == np.uint8
    assert np.bincount(traces.label).tolist() == [120, 30, 30, 75, 45]  # the default mix 40/10/10/25/15%


def test_tcp_flows_open_with_a_three_way_handshake_and_tls(traces):
    tcp = traces.label != CLASSES.index("voip")
    raw = traces.raw[tcp]
    assert np.all(raw[:, :, 0][traces.length[tcp] > 0] == 0x45) and np.all(raw[:, 0, 9] == 6)
    assert raw[:, 0, 33].tolist() == [0x02] * tcp.sum()  # SYN
    assert np.all(raw[:, 1, 33] == 0x12) and np.all(raw[:, 2, 33] == 0x10)  # SYN-ACK, ACK
    assert np.all(traces.length[tcp][:, :3] == 40)  # no payload
    assert np.all(raw[:, 3, 40] == 0x16) and np.all(traces.direction[tcp][:, 3] == 0)  # ClientHello, upstream
    server_port = raw[:, 0, 22].astype(int) * 256 + raw[:, 0, 23]
    assert np.all(server_port == 443)
    # total length field matches the recorded length
    assert np.array_equal(raw[:, :, 2].astype(int) * 256 + raw[:, :, 3], traces.length[tcp])


def test_class_laws_differ_as_documented(traces):
    voip = traces.label == CLASSES.index("voip")
    assert np.all(traces.raw[voip, 0, 9] == 17) and np.all(traces.raw[voip, 0, 28] == 0x80)  # UDP, RTP v2
    iat_voip = traces.iat[voip, 1:][traces.length[voip, 1:] > 0]
    assert abs(np.median(iat_voip) - 0.020) < 0.002
    bulk = traces.label == CLASSES.index("bulk")
    assert np.median(traces.length[bulk, 6:][traces.length[bulk, 6:] > 0]) == 1500
    n = app_packets(traces)
    assert np.median(n[voip]) > 50 > np.median(n[traces.label == CLASSES.index("chat")])


def test_features_skip_the_handshake_and_pad(traces):
    f = packet_features(traces, first=3)
    assert f.shape == (300, 3, 66) and f.dtype == np.float32
    tcp = traces.label != CLASSES.index("voip")
    assert np.allclose(f[tcp, 0, 40], 0x16 / 255)  # first kept packet is the ClientHello
    with_hs = packet_features(traces, first=3, skip_handshake=False)
    assert np.allclose(with_hs[tcp, 0, 33], 0x02 / 255)
    short = np.flatnonzero(traces.n_packets <= 1)
    if len(short):
        assert np.all(f[short, 1:] == 0)
    with pytest.raises(DataError, match="n >= 1"):
        flow_traces(0)
    with pytest.raises(DataError, match="mix"):
        flow_traces(10, mix=(1.0, 0.0))
