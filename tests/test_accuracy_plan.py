"""The grid's accuracy section expands into one job per framework x model x seed, and each job's
command rebuilds exactly its cell."""

from __future__ import annotations

import argparse

import pytest

from fwbench.accuracy.cli import build_cell, register
from fwbench.accuracy.plan import AccuracyPlanError, accuracy_command, expand

SECTION = {"frameworks": ["torch", "tensorflow"], "models": {"cnn": {"size": "tiny", "epochs": 4},
                                                             "lstm": {"epochs": 6, "lr": 0.1}},
           "seeds": 5, "batch_size": 32, "lr_schedule": "constant", "threads": 2, "timeout": 600}


def test_expand_gives_every_framework_model_seed_once() -> None:
    jobs = expand(SECTION)
    assert len(jobs) == 2 * 2 * 5
    ids = {j.cell.cell_id for j in jobs}
    assert len(ids) == 20
    assert [j.cell.seed for j in jobs[:4]] == [0, 0, 0, 0]  # seed-major
    assert {j.cell.mode for j in jobs if j.cell.framework == "tensorflow"} == {"function"}


def test_command_rebuilds_the_same_cell() -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    for job in expand(SECTION)[:4]:
        argv = accuracy_command(job, "/tmp/x.json", "default", 1, "abc").argv
        assert argv[:2] == ("fwbench", "accuracy")
        args = parser.parse_args(list(argv[1:]))
        assert build_cell(args) == job.cell


@pytest.mark.parametrize(("change", "field"), [
    ({"frameworks": ["jax"]}, "frameworks"), ({"models": {"bert": {}}}, "models"),
    ({"models": {"cnn": {"size": "huge"}}}, "models.cnn.size"), ({"seeds": 0}, "seeds"),
    ({"lr_schedule": "cosine"}, "lr_schedule"), ({"color": 1}, "color"),
    ({"models": {"cnn": {"width": 3}}}, "models.cnn.width"),
])
def test_bad_section_names_the_field(change, field) -> None:
    with pytest.raises(AccuracyPlanError, match=f"accuracy.{field}"):
        expand({**SECTION, **change}, source="grids/x.yaml")
