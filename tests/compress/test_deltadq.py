"""DeltaDQ: known-answer quantisation, group-wise masks, bit packing, bit accounting and the baselines."""

from __future__ import annotations

import math

import pytest
import torch

from trustmap.compress import bitdelta_lite, compress_deltadq, dare, group_indices, magnitude, quantize_rows
from trustmap.compress.delta import pack_bits, unpack_bits
from trustmap.compress.deltadq import (
    LAYER_META_BITS,
    dequantize_rows,
    join_codes,
    keep_for,
    reconstruct_layer,
    split_codes,
)
from trustmap.errors import TrustmapError


def _deltas(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"a.weight": torch.randn(32, 256, generator=g) * 1e-3, "b.weight": torch.randn(64, 512, generator=g) * 1e-3}


def test_quantize_known_answers():
    codes, scales = quantize_rows(torch.tensor([[-3.0, -1.0, 1.0, 3.0]]), 2)  # 4 levels at -3, -1, 1, 3
    assert codes.tolist() == [[0, 1, 2, 3]] and scales.tolist() == [2.0]
    assert dequantize_rows(codes, scales, 2).tolist() == [[-3.0, -1.0, 1.0, 3.0]]
    codes, scales = quantize_rows(torch.tensor([[1.0, -2.0, 3.0, -2.0]]), 1)  # sign x mean|v|
    assert codes.tolist() == [[1, 0, 1, 0]] and scales.tolist() == [4.0]
    assert dequantize_rows(codes, scales, 1).tolist() == [[2.0, -2.0, 2.0, -2.0]]
    with pytest.raises(TrustmapError, match="bits"):
        quantize_rows(torch.zeros(1, 4), 3)


def test_more_bits_lower_error():
    v = torch.randn(8, 256, generator=torch.Generator().manual_seed(1))
    errs = [float((dequantize_rows(*quantize_rows(v, b), b) - v).norm()) for b in (1, 2, 4, 8)]
    assert errs == sorted(errs, reverse=True) and errs[-1] < 0.02 * float(v.norm())


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_pack_and_split_roundtrip(bits):
    codes = torch.randint(0, 2**bits, (5, 13), generator=torch.Generator().manual_seed(bits), dtype=torch.uint8)
    packed = pack_bits(codes, bits)
    assert packed.shape == (5, math.ceil(13 * bits / 8)) and packed.dtype == torch.uint8
    assert torch.equal(unpack_bits(packed, bits, 13), codes)
    pb = max(1, bits // 2)
    parts = split_codes(codes, bits, pb)
    assert len(parts) == bits // pb and all(int(p.max()) < 2**pb for p in parts)
    assert torch.equal(join_codes(parts, pb), codes)


def test_group_masks_keep_exactly_k_per_group_from_the_seed():
    idx = group_indices(4, 32, group=8, keep=3, seed=5)
    assert idx.shape == (4, 12)
    for g in range(4):
        in_group = (idx >= 8 * g) & (idx < 8 * (g + 1))
        assert (in_group.sum(1) == 3).all()
    assert torch.equal(idx, group_indices(4, 32, group=8, keep=3, seed=5))
    assert not torch.equal(idx, group_indices(4, 32, group=8, keep=3, seed=6))
    assert group_indices(2, 32, group=0, keep=32, seed=0).tolist() == [list(range(32))] * 2
    with pytest.raises(TrustmapError, match="divide"):
        group_indices(4, 30, group=8, keep=2, seed=0)


@pytest.mark.parametrize("ratio", [16, 64])
def test_bits_accounting_meets_the_ratio(ratio):
    d = _deltas()
    cd = compress_deltadq(d, ratio=ratio, bits=2, group=16, seed=0)
    for lay in cd.layers:
        out, inn = lay.shape
        n = (inn // 16) * lay.keep
        assert lay.keep == keep_for(out, inn, ratio=ratio, bits=2, group=16)
        assert lay.stored_bits == out * n * 2 + 16 * out + LAYER_META_BITS
        assert sum(p.numel() for p in lay.parts) * 8 == out * n * 2  # packed parts hold exactly the code bits
        assert lay.stored_bits <= 16 * out * inn / ratio
    assert cd.ratio >= ratio and cd.delta_entries == 32 * 256 + 64 * 512
    assert cd.ratio == pytest.approx(16 * cd.delta_entries / sum(lay.stored_bits for lay in cd.layers))


def test_reconstruction_is_deterministic_and_close_without_dropout():
    d = _deltas()
    cd = compress_deltadq(d, ratio=1.9, bits=8, group=0, seed=0)  # 8 bits, every entry kept
    assert all(lay.keep == lay.shape[1] for lay in cd.layers)
    rec = cd.reconstruct()
    for name, t in d.items():
        assert float((rec[name] - t).norm() / t.norm()) < 0.02
        assert torch.equal(rec[name], reconstruct_layer(cd.layers[list(d).index(name)]))


def test_calibration_picks_among_candidates_and_bad_input_is_refused():
    d = _deltas()
    x = {n: torch.randn(40, t.shape[1], generator=torch.Generator().manual_seed(2)) for n, t in d.items()}
    cd = compress_deltadq(d, ratio=16, calib=x, groups=(8, 0), bits_choices=(2, 4), seed=0)
    assert {lay.group for lay in cd.layers} <= {8, 0} and {lay.bits for lay in cd.layers} <= {2, 4}
    assert len({lay.bits for lay in cd.layers}) == 1 and cd.ratio >= 16
    with pytest.raises(TrustmapError, match="ratio"):
        compress_deltadq(d, ratio=1.0)
    with pytest.raises(TrustmapError, match="no room"):
        compress_deltadq(d, ratio=5000, bits=8, group=8)
    with pytest.raises(TrustmapError, match="2-D"):
        compress_deltadq({"v": torch.zeros(8)}, ratio=16)


@pytest.mark.parametrize("ratio", [16, 64])
def test_baselines_at_equal_bits(ratio):
    d = _deltas()
    for est in (dare(d, ratio=ratio, seed=0), magnitude(d, ratio=ratio), bitdelta_lite(d, ratio=ratio, seed=0)):
        assert ratio <= est.ratio <= 1.1 * ratio, est.method
        assert set(est.deltas) == set(d) and all(est.deltas[n].shape == d[n].shape for n in d)
    mag = magnitude(d, ratio=ratio).deltas["b.weight"]
    kept = mag != 0
    assert float(d["b.weight"].abs()[kept].min()) >= float(d["b.weight"].abs()[~kept].max())  # the largest |delta|
    a = d["a.weight"]
    k = (a.numel() * 16 // ratio - 64) // 16  # DARE: exact count, rescaled by n / k
    dd = dare(d, ratio=ratio, seed=0).deltas["a.weight"]
    assert int((dd != 0).sum()) == k
    nz = dd != 0
    assert torch.allclose(dd[nz], (a[nz] * a.numel() / k).half().float())


def test_bitdelta_at_16x_is_sign_times_row_scale():
    d = {"w": torch.randn(8, 512, generator=torch.Generator().manual_seed(3))}
    est = bitdelta_lite(d, ratio=15.0).deltas["w"]
    assert torch.equal(torch.sign(est), torch.sign(d["w"]))
    assert torch.allclose(est.abs().mean(1), d["w"].abs().mean(1), rtol=1e-3)
