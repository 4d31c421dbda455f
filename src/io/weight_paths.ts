/**
 * Confinement of the weight paths of a `weightsManifest` to the model directory:
 * a model.json must not make the loader read, or report anything about, a file
 * outside the directory it lives in.
 */
import { show } from '../utils/errors.js';
import { errorCode } from './fs_adapter.js';
import { ModelFileError } from './model_file_error.js';
import type { IoContext } from './io_context.js';

/** The model being loaded: its directory (as given and with links resolved) and its model.json. */
export interface ModelLocation {
  dir: string;
  realDir: string;
  modelFile: string;
}

function inside(ctx: IoContext, dir: string, file: string): boolean {
  const rel = ctx.path.relative(dir, file);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${ctx.path.sep}`) && !ctx.path.isAbsolute(rel);
}

/** Why a manifest path is not a plain relative name, or null when it is one. */
function lexicalProblem(ctx: IoContext, path: string): string | null {
  if (path.includes('\0')) return 'it contains a NUL character';
  if (path.includes('\\')) return 'it contains a backslash (write paths with forward slashes)';
  if (/^[A-Za-z]:/.test(path)) return 'it starts with a drive letter';
  if (path.startsWith('/') || ctx.path.isAbsolute(path)) return 'it is an absolute path';
  if (path.split('/').includes('..')) return "it has a '..' segment";
  return null;
}

/**
 * The absolute path of the weight file that manifest entry `label` (e.g.
 * `weightsManifest[0].paths[1]`) names, after checking that it is inside the model
 * directory: a relative name without `..` segments, backslashes or drive letters,
 * that does not leave the directory through a symbolic link (the real path of the
 * file, or of its nearest existing ancestor, is inside the real path of the
 * directory). Otherwise throws a `ModelFileError` that names the entry and the
 * model.json, and says nothing about the file it points to (not whether it exists,
 * nor its size).
 */
export async function weightFile(ctx: IoContext, at: ModelLocation, path: string, label: string): Promise<string> {
  const refuse = (reason: string): never => {
    throw new ModelFileError(
      `${ctx.where}.load: ${label} of '${at.modelFile}' is ${show(path)}, which is not a file inside the model ` +
        `directory '${at.dir}': ${reason}. Weight files must be named relative to model.json (e.g. "weights.bin" or ` +
        `"shards/group1-shard1of1.bin"), without '..' segments, absolute paths, backslashes or drive letters, and ` +
        `must not be symbolic links leading out of the directory. Fix the manifest, or move the weights next to model.json.`,
      at.modelFile,
    );
  };
  const problem = lexicalProblem(ctx, path);
  if (problem !== null) refuse(problem);
  const file = ctx.path.resolve(at.dir, path);
  if (!inside(ctx, at.dir, file)) refuse('it does not name a file below the directory');
  // Symbolic links: the real path of the file, or of its nearest existing ancestor, must stay inside.
  for (let probe = file; inside(ctx, at.dir, probe); probe = ctx.path.dirname(probe)) {
    let real: string;
    try {
      real = await ctx.fs.realpath(probe);
    } catch (e) {
      if (errorCode(e) !== 'ENOENT') refuse('its location cannot be resolved');
      let link = false;
      try {
        link = (await ctx.fs.lstat(probe)).isSymbolicLink?.() ?? false;
      } catch {
        /* nothing there: look at the parent */
      }
      if (link) refuse('it passes through a symbolic link that does not resolve inside the directory');
      continue;
    }
    if (!inside(ctx, at.realDir, real)) refuse('it passes through a symbolic link that leads out of the directory');
    break;
  }
  return file;
}
