import datetime as dt

import pytest
from shapely.geometry import box

from eobatch.collections import Scene, group_by_day, order_scenes
from eobatch.errors import BadRequest


def scene(id_: str, when: str, cc: float | None) -> Scene:
    return Scene(id_, dt.datetime.fromisoformat(when), cc, {}, box(0, 0, 1, 1), 32633)


SCENES = [
    scene("a", "2024-04-03T10:00:00+00:00", 20.0),
    scene("b", "2024-04-11T10:00:00+00:00", 5.0),
    scene("c", "2024-04-11T10:00:00+00:00", 5.0),  # same time and cloud as b: id breaks the tie
    scene("d", "2024-04-18T10:00:00+00:00", None),
    scene("e", "2024-04-18T23:59:59+00:00", 5.0),
]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        pytest.param("mostRecent", ["e", "d", "b", "c", "a"], id="most-recent"),
        pytest.param("leastRecent", ["a", "b", "c", "d", "e"], id="least-recent"),
        # cloud 5: e (newest), then b/c (same time, by id); 20: a; missing cloud cover last: d
        pytest.param("leastCC", ["e", "b", "c", "a", "d"], id="least-cc"),
    ],
)
def test_order_scenes(order, expected):
    assert [s.id for s in order_scenes(reversed(SCENES), order)] == expected


def test_unknown_order_lists_allowed():
    with pytest.raises(BadRequest, match="mostRecent, leastRecent, leastCC"):
        order_scenes(SCENES, "newest")


def test_group_by_utc_day_keeps_order():
    late = scene("f", "2024-04-19T01:00:00+02:00", 1.0)  # 23:00 UTC on the 18th
    groups = group_by_day(order_scenes([*SCENES, late], "mostRecent"))
    assert [(day.isoformat(), [s.id for s in g]) for day, g in groups] == [
        ("2024-04-18", ["e", "f", "d"]),
        ("2024-04-11", ["b", "c"]),
        ("2024-04-03", ["a"]),
    ]


def test_scenes_are_hashable_and_comparable():
    assert len({*SCENES, SCENES[0]}) == 5
    assert SCENES[0] == scene("a", "2024-04-03T10:00:00+00:00", 20.0)
