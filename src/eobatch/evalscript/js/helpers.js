// eobatch evalscript helper library: the utility functions, visualizers and constants of the
// Sentinel Hub evalscript V3 runtime, written from their documented behaviour.
// Installed as configurable, writable properties of globalThis so that user scripts can override any
// of them, including with top-level let/const/class declarations.
(function (g) {
  "use strict";
  function define(name, value) {
    Object.defineProperty(g, name, { value: value, writable: true, configurable: true, enumerable: false });
  }
  // Looked up at call time so a script's own definitions take effect.
  function globalOr(name, fallback) {
    const v = g[name];
    return v === undefined || v === null ? fallback : v;
  }

  const JAVA_DOUBLE_MAX_VAL = 1.7976931348623157e308;

  function int2rgb(color) {
    return [(color >> 16) & 0xff, (color >> 8) & 0xff, color & 0xff];
  }
  function rgb2int(rgb) {
    return (rgb[0] << 16) + (rgb[1] << 8) + rgb[2];
  }
  function normalizeRGB(rgb) {
    return rgb.map((x) => x / 255);
  }
  function index(x, y) {
    const sum = x + y;
    return sum === 0 ? 0 : (x - y) / sum;
  }
  function inverse(x) {
    return x === 0 ? JAVA_DOUBLE_MAX_VAL : 1 / x;
  }
  // Arrays: element-wise c1*alpha + c2*(1-alpha). Packed 0xRRGGBB integers (the legacy form): per
  // channel, rounded, and packed again.
  function combine(color1, color2, alpha) {
    if (typeof color1 === "number" && typeof color2 === "number") {
      const a = int2rgb(color1);
      const b = int2rgb(color2);
      return rgb2int(a.map((c, i) => Math.round(c * alpha + b[i] * (1 - alpha))));
    }
    const out = new Array(color1.length);
    for (let i = 0; i < color1.length; i++) {
      out[i] = color1[i] * alpha + color2[i] * (1 - alpha);
    }
    return out;
  }
  function copy(v) {
    return Array.isArray(v) ? v.slice() : v;
  }
  function valueMap(value, intervals, values) {
    if (!intervals || intervals.length === 0) {
      return value;
    }
    for (let i = 0; i < intervals.length; i++) {
      if (value <= intervals[i]) {
        return copy(values[i]);
      }
    }
    return copy(values[values.length - 1]);
  }
  function lerp(a, b, t) {
    if (Array.isArray(a)) {
      const out = new Array(a.length);
      for (let i = 0; i < a.length; i++) {
        out[i] = a[i] + (b[i] - a[i]) * t;
      }
      return out;
    }
    return a + (b - a) * t;
  }
  // Piecewise-linear, clamped at both ends; never mutates `values` (unlike the legacy colorBlend).
  function valueInterpolate(value, intervals, values) {
    if (!intervals || intervals.length === 0) {
      return value;
    }
    const n = intervals.length;
    if (value <= intervals[0]) {
      return copy(values[0]);
    }
    for (let i = 1; i < n; i++) {
      if (value <= intervals[i]) {
        const t = (value - intervals[i - 1]) / (intervals[i] - intervals[i - 1]);
        return lerp(values[i - 1], values[i], t);
      }
    }
    return copy(values[n - 1]);
  }
  function colorMap(value, limits, colors) {
    for (let i = 0; i < limits.length; i++) {
      if (value < limits[i]) {
        return colors[i];
      }
    }
    return colors[colors.length - 1];
  }

  function rgbOf(color) {
    return typeof color === "number" ? int2rgb(color) : color;
  }
  // Among ascending stop `values`: 0 when `value` is at or below the first (or NaN), values.length when
  // at or above the last, else the index i of the stop ending the segment (values[i-1], values[i]].
  function upperStop(values, value) {
    const n = values.length;
    if (!(value > values[0])) {
      return 0;
    }
    if (value >= values[n - 1]) {
      return n;
    }
    let i = 1;
    while (value > values[i]) {
      i++;
    }
    return i;
  }
  function normalized(color) {
    return typeof color === "number" ? normalizeRGB(int2rgb(color)) : color.slice();
  }
  // A colour constant lists positions descending; the static constructors pair the positions sorted
  // ascending with the colours in listed order, scaled onto [min, max].
  function rampFromConstant(constant, minVal, maxVal) {
    const positions = constant.map((p) => p[0]).sort((a, b) => a - b);
    return positions.map((p, i) => [minVal + p * (maxVal - minVal), constant[i][1]]);
  }

  class ColorRampVisualizer {
    constructor(ramps, minVal, maxVal) {
      let stops = ramps.map((r) => [r[0], r[1]]);
      if (minVal !== undefined && maxVal !== undefined && stops.length > 1) {
        const lo = stops[0][0];
        const span = stops[stops.length - 1][0] - lo;
        stops = stops.map((s) => [minVal + ((s[0] - lo) / span) * (maxVal - minVal), s[1]]);
      }
      this.ramps = stops;
      this.values = stops.map((s) => s[0]);
      this.colors = stops.map((s) => s[1]);
    }
    process(value) {
      const v = this.values;
      const c = this.colors;
      const i = upperStop(v, value);
      if (i === 0 || i === v.length) {
        return normalized(c[Math.min(i, v.length - 1)]);
      }
      const t = (value - v[i - 1]) / (v[i] - v[i - 1]);
      const a = c[i - 1];
      const b = c[i];
      if (typeof a === "number" && typeof b === "number") {
        const ra = int2rgb(a);
        const rb = int2rgb(b);
        return [
          Math.trunc(ra[0] + (rb[0] - ra[0]) * t) / 255,
          Math.trunc(ra[1] + (rb[1] - ra[1]) * t) / 255,
          Math.trunc(ra[2] + (rb[2] - ra[2]) * t) / 255,
        ];
      }
      return lerp(normalized(a), normalized(b), t);
    }
    inverse() {
      const reversed = this.colors.slice().reverse();
      return new ColorRampVisualizer(this.values.map((v, i) => [v, reversed[i]]));
    }
    static createRedTemperature(minVal, maxVal) {
      return new ColorRampVisualizer(rampFromConstant(redTemperature, minVal, maxVal));
    }
    static createWhiteGreen(minVal, maxVal) {
      return new ColorRampVisualizer(rampFromConstant(greenWhite, minVal, maxVal));
    }
    static createBlueRed(minVal, maxVal) {
      return new ColorRampVisualizer(rampFromConstant(blueRed, minVal, maxVal));
    }
    static createOceanColor(minVal, maxVal) {
      return new ColorRampVisualizer(rampFromConstant(oceanColor, minVal, maxVal));
    }
  }

  class ColorMapVisualizer {
    constructor(valColPairs) {
      this.values = valColPairs.map((p) => p[0]);
      this.colors = valColPairs.map((p) => normalized(p[1]));
    }
    process(value) {
      let k = 0;
      for (let i = 1; i < this.values.length; i++) {
        if (this.values[i] <= value) {
          k = i;
        } else {
          break;
        }
      }
      return this.colors[k].slice();
    }
    static createDefaultColorMap() {
      return new ColorMapVisualizer([
        [-1.0, 0x000000], [-0.2, 0xff0000], [-0.1, 0x9a0000], [0.0, 0x660000], [0.1, 0xffff33],
        [0.2, 0xcccc33], [0.3, 0x666600], [0.4, 0x33ffff], [0.5, 0x33cccc], [0.6, 0x006666],
        [0.7, 0x33ff33], [0.8, 0x33cc33], [0.9, 0x006600],
      ]);
    }
  }

  // Deprecated: stop position p lies at min*p + max*(1-p); channels combined in 0..255 and rounded.
  class ColorGradientVisualizer {
    constructor(valColPairs, minVal, maxVal) {
      const lo = minVal === undefined ? 0.0 : minVal;
      const hi = maxVal === undefined ? 1.0 : maxVal;
      const stops = valColPairs.map((p) => [lo * p[0] + hi * (1 - p[0]), rgbOf(p[1])]);
      stops.sort((a, b) => a[0] - b[0]);
      this.values = stops.map((s) => s[0]);
      this.colors = stops.map((s) => s[1]);
    }
    process(value) {
      const v = this.values;
      const c = this.colors;
      const i = upperStop(v, value);
      if (i === 0 || i === v.length) {
        return normalizeRGB(c[Math.min(i, v.length - 1)]);
      }
      const alpha = (value - v[i - 1]) / (v[i] - v[i - 1]);
      return c[i].map((x, k) => Math.round(x * alpha + c[i - 1][k] * (1 - alpha)) / 255);
    }
    static createRedTemperature(minVal, maxVal) {
      return new ColorGradientVisualizer(redTemperature, minVal, maxVal);
    }
    static createWhiteGreen(minVal, maxVal) {
      return new ColorGradientVisualizer(greenWhite, minVal, maxVal);
    }
    static createBlueRed(minVal, maxVal) {
      return new ColorGradientVisualizer(blueRed, minVal, maxVal);
    }
    static createOceanColor(minVal, maxVal) {
      return new ColorGradientVisualizer(oceanColor, minVal, maxVal);
    }
  }

  function overriddenRange(minVal, maxVal, i) {
    const ranges = globalOr("rangeOverrides", null);
    if (ranges && i !== undefined && ranges[i]) {
      return ranges[i];
    }
    return [minVal, maxVal];
  }

  // The linear stretch shared by HighlightCompressVisualizer and DefaultVisualizer: defaults, and
  // gain * (val - min) / (max - min) + offset with the legacy EO Browser overrides.
  class LinearStretch {
    constructor(minValue, maxValue, gain, offset, gamma) {
      this.minValue = minValue === undefined ? 0.0 : minValue;
      this.maxValue = maxValue === undefined ? 1.0 : maxValue;
      this.gain = gain === undefined ? 1.0 : gain;
      this.offset = offset === undefined ? 0.0 : offset;
      this.gamma = gamma === undefined ? 1.0 : gamma;
    }
    stretch(val, minValue, maxValue) {
      const gain = globalOr("gainOverride", this.gain);
      const offset = globalOr("offsetOverride", this.offset);
      return (gain * (val - minValue)) / (maxValue - minValue) + offset;
    }
    currentGamma() {
      return globalOr("gammaOverride", this.gamma);
    }
  }

  class HighlightCompressVisualizer extends LinearStretch {
    process(val, i) {
      const [minValue, maxValue] = overriddenRange(this.minValue, this.maxValue, i);
      let v = this.stretch(val, minValue, maxValue);
      const gamma = this.currentGamma();
      if (gamma !== 1) {
        v = Math.pow(Math.max(0, v), gamma);
      }
      if (maxValue > 0 && maxValue < 1 && v > 0.92) {
        v = 0.92 + (v - 0.92) * (0.08 / 1.08);
      }
      return Math.max(0, Math.min(1, v));
    }
  }
  class HighlightCompressVisualizerSingle extends HighlightCompressVisualizer {
    process(val, i) {
      return [super.process(val, i)];
    }
  }

  class DefaultVisualizer extends LinearStretch {
    process(val, i) {
      const [minValue, maxValue] = overriddenRange(this.minValue, this.maxValue, i);
      const v = this.stretch(val, minValue, maxValue);
      const gamma = this.currentGamma();
      if (gamma !== 1) {
        return Math.pow(Math.max(0, v), gamma);
      }
      return Math.max(0, Math.min(1, v));
    }
  }

  class Identity {
    process(val) {
      return Array.isArray(val) ? val : [val];
    }
  }

  function bits(value, shift, width) {
    return Math.floor(value / 2 ** shift) % 2 ** width;
  }
  // Landsat 8-9 Collection 2 QA_PIXEL.
  function decodeL8C2Qa(value) {
    const cloudConfidence = bits(value, 8, 2);
    return {
      fill: bits(value, 0, 1),
      dilatedCloud: bits(value, 1, 1),
      cirrus: bits(value, 2, 1),
      cloud: bits(value, 3, 1),
      cloudShadow: bits(value, 4, 1),
      snow: bits(value, 5, 1),
      clear: bits(value, 6, 1),
      water: bits(value, 7, 1),
      cloudConfidence: cloudConfidence,
      cloudShadowConfidence: bits(value, 10, 2),
      snowIceConfidence: bits(value, 12, 2),
      cirrusConfidence: bits(value, 14, 2),
    };
  }
  // Landsat 8 Collection 1 BQA (legacy).
  function decodeLs8Qa(value) {
    return {
      fill: bits(value, 0, 1),
      terrainOcclusion: bits(value, 1, 1),
      radiometricSaturation: bits(value, 2, 2),
      cloud: bits(value, 4, 1),
      cloudConfidence: bits(value, 5, 2),
      cloudShadowConfidence: bits(value, 7, 2),
      snowIceConfidence: bits(value, 9, 2),
      cirrusConfidence: bits(value, 11, 2),
    };
  }
  // Sentinel-3 OLCI QUALITY_FLAGS: flags from bit 31 down, saturation of bands 1..21 in bits 20..0.
  function decodeS3OLCIQualityFlags(value) {
    const names = ["land", "coastline", "fresh_inland_water", "tidal_region", "bright", "straylight_risk",
                   "invalid", "cosmetic", "duplicated", "sun_glint_risk", "dubious"];
    const out = {};
    names.forEach((name, k) => { out[name] = bits(value, 31 - k, 1); });
    for (let b = 1; b <= 21; b++) {
      out["saturatedB" + String(b).padStart(2, "0")] = bits(value, 21 - b, 1);
    }
    return out;
  }

  const blueRed = [
    [1.0, 0x000080], [0.875, 0x0000ff], [0.625, 0x00ffff], [0.375, 0xffff00], [0.125, 0xff0000],
    [0.0, 0x800000],
  ];
  const redTemperature = [
    [1.0, 0x000000], [0.525, 0xae0000], [0.3, 0xff6e00], [0.25, 0xff8600], [0.0, 0xffffff],
  ];
  const greenWhite = [[1.0, 0x000000], [0.6, 0x006600], [0.3, 0x80b300], [0.0, 0xffffff]];
  const oceanColor = [
    [0.0, [147, 0, 108]], [0.0471, [111, 0, 144]], [0.098, [72, 0, 183]], [0.149, [33, 0, 222]],
    [0.2, [0, 10, 255]], [0.2471, [0, 74, 255]], [0.298, [0, 144, 255]], [0.349, [0, 213, 255]],
    [0.4, [0, 255, 215]], [0.4471, [0, 255, 119]], [0.498, [0, 255, 15]], [0.549, [96, 255, 0]],
    [0.6, [200, 255, 0]], [0.6471, [255, 235, 0]], [0.698, [255, 183, 0]], [0.749, [255, 131, 0]],
    [0.8, [255, 79, 0]], [0.8471, [255, 31, 0]], [0.898, [230, 0, 0]], [0.949, [165, 0, 0]],
    [1.0, [105, 0, 0]],
  ].map((p) => [p[0], normalizeRGB(p[1])]);

  // Legacy EO Browser form: process every value of a list (with its index).
  for (const cls of [ColorRampVisualizer, ColorMapVisualizer, ColorGradientVisualizer,
                     HighlightCompressVisualizer, DefaultVisualizer, Identity]) {
    Object.defineProperty(cls.prototype, "processList", {
      value: function (values) { return values.map((v, i) => this.process(v, i)); },
      writable: true, configurable: true,
    });
  }

  const exported = {
    JAVA_DOUBLE_MAX_VAL, int2rgb, rgb2int, normalizeRGB, index, inverse, combine, valueMap,
    valueInterpolate, colorBlend: valueInterpolate, colorMap, ColorRampVisualizer, ColorMapVisualizer,
    ColorGradientVisualizer, HighlightCompressVisualizer, HighlightCompressVisualizerSingle,
    DefaultVisualizer, Identity, decodeL8C2Qa, decodeLs8Qa, decodeS3OLCIQualityFlags, blueRed,
    redTemperature, greenWhite, oceanColor,
  };
  for (const name of Object.keys(exported)) {
    define(name, exported[name]);
  }
})(globalThis);
//# sourceURL=eobatch-helpers.js
