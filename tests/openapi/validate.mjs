// Validates an OpenAPI document (a file) against the OpenAPI 3.1 schema with
// @seriousme/openapi-schema-validator (installed by scripts/setup.sh from the
// root package.json). Prints what is wrong and exits 1 if anything is.
//   node tests/openapi/validate.mjs FILE
import { Validator } from '@seriousme/openapi-schema-validator';

const file = process.argv[2];
if (!file) {
  console.error('usage: validate.mjs FILE');
  process.exit(2);
}
const validator = new Validator();
const res = await validator.validate(file);
if (!res.valid) {
  console.log(JSON.stringify(res.errors, null, 2));
  process.exit(1);
}
console.log(`valid OpenAPI ${validator.version}`);
