//! One contract, two adapters: every test here runs on SQLite and on DynamoDB (moto).

// A test fails loudly, and counts and reads by position freely.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use cobro_domain::ledger::EntryKind;
use cobro_domain::{
    ApiKeyId, Client, ClientId, InvoiceId, LedgerEntry, NewClient, NewInvoice, PaymentReference,
    invoice::NewLine, secret,
};
use cobro_domain::{FactKind, Money, PaymentFact, PaymentMethod, UnmatchedId};
use cobro_domain::{Stage, StageRecord, StageStatus};
use cobro_store::{
    Agenda, ApiKey, EventRecord, IdempotencyRecord, Lane, LedgerWrite, NewInvoiceWrite,
    PageRequest, PayToken, SqliteStore, StageLog, Store, StoreError, Unmatched,
};
use rust_decimal_macros::dec;

fn now() -> DateTime<Utc> {
    "2026-11-23T15:00:00Z".parse().unwrap()
}

fn client(name: &str, at: DateTime<Utc>) -> Client {
    NewClient {
        name: name.into(),
        email: "pagos@example.cl".into(),
        ..Default::default()
    }
    .validate(ClientId::generate(), at)
    .unwrap()
}

fn idem(key: &str, at: DateTime<Utc>) -> IdempotencyRecord {
    IdempotencyRecord {
        key: key.into(),
        fingerprint: "f".repeat(64),
        status: 201,
        body: r#"{"ok":true}"#.into(),
        created_at: at,
        expires_at: at + Duration::hours(24),
    }
}

fn invoice_write(client: &ClientId, seq: u64, issue_day: u32) -> NewInvoiceWrite {
    let inv = NewInvoice {
        client_id: client.to_string(),
        currency: "CLP".into(),
        lines: vec![NewLine {
            description: "Servicio".into(),
            quantity: dec!(3),
            unit_amount: dec!(49990),
        }],
        tax_rate: Some(dec!(19)),
        issue_date: Some(NaiveDate::from_ymd_opt(2026, 11, issue_day).unwrap()),
        due_date: NaiveDate::from_ymd_opt(2026, 12, 31),
        days_until_due: None,
        terms: None,
        send: false,
    }
    .validate(
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        &cobro_domain::Terms::default(),
    )
    .unwrap()
    .issue(
        InvoiceId::generate(),
        seq,
        "F-",
        chrono_tz::America::Santiago,
        now(),
    );
    let token = secret::new_pay_token();
    NewInvoiceWrite {
        entries: vec![LedgerEntry {
            seq: 1,
            kind: EntryKind::Charge,
            amount: inv.total,
            at: now(),
            key: None,
            by: None,
        }],
        pay_token: PayToken {
            digest: token.digest(),
            client_id: inv.client_id.clone(),
            invoice_id: inv.id.clone(),
            created_at: now(),
            expires_at: now() + Duration::days(90),
            revoked_at: None,
        },
        invoice: inv,
        idempotency: None,
        other_entries: Vec::new(),
        other_listings: Vec::new(),
        audit: Vec::new(),
        next_action_at: None,
        new_client: None,
    }
}

/// Creates an invoice the way the app does: read the counter, try, retry on a lost race.
async fn create_next(store: &dyn Store, client: &ClientId) -> u64 {
    loop {
        let seq = store.last_invoice_seq().await.unwrap() + 1;
        match store.create_invoice(&invoice_write(client, seq, 23)).await {
            Ok(()) => return seq,
            Err(StoreError::SequenceTaken) => continue,
            Err(e) => panic!("{e}"),
        }
    }
}

async fn clients_round_trip_and_page_newest_first(store: Arc<dyn Store>) {
    let unknown = ClientId::generate();
    assert_eq!(store.client(&unknown).await.unwrap(), None);
    let mut made = Vec::new();
    for i in 0..5 {
        let c = client(&format!("Cliente {i}"), now() + Duration::seconds(i));
        store.create_client(&c, None).await.unwrap();
        made.push(c);
    }
    assert_eq!(
        store.client(&made[2].id).await.unwrap().as_ref(),
        Some(&made[2])
    );
    assert!(matches!(
        store.create_client(&made[0], None).await,
        Err(StoreError::AlreadyExists)
    ));

    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    let mut sizes = Vec::new();
    loop {
        let p = store.list_clients(&page).await.unwrap();
        sizes.push(p.items.len());
        seen.extend(p.items);
        match p.next {
            Some(n) => page.after = Some(n),
            None => break,
        }
    }
    assert_eq!(sizes, [2, 2, 1]);
    made.reverse();
    assert_eq!(seen, made);
}

async fn idempotency_key_is_written_once_with_its_effect(store: Arc<dyn Store>) {
    let first = client("Primero", now());
    let second = client("Segundo", now());
    let rec = idem("key_a:retry-1", now());
    store.create_client(&first, Some(&rec)).await.unwrap();
    assert_eq!(
        store.idempotency_record(&rec.key, now()).await.unwrap(),
        Some(rec.clone())
    );
    let err = store.create_client(&second, Some(&rec)).await.unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyKeyTaken), "{err}");
    assert_eq!(
        store.client(&second.id).await.unwrap(),
        None,
        "nothing written with a taken key"
    );

    // Expired records are invisible and can be replaced.
    let later = now() + Duration::hours(25);
    assert_eq!(
        store.idempotency_record(&rec.key, later).await.unwrap(),
        None
    );
    let fresh = idem("key_a:retry-1", later);
    store.create_client(&second, Some(&fresh)).await.unwrap();
    assert_eq!(
        store.idempotency_record(&rec.key, later).await.unwrap(),
        Some(fresh)
    );
}

async fn invoice_is_written_whole_and_read_back(store: Arc<dyn Store>) {
    let c = client("ACME", now());
    store.create_client(&c, None).await.unwrap();
    assert_eq!(store.last_invoice_seq().await.unwrap(), 0);
    let mut w = invoice_write(&c.id, 1, 20);
    w.idempotency = Some(idem("key_b:inv-1", now()));
    store.create_invoice(&w).await.unwrap();
    assert_eq!(store.last_invoice_seq().await.unwrap(), 1);

    let stored = store.invoice(&w.invoice.id).await.unwrap().unwrap();
    assert_eq!(stored.invoice, w.invoice);
    assert_eq!(stored.entries, w.entries);
    assert_eq!(stored.invoice.total.amount(), dec!(178464));
    assert_eq!(
        store
            .invoice_by_payment_reference(&w.invoice.payment_reference)
            .await
            .unwrap(),
        Some(w.invoice.id.clone())
    );
    let unknown_ref = PaymentReference::generate(999_999);
    assert_eq!(
        store
            .invoice_by_payment_reference(&unknown_ref)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.pay_token(&w.pay_token.digest).await.unwrap(),
        Some(w.pay_token.clone())
    );
    assert_eq!(store.pay_token(&"0".repeat(64)).await.unwrap(), None);
    assert!(
        store
            .idempotency_record("key_b:inv-1", now())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.invoice(&InvoiceId::generate()).await.unwrap(), None);

    // A second invoice, issued later, lists first.
    let w2 = invoice_write(&c.id, 2, 22);
    store.create_invoice(&w2).await.unwrap();
    let p = store
        .client_invoices(&c.id, &PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(p.items, vec![w2.invoice.clone()]);
    let p = store
        .client_invoices(
            &c.id,
            &PageRequest {
                limit: 1,
                after: p.next,
            },
        )
        .await
        .unwrap();
    assert_eq!((p.items, p.next), (vec![w.invoice.clone()], None));
    let other = store
        .client_invoices(&ClientId::generate(), &PageRequest::first(10))
        .await
        .unwrap();
    assert!(other.items.is_empty());
}

async fn a_failed_invoice_write_leaves_nothing(store: Arc<dyn Store>) {
    let c = client("Nada", now());
    store.create_client(&c, None).await.unwrap();
    create_next(store.as_ref(), &c.id).await;

    // Wrong sequence number: nothing of it may remain.
    let stale = invoice_write(&c.id, 1, 23);
    assert!(matches!(
        store.create_invoice(&stale).await,
        Err(StoreError::SequenceTaken)
    ));
    assert_eq!(store.invoice(&stale.invoice.id).await.unwrap(), None);
    assert_eq!(
        store.pay_token(&stale.pay_token.digest).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .invoice_by_payment_reference(&stale.invoice.payment_reference)
            .await
            .unwrap(),
        None
    );

    // A taken idempotency key: same.
    let mut a = invoice_write(&c.id, 2, 23);
    a.idempotency = Some(idem("key_c:dup", now()));
    store.create_invoice(&a).await.unwrap();
    let mut b = invoice_write(&c.id, 3, 23);
    b.idempotency = Some(idem("key_c:dup", now()));
    assert!(matches!(
        store.create_invoice(&b).await,
        Err(StoreError::IdempotencyKeyTaken)
    ));
    assert_eq!(store.invoice(&b.invoice.id).await.unwrap(), None);
    assert_eq!(
        store.last_invoice_seq().await.unwrap(),
        2,
        "the counter did not move"
    );

    // An entry on another invoice at a taken position (credit spent meanwhile): refused whole.
    let mut c2 = invoice_write(&c.id, 3, 23);
    c2.other_entries = vec![(a.invoice.id.clone(), payment_entry(1, "credit-to:x", 5))];
    assert!(matches!(
        store.create_invoice(&c2).await,
        Err(StoreError::SequenceTaken)
    ));
    assert_eq!(store.invoice(&c2.invoice.id).await.unwrap(), None);
    assert_eq!(store.last_invoice_seq().await.unwrap(), 2);
    c2.other_entries = vec![(a.invoice.id.clone(), payment_entry(2, "credit-to:y", 5))];
    store.create_invoice(&c2).await.unwrap();
    assert_eq!(
        store
            .invoice(&a.invoice.id)
            .await
            .unwrap()
            .unwrap()
            .entries
            .len(),
        2
    );
}

async fn concurrent_creations_get_gapless_unique_numbers(store: Arc<dyn Store>) {
    let c = client("Concurrente", now());
    store.create_client(&c, None).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (store, id) = (store.clone(), c.id.clone());
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..4 {
                got.push(create_next(store.as_ref(), &id).await);
            }
            got
        }));
    }
    let mut all = BTreeSet::new();
    for t in tasks {
        for seq in t.await.unwrap() {
            assert!(all.insert(seq), "sequence {seq} given twice");
        }
    }
    assert_eq!(all, (1..=24).collect::<BTreeSet<u64>>());
    let listed = store
        .client_invoices(&c.id, &PageRequest::first(100))
        .await
        .unwrap();
    let numbers: BTreeSet<String> = listed.items.iter().map(|i| i.number.clone()).collect();
    assert_eq!(numbers.len(), 24);
    assert!(numbers.contains("F-000001") && numbers.contains("F-000024"));
}

async fn concurrent_retries_with_one_key_write_one_invoice(store: Arc<dyn Store>) {
    let c = client("Reintentos", now());
    store.create_client(&c, None).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let (store, id) = (store.clone(), c.id.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let seq = store.last_invoice_seq().await.unwrap() + 1;
                let mut w = invoice_write(&id, seq, 23);
                w.idempotency = Some(idem("key_d:same", now()));
                match store.create_invoice(&w).await {
                    Err(StoreError::SequenceTaken) => continue,
                    other => return other.is_ok(),
                }
            }
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
    assert_eq!(
        store
            .client_invoices(&c.id, &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

async fn api_keys_are_found_by_digest_and_revoked_by_id(store: Arc<dyn Store>) {
    let secret = secret::new_api_key();
    let key = ApiKey {
        id: ApiKeyId::generate(),
        name: "contabilidad".into(),
        digest: secret.digest(),
        created_at: now(),
        revoked_at: None,
    };
    store.put_api_key(&key).await.unwrap();
    assert!(matches!(
        store.put_api_key(&key).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(
        store.api_key_by_digest(&secret.digest()).await.unwrap(),
        Some(key.clone())
    );
    assert_eq!(
        store
            .api_key_by_digest(&secret::digest("wrong"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.list_api_keys().await.unwrap(), vec![key.clone()]);
    assert!(
        !store
            .revoke_api_key(&ApiKeyId::generate(), now())
            .await
            .unwrap()
    );
    assert!(store.revoke_api_key(&key.id, now()).await.unwrap());
    // Revoking again keeps the first time.
    assert!(
        store
            .revoke_api_key(&key.id, now() + Duration::days(1))
            .await
            .unwrap()
    );
    let revoked = store
        .api_key_by_digest(&secret.digest())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(now()));
}

fn event(id: &str) -> EventRecord {
    EventRecord {
        provider: "stripe".into(),
        event_id: id.into(),
        outcome: "applied".into(),
        received_at: now(),
        expires_at: now() + Duration::days(90),
    }
}

fn payment_entry(seq: u32, key: &str, units: i64) -> LedgerEntry {
    LedgerEntry {
        seq,
        kind: EntryKind::Payment {
            method: PaymentMethod::Provider,
            reference: None,
        },
        amount: Money::from_minor_units(units, cobro_domain::Currency::parse("CLP").unwrap()),
        at: now(),
        key: Some(key.into()),
        by: None,
    }
}

async fn invoice_with_charge(store: &dyn Store) -> InvoiceId {
    let c = client("Pagos", now());
    store.create_client(&c, None).await.unwrap();
    let seq = create_next(store, &c.id).await;
    store
        .client_invoices(&c.id, &PageRequest::first(10))
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|i| i.seq == seq)
        .unwrap()
        .id
}

async fn events_apply_once_with_their_entries(store: Arc<dyn Store>) {
    let inv = invoice_with_charge(store.as_ref()).await;
    let write = LedgerWrite {
        invoice_id: inv.clone(),
        entries: vec![payment_entry(2, "stripe:pi_1:payment", 100_000)],
        event: Some(event("evt_1")),
        payment_link: Some(("stripe".into(), "pi_1".into())),
        idempotency: None,
        resolves: None,
        agenda: Agenda::Keep,
        stage: None,
        listing: None,
        audit: None,
    };
    store.append_entries(&write).await.unwrap();
    assert_eq!(
        store.event("stripe", "evt_1").await.unwrap(),
        Some(event("evt_1"))
    );
    assert_eq!(
        store.invoice_for_payment("stripe", "pi_1").await.unwrap(),
        Some(inv.clone())
    );
    assert_eq!(
        store.invoice_for_payment("stripe", "pi_2").await.unwrap(),
        None
    );

    // The same event again: refused whole, nothing written.
    let again = LedgerWrite {
        entries: vec![payment_entry(3, "other", 1)],
        ..write.clone()
    };
    assert!(matches!(
        store.append_entries(&again).await,
        Err(StoreError::EventSeen)
    ));
    // A taken position: refused whole, the new event not recorded.
    let stale = LedgerWrite {
        entries: vec![payment_entry(2, "x", 5)],
        event: Some(event("evt_2")),
        ..write.clone()
    };
    assert!(matches!(
        store.append_entries(&stale).await,
        Err(StoreError::SequenceTaken)
    ));
    assert_eq!(store.event("stripe", "evt_2").await.unwrap(), None);
    let stored = store.invoice(&inv).await.unwrap().unwrap();
    assert_eq!(stored.entries.len(), 2);
    assert_eq!(stored.entries[1], write.entries[0]);
}

async fn unmatched_payments_wait_in_the_queue(store: Arc<dyn Store>) {
    let mk = |i: i64| Unmatched {
        id: UnmatchedId::generate(),
        provider: "standard".into(),
        event_id: format!("msg_{i}"),
        fact: PaymentFact {
            source: "standard".into(),
            payment_id: format!("tr_{i}"),
            kind: FactKind::Received,
            amount: Money::from_minor_units(
                1000 + i,
                cobro_domain::Currency::parse("USD").unwrap(),
            ),
            method: PaymentMethod::Transfer,
        },
        target: Some("RF18539007547034".into()),
        reason: cobro_domain::UnmatchedReason::UnknownInvoice,
        received_at: now() + Duration::seconds(i),
        resolved: None,
    };
    let (a, b) = (mk(1), mk(2));
    for u in [&a, &b] {
        store
            .record_event(
                &EventRecord {
                    provider: "standard".into(),
                    ..event(&u.event_id)
                },
                Some(u),
            )
            .await
            .unwrap();
    }
    // Redelivered: refused, and not queued twice.
    let dup = UnmatchedId::generate();
    let again = Unmatched {
        id: dup.clone(),
        ..a.clone()
    };
    let err = store
        .record_event(
            &EventRecord {
                provider: "standard".into(),
                ..event(&a.event_id)
            },
            Some(&again),
        )
        .await;
    assert!(matches!(err, Err(StoreError::EventSeen)));
    let page = store.list_unmatched(&PageRequest::first(1)).await.unwrap();
    assert_eq!(page.items, vec![b.clone()]);
    let page = store
        .list_unmatched(&PageRequest {
            limit: 10,
            after: page.next,
        })
        .await
        .unwrap();
    assert_eq!((page.items, page.next), (vec![a], None));
    // Applied by a person: the entry and the resolution in one write, once.
    let inv = invoice_with_charge(store.as_ref()).await;
    let resolved = Unmatched {
        resolved: Some(cobro_store::Resolution {
            invoice_id: inv.clone(),
            at: now(),
        }),
        ..b.clone()
    };
    let apply = |seq: u32| LedgerWrite {
        invoice_id: inv.clone(),
        entries: vec![payment_entry(
            seq,
            &format!("standard:tr_2:payment:{seq}"),
            10,
        )],
        event: None,
        payment_link: None,
        idempotency: None,
        resolves: Some(resolved.clone()),
        agenda: Agenda::Keep,
        stage: None,
        listing: None,
        audit: None,
    };
    store.append_entries(&apply(2)).await.unwrap();
    assert!(matches!(
        store.append_entries(&apply(3)).await,
        Err(StoreError::AlreadyResolved)
    ));
    assert_eq!(
        store.invoice(&inv).await.unwrap().unwrap().entries.len(),
        2,
        "applied once"
    );
    assert_eq!(store.unmatched(&b.id).await.unwrap(), Some(resolved));
    let queue = store.list_unmatched(&PageRequest::first(10)).await.unwrap();
    assert!(
        queue.items.iter().all(|u| u.id != b.id),
        "resolved items leave the queue"
    );
    assert_eq!(
        store.unmatched(&UnmatchedId::generate()).await.unwrap(),
        None
    );

    // An event with no effect at all is still remembered.
    store
        .record_event(&event("evt_ignored"), None)
        .await
        .unwrap();
    assert!(matches!(
        store.record_event(&event("evt_ignored"), None).await,
        Err(StoreError::EventSeen)
    ));
}

async fn concurrent_appends_lose_no_update(store: Arc<dyn Store>) {
    let inv = invoice_with_charge(store.as_ref()).await;
    let tasks = (0..12).map(|i| {
        let (store, inv) = (store.clone(), inv.clone());
        tokio::spawn(async move {
            loop {
                let seq = store.invoice(&inv).await.unwrap().unwrap().entries.len() as u32 + 1;
                let w = LedgerWrite {
                    invoice_id: inv.clone(),
                    entries: vec![payment_entry(seq, &format!("k{i}"), 10)],
                    event: Some(event(&format!("evt_c{i}"))),
                    payment_link: None,
                    idempotency: None,
                    resolves: None,
                    agenda: Agenda::Keep,
                    stage: None,
                    listing: None,
                    audit: None,
                };
                match store.append_entries(&w).await {
                    Err(StoreError::SequenceTaken) => continue,
                    other => return other.unwrap(),
                }
            }
        })
    });
    for t in tasks.collect::<Vec<_>>() {
        t.await.unwrap();
    }
    let entries = store.invoice(&inv).await.unwrap().unwrap().entries;
    assert_eq!(entries.len(), 13);
    let seqs: BTreeSet<u32> = entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=13).collect());
}

fn stage(inv: &InvoiceId, client: &ClientId, stage: Stage, at: DateTime<Utc>) -> StageRecord {
    StageRecord {
        invoice_id: inv.clone(),
        client_id: client.clone(),
        stage,
        status: StageStatus::Claimed,
        attempts: 1,
        claimed_at: at,
        lease_until: at + Duration::minutes(5),
        done_at: None,
        message_id: None,
        amount: None,
        charge_on: None,
        error: None,
    }
}

async fn agenda_lists_only_what_is_due_in_order(store: Arc<dyn Store>) {
    let c = client("Agenda", now());
    store.create_client(&c, None).await.unwrap();
    // Twelve invoices due at now−6h … now+5h, created in scrambled order; two never due.
    let mut due = Vec::new();
    for i in [7i64, 2, 11, 0, 5, 9, 1, 10, 3, 8, 6, 4] {
        let seq = store.last_invoice_seq().await.unwrap() + 1;
        let mut w = invoice_write(&c.id, seq, 23);
        let at = now() + Duration::hours(i - 6);
        w.next_action_at = Some(at);
        store.create_invoice(&w).await.unwrap();
        if at <= now() {
            due.push((at, w.invoice.id.clone()));
        }
    }
    for _ in 0..2 {
        let seq = store.last_invoice_seq().await.unwrap() + 1;
        store
            .create_invoice(&invoice_write(&c.id, seq, 23))
            .await
            .unwrap();
    }
    due.sort();
    let mut got = Vec::new();
    let mut page = PageRequest::first(3);
    loop {
        let p = store.due_agenda(Lane::Dunning, now(), &page).await.unwrap();
        assert!(
            p.items.iter().all(|i| i.client_id == c.id),
            "each names its client"
        );
        got.extend(p.items.iter().map(|i| (i.at, i.invoice_id.clone())));
        match p.next {
            Some(n) => page.after = Some(n),
            None => break,
        }
    }
    assert_eq!(got, due, "due entries, earliest first, across pages");

    // Off the agenda, and back on it later.
    let (_, first) = due[0].clone();
    store.set_agenda(&first, None, 1).await.unwrap();
    let p = store
        .due_agenda(Lane::Dunning, now(), &PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(p.items.len(), due.len() - 1);
    assert_eq!(
        store.invoice(&first).await.unwrap().unwrap().next_action_at,
        None
    );
    let later = now() + Duration::days(1);
    store.set_agenda(&first, Some(later), 1).await.unwrap();
    assert_eq!(
        store.invoice(&first).await.unwrap().unwrap().next_action_at,
        Some(later)
    );
    assert!(
        !store
            .due_agenda(Lane::Dunning, now(), &PageRequest::first(100))
            .await
            .unwrap()
            .items
            .iter()
            .any(|i| i.invoice_id == first)
    );

    // A plan made from a ledger that has since grown is refused.
    store
        .append_entries(&LedgerWrite {
            invoice_id: first.clone(),
            entries: vec![payment_entry(2, "manual:a:payment", 10)],
            event: None,
            payment_link: None,
            idempotency: None,
            resolves: None,
            agenda: Agenda::Off,
            stage: None,
            listing: None,
            audit: None,
        })
        .await
        .unwrap();
    assert_eq!(
        store.invoice(&first).await.unwrap().unwrap().next_action_at,
        None
    );
    assert!(matches!(
        store.set_agenda(&first, Some(now()), 1).await,
        Err(StoreError::SequenceTaken)
    ));
    store.set_agenda(&first, Some(now()), 2).await.unwrap();
}

/// A client asked for a deposit at once is written with its deposit invoice, or not at
/// all; deposits wait on their own agenda, which the reminder sweep never reads.
async fn deposits_have_their_own_agenda_and_come_with_their_client(store: Arc<dyn Store>) {
    let c = client("Nuevo", now());
    let mut w = invoice_write(&c.id, 1, 23);
    w.invoice.purpose = cobro_domain::invoice::Purpose::Deposit;
    w.next_action_at = Some(now());
    w.new_client = Some(c.clone());
    // The first try loses the number race: neither the client nor the invoice exists.
    let mut taken = w.clone();
    taken.invoice.seq = 2;
    assert!(matches!(
        store.create_invoice(&taken).await,
        Err(StoreError::SequenceTaken)
    ));
    assert_eq!(store.client(&c.id).await.unwrap(), None);
    store.create_invoice(&w).await.unwrap();
    assert_eq!(store.client(&c.id).await.unwrap(), Some(c.clone()));
    let order = {
        let mut o = invoice_write(&c.id, 2, 23);
        o.next_action_at = Some(now());
        store.create_invoice(&o).await.unwrap();
        o.invoice.id
    };
    let due = |lane| {
        let store = store.clone();
        async move {
            store
                .due_agenda(lane, now(), &PageRequest::first(10))
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|i| i.invoice_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(due(Lane::Deposits).await, [w.invoice.id.clone()]);
    assert_eq!(due(Lane::Dunning).await, [order]);
    // Moved on its agenda, a deposit stays in its lane.
    store
        .set_agenda(&w.invoice.id, Some(now() - Duration::hours(1)), 1)
        .await
        .unwrap();
    assert_eq!(due(Lane::Deposits).await, [w.invoice.id.clone()]);
    assert_eq!(due(Lane::Dunning).await.len(), 1);
    assert_eq!(
        store
            .invoice(&w.invoice.id)
            .await
            .unwrap()
            .unwrap()
            .invoice
            .purpose,
        cobro_domain::invoice::Purpose::Deposit
    );

    // A client is replaced whole; an unknown one is not created.
    let mut raised = c.clone();
    raised.budget =
        Some(Money::new(dec!(900000), cobro_domain::Currency::parse("CLP").unwrap()).unwrap());
    assert!(store.update_client(&raised).await.unwrap());
    assert_eq!(store.client(&c.id).await.unwrap(), Some(raised));
    let stranger = client("Nadie", now());
    assert!(!store.update_client(&stranger).await.unwrap());
    assert_eq!(store.client(&stranger.id).await.unwrap(), None);
}

async fn jobs_are_claimed_once_and_retried_after_the_lease(store: Arc<dyn Store>) {
    use cobro_domain::JobRecord;
    let key = "weekly-summary:2026-11-30".to_string();
    assert_eq!(store.job(&key).await.unwrap(), None);
    let claim = JobRecord::claim(key.clone(), None, now());
    store.claim_job(&claim).await.unwrap();
    assert_eq!(store.job(&key).await.unwrap().as_ref(), Some(&claim));
    // Another sweep during the lease: refused, whether it counts one attempt or two.
    let during = now() + Duration::minutes(1);
    for attempts in [1, 2] {
        let mut other = JobRecord::claim(key.clone(), None, during);
        other.attempts = attempts;
        assert!(
            matches!(store.claim_job(&other).await, Err(StoreError::StageTaken)),
            "{attempts}"
        );
    }
    // Many at once after the lease: exactly one takes it over.
    let after = claim.lease_until;
    let tries = (0..8).map(|_| {
        let store = store.clone();
        let retry = JobRecord::claim(key.clone(), Some(&claim), after);
        tokio::spawn(async move { store.claim_job(&retry).await })
    });
    let won = futures::future::join_all(tries)
        .await
        .into_iter()
        .filter(|r| matches!(r, Ok(Ok(()))))
        .count();
    assert_eq!(won, 1);
    // The first claimant can no longer finish it; the one who took it over can.
    let mut late = claim.clone();
    late.status = StageStatus::Done;
    assert!(matches!(
        store.finish_job(&late).await,
        Err(StoreError::StageTaken)
    ));
    let mut done = JobRecord::claim(key.clone(), Some(&claim), after);
    done.status = StageStatus::Done;
    done.done_at = Some(after);
    done.message_ids = vec!["m-1".into()];
    store.finish_job(&done).await.unwrap();
    assert_eq!(store.job(&key).await.unwrap(), Some(done.clone()));
    // Done is done: never claimed again, even long after.
    let much_later = now() + Duration::days(3);
    assert!(matches!(
        store
            .claim_job(&JobRecord::claim(key.clone(), Some(&done), much_later))
            .await,
        Err(StoreError::StageTaken)
    ));
    // Another week is another job.
    store
        .claim_job(&JobRecord::claim(
            "weekly-summary:2026-12-07".into(),
            None,
            now(),
        ))
        .await
        .unwrap();
}

async fn stages_are_claimed_once_and_retried_after_the_lease(store: Arc<dyn Store>) {
    let c = client("Stages", now());
    store.create_client(&c, None).await.unwrap();
    let inv = invoice_with_charge(store.as_ref()).await;
    let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let claim = stage(&inv, &c.id, Stage::Reminder(-7, 0), now());
    store.claim_stage(&claim, Some(day)).await.unwrap();
    // Claimed again (another sweep) while the lease runs: refused.
    let mut again = claim.clone();
    again.attempts = 2;
    again.claimed_at = now() + Duration::minutes(1);
    assert!(matches!(
        store.claim_stage(&again, Some(day)).await,
        Err(StoreError::StageTaken)
    ));
    assert!(matches!(
        store.claim_stage(&claim, Some(day)).await,
        Err(StoreError::StageTaken)
    ));
    // Another stage the same day, for the same client: one message per client per day.
    let other = stage(&inv, &c.id, Stage::FeeNotice(0), now());
    assert!(matches!(
        store.claim_stage(&other, Some(day)).await,
        Err(StoreError::ClientBusy)
    ));
    let stored = store.invoice(&inv).await.unwrap().unwrap();
    assert_eq!(
        stored.stages,
        vec![claim.clone()],
        "the refused claim left nothing"
    );
    // The next day is free.
    store
        .claim_stage(&other, Some(day.succ_opt().unwrap()))
        .await
        .unwrap();

    // After the lease, a retry takes it over (attempt 2), once; it then keeps the client's day.
    let mut retry = claim.clone();
    retry.attempts = 2;
    retry.claimed_at = claim.lease_until;
    retry.lease_until = claim.lease_until + Duration::minutes(5);
    let contenders = (0..6).map(|_| {
        let (store, retry) = (store.clone(), retry.clone());
        tokio::spawn(async move { store.claim_stage(&retry, Some(day)).await })
    });
    let mut won = 0;
    for t in contenders.collect::<Vec<_>>() {
        match t.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreError::StageTaken) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(won, 1, "one retry wins");
    // The stale claimant cannot finish; the owner can, and that ends the stage.
    let mut stale = claim.clone();
    stale.status = StageStatus::Done;
    assert!(matches!(
        store.finish_stage(&stale, None).await,
        Err(StoreError::StageTaken)
    ));
    let mut done = retry.clone();
    done.status = StageStatus::Done;
    done.done_at = Some(retry.claimed_at);
    done.message_id = Some("m-1".into());
    let next = now() + Duration::days(6);
    store.finish_stage(&done, Some(next)).await.unwrap();
    let stored = store.invoice(&inv).await.unwrap().unwrap();
    assert_eq!(stored.next_action_at, Some(next));
    assert!(stored.stages.contains(&done));
    let mut late = done.clone();
    late.attempts = 3;
    late.claimed_at = now() + Duration::days(1);
    assert!(
        matches!(
            store.claim_stage(&late, None).await,
            Err(StoreError::StageTaken)
        ),
        "done is final"
    );
}

async fn late_fees_and_escalations_are_logged(store: Arc<dyn Store>) {
    let c = client("Log", now());
    let mut logged = Vec::new();
    for i in 0..3 {
        let inv = invoice_with_charge(store.as_ref()).await;
        let mut fee = stage(&inv, &c.id, Stage::LateFee(0), now() + Duration::hours(i));
        fee.status = StageStatus::Done;
        fee.done_at = Some(fee.claimed_at);
        fee.amount =
            Some(Money::new(dec!(1500), cobro_domain::Currency::parse("CLP").unwrap()).unwrap());
        let mut entry = payment_entry(2, "late-fee:0", 1500);
        entry.kind = EntryKind::LateFee { period: 0 };
        store
            .append_entries(&LedgerWrite {
                invoice_id: inv.clone(),
                entries: vec![entry],
                event: None,
                payment_link: None,
                idempotency: None,
                resolves: None,
                agenda: Agenda::At(now() + Duration::days(30)),
                stage: Some(fee.clone()),
                listing: None,
                audit: None,
            })
            .await
            .unwrap();
        logged.push(fee);
        // An escalation claimed but not done is not in the log yet.
        store
            .claim_stage(&stage(&inv, &c.id, Stage::Escalation, now()), None)
            .await
            .unwrap();
    }
    logged.reverse();
    let p = store
        .stage_log(StageLog::LateFees, &PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(p.items, logged[..2]);
    let rest = store
        .stage_log(
            StageLog::LateFees,
            &PageRequest {
                limit: 2,
                after: p.next,
            },
        )
        .await
        .unwrap();
    assert_eq!((rest.items.as_slice(), rest.next), (&logged[2..], None));
    assert!(
        store
            .stage_log(StageLog::Escalations, &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let inv = &logged[0].invoice_id;
    let mut esc = store
        .invoice(inv)
        .await
        .unwrap()
        .unwrap()
        .stages
        .into_iter()
        .find(|s| s.stage == Stage::Escalation)
        .unwrap();
    esc.status = StageStatus::Done;
    esc.done_at = Some(now() + Duration::hours(1));
    store.finish_stage(&esc, None).await.unwrap();
    let p = store
        .stage_log(StageLog::Escalations, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(p.items, vec![esc]);
}

async fn pay_links_are_revoked_per_invoice(store: Arc<dyn Store>) {
    let c = client("Links", now());
    store.create_client(&c, None).await.unwrap();
    let seq = store.last_invoice_seq().await.unwrap() + 1;
    let w = invoice_write(&c.id, seq, 23);
    store.create_invoice(&w).await.unwrap();
    let other_seq = seq + 1;
    let other = invoice_write(&c.id, other_seq, 23);
    store.create_invoice(&other).await.unwrap();
    let mut second = w.pay_token.clone();
    second.digest = secret::new_pay_token().digest();
    second.created_at = now() + Duration::minutes(1);
    store.put_pay_token(&second).await.unwrap();
    assert!(matches!(
        store.put_pay_token(&second).await,
        Err(StoreError::AlreadyExists)
    ));
    let at = now() + Duration::hours(1);
    assert_eq!(store.revoke_pay_tokens(&w.invoice.id, at).await.unwrap(), 2);
    for d in [&w.pay_token.digest, &second.digest] {
        let t = store.pay_token(d).await.unwrap().unwrap();
        assert_eq!(t.revoked_at, Some(at));
        assert!(!t.is_valid(now()));
    }
    assert_eq!(
        store.revoke_pay_tokens(&w.invoice.id, at).await.unwrap(),
        0,
        "already revoked"
    );
    let untouched = store
        .pay_token(&other.pay_token.digest)
        .await
        .unwrap()
        .unwrap();
    assert!(untouched.is_valid(now()), "another invoice's link stays");
}

/// An invoice for the list tests: `units` of `currency` per line, due on `due`.
fn listed_write(
    client: &ClientId,
    seq: u64,
    currency: &str,
    unit_amount: rust_decimal::Decimal,
    due: NaiveDate,
    description: &str,
) -> NewInvoiceWrite {
    let mut w = invoice_write(client, seq, 1);
    let inv = NewInvoice {
        client_id: client.to_string(),
        currency: currency.into(),
        lines: vec![NewLine {
            description: description.into(),
            quantity: dec!(1),
            unit_amount,
        }],
        tax_rate: None,
        issue_date: Some(NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()),
        due_date: Some(due),
        days_until_due: None,
        terms: None,
        send: false,
    }
    .validate(
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
        &cobro_domain::Terms::default(),
    )
    .unwrap()
    .issue(
        InvoiceId::generate(),
        seq,
        "F-",
        chrono_tz::America::Santiago,
        now(),
    );
    w.entries[0].amount = inv.total;
    w.pay_token.invoice_id = inv.id.clone();
    w.invoice = inv;
    w
}

/// Appends `kind` for `amount` to the invoice's ledger as the app does: the listing
/// computed with the new entry, in the same write.
async fn append(store: &dyn Store, id: &InvoiceId, kind: EntryKind, amount: Money, key: &str) {
    let mut after = store.invoice(id).await.unwrap().unwrap();
    let entry = LedgerEntry {
        seq: after.next_seq(),
        kind,
        amount,
        at: now(),
        key: Some(key.into()),
        by: None,
    };
    after.entries.push(entry.clone());
    let write = LedgerWrite::new(id.clone(), vec![entry])
        .leaving(&after)
        .unwrap();
    store.append_entries(&write).await.unwrap();
}

/// The invoices lists across clients agree with a model: every invoice's listing derived
/// from its ledger and stages, filtered by `InvoiceFilter::matches` and sorted by its key,
/// for filters that combine status, client, currency, due dates, owing, text and both
/// orders, read page by page; and an invoice leaves the open lists when it is paid.
async fn invoice_lists_agree_with_their_ledgers(store: Arc<dyn Store>) {
    use cobro_domain::{Currency, InvoiceStatus as S};
    use cobro_store::{InvoiceFilter, InvoiceOrder, ListedInvoice};
    let clients: Vec<Client> = ["Ferretería Sur", "Café Norte", "Textiles"]
        .iter()
        .map(|n| client(n, now()))
        .collect();
    for c in &clients {
        store.create_client(c, None).await.unwrap();
    }
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let (clp, usd) = (
        Currency::parse("CLP").unwrap(),
        Currency::parse("USD").unwrap(),
    );
    let mut ids = Vec::new();
    for i in 0..24u64 {
        let c = &clients[(i % 3) as usize];
        let (cur, amount) = match i % 4 {
            0 | 2 => ("CLP", rust_decimal::Decimal::from(10_000 * (i % 7 + 1))),
            1 => ("USD", dec!(12.50) * rust_decimal::Decimal::from(i + 1)),
            _ => ("MXN", dec!(99.90)),
        };
        let due = cobro_domain::calendar::add_days(today, 20 - 7 * i as i64);
        let what = if i % 5 == 0 {
            "Cable de cobre"
        } else {
            "Servicio"
        };
        let w = listed_write(&c.id, i + 1, cur, amount, due, what);
        ids.push((w.invoice.id.clone(), w.invoice.total));
        store.create_invoice(&w).await.unwrap();
    }
    // Payments in full and in part, a void, an extension, a pause and escalations.
    let pay = EntryKind::Payment {
        method: PaymentMethod::Transfer,
        reference: None,
    };
    for (k, (id, total)) in ids.iter().enumerate() {
        match k % 6 {
            0 => append(store.as_ref(), id, pay.clone(), *total, "p").await,
            1 => {
                let half = Money::rounded(total.amount() / dec!(2), total.currency());
                append(store.as_ref(), id, pay.clone(), half, "p").await;
            }
            2 if k % 4 != 1 => {
                let void = EntryKind::Void { reason: None };
                append(store.as_ref(), id, void, *total, "void").await;
            }
            3 => {
                let from = store.invoice(id).await.unwrap().unwrap().invoice.due_date;
                let to = cobro_domain::calendar::add_days(from, 45);
                let ext = EntryKind::Extension {
                    from,
                    to,
                    reason: "pidió plazo".into(),
                    message: None,
                };
                append(
                    store.as_ref(),
                    id,
                    ext,
                    Money::zero(total.currency()),
                    "extension:1",
                )
                .await;
            }
            4 => {
                let c = store.invoice(id).await.unwrap().unwrap().invoice.client_id;
                let mut r = stage(id, &c, Stage::Escalation, now());
                store.claim_stage(&r, None).await.unwrap();
                r.status = StageStatus::Done;
                r.done_at = Some(now());
                store.finish_stage(&r, None).await.unwrap();
            }
            _ => {
                let until = cobro_domain::calendar::add_days(today, 10);
                let pause = EntryKind::Pause {
                    until,
                    reason: "en conversación".into(),
                };
                append(
                    store.as_ref(),
                    id,
                    pause,
                    Money::zero(total.currency()),
                    "pause:1",
                )
                .await;
            }
        }
    }
    // The model: each invoice's listing from its ledger and stages.
    let mut all: Vec<ListedInvoice> = Vec::new();
    for (id, _) in &ids {
        all.push(store.invoice(id).await.unwrap().unwrap().listed().unwrap());
    }
    let statuses: Vec<S> = all.iter().map(|l| l.status()).collect();
    for s in [S::Paid, S::PartiallyPaid, S::Void, S::Escalated, S::Open] {
        assert!(
            statuses.contains(&s),
            "the data set has {s:?}: {statuses:?}"
        );
    }
    let status_sets = [
        vec![],
        vec![S::Open],
        vec![S::Paid],
        vec![S::Escalated],
        vec![S::Open, S::PartiallyPaid],
        vec![S::Void, S::Escalated],
    ];
    let texts = [None, Some("cable"), Some("f-00001"), Some("%"), Some("rf")];
    let ranges = [
        (None, None),
        (
            Some(cobro_domain::calendar::add_days(today, -60)),
            Some(cobro_domain::calendar::add_days(today, -31)),
        ),
        (Some(today), None),
        (None, Some(cobro_domain::calendar::add_days(today, -91))),
    ];
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let mut nonempty = 0;
    for round in 0..70 {
        let (due_from, due_to) = ranges[next(ranges.len())];
        // Each filter given one time in three or so, so that most lists find something.
        let filter = InvoiceFilter {
            statuses: status_sets[next(status_sets.len())].clone(),
            client: [None, None, Some(clients[1].id.clone())][next(3)].clone(),
            currency: [None, None, Some(clp), Some(usd)][next(4)],
            due_from,
            due_to,
            owing: next(3) == 0,
            text: texts[next(texts.len())].map(str::to_string),
            pause_ends: (next(4) == 0)
                .then(|| (today, cobro_domain::calendar::add_days(today, 14))),
            order: [InvoiceOrder::DueDate, InvoiceOrder::AmountDue][next(2)],
            descending: next(2) == 0,
        };
        let mut want: Vec<&ListedInvoice> = all.iter().filter(|l| filter.matches(l)).collect();
        want.sort_by_key(|l| l.sort_key(filter.order));
        if filter.descending {
            want.reverse();
        }
        let limit = [1, 3, 100][next(3)];
        let mut got = Vec::new();
        let mut page = PageRequest::first(limit);
        loop {
            let p = store.list_invoices(&filter, &page).await.unwrap();
            assert!(p.items.len() <= limit as usize);
            got.extend(p.items);
            match p.next {
                Some(n) => page.after = Some(n),
                None => break,
            }
            assert!(
                got.len() <= all.len(),
                "round {round}: the pages do not end"
            );
        }
        let ids = |v: &[&ListedInvoice]| v.iter().map(|l| l.invoice.id.clone()).collect::<Vec<_>>();
        assert_eq!(
            ids(&got.iter().collect::<Vec<_>>()),
            ids(&want),
            "round {round}: {filter:?}"
        );
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, *w, "round {round}: the listing read is the ledger's");
        }
        nonempty += usize::from(!want.is_empty());
    }
    assert!(nonempty > 20, "most filters find something: {nonempty}");
    // Paid in full, an open invoice leaves the open lists.
    let open = InvoiceFilter {
        statuses: vec![S::Open],
        ..Default::default()
    };
    let first = store
        .list_invoices(&open, &PageRequest::first(1))
        .await
        .unwrap()
        .items
        .remove(0);
    let due = first.listing.amount_due;
    append(store.as_ref(), &first.invoice.id, pay.clone(), due, "p2").await;
    let again = store
        .list_invoices(&open, &PageRequest::first(100))
        .await
        .unwrap();
    assert!(again.items.iter().all(|l| l.invoice.id != first.invoice.id));
    let paid_list = InvoiceFilter {
        statuses: vec![S::Paid],
        ..Default::default()
    };
    let paid_now = store
        .list_invoices(&paid_list, &PageRequest::first(100))
        .await
        .unwrap();
    assert!(
        paid_now
            .items
            .iter()
            .any(|l| l.invoice.id == first.invoice.id)
    );
}

/// Actions are kept with what they did (a refused write keeps neither), read newest first
/// overall, per invoice and per client, a page at a time; the same record twice is one.
async fn audit_records_are_written_with_their_effects(store: Arc<dyn Store>) {
    use cobro_domain::{Action, Actor, AuditRecord};
    use cobro_store::AuditFilter;
    let ana = Actor::User {
        id: cobro_domain::UserId::generate(),
        name: "Ana".into(),
    };
    let erp = Actor::ApiKey {
        id: ApiKeyId::generate(),
        name: "ERP".into(),
    };
    let c = client("Auditada", now());
    store.create_client(&c, None).await.unwrap();
    let at = |m: i64| now() + Duration::minutes(m);
    let mut kept = Vec::new();

    // An invoice created with its record.
    let seq = store.last_invoice_seq().await.unwrap() + 1;
    let mut w = invoice_write(&c.id, seq, 1);
    let (inv, invoice) = (w.invoice.id.clone(), w.invoice.clone());
    let created = AuditRecord::new(erp.clone(), Action::InvoiceCreated, at(1)).on_invoice(&invoice);
    w.audit = vec![created.clone()];
    store.create_invoice(&w).await.unwrap();
    kept.push(created);

    // A payment recorded by a person: the entry carries her, the record goes with it.
    let mut paid = payment_entry(2, "manual:p1:payment", 1_000);
    paid.by = Some(ana.clone());
    let record = AuditRecord::new(ana.clone(), Action::PaymentRecorded, at(2))
        .on_invoice(&invoice)
        .entry(2);
    let write = LedgerWrite::new(inv.clone(), vec![paid.clone()]).with_audit(Some(record.clone()));
    store.append_entries(&write).await.unwrap();
    kept.push(record);
    // The same position again: refused whole, its record not kept.
    let lost = AuditRecord::new(ana.clone(), Action::PaymentRecorded, at(3)).on_invoice(&invoice);
    let again = LedgerWrite::new(inv.clone(), vec![payment_entry(2, "manual:p2:payment", 5)])
        .with_audit(Some(lost));
    assert!(matches!(
        store.append_entries(&again).await,
        Err(StoreError::SequenceTaken)
    ));
    let stored = store.invoice(&inv).await.unwrap().unwrap();
    assert_eq!(stored.entries[1].by, Some(ana.clone()));

    // Actions that wrote no entry: on the client, on nothing of a client's, twice the same.
    let updated = AuditRecord::new(ana.clone(), Action::ClientUpdated, at(4)).on_client(&c);
    let key = AuditRecord::new(ana.clone(), Action::ApiKeyCreated, at(4)).detail("key_x");
    for r in [&updated, &key, &key] {
        store.record_audit(r).await.unwrap();
    }
    kept.push(updated);
    kept.push(key);
    // Another client's, at the same moment.
    let other = client("Otra", now());
    let theirs = AuditRecord::new(erp, Action::ClientCreated, at(4)).on_client(&other);
    store.record_audit(&theirs).await.unwrap();
    kept.push(theirs);

    let read = |filter: AuditFilter| {
        let store = store.clone();
        async move {
            let (mut all, mut page) = (Vec::new(), PageRequest::first(2));
            loop {
                let p = store.audit_log(&filter, &page).await.unwrap();
                assert!(p.items.len() <= 2);
                all.extend(p.items);
                match p.next {
                    Some(next) => page.after = Some(next),
                    None => return all,
                }
            }
        }
    };
    for filter in [
        AuditFilter::All,
        AuditFilter::Invoice(inv.clone()),
        AuditFilter::Client(c.id.clone()),
        AuditFilter::Client(other.id.clone()),
    ] {
        let mut expected: Vec<_> = kept.iter().filter(|r| filter.matches(r)).cloned().collect();
        expected.sort_by(|a, b| b.id.cmp(&a.id));
        assert!(!expected.is_empty());
        assert_eq!(read(filter.clone()).await, expected, "{filter:?}");
    }
}

/// The reports' receivables: the open invoices and those whose ledger last changed since
/// a time, each with its whole ledger, a page at a time; settled before it, not read.
async fn receivables_since_a_time_are_the_open_and_the_recently_settled(store: Arc<dyn Store>) {
    let c = client("Receivables", now());
    store.create_client(&c, None).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let seq = store.last_invoice_seq().await.unwrap() + 1;
        let w = invoice_write(&c.id, seq, 20);
        store.create_invoice(&w).await.unwrap();
        ids.push(w.invoice.id.clone());
    }
    let t = |h: i64| now() + Duration::hours(h);
    // Paid in full: ids[0] at +1 h, ids[1] at +3 h; ids[2] partly at +3 h (still open).
    let pay = |id: InvoiceId, at: DateTime<Utc>, part: bool| {
        let store = store.clone();
        async move {
            let mut after = store.invoice(&id).await.unwrap().unwrap();
            let total = after.invoice.total;
            let amount = if part {
                Money::new(dec!(1000), total.currency()).unwrap()
            } else {
                total
            };
            let entry = LedgerEntry {
                seq: after.next_seq(),
                kind: EntryKind::Payment {
                    method: PaymentMethod::Transfer,
                    reference: None,
                },
                amount,
                at,
                key: Some(format!("pay:{at}")),
                by: None,
            };
            after.entries.push(entry.clone());
            let w = LedgerWrite::new(id, vec![entry]).leaving(&after).unwrap();
            store.append_entries(&w).await.unwrap();
        }
    };
    pay(ids[0].clone(), t(1), false).await;
    pay(ids[1].clone(), t(3), false).await;
    pay(ids[2].clone(), t(3), true).await;
    let read = |since: DateTime<Utc>| {
        let store = store.clone();
        async move {
            let mut all = Vec::new();
            let mut page = PageRequest::first(2);
            loop {
                let p = store.receivables(since, &page).await.unwrap();
                assert!(p.items.len() <= 2);
                all.extend(p.items);
                match p.next {
                    Some(n) => page.after = Some(n),
                    None => return all,
                }
            }
        }
    };
    let ids_of = |v: &[cobro_store::StoredInvoice]| -> Vec<InvoiceId> {
        v.iter().map(|s| s.invoice.id.clone()).collect()
    };
    // Since before everything: all five, the settled first in the order they settled.
    let all = read(now() - Duration::days(1)).await;
    let got = ids_of(&all);
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(&got[..2], &ids[..2]);
    let open: BTreeSet<_> = got[2..].iter().cloned().collect();
    assert_eq!(open, ids[2..].iter().cloned().collect());
    // Each with its whole ledger.
    let first = all.iter().find(|s| s.invoice.id == ids[0]).unwrap();
    assert_eq!(first.entries.len(), 2);
    // Since +2 h: ids[0] settled before it and is not read.
    let got = ids_of(&read(t(2)).await);
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(!got.contains(&ids[0]));
    assert_eq!(got[0], ids[1]);
    // Since +4 h: only the open ones. A refund on ids[0] at +5 h brings it back (it
    // changed since; what it owed on each day is its ledger's to say).
    assert_eq!(read(t(4)).await.len(), 3);
    let mut after = store.invoice(&ids[0]).await.unwrap().unwrap();
    let refund = LedgerEntry {
        seq: after.next_seq(),
        kind: EntryKind::Refund,
        amount: Money::new(dec!(500), after.invoice.currency).unwrap(),
        at: t(5),
        key: Some("refund:1".into()),
        by: None,
    };
    after.entries.push(refund.clone());
    let w = LedgerWrite::new(ids[0].clone(), vec![refund])
        .leaving(&after)
        .unwrap();
    store.append_entries(&w).await.unwrap();
    let got = ids_of(&read(t(4)).await);
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(got.contains(&ids[0]));
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
                    super::$name(store).await;
                }
            )*
        }
        mod dynamodb {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let store = Arc::new(cobro_store::testing::fresh_dynamo_store().await);
                    super::$name(store).await;
                }
            )*
        }
    };
}

/// A tax id is claimed by its first client, also when that client comes with its deposit
/// invoice, and also under concurrency; a client meant to share it points to the first.
async fn a_tax_id_belongs_to_its_first_client(store: Arc<dyn Store>) {
    let with_rut = |name: &str, rut: &str| Client {
        tax_id: Some(rut.into()),
        country: cobro_domain::taxid::Country::parse("CL"),
        ..client(name, now())
    };
    let first = with_rut("Primera", "76.543.210-3");
    store.create_client(&first, None).await.unwrap();
    let key = first.tax_key().unwrap();
    assert_eq!(key, "CL:765432103");
    assert_eq!(
        store.client_by_tax_key(&key).await.unwrap(),
        Some(first.id.clone())
    );
    // The same RUT written another way is the same tax id.
    let second = with_rut("Segunda", "765432103");
    match store.create_client(&second, None).await {
        Err(StoreError::TaxIdTaken(owner)) => assert_eq!(owner, first.id),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        store.client(&second.id).await.unwrap(),
        None,
        "nothing written"
    );
    // With a deposit invoice: refused whole.
    let mut w = invoice_write(&second.id, 1, 23);
    w.new_client = Some(second.clone());
    assert!(matches!(
        store.create_invoice(&w).await,
        Err(StoreError::TaxIdTaken(_))
    ));
    assert_eq!(store.invoice(&w.invoice.id).await.unwrap(), None);
    // Meant: it shares the first's.
    let branch = Client {
        shares_tax_id_with: Some(first.id.clone()),
        ..second.clone()
    };
    store.create_client(&branch, None).await.unwrap();
    assert_eq!(
        store.client_by_tax_key(&key).await.unwrap(),
        Some(first.id.clone())
    );
    // Two at once with a new tax id: one wins.
    let racers: Vec<Client> = (0..4)
        .map(|i| with_rut(&format!("R{i}"), "60.803.000-K"))
        .collect();
    let results =
        futures::future::join_all(racers.iter().map(|c| store.create_client(c, None))).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
}

fn user(email: &str, role: &str) -> cobro_domain::User {
    cobro_domain::user::NewUser {
        email: email.into(),
        name: "Ana".into(),
        role: role.into(),
        locale: None,
    }
    .validate(cobro_domain::UserId::generate(), now())
    .unwrap()
}

async fn users_have_one_address_each_and_sessions_end(store: Arc<dyn Store>) {
    use cobro_domain::{Session, SignInToken};
    let tag = cobro_domain::ClientId::generate();
    let ana = user(&format!("ana-{tag}@estudio.cl"), "owner");
    store.create_user(&ana).await.unwrap();
    assert_eq!(store.user(&ana.id).await.unwrap().as_ref(), Some(&ana));
    assert_eq!(
        store.user_by_email(&ana.email).await.unwrap().as_ref(),
        Some(&ana)
    );
    assert_eq!(store.user_by_email("nadie@estudio.cl").await.unwrap(), None);
    // One address, one user, even at once.
    let twins: Vec<_> = (0..4)
        .map(|_| user(&format!("bea-{tag}@estudio.cl"), "viewer"))
        .collect();
    let results = futures::future::join_all(twins.iter().map(|u| store.create_user(u))).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(e, StoreError::AlreadyExists))
    );
    let mut listed = store.list_users().await.unwrap();
    listed.retain(|u| u.email.contains(&tag.to_string()));
    assert_eq!(listed.len(), 2);
    assert!(listed.windows(2).all(|w| w[0].email < w[1].email));
    let mut changed = ana.clone();
    changed.role = cobro_domain::Role::Collector;
    changed.sessions_from = Some(now());
    assert!(store.update_user(&changed).await.unwrap());
    assert_eq!(store.user(&ana.id).await.unwrap(), Some(changed.clone()));
    assert!(!store.update_user(&user("x@y.cl", "viewer")).await.unwrap());

    // Five links an hour per address, counted once each even when asked at once.
    let address = format!("digest-{tag}");
    let asks = (0..8).map(|_| store.count_sign_in_link(&address, now()));
    let allowed = futures::future::join_all(asks).await;
    assert_eq!(
        allowed.iter().filter(|r| matches!(r, Ok(true))).count(),
        5,
        "{allowed:?}"
    );
    assert!(!store.count_sign_in_link(&address, now()).await.unwrap());
    assert!(
        store
            .count_sign_in_link(&address, now() + Duration::minutes(61))
            .await
            .unwrap()
    );
    assert!(store.count_sign_in_link("another", now()).await.unwrap());

    // A sign-in token serves once, and not after it expires.
    let token = SignInToken::new(format!("tok-{tag}"), ana.id.clone(), now());
    store.put_sign_in_token(&token).await.unwrap();
    let tries = (0..4).map(|_| store.use_sign_in_token(&token.digest, now()));
    let used = futures::future::join_all(tries).await;
    let served: Vec<_> = used.into_iter().filter_map(|r| r.unwrap()).collect();
    assert_eq!(served, std::slice::from_ref(&token), "served once");
    assert_eq!(
        store.use_sign_in_token(&token.digest, now()).await.unwrap(),
        None
    );
    let late = SignInToken::new(format!("late-{tag}"), ana.id.clone(), now());
    store.put_sign_in_token(&late).await.unwrap();
    assert_eq!(
        store
            .use_sign_in_token(&late.digest, now() + Duration::minutes(15))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.use_sign_in_token("unknown", now()).await.unwrap(),
        None
    );

    // Sessions: kept, touched, ended.
    let s = Session::new(format!("ses-{tag}"), ana.id.clone(), now());
    store.put_session(&s).await.unwrap();
    assert_eq!(store.session(&s.digest).await.unwrap(), Some(s.clone()));
    let later = now() + Duration::hours(2);
    store.touch_session(&s.digest, later).await.unwrap();
    assert_eq!(
        store
            .session(&s.digest)
            .await
            .unwrap()
            .unwrap()
            .last_seen_at,
        later
    );
    store.delete_session(&s.digest).await.unwrap();
    assert_eq!(store.session(&s.digest).await.unwrap(), None);
    store.delete_session(&s.digest).await.unwrap();
    store.touch_session(&s.digest, later).await.unwrap();
    assert_eq!(store.session(&s.digest).await.unwrap(), None, "not revived");
}

contract!(
    users_have_one_address_each_and_sessions_end,
    a_tax_id_belongs_to_its_first_client,
    clients_round_trip_and_page_newest_first,
    idempotency_key_is_written_once_with_its_effect,
    invoice_is_written_whole_and_read_back,
    a_failed_invoice_write_leaves_nothing,
    concurrent_creations_get_gapless_unique_numbers,
    concurrent_retries_with_one_key_write_one_invoice,
    api_keys_are_found_by_digest_and_revoked_by_id,
    events_apply_once_with_their_entries,
    unmatched_payments_wait_in_the_queue,
    concurrent_appends_lose_no_update,
    agenda_lists_only_what_is_due_in_order,
    deposits_have_their_own_agenda_and_come_with_their_client,
    stages_are_claimed_once_and_retried_after_the_lease,
    jobs_are_claimed_once_and_retried_after_the_lease,
    late_fees_and_escalations_are_logged,
    pay_links_are_revoked_per_invoice,
    invoice_lists_agree_with_their_ledgers,
    audit_records_are_written_with_their_effects,
    receivables_since_a_time_are_the_open_and_the_recently_settled,
);

#[tokio::test]
async fn sqlite_data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let c = client("Durable", now());
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        store.create_client(&c, None).await.unwrap();
        create_next(&store, &c.id).await;
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(store.client(&c.id).await.unwrap(), Some(c));
    assert_eq!(store.last_invoice_seq().await.unwrap(), 1);
    assert!(dir.path().join("cobro.db").exists());
}

/// A file from before the receivables index: once reopened, a paid invoice is in it by
/// when it settled and an open one at the end, worked out again from their ledgers.
#[tokio::test]
async fn sqlite_invoices_from_before_join_the_receivables_index() {
    let dir = tempfile::tempdir().unwrap();
    let c = client("Older", now());
    let (open, paid) = {
        let store = SqliteStore::open(dir.path()).unwrap();
        store.create_client(&c, None).await.unwrap();
        let mut ids = Vec::new();
        for seq in 1..=2 {
            let w = invoice_write(&c.id, seq, 20);
            store.create_invoice(&w).await.unwrap();
            ids.push(w.invoice.id.clone());
        }
        let total = store.invoice(&ids[1]).await.unwrap().unwrap().invoice.total;
        append(
            &store,
            &ids[1],
            EntryKind::Payment {
                method: PaymentMethod::Cash,
                reference: None,
            },
            total,
            "pay",
        )
        .await;
        (ids[0].clone(), ids[1].clone())
    };
    {
        // As an older version left it: listings without `settled_at`, no index.
        let db = rusqlite::Connection::open(dir.path().join("cobro.db")).unwrap();
        db.execute_batch(
            "UPDATE invoices SET listing = json_remove(listing, '$.settled_at');
             DROP INDEX invoices_settled; DROP INDEX invoices_status;
             ALTER TABLE invoices DROP COLUMN settled_key;
             DROP TABLE jobs;
             PRAGMA user_version = 12;",
        )
        .unwrap();
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    let since = |t: DateTime<Utc>| {
        let store = store.clone();
        async move {
            let p = store.receivables(t, &PageRequest::first(10)).await.unwrap();
            p.items
                .into_iter()
                .map(|s| s.invoice.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        since(now() - Duration::days(1)).await,
        [paid.clone(), open.clone()]
    );
    assert_eq!(since(now() + Duration::hours(1)).await, [open]);
    let listed = store
        .invoice(&paid)
        .await
        .unwrap()
        .unwrap()
        .listing()
        .unwrap();
    assert_eq!(listed.settled_at, Some(now()));
}

#[test]
fn table_definition_comes_from_the_sam_template() {
    let def = cobro_store::dynamodb::TableDefinition::from_sam_template().unwrap();
    let names: Vec<_> = def.indexes.iter().map(|i| i.index_name()).collect();
    assert_eq!(names, ["GSI1", "GSI2", "GSI3", "GSI4", "GSI5"]);
    assert_eq!(def.ttl_attribute.as_deref(), Some("ttl"));
    assert_eq!(def.key_schema.len(), 2);
    assert!(
        cobro_store::dynamodb::TableDefinition::from_template("Resources: {}", "Table").is_err()
    );
}
