//! The console's lists over growing stores (issue 20), printed as JSON:
//!
//! `list-bench N`: an embedded store holding N invoices (one client per 20, CLP and USD,
//! due from 150 days ago to 30 days ahead, three in ten paid), then, each the median of
//! repeated runs after a warm-up:
//!
//! - the console's invoices page (`GET /console/invoices`, signed in, rendered: 25 rows),
//!   its "31–60 days overdue in CLP" page, and a text search that matches one invoice;
//! - the console's home page (`GET /console`);
//! - the same "31–60 in CLP" page the way a list had to be made before the list index:
//!   every client's invoices read with their ledgers and filtered in memory (the previous
//!   design, the ratio's base).

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use cobro_app::usecases::{lists, people};
use cobro_app::{App, Config};
use cobro_bench::{at, client, invoice, write};
use cobro_domain::ledger::{EntryKind, LedgerEntry, PaymentMethod};
use cobro_domain::listing::Bucket;
use cobro_domain::{Client, Currency, Money};
use cobro_notify::OutboxMailer;
use cobro_store::{NewInvoiceWrite, PageRequest, SqliteStore};
use tower::ServiceExt;

/// Median seconds of `runs` runs of `f`, after two warm-up runs.
async fn median<F, Fut>(runs: usize, mut f: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..2 {
        f().await;
    }
    let mut t: Vec<f64> = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        f().await;
        t.push(start.elapsed().as_secs_f64());
    }
    t.sort_by(f64::total_cmp);
    t[runs / 2]
}

async fn fill(store: &SqliteStore, n: usize) -> Vec<Client> {
    let clients: Vec<Client> = (0..n.div_ceil(20)).map(client).collect();
    let today = at("2026-12-02T15:00:00Z").date_naive();
    let usd = Currency::parse("USD").expect("USD");
    let mut first = Some(clients.clone());
    let mut seq = 0u64;
    while (seq as usize) < n {
        let chunk = (n - seq as usize).min(50_000);
        let writes: Vec<NewInvoiceWrite> = (0..chunk)
            .map(|_| {
                seq += 1;
                let i = seq as usize - 1;
                let mut inv = invoice(&clients[i % clients.len()].id, seq);
                inv.due_date = cobro_domain::calendar::add_days(today, 30 - (i % 181) as i64);
                if i.is_multiple_of(5) {
                    inv.currency = usd;
                    for m in [&mut inv.subtotal, &mut inv.total] {
                        *m = Money::new(rust_decimal::Decimal::from(120), usd).expect("usd");
                    }
                    inv.tax = Money::zero(usd);
                    for l in &mut inv.lines {
                        l.unit_amount = inv.total;
                        l.amount = inv.total;
                    }
                }
                let total = inv.total;
                // Issued (charged) in the spring; three in ten paid on 20 Nov.
                let mut w = write(inv, at("2026-05-01T12:00:00Z"));
                w.entries[0].amount = total;
                if i % 10 < 3 {
                    w.entries.push(LedgerEntry {
                        seq: 2,
                        kind: EntryKind::Payment {
                            method: PaymentMethod::Transfer,
                            reference: None,
                        },
                        amount: total,
                        at: at("2026-11-20T12:00:00Z"),
                        key: Some(format!("bench:{seq}")),
                        by: None,
                    });
                }
                w
            })
            .collect();
        store
            .import(first.take().unwrap_or_default(), writes)
            .await
            .expect("import");
    }
    clients
}

/// The previous design: every client's invoices with their ledgers, filtered in memory.
async fn scanned(app: &App, clients: &[Client], checked: &lists::Checked) -> usize {
    let mut found = 0;
    for c in clients {
        let mut page = PageRequest::first(cobro_store::MAX_PAGE);
        loop {
            let p = app.store.client_invoices(&c.id, &page).await.expect("page");
            for inv in &p.items {
                let stored = app
                    .store
                    .invoice(&inv.id)
                    .await
                    .expect("read")
                    .expect("there");
                if checked.filter.matches(&stored.listed().expect("listed")) {
                    found += 1;
                }
            }
            match p.next {
                Some(n) => page.after = Some(n),
                None => break,
            }
        }
    }
    found
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .expect("usage: list-bench N");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("store");
    let setup = Instant::now();
    let clients = fill(&store, n).await;
    let setup_s = setup.elapsed().as_secs_f64();
    let mut config = Config::from_lookup(|_| None).expect("config");
    config.data_dir = dir.path().to_path_buf();
    config.business_timezone = chrono_tz::America::Santiago;
    let app = App::new(
        Arc::new(store),
        Arc::new(OutboxMailer::new(dir.path())),
        config,
    )
    .with_clock(Arc::new(|| at("2026-12-02T15:00:00Z")));
    let owner = people::add_user(
        &app,
        &cobro_domain::Actor::Cobro,
        &cobro_domain::user::NewUser {
            email: "duena@bench.cl".into(),
            name: "Dueña".into(),
            role: "owner".into(),
            locale: Some("es".into()),
        },
    )
    .await
    .expect("user");
    let link = people::link_for(&app, &owner).await.expect("link");
    let token = link.rsplit('/').next().expect("token");
    let (_, session) = people::redeem(&app, token)
        .await
        .expect("redeem")
        .expect("a session");
    let cookie = format!("cobro_session={}", session.expose());
    let router = cobro_app::http::console(app.clone());
    let page = |path: String| {
        let (router, cookie) = (router.clone(), cookie.clone());
        async move {
            let req = http::Request::get(path)
                .header("cookie", cookie)
                .body(Body::empty())
                .expect("request");
            let res = router.oneshot(req).await.expect("answer");
            assert_eq!(res.status(), 200);
            let body = axum::body::to_bytes(res.into_body(), 1 << 24)
                .await
                .expect("body");
            assert!(body.len() > 1000);
        }
    };
    let runs = 15;
    let list_s = median(runs, || page("/console/invoices".into())).await;
    let bucket_path = "/console/invoices?overdue=31-60&currency=CLP".to_string();
    let bucket_s = median(runs, || page(bucket_path.clone())).await;
    let search = format!("/console/invoices?q=F-{:06}", n / 2);
    let search_s = median(runs, || page(search.clone())).await;
    let home_s = median(runs, || page("/console".into())).await;
    let checked = lists::check(
        &app,
        &lists::ListQuery {
            overdue: Some(Bucket::Days31To60.name().into()),
            currency: Some("CLP".into()),
            ..Default::default()
        },
    )
    .await
    .expect("filters");
    let indexed = lists::page(&app, &checked, &PageRequest::first(25))
        .await
        .expect("page")
        .rows
        .len();
    let scan_runs = if n >= 100_000 { 3 } else { 7 };
    let scan_found = scanned(&app, &clients, &checked).await;
    let scan_s = median(scan_runs, || {
        let (app, clients, checked) = (&app, &clients, &checked);
        async move {
            assert_eq!(scanned(app, clients, checked).await, scan_found);
        }
    })
    .await;
    // The Reports page (the aging as of today), and the aging worked out the way it would
    // be without the receivables index: every invoice ever read with its ledger.
    let report_runs = if n >= 100_000 { 3 } else { 7 };
    let reports_s = median(report_runs, || page("/console/reports".into())).await;
    let ask = cobro_app::usecases::figures::check_aging(&app, &Default::default())
        .await
        .expect("ask");
    let report = cobro_app::usecases::figures::aging(&app, &ask)
        .await
        .expect("aging");
    // `GET /v1/reports/aging`'s work: the aging through the receivables index.
    let aging_s = median(report_runs, || {
        let (app, ask, expected) = (&app, &ask, &report.aging.currencies);
        async move {
            let r = cobro_app::usecases::figures::aging(app, ask)
                .await
                .expect("aging");
            assert_eq!(&r.aging.currencies, expected);
        }
    })
    .await;
    let every_s = median(report_runs, || {
        let (app, ask, expected) = (&app, &ask, &report.aging.currencies);
        async move {
            let mut aging = cobro_domain::receivables::Aging::new(
                ask.as_of,
                app.config.business_timezone,
                None,
            );
            let mut page = PageRequest::first(cobro_store::MAX_PAGE);
            let epoch = at("1970-01-01T00:00:00Z");
            loop {
                let p = app.store.receivables(epoch, &page).await.expect("page");
                for s in &p.items {
                    aging.add(&s.invoice, &s.entries).expect("add");
                }
                match p.next {
                    Some(n) => page.after = Some(n),
                    None => break,
                }
            }
            assert_eq!(&aging.currencies, expected);
        }
    })
    .await;
    println!(
        "{}",
        serde_json::json!({
            "invoices": n, "clients": clients.len(), "setup_s": setup_s,
            "reports_page_ms": reports_s * 1000.0, "aging_invoices_read": report.invoices_read,
            "aging_reading_every_invoice_ms": every_s * 1000.0,
            "every_vs_reports_page": every_s / reports_s,
            "aging_ms": aging_s * 1000.0, "every_vs_aging": every_s / aging_s,
            "list_page_ms": list_s * 1000.0, "bucket_page_ms": bucket_s * 1000.0,
            "search_page_ms": search_s * 1000.0, "home_ms": home_s * 1000.0,
            "bucket_rows": indexed, "scan_matches": scan_found,
            "scan_ms": scan_s * 1000.0, "scan_vs_bucket_page": scan_s / bucket_s,
        })
    );
}
