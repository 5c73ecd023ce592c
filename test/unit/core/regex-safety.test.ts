import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catastrophicBacktrackingRisk } from '../../../src/core/regex-safety.ts';

void describe('catastrophic backtracking check', () => {
  const refused = ['(a+)+$', '^(\\s+)+x', '(?:x*y)*', '(a{1,9}){2,}', '((ab)*c)*', '(?<name>a+)*', '^(\\d+\\s?)+$'];
  for (const pattern of refused) {
    void it(`refuses ${pattern} (a repeated group that repeats inside)`, () => {
      assert.match(catastrophicBacktrackingRisk(pattern) ?? '', /^nested repetition /);
    });
  }

  const accepted = ['^(\\s+at |\\s+\\.\\.\\. \\d+ more|Caused by:)', '^\\s+at ', '(ab)+', '\\(a+\\)+', '[(]+a*', '[\\]+]+', '(a?)*', '(a{1}){3}', 'a{', '(a|b)*c+', '^\\[\\d{4}-\\d{2}'];
  for (const pattern of accepted) {
    void it(`accepts ${pattern}`, () => {
      assert.equal(catastrophicBacktrackingRisk(pattern), undefined);
    });
  }

  void it('names the offending part of the pattern', () => {
    assert.match(catastrophicBacktrackingRisk('^foo (bar\\d+)* baz') ?? '', /"\(bar\\d\+\)\*"/);
  });
});
