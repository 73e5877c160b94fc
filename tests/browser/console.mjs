// The console in a real browser, JavaScript off: ask for a sign-in link, find it in the
// outbox, enter; the home page's queues; People: add a viewer (a bad address first, shown
// in Spanish); sign out; the viewer signs in, sees no actions, and a forged POST with the
// page's own CSRF value is refused (403). axe-core checks every page (no serious or critical
// violation). Screenshots at 360 px and 1280 px go to the artifacts directory.
// The invoices list: aged invoices made through the API first, then filtered to "31–60
// days overdue in CLP". The unmatched queue: a payment applied to the invoice suggested.
// Usage: node console.mjs BASE_URL OWNER_EMAIL ARTIFACTS_DIR API_KEY
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');
const [base, ownerEmail, artifacts, apiKey] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});

// axe needs a script in the page: a second context, with the first one's cookies,
// JavaScript on and the page's CSP set aside for the check only.
async function axe(context, url, name) {
  const checking = await browser.newContext({
    storageState: await context.storageState(),
    bypassCSP: true,
  });
  try {
    const page = await checking.newPage();
    await page.goto(url);
    await page.addScriptTag({ path: axePath });
    const result = await page.evaluate(() =>
      window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'best-practice'] }));
    const bad = result.violations.filter((v) => ['serious', 'critical'].includes(v.impact));
    assert.deepEqual(bad.map((v) => `${v.id}: ${v.help}`), [], `axe on ${name}`);
    return result.violations.length;
  } finally {
    await checking.close();
  }
}

async function shots(page, name) {
  for (const width of [360, 1280]) {
    await page.setViewportSize({ width, height: width === 360 ? 780 : 900 });
    const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(scroll <= width, `${name}: no horizontal scrolling at ${width} px (${scroll})`);
    await page.screenshot({ path: path.join(artifacts, `console-${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 360, height: 780 });
}

// Signs in as `email` with a link from the outbox (the newest message to them).
async function signIn(context, email) {
  const page = await context.newPage();
  await page.setViewportSize({ width: 360, height: 780 });
  await page.goto(`${base}/console`);
  assert.match(page.url(), /\/console\/sign-in/);
  await page.fill('#email', email);
  await page.click('button[type=submit]');
  assert.match(await page.textContent('#flash'), /enlace|link/);
  await page.goto(`${base}/outbox`);
  await page.locator('a', { hasText: '.sign-in.' }).first().click();
  const text = await page.textContent('body');
  const link = text.match(/https?:\/\/[^\s"<]+\/console\/auth\/[A-Za-z0-9_-]+/)[0];
  await page.goto(link);
  await page.click('#enter');
  await page.waitForURL(`${base}/console`);
  return page;
}

try {
  const owner = await browser.newContext({ javaScriptEnabled: false });
  const visitor = await owner.newPage();
  await visitor.goto(`${base}/console/sign-in`);
  const violations = { signIn: await axe(owner, `${base}/console/sign-in`, 'sign-in') };
  await shots(visitor, 'sign-in');
  await visitor.close();

  const page = await signIn(owner, ownerEmail);
  assert.ok((await page.textContent('#queues')).length > 0);
  // What is owed today, drawn: an SVG labelled by its title, its table beside it.
  assert.ok(await page.locator('svg[role=img][aria-labelledby^="aging-"] > title').count() >= 1, 'a home chart');
  assert.match(await page.textContent('table[id^=owed-] tbody'), /Al día/);
  violations.home = await axe(owner, `${base}/console`, 'home');
  await shots(page, 'home');

  // The unmatched queue: the transfer the test sent (no known invoice, F-000001's amount)
  // has F-000001 suggested; applied from the queue, it leaves it.
  await page.click('a[href="/console/unmatched"]');
  assert.match(await page.textContent('#queue'), /F-000001[^]*debe justo ese monto/);
  violations.unmatched = await axe(owner, page.url(), 'unmatched');
  await shots(page, 'unmatched');
  await page.click('#queue button[type=submit]');
  assert.match(await page.textContent('#flash'), /Pago aplicado/);
  assert.match(await page.textContent('#empty'), /No hay pagos esperando/);

  // GIVEN a client with invoices 45 and 10 days past due in CLP and 40 in USD (made
  // through the API), WHEN the list is filtered to 31–60 days overdue in CLP, THEN only
  // the 45-day one is listed.
  const day = (offset) => new Date(Date.now() + offset * 86400e3).toISOString().slice(0, 10);
  const api = (path, data) => owner.request.post(`${base}${path}`, {
    headers: { authorization: `Bearer ${apiKey}` },
    data,
  });
  const client = await (await api('/v1/clients', {
    name: 'Constructora Valle', email: 'pagos@constructoravalle.cl', locale: 'es',
    timezone: 'America/Santiago',
  })).json();
  const aged = {};
  for (const [currency, amount, late] of [['CLP', '640000', 45], ['CLP', '120000', 10], ['USD', '900.00', 40]]) {
    const made = await api('/v1/invoices', {
      client_id: client.id, currency, issue_date: day(-late - 30), due_date: day(-late),
      lines: [{ description: `Obra ${late}`, quantity: '1', unit_amount: amount }],
    });
    assert.equal(made.status(), 201, await made.text());
    aged[`${currency}${late}`] = (await made.json()).number;
  }
  await page.click('header a[href="/console/invoices"]');
  await page.selectOption('#f-overdue', '31-60');
  await page.selectOption('#f-currency', 'CLP');
  await page.click('#filters button[type=submit]');
  const listed = await page.locator('#invoices tbody tr').evaluateAll(
    (rows) => rows.map((r) => r.dataset.number));
  assert.deepEqual(listed, [aged.CLP45], '31–60 days overdue in CLP');
  assert.match(await page.textContent('#invoices'), /Constructora Valle/);
  violations.invoices = await axe(owner, page.url(), 'invoices');
  await shots(page, 'invoices');
  const csv = await owner.request.get(await page.getAttribute('#export', 'href').then((h) => `${base}${h}`));
  assert.equal(csv.status(), 200);
  assert.match(await csv.text(), new RegExp(`;${aged.CLP45};`));

  // An invoice found by the payment reference its e-mail carries; a payment by hand,
  // seen in its history; a pause.
  await page.goto(`${base}/outbox`);
  await page.locator('a', { hasText: '.issued.' }).first().click();
  const reference = (await page.textContent('body')).match(/RF\d{2} \d{4} \d{4} \d/)[0];
  await page.goto(`${base}/console`);
  await page.fill('#q', reference);
  await page.click('form[role=search] button[type=submit]');
  assert.match(page.url(), /\/console\/invoices\/inv_/);
  const invoiceUrl = page.url();
  await page.fill('#amount', '100');
  await page.selectOption('#method', 'cash');
  await page.click('#record-payment');
  assert.match(await page.textContent('#flash'), /Pago registrado/);
  assert.match(await page.textContent('#timeline'), /Pago de \S*100\S* en efectivo/);
  // Who recorded it: on its line of the timeline, and in the invoice's activity.
  const paidLine = page.locator('#timeline tr', { hasText: 'en efectivo' });
  assert.match(await paidLine.textContent(), /Dueña Demo/);
  assert.match(await page.textContent('#activity'), /Dueña Demo\s*Registró un pago/);
  const until = new Date(Date.now() + 10 * 86400e3).toISOString().slice(0, 10);
  await page.fill('#until', until);
  await page.fill('#reason', 'Espera la orden de compra');
  await page.click('#pause');
  assert.ok(await page.isVisible('#paused-until'));
  violations.invoice = await axe(owner, invoiceUrl, 'invoice');
  await shots(page, 'invoice');

  await page.click('a[href="/console/users"]');
  assert.ok((await page.textContent('#users')).includes(ownerEmail));
  await page.fill('#name', 'Vera Lectora');
  await page.fill('#new-email', 'vera-lectora');
  await page.selectOption('#role', 'viewer');
  await page.click('form[aria-labelledby=add] button[type=submit]');
  assert.match(await page.textContent('#email-error'), /correo válido/);
  violations.usersInvalid = await axe(owner, `${base}/console/users`, 'people');
  await page.fill('#new-email', 'vera@demo.cobro.cl');
  await page.click('form[aria-labelledby=add] button[type=submit]');
  assert.ok((await page.textContent('#users')).includes('vera@demo.cobro.cl'));
  await shots(page, 'people');
  await page.click('a[href="/console/settings"]');
  await page.fill('#key-name', 'contabilidad');
  await page.click('#make-key');
  assert.match(await page.textContent('#new-key'), /^cobro_sk_/);
  assert.match(await page.textContent('#terms'), /Días de gracia/);
  violations.settings = await axe(owner, `${base}/console/settings`, 'settings');
  await shots(page, 'settings');
  // The log: the key just made, the person added, the pause and the payment, newest first.
  await page.click('a[href="/console/log"]');
  const log = await page.textContent('#activity');
  const order = ['Creó una clave API', 'Agregó a una persona', 'Pausó la cobranza', 'Registró un pago']
    .map((what) => log.indexOf(what));
  assert.ok(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1])), `log order ${order}`);
  violations.log = await axe(owner, `${base}/console/log`, 'log');
  await shots(page, 'log');
  // A new invoice from the form: refused field by field, then made.
  await page.goto(`${base}/console/invoices`);
  await page.click('#new-invoice');
  await page.fill('#line0_description', 'Diseño de afiche');
  await page.fill('#line0_unit_amount', '$90.000');
  await page.click('#create-invoice');
  assert.match(await page.textContent('#line0_unit_amount-error'), /escribe un número/);
  violations.newInvoice = await axe(owner, `${base}/console/invoices/new`, 'new-invoice');
  await shots(page, 'new-invoice');
  await page.selectOption('#client_id', { index: 1 });
  await page.fill('#line0_unit_amount', '90000');
  await page.fill('#tax_rate', '19');
  await page.fill('#due_date', new Date(Date.now() + 30 * 86400e3).toISOString().slice(0, 10));
  await page.click('#create-invoice');
  assert.match(await page.textContent('#flash'), /Factura creada/);
  assert.match(await page.textContent('#amount-due'), /107\.100/);
  // Clients: the list, one client's page, its credit limit.
  await page.click('a[href="/console/clients"]');
  assert.match(await page.textContent('#clients'), /Ferretería Los Andes/);
  violations.clients = await axe(owner, `${base}/console/clients`, 'clients');
  await shots(page, 'clients');
  await page.click('#clients a >> text=Ferretería Los Andes');
  await page.fill('#credit_limit', '5000000');
  await page.click('#save-limit');
  assert.match(await page.textContent('#credit-limit'), /\$5\.000\.000/);
  violations.client = await axe(owner, page.url(), 'client');
  await shots(page, 'client');
  // Its contact and terms: a bad number shown by its field, then saved and in effect.
  await page.click('#edit-client');
  await page.fill('[id="terms.grace_days"]', 'cuatro');
  await page.click('#save-client');
  assert.match(await page.textContent('[id="terms.grace_days-error"]'), /escribe un número entero/);
  violations.editClient = await axe(owner, page.url(), 'edit-client');
  await shots(page, 'edit-client');
  await page.fill('[id="terms.grace_days"]', '4');
  await page.click('#save-client');
  assert.match(await page.textContent('#flash'), /Datos del cliente guardados/);
  assert.match(await page.textContent('#terms'), /Días de gracia\s*4 días/);
  // Reports: the aging drawn (an SVG labelled by its title) beside its table.
  await page.click('a[href="/console/reports"]');
  assert.ok(await page.locator('svg[role=img] > title').count() >= 1, 'an aging chart');
  assert.match(await page.textContent('table[id^=aging-] tbody'), /Al día/);
  assert.match(await page.textContent('#aging-method'), /art\. 1595/);
  // The trends (two charts per currency) and the expected cash, each with its table.
  for (const id of ['trend-clp', 'share-clp', 'cash-clp']) {
    assert.equal(await page.locator(`svg[aria-labelledby="${id}-title ${id}-desc"]`).count(), 1, id);
  }
  assert.equal(await page.locator('table#trends-CLP tbody tr').count(), 12);
  assert.equal(await page.locator('table#cash-CLP tbody tr').count(), 16);
  assert.match(await page.textContent('table#cash-CLP th[aria-current=date]'), /esta semana/);
  violations.reports = await axe(owner, `${base}/console/reports`, 'reports');
  await shots(page, 'reports');
  await page.click('header button[type=submit]');
  assert.match(page.url(), /\/console\/sign-in/);

  const viewerContext = await browser.newContext({ javaScriptEnabled: false });
  const viewer = await signIn(viewerContext, 'vera@demo.cobro.cl');
  assert.equal(await viewer.locator('a[href="/console/users"]').count(), 0, 'no People for a viewer');
  assert.equal(await viewer.locator('main form[method=post]').count(), 0, 'no actions for a viewer');
  await viewer.goto(invoiceUrl);
  assert.equal(await viewer.locator('#record-payment').count(), 0, 'no payment form for a viewer');
  assert.match(await viewer.textContent('#timeline'), /Pago de \S*100/);
  await viewer.goto(`${base}/console/log`);
  assert.match(await viewer.textContent('#activity'), /Registró un pago/);
  await viewer.goto(`${base}/console`);
  const csrf = await viewer.getAttribute('header input[name=csrf]', 'value');
  const forged = await viewerContext.request.post(`${base}/console/users`, {
    form: { csrf, name: 'X', email: 'x@demo.cobro.cl', role: 'owner', locale: 'es' },
    maxRedirects: 0,
  });
  assert.equal(forged.status(), 403, 'a viewer cannot add people');
  await viewer.click('header button[type=submit]');
  assert.match(viewer.url(), /\/console\/sign-in/);
  console.log(JSON.stringify({ ok: true, violations }));
} finally {
  await browser.close();
}
