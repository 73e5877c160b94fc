// The pay portal in a real browser: open the pay link from the e-mail, read the amount due,
// pay in the sandbox checkout, see "paid", find the receipt in the outbox; a bad link shows
// the 404 page. Screenshots at 360 px and 1280 px go to the artifacts directory.
// Usage: node portal.mjs PAY_URL BASE_URL ARTIFACTS_DIR EXPECTED_AMOUNT
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import path from 'node:path';

const [payUrl, base, artifacts, amount] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
try {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.setViewportSize({ width: 360, height: 780 });
  const res = await page.goto(payUrl);
  assert.equal(res.status(), 200);
  assert.equal((await page.textContent('#amount-due')).trim(), amount);
  assert.equal(await page.isVisible('#pay-sandbox'), true, 'the pay button is visible at 360 px');
  const box = await page.locator('#pay-sandbox').boundingBox();
  assert.ok(box.x >= 0 && box.x + box.width <= 360, 'the pay button fits at 360 px');
  const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scroll <= 360, `no horizontal scrolling at 360 px (${scroll})`);
  await page.screenshot({ path: path.join(artifacts, 'portal-360.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: path.join(artifacts, 'portal-1280.png'), fullPage: true });

  await page.click('#pay-sandbox');
  await page.waitForURL(/\/sandbox\/checkout\//);
  assert.ok((await page.textContent('body')).includes(amount));
  await page.click('button[type=submit]');
  await page.waitForURL(/paid=1/);
  assert.match(await page.textContent('#status'), /Pagada|Paid/);
  assert.equal(await page.locator('button[id^=pay-]').count(), 0, 'nothing left to pay');
  await page.setViewportSize({ width: 360, height: 780 });
  await page.screenshot({ path: path.join(artifacts, 'paid-360.png'), fullPage: true });

  await page.goto(`${base}/outbox`);
  const receipt = page.locator('a', { hasText: '.receipt.' }).first();
  await receipt.click();
  assert.ok((await page.textContent('body')).includes('Recibimos tu pago'));

  const token = payUrl.split('/').pop();
  const bad = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
  const notFound = await page.goto(`${base}/pay/${bad}`);
  assert.equal(notFound.status(), 404);
  assert.ok((await page.textContent('body')).includes('no válido'));
  await page.screenshot({ path: path.join(artifacts, 'not-found-360.png') });
  console.log(JSON.stringify({ ok: true, screenshots: 4 }));
} finally {
  await browser.close();
}
