// The Bom of a component package: a BOMStore ("bill of materials", from NeXT) listing every
// path of the payload with its type, mode, owner, size, time and cksum. Layout, from the
// public descriptions of the format (bomutils; igankevich/stuckliste's format reference):
//
//   header (512 bytes): "BOMStore", version 1, number of non-null blocks, then the offset
//     and length of the block table and of the named-block table; all integers big-endian.
//   blocks: any bytes; block 0 is the null block.
//   block table: count, then (offset, length) per block; then a free list (count 0 here).
//   named blocks: count, then (block index, name length, name) per name.
//   BomInfo: version 1, number of paths, then per CPU type (0 = not code) the total size.
//   Paths: a "tree" (magic, version 1, root node, node size 4096, entry count) whose nodes
//     list pairs of blocks: key = (path id, metadata block), value = (parent id, name).
//     A data node (flag 1) holds entries; above 510 entries a meta node (flag 0) lists the
//     data nodes with the value of each one's last entry; data nodes are chained next/prev.
//   metadata: type (1 file, 2 directory), 1, flags 0x000f, mode (with the type bits), uid,
//     gid, mtime, size, 1, cksum (files only), 8 zero bytes.
//   HLIndex (hard links), Size64 (files over 4 GiB): empty trees here; VIndex: version 1,
//     an empty tree of 128-byte nodes, 0, 1.
// Paths are numbered depth first from 1 ("." has parent 0), names in byte order.
import type { TreeEntry } from './tree.js';

const headerSize = 512;
const pathsNodeSize = 4096;
const smallNodeSize = 128;
const nodeHeader = 12;
export const entriesPerNode = (pathsNodeSize - nodeHeader) / 8; // 510

class Blocks {
  readonly list: Buffer[] = [Buffer.alloc(0)];
  add(data: Buffer): number {
    this.list.push(data);
    return this.list.length - 1;
  }
  /** Reserves an index to fill later (tree nodes that point at each other). */
  reserve(): number {
    return this.add(Buffer.alloc(0));
  }
  set(index: number, data: Buffer): void {
    this.list[index] = data;
  }
}

function u32s(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
}

function treeBlock(root: number, nodeSize: number, count: number): Buffer {
  return Buffer.concat([Buffer.from('tree'), u32s(1, root, nodeSize, count), Buffer.from([0])]);
}

function node(isData: boolean, entries: Array<[number, number]>, next: number, prev: number, size: number): Buffer {
  const b = Buffer.alloc(Math.max(size, nodeHeader + 8 * entries.length));
  b.writeUInt16BE(isData ? 1 : 0, 0);
  b.writeUInt16BE(entries.length, 2);
  b.writeUInt32BE(next, 4);
  b.writeUInt32BE(prev, 8);
  entries.forEach(([k, v], i) => {
    b.writeUInt32BE(k, nodeHeader + 8 * i);
    b.writeUInt32BE(v, nodeHeader + 8 * i + 4);
  });
  return b;
}

/** A tree of `entries` (key block, value block); returns the tree block's index. */
function writeTree(blocks: Blocks, entries: Array<[number, number]>, nodeSize: number): number {
  const perNode = (nodeSize - nodeHeader) / 8;
  if (entries.length <= perNode) {
    const root = blocks.add(node(true, entries, 0, 0, nodeSize));
    return blocks.add(treeBlock(root, nodeSize, entries.length));
  }
  const chunks: Array<Array<[number, number]>> = [];
  for (let i = 0; i < entries.length; i += perNode) chunks.push(entries.slice(i, i + perNode));
  if (chunks.length > perNode) throw new Error(`Bom: more than ${perNode * perNode} paths`);
  const ids = chunks.map(() => blocks.reserve());
  chunks.forEach((chunk, i) => blocks.set(ids[i], node(true, chunk, ids[i + 1] ?? 0, ids[i - 1] ?? 0, nodeSize)));
  const meta = blocks.add(
    node(
      false,
      chunks.map((chunk, i) => [ids[i], chunk[chunk.length - 1][1]]),
      0,
      0,
      nodeSize,
    ),
  );
  return blocks.add(treeBlock(meta, nodeSize, entries.length));
}

export interface BomEntry extends Pick<TreeEntry, 'path' | 'type' | 'mode' | 'size' | 'mtime'> {
  /** POSIX cksum of a file's content. */
  cksum?: number;
}

/** The BOMStore of `entries` (as scanTree lists them: root first, depth first); owners 0:0. */
export function writeBom(entries: BomEntry[]): Buffer {
  if (entries[0]?.path !== '' || entries[0].type !== 'directory') throw new Error('Bom: the root comes first');
  const blocks = new Blocks();
  const ids = new Map<string, number>();
  const pairs: Array<[number, number]> = [];
  let totalSize = 0;
  entries.forEach((entry, i) => {
    const id = i + 1;
    ids.set(entry.path, id);
    const slash = entry.path.lastIndexOf('/');
    const parent = entry.path === '' ? 0 : ids.get(slash < 0 ? '' : entry.path.slice(0, slash));
    if (parent === undefined) throw new Error(`Bom: ${entry.path} comes before its directory`);
    const name = entry.path === '' ? '.' : entry.path.slice(slash + 1);
    if (entry.size > 0xffffffff) throw new Error(`Bom: ${entry.path} is over 4 GiB (Size64 is not written)`);
    const isFile = entry.type === 'file';
    if (isFile && entry.cksum === undefined) throw new Error(`Bom: no cksum for ${entry.path}`);
    const meta = Buffer.alloc(isFile ? 35 : 31);
    meta.writeUInt8(isFile ? 1 : 2, 0);
    meta.writeUInt8(1, 1);
    meta.writeUInt16BE(0x000f, 2);
    meta.writeUInt16BE((isFile ? 0o100000 : 0o040000) | entry.mode, 4);
    meta.writeUInt32BE(0, 6); // uid root
    meta.writeUInt32BE(0, 10); // gid wheel
    meta.writeUInt32BE(entry.mtime >>> 0, 14);
    meta.writeUInt32BE(isFile ? entry.size : 0, 18);
    meta.writeUInt8(1, 22);
    if (isFile) meta.writeUInt32BE(entry.cksum!, 23);
    const metaIndex = blocks.add(meta);
    const key = blocks.add(u32s(id, metaIndex));
    const value = blocks.add(Buffer.concat([u32s(parent), Buffer.from(`${name}\0`)]));
    pairs.push([key, value]);
    if (isFile) totalSize = (totalSize + entry.size) % 2 ** 32;
  });
  const named: Array<[string, number]> = [];
  named.push(['BomInfo', blocks.add(Buffer.concat([u32s(1, entries.length, 1), u32s(0, 0, totalSize, 0)]))]);
  named.push(['Paths', writeTree(blocks, pairs, pathsNodeSize)]);
  named.push(['HLIndex', writeTree(blocks, [], pathsNodeSize)]);
  const vtree = writeTree(blocks, [], smallNodeSize);
  named.push(['VIndex', blocks.add(Buffer.concat([u32s(1, vtree, 0), Buffer.from([1])]))]);
  named.push(['Size64', writeTree(blocks, [], smallNodeSize)]);

  // Lay out: header, blocks, block table, named blocks.
  const pointers: Array<[number, number]> = [];
  let offset = headerSize;
  blocks.list.forEach((data, i) => {
    pointers.push(i === 0 ? [0, 0] : [offset, data.length]);
    offset += data.length;
  });
  const table = Buffer.concat([u32s(pointers.length), ...pointers.map(([o, l]) => u32s(o, l)), u32s(0)]);
  const vars = Buffer.concat([
    u32s(named.length),
    ...named.map(([name, index]) => Buffer.concat([u32s(index), Buffer.from([name.length]), Buffer.from(name)])),
  ]);
  const tableOffset = offset;
  const varsOffset = tableOffset + table.length;
  const header = Buffer.alloc(headerSize);
  header.write('BOMStore', 0, 'latin1');
  header.writeUInt32BE(1, 8);
  header.writeUInt32BE(pointers.filter(([o]) => o !== 0).length, 12);
  header.writeUInt32BE(tableOffset, 16);
  header.writeUInt32BE(table.length, 20);
  header.writeUInt32BE(varsOffset, 24);
  header.writeUInt32BE(vars.length, 28);
  return Buffer.concat([header, ...blocks.list.slice(1), table, vars]);
}
