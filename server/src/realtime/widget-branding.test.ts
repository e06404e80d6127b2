import { serverMessageSchema } from '@atelier/protocol/schemas';
import { connectWidget, startTestServer, type TestServer } from '@atelier/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(() => server.stop());

async function configure(secretKey: string, patch: unknown): Promise<void> {
  const response = await server.api(secretKey, '/v1/config', { method: 'PUT', body: patch });
  expect(response.status).toBe(200);
}

async function welcomeOf(tenant: { publishableKey: string }, origin: string) {
  const { widget, welcome } = await connectWidget(server.url, tenant.publishableKey, origin);
  await widget.close();
  return welcome;
}

describe("the widget's welcome", () => {
  it("carries its own tenant's branding and no other's", async () => {
    const homeware = await server.createTenant({ name: 'Homeware', origins: ['http://home.test'] });
    const fashion = await server.createTenant({ name: 'Fashion', origins: ['http://fashion.test'] });
    const plain = await server.createTenant({ name: 'Plain', origins: ['http://plain.test'] });
    const homeBranding = {
      colors: { accent: '#b5651d', background: '#fdf8f3' },
      fontFamily: "Georgia, 'Times New Roman', serif",
      radius: 4,
      density: 'compact',
      logoUrl: 'https://home.test/logo.svg',
      strings: { en: { generate: 'Create my scene' }, de: { generate: 'Meine Szene erstellen' } },
    };
    await configure(homeware.secretKey, { branding: homeBranding });
    await configure(fashion.secretKey, { branding: { colors: { accent: '#0f766e' }, strings: { fr: { generate: 'Créer' } } } });

    const home = await welcomeOf(homeware, 'http://home.test');
    expect(home.config.branding).toEqual(homeBranding);
    // What the server sends is what the protocol's own schema accepts.
    expect(serverMessageSchema.parse(home)).toEqual(home);

    expect((await welcomeOf(fashion, 'http://fashion.test')).config.branding).toEqual({
      colors: { accent: '#0f766e' },
      fontFamily: null,
      radius: null,
      density: null,
      logoUrl: null,
      strings: { fr: { generate: 'Créer' } },
    });
    expect((await welcomeOf(plain, 'http://plain.test')).config.branding).toEqual({
      colors: {},
      fontFamily: null,
      radius: null,
      density: null,
      logoUrl: null,
      strings: {},
    });
  });

  it('carries the branding as changed, on the next connection', async () => {
    const shop = await server.createTenant({ name: 'Changing', origins: ['http://changing.test'] });
    await configure(shop.secretKey, { branding: { colors: { accent: '#112233' } } });
    expect((await welcomeOf(shop, 'http://changing.test')).config.branding?.colors).toEqual({ accent: '#112233' });
    await configure(shop.secretKey, { branding: { colors: { accent: '#445566', text: '#000' }, radius: 0 } });
    const after = await welcomeOf(shop, 'http://changing.test');
    expect(after.config.branding).toMatchObject({ colors: { accent: '#445566', text: '#000' }, radius: 0 });
  });
});
