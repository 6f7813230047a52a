"use strict";
const debug = require("debug")("mono:app");
const { release } = require("@mono/lib");

function plan() {
  const r = release("App Release", ["0.9.0", "1.0.0", "1.1.0"], "^1.0.0", "1d");
  debug("plan %o", r);
  return `${r.id}@${r.version} in ${r.delayMs}ms`;
}

module.exports = { plan };

if (require.main === module) {
  console.log(plan());
}
