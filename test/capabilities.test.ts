/** The test helpers that fail a test (a tool setup installs is missing) or skip it (the machine cannot). */
import { describe, expect, it } from 'vitest';
import {
  hasCommand,
  MissingToolError,
  missingToolMessage,
  parseSkippedTitle,
  requireCommands,
  requireGstElements,
  skippedTitle,
} from './capabilities.ts';

describe('requireCommands', () => {
  it('passes when every command is on PATH', () => {
    expect(hasCommand('sh')).toBe(true);
    expect(() => requireCommands('sh')).not.toThrow();
  });

  it('fails naming each missing command and telling to run npm run setup', () => {
    expect(hasCommand('onode-no-such-tool')).toBe(false);
    expect(() => requireCommands('sh', 'onode-no-such-tool')).toThrow(MissingToolError);
    expect(() => requireCommands('onode-no-such-tool')).toThrow(
      'not installed: onode-no-such-tool (Debian package onode-no-such-tool). Run `npm run setup` (as root)',
    );
  });

  it('names the Debian package setup installs for a command', () => {
    expect(missingToolMessage(['mn', 'gst-launch-1.0'])).toBe(
      'not installed: mn (Debian package mininet), ' +
        'gst-launch-1.0 (Debian package gstreamer1.0-tools). ' +
        'Run `npm run setup` (as root) to install what the tests use.',
    );
  });

  it('fails for a GStreamer element that no plugin provides, naming the setup command', () => {
    expect(() => requireGstElements('onodenosuchelement')).toThrow(/onodenosuchelement .*Run `npm run setup`/);
  });
});

describe('skippedTitle', () => {
  it('leaves a title alone when nothing stops the suite', () => {
    expect(skippedTitle('Mininet: the report topology', null)).toBe('Mininet: the report topology');
    expect(parseSkippedTitle('Mininet: the report topology')).toBeNull();
  });

  it('puts the reason in the title, and the reporter reads it back', () => {
    const reason = 'cannot create a network namespace: Operation not permitted';
    const title = skippedTitle('Mininet: the report topology', reason);
    expect(title).toBe(`Mininet: the report topology [skipped: ${reason}]`);
    expect(parseSkippedTitle(title)).toEqual({
      title: 'Mininet: the report topology',
      reason: 'cannot create a network namespace: Operation not permitted',
    });
  });
});
