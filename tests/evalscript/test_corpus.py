"""Every public script in ../shared/evalscripts compiles, runs setup() and evaluatePixel on synthetic inputs.

Parametrised over the folder at collection time: adding a script adds a case. KNOWN_FAILURES lists the
scripts that cannot run yet, with the reason; the list may only shrink.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import pytest

from eobatch.errors import EvalscriptError
from eobatch.evalscript.synthetic import synthetic_samples, synthetic_scenes

from .conftest import CORPUS

SCRIPTS = sorted(p.name for p in CORPUS.glob("*.js"))
INDEX = {row["file"]: row for row in csv.DictReader((CORPUS / "INDEX.tsv").read_text().splitlines(), delimiter="\t")}
SHAPE = (3, 4)
DEFAULT_RANGE = (datetime(2023, 1, 1, tzinfo=UTC), datetime(2024, 6, 30, tzinfo=UTC))
# Scripts that select scenes on fixed dates get a request time range that contains those dates.
TIME_RANGES = {
    "s1_crop_monitoring.js": (datetime(2018, 4, 1, tzinfo=UTC), datetime(2018, 8, 31, tzinfo=UTC)),
    "s1_sar_multi-temporal_backscatter_coefficient_composite.js": (
        datetime(2018, 4, 1, tzinfo=UTC),
        datetime(2018, 8, 31, tzinfo=UTC),
    ),
}
KNOWN_FAILURES = {
    "s2_cloudless_mosaic_values.js": "script bug: declares ORBIT but reads sample.B04 on the samples array, so "
    "it returns undefined values, which eobatch rejects as non-numbers",
}


def _run(engine, name: str):
    source = (CORPUS / name).read_text(encoding="utf-8")
    time_from, time_to = TIME_RANGES.get(name, DEFAULT_RANGE)
    with engine.load(source) as script:
        scenes = {}
        for spec in script.setup.inputs:
            listed = synthetic_scenes(spec.mosaicking, time_from, time_to)
            scenes[spec.datasource] = script.filter_scenes(spec.datasource, listed, time_from, time_to)
        samples = synthetic_samples(script.setup, scenes, SHAPE)
        outputs = script.update_output({k: len(v) for k, v in samples.items()})
        result = script.evaluate(samples, scenes, shape=SHAPE)
        script.output_metadata()
        return script.setup, outputs, result


@pytest.mark.parametrize("name", SCRIPTS)
def test_corpus_script_runs_on_synthetic_inputs(engine, name):
    if name in KNOWN_FAILURES:
        with pytest.raises(EvalscriptError):
            _run(engine, name)
        return
    setup, outputs, result = _run(engine, name)
    assert set(result) == {o.id for o in outputs}
    for out in outputs:
        assert result[out.id].shape == (out.bands, *SHAPE)
    row = INDEX.get(name)
    declared = row["outputs"] if row else ""
    if row and "simple-script" not in declared and "dynamically" not in declared:
        assert ";".join(f"{o.id}:{o.bands}/{o.sample_type}" for o in setup.outputs) == declared.split(" ")[0]
    if row and row["mosaicking"] in ("ORBIT", "TILE"):
        assert any(spec.mosaicking == row["mosaicking"] for spec in setup.inputs)


def test_known_failures_are_still_in_the_corpus():
    assert set(KNOWN_FAILURES) <= set(SCRIPTS)
