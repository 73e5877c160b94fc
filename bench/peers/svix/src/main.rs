//! The svix crate's `Webhook::verify` (signature and timestamp, no parse) on verify-bench's
//! Standard Webhooks cases, one JSON line per case. Usage: svix-peer DIR BATCHES PER_BATCH

use std::time::Instant;

use serde_json::{Value, json};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, batches, per_batch] = args.as_slice() else {
        eprintln!("usage: svix-peer DIR BATCHES PER_BATCH");
        std::process::exit(2);
    };
    let (batches, per_batch): (usize, usize) =
        (batches.parse().unwrap(), per_batch.parse().unwrap());
    let spec: Value =
        serde_json::from_slice(&std::fs::read(format!("{dir}/cases.json")).unwrap()).unwrap();
    for case in spec["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["provider"] == "standard")
    {
        let body = std::fs::read(format!("{dir}/{}", case["file"].as_str().unwrap())).unwrap();
        let mut headers = http::HeaderMap::new();
        for (k, v) in case["headers"].as_object().unwrap() {
            headers.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.as_str().unwrap().parse().unwrap(),
            );
        }
        let wh = svix::webhooks::Webhook::new(case["secret"].as_str().unwrap()).unwrap();
        let once = || wh.verify(&body, &headers).expect("verified");
        for _ in 0..per_batch {
            once();
        }
        let mut samples: Vec<f64> = (0..batches)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..per_batch {
                    once();
                }
                start.elapsed().as_secs_f64() * 1e6 / per_batch as f64
            })
            .collect();
        samples.sort_by(|a, b| a.total_cmp(b));
        println!(
            "{}",
            json!({"impl": "svix", "op": "verify", "provider": "standard", "bytes": body.len(),
                   "median_us": samples[batches / 2], "min_us": samples[0], "max_us": samples[batches - 1]})
        );
    }
}
