// Minimal CBOR (RFC 8949) helpers for the SurrealDB test server.
//
// The front must never re-encode request or response payloads: values have to reach
// SurrealDB and the client exactly as the other side's encoder produced them (SurrealDB
// sends floats in their shortest exact width, custom tags, ...). So instead of a full
// codec this module can
//   - find where a data item ends (`itemEnd`), which is all that is needed to walk the
//     top-level request/response map and copy each value's raw bytes (`walkMap`);
//   - decode small, known values (ids, method names, UUIDs, error objects) (`decode`);
//   - encode the few things the front builds itself: envelopes, ids, UUIDs, and the
//     error objects the real server synthesises (`enc`).

export class CborError extends Error {}

const TEXT_DECODER = new TextDecoder('utf-8', { fatal: true });

// Reads an item head. Returns { major, info, arg (number|bigint|null for indefinite), next }.
function readHead(buf, off) {
  if (off >= buf.length) throw new CborError('unexpected end of input');
  const ib = buf[off];
  const major = ib >> 5;
  const info = ib & 0x1f;
  let arg;
  let next = off + 1;
  if (info < 24) {
    arg = info;
  } else if (info === 24) {
    need(buf, next, 1);
    arg = buf[next];
    next += 1;
  } else if (info === 25) {
    need(buf, next, 2);
    arg = buf.readUInt16BE(next);
    next += 2;
  } else if (info === 26) {
    need(buf, next, 4);
    arg = buf.readUInt32BE(next);
    next += 4;
  } else if (info === 27) {
    need(buf, next, 8);
    arg = buf.readBigUInt64BE(next);
    if (arg <= BigInt(Number.MAX_SAFE_INTEGER)) arg = Number(arg);
    next += 8;
  } else if (info === 31) {
    // Indefinite length: only legal for byte/text strings, arrays, maps and "break".
    if (major === 0 || major === 1 || major === 6) throw new CborError('invalid indefinite length');
    arg = null;
  } else {
    throw new CborError(`reserved additional info ${info}`);
  }
  return { major, info, arg, next };
}

function need(buf, off, n) {
  if (off + n > buf.length) throw new CborError('unexpected end of input');
}

function lengthOf(arg) {
  if (typeof arg === 'bigint') throw new CborError('length too large');
  return arg;
}

/** Offset just past the data item that starts at `off`. Throws CborError if malformed. */
export function itemEnd(buf, off, depth = 0) {
  if (depth > 512) throw new CborError('nesting too deep');
  const h = readHead(buf, off);
  switch (h.major) {
    case 0:
    case 1:
      return h.next;
    case 2:
    case 3: {
      if (h.arg === null) {
        // Indefinite string: definite chunks of the same major type, then 0xff.
        let p = h.next;
        for (;;) {
          need(buf, p, 1);
          if (buf[p] === 0xff) return p + 1;
          const c = readHead(buf, p);
          if (c.major !== h.major || c.arg === null) throw new CborError('invalid string chunk');
          p = c.next + lengthOf(c.arg);
          need(buf, 0, p);
        }
      }
      const end = h.next + lengthOf(h.arg);
      need(buf, 0, end);
      return end;
    }
    case 4:
    case 5: {
      const per = h.major === 5 ? 2 : 1;
      let p = h.next;
      if (h.arg === null) {
        for (;;) {
          need(buf, p, 1);
          if (buf[p] === 0xff) return p + 1;
          for (let k = 0; k < per; k++) p = itemEnd(buf, p, depth + 1);
        }
      }
      const n = lengthOf(h.arg) * per;
      for (let i = 0; i < n; i++) p = itemEnd(buf, p, depth + 1);
      return p;
    }
    case 6:
      return itemEnd(buf, h.next, depth + 1);
    case 7:
      if (h.arg === null) throw new CborError('unexpected break');
      return h.next;
    default:
      throw new CborError('unreachable');
  }
}

/** True when `buf` holds exactly one well-formed data item. */
export function isWellFormed(buf) {
  try {
    return buf.length > 0 && itemEnd(buf, 0) === buf.length;
  } catch {
    return false;
  }
}

/**
 * Walks a top-level map and returns its entries as raw byte ranges, in wire order:
 * [{ key (decoded when it is a text string, else undefined), keyStart, valStart, valEnd }].
 * Returns null when the item is not a map. Throws CborError when malformed.
 */
export function walkMap(buf, off = 0) {
  const h = readHead(buf, off);
  if (h.major !== 5) return null;
  const entries = [];
  let p = h.next;
  const take = () => {
    const keyStart = p;
    const kh = readHead(buf, p);
    const keyEnd = itemEnd(buf, p);
    let key;
    if (kh.major === 3) key = decode(buf.subarray(keyStart, keyEnd));
    const valEnd = itemEnd(buf, keyEnd);
    entries.push({ key, keyStart, valStart: keyEnd, valEnd });
    p = valEnd;
  };
  if (h.arg === null) {
    for (;;) {
      need(buf, p, 1);
      if (buf[p] === 0xff) break;
      take();
    }
  } else {
    for (let i = 0; i < lengthOf(h.arg); i++) take();
  }
  return entries;
}

/** Raw element ranges of a top-level array: [{ start, end }], or null if not an array. */
export function walkArray(buf, off = 0) {
  const h = readHead(buf, off);
  if (h.major !== 4) return null;
  const out = [];
  let p = h.next;
  const take = () => {
    const end = itemEnd(buf, p);
    out.push({ start: p, end });
    p = end;
  };
  if (h.arg === null) {
    for (;;) {
      need(buf, p, 1);
      if (buf[p] === 0xff) break;
      take();
    }
  } else {
    for (let i = 0; i < lengthOf(h.arg); i++) take();
  }
  return out;
}

/** A decoded CBOR tag. SurrealDB's NONE is Tagged(6, null). */
export class Tagged {
  constructor(tag, value) {
    this.tag = tag;
    this.value = value;
  }
}

/**
 * Decodes one item into plain JS values: integers as number (bigint beyond 2^53),
 * byte strings as Buffer, maps as null-prototype objects (non-text keys are stringified),
 * tags as Tagged. Only used for small values the front has to understand.
 */
export function decode(buf, off = 0) {
  const [value, end] = decodeAt(buf, off, 0);
  if (off === 0 && end !== buf.length) throw new CborError('trailing bytes');
  return value;
}

function decodeAt(buf, off, depth) {
  if (depth > 512) throw new CborError('nesting too deep');
  const h = readHead(buf, off);
  switch (h.major) {
    case 0:
      return [h.arg, h.next];
    case 1:
      return [typeof h.arg === 'bigint' ? -1n - h.arg : (h.arg >= Number.MAX_SAFE_INTEGER ? -1n - BigInt(h.arg) : -1 - h.arg), h.next];
    case 2:
    case 3: {
      const end = itemEnd(buf, off);
      let bytes;
      if (h.arg === null) {
        const parts = [];
        let p = h.next;
        while (buf[p] !== 0xff) {
          const c = readHead(buf, p);
          parts.push(buf.subarray(c.next, c.next + c.arg));
          p = c.next + c.arg;
        }
        bytes = Buffer.concat(parts);
      } else {
        bytes = buf.subarray(h.next, end);
      }
      if (h.major === 2) return [Buffer.from(bytes), end];
      try {
        return [TEXT_DECODER.decode(bytes), end];
      } catch {
        throw new CborError('invalid UTF-8 in text string');
      }
    }
    case 4: {
      const arr = [];
      let p = h.next;
      const n = h.arg === null ? Infinity : lengthOf(h.arg);
      for (let i = 0; i < n; i++) {
        if (h.arg === null && buf[p] === 0xff) { p++; break; }
        const [v, e] = decodeAt(buf, p, depth + 1);
        arr.push(v);
        p = e;
      }
      return [arr, p];
    }
    case 5: {
      const obj = Object.create(null);
      let p = h.next;
      const n = h.arg === null ? Infinity : lengthOf(h.arg);
      for (let i = 0; i < n; i++) {
        if (h.arg === null && buf[p] === 0xff) { p++; break; }
        const [k, ke] = decodeAt(buf, p, depth + 1);
        const [v, ve] = decodeAt(buf, ke, depth + 1);
        obj[typeof k === 'string' ? k : String(k)] = v;
        p = ve;
      }
      return [obj, p];
    }
    case 6: {
      const [v, e] = decodeAt(buf, h.next, depth + 1);
      return [new Tagged(h.arg, v), e];
    }
    case 7: {
      if (h.info === 25) return [halfToFloat(buf.readUInt16BE(off + 1)), h.next];
      if (h.info === 26) return [buf.readFloatBE(off + 1), h.next];
      if (h.info === 27) return [buf.readDoubleBE(off + 1), h.next];
      if (h.arg === 20) return [false, h.next];
      if (h.arg === 21) return [true, h.next];
      if (h.arg === 22) return [null, h.next];
      if (h.arg === 23) return [undefined, h.next];
      if (h.arg === null) throw new CborError('unexpected break');
      return [new Tagged('simple', h.arg), h.next];
    }
    default:
      throw new CborError('unreachable');
  }
}

function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

// ---------------------------------------------------------------------------------------
// UUIDs: SurrealDB sends them as tag 37 over a 16-byte string; clients may also send the
// text form (optionally as tag 9).

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Canonical lower-case string of a decoded UUID value, or null if it is not one. */
export function uuidOf(value) {
  if (value instanceof Tagged && value.tag === 37 && Buffer.isBuffer(value.value) && value.value.length === 16) {
    const h = value.value.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  if (value instanceof Tagged && value.tag === 9) return uuidOf(value.value);
  if (typeof value === 'string' && UUID_RE.test(value)) return value.toLowerCase();
  return null;
}

/** True for SurrealDB NONE (tag 6), CBOR undefined, or a missing value. */
export function isNone(value) {
  return value === undefined || (value instanceof Tagged && value.tag === 6);
}

// ---------------------------------------------------------------------------------------
// Encoding of the few values the front builds itself. Every function returns a Buffer.

function head(major, n) {
  if (typeof n === 'bigint') {
    const b = Buffer.alloc(9);
    b[0] = (major << 5) | 27;
    b.writeBigUInt64BE(n, 1);
    return b;
  }
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = (major << 5) | 25;
    b.writeUInt16BE(n, 1);
    return b;
  }
  if (n < 0x100000000) {
    const b = Buffer.alloc(5);
    b[0] = (major << 5) | 26;
    b.writeUInt32BE(n, 1);
    return b;
  }
  return head(major, BigInt(n));
}

/** The head of a definite-length map with `n` entries (for maps assembled from raw parts). */
export function mapHeader(n) {
  return head(5, n);
}

export const enc = {
  /** SurrealDB's NONE: tag 6 over null. */
  NONE: Buffer.from([0xc6, 0xf6]),
  text(s) {
    const bytes = Buffer.from(s, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  },
  int(n) {
    if (typeof n === 'bigint') return n >= 0n ? head(0, n) : head(1, -1n - n);
    return n >= 0 ? head(0, n) : head(1, -1 - n);
  },
  uuid(str) {
    return Buffer.concat([Buffer.from([0xd8, 0x25, 0x50]), Buffer.from(str.replace(/-/g, ''), 'hex')]);
  },
  array(items) {
    return Buffer.concat([head(4, items.length), ...items]);
  },
  /** A map from [key, rawValueBytes] pairs, written in the given order. */
  map(pairs) {
    const parts = [head(5, pairs.length)];
    for (const [k, v] of pairs) parts.push(enc.text(k), v);
    return Buffer.concat(parts);
  },
  /**
   * Encodes a plain JS value: strings, safe integers/bigints, null, Buffers (already
   * encoded CBOR, inserted verbatim), arrays, and objects, whose keys are written sorted
   * like SurrealDB's BTreeMap-based encoder does.
   */
  value(v) {
    if (Buffer.isBuffer(v)) return v;
    if (typeof v === 'string') return enc.text(v);
    if (typeof v === 'number' || typeof v === 'bigint') return enc.int(v);
    if (v === null) return Buffer.from([0xf6]);
    if (Array.isArray(v)) return enc.array(v.map(enc.value));
    const keys = Object.keys(v).sort();
    return enc.map(keys.map((k) => [k, enc.value(v[k])]));
  },
};
