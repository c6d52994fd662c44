"""Mosaicking rules on small arrays: first valid in order, per day, per scene, dataMask and zeros."""

from __future__ import annotations

import numpy as np

from eobatch.processing.mosaic import SceneData, first_valid, per_day, per_scene

SHAPE = (4, 5)


def _scene(value: float, valid_cols: slice) -> SceneData:
    valid = np.zeros(SHAPE, bool)
    valid[:, valid_cols] = True
    band = np.where(valid, value, np.nan).astype(np.float32)
    return SceneData({"B04": band, "B08": band * 2}, valid)


class Reader:
    """Serves prepared scenes and records which were read."""

    def __init__(self, scenes):
        self.scenes, self.calls = scenes, []

    def __call__(self, key, wanted):
        self.calls.append(key)
        got = self.scenes[key]
        if got is None or not (got.valid & wanted).any():
            return None
        return SceneData({k: v.copy() for k, v in got.bands.items()}, got.valid.copy())


def test_first_valid_takes_each_pixel_from_the_first_scene_with_data():
    reader = Reader({"new": _scene(1, slice(0, 2)), "mid": _scene(2, slice(1, 4)), "old": _scene(3, slice(0, 5))})
    aoi = np.ones(SHAPE, bool)
    out = first_valid(["new", "mid", "old"], reader, aoi, ["B04", "B08"])
    np.testing.assert_array_equal(out["B04"][0], [1, 1, 2, 2, 3])
    np.testing.assert_array_equal(out["B08"][0], [2, 2, 4, 4, 6])
    assert out["dataMask"].all()


def test_first_valid_stops_once_the_tile_is_full():
    reader = Reader({"a": _scene(1, slice(0, 5)), "b": _scene(2, slice(0, 5))})
    first_valid(["a", "b"], reader, np.ones(SHAPE, bool), ["B04"])
    assert reader.calls == ["a"]


def test_outside_the_area_and_without_data_everything_is_zero():
    reader = Reader({"a": _scene(5, slice(0, 3))})
    aoi = np.ones(SHAPE, bool)
    aoi[0] = False
    out = first_valid(["a"], reader, aoi, ["B04", "B08"])
    expected_mask = np.zeros(SHAPE, np.float32)
    expected_mask[1:, :3] = 1
    np.testing.assert_array_equal(out["dataMask"], expected_mask)
    np.testing.assert_array_equal(out["B04"], expected_mask * 5)
    assert not np.isnan(out["B08"]).any()


def test_no_scenes_gives_one_empty_sample():
    out = first_valid([], Reader({}), np.ones(SHAPE, bool), ["B04"])
    assert not out["dataMask"].any() and not out["B04"].any()


def test_per_day_and_per_scene_keep_one_sample_each():
    scenes = {"d1a": _scene(1, slice(0, 2)), "d1b": _scene(2, slice(0, 5)), "d2": _scene(3, slice(3, 5)), "x": None}
    aoi = np.ones(SHAPE, bool)
    days = per_day([["d1a", "d1b"], ["d2", "x"]], Reader(scenes), aoi, ["B04"])
    assert len(days) == 2
    np.testing.assert_array_equal(days[0]["B04"][0], [1, 1, 2, 2, 2])
    np.testing.assert_array_equal(days[1]["B04"][0], [0, 0, 0, 3, 3])
    tiles = per_scene(["d1a", "x", "d2"], Reader(scenes), aoi, ["B04"])
    assert [float(t["dataMask"].sum()) for t in tiles] == [8.0, 0.0, 8.0]
    np.testing.assert_array_equal(tiles[0]["B04"][0], [1, 1, 0, 0, 0])
