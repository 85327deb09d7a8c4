"""Fashion-MNIST captions: per-class tertile bins and templated captions."""

import numpy as np

from trustmap.data.captions import AttributeBins, all_captions, attributes, caption, tuple_id


def _images(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 28, 28), np.float32)
    for k in range(n):
        top, w = rng.integers(2, 14), rng.integers(4, 26)
        x[k, top : top + 10, 1 : 1 + w] = rng.uniform(0.3, 1.0)
    return x


def test_attributes_measure_mass_width_and_centroid():
    x = np.zeros((1, 28, 28), np.float32)
    x[0, 10:12, 3:9] = 1.0
    mass, width, centroid = attributes(x)[0]
    assert mass == 12 and width == 6 and abs(centroid - 10.5) < 1e-5


def test_bins_are_tertiles_within_each_class():
    x, y = _images(300), np.repeat([0, 1, 2], 100)
    t = AttributeBins.fit(x, y).tuples(x, y)
    assert t.shape == (300, 4) and (t[:, 0] == y).all()
    for c in range(3):
        counts = np.bincount(t[y == c, 1], minlength=3)
        assert counts.min() >= 30  # about a third each


def test_captions_name_the_class_and_bins():
    t = np.array([1, 2, 0, 1])
    assert caption(t, template=0) == "a heavy narrow trouser, sitting centred in the frame"
    caps = all_captions()
    assert len(caps) == 1350 and len(set(caps)) == 1350
    assert caps[int(tuple_id(t)) * 5] == caption(t, template=0)
