// Checks an OTLP/HTTP JSON logs request against the official schema: the protobufjs classes
// that @opentelemetry/otlp-transformer generated from the opentelemetry-proto definitions
// (ExportLogsServiceRequest and everything under it).
//
// protobufjs's fromObject() is lenient (unknown keys are ignored, wrong types coerced), so a
// request passes only if it survives JSON → message → JSON unchanged (every key is a field of
// the schema, under its proto3 JSON name, with a value of the field's type: 64-bit integers as
// decimal strings, enums as numbers) and message → protobuf bytes → message → JSON unchanged,
// and every AnyValue sets at most one member of its oneof.
import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';

interface MessageClass {
  fromObject(object: unknown): unknown;
  toObject(message: unknown, options: Record<string, unknown>): Record<string, unknown>;
  encode(message: unknown): { finish(): Uint8Array };
  decode(bytes: Uint8Array): unknown;
}

const require = createRequire(import.meta.url);
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: { logs: { v1: { ExportLogsServiceRequest: MessageClass } } } } };
};
export const ExportLogsServiceRequest = root.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;

const toObjectOptions = {
  longs: String,
  enums: Number,
  bytes: String,
  defaults: false,
  arrays: false,
  objects: false,
  oneofs: false,
  json: true,
};

const anyValueKeys = new Set([
  'stringValue',
  'boolValue',
  'intValue',
  'doubleValue',
  'arrayValue',
  'kvlistValue',
  'bytesValue',
]);

/** Every object that looks like an AnyValue must set at most one member of the oneof. */
function checkOneofs(value: unknown, where: string, problems: string[]): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkOneofs(v, `${where}[${i}]`, problems));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const keys = Object.keys(value);
  const members = keys.filter((k) => anyValueKeys.has(k));
  if (members.length > 1) problems.push(`${where}: AnyValue sets ${members.join(' and ')}`);
  for (const k of keys) checkOneofs((value as Record<string, unknown>)[k], `${where}.${k}`, problems);
}

function firstDifference(a: unknown, b: unknown, where = '$'): string {
  if (isDeepStrictEqual(a, b)) return '';
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${where}.${k}`);
      if (d) return d;
    }
  }
  return `${where}: ${JSON.stringify(a)?.slice(0, 120)} vs schema's ${JSON.stringify(b)?.slice(0, 120)}`;
}

/** A copy without empty arrays: proto3 JSON may write an empty repeated field or leave it out. */
function withoutEmptyArrays(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutEmptyArrays);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (!(Array.isArray(v) && v.length === 0)) out[k] = withoutEmptyArrays(v);
  return out;
}

/** The problems with `json` as an ExportLogsServiceRequest; empty when the schema accepts it. */
export function logsRequestProblems(json: unknown): string[] {
  const problems: string[] = [];
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return ['not a JSON object'];
  checkOneofs(json, '$', problems);
  let message: unknown;
  try {
    message = ExportLogsServiceRequest.fromObject(json);
  } catch (error) {
    return [...problems, `fromObject: ${(error as Error).message}`];
  }
  const back = ExportLogsServiceRequest.toObject(message, toObjectOptions);
  const difference = firstDifference(withoutEmptyArrays(json), back);
  if (difference) problems.push(`not in the schema's JSON form: ${difference}`);
  const decoded = ExportLogsServiceRequest.decode(ExportLogsServiceRequest.encode(message).finish());
  const again = ExportLogsServiceRequest.toObject(decoded, toObjectOptions);
  const binaryDifference = firstDifference(back, again);
  if (binaryDifference) problems.push(`changes through protobuf binary: ${binaryDifference}`);
  return problems;
}
