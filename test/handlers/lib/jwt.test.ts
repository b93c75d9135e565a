import { roomAllowedByClaims, userIdFromClaims, verifyOptions } from '../../../src/handlers/lib/jwt';

describe('verifyOptions', () => {
  test('pins the algorithms, requires exp, and sets only the configured checks', () => {
    expect(verifyOptions({ algorithms: ['HS256'], audience: [], clockToleranceSeconds: 5 })).toEqual({
      algorithms: ['HS256'],
      requiredClaims: ['exp'],
      clockTolerance: 5,
    });
    expect(verifyOptions({ algorithms: ['RS256'], issuer: 'i', audience: ['a', 'b'], clockToleranceSeconds: 0 })).toEqual({
      algorithms: ['RS256'],
      requiredClaims: ['exp'],
      clockTolerance: 0,
      issuer: 'i',
      audience: ['a', 'b'],
    });
  });

  test('refuses an empty algorithm list (which would mean "any")', () => {
    expect(() => verifyOptions({ algorithms: [], audience: [], clockToleranceSeconds: 0 })).toThrow();
  });
});

describe('claims', () => {
  test('user id: a non-empty string of the named claim, own property only', () => {
    expect(userIdFromClaims({ sub: 'u' }, 'sub')).toBe('u');
    expect(userIdFromClaims({ sub: '' }, 'sub')).toBeUndefined();
    expect(userIdFromClaims({ sub: 1 } as never, 'sub')).toBeUndefined();
    expect(userIdFromClaims({}, 'toString')).toBeUndefined();
    expect(userIdFromClaims({}, '__proto__')).toBeUndefined();
  });

  test('rooms: a string or an array of strings, containing the room or *', () => {
    expect(roomAllowedByClaims({ rooms: ['a', 'b'] }, 'rooms', 'b')).toBe(true);
    expect(roomAllowedByClaims({ rooms: 'a' }, 'rooms', 'a')).toBe(true);
    expect(roomAllowedByClaims({ rooms: ['*'] }, 'rooms', 'z')).toBe(true);
    expect(roomAllowedByClaims({ rooms: ['a'] }, 'rooms', 'b')).toBe(false);
    expect(roomAllowedByClaims({ rooms: 'a b' }, 'rooms', 'a')).toBe(false);
    expect(roomAllowedByClaims({ rooms: { a: 1 } }, 'rooms', 'a')).toBe(false);
    expect(roomAllowedByClaims({}, 'rooms', 'a')).toBe(false);
  });
});
