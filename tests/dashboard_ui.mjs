// Drives the dashboard of a running `goldroot serve` in headless Chromium
// (tests/dashboard_ui.sh sets the site up and checks the API afterwards).
// Usage: node dashboard_ui.mjs URL SCREENSHOT.png; env: NODE_PATH-free, the
// caller passes PLAYWRIGHT (path of the playwright-core package),
// ADMIN_TOKEN, V1 and V2 (the commits on gold and test), PC04_KEY (the id of
// the key pc04 presented, pending), PC06_KEY and IMPOSTOR_KEY (pc06's
// enrolled key and the other one refused for it), and COOKIE_FILE, where the
// last session cookie's value is left for the caller to show that it no
// longer opens anything after logging out.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const [url, screenshot] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT);
const token = process.env.ADMIN_TOKEN;
const sessionUrl = new URL('/api/v1/session', url).href;

function check(condition, message) {
  if (!condition) throw new Error(message);
  console.log('ok - ' + message);
}

// Outside the browser: what the server answers a bare session cookie.
async function withCookie(value, method = 'GET') {
  const headers = { Cookie: 'goldroot_session=' + value };
  if (method !== 'GET') Object.assign(headers, { 'Content-Type': 'application/json', Origin: new URL(url).origin });
  return (await fetch(sessionUrl, { method, headers })).status;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {  // the server's CSP allows no inline script or style
    if (message.text().includes('Content Security Policy')) pageErrors.push(message.text());
  });
  const visible = (selector) => page.locator(selector).isVisible();
  const sessionCookie = async () =>
    (await context.cookies(url)).find((cookie) => cookie.name === 'goldroot_session');
  const logIn = async (value) => {
    await page.fill('#token', value);
    await page.click('#token-form button[type="submit"]');
  };

  // A token an older page left in localStorage is forgotten, not used.
  await page.goto(url);
  await page.evaluate((value) => localStorage.setItem('goldroot.adminToken', value), token);
  await page.reload();
  await page.waitForSelector('#token-form', { state: 'visible' });
  check(await page.evaluate(() => localStorage.getItem('goldroot.adminToken')) === null,
        'the page forgets an admin token an older version kept in localStorage');
  check(!(await visible('#fleet')) && !(await visible('#logout')) &&
        (await page.locator('.tile').count()) === 0,
        'logged out, the page shows the login form and no fleet');
  check(await page.getAttribute('#token', 'type') === 'password', 'the token field is a password field');

  await logIn('not-the-token');
  await page.waitForFunction(() => document.getElementById('login-message').innerText.trim() !== '');
  const refused = await page.locator('#login-message').innerText();
  check(refused.includes('wrong'), 'a wrong token is refused with a message: ' + refused);
  check(!(await visible('#fleet')) && (await page.locator('.tile').count()) === 0 &&
        (await sessionCookie()) === undefined, 'a wrong token shows no fleet and sets no cookie');
  await page.screenshot({ path: screenshot.replace(/\.png$/, '-login.png') });

  await logIn(token);
  await page.waitForSelector('.tile[data-host="pc01"]', { timeout: 15000 });
  check(!(await visible('#token-form')) && await visible('#logout') &&
        (await page.inputValue('#token')) === '',
        'the right token logs in: the fleet shows, the login form is gone, the field is emptied');
  const cookie = await sessionCookie();
  check(cookie && cookie.httpOnly && cookie.sameSite === 'Strict',
        'the goldroot_session cookie is HttpOnly and SameSite=Strict');
  check(!(await page.evaluate(() => document.cookie)).includes('goldroot_session'),
        'the page\'s scripts cannot read the session cookie');
  const stored = await page.evaluate(() => JSON.stringify(Object.assign({}, localStorage)));
  check(!stored.includes(token) && !stored.includes('adminToken'), 'localStorage holds no token');

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
  // Host keys: pc04 presented a key (pending), another key was presented for pc06 (refused).
  const { PC04_KEY: pc04Key, PC06_KEY: pc06Key, IMPOSTOR_KEY: impostorKey } = process.env;
  const field = (name) => page.locator(`#panel-details dd[data-field="${name}"]`);
  const openHost = async (name) => {
    await tile(name).click();
    await page.waitForFunction((host) => document.getElementById('panel-title').innerText === host, name);
  };
  check(await tile('pc04').getAttribute('data-key') === 'pending' &&
        (await tile('pc04').locator('.badge.key-pending').innerText()) === 'key?' &&
        (await tile('pc04').locator('.badge.key-refused').count()) === 0,
        'pc04\'s tile shows the "key?" badge of a pending key');
  check((await tile('pc06').locator('.badge.key-refused').innerText()) === '!!' &&
        (await tile('pc06').locator('.badge.key-pending').count()) === 0,
        'pc06\'s tile shows the "!!" badge of a refused key');
  check((await page.locator('.tile[data-host="pc01"] .badge, .tile[data-host="pc02"] .badge').count()) === 0,
        'hosts with just their enrolled key have no badge');
  const red = 'rgb(192, 57, 43)';
  const colour = (locator) => locator.evaluate((node) => getComputedStyle(node).color);

  await openHost('pc05');
  check((await field('alert').innerText()).includes('booted in mode shell') && await colour(field('alert')) === red,
        'pc05\'s alert (it booted around its manifest) is in its panel, in red');
  check((await page.locator('#panel-details dd[data-field="alert"]').count()) === 1 &&
        (await page.locator('#panel-key button').count()) === 1, 'pc05 (a key enrolled, none pending) offers Revoke key alone');

  await openHost('pc06');
  check((await field('key').innerText()) === `${pc06Key} (admin, persistent)`, 'pc06\'s panel: its key, enrolled by the admin');
  const refusal = await field('key refused').innerText();
  check(refusal.startsWith(`!! ${impostorKey} from 127.0.0.1`) && await colour(field('key refused')) === red,
        'pc06\'s panel shows the refused key, where it came from, in red: ' + refusal);
  check((await page.locator('#panel-key [data-key-approve]').count()) === 0 &&
        (await page.locator(`#panel-key [data-key-revoke="${pc06Key}"]`).innerText()) === 'Revoke key',
        'pc06 offers Revoke key, not Approve');
  const rekeys = [];
  page.on('request', (request) => { if (request.url().endsWith('/rekey')) rekeys.push(request.url()); });
  let asked = '';
  page.once('dialog', (dialog) => { asked = dialog.message(); dialog.dismiss(); });
  await page.click('#panel-key [data-key-revoke]');
  check(asked.includes(pc06Key) && asked.includes('pc06'), 'Revoke key asks first: ' + asked);

  await openHost('pc04');
  check((await field('key').innerText()) === 'none enrolled', 'pc04\'s panel: no key enrolled');
  const pending = await field('key pending').innerText();
  check(pending.startsWith(`${pc04Key} (persistent) from 127.0.0.1, `) && pending.includes('ago'),
        'pc04\'s panel shows the pending key id, where and when it was presented: ' + pending);
  const approve = page.locator(`#panel-key [data-key-approve="${pc04Key}"]`);
  check((await approve.innerText()) === `Approve key ${pc04Key.slice(0, 8)}…` &&
        (await page.locator('#panel-key [data-key-revoke]').count()) === 0,
        'pc04 offers "Approve key ' + pc04Key.slice(0, 8) + '…", not Revoke');
  await approve.click();
  await page.waitForFunction(() => document.getElementById('panel-message').innerText.includes('enrolled'));
  check((await page.locator('#panel-message').innerText()) === `enrolled pc04's key ${pc04Key}` &&
        (await page.locator('#panel-message').getAttribute('class')).includes('ok'), 'Approve enrolls pc04\'s key');
  await page.waitForFunction((key) =>
    document.querySelector('#panel-details dd[data-field="key"]').innerText.startsWith(key), pc04Key);
  check((await field('key').innerText()) === `${pc04Key} (admin, persistent)` &&
        (await page.locator('#panel-details dd[data-field="key pending"]').count()) === 0 &&
        (await page.locator('#panel-key [data-key-approve]').count()) === 0 &&
        (await page.locator('#panel-key [data-key-revoke]').count()) === 1,
        'after the refresh pc04\'s panel shows the key enrolled, no pending key, and Revoke key');
  check(await tile('pc04').getAttribute('data-key') === 'enrolled' && (await tile('pc04').locator('.badge').count()) === 0,
        'pc04\'s tile has lost its "key?" badge');
  check(rekeys.length === 0 && await tile('pc06').getAttribute('data-key') === 'enrolled',
        'answering no to Revoke key\'s question sent nothing: pc06\'s key is still enrolled');
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log('screenshot: ' + screenshot);

  // The session ends elsewhere: the next refresh gets 401 and asks to log in again.
  check(await withCookie(cookie.value, 'DELETE') === 200, 'the session is logged out from elsewhere');
  await page.waitForSelector('#token-form', { state: 'visible', timeout: 15000 });
  const ended = await page.locator('#login-message').innerText();
  check(ended.includes('log in again') && (ended.match(/[.!?](\s|$)/g) || []).length === 1,
        'a 401 later on brings the login form back with one sentence: ' + ended);
  check(!(await visible('#fleet')) && !(await visible('#panel')) && !(await visible('#logout')) &&
        (await page.locator('.tile').count()) === 0, 'the fleet is gone from the page');

  // Log in again, then out with the button.
  await logIn(token);
  await page.waitForSelector('.tile[data-host="pc01"]', { timeout: 15000 });
  const second = await sessionCookie();
  check(second && second.value !== cookie.value && await withCookie(second.value) === 200,
        'logged in again with a new session cookie, which the server knows');
  writeFileSync(process.env.COOKIE_FILE, second.value);
  await page.click('#logout');
  await page.waitForSelector('#token-form', { state: 'visible' });
  check(!(await visible('#logout')) && !(await visible('#fleet')) && (await page.locator('.tile').count()) === 0,
        'Log out brings the login form back and hides the fleet');
  check((await sessionCookie()) === undefined, 'logging out clears the cookie in the browser');
  await page.reload();
  await page.waitForSelector('#token-form', { state: 'visible' });
  check((await page.locator('.tile').count()) === 0, 'after a reload the page still asks to log in');

  check(pageErrors.length === 0, 'no JavaScript errors or CSP violations on the page' +
        (pageErrors.length ? ': ' + pageErrors.join('; ') : ''));
} finally {
  await browser.close();
}
