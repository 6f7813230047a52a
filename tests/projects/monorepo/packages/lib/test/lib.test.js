"use strict";
const test = require("node:test");
const assert = require("node:assert");
const { release, semverVersion } = require("@mono/lib");

test("lib gets semver 6 from its own node_modules", () => {
  assert.match(semverVersion, /^6\./);
});

test("release uses @mono/util", () => {
  assert.deepStrictEqual(release("My Package", ["1.0.0", "1.3.0", "2.0.0"], "~1.3.0", "2h"), {
    id: "my-package",
    version: "1.3.0",
    major: 1,
    delayMs: 7200000,
  });
});
