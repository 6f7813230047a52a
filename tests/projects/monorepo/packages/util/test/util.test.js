"use strict";
const test = require("node:test");
const assert = require("node:assert");
const { best, slug } = require("@mono/util");

test("util resolves its own semver 7", () => {
  assert.match(require("semver/package.json").version, /^7\./);
  assert.strictEqual(best(["1.0.0", "1.4.2", "2.0.0", "1.4.2"], "^1.0.0"), "1.4.2");
});

test("slug", () => {
  assert.strictEqual(slug("Hello World"), "hello-world");
});

test("root devDependency ran the tests", () => {
  assert.strictEqual(process.env.MONO_TEST, "1");
});
