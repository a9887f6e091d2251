import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago, for a process the test starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A session over real HTTP on a server a test started: the cookie (`name=value`) and its CSRF token. */
export async function signInOverHttp(
  base: string,
  email: string,
  password: string,
): Promise<{ cookie: string; csrfToken: string }> {
  const res = await fetch(`${base}/api/v1.0/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200 && res.status !== 201) throw new Error(`sign-in failed: ${res.status}`);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return { cookie, csrfToken };
}
