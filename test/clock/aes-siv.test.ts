// AES-SIV (agent/clock/aes-siv.ts) against RFC 5297's test vectors (Appendix A.1 deterministic,
// A.2 nonce-based) and RFC 4493's CMAC vectors, plus properties: what is sealed opens, and any
// change to the sealed bytes, the key or the associated data makes it fail to open.
import test from 'ava';
import fc from 'fast-check';
import { cmac, sivDecrypt, sivEncrypt } from '../../agent/clock/aes-siv.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

test('RFC 4493 AES-CMAC vectors (empty, one block, 40 bytes, four blocks)', (t) => {
  const key = hex('2b7e1516 28aed2a6 abf71588 09cf4f3c');
  const message = hex(
    `6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51
     30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710`,
  );
  t.deepEqual(cmac(key, Buffer.alloc(0)), hex('bb1d6929 e9593728 7fa37d12 9b756746'));
  t.deepEqual(cmac(key, message.subarray(0, 16)), hex('070a16b4 6b4d4144 f79bdd9d d04a287c'));
  t.deepEqual(cmac(key, message.subarray(0, 40)), hex('dfa66747 de9ae630 30ca3261 1497c827'));
  t.deepEqual(cmac(key, message), hex('51f0bebf 7e3b9d92 fc497417 79363cfe'));
});

test('RFC 5297 A.1: deterministic authenticated encryption', (t) => {
  const key = hex(`fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff`);
  const ad = hex(`10111213 14151617 18191a1b 1c1d1e1f 20212223 24252627`);
  const plaintext = hex(`11223344 55667788 99aabbcc ddee`);
  const expected = hex(`85632d07 c6e8f37f 950acd32 0a2ecc93 40c02b96 90c4dc04 daef7f6a fe5c`);
  const sealed = sivEncrypt(key, [ad], plaintext);
  t.deepEqual(sealed, expected);
  t.deepEqual(sivDecrypt(key, [ad], sealed), plaintext);
});

test('RFC 5297 A.2: nonce-based authenticated encryption (three AD strings, the nonce last)', (t) => {
  const key = hex(`7f7e7d7c 7b7a7978 77767574 73727170 40414243 44454647 48494a4b 4c4d4e4f`);
  const ad1 = hex(`00112233 44556677 8899aabb ccddeeff deaddada deaddada ffeeddcc bbaa9988 77665544 33221100`);
  const ad2 = hex(`10203040 50607080 90a0`);
  const nonce = hex(`09f91102 9d74e35b d84156c5 635688c0`);
  const plaintext = hex(
    `74686973 20697320 736f6d65 20706c61 696e7465 78742074 6f20656e 63727970 74207573 696e6720 5349562d 414553`,
  );
  const expected = hex(
    `7bdb6e3b 432667eb 06f4d14b ff2fbd0f cb900f2f ddbe4043 26601965 c889bf17 dba77ceb 094fa663 b7a3f748 ba8af829 ea64ad54 4a272e9c 485b62a3 fd5c0d`,
  );
  const sealed = sivEncrypt(key, [ad1, ad2, nonce], plaintext);
  t.deepEqual(sealed, expected);
  t.deepEqual(sivDecrypt(key, [ad1, ad2, nonce], sealed), plaintext);
});

test('keys of the wrong length are refused; a sealed text shorter than the tag does not open', (t) => {
  t.throws(() => sivEncrypt(Buffer.alloc(16), [], Buffer.alloc(1)), { instanceOf: RangeError });
  t.is(sivDecrypt(Buffer.alloc(32), [], Buffer.alloc(15)), null);
});

test('property: sealed data opens, and any flipped bit in the sealed bytes or the AD does not', (t) => {
  fc.assert(
    fc.property(
      fc.constantFrom(32, 48, 64).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
      fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 3 }),
      fc.uint8Array({ maxLength: 70 }),
      fc.nat(),
      (key, ad, plaintext, flip) => {
        const sealed = sivEncrypt(key, ad, plaintext);
        if (sealed.length !== plaintext.length + 16) return false;
        const opened = sivDecrypt(key, ad, sealed);
        if (!opened || !opened.equals(Buffer.from(plaintext))) return false;
        const bit = flip % (sealed.length * 8);
        const tampered = Buffer.from(sealed);
        tampered[bit >> 3]! ^= 1 << (bit & 7);
        if (sivDecrypt(key, ad, tampered) !== null) return false;
        const otherAd = [...ad, new Uint8Array([flip & 0xff])];
        return sivDecrypt(key, otherAd, sealed) === null;
      },
    ),
  );
  t.pass();
});
