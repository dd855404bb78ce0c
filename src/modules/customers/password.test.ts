import assert from 'node:assert/strict';
import { argon2 } from 'node:crypto';
import { describe, it } from 'node:test';
import { hashPassword, matchPassword } from './password.ts';

const params = { memoryKib: 1024, passes: 1, parallelism: 1 };
const NFC = 'crème brûlée';
const NFD = NFC.normalize('NFD');

describe('password hashes and Unicode normalisation', () => {
  it('hashes the NFC form: either form matches a hash made from the other', async () => {
    assert.equal(await matchPassword(NFD, await hashPassword(NFC, params)), 'nfc');
    assert.equal(await matchPassword(NFC, await hashPassword(NFD, params)), 'nfc');
    assert.equal(await matchPassword(NFD, await hashPassword(NFD, params)), 'nfc');
    assert.equal(await matchPassword('creme brulee', await hashPassword(NFC, params)), 'none');
  });

  it('matches a hash made from the raw non-NFC form only through that form, and says so', async () => {
    const salt = Buffer.alloc(16, 7);
    const key = await new Promise<Buffer>((resolve, reject) =>
      argon2('argon2id', { message: NFD, nonce: salt, parallelism: 1, tagLength: 32, memory: 1024, passes: 1 }, (e, k) => (e ? reject(e) : resolve(k))),
    );
    const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
    const legacy = `$argon2id$v=19$m=1024,t=1,p=1$${b64(salt)}$${b64(key)}`;
    assert.equal(await matchPassword(NFD, legacy), 'raw');
    assert.equal(await matchPassword(NFC, legacy), 'none', 'the composed form never made that hash');
    assert.equal(await matchPassword('not it at all', legacy), 'none');
  });
});
