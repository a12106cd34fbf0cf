// A reader of BOMStore files (the Bom of a component package), for tests only: written from
// the public description of the format (bomutils; igankevich/stuckliste's reference), apart
// from scripts/pkg/format/bom.ts, so that a writer's mistake is not read back as right.
// It walks the Paths tree from its root node (meta nodes down to data nodes), follows the
// data nodes' next links, and rebuilds every path from the (parent id, name) values.

export interface BomPath {
  path: string;
  type: 'file' | 'directory' | 'link' | 'device';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  cksum?: number;
}

export interface BomContents {
  names: string[];
  paths: BomPath[];
  bomInfo: { version: number; numberOfPaths: number; entries: Array<{ cpuType: number; size: number }> };
  trees: Record<string, { nodeSize: number; count: number }>;
}

export function readBom(buf: Buffer): BomContents {
  const fail = (what: string): never => {
    throw new Error(`Bom: ${what}`);
  };
  if (buf.length < 512 || buf.subarray(0, 8).toString('latin1') !== 'BOMStore') fail('not a BOMStore');
  if (buf.readUInt32BE(8) !== 1) fail('version is not 1');
  const indexOffset = buf.readUInt32BE(16);
  const varsOffset = buf.readUInt32BE(24);
  const count = buf.readUInt32BE(indexOffset);
  const block = (i: number): Buffer => {
    if (i <= 0 || i >= count) fail(`block ${i} out of range`);
    const at = indexOffset + 4 + 8 * i;
    const offset = buf.readUInt32BE(at);
    const length = buf.readUInt32BE(at + 4);
    if (offset + length > buf.length) fail(`block ${i} runs past the end`);
    return buf.subarray(offset, offset + length);
  };
  const nonNull = Array.from({ length: count }, (_, i) => buf.readUInt32BE(indexOffset + 4 + 8 * i)).filter(
    (o) => o !== 0,
  ).length;
  if (buf.readUInt32BE(12) !== nonNull) fail('header block count differs from the block table');

  const vars = new Map<string, number>();
  const nvars = buf.readUInt32BE(varsOffset);
  for (let i = 0, at = varsOffset + 4; i < nvars; i++) {
    const index = buf.readUInt32BE(at);
    const length = buf[at + 4];
    vars.set(buf.subarray(at + 5, at + 5 + length).toString('latin1'), index);
    at += 5 + length;
  }
  const named = (name: string) => vars.get(name) ?? fail(`no ${name}`);

  const trees: BomContents['trees'] = {};
  const readTree = (name: string, index: number): Array<[number, number]> => {
    const t = block(index);
    if (t.subarray(0, 4).toString('latin1') !== 'tree' || t.readUInt32BE(4) !== 1) fail(`${name}: not a tree`);
    const nodeSize = t.readUInt32BE(12);
    const total = t.readUInt32BE(16);
    trees[name] = { nodeSize, count: total };
    // Down the left edge to the first data node, then along the next links.
    let node = block(t.readUInt32BE(8));
    for (let depth = 0; node.readUInt16BE(0) === 0; depth++) {
      if (depth > 8) fail(`${name}: tree too deep`);
      node = block(node.readUInt32BE(12));
    }
    const pairs: Array<[number, number]> = [];
    for (let hops = 0; ; hops++) {
      if (hops > count) fail(`${name}: data nodes loop`);
      const n = node.readUInt16BE(2);
      if (12 + 8 * n > node.length) fail(`${name}: node shorter than its entries`);
      for (let i = 0; i < n; i++) pairs.push([node.readUInt32BE(12 + 8 * i), node.readUInt32BE(16 + 8 * i)]);
      const next = node.readUInt32BE(4);
      if (next === 0) break;
      node = block(next);
    }
    if (pairs.length !== total) fail(`${name}: ${pairs.length} entries, the tree says ${total}`);
    return pairs;
  };

  const info = block(named('BomInfo'));
  const bomInfo = {
    version: info.readUInt32BE(0),
    numberOfPaths: info.readUInt32BE(4),
    entries: Array.from({ length: info.readUInt32BE(8) }, (_, i) => ({
      cpuType: info.readUInt32BE(12 + 16 * i),
      size: info.readUInt32BE(20 + 16 * i),
    })),
  };

  const byId = new Map<number, { parent: number; name: string; meta: Buffer }>();
  const order: number[] = [];
  for (const [key, value] of readTree('Paths', named('Paths'))) {
    const k = block(key);
    const v = block(value);
    const id = k.readUInt32BE(0);
    const nul = v.indexOf(0, 4);
    if (nul < 0) fail(`path ${id}: name without its NUL`);
    byId.set(id, {
      parent: v.readUInt32BE(0),
      name: v.subarray(4, nul).toString('utf8'),
      meta: block(k.readUInt32BE(4)),
    });
    order.push(id);
  }
  const fullPath = (id: number): string => {
    const parts: string[] = [];
    for (let at = id, hops = 0; at !== 0; hops++) {
      if (hops > byId.size) fail('parent loop');
      const e = byId.get(at) ?? fail(`unknown parent ${at}`);
      parts.unshift(e.name);
      at = e.parent;
    }
    return parts.join('/');
  };
  const types = { 1: 'file', 2: 'directory', 3: 'link', 4: 'device' } as const;
  const paths: BomPath[] = order.map((id) => {
    const m = byId.get(id)!.meta;
    const type = types[m[0] as 1 | 2 | 3 | 4] ?? fail(`path ${id}: type ${m[0]}`);
    const entry: BomPath = {
      path: fullPath(id),
      type,
      mode: m.readUInt16BE(4),
      uid: m.readUInt32BE(6),
      gid: m.readUInt32BE(10),
      mtime: m.readUInt32BE(14),
      size: m.readUInt32BE(18),
    };
    if (type === 'file') entry.cksum = m.readUInt32BE(23);
    return entry;
  });
  for (const name of ['HLIndex', 'Size64']) readTree(name, named(name));
  const vindex = block(named('VIndex'));
  readTree('VIndex', vindex.readUInt32BE(4));
  return { names: [...vars.keys()], paths, bomInfo, trees };
}
