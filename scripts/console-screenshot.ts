/**
 * Regenerates docs/console.png, the README's screenshot of the operator console: a server on a
 * temporary database with the browser tests' sample data, the key sets view in headless Chromium.
 *
 *   npx tsx scripts/console-screenshot.ts
 */
import { masterKey } from '../test/helpers/app.ts';
import { createDbPath, removeDir, startServerProcess } from '../test/helpers/server-process.ts';
import { ApiClient, launchChromium, seedData, signIn } from '../test/browser/console-page.ts';

const { dir, dbPath } = createDbPath();
const server = await startServerProcess({ dbPath, logLevel: 'warn' });
const browser = await launchChromium();
try {
  await seedData(new ApiClient(server.url));
  const page = await browser.newPage({ viewport: { width: 1280, height: 600 } });
  await signIn(page, server.url, masterKey);
  await page.getByRole('link', { name: 'Key sets' }).click();
  await page.getByLabel('Sort by').selectOption('oneTimePreKeysRemaining');
  await page.locator('tr[data-user="alice"]').first().waitFor();
  await page.screenshot({ path: 'docs/console.png' });
  console.log('wrote docs/console.png');
} finally {
  await browser.close();
  await server.stop();
  removeDir(dir);
}
