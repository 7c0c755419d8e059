"""The interactive HTML report: every rendered figure with tooltips, legend selection and filters.

One self-contained file: the vega-embed/Vega/Vega-Lite bundle comes from vl-convert and is inlined
once, so the page works offline and fetches nothing at view time. Filters (model, phase) rebuild
each chart from its own inlined data, so they work for any figure without per-figure code.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from fwbench.figures.render import read_manifest

FILTER_FIELDS = ("model", "phase", "hardware_class")

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>fwbench report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }}
section {{ margin: 2.5rem 0; }} .caption {{ color: #444; max-width: 60rem; }} .note {{ color: #a33; }}
.filters {{ position: sticky; top: 0; background: #fff; padding: .5rem 0; border-bottom: 1px solid #ddd; }}
.filters label {{ margin-right: 1.5rem; }}
</style>
<script type="text/javascript">
{bundle}
</script>
</head>
<body>
<h1>fwbench: PyTorch vs TensorFlow</h1>
<p>Interactive figures of the dataset ({summary}). Hover for values; click a legend entry to highlight
(shift-click for several); the filters below apply to every figure.</p>
<div class="filters">{filters}</div>
{sections}
<script type="text/javascript">
const SPECS = {specs};
const FILTER_FIELDS = {fields};
function filtered(spec) {{
  const s = JSON.parse(JSON.stringify(spec));
  const want = {{}};
  for (const f of FILTER_FIELDS) {{ const v = document.getElementById('filter-' + f).value; if (v) want[f] = v; }}
  for (const k of Object.keys(s.datasets || {{}})) {{
    s.datasets[k] = s.datasets[k].filter(r => Object.entries(want).every(([f, v]) => !(f in r) || String(r[f]) === v
      || (f === 'model' && String(r['model_size'] || '').startsWith(v + ' '))));
  }}
  return s;
}}
function draw() {{
  for (const [id, spec] of Object.entries(SPECS)) {{
    vegaEmbed('#vis-' + id, filtered(spec), {{actions: {{export: true, source: false, compiled: false, editor: false}}}})
      .catch(err => {{ document.getElementById('vis-' + id).textContent = 'Error: ' + err; }});
  }}
}}
for (const f of FILTER_FIELDS) document.getElementById('filter-' + f).addEventListener('change', draw);
draw();
</script>
</body>
</html>
"""


def _filter_values(specs: dict[str, dict[str, Any]], field: str) -> list[str]:
    values: set[str] = set()
    for spec in specs.values():
        for rows in (spec.get("datasets") or {}).values():
            values.update(str(r[field]) for r in rows if isinstance(r, dict) and r.get(field) is not None)
    return sorted(values)


def render_html(figures_dir: str | Path, summary: str = "") -> str:
    """The report page for the figures rendered in figures_dir (manifest.json + <id>.vl.json)."""
    import vl_convert as vlc

    out = Path(figures_dir)
    manifest = read_manifest(out)
    specs = {f["id"]: json.loads((out / f["files"]["vl.json"]).read_text(encoding="utf-8")) for f in manifest}
    sections = []
    for f in manifest:
        note = f'<p class="note">No data: {html.escape(f["note"])}</p>' if not f["has_data"] else ""
        sections.append(f'<section id="{f["id"]}"><h2>{html.escape(f["title"])}</h2>'
                        f'<p class="caption">{html.escape(f["caption"])}</p>{note}<div id="vis-{f["id"]}"></div></section>')
    filters = []
    for field in FILTER_FIELDS:
        options = "".join(f'<option value="{html.escape(v)}">{html.escape(v)}</option>' for v in _filter_values(specs, field))
        filters.append(f'<label>{field}: <select id="filter-{field}"><option value="">all</option>{options}</select></label>')
    version = _vl_version(vlc)
    bundle = vlc.javascript_bundle(vl_version=version).replace("</script", "<\\/script")
    return _PAGE.format(bundle=bundle, summary=html.escape(summary or f"{len(manifest)} figures"),
                        filters="".join(filters), sections="\n".join(sections),
                        specs=json.dumps(specs).replace("</", "<\\/"), fields=json.dumps(list(FILTER_FIELDS)))


def _vl_version(vlc: Any) -> str:
    """vl-convert's newest Vega-Lite version as 'X.Y' (the specs Altair writes target it)."""
    versions = vlc.get_vegalite_versions()
    return sorted(versions, key=lambda v: tuple(int(p) for p in v.split(".")))[-1]


def write_html_report(figures_dir: str | Path, path: str | Path, summary: str = "") -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(render_html(figures_dir, summary), encoding="utf-8")
    tmp.replace(target)
    return target
