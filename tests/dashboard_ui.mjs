// Drives the dashboard of a running `goldroot serve` in headless Chromium
// (tests/dashboard_ui.sh sets the site up and checks the API afterwards).
// Usage: node dashboard_ui.mjs URL SCREENSHOT.png; env: NODE_PATH-free, the
// caller passes PLAYWRIGHT (path of the playwright-core package).
import { createRequire } from 'node:module';

const [url, screenshot] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT);

function check(condition, message) {
  if (!condition) throw new Error(message);
  console.log('ok - ' + message);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(url);
  await page.waitForSelector('.tile[data-host="pc01"]', { timeout: 15000 });

  const tile = (name) => page.locator(`.tile[data-host="${name}"]`);
  const lab3 = page.locator('section[data-lab-section="lab3"] .tile');
  check((await lab3.count()) === 4, 'lab3 shows a grid of its 4 hosts');
  check((await page.locator('section[data-lab-section="lab4"] .tile').count()) === 2,
        'lab4 shows its 2 hosts');
  check(await tile('pc01').getAttribute('data-state') === 'up' &&
        (await tile('pc01').getAttribute('class')).includes('state-up'), 'pc01 is up');
  check(await tile('pc01').getAttribute('data-dirty') === 'yes' &&
        (await tile('pc01').innerText()).includes('dirty 2'), 'pc01 is marked dirty with 2 changes');
  check(await tile('pc02').getAttribute('data-state') === 'up' &&
        await tile('pc02').getAttribute('data-dirty') === 'no', 'pc02 is up and clean');
  check(await tile('pc02').locator('.version.old').count() === 1,
        'pc02 runs an image that is not its channel\'s current one');
  check(await tile('pc01').locator('.version.old').count() === 0 &&
        (await tile('pc01').innerText()).includes(process.env.V1.slice(0, 12)),
        'pc01 runs gold\'s current image (short commit shown)');
  check(await tile('pc03').getAttribute('data-state') === 'down', 'pc03 never reported: down');

  const gold = await page.locator('#channels tr[data-channel="gold"]').innerText();
  check(gold.includes(process.env.V1.slice(0, 12)), 'the channels table shows gold -> v1');
  const test = await page.locator('#channels tr[data-channel="test"]').innerText();
  check(test.includes(process.env.V2.slice(0, 12)), 'the channels table shows test -> v2');
  const v1 = await page.locator(`#versions tr[data-commit="${process.env.V1}"]`).innerText();
  check(v1.includes('2: pc01, pc05') && v1.includes('gold'), 'v1 is run by pc01 and pc05');

  // A host's panel: details, changes, mode.
  await tile('pc01').click();
  await page.waitForSelector('#panel:not([hidden])');
  await page.waitForFunction(() => document.getElementById('panel-changes').innerText.includes('/etc/added'));
  const changes = await page.locator('#panel-changes').innerText();
  check(changes.includes('/etc/added') && changes.includes('/etc/motd') &&
        changes.includes('dirty: 2 changes') && !changes.includes('null'),
        'the panel lists pc01\'s last reported changes');
  check((await page.locator('#panel-details dd[data-field="state"]').innerText()) === 'up',
        'the panel shows pc01\'s details');
  await page.selectOption('#host-mode', 'maintenance');
  await page.click('#host-mode-set');
  await page.waitForFunction(() => document.getElementById('panel-message').innerText.includes('maintenance'));
  check((await page.locator('#panel-message').getAttribute('class')).includes('ok'),
        'setting pc01\'s mode to maintenance succeeded');
  await page.waitForFunction(() =>
    document.querySelector('#panel-details dd[data-field="next boot"]').innerText === 'maintenance');
  check(true, 'the panel shows pc01\'s next boot mode as maintenance');

  // A lab's mode in one action.
  await page.selectOption('select[data-lab="lab4"]', 'reset');
  await page.click('button[data-lab-set="lab4"]');
  await page.waitForFunction(() =>
    (document.querySelector('[data-lab-message="lab4"]') || {}).innerText?.includes('reset mode'));
  check(true, 'lab4 was set to reset in one action');
  await page.waitForFunction(() =>
    document.querySelector('section[data-lab-section="lab4"] .lab-mode').innerText.includes('lab mode: reset'));
  check(true, 'lab4\'s header shows its new mode');

  check(pageErrors.length === 0, 'no JavaScript errors on the page' +
        (pageErrors.length ? ': ' + pageErrors.join('; ') : ''));
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log('screenshot: ' + screenshot);

  // From a client that is not exempt, the page asks for the admin token.
  if (process.env.TOKEN_URL) {
    const other = await browser.newPage();
    await other.goto(process.env.TOKEN_URL);
    await other.waitForFunction(() => !document.getElementById('error').hidden);
    check((await other.locator('#error').innerText()).includes('admin token'),
          'without a token the page asks for the admin token');
    await other.fill('#token', process.env.ADMIN_TOKEN);
    await other.click('#token-form button');
    await other.waitForSelector('.tile[data-host="pc01"]', { timeout: 15000 });
    check(await other.evaluate(() => localStorage.getItem('goldroot.adminToken')) === process.env.ADMIN_TOKEN,
          'the token is kept in localStorage and the fleet shows');
  }
} finally {
  await browser.close();
}
