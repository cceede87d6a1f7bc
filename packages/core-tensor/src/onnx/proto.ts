/**
 * A minimal protocol-buffers writer and reader, enough to build ONNX `ModelProto`s in TypeScript and to read the
 * parts of an existing model that the library inspects (opset, IR version, inputs/outputs, initializers).
 * Field numbers follow onnx/onnx.proto (IR version 10).
 */
import { CorruptFileError } from '../errors.js';

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: false });

/** Wire types. */
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private buf = new Uint8Array(256);
  private pos = 0;
  private total = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = new Uint8Array(Math.max(n, this.buf.length * 2));
  }

  private flush(): void {
    if (this.pos > 0) {
      this.chunks.push(this.buf.slice(0, this.pos));
      this.pos = 0;
    }
  }

  private byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
    this.total++;
  }

  /** Unsigned or signed varint; negative numbers are written as 10-byte two's complement, as protobuf int64 does. */
  varint(value: number | bigint): this {
    let v = typeof value === 'bigint' ? value : BigInt(Math.trunc(value));
    if (v < 0n) v = (1n << 64n) + v;
    if (v < 0x80n) {
      this.byte(Number(v));
      return this;
    }
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
    return this;
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  bytes(data: Uint8Array): this {
    this.ensure(data.length);
    if (data.length > this.buf.length - this.pos) {
      this.flush();
      this.chunks.push(data.slice());
    } else {
      this.buf.set(data, this.pos);
      this.pos += data.length;
    }
    this.total += data.length;
    return this;
  }

  int(field: number, value: number | bigint): this {
    this.tag(field, VARINT);
    return this.varint(value);
  }

  float(field: number, value: number): this {
    this.tag(field, I32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    return this.bytes(b);
  }

  string(field: number, value: string): this {
    return this.lenDelimited(field, textEncoder.encode(value));
  }

  lenDelimited(field: number, data: Uint8Array): this {
    this.tag(field, LEN);
    this.varint(data.length);
    return this.bytes(data);
  }

  message(field: number, write: (w: ProtoWriter) => void): this {
    const sub = new ProtoWriter();
    write(sub);
    return this.lenDelimited(field, sub.finish());
  }

  packedInts(field: number, values: ArrayLike<number | bigint>): this {
    const sub = new ProtoWriter();
    for (let i = 0; i < values.length; i++) sub.varint(values[i]);
    return this.lenDelimited(field, sub.finish());
  }

  packedFloats(field: number, values: ArrayLike<number>): this {
    const b = new Uint8Array(values.length * 4);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i], true);
    return this.lenDelimited(field, b);
  }

  finish(): Uint8Array {
    this.flush();
    if (this.chunks.length === 1) return this.chunks[0];
    const out = new Uint8Array(this.total);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/** One decoded field: varints as bigint, fixed as raw bytes, length-delimited as a subarray (no copy). */
export interface ProtoField {
  field: number;
  wire: number;
  varint?: bigint;
  bytes?: Uint8Array;
}

/** Iterates the fields of one message. Throws CorruptFileError on malformed input. */
export function* readFields(buf: Uint8Array, source = 'protobuf'): Generator<ProtoField> {
  let pos = 0;
  const fail = (why: string): never => {
    throw new CorruptFileError('ONNX/protobuf', source, `${why} at byte ${pos}`);
  };
  const readVarint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) fail('truncated varint');
      const b = buf[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
    return fail('varint longer than 10 bytes');
  };
  while (pos < buf.length) {
    const key = readVarint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field === 0) fail('field number 0');
    if (wire === VARINT) yield { field, wire, varint: readVarint() };
    else if (wire === I64) {
      if (pos + 8 > buf.length) fail('truncated fixed64');
      yield { field, wire, bytes: buf.subarray(pos, pos + 8) };
      pos += 8;
    } else if (wire === LEN) {
      const n = Number(readVarint());
      if (pos + n > buf.length) fail(`length ${n} runs past the end`);
      yield { field, wire, bytes: buf.subarray(pos, pos + n) };
      pos += n;
    } else if (wire === I32) {
      if (pos + 4 > buf.length) fail('truncated fixed32');
      yield { field, wire, bytes: buf.subarray(pos, pos + 4) };
      pos += 4;
    } else fail(`unsupported wire type ${wire}`);
  }
}

export function decodeString(b: Uint8Array | undefined): string {
  return b ? textDecoder.decode(b) : '';
}

/** Reads packed or unpacked repeated varints (int64 / int32 fields). */
export function decodePackedVarints(b: Uint8Array): bigint[] {
  const out: bigint[] = [];
  let pos = 0;
  while (pos < b.length) {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= b.length) throw new CorruptFileError('ONNX/protobuf', 'packed field', 'truncated varint');
      const byte = b[pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
      shift += 7n;
    }
    out.push(BigInt.asIntN(64, result));
  }
  return out;
}

export function fixed32ToFloat(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);
}
