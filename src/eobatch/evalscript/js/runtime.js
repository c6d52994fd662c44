// eobatch evalscript runtime: calls the script's hooks with the documented argument shapes.
// Evaluated after helpers.js and before the user script; hooks are resolved by identifier at call
// time (typeof setup), so function, var, let and const declarations all work.
(function (g) {
  "use strict";
  const inputMetadata = { serviceVersion: "4.263.0", normalizationFactor: 0.0001 };
  const state = {
    customData: {},
    outputMetadata: { userData: undefined },
    inputMetadata: inputMetadata,
    scenes: {},
    error: null,
  };

  function fail(kind, message) {
    const e = new Error(message);
    e.eobatchKind = kind;
    return e;
  }

  // Orbit or tile descriptors (from Python) -> the deprecated array form with Date objects, with the
  // documented `orbits` / `tiles` properties attached.
  function scenesFor(desc) {
    if (!desc || desc.mosaicking === "SIMPLE") {
      return {};
    }
    const arr = [];
    if (desc.mosaicking === "ORBIT") {
      const orbits = desc.items.map((o) => ({
        dateFrom: o.dateFrom, dateTo: o.dateTo, tiles: o.tiles.map((t) => Object.assign({}, t)),
        __idx: o.__idx,
      }));
      desc.items.forEach((o, k) => {
        const first = o.tiles[0] || {};
        arr.push({
          date: new Date(o.date), dateFrom: o.dateFrom, dateTo: o.dateTo, orbitId: k,
          tileId: first.tileId, shId: first.shId, cloudCoverage: first.cloudCoverage,
          dataPath: first.dataPath, tiles: orbits[k].tiles, __idx: o.__idx,
        });
      });
      arr.orbits = orbits;
    } else {
      const tiles = desc.items.map((t) => Object.assign({}, t));
      desc.items.forEach((t) => {
        arr.push(Object.assign({}, t, { date: new Date(t.date) }));
      });
      arr.tiles = tiles;
    }
    return arr;
  }

  const rt = {
    state: state,
    has(name) {
      return (0, eval)("typeof " + name) === "function";
    },
    fn(name) {
      return (0, eval)(name);
    },
    setup() {
      if (!rt.has("setup")) {
        throw fail("contract", "The evalscript defines no setup() function.");
      }
      // JSON has no NaN or Infinity: a non-finite nodataValue travels as its name ("NaN", "-Infinity")
      return JSON.stringify(rt.fn("setup")(), (key, value) =>
        key === "nodataValue" && typeof value === "number" && !Number.isFinite(value) ? String(value) : value);
    },
    setScenes(descs, fusion) {
      if (fusion) {
        const s = {};
        for (const d of descs) {
          s[d.key] = scenesFor(d);
        }
        state.scenes = s;
      } else {
        state.scenes = scenesFor(descs[0]);
      }
    },
    setTimeRange(from, to) {
      inputMetadata.from = from ? new Date(from) : undefined;
      inputMetadata.to = to ? new Date(to) : undefined;
    },
    // One datasource; returns the kept __idx values in the script's order, or null without hooks.
    filterScenes(desc, from, to, fusion) {
      const fromD = from ? new Date(from) : undefined;
      const toD = to ? new Date(to) : undefined;
      const orbit = desc.mosaicking === "ORBIT";
      if (rt.has("preProcessScenes")) {
        const listed = orbit
          ? { orbits: desc.items.map((o) => ({ dateFrom: o.dateFrom, dateTo: o.dateTo, __idx: o.__idx })) }
          : { tiles: desc.items.map((t) => Object.assign({}, t)) };
        let collections = { from: fromD, to: toD, scenes: listed };
        if (fusion) {
          collections = { from: fromD, to: toD };
          collections[desc.key] = { scenes: listed };
        }
        const out = rt.fn("preProcessScenes")(collections);
        const sc = fusion ? out && out[desc.key] && out[desc.key].scenes : out && out.scenes;
        const kept = sc && (orbit ? sc.orbits : sc.tiles);
        if (!Array.isArray(kept)) {
          throw fail("hook", "preProcessScenes() must return its argument's shape: {scenes: {" +
            (orbit ? "orbits" : "tiles") + ": [...]}}.");
        }
        return kept.map((x) => x.__idx);
      }
      if (rt.has("filterScenes")) {
        const arr = scenesFor(desc);
        const kept = rt.fn("filterScenes")(arr, { from: fromD, to: toD });
        if (!Array.isArray(kept)) {
          throw fail("hook", "filterScenes() must return an array of scenes.");
        }
        return kept.map((x) => x.__idx);
      }
      return null;
    },
    // counts: [{key, dates: [iso...]}]; returns {id: bands} or null when updateOutput is not defined.
    updateOutput(outputs, counts, fusion) {
      if (!rt.has("updateOutput")) {
        return null;
      }
      const o = {};
      for (const out of outputs) {
        o[out.id] = { bands: out.bands };
      }
      const coll = (c) => ({ scenes: c.dates.map((d) => ({ date: d ? new Date(d) : undefined })) });
      let collection;
      if (fusion) {
        collection = {};
        for (const c of counts) {
          collection[c.key] = coll(c);
        }
      } else {
        collection = coll(counts[0]);
      }
      rt.fn("updateOutput")(o, collection);
      const bands = {};
      for (const id of Object.keys(o)) {
        bands[id] = o[id].bands;
      }
      return JSON.stringify(bands);
    },
    outputMetadata() {
      if (rt.has("updateOutputMetadata")) {
        rt.fn("updateOutputMetadata")(state.scenes, inputMetadata, state.outputMetadata);
      }
      const data = state.outputMetadata.userData;
      return data === undefined ? undefined : JSON.stringify(data);
    },
    // Describe any thrown value for Python: message, stack, kind.
    describe(e, pixel) {
      const isErr = e instanceof Error;
      state.error = {
        message: isErr ? String(e.message) : String(e),
        name: isErr ? e.name : "",
        stack: isErr && e.stack ? String(e.stack) : "",
        kind: (isErr && e.eobatchKind) || "script",
        pixel: pixel === undefined ? null : pixel,
      };
      return JSON.stringify(state.error);
    },
    fail: fail,
  };
  Object.defineProperty(g, "__eobatch", { value: rt, writable: false, configurable: false });
})(globalThis);
//# sourceURL=eobatch-runtime.js
