"""Benchmark of the dataset stage (a script, not a test): prints the figures, asserts nothing.

  .venv/bin/python benchmarks/ingest_bench.py [--runs 10000] [--steps 100] [--workdir DIR] [--keep]

1. Writes `runs` synthetic records (fwbench.synthetic.make_record; 10% warmup + 90% measured
   steps = `steps` step times each) in the data/raw layout. Written with orjson and without
   fsync: this setup is not what is measured.
2. Times `fwbench.dataset.ingestion` from scratch (target <= 30 s for 10,000 x 100), a no-change
   re-ingest, and a re-ingest after 1% of the records changed.
3. Times a per-cell (x phase) median over all step rows (10^6 for the defaults), target <= 0.5 s,
   through DuckDB on the results file, and the same through Polars on the Parquet files.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

from fwbench.cells import Cell
from fwbench.constants import DEFAULT_BATCH_SIZE, DEFAULT_SEQ_LEN, MODES, SIZES
from fwbench.synthetic import fake_system, make_record

PER_CELL_MEDIAN_SQL = """
SELECT r.cell_id, r.system_id, s.phase, median(s.ms) AS median_ms, count(*) AS n_steps
FROM steps AS s JOIN runs AS r USING (run_id)
GROUP BY ALL
"""


def cells() -> list[Cell]:
    """Every framework x mode x model x size x phase on CPU at 1 and 2 threads (180 cells)."""
    out = []
    for framework, modes in MODES.items():
        for mode, model, phase, threads in itertools.product(modes, SIZES, ("train", "infer"), (1, 2)):
            for size in SIZES[model]:
                out.append(Cell(framework=framework, mode=mode, model=model, size=size, phase=phase,
                                batch_size=DEFAULT_BATCH_SIZE[model], seq_len=DEFAULT_SEQ_LEN[model],
                                device="cpu", threads=threads))
    return out


def write_raw(raw: Path, n_runs: int, n_steps: int, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    all_cells = cells()
    system = fake_system()
    grid = {"name": "bench", "version": 1, "hash": "bench"}
    warmup = max(n_steps // 10, 0)
    t0 = time.perf_counter()
    for i in range(n_runs):
        cell = all_cells[i % len(all_cells)]
        rep = i // len(all_cells)
        record = make_record(cell, rng=rng, median_ms=5.0 + (i % len(all_cells)), repetition=rep, system=system,
                             grid=grid, warmup_steps=warmup, measured_steps=n_steps - warmup)
        path = raw / "bench" / system["system_id"] / cell.cell_id / f"rep-{rep}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps(record))
    return time.perf_counter() - t0


def best_of(fn, repeat: int = 5) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    import duckdb
    import polars as pl

    from fwbench.dataset.ingestion import ingest

    work = args.workdir or Path(tempfile.mkdtemp(prefix="fwbench-ingest-bench-"))
    raw, db = work / "raw", work / "results.duckdb"
    try:
        setup = write_raw(raw, args.runs, args.steps)
        print(f"setup: wrote {args.runs} records x {args.steps} steps in {setup:.1f} s -> {raw}")

        result = ingest(raw, db)
        print(f"ingest (from scratch): {result.seconds:.2f} s  [{result.summary()}]  target <= 30 s")
        result = ingest(raw, db)
        print(f"re-ingest (nothing changed): {result.seconds:.2f} s  "
              f"(new={result.new} changed={result.changed} unchanged={result.unchanged})")
        changed = sorted(raw.rglob("*.json"))[:: 100]
        for path in changed:  # touch 1%: a new run_id and new steps, same path
            record = orjson.loads(path.read_bytes())
            record["run_id"] = f"{int(record['run_id'], 16) ^ 1:032x}"
            path.write_bytes(orjson.dumps(record))
        result = ingest(raw, db)
        print(f"re-ingest ({len(changed)} changed): {result.seconds:.2f} s  (changed={result.changed})")

        con = duckdb.connect(str(db), read_only=True)
        n_rows = con.execute("SELECT count(*) FROM steps").fetchone()[0]
        n_cells = len(con.execute(PER_CELL_MEDIAN_SQL).fetchall())
        best, median = best_of(lambda: con.execute(PER_CELL_MEDIAN_SQL).fetchall())
        print(f"per-cell (x phase) median over {n_rows:,} step rows ({n_cells} groups), DuckDB: "
              f"best {best * 1000:.0f} ms, median {median * 1000:.0f} ms of 5  target <= 500 ms")
        best, median = best_of(lambda: con.execute(
            "SELECT cell_id, median(median_step_ms) FROM runs WHERE status = 'ok' GROUP BY cell_id").fetchall())
        print(f"per-cell median of run medians ({args.runs} runs), DuckDB: best {best * 1000:.0f} ms")
        con.close()

        pq = result.parquet_dir

        def polars_query() -> None:
            steps = pl.scan_parquet(pq / "steps" / "**" / "*.parquet", hive_partitioning=True)
            runs = pl.scan_parquet(pq / "runs" / "**" / "*.parquet", hive_partitioning=True)
            (steps.join(runs.select("run_id", "cell_id"), on="run_id")
             .group_by("cell_id", "system_id", "phase").agg(pl.col("ms").median()).collect())

        best, median = best_of(polars_query)
        print(f"per-cell median over the Parquet files, Polars: best {best * 1000:.0f} ms, median {median * 1000:.0f} ms")
        size = sum(p.stat().st_size for p in pq.rglob("*.parquet"))
        print(f"sizes: results.duckdb {db.stat().st_size / 1e6:.1f} MB, parquet {size / 1e6:.1f} MB")
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
