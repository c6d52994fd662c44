"""Generate the JS driver that runs `evaluatePixel` over a chunk of pixels inside V8.

The driver is generated once per script from its normalised inputs, compiled once per context and
then called once per chunk. Band values arrive in Float32Arrays laid out `[sample][pixel]` (one array
per input and band); results go to Float64Arrays laid out `[band][pixel]` (one per output). The
sample-object literal is spelled out from the band list so every pixel's object has the same shape.
"""

from __future__ import annotations

import json

from eobatch.evalscript.spec import SetupInfo


def _sample_literal(input_no: int, bands: tuple[str, ...], offset: str) -> str:
    fields = ", ".join(f"{json.dumps(b)}: a{input_no}_{j}[{offset}]" for j, b in enumerate(bands))
    return "{" + fields + "}"


def _samples_code(setup: SetupInfo, fusion: bool) -> tuple[str, str]:
    """Return (per-pixel statements, expression) building the `samples` argument for pixel i."""
    lines: list[str] = []
    parts: list[str] = []
    for n, spec in enumerate(setup.inputs):
        if spec.mosaicking == "SIMPLE" and not fusion:
            lines.append(f"const s{n} = {_sample_literal(n, spec.bands, 'i')};")
        elif spec.mosaicking == "SIMPLE":
            lines.append(f"const s{n} = K[{n}] === 0 ? [] : [{_sample_literal(n, spec.bands, 'i')}];")
        else:
            lines.append(f"const s{n} = new Array(K[{n}]);")
            lines.append(
                f"for (let k = 0, o = i; k < K[{n}]; k++, o += C) "
                f"{{ s{n}[k] = {_sample_literal(n, spec.bands, 'o')}; }}"
            )
        key = spec.datasource if spec.datasource is not None else str(n)
        parts.append(f"{json.dumps(key)}: s{n}")
    expr = "{" + ", ".join(parts) + "}" if fusion else "s0"
    return "\n        ".join(lines), expr


MAX_UNROLLED_BANDS = 32


def _unrolled_writes(o: int, value: str, bands: int) -> str:
    """Band writes with constant indices, so V8 can keep the returned array off the heap."""
    writes = []
    for b in range(bands):
        offset = "i" if b == 0 else f"i + {b} * C"
        writes.append(f'x = {value}[{b}]; out{o}[{offset}] = typeof x === "number" ? x : num(x, {o}, {b});')
    return " ".join(writes)


def _fast_path(setup: SetupInfo) -> str:
    """Per-pixel store for the shapes setup() declares; anything else goes through store(r, i)."""
    outs = setup.outputs
    if any(o.bands > MAX_UNROLLED_BANDS for o in outs):
        return "store(r, i);"
    if len(outs) == 1:
        n = outs[0].bands
        cond = f'B0 === {n} && r != null && r.length === {n} && typeof r !== "string"'
        return f"if ({cond}) {{ let x; {_unrolled_writes(0, 'r', n)} }} else store(r, i);"
    names = ", ".join(f"v{o}" for o in range(len(outs)))
    conds = ['r != null && typeof r === "object"'] + [
        f"B{o} === {out.bands} && (v{o} = r[{json.dumps(out.id)}]) != null && v{o}.length === {out.bands} "
        f'&& typeof v{o} !== "string"'
        for o, out in enumerate(outs)
    ]
    writes = " ".join(_unrolled_writes(o, f"v{o}", out.bands) for o, out in enumerate(outs))
    return f"let {names}; if ({' && '.join(conds)}) {{ let x; {writes} }} else store(r, i);"


def driver_source(setup: SetupInfo) -> str:
    """JS source defining `__eobatch.driver` with `alloc(C, K, bands, ids, strict)` and `run(n)`.

    Arrays longer than an output's band count are cut to it unless `strict` (the V3 docs only say the
    length is "bound by" bands, and public scripts return extra values); shorter arrays are an error.
    """
    fusion = is_fusion(setup)
    per_pixel, samples_expr = _samples_code(setup, fusion)
    out_consts = " ".join(f"const out{o} = outs[{o}], B{o} = bands[{o}];" for o in range(len(setup.outputs)))
    in_decls = "\n      ".join(
        f"const a{n}_{j} = new Float32Array(Math.max(1, K[{n}] * C));"
        for n, spec in enumerate(setup.inputs)
        for j in range(len(spec.bands))
    )
    in_list = ", ".join(
        "[" + ", ".join(f"a{n}_{j}" for j in range(len(spec.bands))) + "]" for n, spec in enumerate(setup.inputs)
    )
    fast_path = _fast_path(setup)
    return f"""
(function (rt) {{
  const fail = rt.fail;
  function what(x) {{
    if (typeof x === "string") return "the string " + JSON.stringify(x.slice(0, 40));
    if (x === undefined) return "undefined";
    if (Array.isArray(x)) return "an array";
    return "a value of type " + typeof x;
  }}
  rt.driver = {{
    alloc(C, K, bands, ids, strict) {{
      {in_decls}
      const outs = bands.map((b) => new Float64Array(Math.max(1, b * C)));
      const nOut = bands.length;
      // Non-numbers are coerced like Number(x) (true -> 1, null -> 0, [0.5] -> 0.5); a value that does not
      // convert (undefined, "abc", objects, longer arrays) is an error.
      function num(x, o, b) {{
        let v = NaN;
        try {{ v = Number(x); }} catch (e) {{ /* symbols */ }}
        if (v === v) return v;
        throw fail("shape", "evaluatePixel returned " + what(x) + " instead of a number for band " + b +
                   " of output \\"" + ids[o] + "\\".");
      }}
      function put(o, v, i) {{
        const out = outs[o];
        const B = bands[o];
        if (Array.isArray(v) || ArrayBuffer.isView(v)) {{
          if (v.length < B || (strict && v.length > B)) {{
            throw fail("shape", "evaluatePixel returned " + v.length + " values for output \\"" + ids[o] +
                       "\\", which declares " + B + " bands.");
          }}
          for (let b = 0, p = i; b < B; b++, p += C) {{
            const x = v[b];
            out[p] = typeof x === "number" ? x : num(x, o, b);
          }}
        }} else if (typeof v === "number" && B === 1) {{
          out[i] = v;
        }} else {{
          throw fail("shape", "Script must return an array. evaluatePixel returned " + what(v) +
                     (nOut > 1 || v === undefined ? " for output \\"" + ids[o] + "\\"" : "") + ".");
        }}
      }}
      function nothing(i) {{
        for (let o = 0; o < nOut; o++) {{
          for (let b = 0, p = i; b < bands[o]; b++, p += C) outs[o][p] = NaN;
        }}
      }}
      function store(r, i) {{
        if (r !== null && typeof r === "object" && !Array.isArray(r) && !ArrayBuffer.isView(r)) {{
          for (let o = 0; o < nOut; o++) {{
            const v = r[ids[o]];
            if (v === undefined) {{
              throw fail("shape", "evaluatePixel returned an object without output \\"" + ids[o] +
                         "\\"; it must hold an array for each output declared in setup(): " +
                         ids.join(", ") + ".");
            }}
            put(o, v, i);
          }}
        }} else if (r === undefined) {{
          nothing(i);
        }} else if (nOut === 1) {{
          put(0, r, i);
        }} else {{
          throw fail("shape", "evaluatePixel returned " + what(r) + "; with several outputs it must return " +
                     "an object keyed by output id: " + ids.join(", ") + ".");
        }}
      }}
      this.inputs = [{in_list}];
      this.outputs = outs;
      this.run = function (n) {{
        const st = rt.state;
        const scenes = st.scenes, meta = st.inputMetadata, custom = st.customData, om = st.outputMetadata;
        {out_consts}
        let i = 0;
        try {{
          for (; i < n; i++) {{
        {per_pixel}
            const r = evaluatePixel({samples_expr}, scenes, meta, custom, om);
            {fast_path}
          }}
        }} catch (e) {{
          return rt.describe(e, i);
        }}
        return "";
      }};
    }},
  }};
}})(__eobatch);
//# sourceURL=eobatch-driver.js
"""


def is_fusion(setup: SetupInfo) -> bool:
    """Data fusion: several inputs, or any input naming its datasource."""
    return len(setup.inputs) > 1 or any(i.datasource is not None for i in setup.inputs)
