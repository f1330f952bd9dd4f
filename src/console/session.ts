/**
 * The signed-in key lives in this tab's sessionStorage only: gone when the tab closes, never in
 * localStorage, a cookie or a URL. A key found in the page's address is never used: it is
 * removed from the address bar and the operator is warned that it has leaked (history, logs,
 * Referer), the way Meilisearch's dashboard warns about keys in URLs.
 */
export interface StoredSession {
  token: string;
  /** The master key acts on this project (X-Project-Id); an API key's own project wins. */
  projectId: string;
}

const storageKey = 'prekeyd.console.session';

export function loadSession(): StoredSession | undefined {
  try {
    const parsed = JSON.parse(sessionStorage.getItem(storageKey) ?? 'null') as StoredSession | null;
    return parsed && typeof parsed.token === 'string' && typeof parsed.projectId === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export function saveSession(session: StoredSession): void {
  sessionStorage.setItem(storageKey, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(storageKey);
}

const keyParameterNames = /^(key|api[-_]?key|apikey|token|access[-_]?token|master[-_]?key|secret|authorization)$/i;
const keyLikeValue = /pkd_[A-Za-z0-9]{20,}/;

/** Removes anything key-like from the address (query and fragment); true when something was there. */
export function scrubKeyFromAddress(location: Location, history: History): boolean {
  const url = new URL(location.href);
  let found = false;
  for (const name of [...url.searchParams.keys()]) {
    if (keyParameterNames.test(name) || keyLikeValue.test(url.searchParams.get(name) ?? '')) {
      url.searchParams.delete(name);
      found = true;
    }
  }
  const fragment = decodeURIComponent(url.hash);
  if (keyLikeValue.test(fragment) || /[?&](key|api[-_]?key|token|access[-_]?token|master[-_]?key)=/i.test(fragment)) {
    url.hash = '';
    found = true;
  }
  if (found) history.replaceState(null, '', url.pathname + url.search + url.hash);
  return found;
}
