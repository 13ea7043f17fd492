"""Dense augmentations keep every task's label consistent with the image (tif.md §5.3)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from mthub.data.transforms.dense import (
    AddIgnoreRegions,
    FillMissingLabels,
    Normalize,
    PadImage,
    PhotoMetricDistortion,
    RandomCrop,
    RandomHorizontalFlip,
    RandomScaling,
    Resize,
    dense_train_transforms,
    dense_val_transforms,
    hflip_sample,
    scale_sample,
    to_tensor_sample,
)
from mthub.data.transforms.morphology import label_map_edges, laplacian_nonzero, thin
from mthub.data.transforms.photometric import hsv_to_rgb, rgb_to_hsv

H, W = 24, 32


def _surface(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A curved, tilted surface z = f(x, y) and its analytic partial derivatives."""
    z = 3.0 + 0.3 * x + 0.1 * y + 0.5 * np.sin(0.4 * x) + 0.02 * x * y
    zx = 0.3 + 0.2 * np.cos(0.4 * x) + 0.02 * y
    zy = 0.1 + 0.02 * x
    return z, zx, zy


def _normals(zx: np.ndarray, zy: np.ndarray) -> np.ndarray:
    n = np.stack([-zx, -zy, np.ones_like(zx)], axis=-1)
    return (n / np.linalg.norm(n, axis=-1, keepdims=True)).astype(np.float32)


def test_flipped_normal_map_equals_normal_map_of_the_flipped_scene():
    # Pixel centres symmetric about x = 0, so mirroring the image is x -> -x in scene coordinates.
    xs = np.arange(W) - (W - 1) / 2.0
    ys = np.arange(H) - (H - 1) / 2.0
    x, y = np.meshgrid(xs, ys)
    z, zx, zy = _surface(x, y)
    sample = {"image": np.zeros((H, W, 3), np.uint8), "depth": z.astype(np.float32), "normals": _normals(zx, zy)}

    # The mirrored scene z'(x, y) = z(-x, y): dz'/dx = -z_x(-x, y), dz'/dy = z_y(-x, y).
    zm, zxm, zym = _surface(-x, y)
    mirrored_normals = _normals(-zxm, zym)

    out = hflip_sample(to_tensor_sample(sample))
    np.testing.assert_allclose(out["normals"].permute(1, 2, 0).numpy(), mirrored_normals, atol=1e-6)
    np.testing.assert_allclose(out["depth"][0].numpy(), zm, atol=1e-5)
    # and the naive flip without negating x would be wrong here
    naive = np.flip(sample["normals"], axis=1)
    assert np.abs(naive - mirrored_normals).max() > 0.1


def test_flip_leaves_ignored_normals_alone():
    n = torch.zeros(3, 4, 5)
    n[:, :, 0] = 255.0
    n[0, :, 1:] = 0.6
    out = hflip_sample({"normals": n})["normals"]
    assert (out[:, :, -1] == 255).all()
    assert torch.allclose(out[0, :, :-1], torch.full((4, 4), -0.6))


@pytest.mark.parametrize("s", [2.0, 0.5, 1.5])
def test_scaling_divides_depth_and_resizes_labels_nearest(s):
    depth = np.full((H, W), 4.0, np.float32)
    depth[:, :4] = 0.0  # invalid stays invalid
    seg = (np.arange(W)[None, :].repeat(H, 0) % 5).astype(np.uint8)
    out = scale_sample(to_tensor_sample({"image": np.zeros((H, W, 3), np.uint8), "depth": depth, "semseg": seg}), s)
    assert out["depth"].shape == (1, int(H * s), int(W * s)) and out["image"].shape == (3, int(H * s), int(W * s))
    d = out["depth"][0]
    assert sorted(torch.unique(d).tolist()) == [0.0, pytest.approx(4.0 / s)]
    assert set(torch.unique(out["semseg"]).tolist()) <= set(range(5))  # nearest: no mixed class ids
    assert out["semseg"].dtype == torch.int64


def test_random_scaling_draws_in_range_and_keeps_depth_times_scale():
    g = torch.Generator().manual_seed(0)
    t = RandomScaling((0.5, 2.0), generator=g)
    depth = np.full((H, W), 6.0, np.float32)
    for _ in range(5):
        out = t({"image": np.zeros((H, W, 3), np.uint8), "depth": depth})
        h = out["depth"].shape[1]
        s = 6.0 / float(out["depth"][0, 0, 0])
        assert 0.5 <= s <= 2.0 and h == int(H * s)
    # the ignore value is not rescaled
    out = scale_sample({"depth": torch.full((1, 4, 4), 255.0)}, 2.0)
    assert (out["depth"] == 255).all()


def test_resize_keeps_depth_unless_asked():
    depth = torch.full((1, 8, 8), 2.0)
    assert (Resize((16, 16))({"depth": depth})["depth"] == 2.0).all()
    assert (Resize((16, 16), scale_depth=True)({"depth": depth})["depth"] == 1.0).all()


def _coord_sample(h=H, w=W):
    rows, cols = np.mgrid[0:h, 0:w]
    image = np.stack([rows, cols, np.full_like(rows, 7)], axis=-1).astype(np.float32)
    normals = np.stack([cols / 100.0 + 0.01, rows / 100.0 + 0.01, np.full((h, w), 0.5)], -1).astype(np.float32)
    return {
        "image": torch.from_numpy(image).permute(2, 0, 1).contiguous(),
        "semseg": torch.from_numpy(rows.astype(np.int64))[None],
        "human_parts": torch.from_numpy(cols.astype(np.int64))[None],
        "depth": torch.from_numpy((1000.0 * rows + cols + 1).astype(np.float32))[None],
        "normals": torch.from_numpy(normals).permute(2, 0, 1).contiguous(),
        "edge": torch.from_numpy(((rows + cols) % 2).astype(np.float32))[None],
        "id": "coords",
    }


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_all_tasks_get_the_same_geometric_transform(seed):
    g = torch.Generator().manual_seed(seed)
    tf = dense_train_transforms((20, 40), scale_range=(1.0, 1.0), cat_max_ratio=1.0, photometric=False,
                                normalize=False, generator=g)
    out = tf(_coord_sample())
    assert out["id"] == "coords"
    row_img, col_img, marker = out["image"]
    inside = marker == 7  # the image is padded with 0
    r0, c0 = inside.nonzero()[0].tolist()
    flipped = bool(col_img[r0, c0 + 1] < col_img[r0, c0])
    # Every label decodes to the same source pixel as the image, at every non-padded pixel.
    assert torch.equal(out["semseg"][0][inside], row_img[inside].long())
    assert torch.equal(out["human_parts"][0][inside], col_img[inside].long())
    d = out["depth"][0][inside]
    assert torch.equal(torch.div(d - 1, 1000, rounding_mode="floor"), row_img[inside])
    assert torch.equal(torch.remainder(d - 1, 1000), col_img[inside])
    nx = out["normals"][0][inside]
    expected_nx = col_img[inside] / 100.0 + 0.01
    torch.testing.assert_close(nx, -expected_nx if flipped else expected_nx)
    assert torch.equal(out["edge"][0][inside], torch.remainder(row_img[inside] + col_img[inside], 2))
    # Padding carries ignore labels everywhere (depth/normals via AddIgnoreRegions).
    pad = ~inside
    assert pad.any()  # 24 < 40 columns, so there is padding
    for key in ("semseg", "human_parts", "depth", "edge"):
        assert (out[key][0][pad] == 255).all(), key
    assert (out["normals"][:, pad] == 255).all() and (out["image"][:, pad] == 0).all()


def test_scaled_tasks_stay_aligned_with_each_other_and_the_image():
    out = scale_sample(_coord_sample(), 2.0)
    row_img, col_img, _ = out["image"]
    rows = out["semseg"][0].float()
    cols = out["human_parts"][0].float()
    d = out["depth"][0] * 2.0  # undo the depth division
    assert torch.equal(torch.div(d - 1, 1000, rounding_mode="floor"), rows)
    assert torch.equal(torch.remainder(d - 1, 1000), cols)
    assert torch.allclose(out["normals"][0], cols / 100.0 + 0.01)
    # bilinear image vs nearest labels: the same source position to within one source pixel
    assert (row_img - rows).abs().max() <= 0.75 and (col_img - cols).abs().max() <= 0.75


def test_crop_and_pad_use_ignore_labels():
    sample = {
        "image": np.full((10, 12, 3), 100, np.uint8),
        "semseg": np.full((10, 12), 3, np.uint8),
        "sal": np.ones((10, 12), np.uint8),
        "depth": np.full((10, 12), 2.5, np.float32),
        "normals": np.tile(np.array([0.0, 0.0, 1.0], np.float32), (10, 12, 1)),
        "human_parts": np.full((10, 12), 2, np.uint8),
    }
    crop = RandomCrop((16, 16), generator=torch.Generator().manual_seed(0))(sample)
    assert crop["image"].shape == (3, 10, 12)  # smaller than the crop: kept whole
    out = AddIgnoreRegions()(PadImage((16, 16))(crop))
    top, left = (16 - 10) // 2, (16 - 12) // 2
    core = (slice(top, top + 10), slice(left, left + 12))
    mask = torch.zeros(16, 16, dtype=torch.bool)
    mask[core] = True
    assert (out["semseg"][0][core] == 3).all() and (out["semseg"][0][~mask] == 255).all()
    assert (out["sal"][0][~mask] == 255).all() and (out["human_parts"][0][~mask] == 255).all()
    assert (out["depth"][0][core] == 2.5).all() and (out["depth"][0][~mask] == 255).all()
    assert (out["normals"][:, ~mask] == 255).all() and (out["normals"][2][core] == 1).all()
    assert (out["image"][:, ~mask] == 0).all() and (out["image"][:, core[0], core[1]] == 100).all()


def test_random_crop_window_and_cat_max_ratio():
    seg = torch.ones(1, 20, 40, dtype=torch.int64)
    seg[:, :, 30:35] = 2
    seg[:, :, 35:] = 3
    sample = {"image": torch.zeros(3, 20, 40), "semseg": seg}

    def ok_fraction(ratio):
        g = torch.Generator().manual_seed(0)
        hits = 0
        for _ in range(40):
            s = RandomCrop((20, 10), cat_max_ratio=ratio, generator=g)(sample)["semseg"]
            _, c = torch.unique(s, return_counts=True)
            hits += int(c.numel() > 1 and c.max() / c.sum() < 0.75)
        return hits / 40

    assert ok_fraction(1.0) < 0.5 and ok_fraction(0.75) > 0.9
    out = RandomCrop((8, 8), generator=torch.Generator().manual_seed(1))(_coord_sample())
    r, c = out["image"][0], out["image"][1]
    assert out["semseg"].shape == (1, 8, 8)
    assert torch.equal(r, r[:, :1].expand(8, 8)) and torch.equal(c, c[:1].expand(8, 8))  # contiguous window
    assert torch.equal(out["semseg"][0].float(), r)


def test_photometric_changes_only_the_image_and_is_seeded():
    rng = np.random.default_rng(0)
    sample = to_tensor_sample({"image": rng.integers(0, 256, (H, W, 3)).astype(np.uint8),
                               "semseg": rng.integers(0, 40, (H, W)).astype(np.uint8),
                               "depth": rng.random((H, W)).astype(np.float32), "human_parts": None})
    outs = [PhotoMetricDistortion(generator=torch.Generator().manual_seed(s))(sample) for s in range(6)]
    assert any(not torch.equal(o["image"], sample["image"]) for o in outs)
    for o in outs:
        assert o["human_parts"] is None
        assert torch.equal(o["semseg"], sample["semseg"]) and torch.equal(o["depth"], sample["depth"])
        assert o["image"].min() >= 0 and o["image"].max() <= 255
    again = PhotoMetricDistortion(generator=torch.Generator().manual_seed(3))(sample)
    assert torch.equal(again["image"], outs[3]["image"])
    # hue/saturation round trip
    x = torch.rand(3, 5, 7)
    torch.testing.assert_close(hsv_to_rgb(rgb_to_hsv(x)), x, atol=1e-5, rtol=0)
    gray = torch.full((3, 2, 2), 0.4)
    assert (rgb_to_hsv(gray)[1] == 0).all()


def test_normalize_fill_missing_and_val_pipeline():
    s = {"image": np.full((4, 6, 3), 255, np.uint8), "human_parts": None, "semseg": np.zeros((4, 6), np.uint8)}
    n = Normalize()(s)["image"]
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    torch.testing.assert_close(n[:, 0, 0], (1 - mean) / std)
    filled = FillMissingLabels(["human_parts"])(s)
    assert filled["human_parts"].shape == (1, 4, 6) and (filled["human_parts"] == 255).all()
    out = dense_val_transforms((8, 8))(s)
    assert out["image"].shape == (3, 8, 8) and out["human_parts"] is None
    # AddIgnoreRegions: parts maps without any part in view become all-ignore; others stay
    hp = torch.zeros(1, 4, 4, dtype=torch.int64)
    assert (AddIgnoreRegions()({"human_parts": hp})["human_parts"] == 255).all()
    hp[0, 1, 1] = 3
    assert AddIgnoreRegions()({"human_parts": hp})["human_parts"][0, 1, 1] == 3
    with pytest.raises(ValueError, match="'semseg' has size"):
        to_tensor_sample({"image": np.zeros((4, 6, 3)), "semseg": np.zeros((5, 6))})
    with pytest.raises(ValueError, match="expected an"):
        to_tensor_sample({"normals": np.zeros((4, 6))})


def test_flip_probability_and_determinism():
    g = torch.Generator().manual_seed(0)
    flips = [not torch.equal(RandomHorizontalFlip(0.5, generator=g)(_coord_sample())["image"], _coord_sample()["image"])
             for _ in range(200)]
    assert 0.4 < np.mean(flips) < 0.6
    assert not any(not torch.equal(RandomHorizontalFlip(0.0)(_coord_sample())["image"], _coord_sample()["image"])
                   for _ in range(3))


# ------------------------------------------------------------------------------------------- morphology
def test_laplacian_and_thinning_by_hand():
    lm = np.zeros((6, 8), np.uint16)
    lm[:, 4:] = 5
    nz = laplacian_nonzero(lm)
    assert nz[:, 3].all() and nz[:, 4].all() and nz.sum() == 12  # both sides of the boundary, mirrored border
    edge = label_map_edges(lm)
    assert edge.dtype == np.uint8 and edge.sum() >= 4
    assert (edge.sum(axis=1)[1:-1] == 1).all()  # 1 pixel thin away from the border rows
    assert not (edge[:, :3].any() or edge[:, 5:].any())
    # a 1-pixel line is already thin; a filled rectangle thins to a line inside it
    line = np.zeros((7, 7), bool)
    line[3, 1:6] = True
    np.testing.assert_array_equal(thin(line), line)
    rect = np.zeros((9, 12), bool)
    rect[2:7, 2:10] = True
    t = thin(rect)
    assert t.sum() < rect.sum() and not (t & ~rect).any() and ndimage.label(t, np.ones((3, 3)))[1] == 1


def test_thinning_preserves_connected_components():
    rng = np.random.default_rng(0)
    for _ in range(5):
        blobs = ndimage.binary_dilation(rng.random((30, 30)) > 0.97, iterations=2)
        t = thin(blobs)
        s8 = np.ones((3, 3))
        assert ndimage.label(t, s8)[1] == ndimage.label(blobs, s8)[1]
        # no 2x2 block of foreground survives (1-pixel wide)
        assert not (t[:-1, :-1] & t[1:, :-1] & t[:-1, 1:] & t[1:, 1:]).any()
