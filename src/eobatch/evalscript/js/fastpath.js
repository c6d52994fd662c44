// eobatch compiler support: describes script globals for the vectorised (compiled) evaluation path.
// Evaluated after helpers.js and runtime.js and before the user script, so it captures the pristine
// helper library and built-ins; a global that no longer is one of them is described as opaque and
// the compiler leaves the script to V8.
(function (rt, g) {
  "use strict";
  const HELPERS = ["index", "colorBlend", "valueInterpolate", "isNaN", "isFinite"];
  const CLASSES = ["ColorRampVisualizer", "ColorMapVisualizer", "HighlightCompressVisualizer",
                   "HighlightCompressVisualizerSingle", "DefaultVisualizer", "Identity"];
  const pristine = new Map();
  for (const name of HELPERS.concat(CLASSES)) {
    pristine.set(g[name], name);
  }
  const PrisMath = g.Math;
  // Everything whose change would alter what the helpers or the compiled operations compute.
  const PROTOS = [Object.prototype, Array.prototype, Number.prototype, Boolean.prototype, Function.prototype];
  function snapshot(obj) {
    const out = new Map();
    for (const k of Reflect.ownKeys(obj)) {
      const d = Object.getOwnPropertyDescriptor(obj, k);
      out.set(k, d.value !== undefined ? d.value : d.get);
    }
    return out;
  }
  const protoSnaps = PROTOS.map(snapshot);
  const mathSnap = snapshot(PrisMath);
  const isArray = Array.isArray;
  const GLOBALS = ["Array", "Number", "Object", "Math", "Boolean", "String", "JSON", "Reflect"].map((n) => [n, g[n]]);
  const classProtos = new Map(CLASSES.map((name) => [name, g[name].prototype]));
  const classSnaps = CLASSES.map((name) => {
    const chain = [];
    for (let p = g[name].prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
      chain.push([p, snapshot(p)]);
    }
    return chain;
  });
  function unchanged(obj, snap) {
    const keys = Reflect.ownKeys(obj);
    if (keys.length !== snap.size) return false;
    for (const k of keys) {
      const d = Object.getOwnPropertyDescriptor(obj, k);
      if (!snap.has(k) || snap.get(k) !== (d.value !== undefined ? d.value : d.get)) return false;
    }
    return true;
  }
  function builtinsIntact() {
    if (!GLOBALS.every(([n, v]) => g[n] === v) || Array.isArray !== isArray || !unchanged(PrisMath, mathSnap)) return false;
    return PROTOS.every((p, i) => unchanged(p, protoSnaps[i]));
  }
  function num(v) {
    return Object.is(v, -0) ? "-0" : String(v);
  }
  function describe(v, depth) {
    const t = typeof v;
    if (t === "number") return { k: "num", v: num(v) };
    if (t === "boolean") return { k: "bool", v: v };
    if (t === "string") return { k: "str", v: v };
    if (v === null) return { k: "null" };
    if (v === undefined) return { k: "undef" };
    if (t === "function") {
      if (pristine.has(v)) return { k: "helper", name: pristine.get(v) };
      return { k: "fn", src: Function.prototype.toString.call(v) };
    }
    if (t !== "object" || depth > 4) return { k: "opaque" };
    if (v === PrisMath) return { k: "math" };
    const proto = Object.getPrototypeOf(v);
    if (Array.isArray(v)) {
      if (proto !== Array.prototype || v.length > 4096 || Object.keys(v).length !== v.length) return { k: "opaque" };
      return { k: "arr", items: Array.from(v, (x) => describe(x, depth + 1)) };
    }
    const c = CLASSES.findIndex((name) => proto === classProtos.get(name));
    if (c >= 0) {
      if (!classSnaps[c].every(([p, snap]) => unchanged(p, snap))) return { k: "opaque" };
      const state = {};
      for (const k of Reflect.ownKeys(v)) {
        const d = Object.getOwnPropertyDescriptor(v, k);
        if (typeof k !== "string" || d.get || d.set || typeof d.value === "function") return { k: "opaque" };
        state[k] = describe(d.value, depth + 1);
      }
      return { k: "viz", cls: CLASSES[c], state: state };
    }
    if (proto === Object.prototype) {
      const fields = {};
      for (const k of Reflect.ownKeys(v)) {
        const d = Object.getOwnPropertyDescriptor(v, k);
        if (typeof k !== "string" || d.get || d.set) return { k: "opaque" };
        fields[k] = describe(d.value, depth + 1);
      }
      return { k: "obj", fields: fields };
    }
    return { k: "opaque" };
  }
  rt.fast = {
    // names: identifiers (checked by the caller); each is described as the script sees it now.
    describe(names) {
      const out = { intact: builtinsIntact(), values: {} };
      for (const name of names) {
        let v;
        try {
          v = (0, eval)(name);
        } catch (e) {
          out.values[name] = { k: "missing" };
          continue;
        }
        out.values[name] = describe(v, 0);
      }
      return JSON.stringify(out);
    },
  };
})(__eobatch, globalThis);
//# sourceURL=eobatch-fastpath.js
