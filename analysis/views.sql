-- Views of the results database, (re)created by every `fwbench ingest`.
-- Each view is preceded by a comment block: `-- view: NAME`, then its description, then
-- `-- column: description` lines; data/README.md is generated from these blocks.
-- The stats stage adds steady-state statistics and CIs (tables cell_stats, comparisons, claims);
-- these views are plain descriptive summaries of the raw runs.

-- view: run_summary
-- One row per run: the cell, the system, the outcome and the run's headline numbers.
-- median_step_ms: Plain median of the run's measured steps (ms); steady-state detection is the stats stage's job.
-- median_throughput: batch_size / median_step_ms in samples/s (equals throughput for records written by the harness).
CREATE OR REPLACE VIEW run_summary AS
SELECT
  run_id, grid_name, system_id, cell_id, repetition,
  framework, mode, model, size, phase, batch_size, seq_len, device, threads, dtype,
  status, error, n_measured, median_step_ms,
  batch_size * 1000.0 / median_step_ms AS median_throughput,
  throughput, import_s, build_s, first_step_s,
  rss_after_import_mb, peak_rss_above_import_mb, device_peak_mb,
  compile_cache_state, started_at
FROM runs;

-- view: cell_summary
-- One row per cell_id x system_id (runs of all grids pooled): run counts by outcome and the spread of run medians over ok runs.
-- n_runs: Runs of the cell on the system, any status.
-- n_ok: Runs with status ok.
-- n_failed: Runs with status failed, oom or timeout.
-- n_skipped: Runs with status skipped.
-- median_step_ms: Median over ok runs of each run's median measured step (ms).
-- min_step_ms: Smallest run median over ok runs (ms).
-- max_step_ms: Largest run median over ok runs (ms).
-- median_throughput: Median over ok runs of the run throughput (samples/s).
-- median_first_step_s: Median over ok runs of the first step time (s), compile/trace included.
-- median_peak_rss_above_import_mb: Median over ok runs of peak RSS above the post-import baseline (MB).
CREATE OR REPLACE VIEW cell_summary AS
SELECT
  cell_id, system_id,
  framework, mode, model, size, phase, batch_size, seq_len, device, threads, dtype,
  count(*) AS n_runs,
  count(*) FILTER (WHERE status = 'ok') AS n_ok,
  count(*) FILTER (WHERE status IN ('failed', 'oom', 'timeout')) AS n_failed,
  count(*) FILTER (WHERE status = 'skipped') AS n_skipped,
  median(median_step_ms) FILTER (WHERE status = 'ok') AS median_step_ms,
  min(median_step_ms) FILTER (WHERE status = 'ok') AS min_step_ms,
  max(median_step_ms) FILTER (WHERE status = 'ok') AS max_step_ms,
  median(throughput) FILTER (WHERE status = 'ok') AS median_throughput,
  median(first_step_s) FILTER (WHERE status = 'ok') AS median_first_step_s,
  median(peak_rss_above_import_mb) FILTER (WHERE status = 'ok') AS median_peak_rss_above_import_mb
FROM runs
GROUP BY ALL;

-- view: framework_pairs
-- Example comparison: every torch mode against every tensorflow mode on the same model, size, phase, batch, sequence length, device, threads, dtype and system. A descriptive ratio of medians without a CI; the stats stage's `comparisons` table has the CIs and tests.
-- torch_mode: Execution mode of the torch cell.
-- tensorflow_mode: Execution mode of the tensorflow cell.
-- torch_cell_id: cell_id of the torch cell.
-- tensorflow_cell_id: cell_id of the tensorflow cell.
-- torch_median_step_ms: cell_summary.median_step_ms of the torch cell (ms).
-- tensorflow_median_step_ms: cell_summary.median_step_ms of the tensorflow cell (ms).
-- torch_n_ok: Ok runs of the torch cell.
-- tensorflow_n_ok: Ok runs of the tensorflow cell.
-- tensorflow_over_torch: tensorflow_median_step_ms / torch_median_step_ms (> 1: torch is faster).
CREATE OR REPLACE VIEW framework_pairs AS
WITH ok AS (SELECT * FROM cell_summary WHERE n_ok > 0)
SELECT
  t.system_id, t.model, t.size, t.phase, t.batch_size, t.seq_len, t.device, t.threads, t.dtype,
  t.mode AS torch_mode, f.mode AS tensorflow_mode,
  t.cell_id AS torch_cell_id, f.cell_id AS tensorflow_cell_id,
  t.median_step_ms AS torch_median_step_ms, f.median_step_ms AS tensorflow_median_step_ms,
  t.n_ok AS torch_n_ok, f.n_ok AS tensorflow_n_ok,
  f.median_step_ms / t.median_step_ms AS tensorflow_over_torch
FROM ok AS t
JOIN ok AS f USING (system_id, model, size, phase, batch_size, seq_len, device, threads, dtype)
WHERE t.framework = 'torch' AND f.framework = 'tensorflow';

-- view: invalid_records
-- The invalid raw records of the latest ingest, one row each (kept out of runs and steps).
-- ingest_id: The ingest that reported them (the latest).
-- path: Raw record path relative to the raw directory.
-- field: Offending field (dotted path in the record).
-- message: What is wrong with it.
CREATE OR REPLACE VIEW invalid_records AS
SELECT ingest_id, unnest(invalid_records, recursive := true)
FROM ingest_report
WHERE ingest_id = (SELECT max(ingest_id) FROM ingest_report);
