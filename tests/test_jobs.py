"""The planning layer (fwbench.jobs): every job kind of a grid, its order, and commands that rebuild
exactly the job's cell when parsed by the subcommand that runs it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
import yaml
from snakemake.utils import validate as snakemake_validate

from fwbench import constants as C
from fwbench import grid as fwgrid
from fwbench import jobs as fwjobs
from fwbench.accuracy import cli as accuracy_cli
from fwbench.cells import Cell
from fwbench.harness import cli as run_cli

SECTION = {"frameworks": ["torch", "tensorflow"], "models": {"cnn": {"size": "tiny", "epochs": 4},
                                                             "lstm": {"epochs": 6, "lr": 0.1}},
           "seeds": 5, "batch_size": 32, "lr_schedule": "constant", "threads": 2, "timeout": 600}


def grid_file(tmp_path: Path, accuracy: dict[str, Any] | None = SECTION, name: str = "g") -> Path:
    data: dict[str, Any] = {
        "version": 1, "repetitions": 3, "protocol": {"warmup": 1, "steps": 3, "timeout": 60},
        "cells": [{"frameworks": {"torch": ["eager"], "tensorflow": ["function"]}, "models": {"cnn": ["tiny"]},
                   "phases": ["train", "infer"], "threads": [2]}],
    }
    if accuracy is not None:
        data["accuracy"] = accuracy
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def parser_of(module: Any) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    module.register(parser.add_subparsers())
    return parser


def test_plan_holds_every_kind_in_run_order(tmp_path: Path) -> None:
    grid = fwgrid.load_grid(grid_file(tmp_path), cores=2)
    plan = fwjobs.plan(grid)
    cells = fwgrid.expand_cells(grid)
    assert plan.counts() == {"speed": len(cells) * 3, "accuracy": 2 * 2 * 5}
    assert [job.kind for job in plan.jobs] == ["speed"] * len(plan.speed) + ["accuracy"] * len(plan.accuracy)
    # speed jobs repetition-major: rep k of every cell before rep k+1 of any cell
    assert [j.repetition for j in plan.speed] == sorted(j.repetition for j in plan.speed)
    assert [j.cell for j in plan.speed[:len(cells)]] == [gc.cell for gc in cells]
    assert isinstance(plan.speed[0].cell, Cell)
    # accuracy jobs seed-major, one cell each, tf.function for TensorFlow (Keras's default)
    assert [j.cell.seed for j in plan.accuracy[:4]] == [0, 0, 0, 0]
    assert len({j.cell_id for j in plan.accuracy}) == len(plan.accuracy)
    assert {j.cell.mode for j in plan.accuracy if j.cell.framework == "tensorflow"} == {"function"}


def test_a_grid_without_accuracy_section_plans_no_accuracy_job(tmp_path: Path) -> None:
    plan = fwjobs.plan(fwgrid.load_grid(grid_file(tmp_path, accuracy=None), cores=2))
    assert plan.accuracy == () and plan.counts()["accuracy"] == 0 and plan.speed


def test_accuracy_defaults_come_from_constants(tmp_path: Path) -> None:
    jobs = fwjobs.plan(fwgrid.load_grid(grid_file(tmp_path, accuracy={}), cores=2)).accuracy
    assert len(jobs) == C.ACCURACY_DEFAULT_SEEDS * len(C.CLAIMS_FRAMEWORKS) * len(C.ACCURACY_DEFAULT_EPOCHS)
    for job in jobs:
        c = job.cell
        assert (c.size, c.epochs, c.lr_schedule.base_lr) == (C.ACCURACY_DEFAULT_SIZE[c.model],
                                                              C.ACCURACY_DEFAULT_EPOCHS[c.model],
                                                              C.ACCURACY_DEFAULT_LR[c.model])
        assert (c.batch_size, job.timeout) == (C.ACCURACY_DEFAULT_BATCH_SIZE, C.DEFAULT_TIMEOUT_S)


def test_speed_command_rebuilds_the_same_cell(tmp_path: Path) -> None:
    grid = fwgrid.load_grid("smoke", cores=2)
    parser = parser_of(run_cli)
    for job in fwjobs.plan(grid).speed:
        command = fwjobs.command(grid, job, tmp_path / "rep.json", ".cache/inductor/smoke")
        assert command.argv[:2] == ("fwbench", "run") and str(command).startswith("fwbench run --framework")
        args = parser.parse_args(list(command.argv[1:]))
        assert run_cli.build_cell(args) == job.cell
        assert (args.repetition, args.grid_name, args.grid_hash, args.keep_going) == (job.repetition, "smoke",
                                                                                     grid.hash, True)
        assert (args.warmup, args.steps, args.timeout) == (job.grid_cell.protocol.warmup,
                                                           job.grid_cell.protocol.steps,
                                                           job.grid_cell.protocol.timeout)


def test_accuracy_command_rebuilds_the_same_cell(tmp_path: Path) -> None:
    grid = fwgrid.load_grid(grid_file(tmp_path), cores=2)
    parser = parser_of(accuracy_cli)
    for job in fwjobs.plan(grid).accuracy[:4]:
        argv = fwjobs.command(grid, job, "/tmp/x.json").argv
        assert argv[:2] == ("fwbench", "accuracy")
        args = parser.parse_args(list(argv[1:]))
        assert accuracy_cli.build_cell(args) == job.cell and args.timeout == job.timeout


def test_command_is_not_a_builtin_so_snakemake_does_not_track_it() -> None:
    # Snakemake records only params it can repr (builtins); an edited grid must not rerun old runs.
    grid = fwgrid.load_grid("smoke", cores=2)
    command = fwjobs.command(grid, fwjobs.plan(grid).speed[0], "x.json")
    assert not isinstance(command, (str, bytes, int, float, list, tuple, dict, set, frozenset))


@pytest.mark.parametrize(("change", "field", "allowed"), [
    ({"frameworks": ["jax"]}, "accuracy.frameworks[0]", "allowed: torch, tensorflow"),
    ({"models": {"bert": {}}}, "accuracy.models.bert", "allowed: cnn, lstm"),
    ({"models": {"cnn": {"size": "huge"}}}, "accuracy.models.cnn.size", "allowed: tiny, small, medium"),
    ({"seeds": 0}, "accuracy.seeds", "allowed: a number >= 1"),
    ({"lr_schedule": "cosine"}, "accuracy.lr_schedule", "allowed: constant, step"),
    ({"color": 1}, "accuracy.color", "allowed fields: batch_size, frameworks"),
    ({"models": {"cnn": {"width": 3}}}, "accuracy.models.cnn.width", "allowed fields: epochs, lr, size"),
    ({"models": {"lstm": {"lr": 0}}}, "accuracy.models.lstm.lr", "allowed: a number > 0"),
])
def test_bad_accuracy_section_names_file_field_and_allowed_values(tmp_path: Path, change: dict, field: str,
                                                                  allowed: str) -> None:
    path = grid_file(tmp_path, {**SECTION, **change})
    with pytest.raises(fwgrid.GridError) as info:
        fwgrid.load_grid(path, cores=2)
    message = str(info.value)
    assert str(path) in message and f"{field}:" in message and allowed in message


def test_schema_defaults_filled_by_snakemake_do_not_change_the_grid(tmp_path: Path) -> None:
    # snakemake.utils.validate writes the schema's defaults into what it validates: the hash the
    # runs record must stay the hash of the file's own content.
    path = grid_file(tmp_path, {"models": {"cnn": {}}})
    plain = fwgrid.load_grid(path, cores=2)
    validated = fwgrid.load_grid(path, cores=2, validate=snakemake_validate)
    assert validated.hash == plain.hash and validated.raw == plain.raw
    assert fwjobs.plan(validated) == fwjobs.plan(plain)


def test_interleaved_rounds_are_seeded_permutations_in_priority_order(tmp_path: Path) -> None:
    """RMIT: each round a permutation of the cells, the same for a resumed campaign, another for another
    campaign or round; the scheduler priorities run the plan in order, every round before the next."""
    grid = fwgrid.load_grid("smoke", cores=2)
    base = fwjobs.plan(grid)
    plan = fwjobs.interleaved(base, "20261204T000000Z-0001")
    cells = [gc.cell_id for gc in fwgrid.expand_cells(grid)]
    assert len(plan.speed) == len(base.speed) and plan.accuracy == base.accuracy
    orders = []
    for rep in range(grid.repetitions):
        jobs = [j for j in plan.speed if j.repetition == rep]
        assert sorted(j.cell_id for j in jobs) == sorted(cells) and [j.position for j in jobs] == list(range(len(cells)))
        orders.append([j.cell_id for j in jobs])
    assert fwjobs.interleaved(base, "20261204T000000Z-0001") == plan  # a resumed campaign keeps its order
    other = fwjobs.interleaved(base, "20261204T000000Z-0002")
    assert [j.cell_id for j in other.speed] != [j.cell_id for j in plan.speed]
    assert len({tuple(o) for o in orders}) > 1 or len(cells) < 3
    priorities = [plan.priority(j) for j in plan.speed]
    assert priorities == sorted(priorities, reverse=True) and len(set(priorities)) == len(priorities)
    assert min(priorities) >= 1  # above the accuracy track's priority 0


def test_the_position_reaches_the_command(tmp_path: Path) -> None:
    grid = fwgrid.load_grid("smoke", cores=2)
    job = fwjobs.interleaved(fwjobs.plan(grid), "20261204T000000Z-0001").speed[3]
    args = parser_of(run_cli).parse_args(list(fwjobs.command(grid, job, tmp_path / "r.json").argv[1:]))
    assert args.position == job.position
    assert "--position" not in fwjobs.command(grid, fwjobs.plan(grid).speed[3], tmp_path / "r.json").argv
