"""SceneInfo lists -> the JSON descriptors the JS runtime turns into `scenes` / hook arguments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from eobatch.evalscript.spec import SceneInfo


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z (naive datetimes are taken as UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def _day(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def _tile(scene: SceneInfo, idx: int) -> dict[str, Any]:
    return {
        "date": iso(scene.date),
        "shId": scene.id,
        "tileId": scene.tile_id,
        "cloudCoverage": scene.cloud_cover,
        "dataPath": scene.data_path,
        "__idx": idx,
    }


def group_by_day(scenes: list[SceneInfo]) -> list[list[int]]:
    """Indices of `scenes` grouped per UTC day ("orbit"), in order of first appearance."""
    groups: dict[datetime, list[int]] = {}
    for n, scene in enumerate(scenes):
        groups.setdefault(_day(scene.date), []).append(n)
    return list(groups.values())


def descriptor(key: str | None, mosaicking: str, scenes: list[SceneInfo]) -> dict[str, Any]:
    """The scenes of one input: tiles (TILE, SIMPLE) or orbits = UTC days with their tiles (ORBIT).

    `__idx` is the position in `scenes` (tiles) or in the day grouping (orbits), used to map the
    result of preProcessScenes/filterScenes back to SceneInfo objects.
    """
    if mosaicking != "ORBIT":
        return {"key": key, "mosaicking": mosaicking, "items": [_tile(s, n) for n, s in enumerate(scenes)]}
    items = []
    for k, members in enumerate(group_by_day(scenes)):
        day = _day(scenes[members[0]].date)
        items.append(
            {
                "dateFrom": iso(day),
                "dateTo": iso(day + timedelta(days=1) - timedelta(seconds=1)),
                "date": iso(scenes[members[0]].date),
                "tiles": [_tile(scenes[n], n) for n in members],
                "__idx": k,
            }
        )
    return {"key": key, "mosaicking": mosaicking, "items": items}


def kept_scenes(mosaicking: str, scenes: list[SceneInfo], kept: list[Any]) -> list[SceneInfo]:
    """Map the `__idx` values a hook kept (in its order) back to SceneInfo objects."""
    if mosaicking != "ORBIT":
        return [scenes[int(i)] for i in kept if isinstance(i, int | float) and 0 <= int(i) < len(scenes)]
    groups = group_by_day(scenes)
    out: list[SceneInfo] = []
    for i in kept:
        if isinstance(i, int | float) and 0 <= int(i) < len(groups):
            out.extend(scenes[n] for n in groups[int(i)])
    return out
