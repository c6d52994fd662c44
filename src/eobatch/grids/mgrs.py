"""MGRS lettering (WGS84, "AA" scheme): latitude bands and 100 km square letters, as pure functions.

* Latitude bands are 8 degrees tall, lettered C..X from 80S without I and O; X is 12 degrees (72N-84N).
* Square column letters repeat every three zones: zones 1, 4, 7, ... use A-H, zones 2, 5, 8, ... use
  J-R and zones 3, 6, 9, ... use S-Z (I and O are never used); the letter is chosen by the 100 km
  easting index 1..8 (easting 100000-899999 m).
* Square row letters A..V (20 letters, no I or O) cycle every 2000 km of northing, starting at A on the
  equator in odd zones and at F in even zones. The southern hemisphere uses the false northing
  (10 000 000 m) unchanged, which is a whole number of cycles.
"""

from __future__ import annotations

BANDS = "CDEFGHJKLMNPQRSTUVWX"
ROW_LETTERS = "ABCDEFGHJKLMNPQRSTUV"
COLUMN_SETS = ("ABCDEFGH", "JKLMNPQR", "STUVWXYZ")
SQUARE = 100_000


def band_letter(lat: float) -> str:
    """The MGRS latitude band of `lat`, clamped to C (80S) .. X (84N)."""
    index = int((lat + 80.0) // 8.0)
    return BANDS[min(max(index, 0), len(BANDS) - 1)]


def band_latitudes(band: str) -> tuple[float, float]:
    """South and north latitude of a band letter."""
    index = BANDS.index(band)
    south = -80.0 + 8.0 * index
    return south, (84.0 if band == "X" else south + 8.0)


def square_letters(zone: int, easting_index: int, northing_index: int) -> str:
    """Two letters of the 100 km square with lower-left corner (easting_index, northing_index) x 100 km."""
    if not 1 <= easting_index <= 8:
        raise ValueError(f"100 km easting index must be 1..8, got {easting_index}")
    column = COLUMN_SETS[(zone - 1) % 3][easting_index - 1]
    row = ROW_LETTERS[(northing_index + (5 if zone % 2 == 0 else 0)) % 20]
    return column + row


def easting_index(zone: int, column_letter: str) -> int:
    """The 100 km easting index (1..8) of a column letter in `zone`; ValueError if not in the zone's set."""
    letters = COLUMN_SETS[(zone - 1) % 3]
    if column_letter not in letters:
        raise ValueError(f"column letter {column_letter!r} is not used in zone {zone} (allowed: {letters})")
    return letters.index(column_letter) + 1


def northing_residue(zone: int, row_letter: str) -> int:
    """The 100 km northing index modulo 20 that a row letter stands for in `zone`."""
    if row_letter not in ROW_LETTERS:
        raise ValueError(f"row letter {row_letter!r} is not an MGRS row letter ({ROW_LETTERS})")
    return (ROW_LETTERS.index(row_letter) - (5 if zone % 2 == 0 else 0)) % 20
