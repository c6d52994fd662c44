"""process_tile end to end over synthetic COGs: values, georeferencing, mosaicking, outputs, failures."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate
from shapely.geometry import box

from eobatch.errors import TileFailure
from eobatch.processing import TargetGrid, process_tile
from tests.processing.conftest import NDVI_RGB, make_task
from tests.processing.expected import first_valid_reflectance, ndvi


def _local(settings, url: str):
    return settings.buckets_dir / url.removeprefix("s3://")


def test_ndvi_and_true_colour_match_numpy(settings, tile, synthetic_scenes):
    task = make_task(settings, tile)
    result = process_tile(task)
    assert result.scene_count == 3 and not result.no_data and not result.skipped
    assert result.outputs == ["s3://out/req-1/33TVL_6_1/default.tif", "s3://out/req-1/33TVL_6_1/ndvi.tif"]
    assert set(result.timings) == {"search", "read", "mosaic", "evaluate", "encode", "write"}
    # 250 000 px: below EOBATCH_EVALSCRIPT_COMPILE_MIN_PIXELS, so V8 unless a kernel exists already
    assert result.evaluation == "compiled" or result.evaluation.startswith("v8: ")
    grid = TargetGrid.of(task.pixel_grid)
    ordered = [synthetic_scenes[0], synthetic_scenes[1], synthetic_scenes[2]]  # mostRecent
    refl, valid = first_valid_reflectance(ordered, ["B02", "B03", "B04", "B08"], grid)
    assert valid.all()
    with rasterio.open(_local(settings, result.outputs[1])) as src:
        assert (src.crs.to_epsg(), src.transform, src.width, src.height) == (32633, grid.transform, 500, 500)
        assert (src.count, src.dtypes[0]) == (1, "float32")
        np.testing.assert_allclose(src.read(1), ndvi(refl["B04"], refl["B08"]), rtol=1e-6)
    with rasterio.open(_local(settings, result.outputs[0])) as src:
        assert (src.count, src.dtypes[0]) == (4, "uint8")
        rgb = src.read()
    expected_red = np.clip(np.floor(np.clip(2.5 * refl["B04"].astype(np.float64), 0, 1) * 255 + 0.5), 0, 255)
    assert np.abs(rgb[0].astype(int) - expected_red).max() <= 1
    assert (rgb[3] == 255).all()
    # 500 x 500 px, 4 input bands, FLOAT32 output, 1 sample
    assert result.cost_pu == pytest.approx(500 * 500 / 512**2 * 4 / 3 * 2)
    assert result.bytes_written == sum(_local(settings, u).stat().st_size for u in result.outputs)


def test_mosaicking_order_changes_the_pixels(settings, tile, synthetic_scenes):
    task = make_task(
        settings,
        tile,
        data={
            "dataFilter": {
                "timeRange": {"from": "2020-06-01T00:00:00Z", "to": "2020-06-30T00:00:00Z"},
                "mosaickingOrder": "leastCC",
            }
        },
        responses=[{"identifier": "ndvi", "format": {"type": "image/tiff"}}],
        output={"defaultTilePath": "s3://out/cc/<tileName>.<format>"},
    )
    result = process_tile(task)
    grid = TargetGrid.of(task.pixel_grid)
    refl, _ = first_valid_reflectance([synthetic_scenes[2]], ["B04", "B08"], grid)  # cloud cover 0 wins
    with rasterio.open(_local(settings, result.outputs[0])) as src:
        np.testing.assert_allclose(src.read(1), ndvi(refl["B04"], refl["B08"]), rtol=1e-6)


def test_area_of_interest_limits_the_data_mask(settings, tile):
    area = box(14.40, 45.80, 14.53, 46.00)  # the west part of the tile only
    task = make_task(
        settings,
        tile,
        area=area,
        responses=[{"identifier": "default", "format": {"type": "image/tiff"}}],
        evalscript=NDVI_MASK_ONLY,
    )
    result = process_tile(task)
    with rasterio.open(_local(settings, result.outputs[0])) as src:
        mask = src.read(1)
    assert 0 < mask.mean() < 1
    assert mask[:, 0].all() and not mask[:, -1].any()


NDVI_MASK_ONLY = """//VERSION=3
function setup() { return {input: ["B04", "dataMask"], output: {bands: 1, sampleType: "UINT8"}}; }
function evaluatePixel(s) { return [s.dataMask * (s.B04 > 0 ? 1 : 0)]; }
"""

COUNT_SAMPLES = """//VERSION=3
function setup() { return {input: [{bands: ["B04", "dataMask"]}], mosaicking: "%s",
                           output: {bands: 2, sampleType: "UINT8"}}; }
function evaluatePixel(samples) {
  var valid = 0;
  for (var i = 0; i < samples.length; i++) { valid += samples[i].dataMask; }
  return [samples.length, valid];
}
"""


@pytest.mark.parametrize(("mode", "samples", "east_valid"), [("ORBIT", 2, 1), ("TILE", 3, 2)])
def test_orbit_groups_by_day_and_tile_keeps_every_scene(settings, tile, mode, samples, east_valid):
    task = make_task(
        settings,
        tile,
        evalscript=COUNT_SAMPLES % mode,
        responses=[{"identifier": "default", "format": {"type": "image/tiff"}}],
        output={"defaultTilePath": f"s3://out/{mode}/<tileName>.<format>"},
    )
    result = process_tile(task)
    with rasterio.open(_local(settings, result.outputs[0])) as src:
        counts, valid = src.read()
    assert (counts == samples).all()
    assert (valid[:, :250] == samples).all()  # west: every sample has data
    assert (valid[:, -50:] == east_valid).all()  # east: the newest scene does not reach
    assert result.cost_pu == pytest.approx(500 * 500 / 512**2 * 1 / 3 * samples)


def test_tile_without_scenes_is_all_no_data(settings, tile):
    task = make_task(
        settings,
        tile,
        data={"dataFilter": {"timeRange": {"from": "2021-01-01T00:00:00Z", "to": "2021-01-31T00:00:00Z"}}},
    )
    result = process_tile(task)
    assert result.no_data and result.scene_count == 0
    with rasterio.open(_local(settings, result.outputs[0])) as src:
        assert not src.read(4).any()


def test_cog_png_jpeg_and_userdata_outputs(settings, tile):
    script = NDVI_RGB.replace(
        "function evaluatePixel",
        """function updateOutputMetadata(scenes, inputMetadata, om) {
  om.userData = {"note": "hello", "scenes": scenes.length};
}
function evaluatePixel""",
    )
    responses = [
        {"identifier": "default", "format": {"type": "image/png"}},
        {"identifier": "userdata", "format": {"type": "application/json"}},
    ]
    result = process_tile(
        make_task(settings, tile, evalscript=script, responses=responses, output={"defaultTilePath": "s3://out/png"})
    )
    png, js = (_local(settings, u) for u in result.outputs)
    assert result.outputs[0].endswith("/req-1/33TVL_6_1/default.png")
    with rasterio.open(png) as src:
        assert src.driver == "PNG" and src.count == 4 and src.colorinterp[3].name == "alpha"
    assert json.loads(js.read_text())["note"] == "hello"

    cog = make_task(
        settings,
        tile,
        output={
            "defaultTilePath": "s3://out/cog/<tileName>/<outputId>.<format>",
            "cogOutput": True,
            "cogParameters": {"blockxsize": 128, "blockysize": 128},
        },
    )
    for url in process_tile(cog).outputs:
        valid, errors, _ = cog_validate(str(_local(settings, url)))
        assert valid and not errors
        with rasterio.open(_local(settings, url)) as src:
            assert src.block_shapes[0] == (128, 128) and src.overviews(1) == [2]  # 250 px >= 128, 125 < 128


def test_existing_outputs_fail_skip_or_get_overwritten(settings, tile):
    base = {"defaultTilePath": "s3://out/again/<tileName>/<outputId>.<format>"}
    first = process_tile(make_task(settings, tile, output=base))
    with pytest.raises(TileFailure) as err:
        process_tile(make_task(settings, tile, output=base))
    assert not err.value.retryable and first.outputs[0] in err.value.reason
    assert process_tile(make_task(settings, tile, output=base | {"skipExisting": True})).skipped
    _local(settings, first.outputs[1]).unlink()  # only some outputs exist now
    with pytest.raises(TileFailure, match="already exist"):
        process_tile(make_task(settings, tile, output=base | {"skipExisting": True}))
    again = process_tile(make_task(settings, tile, output=base | {"skipExisting": True, "overwrite": True}))
    assert not again.skipped and _local(settings, first.outputs[1]).exists()


def test_a_retried_tile_replaces_what_its_interrupted_attempt_wrote(settings, tile):
    """An attempt killed after writing leaves files; the tile's next attempt replaces them, a first one refuses."""
    from dataclasses import replace

    base = {"defaultTilePath": "s3://out/retried/<tileName>/<outputId>.<format>"}
    first = process_tile(make_task(settings, tile, output=base))
    _local(settings, first.outputs[1]).unlink()  # the interrupted attempt wrote only part of its outputs
    with pytest.raises(TileFailure, match="already exist"):
        process_tile(make_task(settings, tile, output=base))
    retried = process_tile(replace(make_task(settings, tile, output=base), attempt=2))
    assert not retried.skipped and sorted(retried.outputs) == sorted(first.outputs)
    assert all(_local(settings, url).exists() for url in first.outputs)


def test_neighbouring_tiles_align_and_agree_in_their_overlap(settings, tile):
    from eobatch.grids import tile_by_name

    south = tile_by_name(1, "33TVL_6_2")
    out = {"defaultTilePath": "s3://out/nb/<tileName>/<outputId>.<format>"}
    responses = [{"identifier": "ndvi", "format": {"type": "image/tiff"}}]
    area = box(14.45, 45.80, 14.65, 45.95)
    a = process_tile(make_task(settings, tile, buffer=10, area=area, output=out, responses=responses))
    b = process_tile(make_task(settings, south, buffer=10, area=area, output=out, responses=responses))
    with rasterio.open(_local(settings, a.outputs[0])) as sa, rasterio.open(_local(settings, b.outputs[0])) as sb:
        assert sa.transform.f - sa.height * 20 == pytest.approx(5_080_000 - 200)
        assert sb.transform.f == pytest.approx(5_080_000 + 200)
        # the 20 buffered rows either side of y = 5 080 000 are in both tiles
        np.testing.assert_array_equal(sa.read(1)[-20:], sb.read(1)[:20])
        assert np.isfinite(sa.read(1)[-20:]).any()


def test_unreadable_source_fails_with_url_and_gdal_message(tmp_path, settings, tile, synthetic_scenes):
    import shutil

    from tests.processing.archive import write_archive

    root = tmp_path / "broken"
    config = write_archive(root, synthetic_scenes[1:2])
    (root / "S_mid" / "B08.tif").write_bytes(b"this is not a tiff")
    broken = settings.model_copy(update={"collections_file": config})
    with pytest.raises(TileFailure) as err:
        process_tile(make_task(broken, tile))
    assert str(root / "S_mid" / "B08.tif") in err.value.reason
    assert "not recognized" in err.value.reason or "not a supported" in err.value.reason
    shutil.rmtree(root)


def test_task_is_picklable(settings, tile):
    task = make_task(settings, tile)
    assert pickle.loads(pickle.dumps(task)) == task


def test_sources_over_http_range_requests(tmp_path, settings, tile, synthetic_scenes):
    from tests.processing.archive import write_archive
    from tests.processing.range_server import serve

    root = tmp_path / "http"
    server, base = serve(root)
    try:
        config = write_archive(root, synthetic_scenes[1:2], href_prefix=base)
        http = settings.model_copy(update={"collections_file": config})
        task = make_task(
            http,
            tile,
            responses=[{"identifier": "ndvi", "format": {"type": "image/tiff"}}],
            output={"defaultTilePath": "s3://out/http/<tileName>.<format>"},
        )
        result = process_tile(task)
    finally:
        server.shutdown()
        server.server_close()
    refl, _ = first_valid_reflectance(synthetic_scenes[1:2], ["B04", "B08"], TargetGrid.of(task.pixel_grid))
    with rasterio.open(_local(settings, result.outputs[0])) as src:
        np.testing.assert_allclose(src.read(1), ndvi(refl["B04"], refl["B08"]), rtol=1e-6)


DN_SCRIPT = """//VERSION=3
function setup() { return {input: [{bands: ["B04", "B08"], units: ["DN", "REFLECTANCE"]}],
                           output: {bands: 2, sampleType: "UINT16"}}; }
function evaluatePixel(s) { return [s.B04, s.B08 * 10000]; }
"""


def test_units_dn_give_raw_values(settings, tile, synthetic_scenes):
    task = make_task(
        settings,
        tile,
        evalscript=DN_SCRIPT,
        responses=[{"identifier": "default", "format": {"type": "image/tiff"}}],
        output={"defaultTilePath": "s3://out/dn/<tileName>.<format>"},
    )
    result = process_tile(task)
    grid = TargetGrid.of(task.pixel_grid)
    refl, _ = first_valid_reflectance(synthetic_scenes, ["B04", "B08"], grid)
    with rasterio.open(_local(settings, result.outputs[0])) as src:
        dn, b08 = src.read()
    np.testing.assert_array_equal(dn, np.round(refl["B04"].astype(np.float64) * 10000))
    assert np.abs(b08.astype(int) - np.round(refl["B08"].astype(np.float64) * 10000)).max() <= 1


def test_compiled_and_v8_tiles_write_the_same_files(settings, tile, synthetic_scenes):
    """The same tile with the compiled path (compile threshold 0) and with V8 only: identical rasters."""
    compiled = settings.model_copy(update={"evalscript_compile_min_pixels": 0})
    v8 = settings.model_copy(update={"evalscript_compiled": False})
    fast = process_tile(make_task(compiled, tile, request_id="req-fast"))
    slow = process_tile(make_task(v8, tile, request_id="req-v8"))
    assert fast.evaluation == "compiled"
    assert slow.evaluation.startswith("v8: ")
    for url_fast, url_slow in zip(fast.outputs, slow.outputs, strict=True):
        with rasterio.open(_local(settings, url_fast)) as a, rasterio.open(_local(settings, url_slow)) as b:
            assert np.array_equal(a.read(), b.read(), equal_nan=True)


def test_a_tile_writes_the_same_files_with_one_thread_or_several(settings, tile, synthetic_scenes, monkeypatch):
    """The worker's thread budget (eobatch/threads.py) changes how outputs are compressed, not what is written:
    the COGs of one thread and of four (GDAL compression, outputs encoded side by side) are the same bytes."""
    output = {"defaultTilePath": "s3://out/<requestId>/<tileName>/<outputId>.<format>", "cogOutput": True}
    files = {}
    for threads in (1, 4):
        monkeypatch.setenv("EOBATCH_TILE_THREADS", str(threads))
        result = process_tile(make_task(settings, tile, output=output, request_id=f"req-{threads}"))
        assert len(result.outputs) == 2
        files[threads] = [_local(settings, url).read_bytes() for url in result.outputs]
    assert files[1] == files[4]
