"""Croissant (MLCommons) description of the dataset: data/croissant.json.

Written from the two Frictionless packages (data/parquet and data/analysis), which are themselves
written from the table definitions in fwbench.dataset.tables and the files as they are; so the
data dictionary, the packages and this file share one source and cannot drift. A table stored as
one file is read from a FileObject; a hive-partitioned table from a FileSet over its partition
files, its partition columns extracted from the file paths. Every file is listed with its sha256.
License, citation and version come from CITATION.cff. Deterministic: same files, same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from fwbench import paths
from fwbench.dataset.metadata import DATAPACKAGE_FILE
from fwbench.files import write_text_if_changed

CROISSANT_FILE = "croissant.json"
CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
PARQUET_FORMAT = "application/x-parquet"
# The tables a user of the benchmark asks for first, in this order; analysis tables follow.
RECORD_SET_TABLES: tuple[str, ...] = ("runs", "steps", "systems", "campaigns", "accuracy_runs", "accuracy_epochs",
                                      "claims", "comparisons", "cell_stats", "reproducibility")
_DATA_TYPES = {"VARCHAR": "sc:Text", "INTEGER": "sc:Integer", "BIGINT": "sc:Integer", "SMALLINT": "sc:Integer",
               "TINYINT": "sc:Integer", "UBIGINT": "sc:Integer", "UINTEGER": "sc:Integer", "HUGEINT": "sc:Integer",
               "DOUBLE": "sc:Float", "FLOAT": "sc:Float", "BOOLEAN": "sc:Boolean", "TIMESTAMP": "sc:DateTime",
               "DATE": "sc:Date"}
# The JSON-LD context of Croissant 1.x, as mlcroissant writes it (mlcroissant._src.core.rdf.make_context).
CONTEXT: dict[str, Any] = {
    "@language": "en", "@vocab": "https://schema.org/", "citeAs": "cr:citeAs", "column": "cr:column",
    "conformsTo": "dct:conformsTo", "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/", "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"}, "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty", "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract", "field": "cr:field", "fileProperty": "cr:fileProperty", "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet", "format": "cr:format", "includes": "cr:includes", "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath", "key": "cr:key", "md5": "cr:md5", "parentField": "cr:parentField", "path": "cr:path",
    "recordSet": "cr:recordSet", "references": "cr:references", "regex": "cr:regex", "repeated": "cr:repeated",
    "replace": "cr:replace", "samplingRate": "cr:samplingRate", "sc": "https://schema.org/",
    "separator": "cr:separator", "source": "cr:source", "subField": "cr:subField", "transform": "cr:transform",
}


def data_type(duck_type: str) -> str | None:
    """The Croissant data type of a DuckDB type; None for nested types, which are left out."""
    if duck_type.startswith("DECIMAL"):
        return "sc:Float"
    if duck_type == '"NULL"':  # a column with no value at all: text is the honest reading
        return "sc:Text"
    return _DATA_TYPES.get(duck_type)


def _package(directory: Path) -> dict[str, Any]:
    path = directory / DATAPACKAGE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no datapackage.json (run `fwbench ingest` and `fwbench analyze` first)")
    return json.loads(path.read_text(encoding="utf-8"))


def _field(table: str, spec: dict[str, Any], source: dict[str, Any]) -> dict[str, Any] | None:
    dtype = data_type(spec.get("duckdb_type", ""))
    if dtype is None:
        return None
    field: dict[str, Any] = {"@type": "cr:Field", "@id": f"{table}/{spec['name']}", "name": spec["name"],
                             "dataType": dtype, "source": source}
    if spec.get("description"):
        field["description"] = spec["description"]
    return field


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes (the Croissant `sha256` of every file)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_object(root: Path, relative: str) -> dict[str, Any]:
    path = root / relative
    return {"@type": "cr:FileObject", "@id": relative, "name": relative, "contentUrl": relative,
            "encodingFormat": PARQUET_FORMAT, "sha256": file_sha256(path), "contentSize": f"{path.stat().st_size} B"}


def _record_set(table: str, resources: list[dict[str, Any]], root: Path,
                prefix: str) -> tuple[dict[str, Any], list[dict]]:
    """One table's record set and the distribution entries (files, file set) it reads."""
    files = [_file_object(root, f"{prefix}/{r['path']}") for r in resources]
    partitioned = any(r.get("partition") for r in resources)
    if partitioned:
        file_set = {"@type": "cr:FileSet", "@id": f"{prefix}/{table}/", "name": f"{prefix}/{table}/",
                    "description": f"The partition files of `{table}` (each also listed with its sha256).",
                    "encodingFormat": PARQUET_FORMAT, "includes": f"{prefix}/{table}/*/*/*.parquet"}
        distribution, reader = [*files, file_set], {"fileSet": {"@id": file_set["@id"]}}
    else:
        distribution, reader = files, {"fileObject": {"@id": files[0]["@id"]}}
    fields = [f for spec in resources[0]["schema"]["fields"]
              if (f := _field(table, spec, {**reader, "extract": {"column": spec["name"]}})) is not None]
    for column in resources[0].get("partition", {}):
        fields.append({"@type": "cr:Field", "@id": f"{table}/{column}", "name": column, "dataType": "sc:Text",
                       "description": f"Partition value `{column}=` in the file's path.",
                       "source": {**reader, "extract": {"fileProperty": "fullpath"},
                                  "transform": {"regex": f"^.*{column}=([^/]+)/.*$"}}})
    record_set = {"@type": "cr:RecordSet", "@id": table, "name": table,
                  "description": resources[0].get("description", ""), "field": fields}
    return record_set, distribution


def _citation(citation_file: Path) -> dict[str, Any]:
    cff = yaml.safe_load(citation_file.read_text(encoding="utf-8"))
    authors = " and ".join(a.get("name") or f"{a['family-names']}, {a['given-names']}" for a in cff["authors"])
    key = f"fwbench{str(cff['date-released'])[:4]}"
    bibtex = (f"@misc{{{key}, title = {{{cff['title']}}}, author = {{{authors}}}, "
              f"year = {{{str(cff['date-released'])[:4]}}}, version = {{{cff['version']}}}, "
              f"note = {{{cff.get('message', '').strip()}}}}}")
    return {"license": cff["license-url"], "version": str(cff["version"]), "citeAs": bibtex,
            "creator": [{"@type": "sc:Person" if "family-names" in a else "sc:Organization",
                         "name": a.get("name") or f"{a['given-names']} {a['family-names']}"} for a in cff["authors"]],
            "datePublished": str(cff["date-released"]), "title": cff["title"], "abstract": cff["abstract"],
            "url": cff.get("repository-code") or cff.get("url") or ""}


def build_croissant(parquet_dir: Path, analysis_dir: Path, root: Path,
                    citation_file: Path | None = None) -> dict[str, Any]:
    """The Croissant description of the tables in both packages, with paths relative to `root`."""
    by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
    prefixes: dict[str, str] = {}
    for directory in (parquet_dir, analysis_dir):
        prefix = os.path.relpath(directory, root).replace(os.sep, "/")
        for resource in _package(directory)["resources"]:
            table = resource.get("table", resource["name"])
            by_table[table].append(resource)
            prefixes[table] = prefix
    record_sets: list[dict[str, Any]] = []
    distribution: list[dict[str, Any]] = []
    for table in RECORD_SET_TABLES:
        if by_table.get(table):
            record_set, files = _record_set(table, by_table[table], root, prefixes[table])
            record_sets.append(record_set)
            distribution.extend(files)
    meta = _citation(citation_file or paths.CITATION_FILE)
    dataset: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": "fwbench-results",
        "description": f"{meta['title']}. {meta['abstract'].strip()}",
        "license": meta["license"],
        "version": meta["version"],
        "citeAs": meta["citeAs"],
        "creator": meta["creator"],
        "datePublished": meta["datePublished"],
        "keywords": ["benchmark", "PyTorch", "TensorFlow", "deep learning frameworks", "performance"],
        "distribution": distribution,
        "recordSet": record_sets,
    }
    if meta["url"]:
        dataset["url"] = meta["url"]
    return dataset


def write_croissant(parquet_dir: str | os.PathLike[str], analysis_dir: str | os.PathLike[str],
                    target: str | os.PathLike[str]) -> Path:
    """Write croissant.json (atomically, only when its text changed); paths in it are relative to its folder."""
    out = Path(target)
    text = json.dumps(build_croissant(Path(parquet_dir), Path(analysis_dir), out.parent), indent=2) + "\n"
    return write_text_if_changed(out, text)
