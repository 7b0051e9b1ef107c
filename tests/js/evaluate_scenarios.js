// The golden test's runner: evaluate questions with the instant map's evaluator in Node.
//
//   node evaluate_scenarios.js EVALUATOR PAYLOAD QUESTIONS OUT
//
// EVALUATOR is evaluator.js (the test passes a perturbed copy to see it fail), PAYLOAD
// geo.instant.browser_payload's JSON, QUESTIONS a JSON list of questions. OUT receives one
// {zone_table, city, unreachable} per question, as JSON with NaN and Infinity written as
// Python's json module reads them.
"use strict";
const fs = require("fs");
const path = require("path");

const [evaluatorPath, payloadPath, questionsPath, outPath] = process.argv.slice(2);
const evaluator = require(path.resolve(evaluatorPath));
const bundle = evaluator.decodePayload(JSON.parse(fs.readFileSync(payloadPath, "utf8")));
const questions = JSON.parse(fs.readFileSync(questionsPath, "utf8"));

const NON_FINITE = ["NaN", "Infinity", "-Infinity"];

function plain(value) {
  if (ArrayBuffer.isView(value)) return Array.from(value, plain);
  if (typeof value === "number" && !Number.isFinite(value)) return `__${String(value)}__`;
  return value;
}

const results = questions.map((question) => {
  const {zoneTable, city, unreachable} = evaluator.evaluate(bundle, question);
  const table = {};
  for (const [column, values] of Object.entries(zoneTable)) table[column] = plain(values);
  const figures = {};
  for (const [name, value] of Object.entries(city)) figures[name] = plain(value);
  return {zone_table: table, city: figures, unreachable};
});
let text = JSON.stringify(results);
for (const word of NON_FINITE) text = text.split(`"__${word}__"`).join(word);
fs.writeFileSync(outPath, text);
