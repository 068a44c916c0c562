// Validates .glb files with the Khronos glTF validator; exits 1 on any
// error or warning, printing the validator's messages.
import fs from 'node:fs';
import validator from 'gltf-validator';

let failed = 0;
for (const file of process.argv.slice(2)) {
  const report = await validator.validateBytes(new Uint8Array(fs.readFileSync(file)));
  const { numErrors, numWarnings, messages } = report.issues;
  console.log(`${file}: ${numErrors} errors, ${numWarnings} warnings`);
  for (const m of messages.filter((m) => m.severity <= 1)) console.log(`  ${m.code}: ${m.message} (${m.pointer ?? ''})`);
  if (numErrors + numWarnings > 0) failed += 1;
}
console.log(`${process.argv.length - 2 - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
