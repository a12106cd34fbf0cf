// Checks a SARIF log against the SARIF 2.1.0 JSON schema (the OASIS standard's, as Microsoft's
// SARIF SDK ships it in @microsoft/jest-sarif: lib/schemas/sarif-2.1.0-rtm.5.json, a draft-04
// schema), with Ajv (ajv-draft-04 for the draft, ajv-formats for `uri`, `uri-reference` and
// `date-time`). Only the schema file of @microsoft/jest-sarif is used, not its Jest matchers.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface AjvError {
  instancePath: string;
  message?: string;
}
interface Validate {
  (data: unknown): boolean;
  errors?: AjvError[] | null;
}
interface AjvInstance {
  compile(schema: object): Validate;
}

const Ajv = (require('ajv-draft-04') as { default: new (options: object) => AjvInstance }).default;
const addFormats = (require('ajv-formats') as { default: (ajv: AjvInstance) => void }).default;
export const sarifSchema = require('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json') as {
  title: string;
};

let validate: Validate | null = null;

/** The schema's complaints about `log` (empty when it is valid SARIF 2.1.0). */
export function sarifErrors(log: unknown): string[] {
  if (!validate) {
    // unicodeRegExp: false: the schema's `language` pattern (`…-[a-zA-Z]{2}]?$`) has a stray `]`
    // that JSON Schema's ECMA-262 regexes accept but the `u` flag Ajv uses by default refuses.
    const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
    addFormats(ajv);
    validate = ajv.compile(sarifSchema);
  }
  if (validate(log)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}
