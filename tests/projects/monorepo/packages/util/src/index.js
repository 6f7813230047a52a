"use strict";
const _ = require("lodash");
const semver = require("semver");

// The highest version in the list that satisfies the range (semver 7).
function best(versions, range) {
  return semver.maxSatisfying(_.uniq(versions), range);
}

function slug(text) {
  return _.kebabCase(text);
}

module.exports = { best, slug };
