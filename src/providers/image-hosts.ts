/**
 * Whether a URL the upstream named may be fetched. An entry without a scheme is a host name over https on the default
 * port (`api.together.ai`), or all its subdomains (`*.together.ai`); an entry with a scheme is one exact origin
 * (`http://127.0.0.1:8080`): plain http, another port or a loopback address is allowed only when listed like that.
 */
export function createImageHostCheck(entries: readonly string[]): (url: string) => boolean {
  const hosts = new Set<string>();
  const suffixes: string[] = [];
  const origins = new Set<string>();
  for (const entry of entries.map((item) => item.trim().toLowerCase())) {
    if (entry.includes('://')) origins.add(new URL(entry).origin);
    else if (entry.startsWith('*.')) suffixes.push(entry.slice(1));
    else hosts.add(entry);
  }
  return (url) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return false;
    }
    if (parsed.username || parsed.password) return false;
    if (origins.has(parsed.origin)) return true;
    if (parsed.protocol !== 'https:' || parsed.port !== '') return false;
    const host = parsed.hostname;
    return hosts.has(host) || suffixes.some((suffix) => host.endsWith(suffix) && host.length > suffix.length);
  };
}
