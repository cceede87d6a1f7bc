/**
 * Where models given by name are looked up, on any platform (environment variables are read where a `process`
 * exists): the caller's folders, then $TRUSTVISION_MODELS, then the cache that `npm run models` fills
 * ($TRUSTVISION_CACHE/models, else $XDG_CACHE_HOME/trustvision/models, else ~/.cache/trustvision/models).
 */
function env(name: string): string | undefined {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return p?.env?.[name] || undefined;
}

export function modelSearchPath(dirs: readonly string[] = []): string[] {
  const out = [...dirs];
  const models = env('TRUSTVISION_MODELS');
  if (models) out.push(models);
  const xdg = env('XDG_CACHE_HOME');
  const home = env('HOME') ?? env('USERPROFILE');
  const cache =
    env('TRUSTVISION_CACHE') ?? (xdg ? `${xdg}/trustvision` : home ? `${home}/.cache/trustvision` : undefined);
  if (cache) out.push(`${cache}/models`);
  return out;
}
