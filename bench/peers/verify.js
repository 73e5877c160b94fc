// The Node peer of verify-bench: stripe-node's webhooks.constructEvent (verify + JSON.parse)
// on the same Stripe cases (DIR/cases.json). One JSON line per case, as verify-bench prints.
// Usage: node verify.js DIR BATCHES PER_BATCH
const fs = require('fs');
const [root, batches, perBatch] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const stripe = require('stripe')('sk_test_unused');
const spec = JSON.parse(fs.readFileSync(`${root}/cases.json`, 'utf8'));
for (const c of spec.cases.filter((c) => c.provider === 'stripe')) {
  const payload = fs.readFileSync(`${root}/${c.file}`);
  const header = c.headers['stripe-signature'];
  const once = () => stripe.webhooks.constructEvent(payload, header, c.secret);
  if (once().data.object.amount_received !== 178464) throw new Error('wrong event');
  for (let i = 0; i < perBatch; i++) once();
  const samples = [];
  for (let b = 0; b < batches; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < perBatch; i++) once();
    samples.push(Number(process.hrtime.bigint() - start) / 1000 / perBatch);
  }
  samples.sort((a, b) => a - b);
  console.log(JSON.stringify({
    impl: 'stripe-node', op: 'verify+parse', provider: 'stripe', bytes: payload.length,
    median_us: samples[Math.floor(batches / 2)], min_us: samples[0], max_us: samples[batches - 1],
  }));
}
