"use strict";
const ms = require("ms");
const semver = require("semver");
const { best, slug } = require("@mono/util");

function release(name, versions, range, delay) {
  return {
    id: slug(name),
    version: best(versions, range),
    // semver 6 is what this member asked for
    major: semver.major(best(versions, range)),
    delayMs: ms(delay),
  };
}

module.exports = { release, semverVersion: require("semver/package.json").version };
