// ASCII armor (C2SP age §"ASCII armor"): strict PEM, RFC 7468 §3, label "AGE ENCRYPTED FILE": padded standard
// base64 in lines of exactly 64 columns except the last (1..64). Decoding rejects any non-canonical encoding,
// accepts whitespace before and after the block and both LF and CRLF line endings, as the spec allows.
import { AgeError } from '../errors.js';

export const ARMOR_BEGIN = '-----BEGIN AGE ENCRYPTED FILE-----';
export const ARMOR_END = '-----END AGE ENCRYPTED FILE-----';
const COLUMNS = 64;
const BYTES_PER_LINE = 48;
const LINE = /^[A-Za-z0-9+/]*={0,2}$/;
const WHITESPACE = /^[ \t\r\n]*$/;
/** Longest line we buffer before deciding the input is not armor. */
const MAX_LINE = 128;

const invalid = (what: string) => new AgeError('ARMOR_INVALID', `invalid age armor: ${what}`);

export class ArmorEncoder {
  #rest: Buffer = Buffer.alloc(0);
  #started = false;

  push(data: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    if (!this.#started) {
      this.#started = true;
      out.push(Buffer.from(`${ARMOR_BEGIN}\n`));
    }
    const all = this.#rest.length ? Buffer.concat([this.#rest, data]) : Buffer.from(data);
    const whole = all.length - (all.length % BYTES_PER_LINE);
    if (whole > 0) {
      const b64 = all.subarray(0, whole).toString('base64');
      let text = '';
      for (let i = 0; i < b64.length; i += COLUMNS) text += b64.slice(i, i + COLUMNS) + '\n';
      out.push(Buffer.from(text, 'latin1'));
    }
    this.#rest = Buffer.from(all.subarray(whole));
    return out;
  }

  end(): Buffer[] {
    const out = this.push(new Uint8Array(0));
    const tail = this.#rest.length ? `${this.#rest.toString('base64')}\n` : '';
    out.push(Buffer.from(`${tail}${ARMOR_END}\n`, 'latin1'));
    return out;
  }
}

type ArmorState = 'before' | 'body' | 'afterLast' | 'after';

export class ArmorDecoder {
  #text = '';
  #state: ArmorState = 'before';

  push(data: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    this.#text += Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
    if (this.#state === 'after') {
      if (!WHITESPACE.test(this.#text)) throw new AgeError('TRAILING_DATA', 'data after the age armor end line');
      this.#text = '';
      return out;
    }
    let pos = 0;
    for (;;) {
      if (this.#state === 'before') {
        while (pos < this.#text.length && ' \t\r\n'.includes(this.#text[pos])) pos++;
      }
      const lf = this.#text.indexOf('\n', pos);
      if (lf < 0) {
        this.#text = this.#text.slice(pos);
        if (this.#text.length > MAX_LINE) throw invalid('line too long');
        return out;
      }
      let line = this.#text.slice(pos, lf);
      pos = lf + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      const decoded = this.#line(line);
      if (decoded) out.push(decoded);
      if ((this.#state as ArmorState) === 'after') {
        if (!WHITESPACE.test(this.#text.slice(pos)))
          throw new AgeError('TRAILING_DATA', 'data after the age armor end line');
        this.#text = '';
        return out;
      }
    }
  }

  #line(line: string): Buffer | null {
    switch (this.#state) {
      case 'before':
        if (line !== ARMOR_BEGIN) throw invalid('missing BEGIN line');
        this.#state = 'body';
        return null;
      case 'afterLast':
        if (line !== ARMOR_END) throw invalid('expected END line after a short line');
        this.#state = 'after';
        return null;
      case 'body': {
        if (line === ARMOR_END) {
          this.#state = 'after';
          return null;
        }
        if (line.length === 0 || line.length > COLUMNS || !LINE.test(line)) throw invalid('malformed base64 line');
        if (line.length < COLUMNS) this.#state = 'afterLast';
        else if (line.includes('=')) this.#state = 'afterLast'; // padding ends the data
        if (line.length % 4 !== 0) throw invalid('base64 line length is not a multiple of 4');
        const bytes = Buffer.from(line, 'base64');
        if (bytes.toString('base64') !== line) throw invalid('non-canonical base64');
        return bytes;
      }
      case 'after':
        throw new AgeError('TRAILING_DATA', 'data after the age armor end line');
    }
  }

  end(): Buffer[] {
    const out = this.push(new Uint8Array(0));
    if (this.#state !== 'after') {
      // A final END line without its newline is accepted.
      let line = this.#text;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if ((this.#state === 'body' || this.#state === 'afterLast') && line === ARMOR_END) return out;
      throw new AgeError('TRUNCATED', 'age armor ends without the END line');
    }
    return out;
  }
}
