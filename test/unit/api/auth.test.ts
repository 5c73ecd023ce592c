import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DockhandError } from '../../../src/core/errors.ts';
import { BearerTokenCheck, parseBearer, readTokenFile, TOKEN_FILE_MAX_BYTES } from '../../../src/api/auth.ts';
import { isLoopbackAddress, isLoopbackHost } from '../../../src/core/net.ts';

function configInvalid(message: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof DockhandError && err.code === 'CONFIG_INVALID' && message.test(err.message);
}

void describe('parseBearer', () => {
  void it('extracts the token, scheme case-insensitive', () => {
    assert.equal(parseBearer('Bearer abc.DEF-123'), 'abc.DEF-123');
    assert.equal(parseBearer('bearer abc'), 'abc');
    assert.equal(parseBearer('BEARER  abc '), 'abc');
  });

  void it('rejects other schemes and malformed values', () => {
    assert.equal(parseBearer(undefined), undefined);
    assert.equal(parseBearer('Basic YWxhZGRpbjpvcGVuc2VzYW1l'), undefined);
    assert.equal(parseBearer('Bearer'), undefined);
    assert.equal(parseBearer('Bearer a b'), undefined);
    assert.equal(parseBearer('abc'), undefined);
  });
});

void describe('BearerTokenCheck', () => {
  void it('allows everything when no token is configured', () => {
    const check = new BearerTokenCheck(null);
    assert.equal(check.enabled, false);
    assert.equal(check.verify(undefined), true);
  });

  void it('accepts only the configured token', () => {
    const check = new BearerTokenCheck('s3cret');
    assert.equal(check.enabled, true);
    assert.equal(check.verify('Bearer s3cret'), true);
    assert.equal(check.verify('Bearer s3cre'), false);
    assert.equal(check.verify('Bearer s3cret-and-more'), false);
    assert.equal(check.verify('Bearer S3CRET'), false);
    assert.equal(check.verify(undefined), false);
    assert.equal(check.verify(''), false);
    assert.equal(check.verify('s3cret'), false);
  });

  void it('switches tokens with set()', () => {
    const check = new BearerTokenCheck('old');
    check.set('new');
    assert.equal(check.verify('Bearer old'), false);
    assert.equal(check.verify('Bearer new'), true);
  });
});

void describe('readTokenFile', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dockhand-auth-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('trims surrounding whitespace and reports loose permissions', async () => {
    const file = join(dir, 'token');
    await writeFile(file, '  tok-en_1\n\n');
    await chmod(file, 0o600);
    assert.deepEqual(await readTokenFile(file), { token: 'tok-en_1', looselyPermitted: false });
    await chmod(file, 0o640);
    assert.equal((await readTokenFile(file)).looselyPermitted, false, 'root:dockhand 0640 is the documented install');
    await chmod(file, 0o644);
    assert.equal((await readTokenFile(file)).looselyPermitted, true);
  });

  void it('names the key path and the file when it cannot be read', async () => {
    const file = join(dir, 'missing');
    await assert.rejects(readTokenFile(file), configInvalid(new RegExp(`^api\\.token_file: cannot read ${file}: ENOENT$`)));
  });

  void it('rejects an empty or whitespace-only file', async () => {
    const file = join(dir, 'empty');
    await writeFile(file, ' \n\t\n');
    await assert.rejects(readTokenFile(file), configInvalid(/api\.token_file: .* is empty/));
  });

  void it('rejects a token with inner whitespace, a directory and an oversized file', async () => {
    const spaced = join(dir, 'spaced');
    await writeFile(spaced, 'two words\n');
    await assert.rejects(readTokenFile(spaced), configInvalid(/whitespace inside/));
    await assert.rejects(readTokenFile(dir), configInvalid(/not a regular file|EISDIR/));
    const big = join(dir, 'big');
    await writeFile(big, 'x'.repeat(TOKEN_FILE_MAX_BYTES + 1));
    await assert.rejects(readTokenFile(big), configInvalid(/larger than 4096 bytes/));
  });
});

void describe('isLoopbackHost', () => {
  void it('recognises loopback addresses only', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) assert.equal(isLoopbackHost(host), true, host);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '', 'example.com', '128.0.0.1']) assert.equal(isLoopbackHost(host), false, host);
  });

  void it('isLoopbackAddress takes no name on trust: localhost is only what it resolves to', () => {
    for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopbackAddress(address), true, address);
    for (const address of ['localhost', '0.0.0.0', '::', '192.0.2.2']) assert.equal(isLoopbackAddress(address), false, address);
  });
});
