"use strict";
const test = require("node:test");
const assert = require("node:assert");
const path = require("node:path");
const { plan } = require("@mono/app");

test("app plans across @mono/lib and @mono/util", () => {
  assert.strictEqual(plan(), "app-release@1.1.0 in 86400000ms");
});

test("workspace members are linked, not copied", () => {
  const lib = path.dirname(require.resolve("@mono/lib/package.json"));
  assert.strictEqual(path.basename(path.dirname(lib)), "packages");
});
