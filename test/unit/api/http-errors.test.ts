import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DockhandError } from '../../../src/core/errors.ts';
import { errorBody, INTERNAL_MESSAGE, statusForCode, toHttpError } from '../../../src/api/http-errors.ts';

void describe('http error mapping', () => {
  void it('maps client-facing codes to their statuses', () => {
    assert.equal(statusForCode('BAD_REQUEST'), 400);
    assert.equal(statusForCode('UNAUTHORIZED'), 401);
    assert.equal(statusForCode('FORBIDDEN'), 403);
    assert.equal(statusForCode('NOT_FOUND'), 404);
    assert.equal(statusForCode('METHOD_NOT_ALLOWED'), 405);
    assert.equal(statusForCode('UNAVAILABLE'), 503);
    assert.equal(statusForCode('DOCKER_UNREACHABLE'), 503);
    assert.equal(statusForCode('DOCKER_API'), 502);
    assert.equal(statusForCode('INTERNAL'), 500);
    assert.equal(statusForCode('CONFIG_INVALID'), 500);
  });

  void it('keeps the message of a non-500 DockhandError', () => {
    assert.deepEqual(toHttpError(new DockhandError('BAD_REQUEST', 'prefix "ab12" is ambiguous')), {
      status: 400,
      code: 'BAD_REQUEST',
      message: 'prefix "ab12" is ambiguous',
      internal: false,
    });
    assert.deepEqual(toHttpError(new DockhandError('UNAVAILABLE', 'docker down', { transient: true })), {
      status: 503,
      code: 'UNAVAILABLE',
      message: 'docker down',
      internal: false,
    });
  });

  void it('hides the message of anything that maps to 500', () => {
    const plain = toHttpError(new TypeError('cannot read properties of undefined (reading "x") at /src/secret.ts:1'));
    assert.deepEqual(plain, { status: 500, code: 'INTERNAL', message: INTERNAL_MESSAGE, internal: true });
    const config = toHttpError(new DockhandError('CONFIG_INVALID', 'api.token_file: /etc/dockhand/token'));
    assert.deepEqual(config, { status: 500, code: 'CONFIG_INVALID', message: INTERNAL_MESSAGE, internal: true });
    assert.equal(toHttpError('a string').status, 500);
  });

  void it('renders the error body shape', () => {
    assert.deepEqual(JSON.parse(errorBody('NOT_FOUND', 'no such "thing"')), { error: { code: 'NOT_FOUND', message: 'no such "thing"' } });
  });
});
