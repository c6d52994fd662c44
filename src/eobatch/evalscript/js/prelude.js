// eobatch evalscript prelude: constants, sandbox and UTC dates. Evaluated before helpers.js.
// Every name is installed as a configurable property of globalThis (never a script-level
// declaration), so a user script may redeclare it with var, let, const, function or class.
(function (g) {
  "use strict";
  function define(name, value) {
    Object.defineProperty(g, name, { value: value, writable: true, configurable: true, enumerable: false });
  }

  // Sandbox: V8 alone has no file, network or process API. mini-racer's timer shim is the only
  // non-standard global; drop it where it is configurable (evaluation is synchronous anyway).
  for (const name of ["setTimeout", "clearTimeout", "__timer_manager"]) {
    try { delete g[name]; } catch (e) { /* non-configurable: harmless, it does no I/O */ }
  }

  define("SampleType", Object.freeze({
    AUTO: "AUTO", INT8: "INT8", UINT8: "UINT8", INT16: "INT16", UINT16: "UINT16", FLOAT32: "FLOAT32",
  }));
  define("Mosaicking", Object.freeze({ SIMPLE: "SIMPLE", ORBIT: "ORBIT", TILE: "TILE" }));

  // Legacy EO Browser hooks read by the visualizers when a script defines them.
  for (const name of ["gainOverride", "offsetOverride", "gammaOverride", "rangeOverrides"]) {
    define(name, undefined);
  }

  // Dates: scripts call getMonth() etc. on scene dates; give every run TZ=UTC semantics whatever the
  // host time zone is, by mapping the local-time accessors onto their UTC counterparts.
  const NativeDate = Date;
  const P = NativeDate.prototype;
  const parts = ["FullYear", "Month", "Date", "Day", "Hours", "Minutes", "Seconds", "Milliseconds"];
  for (const part of parts) {
    Object.defineProperty(P, "get" + part, { value: P["getUTC" + part], writable: true, configurable: true });
    if (part !== "Day") {
      Object.defineProperty(P, "set" + part, { value: P["setUTC" + part], writable: true, configurable: true });
    }
  }
  Object.defineProperty(P, "getTimezoneOffset", { value: function () { return 0; }, writable: true,
                                                  configurable: true });
  const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const pad = (n, w) => String(n).padStart(w || 2, "0");
  function dateString(d) {
    return DAYS[d.getUTCDay()] + " " + MONTHS[d.getUTCMonth()] + " " + pad(d.getUTCDate()) + " " +
      pad(d.getUTCFullYear(), 4);
  }
  function timeString(d) {
    return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds()) +
      " GMT+0000 (Coordinated Universal Time)";
  }
  function guard(f) {
    return function () { return isNaN(this.getTime()) ? "Invalid Date" : f(this); };
  }
  Object.defineProperty(P, "toDateString", { value: guard(dateString), writable: true, configurable: true });
  Object.defineProperty(P, "toTimeString", { value: guard(timeString), writable: true, configurable: true });
  Object.defineProperty(P, "toString", { value: guard((d) => dateString(d) + " " + timeString(d)),
                                         writable: true, configurable: true });
  const LOCAL_ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/;
  function parseUTC(s) {
    s = String(s);
    return NativeDate.parse(LOCAL_ISO.test(s) ? s + "Z" : s);
  }
  function UTCDate(...args) {
    if (!new.target) {
      return new NativeDate(NativeDate.now()).toString();
    }
    if (args.length >= 2) {
      return new NativeDate(NativeDate.UTC(...args));
    }
    if (args.length === 1 && typeof args[0] === "string") {
      return new NativeDate(parseUTC(args[0]));
    }
    return new NativeDate(...args);
  }
  UTCDate.prototype = P;
  UTCDate.UTC = NativeDate.UTC;
  UTCDate.now = NativeDate.now;
  UTCDate.parse = parseUTC;
  Object.defineProperty(P, "constructor", { value: UTCDate, writable: true, configurable: true });
  define("Date", UTCDate);
})(globalThis);
//# sourceURL=eobatch-prelude.js
