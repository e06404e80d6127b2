/** The origin itself (`https://shop.example`), or undefined for anything with a path, query or user info. */
export function exactOrigin(value: string): string | undefined {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value ? value : undefined;
  } catch {
    return undefined;
  }
}
