"""Kaleidoscope's two-tier policy: MAC counts, fixed-point MLP, routing by packet count."""

from __future__ import annotations

import numpy as np
import torch

from trustmap.models.traffic import FlowCNN, PacketMLP, TwoTier, count_macs, predict_labels, quantize_mlp


def test_mac_counts_have_known_answers():
    assert count_macs(PacketMLP(packets=3, classes=5), (3, 66)) == 198 * 64 + 64 * 32 + 32 * 5
    assert count_macs(FlowCNN(packets=16, classes=5), (16, 66)) == 16 * 32 * 66 * 3 + 16 * 32 * 32 * 3 + 32 * 5


def test_fixed_point_mlp_tracks_the_float_mlp():
    torch.manual_seed(0)
    mlp = PacketMLP().eval()
    x = np.random.default_rng(0).random((500, 3, 66)).astype(np.float32)
    q = quantize_mlp(mlp, x)
    assert all(w.dtype == np.int8 for w in q.weights)
    with torch.no_grad():
        ref = mlp(torch.from_numpy(x)).numpy()
    err = np.abs(q.logits(x) - ref).max()
    assert err < 0.05 * np.abs(ref).max()
    assert np.mean(q.predict(x) == ref.argmax(1)) > 0.9
    coarse = quantize_mlp(mlp, x, bits=3)
    assert np.abs(coarse.logits(x) - ref).max() > err  # fewer bits, larger error


def test_two_tier_routes_by_packet_count_and_counts_macs():
    torch.manual_seed(0)
    mlp, cnn = PacketMLP().eval(), FlowCNN().eval()
    rng = np.random.default_rng(0)
    x3, x16 = rng.random((50, 3, 66), dtype=np.float32), rng.random((50, 16, 66), dtype=np.float32)
    n = np.where(np.arange(50) < 10, 40, 4)
    tt = TwoTier(mlp, cnn, threshold=16)
    labels = tt.predict(x3, x16, n)
    assert np.array_equal(labels[:10], predict_labels(cnn, x16[:10]))
    assert np.array_equal(labels[10:], predict_labels(mlp, x3[10:]))
    m, c = count_macs(mlp, (3, 66)), count_macs(cnn, (16, 66))
    assert tt.mean_macs(n) == m + 0.2 * c
