// An independent reader for what the project writes: Python's plistlib and ElementTree.
import { spawnSync } from 'node:child_process';

const readPlists = `
import datetime, json, plistlib, sys
def plain(v):
    if isinstance(v, dict): return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list): return [plain(x) for x in v]
    if isinstance(v, (bytes, bytearray)): return {"$data": v.hex()}
    if isinstance(v, datetime.datetime): return {"$date": v.isoformat()}
    return v
out = {}
for f in sys.argv[1:]:
    try:
        with open(f, "rb") as fh:
            out[f] = {"ok": True, "value": plain(plistlib.load(fh))}
    except Exception as e:
        out[f] = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
print(json.dumps(out))
`;

export type PlistlibResult = { ok: true; value: unknown } | { ok: false; error: string };

/** Parses each file with Python's plistlib; integers stay integers, booleans booleans. */
export function plistlib(files: string[]): Record<string, PlistlibResult> {
  const r = spawnSync('python3', ['-c', readPlists, ...files], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python3 plistlib: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, PlistlibResult>;
}

const readXml = `
import json, sys, xml.etree.ElementTree as ET
def element(e):
    return {"tag": e.tag, "attrib": dict(e.attrib), "text": (e.text or "").strip(), "children": [element(c) for c in e]}
print(json.dumps({f: element(ET.parse(f).getroot()) for f in sys.argv[1:]}))
`;

export interface XmlElement {
  tag: string;
  attrib: Record<string, string>;
  text: string;
  children: XmlElement[];
}

/** Parses each file with Python's xml.etree.ElementTree. */
export function elementTree(files: string[]): Record<string, XmlElement> {
  const r = spawnSync('python3', ['-c', readXml, ...files], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python3 ElementTree: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, XmlElement>;
}

export function findAll(e: XmlElement, tag: string): XmlElement[] {
  return [...(e.tag === tag ? [e] : []), ...e.children.flatMap((c) => findAll(c, tag))];
}
