"""The planning layer: every job of a loaded grid and its one command line.

A job is one fresh process that writes one record: a speed run (`fwbench run`, one cell and
repetition) or an accuracy run (`fwbench accuracy`, one framework x model x seed). The Snakefile,
`fwbench grid` and the tests all plan through `plan()`, so they agree on the jobs of a grid, their
order, and their commands; a new kind of job is a new job class here and a rule in the workflow.
Where a job's record goes is the raw layout's business (fwbench.campaigns.record_path).

Order: speed jobs repetition-major (repetition k of every cell before repetition k+1 of any
cell, so slow drift of the machine spreads over all cells), then the accuracy jobs seed-major. Within each
repetition round a campaign runs its cells in a random order seeded by the campaign id and the round
(`interleaved`: randomized multiple interleaved trials, Abedi & Brecht, ICPE 2017: a fixed order lets
periodic interference fall on the same cells every round); each run records its `position` in its round.
"""

from __future__ import annotations

import os
import random
import shlex
from dataclasses import dataclass, replace
from typing import ClassVar, Union

from fwbench.accuracy.spec import DATASETS, DEFAULT_MODE, AccuracyCell, LRSchedule
from fwbench.cells import Cell, CellError
from fwbench.grid import Grid, GridCell, GridError, expand_cells

SPEED = "speed"
ACCURACY = "accuracy"
#: Every kind of job, in run order.
KINDS: tuple[str, ...] = (SPEED, ACCURACY)


@dataclass(frozen=True)
class RunCommand:
    """The command line of one job; str() is the shell-quoted command line.

    A plain object on purpose: Snakemake does not record params it cannot represent, so the
    grid's hash, version and protocol can change without marking finished runs for a rerun.
    """

    argv: tuple[str, ...]

    def __str__(self) -> str:
        return shlex.join(self.argv)


@dataclass(frozen=True)
class SpeedJob:
    """One repetition of one speed cell: one `fwbench run` process."""

    grid_cell: GridCell
    repetition: int
    position: int | None = None  # place in its repetition round's randomized order (None: grid order, unrecorded)
    kind: ClassVar[str] = SPEED

    @property
    def cell(self) -> Cell:
        return self.grid_cell.cell

    @property
    def cell_id(self) -> str:
        return self.grid_cell.cell_id

    @property
    def threads(self) -> int:
        return self.cell.threads


@dataclass(frozen=True)
class AccuracyJob:
    """One training run of the accuracy track: one `fwbench accuracy` process (seed in the cell)."""

    cell: AccuracyCell
    timeout: float
    repetition: int = 0
    kind: ClassVar[str] = ACCURACY

    @property
    def cell_id(self) -> str:
        return self.cell.cell_id

    @property
    def threads(self) -> int:
        return self.cell.threads


Job = Union[SpeedJob, AccuracyJob]


@dataclass(frozen=True)
class Plan:
    """Every job of one grid, in run order, by kind."""

    grid: Grid
    speed: tuple[SpeedJob, ...]
    accuracy: tuple[AccuracyJob, ...]

    @property
    def jobs(self) -> tuple[Job, ...]:
        return (*self.speed, *self.accuracy)

    def counts(self) -> dict[str, int]:
        """Jobs per kind (every kind listed, 0 when the grid has none)."""
        return {SPEED: len(self.speed), ACCURACY: len(self.accuracy)}

    def priority(self, job: SpeedJob) -> int:
        """The scheduler priority (higher first) that runs the speed jobs in plan order: every job of round k
        before any of round k+1, and within a round by position; accuracy jobs come after (priority 0)."""
        per_round = max(1, len(self.speed) // max(1, self.grid.repetitions))
        position = job.position if job.position is not None else 0
        return (self.grid.repetitions - job.repetition) * per_round + (per_round - position)


def plan(grid: Grid, cores: int | None = None) -> Plan:
    """Every job of the grid; `cores` resolves threads "all" (default: the grid's own)."""
    cells = expand_cells(grid, cores)
    speed = tuple(SpeedJob(gc, rep) for rep in range(grid.repetitions) for gc in cells)
    return Plan(grid=grid, speed=speed, accuracy=tuple(accuracy_jobs(grid)))


def round_order(campaign_id: str, repetition: int, cell_ids: list[str]) -> list[str]:
    """The cells of one repetition round in the campaign's random order: seeded by the campaign id and the
    round (a string seed, so the same on every host and Python run), hence kept when a campaign resumes."""
    order = list(cell_ids)
    random.Random(f"{campaign_id}:round-{repetition}").shuffle(order)
    return order


def interleaved(plan_: Plan, campaign_id: str) -> Plan:
    """The plan with each repetition round's speed jobs in the campaign's random order, positions set."""
    speed = []
    for rep in range(plan_.grid.repetitions):
        jobs = {job.cell_id: job for job in plan_.speed if job.repetition == rep}
        speed += [replace(jobs[cid], position=i) for i, cid in enumerate(round_order(campaign_id, rep, list(jobs)))]
    return replace(plan_, speed=tuple(speed))


def accuracy_jobs(grid: Grid) -> list[AccuracyJob]:
    """The accuracy section's jobs, seed-major (seed 0 of every model and framework first); [] without one."""
    section = grid.accuracy
    if section is None:
        return []
    jobs = []
    for seed in range(section.seeds):
        for model, options in section.models.items():
            for framework in section.frameworks:
                try:
                    cell = AccuracyCell(
                        framework=framework, mode=DEFAULT_MODE[framework], model=model, size=options.size,
                        dataset=DATASETS[model], epochs=options.epochs, batch_size=section.batch_size,
                        lr_schedule=LRSchedule.make(section.lr_schedule, options.epochs, options.lr),
                        seed=seed, threads=section.threads)
                except CellError as exc:  # the schema should have refused it; say where anyway
                    raise GridError(f"{grid.path}: accuracy.models.{model}: {exc}") from exc
                jobs.append(AccuracyJob(cell, section.timeout))
    return jobs


def command(grid: Grid, job: Job, out: str | os.PathLike[str], compile_cache_dir: str | os.PathLike[str] | None = None,
            campaign_id: str | None = None) -> RunCommand:
    """The command of any job writing its record to `out` (compile_cache_dir: speed jobs only)."""
    if isinstance(job, SpeedJob):
        return run_command(grid, job, out, compile_cache_dir, campaign_id)
    return accuracy_command(grid, job, out, campaign_id)


def run_command(grid: Grid, job: SpeedJob, out: str | os.PathLike[str],
                compile_cache_dir: str | os.PathLike[str] | None = None, campaign_id: str | None = None) -> RunCommand:
    """The `fwbench run` command of one speed job."""
    c, protocol = job.cell, job.grid_cell.protocol
    argv = [
        "fwbench", "run",
        "--framework", c.framework, "--mode", c.mode, "--model", c.model, "--size", c.size,
        "--phase", c.phase, "--batch-size", str(c.batch_size), "--seq-len", str(c.seq_len),
        "--device", c.device, "--threads", str(c.threads), "--dtype", c.dtype, "--variant", c.variant,
        "--runtime", c.runtime, "--backend", c.backend,
        "--seed", str(grid.seed), "--warmup", str(protocol.warmup), "--steps", str(protocol.steps),
        "--timeout", str(protocol.timeout), *_record_options(grid, job.repetition, out, campaign_id),
    ]
    if job.position is not None:
        argv += ["--position", str(job.position)]
    if compile_cache_dir is not None:
        argv += ["--compile-cache-dir", str(compile_cache_dir)]
    return RunCommand(tuple(argv))


def accuracy_command(grid: Grid, job: AccuracyJob, out: str | os.PathLike[str],
                     campaign_id: str | None = None) -> RunCommand:
    """The `fwbench accuracy` command of one accuracy job."""
    c = job.cell
    return RunCommand((
        "fwbench", "accuracy", "--framework", c.framework, "--mode", c.mode, "--model", c.model, "--size", c.size,
        "--epochs", str(c.epochs), "--batch-size", str(c.batch_size), "--lr-schedule", c.lr_schedule.name,
        "--lr", repr(c.lr_schedule.base_lr), "--seed", str(c.seed), "--threads", str(c.threads),
        "--device", c.device, "--timeout", str(job.timeout), *_record_options(grid, job.repetition, out, campaign_id),
    ))


def _record_options(grid: Grid, repetition: int, out: str | os.PathLike[str], campaign_id: str | None) -> list[str]:
    """What every job's record says about its grid and campaign and where it is written (the harness's
    output options)."""
    campaign = ["--campaign-id", campaign_id] if campaign_id else []
    return ["--grid-name", grid.name, "--grid-version", str(grid.version), "--grid-hash", grid.hash, *campaign,
            "--repetition", str(repetition), "--keep-going", "--out", str(out)]
