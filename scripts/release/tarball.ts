// dockhand-<version>-linux-x64.tar.gz: the release tree under one top directory, owned by root,
// files sorted and every timestamp the same, gzip without a name or time: the same commit gives
// the same bytes.
import path from 'node:path';
import { run } from './run.ts';

export function writeTarball(releaseDir: string, out: string, epoch: number): void {
  run('tar', [
    '--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${epoch}`,
    '--use-compress-program=gzip -n -9',
    '-C', path.dirname(releaseDir), '-cf', out, path.basename(releaseDir),
  ]);
}
