"""Grid files: schema, validation messages, expansion, stable ids and the shipped grids' promises."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from fwbench import constants as C
from fwbench import grid as fwgrid
from fwbench import jobs as fwjobs
from fwbench.accuracy.spec import LR_SCHEDULES
from fwbench.accuracy.spec import MODELS as ACCURACY_MODELS
from fwbench.cells import Cell, cell_id
from fwbench.paths import GRIDS_DIR
from fwbench.schemas import load_schema

SHIPPED = ("smoke", "default", "full", "gpu")


def minimal() -> dict[str, Any]:
    return {
        "version": 1,
        "repetitions": 2,
        "protocol": {"warmup": 1, "steps": 3, "timeout": 60},
        "cells": [{
            "name": "b0",
            "frameworks": {"torch": ["eager"], "tensorflow": ["function"]},
            "models": {"cnn": ["tiny"]},
            "phases": ["train", "infer"],
            "threads": [1, 2],
        }],
    }


def write(tmp_path: Path, data: dict[str, Any], name: str = "g") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def error_of(tmp_path: Path, data: dict[str, Any]) -> str:
    path = write(tmp_path, data)
    with pytest.raises(fwgrid.GridError) as info:
        fwgrid.load_grid(path, cores=2)
    message = str(info.value)
    assert str(path) in message  # always names the file
    return message


# --- shipped grids -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_grid_is_valid(name: str) -> None:
    grid = fwgrid.load_grid(name, cores=2)
    assert grid.name == name and grid.version >= 1 and len(grid.hash) == 12
    assert fwjobs.plan(grid, cores=2).speed


def test_every_grid_file_is_shipped() -> None:
    assert set(fwgrid.available_grids()) >= set(SHIPPED)


def test_smoke_is_tiny_with_two_repetitions() -> None:
    grid = fwgrid.load_grid("smoke", cores=2)
    cells = [gc.cell for gc in fwgrid.expand_cells(grid, cores=2)]
    assert grid.repetitions == 2
    assert {c.size for c in cells} == {"tiny"}
    assert {c.framework for c in cells} == set(C.CLAIMS_FRAMEWORKS)
    assert {c.phase for c in cells} == set(C.PHASES)
    assert len(fwjobs.plan(grid, cores=2).speed) <= 16


def test_default_grid_keeps_its_promises() -> None:
    grid = fwgrid.load_grid("default", cores=2)
    cells = [gc.cell for gc in fwgrid.expand_cells(grid, cores=2)]
    assert grid.repetitions >= 5
    # every family but the second CNN (cnn_plain: the ablation grid, within the 30-minute budget)
    assert {c.model for c in cells} == set(C.MODELS) - {"cnn_plain"}
    # the claims' two frameworks in every mode (JAX and Keras: the frameworks grid, outside the 30-minute budget)
    assert {(c.framework, c.mode) for c in cells} == {(f, m) for f in C.CLAIMS_FRAMEWORKS for m in C.MODES[f]}
    assert {c.phase for c in cells} == set(C.PHASES)
    assert {c.threads for c in cells} == {1, 2}
    assert {c.device for c in cells} == {"cpu"}
    for model in {c.model for c in cells}:  # every model has every mode that is run for it in both phases
        for phase in C.PHASES:
            assert {(c.framework, c.mode) for c in cells if c.model == model and c.phase == phase} >= {
                ("torch", "eager"), ("tensorflow", "eager"), ("tensorflow", "function"), ("tensorflow", "xla")}


def test_ablation_grid_holds_what_the_layer_question_needs() -> None:
    """Issue 14: every variant beside its standard model, both CNN families, the medium CNN, inference at
    batch >= 128 for every family, LSTM/BERT training across sequence lengths and batch sizes."""
    grid = fwgrid.load_grid(C.ABLATION_GRID, cores=2)
    cells = [gc.cell for gc in fwgrid.expand_cells(grid, cores=2)]
    assert grid.repetitions >= 5
    for framework in C.CLAIMS_FRAMEWORKS:
        for model in ("cnn", "lstm"):
            for variant in C.VARIANTS[framework][model]:
                assert any(c.framework == framework and c.model == model and c.variant == variant
                           and c.phase == "train" for c in cells), (framework, model, variant)
    assert {c.model for c in cells} == set(C.MODELS)
    assert any(c.model == "cnn" and c.size == "medium" and c.phase == "train" for c in cells)
    for model in ("cnn", "lstm", "bert"):
        assert any(c.model == model and c.phase == "infer" and c.batch_size >= 128 for c in cells)
    assert any(c.framework == "torch" and c.mode == "compile" and c.batch_size >= 128 for c in cells)  # C12b
    for model in ("lstm", "bert"):
        train = [c for c in cells if c.model == model and c.phase == "train" and c.variant == C.STANDARD_VARIANT]
        assert {c.seq_len for c in train} >= {32, 64, 128}
        assert {c.batch_size for c in train} >= {8, 32}
    assert len({c.cell_id for c in cells}) == len(cells)


def test_a_variant_no_framework_of_the_block_has_is_named(tmp_path: Path) -> None:
    data = yaml.safe_load((fwgrid.GRIDS_DIR / "ablation.yaml").read_text())
    data["cells"][1]["variants"] = ["fused_bn"]  # the plain CNN has no BatchNorm to fuse
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    allowed = "allowed: channels_last, isa_avx2, no_onednn, onednn_on, standard"
    with pytest.raises(fwgrid.GridError, match=rf"plain-cnn.*variants='fused_bn'.*{allowed}"):
        fwgrid.load_grid(path, cores=2)


def test_full_grid_sweeps_sizes_batches_and_threads_up_to_all_cores() -> None:
    grid = fwgrid.load_grid("full", cores=8)
    cells = [gc.cell for gc in fwgrid.expand_cells(grid, cores=8)]
    assert grid.repetitions >= 10
    for model in C.MODELS:
        assert {c.size for c in cells if c.model == model} == set(C.SIZES[model])
    assert len({c.batch_size for c in cells}) >= 3
    assert {c.threads for c in cells} == {1, 2, 4, 8}
    assert max(c.threads for c in fwgrid.expand_cells(grid, cores=6) for c in [c.cell]) == 6


def test_gpu_grid_runs_cuda_cells() -> None:
    cells = [gc.cell for gc in fwgrid.expand_cells(fwgrid.load_grid("gpu", cores=2), cores=2)]
    assert {c.device for c in cells} == {"cuda"}
    assert {c.framework for c in cells} == set(C.FRAMEWORKS)
    assert {c.backend for c in cells if c.framework == "keras"} == set(C.KERAS_BACKENDS)


def test_frameworks_grid_sets_each_keras_backend_beside_its_native_framework() -> None:
    """Issue 18: every Keras backend's training cells have the backend's own framework in the matching mode
    (fwbench.stats.framework_contrasts.KERAS_LAYER_REFERENCE) on the same workloads, and JAX jit has torch eager
    and TF function beside it."""
    from fwbench.stats.framework_contrasts import KERAS_LAYER_REFERENCE

    cells = [gc.cell for gc in fwgrid.expand_cells(fwgrid.load_grid("frameworks", cores=2), cores=2)]
    present = {(c.framework, c.backend, c.mode, c.model) for c in cells}
    keras = [(c.backend, c.mode, c.model) for c in cells if c.framework == "keras"]
    assert {b for b, _, _ in keras} == set(C.KERAS_BACKENDS)
    for backend, mode, model in keras:
        assert (backend, C.NATIVE_BACKEND, KERAS_LAYER_REFERENCE[backend, mode], model) in present
    for model in ("cnn", "lstm", "bert"):
        assert {("jax", "jit"), ("torch", "eager"), ("tensorflow", "function")} <= {
            (c.framework, c.mode) for c in cells if c.model == model}


def test_a_backends_list_without_keras_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    path.write_text("version: 1\nrepetitions: 1\nprotocol: {warmup: 1, steps: 2, timeout: 10}\ncells:\n"
                    "  - frameworks: {torch: [eager]}\n    models: {cnn: [tiny]}\n    phases: [train]\n"
                    "    threads: [1]\n    backends: [jax]\n")
    with pytest.raises(fwgrid.GridError, match="backends"):
        fwgrid.load_grid(path, cores=2)


# --- schema ------------------------------------------------------------------------------------


def _enums(schema: dict[str, Any], *path: str) -> list[Any]:
    node: Any = schema
    for key in path:
        node = node[key]
    return node


def test_schema_enums_are_the_constants() -> None:
    schema = load_schema("grid")
    defs = schema["$defs"]
    assert _enums(defs, "framework_modes", "propertyNames", "enum") == list(C.FRAMEWORKS)
    for fw in C.FRAMEWORKS:
        assert _enums(defs, "framework_modes", "properties", fw, "items", "enum") == list(C.MODES[fw])
    assert _enums(defs, "model_sizes", "propertyNames", "enum") == list(C.MODELS)
    for model in C.MODELS:
        assert _enums(defs, "model_sizes", "properties", model, "items", "enum") == list(C.SIZES[model])
    block = defs["block"]["properties"]
    assert block["phases"]["items"]["enum"] == list(C.PHASES)
    assert block["devices"]["items"]["enum"] == list(C.DEVICES)
    assert block["dtypes"]["items"]["enum"] == list(C.DTYPES)
    assert block["variants"]["items"]["enum"] == list(C.ALL_VARIANTS)
    excl = defs["exclusion"]["properties"]
    assert excl["variant"]["oneOf"][0]["enum"] == list(C.ALL_VARIANTS)
    assert block["runtimes"]["items"]["enum"] == excl["runtime"]["oneOf"][0]["enum"] == list(C.ALL_RUNTIMES)
    assert excl["framework"]["oneOf"][0]["enum"] == list(C.FRAMEWORKS)
    assert set(excl["mode"]["oneOf"][0]["enum"]) == {m for modes in C.MODES.values() for m in modes}
    assert set(excl["size"]["oneOf"][0]["enum"]) == {s for sizes in C.SIZES.values() for s in sizes}
    assert set(excl) - {"reason"} == {f for f in Cell.__dataclass_fields__}
    run_cell = load_schema("run")["properties"]["cell"]["properties"]
    assert run_cell["variant"]["enum"] == list(C.ALL_VARIANTS)
    assert run_cell["runtime"]["enum"] == list(C.ALL_RUNTIMES)
    assert load_schema("run")["properties"]["status"]["enum"] == list(C.STATUSES)
    assert run_cell["model"]["enum"] == list(C.MODELS)


def test_every_schema_property_is_described() -> None:
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, sub in node.get("properties", {}).items():
                assert "description" in sub or "$ref" in sub, f"{where}.{key} has no description"
            for key, sub in node.items():
                walk(sub, f"{where}.{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{where}[{i}]")

    walk(load_schema("grid"), "grid.schema")


# --- validation messages: file, field, allowed values -------------------------------------------


@pytest.mark.parametrize(
    ("patch", "field", "allowed"),
    [
        ({"frameworks": {"torch": ["jit"]}}, "cells[0].frameworks.torch[0]", "eager, compile"),
        ({"frameworks": {"pytorch": ["eager"]}}, "cells[0].frameworks.pytorch", "torch, tensorflow"),
        ({"models": {"bert": ["small", "huge"]}}, "cells[0].models.bert[1]", "tiny, mini, small"),
        ({"phases": ["fit"]}, "cells[0].phases[0]", "train, infer"),
        ({"devices": ["tpu"]}, "cells[0].devices[0]", "cpu, cuda"),
        ({"threads": [0]}, "cells[0].threads[0]", ">= 1"),
        ({"threads": ["many"]}, "cells[0].threads[0]", "'all'"),
        ({"batchsize": [4]}, "cells[0].batchsize", "batch_sizes"),
    ],
)
def test_bad_block_names_file_field_and_allowed_values(tmp_path: Path, patch: dict, field: str, allowed: str) -> None:
    data = minimal()
    data["cells"][0].update(patch)
    message = error_of(tmp_path, data)
    assert field in message and allowed in message, message


def test_missing_and_bad_top_level_fields(tmp_path: Path) -> None:
    data = minimal()
    del data["version"]
    message = error_of(tmp_path, data)
    assert "version" in message and "required" in message
    data = minimal()
    data["repetitions"] = 0
    assert "repetitions" in error_of(tmp_path, data)
    data = minimal()
    data["protocol"]["stepz"] = 3
    message = error_of(tmp_path, data)
    assert "protocol.stepz" in message and "steps" in message and "timeout" in message


def test_unknown_grid_lists_the_available_ones(tmp_path: Path) -> None:
    write(tmp_path, minimal(), "alpha")
    write(tmp_path, minimal(), "beta")
    with pytest.raises(fwgrid.GridError, match=r"no such grid 'gamma'; available grids: alpha, beta"):
        fwgrid.load_grid("gamma", grids_dir=tmp_path)


def test_not_yaml_or_not_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("version: [1\n")
    with pytest.raises(fwgrid.GridError, match="not valid YAML"):
        fwgrid.load_grid(tmp_path / "x.yaml")
    (tmp_path / "y.yaml").write_text("- 1\n")
    with pytest.raises(fwgrid.GridError, match="must be a mapping"):
        fwgrid.load_grid(tmp_path / "y.yaml")


def test_cell_listed_twice_is_kept_once_if_measured_the_same_way(tmp_path: Path) -> None:
    data = minimal()
    data["cells"].append(copy.deepcopy(data["cells"][0]) | {"name": "b1", "threads": [2, 3]})
    cells = fwgrid.expand_cells(fwgrid.load_grid(write(tmp_path, data), cores=4), cores=4)
    assert len(cells) == len({gc.cell for gc in cells}) == 2 * 2 * 3
    assert {gc.block for gc in cells if gc.cell.threads == 2} == {"b0"}


def test_cell_listed_twice_with_another_protocol_is_an_error(tmp_path: Path) -> None:
    data = minimal()
    data["cells"].append(copy.deepcopy(data["cells"][0]) | {"name": "b1", "threads": [2], "protocol": {"steps": 9}})
    message = error_of(tmp_path, data)
    assert "b1" in message and "b0" in message and "another protocol" in message


def test_dead_exclusion_is_an_error(tmp_path: Path) -> None:
    data = minimal() | {"exclude": [{"model": "bert"}]}
    assert "exclude[0] matches no cell" in error_of(tmp_path, data)


def test_extra_validator_failure_is_reported_with_the_field(tmp_path: Path) -> None:
    calls = []

    def validate(data: dict, schema: str) -> None:
        calls.append(schema)

    fwgrid.load_grid(write(tmp_path, minimal()), validate=validate, cores=2)
    assert calls and calls[0].endswith("grid.schema.yaml")


def test_snakemake_validate_accepts_shipped_grids() -> None:
    from snakemake.utils import validate

    for name in SHIPPED:
        fwgrid.load_grid(name, validate=validate, cores=2)


# --- expansion ----------------------------------------------------------------------------------


def test_expansion_crosses_lists_and_applies_defaults(tmp_path: Path) -> None:
    data = minimal()
    data["cells"].append({"frameworks": {"torch": ["eager"]}, "models": {"lstm": ["tiny"], "bert": ["tiny"]},
                          "phases": ["infer"], "threads": [2], "seq_lens": [8, 16]})
    grid = fwgrid.load_grid(write(tmp_path, data), cores=2)
    cells = [gc.cell for gc in fwgrid.expand_cells(grid, cores=2)]
    assert len(cells) == 2 * 2 * 2 + 2 * 2
    cnn = [c for c in cells if c.model == "cnn"]
    assert {c.batch_size for c in cnn} == {C.DEFAULT_BATCH_SIZE["cnn"]} and {c.seq_len for c in cnn} == {0}
    assert {c.seq_len for c in cells if c.model == "bert"} == {8, 16}
    assert {gc.block for gc in fwgrid.expand_cells(grid, cores=2)} == {"b0", "cells[1]"}


def test_exclusions_drop_matching_cells(tmp_path: Path) -> None:
    data = minimal() | {"exclude": [{"framework": "tensorflow", "threads": [1], "reason": "thin"}]}
    cells = [gc.cell for gc in fwgrid.expand_cells(fwgrid.load_grid(write(tmp_path, data), cores=2), cores=2)]
    assert len(cells) == 6
    assert not [c for c in cells if c.framework == "tensorflow" and c.threads == 1]


def test_threads_all_resolves_to_cores_and_caps_the_sweep(tmp_path: Path) -> None:
    assert fwgrid.resolve_threads([1, 2, 4, 8, "all"], cores=4) == [1, 2, 4]
    assert fwgrid.resolve_threads([1, "all"], cores=6) == [1, 6]
    data = minimal()
    data["cells"][0]["threads"] = [1, 16, "all"]
    grid = fwgrid.load_grid(write(tmp_path, data), cores=3)
    assert {gc.cell.threads for gc in fwgrid.expand_cells(grid, cores=3)} == {1, 3}


def test_block_protocol_overrides_part_of_the_grid_protocol(tmp_path: Path) -> None:
    data = minimal()
    data["cells"][0]["protocol"] = {"steps": 7}
    gc = fwgrid.expand_cells(fwgrid.load_grid(write(tmp_path, data), cores=2), cores=2)[0]
    assert gc.protocol == fwgrid.Protocol(warmup=1, steps=7, timeout=60.0)


def test_cell_ids_are_the_cells_module_hashes_and_stable_under_edits(tmp_path: Path) -> None:
    grid = fwgrid.load_grid(write(tmp_path, minimal()), cores=2)
    before = {gc.cell_id: gc.cell for gc in fwgrid.expand_cells(grid, cores=2)}
    assert all(cid == cell_id(cell) for cid, cell in before.items())
    edited = minimal() | {"version": 2}
    edited["cells"].append({"frameworks": {"torch": ["eager"]}, "models": {"lstm": ["tiny"]},
                            "phases": ["train"], "threads": [2]})
    after = fwgrid.cells_by_id(fwgrid.load_grid(write(tmp_path, edited, "g2"), cores=2), cores=2)
    assert set(before) < set(after) and len(after) == len(before) + 1


def test_grid_hash_ignores_comments_and_layout(tmp_path: Path) -> None:
    a = write(tmp_path, minimal(), "a")
    b = tmp_path / "b.yaml"
    b.write_text("# a comment\n" + yaml.safe_dump(minimal(), default_flow_style=True))
    assert fwgrid.load_grid(a).hash == fwgrid.load_grid(b).hash
    assert fwgrid.load_grid(write(tmp_path, minimal() | {"version": 2}, "c")).hash != fwgrid.load_grid(a).hash


def test_grids_dir_is_the_repositorys() -> None:
    assert GRIDS_DIR.name == "grids" and (GRIDS_DIR / "smoke.yaml").is_file()


def test_accuracy_section_is_parsed_and_its_errors_name_file_and_field(tmp_path: Path) -> None:
    data = minimal() | {"accuracy": {"models": {"cnn": {"size": "tiny", "epochs": 1}}, "seeds": 3}}
    grid = fwgrid.load_grid(write(tmp_path, data), cores=2)
    assert grid.accuracy is not None and grid.accuracy.seeds == 3
    assert grid.accuracy.models["cnn"] == fwgrid.AccuracyModel(size="tiny", epochs=1, lr=C.ACCURACY_DEFAULT_LR["cnn"])
    assert fwgrid.load_grid(write(tmp_path, minimal(), "plain"), cores=2).accuracy is None
    data["accuracy"]["seeds"] = 0
    message = error_of(tmp_path, data)
    assert "accuracy.seeds" in message and "allowed: a number >= 1" in message


def test_accuracy_schema_defaults_are_the_constants() -> None:
    defs = load_schema("grid")["$defs"]
    section = defs["accuracy"]["properties"]
    assert section["seeds"]["default"] == C.ACCURACY_DEFAULT_SEEDS
    assert section["batch_size"]["default"] == C.ACCURACY_DEFAULT_BATCH_SIZE
    assert section["lr_schedule"]["default"] == C.ACCURACY_DEFAULT_LR_SCHEDULE
    assert section["threads"]["default"] == C.DEFAULT_MAX_THREADS
    assert section["timeout"]["default"] == C.DEFAULT_TIMEOUT_S
    assert section["lr_schedule"]["enum"] == list(LR_SCHEDULES)
    assert section["models"]["propertyNames"]["enum"] == list(ACCURACY_MODELS)
    for model in ACCURACY_MODELS:
        options = defs[f"accuracy_model_{model}"]["properties"]
        assert options["size"]["enum"] == list(C.SIZES[model])
        described = " ".join(options[k]["description"] for k in ("size", "epochs", "lr"))
        for default in (C.ACCURACY_DEFAULT_SIZE[model], C.ACCURACY_DEFAULT_EPOCHS[model], C.ACCURACY_DEFAULT_LR[model]):
            assert f"default {default}." in described
