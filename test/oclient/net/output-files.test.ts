import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { skippedTitle } from '../../capabilities.ts';
import {
  checkOutputFile,
  checkStatsFile,
  FrameFile,
  OutputError,
  writeStatsFile,
} from '../../../oclient/net/output-files.ts';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'oclient-out-'));
});
afterEach(() => {
  chmodSync(dir, 0o700);
  rmSync(dir, { recursive: true, force: true });
});

const root = process.getuid?.() === 0;
/** A character device that answers every write with ENOSPC, like a full disk. */
const hasDevFull = existsSync('/dev/full');

describe('checking --output before starting', () => {
  it('accepts a new file and leaves nothing behind', () => {
    expect(checkOutputFile(join(dir, 'out.mjpeg'))).toBeNull();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('accepts an existing file without truncating it', () => {
    const path = join(dir, 'out.mjpeg');
    writeFileSync(path, 'old frames');
    expect(checkOutputFile(path)).toBeNull();
    expect(readFileSync(path, 'utf8')).toBe('old frames');
  });

  it('names the flag, the path and the reason when the directory does not exist', () => {
    const path = join(dir, 'missing', 'out.mjpeg');
    const err = checkOutputFile(path);
    expect(err).toBeInstanceOf(OutputError);
    expect(err?.message).toBe(`cannot write --output ${path}: the directory ${join(dir, 'missing')} does not exist`);
  });

  it('refuses a directory, and a path through a file', () => {
    expect(checkOutputFile(dir)?.reason).toBe('it is a directory');
    writeFileSync(join(dir, 'file'), '');
    expect(checkOutputFile(join(dir, 'file', 'out.mjpeg'))?.reason).toBe(`${join(dir, 'file')} is not a directory`);
  });

  // root may write anywhere: file permissions cannot refuse it, so there is nothing to test as root.
  it.skipIf(root)(
    skippedTitle(
      'refuses a directory it may not write in',
      root ? 'running as root, whom permissions never refuse' : null,
    ),
    () => {
      chmodSync(dir, 0o500);
      expect(checkOutputFile(join(dir, 'out.mjpeg'))?.reason).toBe('permission denied');
    },
  );
});

describe('checking --stats before starting', () => {
  it('accepts a new file and leaves neither it nor its temporary file behind', () => {
    expect(checkStatsFile(join(dir, 'stats.json'))).toBeNull();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a directory and a missing directory, naming --stats', () => {
    expect(checkStatsFile(dir)?.message).toBe(`cannot write --stats ${dir}: it is a directory`);
    const missing = join(dir, 'no', 'stats.json');
    expect(checkStatsFile(missing)?.message).toContain(`--stats ${missing}: the directory`);
  });
});

describe('writing --stats', () => {
  it('replaces the file whole, without a temporary file left over', () => {
    const path = join(dir, 'stats.json');
    writeStatsFile(path, { framesReceived: 1 });
    writeStatsFile(path, { framesReceived: 2 });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ framesReceived: 2 });
    expect(readdirSync(dir)).toEqual(['stats.json']);
  });

  it('throws an OutputError, not a raw file system error, when the directory went away', () => {
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    const path = join(sub, 'stats.json');
    expect(checkStatsFile(path)).toBeNull();
    rmSync(sub, { recursive: true });
    expect(() => writeStatsFile(path, {})).toThrow(OutputError);
    expect(() => writeStatsFile(path, {})).toThrow(`cannot write --stats ${path}: the directory ${sub} does not exist`);
  });

  it.skipIf(!hasDevFull)(
    skippedTitle('writes in place to a device instead of renaming over it', hasDevFull ? null : 'no /dev/full'),
    () => {
      // /dev/full is a character device that answers every write with ENOSPC.
      expect(() => writeStatsFile('/dev/full', {})).toThrow(
        'cannot write --stats /dev/full: no space left on the device',
      );
      expect(existsSync('/dev/full.tmp')).toBe(false);
    },
  );
});

describe('the --output file', () => {
  it('writes the frames in order', async () => {
    const path = join(dir, 'out.mjpeg');
    const file = new FrameFile(path);
    file.write(Buffer.from('one'));
    file.write(Buffer.from('two'));
    // Closed twice at once (a signal during the normal end): both get the outcome of the one close.
    expect(await Promise.all([file.close(), file.close()])).toEqual([null, null]);
    expect(await file.close()).toBeNull();
    expect(readFileSync(path, 'utf8')).toBe('onetwo');
  });

  it.skipIf(!hasDevFull)(
    skippedTitle(
      'reports a failing disk once, as an OutputError, and ignores later frames',
      hasDevFull ? null : 'no /dev/full',
    ),
    async () => {
      expect(checkOutputFile('/dev/full')).toBeNull(); // opening works; writing does not
      const file = new FrameFile('/dev/full');
      const seen: OutputError[] = [];
      file.events.on('error', (err) => seen.push(err));
      file.write(Buffer.alloc(1000));
      const closed = await file.close();
      file.write(Buffer.alloc(1000));
      expect(seen.map((e) => e.message)).toEqual(['cannot write --output /dev/full: no space left on the device']);
      expect(closed).toBe(seen[0]);
      expect(file.error).toBe(seen[0]);
    },
  );

  it('reports a file that cannot be opened once playback started', async () => {
    const path = join(dir, 'gone', 'out.mjpeg');
    const file = new FrameFile(path);
    const failed = new Promise<OutputError>((resolve) => {
      file.events.on('error', resolve);
    });
    file.write(Buffer.from('frame'));
    expect((await failed).reason).toBe(`the directory ${join(dir, 'gone')} does not exist`);
    expect(await file.close()).toBe(file.error);
  });
});
