"""MGRS lettering against well-known 100 km squares, located with pyproj."""

from __future__ import annotations

import pyproj
import pytest

from eobatch.grids import mgrs


def square_at(lon: float, lat: float) -> str:
    zone = int((lon + 180) // 6) + 1
    epsg = (32700 if lat < 0 else 32600) + zone
    x, y = pyproj.Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    return f"{zone:02d}{mgrs.band_letter(lat)}{mgrs.square_letters(zone, int(x // 100000), int(y // 100000))}"


@pytest.mark.parametrize(
    ("lon", "lat", "square"),
    [
        (-17.5, 14.8, "28PBB"),  # Dakar, the square of batch-api.md 5.3
        (14.5, 46.05, "33TVL"),  # Ljubljana
        (8.54, 47.37, "32TMT"),  # Zurich
        (9.5, 47.37, "32TNT"),  # east of Zurich (Lake Constance area)
        (151.21, -33.87, "56HLH"),  # Sydney
        (18.42, -33.92, "34HBH"),  # Cape Town
        (-58.38, -34.6, "21HUB"),  # Buenos Aires
    ],
)
def test_known_squares(lon: float, lat: float, square: str) -> None:
    assert square_at(lon, lat) == square


def test_letters_decode_back() -> None:
    for zone in (1, 2, 3, 28, 33, 60):
        for e in range(1, 9):
            letters = mgrs.square_letters(zone, e, 47)
            assert mgrs.easting_index(zone, letters[0]) == e
            assert mgrs.northing_residue(zone, letters[1]) == 47 % 20


def test_bands_and_their_limits() -> None:
    assert mgrs.band_letter(-80.0) == "C"
    assert mgrs.band_letter(0.0) == "N"
    assert mgrs.band_letter(-0.1) == "M"
    assert mgrs.band_letter(83.9) == "X"
    assert mgrs.band_latitudes("X") == (72.0, 84.0)
    assert mgrs.band_latitudes("P") == (8.0, 16.0)


def test_letters_outside_a_zone_set_are_rejected() -> None:
    with pytest.raises(ValueError, match="not used in zone 28"):
        mgrs.easting_index(28, "S")
    with pytest.raises(ValueError):
        mgrs.square_letters(28, 0, 10)
